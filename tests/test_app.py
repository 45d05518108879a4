"""The teaching app without a browser: its command, its sliders (moved through the real Solara
widgets), its views (map image, charts, monitors, exports), the page's Step, Reset and faded
previous run, the one palette, plain-language labels, and the lesson: what
``docs/TEACHING.md`` says the class will see is what the model does at the lesson's seed.

The browser itself, walking the lesson at 1280 x 720, is exercised by
``test_app_browser.py``.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import numpy as np
import pytest

from sim import cli
from sim.app import lesson
from sim.app.controls import (
    AppModel,
    apply,
    claimant,
    current_value,
    default_restricted,
    knob_title,
    knobs,
    parse_seed,
)
from sim.app.render import (
    CHARTS,
    PREVIOUS,
    legend_rows,
    monitors,
    moving_mean,
    render_all,
    series,
    series_csv,
    snapshot,
    week_ticks,
)
from sim.core.enums import Relation
from sim.analysis.map_image import MapPainter
from sim.core.palette import INK, NO_ONE_COLOUR, STATE_COLOUR, rgb, tint
from sim.core.params import GROUP_FIELDS, PARAMS, teach_params
from sim.core.scenario import EVENT_KINDS, ScenarioError, load_scenario

solara = pytest.importorskip("solara")
v = pytest.importorskip("ipyvuetify")

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------------
def test_app_command_is_registered_with_its_options():
    args = cli.build_parser().parse_args(
        ["app", "classroom", "--host", "127.0.0.1", "--port", "0", "--seed", "4"])
    assert args.func.__module__ == "sim.cli.app"
    assert (args.scenario, args.host, args.port, args.seed) == ("classroom", "127.0.0.1", 0, 4)
    default = cli.build_parser().parse_args(["app"])
    assert (default.scenario, default.host, default.port) == ("classroom", "127.0.0.1", 8765)


def test_app_command_rejects_an_unknown_scenario_before_serving(capsys):
    assert cli.main(["app", "no_such_scenario", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "unknown scenario" in err and "classroom" in err
    assert "Traceback" not in err


def test_app_command_reports_a_port_in_use(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert cli.main(["app", "classroom", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and "--port" in err


def test_app_command_rejects_a_negative_seed(capsys):
    assert cli.main(["app", "classroom", "--seed", "-3"]) == 2
    assert "--seed" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# the model as the app runs it
# ---------------------------------------------------------------------------------------------
def test_parse_seed():
    assert parse_seed(None) is None and parse_seed("  ") is None
    assert parse_seed("12") == 12 and parse_seed(7) == 7
    for bad in ("x", "1.5", "-1"):
        with pytest.raises(ScenarioError, match="seed"):
            parse_seed(bad)


def test_app_model_uses_the_scenario_seed_unless_given_one():
    a, b, c = AppModel("classroom"), AppModel("classroom", "5"), AppModel("classroom", "")
    assert a.seed == a.spec.seed == c.seed and b.seed == 5
    for _ in range(3):
        a.step(), b.step(), c.step()
    assert np.array_equal(a.owner, c.owner)
    assert len(a.fighters) != len(b.fighters) or not np.array_equal(a.owner, b.owner)


def test_the_classroom_opens_at_the_lessons_seed():
    assert load_scenario("classroom").seed == lesson.SEED
    assert AppModel("classroom").seed == lesson.SEED


def test_a_bad_seed_typed_in_the_app_runs_the_scenario_seed_and_says_so():
    m = AppModel("classroom", "abc")
    assert m.seed == m.spec.seed and "seed" in m.seed_problem
    assert monitors(m)["problem"] == m.seed_problem
    assert AppModel("classroom", "4").seed_problem == ""


def test_app_model_stops_at_the_scenario_length(tmp_path):
    f = tmp_path / "short.toml"
    f.write_text('base = "classroom"\nname = "short"\n[params]\nsteps = 3\n')
    m = AppModel(str(f))
    assert m.running
    for _ in range(3):
        m.step()
    assert m.week == 3 and not m.running


# ---------------------------------------------------------------------------------------------
# the sliders: ranges from the one parameter source, changes to the running model
# ---------------------------------------------------------------------------------------------
def test_every_slider_comes_from_the_parameter_tables():
    ks = knobs()
    params = {k.key: k for k in ks if k.scope == "param"}
    assert set(params) == {p.name for p in teach_params()}
    assert {"clash_kappa", "governance_support", "intervention_scale"} <= set(params)
    for p in teach_params():
        k = params[p.name]
        assert (k.low, k.high, k.meaning, k.default) == (p.low, p.high, p.meaning, p.default)
    group = {k.key for k in ks if k.scope == "group"}
    assert group == {n for n, p in GROUP_FIELDS.items() if p.teach} == {"claim", "propaganda"}
    (r,) = [k for k in ks if k.scope == "restriction"]
    level = EVENT_KINDS["restriction"]["level"]
    assert (r.low, r.high, r.default) == (level.low, level.high, level.default)


def test_sliders_speak_plain_words():
    """A slider's name and help are words for a class, not a formula or a code name."""
    for k in knobs():
        assert k.help and "=" not in k.help and "exp(" not in k.help, k
        assert "_" not in k.label, k.label
    ks = {k.key: k for k in knobs()}
    assert knob_title(ks["clash_kappa"]) == "clash intensity"
    assert knob_title(ks["claim"], "Caliphate") == "claim of Caliphate"
    assert knob_title(ks["restriction"], "Front", "all") == \
        "restriction of Front in the whole map"


