"""What the teaching app shows, computed without a browser.

* the map: :class:`sim.analysis.map_image.MapPainter` (the same picture as the dashboard's and the
  animation's), one image per week;
* ``*_option`` functions build the live charts as ECharts options (plain dicts, drawn by the
  browser): fighters and territory per group, clashes and defections per week, the relation
  of each pair over time. Each takes the run so far and, optionally, the previous run
  (:class:`PreviousRun`, kept when Reset is pressed), drawn faded behind it; the changes made
  with the sliders and the scenario's scheduled events are marked on the time axis;
* :func:`monitors` gathers the numbers of the current week, in plain words;
* :func:`series_csv` writes the run so far as CSV (the app's download).

Colours: :mod:`sim.core.palette`, the same everywhere (app, dashboard, animation, report).
"""

from __future__ import annotations

import contextlib
import io
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.columns import directed_col, group_col, pair_col
from ..core.enums import Relation
from ..analysis.labels import effect_words, event_label
from ..analysis.map_image import MapPainter
from ..core.palette import (
    FADED_OPACITY,
    INK,
    NEUTRAL_DARK,
    RELATION_COLOURS,
    RELATION_LABELS,
    STATE_COLOUR,
)
from ..common.units import WEEKS_PER_YEAR

if TYPE_CHECKING:  # pragma: no cover
    from ..core.model import MilitantModel

#: text colour of the charts (fixed: the app has a light theme)
TEXT = "#222222"
#: name of the faded series of the previous run (one legend entry for all of them)
PREVIOUS = "previous run (faded)"
#: weeks averaged in the clashes' moving average
CLASH_MEAN_WEEKS = 8
#: at most this many directions of defection are drawn (the largest so far)
MAX_DEFECTION_LINES = 4
#: colour of the marks of changes made with the sliders
CHANGE_COLOUR = "#000000"
#: colour of the pairs' hostility (a line on the clashes chart)
HOSTILITY_COLOUR = RELATION_COLOURS[Relation.WAR]


# ---------------------------------------------------------------------------------------------
# The map
# ---------------------------------------------------------------------------------------------
_PAINTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def painter_for(model: MilitantModel) -> MapPainter:
    """The map painter of this model (made on first use, kept while the model lives)."""
    p = _PAINTERS.get(model)
    if p is None:
        p = _PAINTERS[model] = MapPainter.for_model(model)
    return p


# ---------------------------------------------------------------------------------------------
# The series of the run so far, and of the previous run
# ---------------------------------------------------------------------------------------------
_COLUMNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def series(model: MilitantModel, column: str) -> np.ndarray:
    """One per-week column of the run so far (week 0 first), read from the model's recorder
    without building a data frame. Column names are those of ``RunResult.steps``."""
    rec = model.recorder
    index = _COLUMNS.get(model)
    if index is None:
        index = _COLUMNS[model] = {c: i for i, c in enumerate(rec.columns)}
    return rec.data[: rec.rows, index[column]]


def changes_of(model) -> list[tuple[int, str]]:
    """(week, what) of the changes made with the app's sliders in this run."""
    return list(getattr(model, "changes", []) or [])


@dataclass
class PreviousRun:
    """A finished or interrupted run, kept to be drawn faded behind the next one."""

    scenario: str
    seed: Any
    weeks: int
    group_names: list[str]
    group_colours: list[str]
    columns: dict[str, np.ndarray] = field(repr=False)
    changes: list[tuple[int, str]] = field(default_factory=list)

    def get(self, column: str) -> np.ndarray | None:
        return self.columns.get(column)

    @property
    def label(self) -> str:
        text = f"{self.scenario}, seed {self.seed}, weeks 0-{self.weeks}"
        if self.changes:
            text += "; " + "; ".join(f"week {w}: {c}" for w, c in self.changes)
        else:
            text += "; no slider moved"
        return text


