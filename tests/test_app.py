"""The teaching app without a browser: its command, its sliders (moved through the real Solara
widgets), its views (map image, charts, monitors) and the page's Step and Reset.

The browser itself is exercised by ``test_app_browser.py``.
"""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest

from sim import cli
from sim.app_controls import (
    AppModel,
    apply,
    claimant,
    current_value,
    default_restricted,
    knobs,
    parse_seed,
)
from sim.app_render import (
    CHARTS,
    INK,
    NO_ONE_COLOUR,
    MapPainter,
    monitors,
    render_all,
    rgb,
    series,
    tint,
)
from sim.enums import Relation
from sim.params import GROUP_FIELDS, PARAMS, teach_params
from sim.scenario import EVENT_KINDS, STATE_COLOUR, ScenarioError

solara = pytest.importorskip("solara")
v = pytest.importorskip("ipyvuetify")


# ---------------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------------
def test_app_command_is_registered_with_its_options():
    args = cli.build_parser().parse_args(
        ["app", "classroom", "--host", "127.0.0.1", "--port", "0", "--seed", "4"])
    assert args.func.__module__ == "sim.app"
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


def test_mesa_reset_rebuilds_the_model_from_the_model_parameters():
    """Mesa's Reset builds ``type(model)(**kwargs)`` from the "Model Parameters" card; a model
    argument named ``scenario`` would be replaced by Mesa's own Scenario object."""
    from mesa.visualization.solara_viz import _build_model_init_kwargs

    m = AppModel("classroom")
    kwargs = _build_model_init_kwargs(m, {"scenario_name": "classroom", "seed": "9"},
                                      add_scenario_when_empty=True,
                                      require_model_accepts_scenario=True)
    fresh = type(m)(**kwargs)
    assert fresh.spec.name == "classroom" and fresh.seed == 9 and fresh.week == 0


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
    from sim.app_controls import SLIDER_SPAN, _slider_range

    lo, hi, step = _slider_range(0.0, 10.0, 0.02, 0.02)   # like clash_kappa
    assert (lo, hi) == (0.0, SLIDER_SPAN * 0.02) and step <= hi / 50
    assert _slider_range(0.0, 10.0, 0.02, 0.5)[1] == 1.0  # a larger scenario value fits
    assert _slider_range(0.0, 10.0, 1.0, 1.0)[1] == 10.0  # a sensible range is kept whole
    assert _slider_range(0.0, 5.0, 0.0, 0.0)[1] == 5.0    # and so is one with a zero default


def test_apply_changes_the_running_model():
    m = AppModel("classroom")
    ks = {k.key: k for k in knobs()}
    apply(m, ks["clash_kappa"], 0.0)
    apply(m, ks["intervention_scale"], 2.5)
    g = claimant(m)
    apply(m, ks["claim"], 0.25, group=g)
    apply(m, ks["propaganda"], 0.1, group=g)
    rg, rz = default_restricted(m)
    apply(m, ks["restriction"], 0.6, group=rg, zone=rz)
    gi, ri = m.group_names.index(g), m.group_names.index(rg)
    assert m.p.clash_kappa == 0.0 and m.p.intervention_scale == 2.5
    assert m.claim[gi] == 0.25 and m.propaganda[gi] == 0.1
    assert np.allclose(m.restriction[ri, m.zones[rz]], 0.6)
    assert current_value(m, ks["restriction"], rg, rz) == 0.6
    with pytest.raises(ScenarioError):
        apply(m, ks["claim"], 1.5, group=g)


def _find_slider(rc, prefix):
    found = [w for w in rc.find(v.Slider).widgets if str(w.label).startswith(prefix)]
    assert len(found) == 1, [w.label for w in rc.find(v.Slider).widgets]
    return found[0]


def _find_select(rc, label):
    found = [w for w in rc.find(v.Select).widgets if w.label == label]
    assert len(found) == 1, [w.label for w in rc.find(v.Select).widgets]
    return found[0]


def _ops(model, group):
    return series(model, f"ops.{group}")


