"""Charts of runs and sweeps: the run dashboard, report figures and the teaching animation.

Every chart is drawn on its own :class:`matplotlib.figure.Figure` with the Agg canvas (no
``pyplot`` global state), labels time in weeks or years, and takes its colours from the
project's one palette, :mod:`sim.core.palette` (groups: the run's ``summary["group_colours"]``, the
colour-blind-safe Okabe-Ito palette; the state, cells held by no one, relations). Maps are the
picture of :class:`sim.analysis.map_image.MapPainter`, the same as the teaching app's.

Run charts take a :class:`sim.core.record.RunResult`; sweep charts take the tables of a sweep
folder (see ``docs/REPORTS.md``). Functions named ``*_figure`` return a Figure; ``save``
writes it as PNG (and SVG) files.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import BoundaryNorm, ListedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..core.columns import col_var, group_col, parse_col, split_pair
from ..common.units import WEEKS_PER_YEAR
from ..core.enums import Relation
from ..common.files import atomic_write
from .labels import event_words
from .map_image import MapPainter
from ..core.palette import GROUP_PALETTE as PALETTE  # noqa: F401 (re-exported)
from ..core.palette import (
    INK,
    NO_ONE_COLOUR,
    RELATION_COLOURS,
    RELATION_LABELS,
    STATE_COLOUR,
    tint,
    to_hex,
)
from ..core.palette import group_colours as palette_group_colours

if TYPE_CHECKING:  # pragma: no cover
    from ..core.record import RunResult
    from .stats import KaplanMeier, PowerLawFit

#: colour of cells held by no one (sim.core.palette)
NONE_COLOUR = NO_ONE_COLOUR
#: a sequential colour map for conditions (ordered parameter values): colour-blind safe
CONDITION_CMAP = "cividis"
#: a diverging-free sequential map for heatmaps of outcomes
HEATMAP_CMAP = "viridis"
#: figure sizes in inches: a single chart (fits a paper column pair and a 16:9 slide), the
#: dashboard and a wide strip of maps
SIZE_CHART = (7.5, 4.2)
SIZE_DASHBOARD = (16.0, 10.0)
DPI = 150

_RC = {
    "font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
    "xtick.labelsize": 9, "ytick.labelsize": 9, "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "grid.color": "#e6e6e6",
    "grid.linewidth": 0.6, "axes.axisbelow": True, "legend.frameon": True,
    "legend.framealpha": 0.85,
    "legend.edgecolor": "none",
    "figure.facecolor": "white", "axes.facecolor": "white", "savefig.facecolor": "white",
    "svg.fonttype": "none", "axes.titleweight": "bold", "axes.titlelocation": "left",
}


# =============================================================================================
# Figure helpers
# =============================================================================================
@contextmanager
def style():
    """The charts' style, applied only inside the ``with`` block (no global rcParams change)."""
    with matplotlib.rc_context(_RC):
        yield


def new_figure(figsize: tuple[float, float] = SIZE_CHART, **kwargs: Any) -> Figure:
    """A Figure on its own Agg canvas (never registered with pyplot)."""
    fig = Figure(figsize=figsize, **kwargs)
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: str | os.PathLike, formats: Sequence[str] = ("png",),
         dpi: int = DPI) -> list[Path]:
    """Write ``fig`` as ``path`` with each suffix in ``formats``; returns the files written.

    ``path`` is taken without a suffix (``out/fighters`` -> ``out/fighters.png``). Files are
    written under a temporary name and renamed, so a crash never leaves half a file.
    """
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for fmt in formats:
        target = base.with_name(f"{base.name}.{fmt}")
        atomic_write(target, lambda tmp, fmt=fmt: fig.savefig(
            tmp, format=fmt, dpi=dpi, bbox_inches="tight", metadata=_metadata(fmt)),
            durable=False)
        out.append(target)
    return out


def _metadata(fmt: str) -> dict[str, Any] | None:
    if fmt == "png":
        return {"Software": "militant-sim"}
    if fmt == "svg":
        return {"Date": None}  # reproducible SVG files
    return None


class TimeAxis:
    """Weeks shown in years when a run is two years or longer, otherwise in weeks."""

    def __init__(self, total_weeks: float, unit: str | None = None):
        self.unit = unit or ("years" if total_weeks >= 104 else "weeks")
        self.scale = WEEKS_PER_YEAR if self.unit == "years" else 1.0
        self.label = f"time ({self.unit})"

    def __call__(self, weeks: Any) -> np.ndarray:
        return np.asarray(weeks, dtype=float) / self.scale

    def describe(self, week: float) -> str:
        """``week 52 (year 1.0)``: a moment in words, for titles."""
        if self.unit == "years":
            return f"week {int(week)} (year {week / WEEKS_PER_YEAR:.1f})"
        return f"week {int(week)}"


def group_colours(summary: dict[str, Any]) -> dict[str, str]:
    """Group name -> colour, from the run's summary (palette order as a fallback)."""
    return palette_group_colours(list(summary.get("groups", {})), summary.get("group_colours"))


def thousands(x: float, _pos: Any = None) -> str:
    if abs(x) >= 10_000:
        return f"{x / 1000:.0f}k"
    if abs(x) >= 1000:
        return f"{x / 1000:.1f}k"
    return f"{x:.0f}" if float(x).is_integer() else f"{x:g}"