def snapshot(model: MilitantModel) -> PreviousRun:
    """The run so far, copied (the model may go on or be dropped)."""
    rec = model.recorder
    data = rec.data[: rec.rows].copy()
    return PreviousRun(model.spec.name, model.seed, int(model.week), list(model.group_names),
                       list(model.group_colours),
                       {c: data[:, i] for i, c in enumerate(rec.columns)}, changes_of(model))


def _same_world(model: MilitantModel, prev: PreviousRun | None) -> PreviousRun | None:
    """The previous run if it can be drawn with this one (same groups), else None."""
    if prev is None or list(prev.group_names) != list(model.group_names):
        return None
    return prev


def series_csv(model: MilitantModel) -> bytes:
    """The run so far, one row per week, every recorded column (as ``steps.parquet``)."""
    rec = model.recorder
    buf = io.StringIO()
    buf.write(",".join(rec.columns) + "\n")
    np.savetxt(buf, rec.data[: rec.rows], delimiter=",", fmt="%.10g")
    return buf.getvalue().encode()


# ---------------------------------------------------------------------------------------------
# Chart options
# ---------------------------------------------------------------------------------------------
def _points(x: np.ndarray, y: np.ndarray, digits: int | None = None) -> list[list[float]]:
    if digits is None:
        return np.column_stack([x, y]).tolist()
    return np.column_stack([x, np.round(y, digits)]).tolist()


def _x_max(model: MilitantModel) -> int:
    return int(max(model.p.steps, model.week))


def week_ticks(span: int) -> int:
    """Ticks every year (52 weeks) on runs of two years or more, otherwise every half year,
    quarter or month: four to ten labels, which stay apart on a chart 300 pixels wide."""
    for t in (52, 26, 13, 4):
        if span / t >= 4:
            return t if span / t <= 10 else 104
    return max(1, span // 4)


def _x_axis(model: MilitantModel) -> dict[str, Any]:
    span = _x_max(model)
    return {"type": "value", "name": "time (weeks)", "nameLocation": "middle", "nameGap": 22,
            "min": 0, "max": span, "interval": week_ticks(span),
            "axisLabel": {"fontSize": 11, "color": TEXT, "hideOverlap": True},
            "nameTextStyle": {"color": TEXT}, "axisLine": {"lineStyle": {"color": "#888"}},
            "splitLine": {"show": False}}


def _base(model: MilitantModel, title: str, y_name: str) -> dict[str, Any]:
    return {
        "animation": False,
        "backgroundColor": "#ffffff",
        "textStyle": {"color": TEXT},
        "title": {"text": title, "left": 6, "top": 2,
                  "textStyle": {"fontSize": 13, "color": TEXT, "fontWeight": "bold"}},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 20, "left": 6, "right": 30, "itemGap": 8, "itemWidth": 16,
                   "itemHeight": 9, "textStyle": {"fontSize": 11, "color": TEXT}},
        "grid": {"left": 40, "right": 14, "top": 48, "bottom": 36},
        "toolbox": {"right": 4, "top": 0, "itemSize": 13, "feature": {
            "saveAsImage": {"title": "save as PNG", "name": "", "pixelRatio": 2,
                            "backgroundColor": "#ffffff"}}},
        "xAxis": _x_axis(model),
        "yAxis": {"type": "value", "name": y_name, "nameLocation": "end", "nameGap": 6,
                  "min": 0, "axisLabel": {"fontSize": 11, "color": TEXT},
                  "nameTextStyle": {"color": TEXT, "align": "left", "padding": [0, 0, 0, -38]},
                  "splitLine": {"lineStyle": {"color": "#eeeeee"}}},
        "series": [],
    }


def _line(name: str, colour: str, data, dashed: bool = False, y_axis: int = 0,
          faded: bool = False, width: float = 2.2) -> dict:
    s = {"type": "line", "name": name, "data": data, "showSymbol": False, "yAxisIndex": y_axis,
         "color": colour, "animation": False,
         "lineStyle": {"width": width, "color": colour, "type": "dashed" if dashed else "solid"}}
    if faded:
        s["lineStyle"]["opacity"] = FADED_OPACITY
        s["lineStyle"]["width"] = max(1.5, width - 0.5)
        s["z"] = 1
        s["silent"] = True
        s["tooltip"] = {"show": False}
    return s


