"""The teaching app's page: the model's controls (Reset, Play, Step, stop at week), views and
live sliders, laid out for a projector (1280 x 720: every control and every chart the lesson
uses visible without scrolling), in a fixed light theme.

Served by ``militant-sim app`` (see :mod:`sim.app`); Solara loads this module and shows
:func:`Page` in its own :func:`Layout` (no app bar, no drawer), one model per browser tab. The
controller works as Mesa's ``ModelController`` (a worker thread steps the model while playing;
Mesa's ``force_update`` and ``update_counter`` redraw the views), with a "stop at week". The
layout:

* the side bar: Reset / Play / Step and "stop at week", "keep the faded run", the speed (the
  pause between weeks and the weeks computed per picture, each showing its value), the
  scenario and seed used by Reset, then the **live controls**: sliders that change the running
  model at once (only those that act on this scenario);
* the main area, tab **Model**: the week and the downloads (the run's series as CSV, the map
  and all charts as PNG; each chart also saves itself as PNG from its corner), the map with
  its legend and the monitors, and the live charts. After Reset the previous run stays on the
  charts as faded lines, to compare with;
* tab **Guide**: the teaching guide (``docs/TEACHING.md``), with the lesson.

The drawing is done by :mod:`sim.app.render` and the sliders are defined by
:mod:`sim.app.controls`, both free of browser code.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
import time
import traceback
from pathlib import Path

import ipyvuetify
import solara
import solara.lab
import traitlets
from mesa.visualization.utils import force_update, update_counter

from ..common.paths import PACKAGE_DIR, ROOT_DIR
from .controls import (
    APP_SCENARIO,
    ENV_SCENARIO,
    ENV_SEED,
    AppModel,
    Knob,
    app_scenarios,
    apply,
    claimant,
    current_value,
    default_restricted,
    has_target,
    knob_state,
    knob_title,
    knobs,
    zone_choices,
)
from .render import CHARTS, PreviousRun, monitors, painter_for, series_csv, snapshot

TITLE = "militant-sim: competition among militant groups"
#: pause between weeks when playing (Mesa's play interval), milliseconds
PLAY_INTERVAL_MS = 50
#: the speed sliders' ranges
PLAY_INTERVAL_RANGE = (0, 500, 10)
RENDER_INTERVAL_RANGE = (1, 20, 1)
#: the charts of the Model tab, in their places
CHART_GRID = ("territory", "violence", "fighters", "defections")

_SCENARIOS: list[str] | None = None

#: the page's own style: a side bar of controls and the main area, laid out for 1280 x 720
CSS = """
html, body { overflow: hidden; }
.ms-app { display: grid; grid-template-columns: 300px 1fr; height: 100vh; background: #fff;
  color: #1a1a1a; }
.ms-side { padding: 4px 10px 4px 10px; font-size: 13px; border-right: 1px solid #ddd;
  overflow-y: auto; background: #fafafa; }
.ms-title { font-size: 14px; font-weight: 600; color: #0b3d6b; margin: 2px 0 4px 0; }
.ms-side .v-input { margin-top: 0 !important; padding-top: 0 !important; }
.ms-side .v-input__slot { margin-bottom: 0 !important; }
.ms-side .v-text-field .v-input__slot { min-height: 28px !important; }
.ms-side .v-select__selection { font-size: 13px; }
.ms-side .v-label { font-size: 12px !important; }
.ms-side .v-btn { min-width: 0 !important; height: 30px !important; padding: 0 10px !important; }
.ms-side .v-text-field__details, .ms-side .v-messages { display: none !important; }
.ms-side .ms-head { font-weight: 600; font-size: 13px; margin: 4px 0 0 0;
  border-top: 1px solid #ddd; padding-top: 3px; }
.ms-side .ms-note { font-size: 11px; color: #555; line-height: 1.25; margin: 0 0 1px 0; }
.ms-knob { margin: 0; }
.ms-knob .ms-knob-label { font-size: 12.5px; line-height: 1.2; margin-bottom: -6px; }
.ms-knob .v-slider { min-height: 24px !important; }
.ms-knob .v-input__slot { min-height: 24px !important; }
.ms-main { padding: 2px 8px 0 8px; overflow: hidden; }
.ms-top { display: flex; align-items: center; gap: 10px; flex-wrap: nowrap; height: 34px; }
.ms-top .v-btn { height: 26px !important; }
.ms-top > * { flex: none; }
.ms-downloads > * { flex: none; margin: 0 !important; }
.ms-model { display: grid; grid-template-columns: 340px 1fr; gap: 8px; }
.ms-left { height: calc(100vh - 40px); overflow-y: auto; }
.ms-charts { display: grid; grid-template-columns: 1fr 1fr; gap: 6px; }
.ms-chart-box { border: 1px solid #e0e0e0; border-radius: 3px; background: #fff;
  min-width: 0; }
.ms-rel-box { grid-column: 1 / span 2; }
.ms-legend { font-size: 11px; line-height: 1.4; margin-top: 1px; }
.ms-monitors { font-size: 12px; line-height: 1.3; margin-top: 3px; }
.ms-monitors table td, .ms-monitors table th { padding: 0 8px 0 0; text-align: left; }
.ms-monitors .ms-num { text-align: right; font-variant-numeric: tabular-nums; }
.ms-guide { max-width: 1000px; padding: 4px 12px 40px 4px; font-size: 15px;
  height: calc(100vh - 40px); overflow-y: auto; }
.ms-guide table { border-collapse: collapse; font-size: 13.5px; }
.ms-guide td, .ms-guide th { border: 1px solid #ddd; padding: 2px 6px; vertical-align: top; }
"""
#: heights of the charts: the relation strip, and the four charts in two rows that fill what
#: is left of the window's height under the app bar, the week line and the strip
REL_HEIGHT = "92px"
CHART_HEIGHT = "calc((100vh - 34px - 92px - 22px) / 2)"


def scenario_names(extra: str | None = None) -> list[str]:
    """The scenarios offered by the picker (those that load), plus ``extra`` (a path given on
    the command line)."""
    global _SCENARIOS
    if _SCENARIOS is None:
        _SCENARIOS = app_scenarios()[0]
    names = list(_SCENARIOS)
    if extra and extra not in names:
        names.append(extra)
    return names


def initial_model() -> AppModel:
    """The model a new browser tab starts with (the command line's scenario and seed)."""
    return AppModel(os.environ.get(ENV_SCENARIO, APP_SCENARIO), os.environ.get(ENV_SEED) or None)


def model_params(model: AppModel) -> dict:
    """The arguments Mesa's Reset builds the next model with (scenario and seed)."""
    return {"scenario_name": model.scenario_name, "seed": os.environ.get(ENV_SEED, "")}


# ---------------------------------------------------------------------------------------------
# Live controls
# ---------------------------------------------------------------------------------------------
def slider(value, lo, hi, step, on_value, classes: str):
    """A compact slider (Vuetify's), its value written in the label above it by the caller;
    ``classes`` name it for the tests (``ms-slider-claim``, ``ms-slider-play``, ...)."""
    return solara.v.Slider(v_model=value, on_v_model=lambda v: on_value(float(v)), min=lo,
                           max=hi, step=step, dense=True, hide_details=True, class_=classes)


@solara.component
def KnobSlider(model: AppModel, knob: Knob, value: float, group: str | None = None,
               zone: str | None = None):
    """One slider; it shows the model's current value and changes the model when moved."""
    lo, hi, step = knob.slider_range(value)
    title = knob_title(knob, group, zone)

    def on_value(v):
        apply(model, knob, v, group, zone)
        force_update()

    with solara.Tooltip(knob.help or knob.meaning):
        with solara.Column(gap="0px", classes=["ms-knob", f"ms-knob-{knob.key}"]):
            solara.HTML(tag="div", classes=["ms-knob-label"],
                        unsafe_innerHTML=f"{html.escape(title)}: <b>{value:.3g}</b>")
            slider(value, lo, hi, step, on_value, f"ms-slider ms-slider-{knob.key}")


@solara.component
def LiveControls(model: AppModel, knob_rev: solara.Reactive[int]):
    """The sliders of :func:`sim.app.controls.knobs`, acting on the running model.

    They are drawn again only when what they show changes (``knob_rev``, kept by
    :func:`MainView`), not every week."""
    knob_rev.get()
    names = model.group_names
    group, set_group = solara.use_state(claimant(model))
    r_default = default_restricted(model)
    r_group, set_r_group = solara.use_state(r_default[0])
    r_zone, set_r_zone = solara.use_state(r_default[1])
    if group not in names:
        group = claimant(model)
    if r_group not in names:
        r_group = r_default[0]
    zones = zone_choices(model)
    if r_zone not in zones:
        r_zone = r_default[1]
    all_knobs = knobs()
    with model.lock:
        values = {k: current_value(model, k, r_group if k.scope == "restriction" else group,
                                   r_zone) for k in all_knobs}
    solara.HTML(tag="div", classes=["ms-head"], unsafe_innerHTML="Live controls")
    solara.HTML(tag="div", classes=["ms-note"], unsafe_innerHTML=(
        "act on the running model from the next week; Reset returns them to the scenario"))
    solara.Select("group (claim, propaganda)", values=names, value=group, on_value=set_group,
                  dense=True, classes=["ms-pick-group"])
    for k in all_knobs:
        if k.scope == "group":
            KnobSlider(model, k, values[k], group=group)
    with solara.Row(gap="6px", style={"margin-top": "2px"}):
        solara.Select("restricted group", values=names, value=r_group, on_value=set_r_group,
                      dense=True, classes=["ms-pick-restricted"])
        solara.Select("in zone", values=zones, value=r_zone, on_value=set_r_zone, dense=True,
                      classes=["ms-pick-zone"])
    for k in all_knobs:
        if k.scope == "restriction":
            KnobSlider(model, k, values[k], group=r_group, zone=r_zone)
    hidden = []
    for k in all_knobs:
        if k.scope == "param":
            if has_target(model, k):
                KnobSlider(model, k, values[k])
            else:
                hidden.append(k.label)
    if hidden:
        solara.HTML(tag="div", classes=["ms-note"], unsafe_innerHTML=html.escape(
            f"not shown: {', '.join(hidden)} (this scenario schedules nothing for "
            f"{'them' if len(hidden) > 1 else 'it'} to scale)"))


def parse_stop(text: str) -> int | None:
    """The week typed into "stop at week" (blank or not a whole number: none)."""
    try:
        v = int(str(text).strip())
    except ValueError:
        return None
    return v if v > 0 else None


@solara.component
def Controller(model: solara.Reactive[AppModel], params: solara.Reactive[dict],
               play_interval: solara.Reactive[int], render_interval: solara.Reactive[int]):
    """Reset, Play / Pause and Step, as Mesa's ``ModelController`` (a worker thread steps the
    model while playing and Mesa's ``force_update`` redraws the views), plus "stop at week":
    playing pauses by itself when the model reaches that week (a lesson's "play to week 70")."""
    playing = solara.use_reactive(False)
    running = solara.use_reactive(model.value.running)
    stop_text = solara.use_reactive("")
    target = solara.use_ref(None)
    error = solara.use_reactive(None)

    def advance(weeks: int, until: int | None, from_play: bool) -> None:
        m = model.value
        for _ in range(weeks):
            if until is not None and m.week >= until:
                break
            m.step()
            if not m.running or (from_play and not playing.value):
                break
        running.value = m.running
        if not m.running or (until is not None and m.week >= until):
            playing.value = False
        force_update()

    def loop():
        try:
            while running.value and playing.value:
                time.sleep(play_interval.value / 1000)
                if not playing.value:
                    break
                advance(render_interval.value, target.current, True)
        except Exception as exc:  # noqa: BLE001 - shown in the page, the server goes on
            error.value = f"error in step: {exc}"
            playing.value = False
            traceback.print_exc()

    solara.lab.use_task(loop, dependencies=[playing.value, running.value],
                        prefer_threaded=True)

    def play_pause():
        if not playing.value:
            stop = parse_stop(stop_text.value)
            target.current = stop if stop is not None and stop > model.value.week else None
        playing.value = not playing.value

    def step():
        advance(render_interval.value, None, False)

    def reset():
        error.value = None
        playing.value = False
        model.value = AppModel(params.value["scenario_name"], params.value.get("seed") or None)
        running.value = model.value.running
        force_update()

    with solara.Row(justify="space-between", style={"align-items": "center"}):
        solara.Button(label="Reset", color="primary", on_click=reset)
        solara.Button(label="\u25b6" if not playing.value else "\u275a\u275a", color="primary",
                      on_click=play_pause, disabled=not running.value)
        solara.Button(label="Step", color="primary", on_click=step,
                      disabled=playing.value or not running.value)
        with solara.Div(classes=["ms-stop"], style={"width": "92px"}):
            solara.InputText("stop at week", value=stop_text, continuous_update=True)
    if error.value:
        solara.Error(label=error.value)


@solara.component
def RunControls(model: solara.Reactive[AppModel], params: solara.Reactive[dict],
                play_interval: solara.Reactive[int], render_interval: solara.Reactive[int],
                keep: solara.Reactive[bool]):
    """Reset / Play / Step, where to stop, the faded run, the speed, the scenario and the
    seed."""
    Controller(model, params, play_interval, render_interval)
    with solara.Div(classes=["ms-keep"]):
        solara.Checkbox(label="keep the faded run when I press Reset", value=keep,
                        style="margin: 0; height: 24px")
    lo, hi, st = PLAY_INTERVAL_RANGE
    with solara.Column(gap="0px", classes=["ms-knob", "ms-knob-play", "ms-speed"]):
        solara.HTML(tag="div", classes=["ms-knob-label"], unsafe_innerHTML=(
            f"pause between weeks: <b>{play_interval.value} ms</b> (larger is slower)"))
        slider(play_interval.value, lo, hi, st, lambda v: play_interval.set(int(v)),
               "ms-slider ms-slider-play")
    lo, hi, st = RENDER_INTERVAL_RANGE
    with solara.Column(gap="0px", classes=["ms-knob", "ms-knob-render", "ms-render"]):
        solara.HTML(tag="div", classes=["ms-knob-label"], unsafe_innerHTML=(
            f"weeks per picture: <b>{render_interval.value}</b> (larger is faster)"))
        slider(render_interval.value, lo, hi, st, lambda v: render_interval.set(int(v)),
               "ms-slider ms-slider-render")

    def set_param(name, value):
        params.value = {**params.value, name: value}

    with solara.Row(gap="6px", style={"margin-top": "2px"}):
        solara.Select("scenario (on Reset)", values=scenario_names(params.value["scenario_name"]),
                      value=params.value["scenario_name"],
                      on_value=lambda v: set_param("scenario_name", v), dense=True,
                      classes=["ms-pick-scenario"])
        solara.InputText("seed (on Reset)", value=str(params.value.get("seed") or ""),
                         on_value=lambda v: set_param("seed", v), continuous_update=True,
                         classes=["ms-seed"])


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------
@solara.component
def MapView(model: AppModel, counter: int):
    with model.lock:
        painter = painter_for(model)
        png = painter.model_png(model)
        legend = painter.legend(model.group_names)
    solara.Image(png, width="100%", classes=["ms-map"])
    solara.HTML(tag="div", unsafe_innerHTML=_legend_html(legend), classes=["ms-legend"])


def _legend_html(items) -> str:
    parts = []
    for kind, colour, label in items:
        label = html.escape(label)
        box = "display:inline-block;width:12px;height:12px;vertical-align:-1px;"
        if kind == "fill":
            sw = f'<span style="{box}background:{colour};border:1px solid #888"></span>'
        elif kind == "hatch":
            sw = (f'<span style="{box}border:1px solid #888;background:repeating-linear-'
                  f'gradient(135deg,{colour} 0 2px,#ffffff 2px 6px)"></span>')
        elif kind == "dot":
            sw = (f'<span style="{box}width:10px;height:10px;border-radius:50%;'
                  f'background:{colour};border:1px solid #1a1a1a"></span>')
        elif kind == "zone":
            sw = f'<span style="{box}border:2px solid {colour}"></span>'
        else:
            sw = ""
        parts.append(f'<span style="margin-right:7px;white-space:nowrap">{sw} {label}</span>')
    return "<div>" + " ".join(parts) + "</div>"


@solara.component
def MonitorsView(model: AppModel, counter: int, previous: PreviousRun | None):
    with model.lock:
        m = monitors(model)
    solara.HTML(tag="div", classes=["ms-monitors"], unsafe_innerHTML=_monitor_html(m, previous))
    if m["problem"]:
        solara.Error(m["problem"], dense=True)


def _week_html(m) -> str:
    return (f'<span class="ms-week"><span style="font-size:22px;font-weight:600">Week '
            f'{m["week"]}</span><span style="font-size:14px"> of {m["steps"]} &middot; year '
            f'{m["year"]:.1f} &middot; {html.escape(m["scenario"])}, seed '
            f'{html.escape(str(m["seed"]))}</span></span>')


def _monitor_html(m, previous: PreviousRun | None = None) -> str:
    e = html.escape
    rows = "".join(
        f'<tr><td><span style="display:inline-block;width:10px;height:10px;border-radius:50%;'
        f'background:{g["colour"]};border:1px solid #1a1a1a"></span> {e(g["name"])}'
        f'{"" if g["alive"] else " (gone)"}</td>'
        f'<td class="ms-num">{g["fighters"]:,}</td><td class="ms-num">{g["territory"]}</td>'
        f'<td class="ms-num">{g["claim"]:.2f}</td><td class="ms-num">{g["propaganda"]:.2f}</td>'
        f'<td>{"alive" if g["leader_alive"] else "killed"}</td></tr>' for g in m["groups"])
    rel = "; ".join(
        f'{e(r["pair"])}: <b class="ms-relation" style="border-bottom:3px solid {r["colour"]}">'
        f'{e(r["state"])}</b> since week {r["since"]} (hostility {r["hostility"]:.2f})'
        for r in m["relations"]) or "none"
    active = "; ".join(e(a) for a in m["active"]) or "none"
    nxt = (f'<div>Next scheduled: {e(m["next_event"])}</div>' if m["next_event"] else "")
    changes = (f'<div class="ms-changes">Your changes (numbered on the charts): '
               f'{e("; ".join(m["changes"]))}</div>' if m["changes"] else "")
    prev = (f'<div class="ms-previous" style="color:#555">Faded on the charts: an earlier '
            f'run ({e(previous.label)})</div>' if previous is not None else "")
    return (
        f'<table><tr><th>group</th><th>fighters</th><th>districts</th>'
        f'<th>claim</th><th>propag.</th><th>leader</th></tr>{rows}</table>'
        f'<div>Relation: {rel}</div>'
        f'<div>Districts held by the groups <b>{m["militant_cells"]}</b>, by the state '
        f'{m["state_cells"]} of {m["cells"]}; ungoverned <b>{m["ungoverned"]}</b>. This week '
        f'<b>{m["clashes_this_week"]}</b> clashes, <b>{m["defections_this_week"]}</b> '
        f'defections.</div>{changes}{prev}<div>In force: {active}</div>{nxt}')


class LiveChart(ipyvuetify.VuetifyTemplate):
    """An ECharts chart whose option travels as one JSON string (``sim/app/chart.vue``).

    Solara's own ``FigureEcharts`` takes the option as a dict, and Solara walks every list
    and dict of a component's properties on each update: every data point, every week. A
    string is passed as it is.
    """

    template_file = (__file__, "chart.vue")
    option_json = traitlets.Unicode("").tag(sync=True)
    name = traitlets.Unicode("").tag(sync=True)
    week = traitlets.Int(0).tag(sync=True)
    height = traitlets.Unicode("280px").tag(sync=True)


@solara.component
def ChartView(model: AppModel, name: str, counter: int, previous: PreviousRun | None,
              height: str = CHART_HEIGHT):
    """A live chart (``name``: a key of :data:`sim.app.render.CHARTS`)."""
    with model.lock:
        option = json.dumps(CHARTS[name](model, previous), separators=(",", ":"))
        week = model.week
    return LiveChart.element(option_json=option, name=name, week=week, height=height)


def _file_stem(model: AppModel) -> str:
    return f"{model.spec.name}-seed{model.seed}-week{model.week}"


def dashboard_png(model: AppModel) -> bytes:
    """The run so far as the dashboard of ``militant-sim run`` (maps and every chart)."""
    from ..analysis.charts import dashboard

    with model.lock:
        result = model.results()
    fig = dashboard(result)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


@solara.component
def Downloads(model: AppModel, counter: int):
    stem = _file_stem(model)

    def csv():
        with model.lock:
            return series_csv(model)

    def map_png():
        with model.lock:
            return painter_for(model).model_png(model)

    style = {"font-size": "11.5px", "height": "26px", "padding": "0 5px",
             "text-transform": "none"}
    with solara.Row(gap="2px", style={"flex-wrap": "nowrap", "align-items": "center"}):
        solara.FileDownload(csv, filename=f"{stem}.csv", label="data (CSV)",
                            mime_type="text/csv",
                            children=[solara.Button("data CSV", icon_name="mdi-download",
                                                    text=True, style=style, classes=["ms-csv"])])
        solara.FileDownload(map_png, filename=f"{stem}-map.png", mime_type="image/png",
                            children=[solara.Button("map PNG", icon_name="mdi-download",
                                                    text=True, style=style,
                                                    classes=["ms-map-png"])])
        solara.FileDownload(lambda: dashboard_png(model), filename=f"{stem}-dashboard.png",
                            mime_type="image/png",
                            children=[solara.Button("dashboard PNG", icon_name="mdi-download",
                                                    text=True, style=style,
                                                    classes=["ms-dashboard-png"])])


@solara.component
def ModelTab(model: AppModel, counter: int, previous: PreviousRun | None):
    with solara.Div(classes=["ms-model"]):
        with solara.Div(classes=["ms-left"]):
            MapView(model, counter)
            MonitorsView(model, counter, previous)
        with solara.Div(classes=["ms-charts"]):
            with solara.Div(classes=["ms-chart-box", "ms-rel-box"]):
                ChartView(model, "relations", counter, previous, height=REL_HEIGHT)
            for name in CHART_GRID:
                with solara.Div(classes=["ms-chart-box"]):
                    ChartView(model, name, counter, previous)


@solara.component
def MainView(model: AppModel, knob_rev: solara.Reactive[int],
             previous: PreviousRun | None, tab: solara.Reactive[str]):
    # the one subscriber to Mesa's update counter: one render pass per week for all views
    counter = update_counter.get()
    shown = solara.use_ref(None)

    def check_knobs():
        # a slider moved, or a scheduled event changed a value the sliders show
        with model.lock:
            state = knob_state(model)
        if state != shown.current:
            shown.current = state
            knob_rev.value += 1

    solara.use_effect(check_knobs, [counter, id(model)])
    with model.lock:
        m = monitors(model)
    with solara.Column(gap="2px", classes=["ms-main"]):
        with solara.Row(gap="10px", classes=["ms-top"]):
            solara.HTML(tag="div", unsafe_innerHTML=_week_html(m))
            solara.ToggleButtonsSingle(value=tab.value, values=["Model", "Guide"],
                                       on_value=tab.set, dense=True, classes=["ms-tabs"])
            solara.HTML(tag="div", unsafe_innerHTML="", style="flex:1 1 auto")
            if tab.value == "Model":
                with solara.Row(gap="2px", classes=["ms-downloads"],
                                style={"align-items": "center", "flex-wrap": "nowrap"}):
                    solara.HTML(tag="span", unsafe_innerHTML="save:",
                                style="font-size:12px;color:#444")
                    Downloads(model, counter)
        if tab.value == "Model":
            ModelTab(model, counter, previous)
        else:
            GuideView()


# ---------------------------------------------------------------------------------------------
# The guide (the info tab)
# ---------------------------------------------------------------------------------------------
def guide_path() -> Path | None:
    """docs/TEACHING.md of the repository, or the copy installed with the package."""
    for p in (ROOT_DIR / "docs" / "TEACHING.md", PACKAGE_DIR / "_docs" / "TEACHING.md"):
        if p.is_file():
            return p
    return None


def guide_markdown() -> str:
    """The guide's text for the Guide tab: the screenshots are left out (the real app is
    beside it), links to other documents become plain text."""
    p = guide_path()
    if p is None:
        return ("The teaching guide (docs/TEACHING.md) is not installed with this copy; read "
                "it in the project's repository.")
    text = p.read_text(encoding="utf-8")
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)\n?", "", text)
    text = re.sub(r"\[([^\]]+)\]\((?!https?:)[^)]*\)", r"\1", text)
    return text


@solara.component
def GuideView():
    text = solara.use_memo(guide_markdown, [])
    with solara.Div(classes=["ms-guide"]):
        solara.Markdown(text)


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------
@solara.component
def Page():
    # a fixed light theme: the charts, the map and the text are drawn for a light page,
    # whatever the operating system's or the browser's dark mode says
    solara.lab.theme.dark = False
    solara.Style(CSS)
    initial = solara.use_memo(initial_model, [])
    model = solara.use_reactive(initial)
    params = solara.use_reactive(model_params(initial))
    play_interval = solara.use_reactive(PLAY_INTERVAL_MS)
    render_interval = solara.use_reactive(1)
    previous = solara.use_reactive(None)
    keep = solara.use_reactive(False)
    tab = solara.use_reactive("Model")
    last = solara.use_ref(initial)
    m = model.value

    def keep_previous():
        # Reset replaced the model: keep the run it ends, to draw it faded behind the new one
        old = last.current
        if (old is not None and old is not m and old.week > 0
                and not (keep.value and previous.value is not None)):
            with old.lock:
                previous.value = snapshot(old)
        last.current = m

    solara.use_effect(keep_previous, [id(m)])
    knob_rev = solara.use_reactive(0)
    solara.Title("militant-sim")
    with solara.Div(classes=["ms-app"]):
        with solara.Div(classes=["ms-side", "ms-live"]):
            solara.HTML(tag="div", classes=["ms-title"], unsafe_innerHTML=html.escape(TITLE))
            RunControls(model, params, play_interval, render_interval, keep)
            LiveControls(m, knob_rev).key(f"live-{id(m)}")
        MainView(m, knob_rev, previous.value, tab)


@solara.component
def Layout(children=[]):  # noqa: B006 (Solara's signature)
    """The page as it is: no app bar and no drawer (the controls are laid out by the page)."""
    return solara.Div(children=children, style={"height": "100vh", "overflow": "hidden"})