@pytest.mark.parametrize("name", [p.name for p in teach_params()])
def test_slider_ranges_hold_the_default_and_the_scenario_value(name):
    m = AppModel("classroom")
    (k,) = [k for k in knobs() if k.key == name]
    value = current_value(m, k)
    lo, hi, step = k.slider_range(value)
    p = PARAMS[name]
    assert lo == p.low and hi <= p.high and 0 < step <= (hi - lo) / 50
    assert lo <= p.default <= hi and lo <= value <= hi


def test_a_range_far_wider_than_the_default_is_cut_to_a_usable_slider():
    from sim.app.controls import SLIDER_SPAN, _slider_range

    lo, hi, step = _slider_range(0.0, 10.0, 0.02, 0.02)   # like clash_kappa
    assert (lo, hi) == (0.0, SLIDER_SPAN * 0.02) and step <= hi / 50
    assert _slider_range(0.0, 10.0, 0.02, 0.5)[1] == 1.0  # a larger scenario value fits
    assert _slider_range(0.0, 10.0, 1.0, 1.0)[1] == 10.0  # a sensible range is kept whole
    assert _slider_range(0.0, 5.0, 0.0, 0.0)[1] == 5.0    # and so is one with a zero default


def test_apply_changes_the_running_model_and_notes_the_change():
    m = AppModel("classroom")
    ks = {k.key: k for k in knobs()}
    apply(m, ks["clash_kappa"], 0.0)
    apply(m, ks["intervention_scale"], 2.5)
    g = claimant(m)
    apply(m, ks["claim"], 0.25, group=g)
    apply(m, ks["claim"], 0.2, group=g)     # dragged on in the same week: one change
    apply(m, ks["propaganda"], 0.1, group=g)
    rg, rz = default_restricted(m)
    assert (rg, rz) == ("Front", "all")
    apply(m, ks["restriction"], 0.6, group=rg, zone=rz)
    gi, ri = m.group_names.index(g), m.group_names.index(rg)
    assert m.p.clash_kappa == 0.0 and m.p.intervention_scale == 2.5
    assert m.claim[gi] == 0.2 and m.propaganda[gi] == 0.1
    assert np.allclose(m.restriction[ri, m.zones[rz]], 0.6)
    assert current_value(m, ks["restriction"], rg, rz) == 0.6
    assert [c for _, c in m.changes] == [
        "clash intensity \u2192 0", "intervention scale \u2192 2.5",
        f"claim of {g} \u2192 0.2", f"propaganda of {g} \u2192 0.1",
        "restriction of Front in the whole map \u2192 0.6"]
    with pytest.raises(ScenarioError):
        apply(m, ks["claim"], 1.5, group=g)