def _marks(model: MilitantModel) -> dict[str, Any]:
    """Vertical marks on the time axis: the sliders' changes (solid, labelled) and the
    scenario's scheduled events after week 0 (dotted)."""
    data = []
    for ev in model.spec.timeline:
        if 0 < ev.week <= _x_max(model):
            data.append({"xAxis": ev.week, "name": event_label(ev),
                         "lineStyle": {"type": "dotted", "color": "#777777", "width": 1.2},
                         "label": {"show": False}})
    for i, (week, _what) in enumerate(changes_of(model), 1):
        data.append({"xAxis": week, "name": _what,
                     "lineStyle": {"type": "solid", "color": CHANGE_COLOUR, "width": 1.3},
                     "label": {"show": True, "formatter": str(i), "position": "end",
                               "fontSize": 11, "color": CHANGE_COLOUR}})
    return {"silent": True, "symbol": "none", "animation": False, "data": data}


#: the charts are about this wide on a 1280 x 720 screen (pixels), for laying out legends
CHART_WIDTH = 300


def legend_rows(names: list[str], width: int = CHART_WIDTH) -> int:
    """Rows the legend of these entries takes on a chart ``width`` pixels wide (ECharts wraps
    a horizontal legend: 16 px symbol, 5 px gap, about 6 px a character at 11 px, 8 px
    between entries)."""
    rows, used = 1, 0.0
    room = width - 36  # the legend's left margin and the save button
    for n in names:
        w = 16 + 5 + 6.1 * len(n) + 8
        if used and used + w > room:
            rows, used = rows + 1, 0.0
        used += w
    return rows


def _with_marks(opt: dict[str, Any], model: MilitantModel) -> dict[str, Any]:
    marks = _marks(model)
    if marks["data"]:
        opt["series"].append({"type": "line", "name": "_marks", "data": [], "markLine": marks,
                              "yAxisIndex": 0, "silent": True, "legendHoverLink": False})
    names = []
    for s in opt["series"]:
        if not s["name"].startswith("_") and s["name"] not in names:
            names.append(s["name"])
    opt["legend"]["data"] = names
    opt["grid"]["top"] = 24 + 15 * legend_rows(names) + 10
    return opt


def _previous_lines(opt, prev: PreviousRun | None, column_colour: list[tuple[str, str]],
                    y_axis: int = 0, dashed: tuple[str, ...] = ()) -> None:
    if prev is None:
        return
    weeks = prev.get("week")
    first = True
    for col, colour in column_colour:
        y = prev.get(col)
        if y is None or weeks is None:
            continue
        opt["series"].append(_line(PREVIOUS, colour, _points(weeks, y), dashed=col in dashed,
                                   y_axis=y_axis, faded=True))
        if first:
            # the legend entry of the previous run is grey, whatever its first line's colour
            opt["series"][-1]["itemStyle"] = {"color": "#b0b0b0"}
            first = False


def fighters_option(model: MilitantModel, previous: PreviousRun | None = None) -> dict[str, Any]:
    """Chart: fighters per group, each week."""
    opt = _base(model, "Fighters per group", "")
    prev = _same_world(model, previous)
    _previous_lines(opt, prev, [(group_col("fighters", n), c)
                                for n, c in zip(model.group_names, model.group_colours)])
    weeks = series(model, "week")
    for name, colour in zip(model.group_names, model.group_colours):
        opt["series"].append(_line(name, colour, _points(weeks, series(model, group_col("fighters", name)))))
    return _with_marks(opt, model)