def _lighten(colour: str, amount: float) -> tuple[float, float, float]:
    r, g, b = to_rgb(colour)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def _rolling(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average that keeps the series' length (shorter windows at the ends)."""
    s = pd.Series(np.asarray(values, dtype=float))
    return s.rolling(window, center=True, min_periods=1).mean().to_numpy()


def _smoothing_window(n_weeks: int) -> int:
    """Weeks averaged in smoothed weekly series: about a month, more on long runs."""
    return int(max(4, min(13, round(n_weeks / 40))))


# =============================================================================================
# Control maps
# =============================================================================================
def control_cmap(colours: dict[str, str], lighten: float = 0.0) -> tuple[ListedColormap,
                                                                         BoundaryNorm]:
    """Colour map for control codes (-2 state, -1 no one, g >= 0 a group), shifted by +2."""
    cols = [STATE_COLOUR, NONE_COLOUR] + list(colours.values())
    if lighten:
        cols = [to_rgb(STATE_COLOUR), to_rgb(NONE_COLOUR)] + [
            _lighten(c, lighten) for c in colours.values()]
    cmap = ListedColormap(cols)
    norm = BoundaryNorm(np.arange(len(cols) + 1) - 0.5, len(cols))
    return cmap, norm


def zone_outline(mask: np.ndarray) -> list[list[tuple[float, float]]]:
    """Edge segments around the cells of a (H, W) boolean mask, in cell coordinates."""
    H, W = mask.shape
    padded = np.zeros((H + 2, W + 2), dtype=bool)
    padded[1:-1, 1:-1] = mask
    segs: list[list[tuple[float, float]]] = []
    ys, xs = np.nonzero(mask)
    for y, x in zip(ys, xs):
        py, px = y + 1, x + 1
        if not padded[py - 1, px]:
            segs.append([(x - 0.5, y - 0.5), (x + 0.5, y - 0.5)])
        if not padded[py + 1, px]:
            segs.append([(x - 0.5, y + 0.5), (x + 0.5, y + 0.5)])
        if not padded[py, px - 1]:
            segs.append([(x - 0.5, y - 0.5), (x - 0.5, y + 0.5)])
        if not padded[py, px + 1]:
            segs.append([(x + 0.5, y - 0.5), (x + 0.5, y + 0.5)])
    return segs


def _zone_masks(zones: dict[str, Any] | None, n_cells: int) -> dict[str, np.ndarray]:
    out = {}
    for name, cells in (zones or {}).items():
        cells = np.asarray(cells)
        if cells.dtype == bool:
            out[name] = cells.reshape(-1)
        else:
            mask = np.zeros(n_cells, dtype=bool)
            mask[cells.astype(int)] = True
            out[name] = mask
    return out


def map_painter(width: int, height: int, colours: dict[str, str],
                zones: dict[str, Any] | None = None, full_dot: float | None = None,
                pixels: int = 480) -> MapPainter:
    """The app's map painter for a figure (zone names are drawn as text, not in the image)."""
    return MapPainter(width, height, list(colours.values()), _zone_masks(zones, width * height),
                      pixels=pixels, labels=False, full_dot=full_dot)


def draw_control_map(ax, control: np.ndarray, width: int, height: int,
                     colours: dict[str, str], *, zones: dict[str, list[int]] | None = None,
                     ungoverned: np.ndarray | None = None, title: str | None = None,
                     lighten: float = 0.0, zone_labels: bool = True,
                     presence: np.ndarray | None = None,
                     painter: MapPainter | None = None):
    """Draw one control map (owner per cell, shape (C,) or (H, W)) on ``ax``: the picture of
    the teaching app (:class:`sim.analysis.map_image.MapPainter`): who holds each cell, ungoverned
    cells (``ungoverned``, (C,) booleans) hatched, fighters (``presence``, (G, C)) as dots,
    zones outlined and named. Returns the image artist. (``lighten`` is kept for
    compatibility: group cells are always drawn as a light tint of the group's colour.)

    Cell (x, y) is drawn at x to the right and y upward (cell index c = y * width + x).
    """
    painter = painter or map_painter(width, height, colours, zones)
    img = painter.image(np.asarray(control).reshape(-1), ungoverned, presence)
    im = ax.imshow(img, origin="upper", interpolation="nearest",
                   extent=(-0.5, width - 0.5, -0.5, height - 0.5))
    if zone_labels:
        for name, x, y in painter.zone_label_positions():
            ax.text(x + 0.2, y - 0.2, name, fontsize=8, va="top", ha="left", color=INK,
                    bbox={"boxstyle": "square,pad=0.15", "fc": "white", "ec": "none",
                          "alpha": 0.9})
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(-0.5, height - 0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.set_aspect("equal")
    for sp in ax.spines.values():
        sp.set_visible(True)
        sp.set_color("#888888")
    if title:
        ax.set_title(title, fontsize=10, fontweight="normal", loc="center")
    return im


def map_legend_handles(colours: dict[str, str], zones: bool = False,
                       ungoverned: bool = False, fighters: bool = False) -> list[Any]:
    """Legend entries of the map, as the app's legend explains it."""
    handles: list[Any] = [Patch(fc=to_hex(tint(c)), ec="#666666", lw=0.5, label=f"held by {n}")
                          for n, c in colours.items()]
    handles += [Patch(fc=STATE_COLOUR, ec="#666666", lw=0.5, label="held by the state"),
                Patch(fc=NONE_COLOUR, ec="#666666", lw=0.5, label="held by no one")]
    if ungoverned:
        handles.append(Patch(fc="white", ec="#555555", lw=0.5, hatch="////",
                             label="ungoverned (hatched)"))
    if fighters:
        handles += [Line2D([], [], ls="", marker="o", ms=6, color=c, mec=INK, mew=0.6,
                           label=f"{n} fighters") for n, c in colours.items()]
    if zones:
        handles.append(Patch(fc="none", ec=INK, lw=1.5, label="zone"))
    return handles


def default_map_weeks(n_weeks: int, k: int = 4) -> list[int]:
    """``k`` evenly spaced weeks from 0 to ``n_weeks`` (start, thirds, end for k = 4)."""
    return sorted({int(round(i * n_weeks / (k - 1))) for i in range(k)})


def run_zones(result: RunResult) -> dict[str, np.ndarray]:
    """Zone name -> boolean mask over cells (C,), from the run's maps (or its summary)."""
    maps = result.maps or {}
    if "zones" in maps and "zone_names" in maps:
        names = [str(n) for n in np.atleast_1d(maps["zone_names"])]
        masks = np.asarray(maps["zones"], dtype=bool).reshape(len(names), -1)
        return dict(zip(names, masks))
    z = result.summary.get("zones")
    if isinstance(z, dict):
        w, h = _map_shape(result)
        out = {}
        for name, cells in z.items():
            mask = np.zeros(w * h, dtype=bool)
            mask[np.asarray(cells, dtype=int)] = True
            out[name] = mask
        return out
    return {}


def _ungoverned_at(result: RunResult, week: int) -> np.ndarray | None:
    ug = result.maps.get("ungoverned") if result.maps else None
    if ug is None or np.ndim(ug) != 2 or week >= len(ug):
        return None
    return np.asarray(ug[week], dtype=bool)


def _control_at(result: RunResult, week: int) -> np.ndarray:
    control = np.asarray(result.maps["control"])
    weeks = result.steps["week"].to_numpy()
    i = int(np.searchsorted(weeks, week))
    i = min(i, len(control) - 1)
    return control[i]


def _map_shape(result: RunResult) -> tuple[int, int]:
    s = result.summary
    w = int(s.get("width") or result.maps.get("width"))
    h = int(s.get("height") or result.maps.get("height"))
    return w, h


def _presence_at(result: RunResult, week: int) -> np.ndarray | None:
    """Fighters per group per cell at the last kept fighter map at or before ``week``."""
    maps = result.maps or {}
    fmaps = maps.get("fighters")
    mweeks = np.asarray(maps.get("map_weeks", []), dtype=int)
    if fmaps is None or np.ndim(fmaps) != 3 or not len(mweeks):
        return None
    i = max(0, int(np.searchsorted(mweeks, week, side="right")) - 1)
    return np.asarray(fmaps[i], dtype=np.float64)


def run_painter(result: RunResult, pixels: int = 480) -> MapPainter:
    """The map painter of a run: its world, its colours, and one dot size for all its maps
    (a full dot at the 99.5th percentile of fighters in a cell over the run)."""
    w, h = _map_shape(result)
    fmaps = np.asarray((result.maps or {}).get("fighters", np.zeros((0,))))
    nz = fmaps[fmaps > 0] if fmaps.size else np.zeros(0)
    full = max(1.0, float(np.quantile(nz, 0.995))) if len(nz) else 1.0
    return map_painter(w, h, group_colours(result.summary), run_zones(result), full_dot=full,
                       pixels=pixels)


def control_maps_figure(result: RunResult, weeks: Sequence[int] | None = None,
                        ncols: int | None = None) -> Figure:
    """Control maps of a run at ``weeks`` (default: start, one third, two thirds, end)."""
    n_weeks = int(result.steps["week"].iloc[-1])
    weeks = list(weeks) if weeks else default_map_weeks(n_weeks)
    colours = group_colours(result.summary)
    w, h = _map_shape(result)
    ta = TimeAxis(n_weeks)
    k = len(weeks)
    ncols = ncols or (min(k, 4) if w / h < 1.25 else min(k, 2))
    nrows = math.ceil(k / ncols)
    pw = 3.2 if ncols > 2 else 4.2
    ph = pw * h / w
    with style():
        fig = new_figure((pw * ncols + 1.8, (ph + 0.35) * nrows + 0.6))
        axes = fig.subplots(nrows, ncols, squeeze=False)
        painter = run_painter(result)
        for ax, wk in zip(axes.flat, weeks):
            ug = _ungoverned_at(result, wk)
            draw_control_map(ax, _control_at(result, wk), w, h, colours,
                             zones=run_zones(result), ungoverned=ug,
                             title=ta.describe(wk), presence=_presence_at(result, wk),
                             painter=painter)
        for ax in list(axes.flat)[k:]:
            ax.set_visible(False)
        fig.legend(handles=map_legend_handles(colours, bool(run_zones(result)),
                                              _ungoverned_at(result, 0) is not None,
                                              _presence_at(result, 0) is not None),
                   loc="center left", bbox_to_anchor=(1.0, 0.5), title="the map")
        fig.suptitle(f"Who controls each cell: {result.summary.get('scenario', '')}",
                     x=0.01, ha="left", fontweight="bold")
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight()))
    return fig


