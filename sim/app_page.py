"""The teaching app's page: Mesa's SolaraViz with the model's own views and live controls.

Served by ``militant-sim app`` (see :mod:`sim.app`); Solara loads this module and shows
:func:`Page`, one model per browser tab. The layout:

* the sidebar (from Mesa's ``SolaraViz``): Reset / Play / Step, the speed (*Play Interval*, the
  pause between weeks, and *Render Interval*, weeks computed per picture), the scenario and
  seed (*Model Parameters*, used when Reset is pressed), then this app's **Live controls**:
  sliders that change the running model at once;
* the main area: the map, the monitors of the current week and the live charts.

The drawing is done by :mod:`sim.app_render` and the sliders are defined by
:mod:`sim.app_controls`, both free of browser code.
"""

from __future__ import annotations

import html
import json
import os

import ipyvuetify
import solara
import traitlets
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update, update_counter

from .app_controls import (
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
    knobs,
    zone_choices,
)
from .app_render import CHARTS, monitors, painter_for

TITLE = "militant-sim: competition among militant groups"
#: pause between weeks when playing (Mesa's Play Interval slider), milliseconds
PLAY_INTERVAL_MS = 50
CHART_HEIGHT = "280px"

_SCENARIOS: list[str] | None = None


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
    """Mesa's "Model Parameters": used to rebuild the model when Reset is pressed."""
    return {
        "scenario_name": {"type": "Select", "label": "Scenario (used on Reset)",
                          "value": model.scenario_name,
                          "values": scenario_names(model.scenario_name)},
        "seed": {"type": "InputText", "label": "Seed (used on Reset; blank: the scenario's)",
                 "value": os.environ.get(ENV_SEED, "")},
    }


# ---------------------------------------------------------------------------------------------
# Live controls
# ---------------------------------------------------------------------------------------------
@solara.component
def KnobSlider(model: AppModel, knob: Knob, value: float, group: str | None = None,
               zone: str | None = None, label: str | None = None):
    """One slider; it shows the model's current value and changes the model when moved."""
    lo, hi, step = knob.slider_range(value)

    def on_value(v):
        apply(model, knob, v, group, zone)
        force_update()

    solara.SliderFloat(f"{label or knob.label}: {value:.3g}", value=value, min=lo, max=hi,
                       step=step, on_value=on_value, thumb_label=True)
    caption = f"{knob.meaning} [{knob.unit}]" if knob.unit not in ("", "-") else knob.meaning
    if not has_target(model, knob):
        caption += " \u2014 this scenario has none, so no effect here"
    solara.Text(caption,
                style={"font-size": "11px", "color": "#666", "margin-top": "-14px",
                       "margin-bottom": "6px", "display": "block", "line-height": "1.2"})