def _find_slider(rc, key):
    found = [w for w in rc.find(v.Slider).widgets if f"ms-slider-{key}" in str(w.class_)]
    assert len(found) == 1, [w.class_ for w in rc.find(v.Slider).widgets]
    return found[0]


def _find_select(rc, label):
    found = [w for w in rc.find(v.Select).widgets if w.label == label]
    assert len(found) == 1, [w.label for w in rc.find(v.Select).widgets]
    return found[0]


def _ops(model, group):
    return series(model, f"ops.{group}")


def test_moving_the_restriction_slider_ties_the_groups_hands():
    """Move one slider in the real controls and see the model's parameter and behaviour
    change (a fully restricted group stops attacking; its twin does not)."""
    from sim.app.page import LiveControls

    model, twin = AppModel("classroom", 3), AppModel("classroom", 3)
    box, rc = solara.render(LiveControls(model, solara.reactive(0)), handle_error=False)
    group = _find_select(rc, "restricted group").v_model
    assert _find_select(rc, "in zone").v_model == "all"
    slider = _find_slider(rc, "restriction")
    assert slider.v_model == 0.0
    slider.v_model = 1.0
    g = model.group_names.index(group)
    assert np.all(model.restriction[g] == 1.0)          # the parameter changed ...
    assert current_value(model, next(k for k in knobs() if k.scope == "restriction"),
                         group, "all") == 1.0
    assert _find_slider(rc, "restriction").v_model == 1.0
    for _ in range(6):
        model.step()
        twin.step()
    assert _ops(model, group)[1:].sum() == 0             # ... and the behaviour
    assert _ops(twin, group)[1:].sum() > 0
    rc.close()


def test_moving_the_clash_slider_changes_the_parameter_and_stops_clashes():
    from sim.app.page import LiveControls

    model = AppModel("classroom", 1)
    box, rc = solara.render(LiveControls(model, solara.reactive(0)), handle_error=False)
    slider = _find_slider(rc, "clash_kappa")
    assert slider.v_model == model.p.clash_kappa == model.spec.params["clash_kappa"]
    slider.v_model = 0.0
    assert model.p.clash_kappa == 0.0
    for _ in range(30):
        model.step()
    assert series(model, "clashes")[1:].sum() == 0 or (
        series(model, "incidents.Caliphate|Front")[1:].sum()
        == series(model, "clashes")[1:].sum())   # only incidents under truce are left
    rc.close()


def test_moving_the_claim_slider_changes_the_chosen_group():
    from sim.app.page import LiveControls

    model = AppModel("classroom")
    box, rc = solara.render(LiveControls(model, solara.reactive(0)), handle_error=False)
    other = [n for n in model.group_names if n != claimant(model)][0]
    _find_select(rc, "group (claim, propaganda)").v_model = other
    _find_slider(rc, "claim").v_model = 0.7
    assert model.claim[model.group_names.index(other)] == 0.7
    assert model.claim[model.group_names.index(claimant(model))] == 1.0 or \
        claimant(model) == other
    rc.close()


def test_sliders_that_scale_events_the_scenario_lacks_are_not_shown(tmp_path):
    from sim.app.controls import SCALES_EVENT, has_target
    from sim.app.page import LiveControls

    ks = {k.key: k for k in knobs()}
    assert set(SCALES_EVENT) <= set(ks)
    m = AppModel("classroom")
    for key, kind in SCALES_EVENT.items():
        assert has_target(m, ks[key]) == any(ev.kind == kind for ev in m.spec.timeline)
    assert has_target(m, ks["governance_support"])          # the classroom's programme
    assert not has_target(m, ks["intervention_scale"])
    box, rc = solara.render(LiveControls(m, solara.reactive(0)), handle_error=False)
    classes = " ".join(str(w.class_) for w in rc.find(v.Slider).widgets)
    assert "ms-slider-governance_support" in classes
    assert "ms-slider-intervention_scale" not in classes
    assert "not shown: intervention scale" in _html(rc)
    rc.close()