# =============================================================================================
# Time series of one run
# =============================================================================================
def _describe_timeline(detail: str) -> str:
    """Plain words for a scheduled event, from its ``detail`` (``start kind(a=1, ...)``), for
    a run whose scenario was not kept."""
    text = detail[len("start "):] if detail.startswith("start ") else detail
    kind, _, rest = text.partition("(")
    args: dict[str, str] = {}
    for part in rest.rstrip(")").split(", "):
        if "=" in part:
            k, v = part.split("=", 1)
            args[k.strip()] = v.strip().strip("[]'\"").replace("', '", ", ")
    if "targets" in args:
        args["targets"] = [t.strip() for t in args["targets"].split(",")]
    for k in ("until",):
        if args.get(k) in ("None", ""):
            args.pop(k)
    return event_words(kind, args)


def _timeline_marks(result: RunResult) -> list[tuple[int, str]]:
    """(week, plain words) of the scheduled scenario events that started after week 0: the
    event's ``note`` in the scenario when it has one (sim.analysis.labels)."""
    ev = result.events
    if ev is None or not len(ev) or "kind" not in ev:
        return []
    tl = ev[(ev["kind"] == "timeline") & ev["detail"].astype(str).str.startswith("start ")]
    raw = ((result.summary.get("provenance") or {}).get("resolved_scenario") or {}).get(
        "timeline") or []
    marks = []
    for wk, d in zip(tl["week"], tl["detail"]):
        if int(wk) <= 0:
            continue
        kind = str(d)[len("start "):].partition("(")[0]
        entry = next((e for e in raw if isinstance(e, dict) and e.get("week") == int(wk)
                      and e.get("event") == kind), None)
        if entry is not None:
            note = entry.get("note")
            marks.append((int(wk), note if note else event_words(kind, entry)))
        else:
            marks.append((int(wk), _describe_timeline(str(d))))
    return marks


def _mark_timeline(ax, marks: list[tuple[int, str]], ta: TimeAxis, numbers: bool = False):
    """Dotted vertical lines at scheduled events; ``numbers`` labels them 1, 2, ... on top."""
    last_x = -np.inf
    span = np.diff(ax.get_xlim())[0] if ax.get_xlim()[1] > ax.get_xlim()[0] else 1.0
    for i, (wk, _label) in enumerate(marks, 1):
        x = float(ta(wk))
        ax.axvline(x, color="#555555", lw=0.8, ls=":", zorder=1)
        if numbers:
            # shift labels of close events sideways so they do not overlap
            dx = 0 if x - last_x > 0.035 * span else 7
            ax.annotate(str(i), (x, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(dx, 1), textcoords="offset points", fontsize=7, va="bottom",
                        ha="center", color="#333333")
            last_x = x if dx == 0 else last_x


def plot_group_series(ax, result: RunResult, var: str, ta: TimeAxis, *,
                      smooth: int = 0, ylabel: str = "", extra: dict[str, tuple] | None = None):
    """One line per group of the steps column ``VAR.GROUP``; ``extra``: {label: (col, style)}."""
    steps = result.steps
    x = ta(steps["week"])
    for name, colour in group_colours(result.summary).items():
        col = group_col(var, name)
        if col not in steps:
            continue
        y = steps[col].to_numpy(dtype=float)
        if smooth > 1:
            y = _rolling(y, smooth)
        ax.plot(x, y, color=colour, lw=1.8, label=name)
    for label, (col, kw) in (extra or {}).items():
        if col in steps:
            ax.plot(x, steps[col].to_numpy(dtype=float), label=label, **kw)
    ax.set_xlabel(ta.label)
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_formatter(FuncFormatter(thousands))
    ax.set_xlim(x.min(), x.max())
    _headroom(ax)


def _headroom(ax, factor: float = 1.3) -> None:
    """Start the y axis at 0 and leave room above the data for a legend."""
    top = max((np.nanmax(np.asarray(l.get_ydata(), dtype=float)) for l in ax.get_lines()
               if len(l.get_ydata())), default=1.0)
    for p in ax.patches:
        top = max(top, p.get_height())
    ax.set_ylim(0, max(1.0, top) * factor)


def plot_clashes(ax, result: RunResult, ta: TimeAxis, window: int | None = None):
    steps = result.steps
    x = ta(steps["week"])
    y = steps["clashes"].to_numpy(dtype=float)
    window = window or _smoothing_window(len(y))
    ax.bar(x, y, width=(x[1] - x[0]) if len(x) > 1 else 1.0, color="#bdbdbd", lw=0,
           label="per week")
    ax.plot(x, _rolling(y, window), color="#222222", lw=1.6,
            label=f"{window}-week average")
    ax.set_xlabel(ta.label)
    ax.set_ylabel("clashes per week")
    ax.set_xlim(x.min(), x.max())
    _headroom(ax)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def plot_defections(ax, result: RunResult, ta: TimeAxis, window: int | None = None):
    """Fighters joining each group from another group, per week (smoothed)."""
    steps = result.steps
    window = window or _smoothing_window(len(steps))
    if not any(steps.get(group_col("defect_in", n), pd.Series([0])).sum() > 0
               for n in result.group_names):
        ax.text(0.5, 0.5, "no defections in this run", transform=ax.transAxes, ha="center",
                va="center", color="#666666")
    plot_group_series(ax, result, "defect_in", ta, smooth=window,
                      ylabel=f"defectors joining, per week\n({window}-week average)")


def relation_spans(states: np.ndarray, weeks: np.ndarray) -> list[tuple[int, float, float]]:
    """Runs of equal relation state: (state, start week, end week), the end exclusive."""
    states = np.asarray(states).astype(int)
    weeks = np.asarray(weeks, dtype=float)
    if not len(states):
        return []
    change = np.flatnonzero(np.diff(states)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(states)]])
    step = weeks[1] - weeks[0] if len(weeks) > 1 else 1.0
    return [(int(states[s]), float(weeks[s]), float(weeks[e - 1] + step))
            for s, e in zip(starts, ends)]


def plot_relations(ax, result: RunResult, ta: TimeAxis, *, legend: bool = True):
    """Relation state of each pair of groups as coloured bands over time."""
    steps = result.steps
    cols = [c for c in steps.columns if (pc := parse_col(c)).var == "relation" and pc.kind == "pair"]
    weeks = steps["week"].to_numpy()
    seen: set[int] = set()
    labels = []
    for i, col in enumerate(cols):
        for state, a, b in relation_spans(steps[col].to_numpy(), weeks):
            st = Relation(state) if state in Relation._value2member_map_ else Relation.RIVALRY
            seen.add(st)
            ax.broken_barh([(ta(a), ta(b) - ta(a))], (i - 0.38, 0.76),
                           facecolors=RELATION_COLOURS[st], edgecolor="none",
                           hatch="///" if st == Relation.ENDED else None)
        labels.append(" – ".join(split_pair(parse_col(col).subject)))
    # mergers and absorptions on their pair's row; leader deaths and destroyed groups on a
    # row of their own, in the group's colour
    ev = result.events
    colours = group_colours(result.summary)
    pair_names = [split_pair(parse_col(c).subject) for c in cols]
    if ev is not None and len(ev):
        for kind, sym in (("merger", "D"), ("pledge", "s")):
            for _, r in ev[ev["kind"] == kind].iterrows():
                for i, pn in enumerate(pair_names):
                    if r["group"] in pn and r["other"] in pn:
                        ax.plot(ta(r["week"]), i, marker=sym, color="black", ms=6, ls="",
                                zorder=5)
        group_ev = ev[ev["kind"].isin(["leader_killed", "group_destroyed"])]
        if len(group_ev):
            row = len(cols)
            for _, r in group_ev.iterrows():
                ax.plot(ta(r["week"]), row, ls="",
                        marker="v" if r["kind"] == "leader_killed" else "X", ms=8,
                        color=colours.get(r["group"], "black"), mec="black", mew=0.5,
                        zorder=5)
            cols = cols + ["group events"]
            labels.append("leader killed /\ngroup destroyed")
    ax.set_yticks(range(len(cols)))
    ax.set_yticklabels(labels)
    ax.set_ylim(-0.6, max(len(cols), 1) - 0.4)
    ax.invert_yaxis()
    ax.set_xlim(ta(weeks[0]), ta(weeks[-1]))
    ax.set_xlabel(ta.label)
    ax.grid(axis="y", visible=False)
    if not cols:
        ax.text(0.5, 0.5, "one group: no pairs", transform=ax.transAxes, ha="center",
                va="center", color="#666666")
    handles = [Patch(fc=RELATION_COLOURS[s], label=RELATION_LABELS[s],
                     hatch="///" if s == Relation.ENDED else None)
               for s in (Relation.RIVALRY, Relation.TRUCE, Relation.WAR, Relation.ENDED)
               if s in seen or s != Relation.ENDED]
    kinds = set(ev["kind"]) if ev is not None and len(ev) else set()
    for kind, sym, lab in (("merger", "D", "merger"), ("pledge", "s", "pledge"),
                           ("leader_killed", "v", "leader killed (group colour)"),
                           ("group_destroyed", "X", "group destroyed (group colour)")):
        if kind in kinds:
            handles.append(Line2D([], [], marker=sym, color="#777777", mec="black", mew=0.5,
                                  ls="", label=lab))
    if legend:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  fontsize=8, handlelength=1.2, title="relation", title_fontsize=8)
    return handles