def territory_option(model: MilitantModel, previous: PreviousRun | None = None) -> dict[str, Any]:
    """Chart: districts held per group, with the state's and the ungoverned districts."""
    opt = _base(model, "Territory: districts held", "")
    prev = _same_world(model, previous)
    cols = [(group_col("territory", n), c) for n, c in zip(model.group_names, model.group_colours)]
    cols += [("state_cells", STATE_COLOUR), ("ungoverned", NEUTRAL_DARK)]
    _previous_lines(opt, prev, cols, dashed=("ungoverned",))
    weeks = series(model, "week")
    for name, colour in zip(model.group_names, model.group_colours):
        opt["series"].append(_line(name, colour,
                                   _points(weeks, series(model, group_col("territory", name)))))
    opt["series"].append(_line("state", STATE_COLOUR, _points(weeks, series(model, "state_cells")),
                               width=1.8))
    opt["series"].append(_line("ungoverned", NEUTRAL_DARK,
                               _points(weeks, series(model, "ungoverned")), dashed=True,
                               width=1.8))
    return _with_marks(opt, model)


def moving_mean(y: np.ndarray, weeks: int = CLASH_MEAN_WEEKS) -> np.ndarray:
    """Trailing mean over the last ``weeks`` weeks (fewer at the start): what a class sees
    week by week, never ahead of the run."""
    y = np.asarray(y, dtype=np.float64)
    if not len(y):
        return y
    c = np.concatenate([[0.0], np.cumsum(y)])
    n = np.arange(1, len(y) + 1)
    lo = np.maximum(0, n - weeks)
    return (c[n] - c[lo]) / (n - lo)


def violence_option(model: MilitantModel, previous: PreviousRun | None = None) -> dict[str, Any]:
    """Chart: clashes between groups per week (bars, with their moving average), and the
    hostility of each pair of groups (right axis, 0 to 1), which sets how readily they clash,
    whether they can make a truce and whether they go to war."""
    opt = _base(model, "Clashes per week, and hostility", "")
    opt["yAxis"] = [opt["yAxis"], {"type": "value", "min": 0, "max": 1, "interval": 0.25,
                                   "position": "right", "splitLine": {"show": False},
                                   "axisLabel": {"fontSize": 10, "color": HOSTILITY_COLOUR}}]
    opt["grid"]["right"] = 34
    prev = _same_world(model, previous)
    pairs = _pairs(model)
    if prev is not None:
        w, c = prev.get("week"), prev.get("clashes")
        if w is not None and c is not None:
            opt["series"].append(_line(PREVIOUS, "#b0b0b0", _points(w, moving_mean(c), 2),
                                       faded=True, width=2.6))
        for a, b in pairs:
            h = prev.get(pair_col("hostility", a, b))
            if w is not None and h is not None:
                opt["series"].append(_line(PREVIOUS, HOSTILITY_COLOUR, _points(w, h, 3),
                                           dashed=True, y_axis=1, faded=True))
    weeks = series(model, "week")
    clashes = series(model, "clashes")
    opt["series"].append({"type": "bar", "name": "clashes", "data": _points(weeks, clashes),
                          "color": "#bdbdbd", "barMaxWidth": 4, "barCategoryGap": "0%",
                          "yAxisIndex": 0, "animation": False})
    opt["series"].append(_line(f"{CLASH_MEAN_WEEKS}-week mean", INK,
                               _points(weeks, moving_mean(clashes), 2), width=2.2))
    for a, b in pairs:
        name = "hostility" if len(pairs) == 1 else f"hostility {a}\u2013{b}"
        opt["series"].append(_line(name, HOSTILITY_COLOUR,
                                   _points(weeks, series(model, pair_col("hostility", a, b)), 3),
                                   dashed=True, y_axis=1, width=1.8))
    return _with_marks(opt, model)


def _pairs(model: MilitantModel) -> list[tuple[str, str]]:
    n = model.group_names
    return [(n[a], n[b]) for a in range(len(n)) for b in range(a + 1, len(n))]