def test_moving_the_restriction_slider_ties_the_groups_hands():
    """The issue's test: move one slider in the real controls and see the model's parameter
    and behaviour change (a fully restricted group stops attacking; its twin does not)."""
    from sim.app_page import LiveControls

    model, twin = AppModel("classroom", 3), AppModel("classroom", 3)
    box, rc = solara.render(LiveControls(model, solara.reactive(0)), handle_error=False)
    group = _find_select(rc, "Restricted group").v_model
    _find_select(rc, "Restricted in zone").v_model = "all"
    slider = _find_slider(rc, f"restriction of {group} in all")
    assert slider.v_model == 0.0
    slider.v_model = 1.0
    g = model.group_names.index(group)
    assert np.all(model.restriction[g] == 1.0)          # the parameter changed ...
    assert current_value(model, next(k for k in knobs() if k.scope == "restriction"),
                         group, "all") == 1.0
    assert _find_slider(rc, f"restriction of {group} in all").v_model == 1.0
    for _ in range(6):
        model.step()
        twin.step()
    assert _ops(model, group)[1:].sum() == 0             # ... and the behaviour
    assert _ops(twin, group)[1:].sum() > 0
    rc.close()


def test_moving_the_clash_slider_changes_the_parameter_and_stops_clashes():
    from sim.app_page import LiveControls

    model = AppModel("classroom", 1)
    box, rc = solara.render(LiveControls(model, solara.reactive(0)), handle_error=False)
    slider = _find_slider(rc, "clash kappa")
    assert slider.v_model == model.p.clash_kappa == model.spec.params["clash_kappa"]
    slider.v_model = 0.0
    assert model.p.clash_kappa == 0.0
    for _ in range(30):
        model.step()
    assert series(model, "clashes")[1:].sum() == 0
    rc.close()


def test_moving_the_claim_slider_changes_the_chosen_group():
    from sim.app_page import LiveControls

    model = AppModel("classroom")
    box, rc = solara.render(LiveControls(model, solara.reactive(0)), handle_error=False)
    other = [n for n in model.group_names if n != claimant(model)][0]
    _find_select(rc, "Group for claim and propaganda").v_model = other
    _find_slider(rc, f"claim of {other}").v_model = 0.7
    assert model.claim[model.group_names.index(other)] == 0.7
    assert model.claim[model.group_names.index(claimant(model))] == 1.0 or \
        claimant(model) == other
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
    p = MapPainter(m, pixels=80)
    img = p.image(m)
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
    # PNG of the same picture
    png = p.png(m)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_map_changes_when_control_changes(tiny):
    m = _map_world(tiny)
    p = MapPainter(m, pixels=80)
    before = p.image(m)
    m.owner[1] = 0
    after = p.image(m)
    assert not np.array_equal(before, after)


def test_charts_show_every_week_in_group_colours():
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
        assert "week" in opts[name]["xAxis"]["name"] and opts[name]["yAxis"]["name"]
        assert opts[name]["title"]["text"]
    assert opts["fighters"]["xAxis"]["max"] == m.p.steps
    viol = opts["violence"]
    assert viol["series"][0]["name"] == "clashes" and len(viol["series"][0]["data"]) == 6
    rel = opts["relations"]
    assert rel["yAxis"]["data"] == [f"{m.group_names[0]} \u2013 {m.group_names[1]}"]
    assert [p["label"] for p in rel["visualMap"]["pieces"]] == [r.name.lower() for r in Relation]
    states = [d[2] for d in rel["series"][0]["data"]]
    assert states == list(series(m, f"relation.{m.group_names[0]}|{m.group_names[1]}"))


def test_monitors_match_the_model():
    m = AppModel("classroom")
    for _ in range(4):
        m.step()
    mon = monitors(m)
    assert mon["week"] == 4 and mon["steps"] == m.p.steps
    assert mon["fighters"] == len(m.fighters) == sum(g["fighters"] for g in mon["groups"])
    assert [g["territory"] for g in mon["groups"]] == list(m.territory())
    assert mon["ungoverned"] == int(m.ungoverned().sum())
    assert mon["relations"][0]["state"] == Relation(int(m.relation[0, 1])).name.lower()
    out = render_all(m)
    assert set(out) == {"map", "monitors", *CHARTS}


# ---------------------------------------------------------------------------------------------
# the page: Mesa's Step and Reset drive the views
# ---------------------------------------------------------------------------------------------
def _button(rc, text):
    found = [w for w in rc.find(v.Btn).widgets if text in "".join(map(str, w.children))]
    assert found, [w.children for w in rc.find(v.Btn).widgets]
    return found[0]