def defection_matrix_figure(result: RunResult) -> Figure:
    """Total defections over the run as a from (rows) -> to (columns) heatmap with counts."""
    mat = result.defection_matrix()
    names = list(mat.index)
    values = mat.to_numpy(dtype=float)
    G = len(names)
    with style():
        fig = new_figure((1.6 + 1.1 * G, 1.2 + 0.9 * G))
        ax = fig.subplots()
        masked = np.ma.masked_where(np.eye(G, dtype=bool), values)
        vmax = max(1.0, float(values.max()))
        im = ax.imshow(masked, cmap="Blues", vmin=0, vmax=vmax)
        ax.grid(False)
        for i in range(G):
            for j in range(G):
                if i == j:
                    ax.text(j, i, "–", ha="center", va="center", color="#999999")
                    continue
                v = values[i, j]
                ax.text(j, i, f"{int(v):,}", ha="center", va="center",
                        color="white" if v > 0.6 * vmax else "black", fontsize=10)
        colours = group_colours(result.summary)
        ax.set_xticks(range(G), names, rotation=30, ha="right")
        ax.set_yticks(range(G), names)
        for lab in list(ax.get_xticklabels()) + list(ax.get_yticklabels()):
            lab.set_color(colours.get(lab.get_text(), "black"))
            lab.set_fontweight("bold")
        ax.set_xlabel("to (group joined)")
        ax.set_ylabel("from (group left)")
        ax.set_title("Defections over the run (fighters)")
        fig.colorbar(im, ax=ax, label="fighters", shrink=0.8)
        fig.tight_layout()
    return fig


def series_figure(result: RunResult, what: str) -> Figure:
    """A single time-series chart of a run: fighters, territory, clashes, defections or
    relations."""
    n_weeks = int(result.steps["week"].iloc[-1])
    ta = TimeAxis(n_weeks)
    marks = _timeline_marks(result)
    with style():
        fig = new_figure(SIZE_CHART if what != "relations" else
                         (SIZE_CHART[0], 1.6 + 0.45 * max(1, _n_pairs(result))))
        ax = fig.subplots()
        if what == "fighters":
            plot_group_series(ax, result, "fighters", ta, ylabel="fighters")
            ax.set_title("Fighters per group")
        elif what == "territory":
            plot_group_series(ax, result, "territory", ta, ylabel="cells held",
                              extra={"state": ("state_cells", {"color": STATE_COLOUR,
                                                               "lw": 1.4}),
                                     "ungoverned": ("ungoverned", {"color": "#222222",
                                                                   "lw": 1.2, "ls": "--"})})
            ax.set_title("Territory: cells held per group")
        elif what == "clashes":
            plot_clashes(ax, result, ta)
            ax.set_title("Clashes between groups")
        elif what == "defections":
            plot_defections(ax, result, ta)
            ax.set_title("Defections: fighters joining each group from a rival")
        elif what == "relations":
            plot_relations(ax, result, ta)
            ax.set_title("Relations between groups")
        else:
            raise ValueError(f"unknown series {what!r}; allowed: fighters, territory, "
                             "clashes, defections, relations")
        if what != "relations":
            _mark_timeline(ax, marks, ta, numbers=True)
            if marks:
                ax.set_title(ax.get_title(), pad=14)
            if marks:
                ax.text(0.0, -0.2, "scheduled events: " + "; ".join(
                    f"{i} {ta.describe(w)}: {lab}" for i, (w, lab) in enumerate(marks, 1)),
                    transform=ax.transAxes, fontsize=7, va="top", wrap=True)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.tight_layout()
    return fig


def _n_pairs(result: RunResult) -> int:
    return sum((pc := parse_col(c)).var == "relation" and pc.kind == "pair"
               for c in result.steps.columns)


# =============================================================================================
# The run dashboard
# =============================================================================================
def _summary_text(result: RunResult) -> str:
    s = result.summary
    lines = [f"scenario: {s.get('scenario', '?')}   seed: {s.get('seed', '?')}",
             f"weeks: {s.get('weeks', '?')}"]
    sets = run_overrides(result)
    if sets:
        lines.append("overrides (--set):")
        lines += [f"  {k}={v}"[:60] for k, v in sets.items()]
    lines.append("")
    lines.append("final fighters (peak territory, week)")
    for name, g in s.get("groups", {}).items():
        end = "" if g.get("exists_at_end", True) else "  (gone)"
        lines.append(f"  {name}: {g.get('final_fighters', 0):,}  "
                     f"({g.get('peak_territory', 0)} cells, wk {g.get('peak_territory_week', 0)})"
                     f"{end}")
    c = s.get("clashes", {})
    lines.append(f"clashes: {c.get('count', 0):,}  casualties: {c.get('casualties', 0):,}")
    truces = s.get("truces", [])
    if truces:
        done = [t["duration"] for t in truces if not t.get("censored")]
        lines.append(f"truces: {len(truces)} ({len(truces) - len(done)} still running at end)")
    else:
        lines.append("truces: none")
    for pair, d in s.get("net_defections", {}).items():
        a, b = split_pair(pair)
        lines.append(f"net defections {a}→{b}: {d.get(f'net {a}>{b}', 0):+,}")
    merg = s.get("mergers") or []
    if merg:
        lines.append(f"mergers/pledges: {len(merg)}")
    ld = s.get("leader_deaths") or []
    if ld:
        lines.append(f"leaders killed: {len(ld)}")
    marks = _timeline_marks(result)
    if marks:
        lines.append("")
        lines.append("scheduled events (dotted lines)")
        for i, (wk, label) in enumerate(marks, 1):
            lines.append(f" {i} wk {wk}: {label}"[:60])
    return "\n".join(lines)


def run_overrides(result: RunResult) -> dict[str, str]:
    """The ``--set`` overrides of a run, as text, from its provenance (empty if none)."""
    sets = ((result.summary.get("provenance") or {}).get("overrides")) or {}
    if not isinstance(sets, dict):
        return {}
    return {str(k): (f"{v:g}" if isinstance(v, float) else str(v)) for k, v in sets.items()}


def _finish_panel(ax, title: str, pad: float, marks, ta, numbers: bool = False) -> None:
    """A dashboard time-series panel's title, timeline marks and legend."""
    ax.set_title(title, pad=pad)
    _mark_timeline(ax, marks, ta, numbers=numbers)
    ax.legend(loc="upper left", fontsize=8, ncol=4, columnspacing=1.0, handlelength=1.5)