@solara.component
def LiveControls(model: AppModel, knob_rev: solara.Reactive[int]):
    """The sliders of :func:`sim.app_controls.knobs`, acting on the running model.

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
    solara.Text("Sliders change the running model from the next week. Reset rebuilds it from "
                "the scenario (and returns the sliders to the scenario's values).",
                style={"font-size": "12px", "display": "block", "margin-bottom": "8px"})
    solara.Select("Group for claim and propaganda", values=names, value=group,
                  on_value=set_group)
    for k in all_knobs:
        if k.scope == "group":
            KnobSlider(model, k, values[k], group=group, label=f"{k.label} of {group}")
    solara.Select("Restricted group", values=names, value=r_group, on_value=set_r_group)
    solara.Select("Restricted in zone", values=zones, value=r_zone, on_value=set_r_zone)
    for k in all_knobs:
        if k.scope == "restriction":
            KnobSlider(model, k, values[k], group=r_group, zone=r_zone,
                       label=f"restriction of {r_group} in {r_zone}")
    for k in all_knobs:
        if k.scope == "param":
            KnobSlider(model, k, values[k])


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------
@solara.component
def MapView(model: AppModel, counter: int):
    with model.lock:
        painter = painter_for(model)
        png = painter.png(model)
        legend = painter.legend(model)
        week = model.week
    with solara.Card(f"The map, week {week}", margin=0, classes=["ms-map-card"]):
        solara.Image(png, width="100%", classes=["ms-map"])
        solara.HTML(unsafe_innerHTML=_legend_html(legend), classes=["ms-legend"])


def _legend_html(items) -> str:
    parts = []
    for kind, colour, label in items:
        label = html.escape(label)
        if kind == "fill":
            sw = (f'<span style="display:inline-block;width:14px;height:14px;background:{colour};'
                  'border:1px solid #888;vertical-align:middle"></span>')
        elif kind == "hatch":
            sw = ('<span style="display:inline-block;width:14px;height:14px;'
                  'border:1px solid #888;vertical-align:middle;background:'
                  f'repeating-linear-gradient(135deg,{colour} 0 2px,#ffffff 2px 7px)"></span>')
        elif kind == "dot":
            sw = (f'<span style="display:inline-block;width:11px;height:11px;border-radius:50%;'
                  f'background:{colour};border:1px solid #1a1a1a;vertical-align:middle"></span>')
        elif kind == "zone":
            sw = ('<span style="display:inline-block;width:14px;height:14px;'
                  f'border:2px solid {colour};vertical-align:middle"></span>')
        else:
            sw = ""
        parts.append(f'<span style="margin-right:14px;white-space:nowrap">{sw} {label}</span>')
    return '<div style="font-size:13px;line-height:1.9">' + " ".join(parts) + "</div>"


@solara.component
def MonitorsView(model: AppModel, counter: int):
    with model.lock:
        m = monitors(model)
    with solara.Card(margin=0, classes=["ms-monitors"], style={"padding": "8px 14px"}):
        solara.HTML(tag="div", classes=["ms-week"], unsafe_innerHTML=(
            f'<span style="font-size:30px;font-weight:600">Week {m["week"]}</span>'
            f'<span style="font-size:16px"> of {m["steps"]} &middot; year {m["year"]:.1f}'
            f' &middot; {html.escape(m["scenario"])}, seed {html.escape(str(m["seed"]))}</span>'))
        solara.HTML(tag="div", unsafe_innerHTML=_monitor_html(m))
        if m["problem"]:
            solara.Error(m["problem"], dense=True)


def _monitor_html(m) -> str:
    e = html.escape
    rows = "".join(
        f'<tr><td><span style="display:inline-block;width:12px;height:12px;border-radius:50%;'
        f'background:{g["colour"]};border:1px solid #1a1a1a"></span> {e(g["name"])}'
        f'{"" if g["alive"] else " (gone)"}</td>'
        f'<td class="ms-num">{g["fighters"]:,}</td><td class="ms-num">{g["territory"]}</td>'
        f'<td class="ms-num">{g["claim"]:.2f}</td><td class="ms-num">{g["propaganda"]:.2f}</td>'
        f'<td>{"alive" if g["leader_alive"] else "killed"}</td></tr>' for g in m["groups"])
    rel = "; ".join(f'{e(r["pair"])}: <b>{e(r["state"])}</b> since week {r["since"]}, '
                    f'hostility {r["hostility"]:.2f}' for r in m["relations"]) or "none"
    active = "; ".join(e(a) for a in m["active"]) or "none"
    nxt = (f'<div>Next scheduled event: {e(m["next_event"])}</div>'
           if m["next_event"] else "")
    style = ("<style>.ms-tab td,.ms-tab th{padding:0 10px 0 0;text-align:left}"
             ".ms-tab .ms-num{text-align:right;font-variant-numeric:tabular-nums}</style>")
    return (
        f'{style}<div style="font-size:14px;line-height:1.5">'
        f'<table class="ms-tab"><tr><th>group</th><th>fighters</th><th>districts</th>'
        f'<th>claim</th><th>propaganda</th><th>leader</th></tr>{rows}</table>'
        f'<div>All fighters <b>{m["fighters"]:,}</b> &middot; ungoverned districts '
        f'<b>{m["ungoverned"]}</b> of {m["cells"]} &middot; held by the state '
        f'{m["state_cells"]} &middot; this week <b>{m["clashes_this_week"]}</b> clashes, '
        f'<b>{m["defections_this_week"]}</b> defections</div>'
        f'<div>Relations: {rel}</div><div>In force: {active}</div>{nxt}</div>')


class LiveChart(ipyvuetify.VuetifyTemplate):
    """An ECharts chart whose option travels as one JSON string (``sim/app_chart.vue``).

    Solara's own ``FigureEcharts`` takes the option as a dict, and Solara walks every list
    and dict of a component's properties on each update: every data point, every week. A
    string is passed as it is.
    """

    template_file = (__file__, "app_chart.vue")
    option_json = traitlets.Unicode("").tag(sync=True)
    name = traitlets.Unicode("").tag(sync=True)
    week = traitlets.Int(0).tag(sync=True)
    height = traitlets.Unicode(CHART_HEIGHT).tag(sync=True)


@solara.component
def ChartView(model: AppModel, name: str, counter: int):
    """A live chart (``name``: a key of :data:`sim.app_render.CHARTS`)."""
    with model.lock:
        option = json.dumps(CHARTS[name](model), separators=(",", ":"))
        week = model.week
    return LiveChart.element(option_json=option, name=name, week=week)


@solara.component
def MainView(model: AppModel, knob_rev: solara.Reactive[int]):
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
    with solara.Column(style={"padding": "0 10px"}, gap="6px"):
        solara.HTML(tag="div", unsafe_innerHTML=(
            f'<b>{html.escape(model.spec.name)}</b>: {html.escape(model.spec.description)}'),
            style="font-size:15px")
        with solara.ColumnsResponsive(12, large=[5, 7]):
            MapView(model, counter)
            with solara.Column(gap="8px"):
                MonitorsView(model, counter)
                for row in (("fighters", "territory"), ("violence", "relations")):
                    with solara.ColumnsResponsive(12, medium=[6, 6], gutters_dense=True):
                        for name in row:
                            with solara.Card(margin=0, style={"padding": "4px"}):
                                ChartView(model, name, counter)


@solara.component
def Page():
    initial = solara.use_memo(initial_model, [])
    model = solara.use_reactive(initial)
    m = model.value
    SolaraViz(model, components=[], model_params=model_params(m), name=TITLE,
              play_interval=PLAY_INTERVAL_MS)
    knob_rev = solara.use_reactive(0)
    LiveSidebar(m, knob_rev)
    MainView(m, knob_rev)


@solara.component
def LiveSidebar(model: AppModel, knob_rev: solara.Reactive[int]):
    _LiveSidebarCard(model, knob_rev)


@solara.component
def _LiveSidebarCard(model: AppModel, knob_rev: solara.Reactive[int]):
    # Solara orders the sidebar by depth in the page: this card is two levels below the page,
    # so it comes after the cards of SolaraViz (Reset / Play / Step first)
    with solara.Sidebar():
        with solara.Card("Live controls", classes=["ms-live"]):
            # a new model (Reset) gets fresh controls: their choices start from its scenario
            LiveControls(model, knob_rev).key(f"live-{id(model)}")