def defections_option(model: MilitantModel,
                      previous: PreviousRun | None = None) -> dict[str, Any]:
    """Chart: fighters defecting per week, by direction, in the colour of the group they join
    (a moving average, with the weekly counts as thin lines)."""
    opt = _base(model, "Defections per week (fighters)", "")
    prev = _same_world(model, previous)
    names = model.group_names
    dirs = []
    for a, src in enumerate(names):
        for b, dst in enumerate(names):
            if a != b:
                s = series(model, directed_col("defect", src, dst))
                dirs.append((s.sum(), src, dst, b, s))
    dirs.sort(key=lambda d: -d[0])
    shown = dirs[:MAX_DEFECTION_LINES]
    if prev is not None:
        w = prev.get("week")
        for _, src, dst, b, _s in shown:
            y = prev.get(directed_col("defect", src, dst))
            if y is not None and w is not None:
                opt["series"].append(_line(PREVIOUS, model.group_colours[b],
                                           _points(w, moving_mean(y), 2), faded=True))
        if len(opt["series"]):
            opt["series"][0]["itemStyle"] = {"color": "#b0b0b0"}
    weeks = series(model, "week")
    for _, src, dst, b, s in shown:
        opt["series"].append(_line(f"{src}\u2192{dst}", model.group_colours[b],
                                   _points(weeks, moving_mean(s), 2)))
    return _with_marks(opt, model)


def relations_option(model: MilitantModel, previous: PreviousRun | None = None) -> dict[str, Any]:
    """Chart: the relation of each pair of groups over time (rivalry, truce, war, ended), as
    coloured bands on the same time axis as the other charts; the previous run's bands as a
    thin faded strip under each pair's."""
    names = model.group_names
    pairs = [(a, b) for a in range(len(names)) for b in range(a + 1, len(names))]
    labels = [f"{names[a]} \u2013 {names[b]}" for a, b in pairs]
    weeks = series(model, "week").astype(int)
    prev = _same_world(model, previous)
    areas = []
    for i, (a, b) in enumerate(pairs):
        col = pair_col("relation", names[a], names[b])
        for state, x0, x1 in relation_spans(series(model, col), weeks):
            areas.append([{"xAxis": x0, "yAxis": i - 0.36,
                           "itemStyle": {"color": RELATION_COLOURS[Relation(state)]}},
                          {"xAxis": x1, "yAxis": i + (0.12 if prev is not None else 0.36)}])
        if prev is not None and prev.get(col) is not None:
            for state, x0, x1 in relation_spans(prev.get(col), prev.get("week").astype(int)):
                areas.append([{"xAxis": x0, "yAxis": i + 0.18,
                               "itemStyle": {"color": RELATION_COLOURS[Relation(state)],
                                             "opacity": 0.55}},
                              {"xAxis": x1, "yAxis": i + 0.36}])
    legend = [{"name": RELATION_LABELS[r].split(" (")[0], "itemStyle": {"color": c}}
              for r, c in RELATION_COLOURS.items()]
    series_ = [{"type": "line", "name": lg["name"], "data": [], "color": lg["itemStyle"]["color"],
                "symbol": "rect", "lineStyle": {"width": 0}} for lg in legend]
    series_.append({"type": "line", "name": "_bands", "data": [], "silent": True,
                    "markArea": {"silent": True, "data": areas}})
    opt = _base(model, "Relation of each pair", "")
    opt.update({
        "tooltip": {"show": False},
        "legend": {"top": 2, "right": 30, "itemWidth": 14, "itemHeight": 10, "itemGap": 8,
                   "textStyle": {"fontSize": 11, "color": TEXT},
                   "data": [lg["name"] for lg in legend]},
        "grid": {"left": 10, "right": 14, "top": 26, "bottom": 30, "containLabel": True},
        "yAxis": {"type": "value", "min": -0.5, "max": len(pairs) - 0.5, "inverse": True,
                  "interval": 1, "axisLabel": {"show": False}, "splitLine": {"show": False},
                  "axisTick": {"show": False}, "axisLine": {"show": False}},
        "series": series_,
    })
    opt["title"]["text"] = "Relation"
    marks = _marks(model)
    if marks["data"]:
        series_.append({"type": "line", "name": "_marks", "data": [], "markLine": marks,
                        "silent": True})
    # the pairs' names, written on their bands (a y axis of values cannot carry them)
    label_box = {"backgroundColor": "rgba(255,255,255,0.85)", "padding": [1, 3],
                 "borderRadius": 2}
    series_.append({"type": "scatter", "name": "_pairs", "silent": True, "symbolSize": 0, "z": 10,
                    "data": [{"value": [0, i - 0.12], "name": lab}
                             for i, lab in enumerate(labels)],
                    "label": {"show": True, "position": "right", "fontSize": 11, "color": TEXT,
                              "formatter": "{b}", **label_box}})
    if prev is not None:
        opt["series"].append({"type": "scatter", "name": "_prev", "silent": True,
                              "symbolSize": 0, "z": 10,
                              "data": [{"value": [0, i + 0.27], "name": "faded run"}
                                       for i in range(len(pairs))],
                              "label": {"show": True, "position": "right", "fontSize": 9,
                                        "color": "#444444", "formatter": "{b}", **label_box}})
    return opt