def dashboard(result: RunResult, path: str | os.PathLike | None = None,
              map_weeks: Sequence[int] | None = None, dpi: int = 120) -> Path | Figure:
    """The run at a glance: control maps at four moments and the main time series.

    Writes a PNG at ``path`` and returns the path (returns the Figure when ``path`` is None).
    """
    steps = result.steps
    n_weeks = int(steps["week"].iloc[-1])
    ta = TimeAxis(n_weeks)
    w, h = _map_shape(result)
    weeks = list(map_weeks) if map_weeks else default_map_weeks(n_weeks)
    marks = _timeline_marks(result)
    pad = 12 if marks else 6
    fig_w = SIZE_DASHBOARD[0]
    map_h = min(4.2, 0.93 * fig_w / (len(weeks) + 0.55) * h / w) + 0.35
    row_h = 2.75
    fig_h = map_h + 2 * row_h + 1.6
    with style():
        fig = new_figure((fig_w, fig_h))
        outer = fig.add_gridspec(3, 1, height_ratios=[map_h, row_h, row_h], hspace=0.36,
                                 left=0.05, right=0.985, top=1 - 0.7 / fig_h,
                                 bottom=0.55 / fig_h)
        _dashboard_maps(fig, outer[0], result, weeks, ta)
        _dashboard_series(fig, outer, result, ta, pad, marks)
        fig.suptitle(_dashboard_title(result), x=0.05, ha="left", fontsize=14,
                     fontweight="bold")
    if path is None:
        return fig
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fmt = out.suffix.lstrip(".") or "png"
    atomic_write(out, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi, metadata=_metadata(fmt)),
                 durable=False)
    return out


def _dashboard_maps(fig: Figure, cell, result: RunResult, weeks: Sequence[int], ta) -> None:
    """The dashboard's control maps at ``weeks`` and their legend, in gridspec ``cell``."""
    colours = group_colours(result.summary)
    w, h = _map_shape(result)
    zones = run_zones(result)
    has_ug = _ungoverned_at(result, 0) is not None
    maps = cell.subgridspec(1, len(weeks) + 1, wspace=0.06,
                                width_ratios=[1.0] * len(weeks) + [0.55])
    painter = run_painter(result)
    for i, wk in enumerate(weeks):
        ax = fig.add_subplot(maps[0, i])
        draw_control_map(ax, _control_at(result, wk), w, h, colours,
                         zones=zones, ungoverned=_ungoverned_at(result, wk),
                         title=ta.describe(wk), zone_labels=(i == 0),
                         presence=_presence_at(result, wk), painter=painter)
    lax = fig.add_subplot(maps[0, -1])
    lax.axis("off")
    lax.legend(handles=map_legend_handles(colours, bool(zones), has_ug,
                                          _presence_at(result, 0) is not None),
               loc="center left", title="the map", fontsize=8.5,
               title_fontsize=9, alignment="left")



def _dashboard_series(fig: Figure, outer, result: RunResult, ta, pad: int, marks) -> None:
    """The dashboard's six panels: fighters, territory, clashes, defections, relations and
    the summary text."""
    mid = outer[1].subgridspec(1, 3, wspace=0.28)
    low = outer[2].subgridspec(1, 3, wspace=0.28, width_ratios=[1.0, 1.0, 1.0])

    ax = fig.add_subplot(mid[0, 0])
    plot_group_series(ax, result, "fighters", ta, ylabel="fighters")
    _finish_panel(ax, "Fighters per group", pad, marks, ta, numbers=True)

    ax = fig.add_subplot(mid[0, 1])
    plot_group_series(ax, result, "territory", ta, ylabel="cells held",
                      extra={"state": ("state_cells", {"color": STATE_COLOUR, "lw": 1.4}),
                             "ungoverned": ("ungoverned", {"color": "#222222", "lw": 1.1,
                                                           "ls": "--"})})
    _finish_panel(ax, "Territory", pad, marks, ta)

    ax = fig.add_subplot(mid[0, 2])
    plot_clashes(ax, result, ta)
    _finish_panel(ax, "Clashes between groups", pad, marks, ta)

    ax = fig.add_subplot(low[0, 0])
    plot_defections(ax, result, ta)
    _finish_panel(ax, "Defections (into each group)", pad, marks, ta)

    ax = fig.add_subplot(low[0, 1])
    handles = plot_relations(ax, result, ta, legend=False)
    ax.set_title("Relations", pad=pad)
    _mark_timeline(ax, marks, ta)
    ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0),
              ncol=min(len(handles), 5), fontsize=7.5, handlelength=1.0,
              columnspacing=0.7, handletextpad=0.4, borderaxespad=0.2)

    ax = fig.add_subplot(low[0, 2])
    ax.axis("off")
    ax.text(-0.02, 1.1, _summary_text(result), va="top", ha="left", family="monospace",
            fontsize=8, transform=ax.transAxes, linespacing=1.25)



def _dashboard_title(result: RunResult) -> str:
    """The scenario, the length of the run and its ``--set`` overrides."""
    s = result.summary
    n_weeks = int(result.steps["week"].iloc[-1])
    title = f"{s.get('scenario', 'run')}: {n_weeks} weeks"
    if n_weeks >= 104:
        title += f" ({n_weeks / WEEKS_PER_YEAR:.1f} years)"
    sets = run_overrides(result)
    if sets:
        text = ", ".join(f"{k}={v}" for k, v in sets.items())
        title += "  ·  " + (text if len(text) <= 90 else text[:89] + "…")
    return title


# =============================================================================================
# Extra run charts
# =============================================================================================
def ccdf_figure(groups: dict[str, Any], fit: PowerLawFit | None = None, *,
                styles: dict[str, Any] | None = None, title: str = "Clash sizes",
                xlabel: str = "clash size (casualties, both sides)") -> Figure:
    """Log-log complementary cumulative distribution P(X >= x) of one or more samples, with
    the fitted power-law tail of the first (``fit``) as a dashed line."""
    from .stats import ccdf_points

    with style():
        fig = new_figure(SIZE_CHART)
        ax = fig.subplots()
        names = list(groups)
        for i, name in enumerate(names):
            x, p = ccdf_points(groups[name])
            if not len(x):
                continue
            sty = condition_style(i, len(names), name, styles)
            ax.plot(x, p, **{"marker": "o", "ms": 3, "lw": 0.9, **sty},
                    label=f"{name} (n = {int(np.sum(np.asarray(groups[name]) > 0)):,})",
                    drawstyle="steps-post" if len(x) > 60 else "default")
        if fit is not None and np.isfinite(fit.alpha):
            first = np.asarray(groups[names[0]], dtype=float)
            first = first[np.isfinite(first) & (first > 0)]
            share = fit.n_tail / max(1, len(first))
            xs = np.geomspace(fit.xmin, max(fit.xmin * 1.01, first.max()), 100)
            ax.plot(xs, share * fit.ccdf(xs), ls="--", color="#D55E00", lw=1.8,
                    label=f"power law, alpha = {fit.alpha:.2f} ± {fit.sigma:.2f}, "
                          f"x_min = {fit.xmin:g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log_ticks(ax.xaxis)
        _plain_log_ticks(ax.yaxis)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("P(size ≥ x)")
        ax.set_title(title)
        ax.grid(True, which="major")
        handles = ax.get_legend_handles_labels()[0]
        if len(handles) > 3:
            fig.set_size_inches(SIZE_CHART[0] + 4.0, SIZE_CHART[1])
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        elif handles:
            ax.legend(loc="lower left")
        else:
            ax.text(0.5, 0.5, "no clashes with casualties", transform=ax.transAxes,
                    ha="center", va="center", color="#666666")
        fig.tight_layout()
    return fig


def _plain_log_ticks(axis) -> None:
    """Label a log axis with plain numbers (1, 2, 5, 10, 0.01), not powers of ten."""
    from matplotlib.ticker import LogLocator, NullFormatter

    def fmt(v, _pos=None):
        return f"{v:g}" if v >= 1e-4 else f"{v:.0e}"

    lo, hi = axis.get_view_interval()
    axis.set_major_formatter(FuncFormatter(fmt))
    if lo > 0 and hi / lo < 150:  # less than about two decades: label 2 and 5 too
        axis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
        axis.set_minor_formatter(FuncFormatter(fmt))
    else:
        axis.set_minor_formatter(NullFormatter())


def survival_figure(curves: dict[str, KaplanMeier], *,
                    title: str = "How long truces last before breaking down",
                    xlabel: str = "truce duration (weeks)", styles: dict[str, Any] | None = None
                    ) -> Figure:
    """Kaplan-Meier survival curves (share of truces still holding) with pointwise 95% bands
    and a tick at each censored spell (a truce still running when its run ended, or ended
    without breaking down: see :func:`sim.analysis.stats.truce_breakdown`)."""
    with style():
        fig = new_figure(SIZE_CHART)
        ax = fig.subplots()
        names = list(curves)
        for i, name in enumerate(names):
            km = curves[name]
            if km.n == 0:
                continue
            sty = condition_style(i, len(names), name, styles)
            colour = sty["color"]
            t, s, lo, hi = km.steps()
            med = km.median()
            label = (f"{name}: {km.n} truces, {km.n - km.n_events} censored, median "
                     + (f"{med:g} wk" if np.isfinite(med) else "not reached"))
            ax.step(t, s, where="post", label=label, **{"lw": 1.8, **sty})
            ax.fill_between(t, lo, hi, step="post", color=colour, alpha=0.15, lw=0)
            cens = km.censored > 0
            if cens.any():
                ax.plot(km.time[cens], km.survival[cens], ls="", marker="|", ms=9, mew=1.5,
                        color=colour)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("share of truces not broken down")
        ax.set_title(title)
        handles, _ = ax.get_legend_handles_labels()
        if handles:
            handles.append(Line2D([], [], ls="", marker="|", ms=9, mew=1.5, color="#444444",
                                  label="censored (still holding at the end, or merged)"))
            if len(handles) > 2:
                fig.set_size_inches(SIZE_CHART[0] + 4.0, SIZE_CHART[1])
                ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                          fontsize=8)
            else:
                ax.legend(handles=handles, loc="upper right", fontsize=8)
        else:
            ax.text(0.5, 0.5, "no truces", transform=ax.transAxes, ha="center", va="center",
                    color="#666666")
        fig.tight_layout()
    return fig