# ---------------------------------------------------------------------------------------------
# the views
# ---------------------------------------------------------------------------------------------
def _map_world(tiny):
    raw = tiny.world(width=4, height=2, zones={"west": {"rect": [0, 0, 1, 1]}},
                     cell={"governance": 0.9, "security": 10.0})
    m = tiny.build(raw)
    # cells (x, y): (0,0) state, (1,0) none, (2,0) A, (3,0) B; (2,1) ungoverned, held by no one
    m.owner[:] = -1
    m.owner[0], m.owner[2], m.owner[3] = -2, 0, 1
    c_ungov = tiny.cell_index(m, (2, 1))
    m.governance[c_ungov], m.security[c_ungov] = 0.0, 0.0
    tiny.place(m, "A", (3, 1), n=5)
    return m


def _cell_pixel(p: MapPainter, m, x, y, dx=0.15, dy=0.85):
    """A pixel inside cell (x, y) (fractions of the cell from its top-left corner)."""
    S = p.scale
    return int((m.height - 1 - y) * S + dy * S), int(x * S + dx * S)


def test_map_colours_control_ungoverned_fighters_and_zones(tiny):
    m = _map_world(tiny)
    p = MapPainter.for_model(m, pixels=80)
    img = p.model_image(m)
    S = p.scale
    assert img.shape == (m.height * S, m.width * S, 3)

    def colour(x, y, dx=0.5, dy=0.5):
        return img[_cell_pixel(p, m, x, y, dx, dy)].astype(float)

    # fills away from dots: the lower right of a cell holds the 2nd group's slot, use the
    # upper right quadrant, which no group of two uses
    def fill(x, y):
        return colour(x, y, 0.8, 0.2)

    assert np.allclose(fill(0, 0), rgb(STATE_COLOUR), atol=1)
    assert np.allclose(fill(1, 0), rgb(NO_ONE_COLOUR), atol=1)
    assert np.allclose(fill(2, 0), tint(m.group_colours[0]), atol=1)
    assert np.allclose(fill(3, 0), tint(m.group_colours[1]), atol=1)
    # the ungoverned cell is hatched: some of its pixels are darker than its fill
    y0, x0 = (m.height - 1 - 1) * S, 2 * S
    block = img[y0 + 3:y0 + S - 3, x0 + S // 2:x0 + S - 3].reshape(-1, 3).astype(float)
    assert (block.sum(1) < rgb(NO_ONE_COLOUR).sum() - 60).any()
    assert np.allclose(block.max(0), rgb(NO_ONE_COLOUR), atol=1)
    # fighters of A at (3, 1): a dot of A's colour in A's slot (upper left quadrant)
    assert np.allclose(colour(3, 1, 0.25, 0.25), rgb(m.group_colours[0]), atol=1)
    assert not np.allclose(colour(2, 1, 0.25, 0.25), rgb(m.group_colours[0]), atol=1)
    # the zone "west" (x 0..1) is outlined in ink on its right edge (x = 2 S - 1)
    assert np.allclose(img[S // 2 + S, 2 * S - 1], rgb(INK), atol=1)
    assert p.model_png(m)[:8] == b"\x89PNG\r\n\x1a\n"


def test_map_changes_when_control_changes(tiny):
    m = _map_world(tiny)
    p = MapPainter.for_model(m, pixels=80)
    before = p.model_image(m)
    m.owner[1] = 0
    assert not np.array_equal(before, p.model_image(m))


def test_zone_names_are_readable_on_a_projector():
    """Zone names are drawn at least 9 px high when the map is shown 340 px wide (the app's
    map column at 1280 x 720)."""
    m = AppModel("classroom")

    def ink(labels):
        p = MapPainter.for_model(m, labels=labels)
        layer = np.zeros(p.hatch.size, dtype=bool)
        layer[p.overlay_pixels[p.overlay_index == p.ink_index]] = True
        return p, layer.reshape(p.hatch.shape)

    p, with_names = ink(True)
    _, without = ink(False)
    names = with_names & ~without
    rows = np.flatnonzero(names.any(1))
    assert len(rows)
    # each name is one line of text: the tallest run of consecutive rows with ink
    runs = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    height_px = max(len(r) for r in runs)
    assert height_px * 340 / p.hatch.shape[1] >= 9, height_px


def test_charts_show_every_week_in_group_colours_on_a_light_ground():
    m = AppModel("classroom")
    for _ in range(5):
        m.step()
    opts = {k: f(m) for k, f in CHARTS.items()}
    json.dumps(opts)  # plain JSON for the browser
    for name in ("fighters", "territory"):
        series_ = {s["name"]: s for s in opts[name]["series"]}
        for g, colour in zip(m.group_names, m.group_colours):
            assert series_[g]["color"] == colour and len(series_[g]["data"]) == m.week + 1
            col = f"{name}.{g}"
            assert [pt[1] for pt in series_[g]["data"]] == list(series(m, col))
        assert "week" in opts[name]["xAxis"]["name"]
    for name, opt in opts.items():
        assert opt["backgroundColor"] == "#ffffff", name        # a fixed light theme ...
        assert opt["title"]["textStyle"]["color"] == "#222222"  # ... with dark text
        assert opt["title"]["text"]
        assert "saveAsImage" in opt["toolbox"]["feature"]      # each chart saves as PNG
        assert opt["xAxis"]["max"] == m.p.steps and opt["xAxis"]["interval"] == 52
    assert "ungoverned" in opts["territory"]["legend"]["data"]
    assert "type" not in opts["territory"]["legend"]           # not paged: every entry shows
    viol = opts["violence"]
    assert [s["name"] for s in viol["series"]][:3] == ["clashes", "8-week mean", "hostility"]
    assert len(viol["series"][0]["data"]) == 6
    rel = opts["relations"]
    labels = [d["name"] for s in rel["series"] if s["name"] == "_pairs" for d in s["data"]]
    assert labels == [f"{m.group_names[0]} \u2013 {m.group_names[1]}"]
    assert rel["legend"]["data"] == ["rivalry", "truce", "war", "ended"]
    (bands,) = [s for s in rel["series"] if s["name"] == "_bands"]
    assert bands["markArea"]["data"][0][0]["xAxis"] == 0
    assert bands["markArea"]["data"][-1][1]["xAxis"] == m.week + 1


def test_week_ticks_and_legends_fit_a_small_chart():
    assert week_ticks(260) == 52 and week_ticks(520) == 52 and week_ticks(1040) == 104
    assert week_ticks(52) == 13 and week_ticks(20) == 4
    assert legend_rows(["Caliphate", "Front"]) == 1
    assert legend_rows(["Caliphate", "Front", "state", "ungoverned", PREVIOUS]) == 2


def test_moving_mean_looks_back_only():
    y = np.array([0, 0, 8, 0, 0, 0, 0, 0, 0, 0], dtype=float)
    mm = moving_mean(y, 4)
    assert mm[1] == 0 and mm[2] == pytest.approx(8 / 3) and mm[5] == pytest.approx(2.0)
    assert mm[6] == 0


def test_monitors_match_the_model_in_plain_words():
    m = AppModel("classroom")
    for _ in range(4):
        m.step()
    mon = monitors(m)
    assert mon["week"] == 4 and mon["steps"] == m.p.steps
    assert mon["fighters"] == len(m.fighters) == sum(g["fighters"] for g in mon["groups"])
    assert [g["territory"] for g in mon["groups"]] == list(m.territory())
    assert mon["ungoverned"] == int(m.ungoverned().sum())
    assert mon["relations"][0]["state"] == Relation(int(m.relation[0, 1])).name.lower()
    assert mon["next_event"] == ("week 156: The government and its partners start a programme "
                                 "to restore governance and security across the region")
    out = render_all(m)
    assert set(out) == {"map", "monitors", *CHARTS}


def test_scheduled_events_read_as_plain_words():
    """The app never shows a scheduled event as code (set_group(group=..., ...))."""
    from sim.analysis.labels import event_label

    m = AppModel("syria_2013")
    labels = {ev.id: event_label(ev) for ev in m.spec.timeline}
    assert labels["caliphate"] == "ISIS declares the Caliphate and demands everyone's allegiance"
    assert labels["mosul"] == "ISIS takes Mosul in Iraq: a victory that draws fighters to it"
    assert labels["coalition"] == "outside forces strike ISIS in east (strength 1.5)"
    for week in (0, 70, 100):
        while m.week < week:
            m.step()
        mon = monitors(m)
        text = " ".join([mon["next_event"], *mon["active"]])
        assert not re.search(r"\w+\(\w+=", text), text
        assert "targets [" not in text and "set_group" not in text


def test_the_run_so_far_exports_as_csv():
    m = AppModel("classroom")
    for _ in range(7):
        m.step()
    s = lesson.Series.of_csv(series_csv(m).decode())
    assert len(s["week"]) == 8 and s["week"][-1] == 7
    assert np.allclose(s["fighters.Caliphate"], series(m, "fighters.Caliphate"))
    assert np.allclose(s[f"relation.{lesson.PAIR}"], series(m, f"relation.{lesson.PAIR}"))


def test_the_previous_run_is_drawn_faded():
    m0 = AppModel("classroom")
    for _ in range(10):
        m0.step()
    prev = snapshot(m0)
    m1 = AppModel("classroom")
    m1.step()
    for name, f in CHARTS.items():
        opt = f(m1, prev)
        if name == "relations":
            (bands,) = [s for s in opt["series"] if s["name"] == "_bands"]
            assert any(c[0]["itemStyle"].get("opacity") for c in bands["markArea"]["data"])
            continue
        faded = [s for s in opt["series"] if s["name"] == PREVIOUS]
        assert faded, name
        assert all(s["lineStyle"]["opacity"] < 1 for s in faded)
        assert PREVIOUS in opt["legend"]["data"]
        assert max(p[0] for p in faded[0]["data"]) == 10    # the whole previous run
    other = AppModel("syria_2013")
    assert not [s for s in CHARTS["fighters"](other, prev)["series"] if s["name"] == PREVIOUS]


def test_changes_are_marked_on_the_charts():
    m = AppModel("classroom")
    for _ in range(3):
        m.step()
    apply(m, next(k for k in knobs() if k.key == "propaganda"), 0.0, group="Caliphate")
    opt = CHARTS["violence"](m)
    (marks,) = [s for s in opt["series"] if s["name"] == "_marks"]
    lines = marks["markLine"]["data"]
    assert {"xAxis": 3, "name": "propaganda of Caliphate \u2192 0"}.items() <= next(
        ln for ln in lines if ln["xAxis"] == 3).items()
    assert any(ln["xAxis"] == 156 for ln in lines)   # the scheduled programme, dotted
    assert monitors(m)["changes"] == ["1. week 3: propaganda of Caliphate \u2192 0"]


# ---------------------------------------------------------------------------------------------
# one palette everywhere
# ---------------------------------------------------------------------------------------------
def test_one_palette_for_app_dashboard_animation_and_report():
    from sim.app import render as app_render
    from sim.analysis import charts
    from sim.core import palette
    from sim.analysis import report
    from sim.core import scenario

    assert scenario.PALETTE is palette.GROUP_PALETTE
    assert scenario.STATE_COLOUR == charts.STATE_COLOUR == palette.STATE_COLOUR
    assert charts.RELATION_COLOURS is palette.RELATION_COLOURS
    assert charts.NONE_COLOUR == palette.NO_ONE_COLOUR
    assert report.charts is charts
    opt = app_render.relations_option(AppModel("classroom"))
    (bands,) = [s for s in opt["series"] if s["name"] == "_bands"]
    assert bands["markArea"]["data"][0][0]["itemStyle"]["color"] == \
        palette.RELATION_COLOURS[Relation.TRUCE]
    for f in (app_render, charts):
        src = Path(f.__file__).read_text()
        assert not re.search(r"RELATION_COLOURS\s*=", src), f.__name__


def test_the_dashboard_map_is_the_apps_map():
    """The dashboard and the animation draw the map with the app's painter: same picture."""
    import sim
    from sim.analysis import charts

    r = sim.run("classroom", steps=12, seed=2)
    m = AppModel("classroom", 2)
    for _ in range(12):
        m.step()
    app = MapPainter(m.width, m.height, m.group_colours, m.zones, pixels=400, labels=False,
                     full_dot=10)
    dash = charts.map_painter(m.width, m.height, charts.group_colours(r.summary),
                              charts.run_zones(r), full_dot=10, pixels=400)
    assert np.array_equal(app.model_image(m), dash.image(
        r.maps["control"][12], r.maps["ungoverned"][12], charts._presence_at(r, 12)))


# ---------------------------------------------------------------------------------------------
# the page: Step, Reset, the faded previous run
# ---------------------------------------------------------------------------------------------
def _button(rc, text):
    found = [w for w in rc.find(v.Btn).widgets if text in "".join(map(str, w.children))]
    assert found, [w.children for w in rc.find(v.Btn).widgets]
    return found[0]


def rc_image_class():
    import ipywidgets

    return ipywidgets.Image


def _html(rc) -> str:
    import solara.widgets

    return " ".join(str(w.unsafe_innerHTML) for w in rc.find(solara.widgets.HTML).widgets)


def test_page_step_reset_and_the_faded_run(monkeypatch):
    from sim.app import controls as app_controls
    from sim.app import page as app_page

    monkeypatch.setenv(app_page.ENV_SCENARIO, "classroom")
    monkeypatch.setenv(app_page.ENV_SEED, "2")
    before = set(app_controls._MODELS)
    box, rc = solara.render(app_page.Page(), handle_error=False)
    (model,) = [m for m in app_controls._MODELS if m not in before]
    assert model.seed == 2

    def map_bytes():
        return next(w.value for w in rc.find(rc_image_class()).widgets
                    if "ms-map" in w._dom_classes)

    def charts():
        return {w.name: w for w in rc.find(app_page.LiveChart).widgets}

    assert "Week 0" in _html(rc)
    png0 = map_bytes()
    _button(rc, "Step").click()
    _button(rc, "Step").click()
    assert model.week == 2 and "Week 2" in _html(rc)
    assert map_bytes() != png0 or not np.array_equal(model.owner, model.recorder.control[0])
    assert set(charts()) == set(CHARTS)
    fighters = charts()["fighters"]
    assert fighters.week == 2
    assert PREVIOUS not in fighters.option_json
    _button(rc, "Reset").click()
    (fresh,) = [m for m in app_controls._MODELS if m not in before and m is not model] or [None]
    assert fresh is not None and fresh.week == 0 and "Week 0" in _html(rc)
    assert fresh.seed == 2
    # the run Reset ended is drawn faded behind the new one, and named in the monitors
    assert PREVIOUS in charts()["fighters"].option_json
    assert "Faded on the charts" in _html(rc) and "weeks 0-2" in _html(rc)
    rc.close()


def test_the_guide_tab_shows_the_guide():
    from sim.app import page as app_page

    text = app_page.guide_markdown()
    assert "A 45-MINUTE LESSON" in text and "![" not in text
    box, rc = solara.render(app_page.GuideView(), handle_error=False)
    rc.close()


# ---------------------------------------------------------------------------------------------
# the lesson: what the guide says the class will see is what the model does
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def the_lesson():
    return lesson.lesson(lesson.SEED)


@pytest.mark.parametrize("step", list(lesson.STEPS))
def test_the_lesson_holds_at_its_seed(the_lesson, step):
    failed = [c for c, ok in the_lesson[step]["claims"].items() if not ok]
    assert not failed, (step, failed, the_lesson[step]["measures"])


def test_the_guide_quotes_the_lesson_as_measured(the_lesson):
    """The numbers the guide gives for the lesson's seed are the model's."""
    guide = (ROOT / "docs" / "TEACHING.md").read_text()
    m = {k: v["measures"] for k, v in the_lesson.items()}
    assert f"seed {lesson.SEED}" in guide
    assert f"week {m['first']['truce_broken_week']}" in guide
    section = guide.split("## A 45-MINUTE LESSON")[1]
    for key, value in (("first", m["first"]["militant_at_break"]),
                       ("first", m["first"]["militant_104"]),
                       ("restriction", m["restriction"]["front_at"]),
                       ("restriction", m["restriction"]["front_end"]),
                       ("governance", m["governance"]["militant_260"]),
                       ("first", m["first"]["militant_260"])):
        assert re.search(rf"\b{value}\b", section), (key, value)
    for h in ("hostility_off", "hostility_low", "hostility_back"):
        assert f"{m['propaganda'][h]:.2f}" in section, h


# ---------------------------------------------------------------------------------------------
# the teaching guide matches the app
# ---------------------------------------------------------------------------------------------
def test_teaching_guide_matches_the_app():
    import shlex

    from sim.app import page as app_page
    from sim.core.scenario import available_scenarios

    guide = (ROOT / "docs" / "TEACHING.md").read_text()
    # the NetLogo Info-tab sections, in order
    heads = re.findall(r"^## (.+)$", guide, re.M)
    order = ["WHAT IS IT?", "HOW IT WORKS", "HOW TO USE IT", "THINGS TO NOTICE", "THINGS TO TRY",
             "EXTENDING THE MODEL", "RELATED MODELS", "CREDITS AND REFERENCES"]
    assert [h for h in heads if h in order] == order
    assert "A 45-MINUTE LESSON" in guide
    notice = guide.split("## THINGS TO NOTICE")[1].split("## ")[0]
    items = [it for it in ("\n" + notice).split("\n- ")[1:]]
    assert len(items) >= 4 and all("?" in it for it in items)  # written as questions
    # every command runs as written
    parser = cli.build_parser()
    commands = [ln.strip() for ln in re.findall(r"```\n(.*?)```", guide, re.S)[0:2]
                for ln in ln.splitlines() if ln.strip().startswith("militant-sim")]
    assert "militant-sim app" in commands
    for line in commands:
        args = parser.parse_args(shlex.split(line)[1:])
        if args.command == "app":
            load_scenario(args.scenario)
    subcommands = next(a for a in parser._actions if a.dest == "command").choices
    for sub in set(re.findall(r"`militant-sim (\w+)", guide)):
        assert sub in subcommands, sub
    # every picture exists
    for img in re.findall(r"\]\((img/[^)]+)\)", guide):
        assert (ROOT / "docs" / img).is_file(), img
    # every scenario named exists; the groups and zones named are in them
    # (wolf_sheep is a Mesa example among the related models, not a scenario)
    names = set(re.findall(r"`([a-z]+(?:_[a-z0-9]+)+|classroom)`", guide)) - {
        "wolf_sheep", "clash_kappa", "governance_support", "intervention_scale",
        "truce_hostility", "hostility_rate", "hostility_relax", "activity_scale",
        "frustration_rival_factor"}
    assert names and names <= set(available_scenarios()), names - set(available_scenarios())
    classroom = load_scenario("classroom")
    assert {"Caliphate", "Front"} <= set(classroom.group_names)
    assert {"HaD", "HTS"} <= set(load_scenario("idlib_2020").group_names)
    # every slider, by the name the app gives it
    for k in knobs():
        if k.scope == "group":
            assert f"`{k.label} of GROUP`" in guide, k.label
        elif k.scope == "restriction":
            assert "`restriction of GROUP in ZONE`" in guide
        else:
            assert f"`{k.label}`" in guide, k.label
    # the run controls, by their labels, and the default speed
    for label in ("Reset", "Step", "stop at week", "keep the faded run when I press Reset",
                  "pause between weeks", "weeks per picture", "scenario (on Reset)",
                  "seed (on Reset)", "Guide", "data CSV", "map PNG", "dashboard PNG"):
        assert label in guide, label
    src = Path(app_page.__file__).read_text()
    for label in ("stop at week", "keep the faded run when I press Reset",
                  "pause between weeks", "weeks per picture", "data CSV", "map PNG",
                  "dashboard PNG"):
        assert label in src, label
    assert f"{app_page.PLAY_INTERVAL_MS} ms" in guide