def relation_spans(states: np.ndarray, weeks: np.ndarray) -> list[tuple[int, int, int]]:
    """Runs of equal relation state: (state, first week, week after the last)."""
    states = np.asarray(states).astype(int)
    weeks = np.asarray(weeks).astype(int)
    if not len(states):
        return []
    change = np.flatnonzero(np.diff(states)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(states)]])
    return [(int(states[s]), int(weeks[s]), int(weeks[e - 1]) + 1) for s, e in zip(starts, ends)]


CHARTS = {
    "fighters": fighters_option,
    "territory": territory_option,
    "violence": violence_option,
    "defections": defections_option,
    "relations": relations_option,
}


# ---------------------------------------------------------------------------------------------
# Monitors
# ---------------------------------------------------------------------------------------------
def monitors(model: MilitantModel) -> dict[str, Any]:
    """The numbers of the current week, as shown in the app's monitors."""
    counts = model.fighter_counts()
    terr = model.territory()
    groups = [{"name": n, "colour": c, "fighters": int(counts[g]), "territory": int(terr[g]),
               "claim": float(model.claim[g]), "propaganda": float(model.propaganda[g]),
               "alive": bool(model.group_alive[g]), "leader_alive": bool(model.leader_alive[g])}
              for g, (n, c) in enumerate(zip(model.group_names, model.group_colours))]
    names = model.group_names
    relations = []
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            state = Relation(int(model.relation[a, b]))
            relations.append({"pair": f"{names[a]} \u2013 {names[b]}",
                              "state": state.name.lower(),
                              "colour": RELATION_COLOURS[state],
                              "since": int(model.relation_since[a, b]),
                              "hostility": float(model.hostility[a, b])})
    upcoming = [ev for ev in model.spec.timeline if ev.week > model.week]
    active = [effect_words(e.kind, e.args) for e in model.active_effects]
    t = model.tally
    return {
        "week": int(model.week),
        "year": model.week / WEEKS_PER_YEAR,
        "steps": int(model.p.steps),
        "scenario": model.spec.name,
        "seed": model.seed,
        "fighters": int(counts.sum()),
        "ungoverned": int(model.ungoverned().sum()),
        "cells": int(model.n_cells),
        "state_cells": int((model.owner == model.state_code).sum()),
        "militant_cells": int((model.owner >= 0).sum()),
        "clashes_this_week": int(t.clashes.sum() // 2),
        "defections_this_week": int(t.defections.sum()),
        "groups": groups,
        "relations": relations,
        "active": active,
        "next_event": (f"week {upcoming[0].week}: {event_label(upcoming[0])}" if upcoming else ""),
        "changes": [f"{i}. week {w}: {c}" for i, (w, c) in enumerate(changes_of(model), 1)],
        "problem": getattr(model, "seed_problem", ""),
    }


def render_all(model: MilitantModel, previous: PreviousRun | None = None) -> dict[str, Any]:
    """Everything the app draws for one week (used by the benchmark and the tests)."""
    with getattr(model, "lock", None) or contextlib.nullcontext():
        out = {"map": painter_for(model).model_png(model), "monitors": monitors(model)}
        out.update({k: f(model, previous) for k, f in CHARTS.items()})
    return out