# =============================================================================================
# Sweep charts
# =============================================================================================
def outcome_label(outcome: str, unit: str = "", width: int = 28) -> str:
    """An axis label for an outcome with its unit, broken over lines when long."""
    import textwrap

    unit_txt = f" ({unit})" if unit and unit != "-" else ""
    text = outcome + unit_txt
    if len(text) <= width:
        return text
    name, sep, arg = outcome.partition(":")
    if sep:
        return f"{name}:\n{arg}{unit_txt}"
    return "\n".join(textwrap.wrap(text, width))


def condition_style(i: int, n: int, label: str, styles: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
    """Line colour and style of condition ``i`` of ``n``: ``styles[label]`` when given (a
    colour, or a dict of line properties), else black for a single line, else the ordered,
    colour-blind-safe cividis map."""
    given = (styles or {}).get(label)
    if isinstance(given, dict):
        return {"color": "#222222", "ls": "-", **given}
    if given:
        return {"color": given, "ls": "-"}
    if n == 1:
        return {"color": "#222222", "ls": "-"}
    return {"color": matplotlib.colormaps[CONDITION_CMAP](i / max(1, n - 1) * 0.9), "ls": "-"}


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def outcome_vs_parameters_figure(runs: pd.DataFrame, outcome: str, params: Sequence[str], *,
                                 unit: str = "", title: str | None = None,
                                 max_levels: int = 12) -> Figure:
    """One panel per varied parameter: the outcome's replicate values (dots), their mean per
    value and its 95% confidence band (averaged over the other parameters)."""
    from .stats import group_mean_ci

    n = len(params)
    ncols = 2 if n == 4 else min(n, 3)
    nrows = math.ceil(n / ncols)
    with style():
        fig = new_figure((4.4 * ncols + 0.8, 3.3 * nrows + 1.1) if n > 1 else (7.0, 4.6))
        axes = fig.subplots(nrows, ncols, squeeze=False)
        ylab = outcome_label(outcome, unit)
        for ax, p in zip(axes.flat, params):
            d = runs[[p, outcome]].dropna(subset=[outcome])
            numeric = _is_numeric(d[p])
            levels = d[p].nunique()
            rng = np.random.default_rng(0)  # jitter only (deterministic)
            if numeric and levels > max_levels:
                ax.scatter(d[p], d[outcome], s=9, color="#0072B2", alpha=0.35, lw=0,
                           label="runs")
                bins = np.unique(np.quantile(d[p], np.linspace(0, 1, 9)))
                if len(bins) > 2:
                    d = d.assign(_bin=pd.cut(d[p], bins, include_lowest=True))
                    g = group_mean_ci(d, "_bin", outcome)
                    mids = np.array([iv.mid for iv in g["_bin"]])
                    ax.plot(mids, g["mean"], color="#222222", lw=1.8,
                            label="mean per bin")
                    ax.fill_between(mids, g["low"], g["high"], color="#222222", alpha=0.15,
                                    lw=0, label="95% CI")
            else:
                g = group_mean_ci(d, p, outcome)
                if numeric:
                    xs = g[p].to_numpy(dtype=float)
                    span = (xs.max() - xs.min()) if len(xs) > 1 else 1.0
                    jit = rng.uniform(-0.012, 0.012, len(d)) * span
                    xr = d[p].to_numpy(dtype=float) + jit
                else:
                    cats = list(g[p].astype(str))
                    pos = {c: i for i, c in enumerate(cats)}
                    xs = np.arange(len(cats), dtype=float)
                    xr = np.array([pos[str(v)] for v in d[p]]) + rng.uniform(-0.08, 0.08,
                                                                              len(d))
                    ax.set_xticks(xs, cats, rotation=20)
                ax.scatter(xr, d[outcome], s=10, color="#56B4E9", alpha=0.55, lw=0,
                           label="replicates")
                ax.fill_between(xs, g["low"], g["high"], color="#0072B2", alpha=0.18, lw=0,
                                label="95% CI of the mean")
                ax.plot(xs, g["mean"], color="#0072B2", lw=1.8, marker="o", ms=4,
                        label="mean")
            ax.set_xlabel(p)
            ax.set_ylabel(ylab)
        for ax in list(axes.flat)[n:]:
            ax.set_visible(False)
        handles, labels = axes.flat[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="lower center", ncol=len(handles),
                       bbox_to_anchor=(0.5, 0.0))
        fig.suptitle(title or f"{outcome} against each varied parameter", x=0.01, ha="left",
                     fontweight="bold")
        h_in = fig.get_figheight()
        fig.tight_layout(rect=(0, 0.4 / h_in, 1, 1 - 0.25 / h_in))
    return fig


def heatmap_figure(runs: pd.DataFrame, outcome: str, px: str, py: str, *, unit: str = "",
                   title: str | None = None) -> Figure:
    """Mean outcome over a two-parameter grid (averaged over replicates and any other
    parameter), each cell annotated with its mean and replicate count."""
    d = runs[[px, py, outcome]].dropna(subset=[outcome])
    mean = d.pivot_table(index=py, columns=px, values=outcome, aggfunc="mean")
    count = d.pivot_table(index=py, columns=px, values=outcome, aggfunc="count")
    mean = mean.sort_index().sort_index(axis=1)
    count = count.reindex_like(mean)
    with style():
        nx, ny = mean.shape[1], mean.shape[0]
        fig = new_figure((min(11, 2.4 + 0.95 * nx), min(8.5, 1.8 + 0.6 * ny)))
        ax = fig.subplots()
        vals = mean.to_numpy(dtype=float)
        im = ax.imshow(vals, cmap=HEATMAP_CMAP, origin="lower", aspect="auto")
        ax.grid(False)
        finite = vals[np.isfinite(vals)]
        mid = (finite.min() + finite.max()) / 2 if len(finite) else 0
        for i in range(ny):
            for j in range(nx):
                v = vals[i, j]
                if not np.isfinite(v):
                    continue
                ax.text(j, i, f"{_short(v)}\n(n={int(count.iloc[i, j])})", ha="center",
                        va="center", fontsize=7.5, color="white" if v < mid else "black")
        ax.set_xticks(range(nx), [_short(v) for v in mean.columns])
        ax.set_yticks(range(ny), [_short(v) for v in mean.index])
        ax.set_xlabel(px)
        ax.set_ylabel(py)
        fig.colorbar(im, ax=ax, label="mean " + outcome_label(outcome, unit))
        ax.set_title(title or f"mean {outcome}")
        fig.tight_layout()
    return fig


def _short(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return "nan"
        a = abs(v)
        if a == 0:
            return "0"
        if a >= 1000:
            return thousands(v)
        if float(v).is_integer():
            return f"{int(v)}"
        if a >= 10:
            return f"{v:.1f}"
        return f"{v:.3g}"
    return str(v)


def series_bands_figure(series: pd.DataFrame, column: str | Sequence[str],
                        conditions: dict[str, Sequence[int]] | None = None, *,
                        title: str | None = None, ylabel: str = "",
                        styles: dict[str, Any] | None = None,
                        clip: tuple[float, float] | None = None) -> Figure:
    """Time series as the mean over replicates with a 95% band, one line per condition.

    ``series``: rows (run_id, point_id, replicate, week, columns...). ``conditions``: label ->
    point ids pooled into that line (default: every run in one line). ``column`` may be a
    list: one panel per column.
    """
    from scipy import stats as sps

    cols = [column] if isinstance(column, str) else list(column)
    conditions = conditions or {"all runs": sorted(series["point_id"].unique())}
    n = len(cols)
    ncols = min(n, 3)
    nrows = math.ceil(n / ncols)
    weeks_max = float(series["week"].max()) if len(series) else 1.0
    ta = TimeAxis(weeks_max)
    labels = list(conditions)
    with style():
        fig = new_figure((4.4 * ncols + 0.6, 3.0 * nrows + 0.9) if n > 1 else SIZE_CHART)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax, col in zip(axes.flat, cols):
            for i, lab in enumerate(labels):
                sub = series[series["point_id"].isin(conditions[lab])]
                if col not in sub or not len(sub):
                    continue
                g = sub.groupby("week")[col].agg(["mean", "std", "count"])
                t = sps.t.ppf(0.975, np.maximum(1, g["count"] - 1))
                half = np.where(g["count"] > 1, t * g["std"] / np.sqrt(g["count"]), np.nan)
                sty = condition_style(i, len(labels), lab, styles)
                x = ta(g.index.to_numpy())
                lo, hi = g["mean"] - half, g["mean"] + half
                if clip is not None:
                    lo, hi = np.clip(lo, *clip), np.clip(hi, *clip)
                ax.plot(x, g["mean"], label=lab, **{"lw": 1.7, **sty})
                ax.fill_between(x, lo, hi, color=sty["color"], alpha=0.15, lw=0)
            ax.set_xlabel(ta.label)
            ax.set_ylabel(ylabel or col_var(col))
            ax.set_title(col, fontsize=10)
            ax.yaxis.set_major_formatter(FuncFormatter(thousands))
            ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
        for ax in list(axes.flat)[n:]:
            ax.set_visible(False)
        fig.suptitle(title or "Mean over replicates", x=0.01, ha="left", fontweight="bold")
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()))
        handles, labs = axes.flat[0].get_legend_handles_labels()
        if handles:
            handles.append(Patch(fc="#888888", alpha=0.3, label="95% CI of the mean"))
            fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 0.95),
                       fontsize=8, title="condition" if len(labels) > 1 else None,
                       title_fontsize=8)
    return fig


