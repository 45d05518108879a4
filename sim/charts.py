"""Charts of runs and sweeps: the run dashboard, report figures and the teaching animation.

Every chart is drawn on its own :class:`matplotlib.figure.Figure` with the Agg canvas (no
``pyplot`` global state), labels time in weeks or years, and colours groups with the run's
``summary["group_colours"]`` (the colour-blind-safe Okabe-Ito palette), the state in
:data:`sim.scenario.STATE_COLOUR` and cells held by no one in :data:`NONE_COLOUR`.

Run charts take a :class:`sim.record.RunResult`; sweep charts take the tables of a sweep
folder (see ``docs/REPORTS.md``). Functions named ``*_figure`` return a Figure; ``save``
writes it as PNG (and SVG) files.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterable, Sequence
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

from .enums import Relation
from .scenario import PALETTE, STATE_COLOUR

if TYPE_CHECKING:  # pragma: no cover
    from .record import RunResult
    from .stats import KaplanMeier, PowerLawFit

#: colour of cells held by no one
NONE_COLOUR = "#f3f0e8"
#: colours of relation states in timelines (distinct from the group palette, safe for
#: red-green colour blindness: grey, light blue, dark red, dark grey)
RELATION_COLOURS = {Relation.RIVALRY: "#d4d4d4", Relation.TRUCE: "#8cc3e6",
                    Relation.WAR: "#a3122a", Relation.ENDED: "#4d4d4d"}
RELATION_LABELS = {Relation.RIVALRY: "rivalry", Relation.TRUCE: "truce", Relation.WAR: "war",
                   Relation.ENDED: "ended (merged or destroyed)"}
#: a sequential colour map for conditions (ordered parameter values): colour-blind safe
CONDITION_CMAP = "cividis"
#: a diverging-free sequential map for heatmaps of outcomes
HEATMAP_CMAP = "viridis"
WEEKS_PER_YEAR = 52.0
#: figure sizes in inches: a single chart (fits a paper column pair and a 16:9 slide), the
#: dashboard and a wide strip of maps
SIZE_CHART = (7.5, 4.2)
SIZE_DASHBOARD = (16.0, 10.0)
DPI = 150

_RC = {
    "font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9,
    "xtick.labelsize": 9, "ytick.labelsize": 9, "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "grid.color": "#e6e6e6",
    "grid.linewidth": 0.6, "axes.axisbelow": True, "legend.frameon": True, "legend.framealpha": 0.85,
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

    Files are written under a temporary name and renamed, so a crash never leaves half a file.
    """
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for fmt in formats:
        target = base.with_suffix("." + fmt)
        tmp = target.with_name(f".{target.name}.tmp")
        fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight",
                    metadata=_metadata(fmt))
        os.replace(tmp, target)
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
    names = list(summary.get("groups", {}))
    given = summary.get("group_colours") or {}
    return {n: given.get(n, PALETTE[i % len(PALETTE)]) for i, n in enumerate(names)}


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