def test_page_step_and_reset_update_the_views(monkeypatch):
    from sim import app_controls, app_page

    monkeypatch.setenv(app_page.ENV_SCENARIO, "classroom")
    monkeypatch.setenv(app_page.ENV_SEED, "2")
    before = set(app_controls._MODELS)
    # the app layout (as the server gives it) holds the sidebar: Mesa's buttons and sliders
    box, rc = solara.render(solara.AppLayout(children=[app_page.Page()]), handle_error=False)
    (model,) = [m for m in app_controls._MODELS if m not in before]
    assert model.seed == 2

    def map_bytes():
        return next(w.value for w in rc.find(rc_image_class()).widgets
                    if "ms-map" in w._dom_classes)

    def charts():
        return {w.name: w for w in rc.find(app_page.LiveChart).widgets}

    html_before = _html(rc)
    assert "Week 0" in html_before
    png0 = map_bytes()
    _button(rc, "Step").click()
    _button(rc, "Step").click()
    assert model.week == 2 and "Week 2" in _html(rc)
    assert map_bytes() != png0 or not np.array_equal(model.owner, model.recorder.control[0])
    assert set(charts()) == set(CHARTS)
    fighters = charts()["fighters"]
    assert fighters.week == 2
    assert len(json.loads(fighters.option_json)["series"][0]["data"]) == 3
    _button(rc, "Reset").click()
    (fresh,) = [m for m in app_controls._MODELS if m not in before and m is not model] or [None]
    assert fresh is not None and fresh.week == 0 and "Week 0" in _html(rc)
    rc.close()


def rc_image_class():
    import ipywidgets

    return ipywidgets.Image


def _html(rc) -> str:
    import solara.widgets

    return " ".join(str(w.unsafe_innerHTML) for w in rc.find(solara.widgets.HTML).widgets)


def test_sliders_that_scale_scenario_events_say_when_there_are_none(tmp_path):
    from sim.app_controls import SCALES_EVENT, has_target
    from sim.scenario import load_scenario

    ks = {k.key: k for k in knobs()}
    assert set(SCALES_EVENT) <= set(ks)
    m = AppModel("classroom")
    for key, kind in SCALES_EVENT.items():
        assert has_target(m, ks[key]) == any(ev.kind == kind for ev in m.spec.timeline)
    f = tmp_path / "with_programme.toml"
    f.write_text('base = "classroom"\nname = "p"\n[[timeline]]\nweek = 1\n'
                 'event = "governance_programme"\nzone = "east"\n')
    assert load_scenario(str(f)).timeline
    assert has_target(AppModel(str(f)), ks["governance_support"])
    assert has_target(m, ks["clash_kappa"])


# ---------------------------------------------------------------------------------------------
# the teaching guide matches the app
# ---------------------------------------------------------------------------------------------
def test_teaching_guide_matches_the_app():
    import inspect
    import re
    import shlex
    from pathlib import Path

    from mesa.visualization import solara_viz

    from sim import app_page
    from sim.scenario import available_scenarios, load_scenario

    root = Path(__file__).resolve().parents[1]
    guide = (root / "docs" / "TEACHING.md").read_text()
    # the NetLogo Info-tab sections, in order
    heads = re.findall(r"^## (.+)$", guide, re.M)
    order = ["WHAT IS IT?", "HOW IT WORKS", "HOW TO USE IT", "THINGS TO NOTICE", "THINGS TO TRY",
             "EXTENDING THE MODEL", "RELATED MODELS", "CREDITS AND REFERENCES"]
    assert [h for h in heads if h in order] == order
    assert "45-MINUTE LESSON" in guide
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
    # every picture exists and comes from the app
    for img in re.findall(r"\]\((img/[^)]+)\)", guide):
        assert (root / "docs" / img).is_file(), img
    # every scenario named exists; the groups and zones named are in them
    # (wolf_sheep is a Mesa example among the related models, not a scenario)
    names = set(re.findall(r"`([a-z]+(?:_[a-z0-9]+)+|classroom)`", guide)) - {"wolf_sheep"}
    assert names and names <= set(available_scenarios())
    classroom = load_scenario("classroom")
    assert {"Caliphate", "Front"} <= set(classroom.group_names)
    assert {"HaD", "HTS"} <= set(load_scenario("idlib_2020").group_names)
    # every slider, by the label the app gives it
    for k in knobs():
        if k.scope == "group":
            assert f"`{k.label} of GROUP`" in guide, k.label
        elif k.scope == "restriction":
            assert "`restriction of GROUP in ZONE`" in guide
        else:
            assert f"`{k.label}`" in guide, k.label
    # Mesa's controls, by their labels, and the default speed
    mesa_src = inspect.getsource(solara_viz)
    for label in ("Play Interval (ms)", "Render Interval (steps)", '"Reset"', '"Step"'):
        assert label in mesa_src and label.strip('"') in guide
    assert f"default {app_page.PLAY_INTERVAL_MS} ms" in guide
    assert "(used on Reset" in str(app_page.model_params(AppModel("classroom")))