def sobol_figure(indices: pd.DataFrame, outcome: str) -> Figure:
    """First-order (S1) and total (ST) Sobol indices per parameter with confidence bars."""
    d = indices.sort_values("ST", ascending=True)
    y = np.arange(len(d))
    with style():
        fig = new_figure((SIZE_CHART[0], 1.4 + 0.45 * len(d)))
        ax = fig.subplots()
        h = 0.38
        ax.barh(y + h / 2, d["ST"], height=h, xerr=d["ST_conf"], color="#0072B2",
                label="total order (ST)", error_kw={"lw": 1, "capsize": 2})
        ax.barh(y - h / 2, d["S1"], height=h, xerr=d["S1_conf"], color="#E69F00",
                label="first order (S1)", error_kw={"lw": 1, "capsize": 2})
        ax.set_yticks(y, d["parameter"])
        ax.axvline(0, color="#444444", lw=0.8)
        ax.set_xlabel("Sobol index (share of output variance), with 95% CI")
        ax.set_title(f"Sensitivity of {outcome}")
        ax.legend(loc="lower right")
        ax.grid(axis="y", visible=False)
        fig.tight_layout()
    return fig


def morris_figure(indices: pd.DataFrame, outcome: str) -> Figure:
    """Morris screening: mu* (mean absolute elementary effect, with CI) against sigma."""
    with style():
        fig = new_figure(SIZE_CHART)
        ax = fig.subplots()
        ax.errorbar(indices["mu_star"], indices["sigma"], xerr=indices["mu_star_conf"],
                    ls="", marker="o", color="#0072B2", ecolor="#7fb2d9", capsize=2)
        for _, r in indices.iterrows():
            ax.annotate(r["parameter"], (r["mu_star"], r["sigma"]), xytext=(4, 3),
                        textcoords="offset points", fontsize=8)
        top = max(float(np.nanmax(indices[["mu_star", "sigma"]].to_numpy())), 1e-12) * 1.15
        ax.plot([0, top], [0, top], ls=":", color="#888888", lw=1,
                label="sigma = mu* (strongly non-linear or interacting above)")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_xlabel("mu* (mean |elementary effect|, outcome units), with 95% CI")
        ax.set_ylabel("sigma (spread of elementary effects)")
        ax.set_title(f"Morris screening of {outcome}")
        ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
    return fig


def hypothesis_figure(control: np.ndarray, treatment: np.ndarray, verdict: Any, *,
                      unit: str = "") -> Figure:
    """The replicate values of the outcome under control and treatment (dots), their means
    with 95% CIs, and the effect with its bootstrap CI against zero and the margins."""
    from .stats import mean_ci

    c = np.asarray(control, dtype=float)
    t = np.asarray(treatment, dtype=float)
    with style():
        fig = new_figure((9.0, 3.6))
        ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1.0]})
        rng = np.random.default_rng(0)
        for i, (lab, vals, col) in enumerate((("control", c, "#999999"),
                                              ("treatment", t, "#0072B2"))):
            v = vals[np.isfinite(vals)]
            ax.scatter(i + rng.uniform(-0.1, 0.1, len(v)), v, s=14, color=col, alpha=0.6,
                       lw=0)
            m, lo, hi, n = mean_ci(v)
            if np.isfinite(m):
                ax.errorbar(i + 0.25, m, yerr=[[m - lo], [hi - m]] if np.isfinite(lo) else None,
                            marker="D", color="black", capsize=4, ms=5)
        ax.set_xticks([0, 1], [f"control\n(n = {verdict.n_control})",
                               f"treatment\n(n = {verdict.n_treatment})"])
        ax.set_xlim(-0.5, 1.6)
        ax.set_ylabel(outcome_label(verdict.outcome, unit))
        ax.set_title("Replicates, mean and 95% CI")
        e = verdict.effect
        if np.isfinite(e):
            bx.errorbar([e], [0], xerr=[[e - verdict.ci_low], [verdict.ci_high - e]]
                        if np.isfinite(verdict.ci_low) else None, marker="o", color="black",
                        capsize=5, ms=7, lw=2)
        bx.axvline(0, color="#444444", lw=1)
        m_star = verdict.smallest_effect
        if np.isfinite(m_star) and m_star > 0:
            sides = {"greater": [m_star], "less": [-m_star]}.get(verdict.expect,
                                                                 [-m_star, m_star])
            for s in sides:
                bx.axvline(s, color="#D55E00", ls="--", lw=1.2)
            bx.plot([], [], color="#D55E00", ls="--",
                    label=f"smallest effect that matters ({m_star:.3g})")
            bx.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), fontsize=8)
        lims = [x for x in (verdict.ci_low, verdict.ci_high, 0.0, m_star, -m_star if
                            verdict.expect != "greater" else 0.0) if np.isfinite(x)]
        if lims:
            lo_, hi_ = min(lims), max(lims)
            pad = 0.15 * (hi_ - lo_ or 1.0)
            bx.set_xlim(lo_ - pad, hi_ + pad)
        bx.set_yticks([])
        bx.set_ylim(-1, 1)
        bx.set_xlabel("treatment − control" + (f" ({unit})" if unit and unit != "-" else ""))
        bx.set_title(f"Effect, 95% bootstrap CI: {verdict.verdict}")
        bx.grid(axis="y", visible=False)
        fig.suptitle(f"{verdict.id}: {verdict.outcome}", x=0.01, ha="left",
                     fontweight="bold")
        fig.tight_layout()
    return fig