def draw_control_map(ax, control: np.ndarray, width: int, height: int,
                     colours: dict[str, str], *, zones: dict[str, list[int]] | None = None,
                     ungoverned: np.ndarray | None = None, title: str | None = None,
                     lighten: float = 0.0, zone_labels: bool = True):
    """Draw one control map (owner per cell, shape (C,) or (H, W)) on ``ax``.

    Cell (x, y) is drawn at x to the right and y upward (cell index c = y * width + x).
    ``ungoverned`` (optional (C,) booleans) hatches ungoverned cells; ``zones`` outlines the
    scenario's zones.
    """
    cmap, norm = control_cmap(colours, lighten)
    grid = np.asarray(control).reshape(height, width).astype(int) + 2
    im = ax.imshow(grid, cmap=cmap, norm=norm, origin="lower", interpolation="nearest",
                   extent=(-0.5, width - 0.5, -0.5, height - 0.5))
    if ungoverned is not None:
        ug = np.asarray(ungoverned, dtype=bool).reshape(height, width)
        ys, xs = np.nonzero(ug)
        ax.scatter(xs, ys, s=max(0.8, 0.15 * (180.0 / max(width, height)) ** 2), marker="x",
                   c="#333333", linewidths=0.45, alpha=0.45)
    if zones:
        for name, cells in zones.items():
            cells = np.asarray(cells)
            if cells.dtype == bool:
                mask = cells.reshape(-1)
                cells = np.flatnonzero(mask)
            else:
                mask = np.zeros(width * height, dtype=bool)
                mask[cells.astype(int)] = True
            segs = zone_outline(mask.reshape(height, width))
            ax.add_collection(LineCollection(segs, colors="#222222", linewidths=1.0,
                                             linestyles=(0, (3, 2)), alpha=0.8))
            if zone_labels and len(cells):
                ys, xs = np.divmod(np.asarray(cells), width)
                ax.text(xs.min() - 0.3, ys.max() + 0.3, name, fontsize=7, va="top",
                        ha="left", color="#222222",
                        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none",
                              "alpha": 0.7})
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(-0.5, height - 0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.set_aspect("equal")
    for s in ax.spines.values():
        s.set_visible(True)
        s.set_color("#888888")
    if title:
        ax.set_title(title, fontsize=10, fontweight="normal", loc="center")
    return im


def map_legend_handles(colours: dict[str, str], zones: bool = False,
                       ungoverned: bool = False) -> list[Any]:
    handles: list[Any] = [Patch(fc=c, ec="#666666", lw=0.5, label=n)
                          for n, c in colours.items()]
    handles += [Patch(fc=STATE_COLOUR, ec="#666666", lw=0.5, label="state"),
                Patch(fc=NONE_COLOUR, ec="#666666", lw=0.5, label="no one")]
    if ungoverned:
        handles.append(Line2D([], [], marker="x", ls="", color="#333333", label="ungoverned"))
    if zones:
        handles.append(Line2D([], [], color="#222222", ls=(0, (3, 2)), lw=1.0, label="zone"))
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


def control_maps_figure(result: RunResult, weeks: Sequence[int] | None = None,
                        ncols: int | None = None) -> Figure:
    """Control maps of a run at ``weeks`` (default: start, one third, two thirds, end)."""
    n_weeks = int(result.steps["week"].iloc[-1])
    weeks = list(weeks) if weeks else default_map_weeks(n_weeks)
    colours = group_colours(result.summary)
    w, h = _map_shape(result)
    ta = TimeAxis(n_weeks)
    k = len(weeks)
    ncols = ncols or min(k, 4)
    nrows = math.ceil(k / ncols)
    panel = 3.2
    with style():
        fig = new_figure((panel * ncols * max(1.0, w / h) + 1.6, panel * nrows + 0.6))
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax, wk in zip(axes.flat, weeks):
            ug = _ungoverned_at(result, wk)
            draw_control_map(ax, _control_at(result, wk), w, h, colours,
                             zones=run_zones(result), ungoverned=ug,
                             title=ta.describe(wk))
        for ax in list(axes.flat)[k:]:
            ax.set_visible(False)
        fig.legend(handles=map_legend_handles(colours, bool(run_zones(result)),
                                              _ungoverned_at(result, 0) is not None),
                   loc="center left", bbox_to_anchor=(1.0, 0.5), title="control")
        fig.suptitle(f"Who controls each cell: {result.summary.get('scenario', '')}",
                     x=0.01, ha="left", fontweight="bold")
        fig.tight_layout()
    return fig


# =============================================================================================
# Time series of one run
# =============================================================================================
def _describe_timeline(detail: str) -> str:
    """A short phrase for a scheduled event, from its ``detail`` (``start kind(a=1, ...)``)."""
    text = detail[len("start "):] if detail.startswith("start ") else detail
    kind, _, rest = text.partition("(")
    args: dict[str, str] = {}
    for part in rest.rstrip(")").split(", "):
        if "=" in part:
            k, v = part.split("=", 1)
            args[k.strip()] = v.strip().strip("[]'\"").replace("', '", ", ")
    if kind == "set_group":
        return f"{args.get('group', '?')} {args.get('field', '?')} set to {args.get('value', '?')}"
    if kind == "intervention":
        return f"intervention in {args.get('zone', '?')} against {args.get('targets', '?')}"
    if kind == "leader_killed":
        return f"{args.get('group', '?')} leader killed"
    if kind == "restriction":
        return (f"{args.get('group', '?')} restricted in {args.get('zone', '?')}"
                f" (level {args.get('level', '?')})")
    if kind == "governance_programme":
        return f"governance programme in {args.get('zone', '?')}"
    return text.replace("_", " ")


def _timeline_marks(result: RunResult) -> list[tuple[int, str]]:
    """(week, short description) of scheduled scenario events starting after week 0."""
    ev = result.events
    if ev is None or not len(ev) or "kind" not in ev:
        return []
    tl = ev[(ev["kind"] == "timeline") & ev["detail"].astype(str).str.startswith("start ")]
    return [(int(wk), _describe_timeline(str(d))) for wk, d in zip(tl["week"], tl["detail"])
            if int(wk) > 0]


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
        col = f"{var}.{name}"
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
    if not any(steps.get(f"defect_in.{n}", pd.Series([0])).sum() > 0
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
    cols = [c for c in steps.columns if c.startswith("relation.")]
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
        labels.append(col.split(".", 1)[1].replace("|", " – "))
    # mergers, absorptions, leader deaths and destroyed groups as markers
    ev = result.events
    if ev is not None and len(ev):
        marks = ev[ev["kind"].isin(["merger", "absorption", "leader_killed", "group_destroyed",
                                    "truce_broken"])]
        for kind, sym in (("merger", "D"), ("absorption", "s"), ("leader_killed", "v"),
                          ("group_destroyed", "X")):
            sub = marks[marks["kind"] == kind]
            for _, r in sub.iterrows():
                rows = [i for i, c in enumerate(cols)
                        if r["group"] in c.split(".", 1)[1].split("|")
                        and (not r["other"] or r["other"] in c.split(".", 1)[1].split("|"))]
                for i in rows:
                    ax.plot(ta(r["week"]), i, marker=sym, color="black", ms=5, ls="",
                            zorder=5)
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
    for kind, sym, lab in (("merger", "D", "merger"), ("absorption", "s", "absorption"),
                           ("leader_killed", "v", "leader killed"),
                           ("group_destroyed", "X", "group destroyed")):
        if kind in kinds:
            handles.append(Line2D([], [], marker=sym, color="black", ls="", label=lab))
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
                ax.text(0.0, -0.2, "scheduled events: " + "; ".join(
                    f"{i} {ta.describe(w)}: {lab}" for i, (w, lab) in enumerate(marks, 1)),
                    transform=ax.transAxes, fontsize=7, va="top", wrap=True)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.tight_layout()
    return fig


def _n_pairs(result: RunResult) -> int:
    return sum(c.startswith("relation.") for c in result.steps.columns)


# =============================================================================================
# The run dashboard
# =============================================================================================
def _summary_text(result: RunResult) -> str:
    s = result.summary
    lines = [f"scenario: {s.get('scenario', '?')}   seed: {s.get('seed', '?')}",
             f"weeks: {s.get('weeks', '?')}"]
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
        a, b = pair.split("|")
        lines.append(f"net defections {a}→{b}: {d.get(f'net {a}>{b}', 0):+,}")
    merg = s.get("mergers") or []
    if merg:
        lines.append(f"mergers/absorptions: {len(merg)}")
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


def dashboard(result: RunResult, path: str | os.PathLike | None = None,
              map_weeks: Sequence[int] | None = None, dpi: int = 120) -> Path | Figure:
    """The run at a glance: control maps at four moments and the main time series.

    Writes a PNG at ``path`` and returns the path (returns the Figure when ``path`` is None).
    """
    s = result.summary
    steps = result.steps
    n_weeks = int(steps["week"].iloc[-1])
    ta = TimeAxis(n_weeks)
    colours = group_colours(s)
    w, h = _map_shape(result)
    weeks = list(map_weeks) if map_weeks else default_map_weeks(n_weeks)
    marks = _timeline_marks(result)
    has_ug = _ungoverned_at(result, 0) is not None
    zones = run_zones(result)
    fig_w = SIZE_DASHBOARD[0]
    map_h = min(4.2, 0.93 * fig_w / (len(weeks) + 0.55) * h / w) + 0.35
    row_h = 2.75
    fig_h = map_h + 2 * row_h + 1.6
    with style():
        fig = new_figure((fig_w, fig_h))
        outer = fig.add_gridspec(3, 1, height_ratios=[map_h, row_h, row_h], hspace=0.42,
                                 left=0.05, right=0.985, top=1 - 0.7 / fig_h,
                                 bottom=0.55 / fig_h)
        maps = outer[0].subgridspec(1, len(weeks) + 1, wspace=0.06,
                                    width_ratios=[1.0] * len(weeks) + [0.55])
        for i, wk in enumerate(weeks):
            ax = fig.add_subplot(maps[0, i])
            draw_control_map(ax, _control_at(result, wk), w, h, colours,
                             zones=zones, ungoverned=_ungoverned_at(result, wk),
                             title=ta.describe(wk), zone_labels=(i == 0))
        lax = fig.add_subplot(maps[0, -1])
        lax.axis("off")
        lax.legend(handles=map_legend_handles(colours, bool(zones), has_ug),
                   loc="center left", title="control of cells", fontsize=9,
                   title_fontsize=9, alignment="left")

        mid = outer[1].subgridspec(1, 3, wspace=0.28)
        low = outer[2].subgridspec(1, 3, wspace=0.28, width_ratios=[1.0, 1.0, 1.0])

        ax = fig.add_subplot(mid[0, 0])
        plot_group_series(ax, result, "fighters", ta, ylabel="fighters")
        ax.set_title("Fighters per group")
        _mark_timeline(ax, marks, ta, numbers=True)
        ax.legend(loc="upper left", fontsize=8, ncol=4, columnspacing=1.0,
                  handlelength=1.5)

        ax = fig.add_subplot(mid[0, 1])
        plot_group_series(ax, result, "territory", ta, ylabel="cells held",
                          extra={"state": ("state_cells", {"color": STATE_COLOUR, "lw": 1.4}),
                                 "ungoverned": ("ungoverned", {"color": "#222222", "lw": 1.1,
                                                               "ls": "--"})})
        ax.set_title("Territory")
        _mark_timeline(ax, marks, ta)
        ax.legend(loc="upper left", fontsize=8, ncol=4, columnspacing=1.0,
                  handlelength=1.5)

        ax = fig.add_subplot(mid[0, 2])
        plot_clashes(ax, result, ta)
        ax.set_title("Clashes between groups")
        _mark_timeline(ax, marks, ta)
        ax.legend(loc="upper left", fontsize=8, ncol=4, columnspacing=1.0,
                  handlelength=1.5)

        ax = fig.add_subplot(low[0, 0])
        plot_defections(ax, result, ta)
        ax.set_title("Defections (into each group)")
        _mark_timeline(ax, marks, ta)
        ax.legend(loc="upper left", fontsize=8, ncol=4, columnspacing=1.0,
                  handlelength=1.5)

        ax = fig.add_subplot(low[0, 1])
        handles = plot_relations(ax, result, ta, legend=False)
        ax.set_title("Relations")
        _mark_timeline(ax, marks, ta)
        ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0),
                  ncol=min(len(handles), 5), fontsize=7.5, handlelength=1.0,
                  columnspacing=0.7, handletextpad=0.4, borderaxespad=0.2)

        ax = fig.add_subplot(low[0, 2])
        ax.axis("off")
        ax.text(-0.02, 1.1, _summary_text(result), va="top", ha="left", family="monospace",
                fontsize=8, transform=ax.transAxes, linespacing=1.25)

        title = f"{s.get('scenario', 'run')}: {n_weeks} weeks"
        if n_weeks >= 104:
            title += f" ({n_weeks / WEEKS_PER_YEAR:.1f} years)"
        fig.suptitle(title, x=0.05, ha="left", fontsize=14, fontweight="bold")
    if path is None:
        return fig
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    fig.savefig(tmp, format=out.suffix.lstrip(".") or "png", dpi=dpi,
                metadata=_metadata(out.suffix.lstrip(".") or "png"))
    os.replace(tmp, out)
    return out