# =============================================================================================
# Animation
# =============================================================================================
def animate(result: RunResult, path: str | os.PathLike, fps: int = 8, every: int | None = None,
            dpi: int = 90, max_frames: int = 300) -> Path:
    """Write a GIF (or an MP4 when ``path`` ends in .mp4 and ffmpeg is installed) of the
    control map with fighters (dots sized by the number of a group's fighters in a cell),
    week by week, beside the fighter counts so far.

    Frames are the weeks at which the run kept fighter maps (``maps["map_weeks"]``), thinned
    to every ``every``-th week (default: so that there are at most ``max_frames`` frames).
    """
    from matplotlib.animation import FFMpegWriter

    out = Path(path)
    fmt = out.suffix.lower().lstrip(".") or "gif"
    if fmt not in ("gif", "mp4"):
        raise ValueError(f"{out}: animations are written as .gif or .mp4")
    if fmt == "mp4" and shutil.which("ffmpeg") is None:
        raise RuntimeError("writing .mp4 needs ffmpeg, which is not installed; "
                           "write a .gif instead")
    fmaps, mweeks, frames = _animation_frames(result, every, max_frames)
    s = result.summary
    colours = group_colours(s)
    w, h = _map_shape(result)
    ta = TimeAxis(int(result.steps["week"].iloc[-1]))
    zones = run_zones(result)
    steps = result.steps
    painter = run_painter(result, pixels=400)
    with style():
        fig = new_figure((10.0, 5.4))
        gs = fig.add_gridspec(1, 2, width_ratios=[1.15, 1.0], wspace=0.25, left=0.03,
                              right=0.97, top=0.86, bottom=0.13)
        ax = fig.add_subplot(gs[0, 0])
        wk0 = int(mweeks[frames[0]])
        im = draw_control_map(ax, _control_at(result, wk0), w, h, colours, zones=zones,
                              ungoverned=_ungoverned_at(result, wk0), presence=fmaps[frames[0]],
                              painter=painter, zone_labels=True)
        x, lines, cursor = _fighters_panel(fig.add_subplot(gs[0, 1]), steps, colours, ta)
        handles = map_legend_handles(colours, bool(zones), _ungoverned_at(result, 0) is not None,
                                     fighters=True)
        fig.legend(handles=handles, loc="lower center", ncol=min(5, len(handles)),
                   fontsize=8, bbox_to_anchor=(0.5, 0.0))
        title = fig.suptitle("", x=0.03, ha="left", fontsize=13, fontweight="bold")
        weeks_arr = steps["week"].to_numpy()

        def update(i: int) -> None:
            wk = int(mweeks[i])
            im.set_data(painter.image(_control_at(result, wk), _ungoverned_at(result, wk),
                                      fmaps[i]))
            upto = weeks_arr <= wk
            for n, ln in lines.items():
                ln.set_data(x[upto], steps[group_col("fighters", n)].to_numpy()[upto])
            cursor.set_xdata([ta(wk), ta(wk)])
            when = f"week {wk}" + (f"  ·  year {wk / WEEKS_PER_YEAR:.1f}"
                                   if ta.unit == "years" else "")
            title.set_text(f"{s.get('scenario', 'run')}: {when}")

        out.parent.mkdir(parents=True, exist_ok=True)

        def write(tmp: Path) -> None:
            if fmt == "gif":
                overlay = [c for c in ax.collections if isinstance(c, LineCollection)]
                overlay += list(ax.texts)
                _write_gif_blit(fig, [im, *overlay, *lines.values(), cursor, title],
                                update, frames, tmp, fps, dpi)
            else:
                writer = FFMpegWriter(fps=fps, codec="libx264",
                                      extra_args=["-pix_fmt", "yuv420p"])
                with writer.saving(fig, str(tmp), dpi):
                    for i in frames:
                        update(i)
                        writer.grab_frame()

        atomic_write(out, write, durable=False, keep_suffix=True)
    return out


def _animation_frames(result: RunResult, every: int | None, max_frames: int):
    """The run's fighter maps, their weeks and the frames shown: (maps, weeks, indices of
    the frames), every ``every``-th week (default: at most ``max_frames`` frames)."""
    maps = result.maps or {}
    fmaps = np.asarray(maps.get("fighters", np.zeros((0,))))
    mweeks = np.asarray(maps.get("map_weeks", []), dtype=int)
    if fmaps.ndim != 3 or not len(mweeks):
        raise ValueError("this run kept no fighter maps (maps.npz 'fighters', 'map_weeks')")
    n_weeks = int(result.steps["week"].iloc[-1])
    if every is None:
        step_weeks = int(mweeks[1] - mweeks[0]) if len(mweeks) > 1 else 1
        every = max(step_weeks, int(math.ceil((n_weeks + 1) / max_frames)))
    frames = [i for i, wk in enumerate(mweeks) if wk % every == 0 or i == len(mweeks) - 1]
    return fmaps, mweeks, frames


def _fighters_panel(bx, steps: pd.DataFrame, colours: dict[str, str], ta):
    """The animation's fighter counts: each group's whole series faint, the lines drawn so far
    (empty at first) and the cursor: (time axis values, lines, cursor)."""
    names = list(colours)
    x = ta(steps["week"])
    lines = {}
    for n in names:
        col = group_col("fighters", n)
        if col in steps:
            bx.plot(x, steps[col], color=colours[n], lw=0.8, alpha=0.25)
            lines[n], = bx.plot([], [], color=colours[n], lw=2.0, label=n)
    cursor = bx.axvline(0, color="#333333", lw=0.8)
    bx.set_xlim(x.min(), x.max())
    cols = [group_col("fighters", n) for n in names if group_col("fighters", n) in steps]
    bx.set_ylim(0, max(1.0, float(steps[cols].max().max())) * 1.1)
    bx.set_xlabel(ta.label)
    bx.set_ylabel("fighters")
    bx.yaxis.set_major_formatter(FuncFormatter(thousands))
    bx.set_title("Fighters per group")
    return x, lines, cursor


def _write_gif_blit(fig: Figure, artists: list[Any], update, frames: Sequence[int], path: Path,
                    fps: int, dpi: int) -> None:
    """Render the static part of ``fig`` once, then only the changing ``artists`` per frame
    (blitting), and write the frames as a looping GIF with Pillow."""
    from PIL import Image

    fig.set_dpi(dpi)
    canvas = fig.canvas
    for a in artists:
        a.set_animated(True)
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    images = []
    palette = None
    for k, i in enumerate(frames):
        update(i)
        canvas.restore_region(background)
        for a in artists:
            fig.draw_artist(a)
        rgb = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())
        if palette is None:
            # one palette for every frame, from the last frame (most colours on the map)
            update(frames[-1])
            canvas.restore_region(background)
            for a in artists:
                fig.draw_artist(a)
            last = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())
            both = Image.new("RGB", (rgb.width, rgb.height * 2))
            both.paste(rgb, (0, 0))
            both.paste(last, (0, rgb.height))
            palette = both.quantize(colors=96, method=Image.Quantize.MEDIANCUT,
                                    dither=Image.Dither.NONE)
        images.append(rgb.quantize(palette=palette, dither=Image.Dither.NONE))
    for a in artists:
        a.set_animated(False)
    duration = int(round(1000 / max(1, fps)))
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:],
                   duration=duration, loop=0, optimize=True, disposal=1)
