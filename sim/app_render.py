"""What the teaching app shows, computed without a browser.

* :class:`MapPainter` draws the map as one raster image (numpy, then PNG): who holds each
  district (the state grey, no one light, a group a light tint of its colour), ungoverned
  districts hatched, fighters as one dot per group per district whose area grows with their
  number, zones outlined and named. One image per week, never thousands of separate markers.
* ``*_option`` functions build the live charts as ECharts options (plain dicts, drawn by the
  browser): fighters and territory per group, clashes and defections per week, the relation
  of each pair over time.
* :func:`monitors` gathers the numbers of the current week.

Colours: groups use ``model.group_colours`` (the scenario's or the colour-blind-safe palette),
the state ``sim.scenario.STATE_COLOUR``; the same everywhere in the app and in the charts of
``sim.charts``.
"""

from __future__ import annotations

import io
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .enums import Relation
from .record import WEEKS_PER_YEAR
from .scenario import STATE_COLOUR

if TYPE_CHECKING:  # pragma: no cover
    from .model import MilitantModel

#: the map image is about this many pixels on its longer side
MAP_PIXELS = 640
#: colour of a district held by no one
NO_ONE_COLOUR = "#f4f1e8"
#: a group's district is its colour mixed with this share of white
GROUP_TINT = 0.55
#: ungoverned districts: diagonal hatching, one dark line every HATCH_PERIOD pixels
HATCH_PERIOD = 7
HATCH_WIDTH = 2
HATCH_DARKEN = 0.45
#: outline of fighter dots and of zones
INK = "#1a1a1a"
#: smallest dot radius, so that a single fighter stays visible
DOT_MIN_RADIUS = 2.2
#: dots at least this large get a dark outline
DOT_EDGE_RADIUS = 3.0
#: colours of the relation states (Okabe & Ito 2008 where a hue is needed)
RELATION_COLOURS = {
    Relation.RIVALRY: "#c8c8c8",
    Relation.TRUCE: "#009E73",
    Relation.WAR: "#D55E00",
    Relation.ENDED: "#3a3a3a",
}
#: colour of clash bars and of the ungoverned-cells line
NEUTRAL_DARK = "#555555"


def rgb(colour: str) -> np.ndarray:
    """'#RRGGBB' -> float array of three values in [0, 255]."""
    c = colour.lstrip("#")
    return np.array([int(c[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def tint(colour: str, white: float = GROUP_TINT) -> np.ndarray:
    return rgb(colour) * (1 - white) + 255.0 * white


# ---------------------------------------------------------------------------------------------
# The map
# ---------------------------------------------------------------------------------------------
class MapPainter:
    """Draws one model's map; the geometry (pixels of each cell, dot slots, zone outlines) is
    computed once, each week costs a few array operations.

    The image is built as indices into a small palette (a few dozen colours), which keeps the
    PNG fast to encode. Its top row is the map's top (y = height - 1), as on a printed map.
    """

    def __init__(self, model: MilitantModel, pixels: int = MAP_PIXELS):
        W, H, G = model.width, model.height, model.n_groups
        S = max(4, pixels // max(W, H))
        self.scale, self.width, self.height, self.n_groups = S, W, H, G
        ys, xs = np.mgrid[0:H * S, 0:W * S]
        cell_px = ((H - 1) - ys // S) * W + xs // S
        # one slot per group inside each cell: quadrants for up to 4 groups (two groups on a
        # diagonal), a 3 x 3 grid for more
        n = 1 if G == 1 else 2 if G <= 4 else 3
        order = {1: [(0, 0)], 2: [(0, 0), (1, 1), (1, 0), (0, 1)],
                 3: [(i % 3, i // 3) for i in range(9)]}[n]
        slot_of = np.full((n, n), -1)
        for g in range(G):
            sx, sy = order[g]
            slot_of[sy, sx] = g
        u, v = (xs % S) + 0.5, (ys % S) + 0.5
        sub = S / n
        sx, sy = (u // sub).astype(int).clip(0, n - 1), (v // sub).astype(int).clip(0, n - 1)
        group_px = slot_of[sy, sx].ravel()
        dist = np.hypot(u - (sx + 0.5) * sub, v - (sy + 0.5) * sub).ravel()
        self.max_radius = sub / 2 - 0.75
        self.dot_pixels = np.flatnonzero((group_px >= 0) & (dist <= self.max_radius))
        self.dot_group = group_px[self.dot_pixels]
        self.dot_key = self.dot_group * model.n_cells + cell_px.ravel()[self.dot_pixels]
        self.dot_dist = dist[self.dot_pixels]
        #: fighters in a cell at which a group's dot fills its slot; it only grows during a
        #: run, so dot sizes can be compared from week to week
        self.full_dot = 1.0
        self.hatch = ((xs + ys) % HATCH_PERIOD) < HATCH_WIDTH
        # the palette: fills (no one, state, groups), the same darkened (hatching), the groups'
        # own colours (dots), ink, white
        fills = [rgb(NO_ONE_COLOUR), rgb(STATE_COLOUR)] + [tint(c) for c in model.group_colours]
        self.n_fills = len(fills)
        self.dot_index = 2 * self.n_fills + np.arange(G, dtype=np.uint8)
        self.ink_index = 2 * self.n_fills + G
        self.white_index = self.ink_index + 1
        palette = (fills + [f * (1 - HATCH_DARKEN) for f in fills]
                   + [rgb(c) for c in model.group_colours] + [rgb(INK), rgb("#ffffff")])
        self.palette = np.array(palette).round().astype(np.uint8)
        self._overlay(model, cell_px)

    def _overlay(self, model: MilitantModel, cell_px: np.ndarray) -> None:
        """Zone outlines and names, drawn once (palette index per pixel, -1 = none)."""
        S, W, H = self.scale, self.width, self.height
        ink = np.zeros((H * S, W * S), dtype=bool)
        labels = []
        for name, mask in model.zones.items():
            if name == "all" or mask.all():
                continue
            m = mask[cell_px]
            inner = m.copy()
            for _ in range(2):  # two pixels wide
                p = np.pad(inner, 1, constant_values=False)
                inner = inner & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
            ink |= m & ~inner
            rows, cols = np.nonzero(m)
            labels.append((name, int(cols.min()), int(rows.min())))
        # labels: black text without anti-aliasing on a white box ("L" image: 0 none,
        # 1 white, 2 ink)
        layer = Image.fromarray(np.where(ink, 2, 0).astype(np.uint8), "L")
        draw = ImageDraw.Draw(layer)
        draw.fontmode = "1"
        font = _font(max(10, min(16, int(S * 0.55))))
        for name, x0, y0 in labels:
            at = (x0 + 4, y0 + 3)
            box = draw.textbbox(at, name, font=font)
            draw.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill=1)
            draw.text(at, name, fill=2, font=font)
        lay = np.asarray(layer).ravel()
        self.overlay_pixels = np.flatnonzero(lay > 0)
        self.overlay_index = np.where(lay[self.overlay_pixels] == 2, self.ink_index,
                                      self.white_index).astype(np.uint8)

    def fill_index(self, model: MilitantModel) -> np.ndarray:
        """(C,) palette index of each district's fill, from its controller."""
        owner = model.owner.astype(np.int64)
        idx = np.where(owner >= 0, owner + 2, np.where(owner == model.state_code, 1, 0))
        return idx.astype(np.uint8)

    def _up(self, a: np.ndarray) -> np.ndarray:
        """Cell values (C,) -> pixels (height px, width px), top row first."""
        S = self.scale
        a = a.reshape(self.height, self.width)[::-1]
        return np.repeat(np.repeat(a, S, axis=0), S, axis=1)

    def indices(self, model: MilitantModel) -> np.ndarray:
        """The map now, as palette indices, shape (height px, width px)."""
        fill = self.fill_index(model)
        # ungoverned districts: hatched (their fill darkened on the hatch lines)
        fill_dark = np.where(model.ungoverned(), fill + self.n_fills, fill).astype(np.uint8)
        img = np.where(self.hatch, self._up(fill_dark), self._up(fill))
        flat = img.reshape(-1)
        # fighters: a dot per group per district, area proportional to their number
        pres = model.presence()
        if pres.size:
            self.full_dot = max(self.full_dot, float(pres.max()))
        radius = self.max_radius * np.sqrt(pres / self.full_dot)
        radius[pres > 0] = np.maximum(radius[pres > 0], DOT_MIN_RADIUS)
        r = np.take(radius.ravel(), self.dot_key)
        inside = self.dot_dist <= r
        edge = inside & (self.dot_dist > r - 1.1) & (r >= DOT_EDGE_RADIUS)
        flat[self.dot_pixels[inside]] = self.dot_index[self.dot_group[inside]]
        flat[self.dot_pixels[edge]] = self.ink_index
        # zones
        flat[self.overlay_pixels] = self.overlay_index
        return img

    def image(self, model: MilitantModel) -> np.ndarray:
        """The map now, as an (height px, width px, 3) uint8 RGB array."""
        return self.palette[self.indices(model)]

    def png(self, model: MilitantModel) -> bytes:
        """The map now, as PNG bytes."""
        im = Image.fromarray(self.indices(model), "P")
        im.putpalette(self.palette.ravel().tolist())
        buf = io.BytesIO()
        im.save(buf, "PNG", compress_level=1)
        return buf.getvalue()

    def legend(self, model: MilitantModel) -> list[tuple[str, str, str]]:
        """(kind, colour, label) entries explaining the map."""
        pal = [_hex(c) for c in self.palette]
        items = [("fill", pal[g + 2], f"held by {name}")
                 for g, name in enumerate(model.group_names)]
        items += [("fill", pal[1], "held by the state"), ("fill", pal[0], "held by no one"),
                  ("hatch", pal[self.n_fills], "ungoverned: weak governance and security")]
        items += [("dot", c, f"{name} fighters") for name, c in
                  zip(model.group_names, model.group_colours)]
        items.append(("zone", INK, "zone named in the scenario"))
        items.append(("note", "", f"a full dot: {int(round(self.full_dot))} fighters "
                                  "in one district"))
        return items


def _hex(c: np.ndarray) -> str:
    r, g, b = (int(round(v)) for v in c)
    return f"#{r:02x}{g:02x}{b:02x}"


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # a Pillow without FreeType
        return ImageFont.load_default()


_PAINTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def painter_for(model: MilitantModel) -> MapPainter:
    """The map painter of this model (made on first use, kept while the model lives)."""
    p = _PAINTERS.get(model)
    if p is None:
        p = _PAINTERS[model] = MapPainter(model)
    return p


# ---------------------------------------------------------------------------------------------
# The series of the run so far
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


def _points(x: np.ndarray, y: np.ndarray, digits: int | None = None) -> list[list[float]]:
    if digits is None:
        return np.column_stack([x, y]).tolist()
    return np.column_stack([x, np.round(y, digits)]).tolist()


def _x_max(model: MilitantModel) -> int:
    return int(max(model.p.steps, model.week))


def _base(model: MilitantModel, title: str, y_name: str) -> dict[str, Any]:
    return {
        "animation": False,
        "title": {"text": title, "left": "center", "top": 4, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 26, "type": "scroll", "itemGap": 8, "itemWidth": 18,
                   "textStyle": {"fontSize": 11}},
        "grid": {"left": 62, "right": 22, "top": 58, "bottom": 44},
        "xAxis": {"type": "value", "name": "time (weeks)", "nameLocation": "middle",
                  "nameGap": 28, "min": 0, "max": _x_max(model), "interval": _week_ticks(model)},
        "yAxis": {"type": "value", "name": y_name, "nameLocation": "middle", "nameGap": 46,
                  "min": 0},
        "series": [],
    }


def _week_ticks(model: MilitantModel) -> int:
    """Ticks every year (52 weeks), or every half year or quarter on short runs."""
    span = _x_max(model)
    for t in (52, 26, 13):
        if span / t >= 4:
            return t
    return max(1, span // 4)


def _line(name: str, colour: str, data, dashed: bool = False, y_axis: int = 0) -> dict:
    return {"type": "line", "name": name, "data": data, "showSymbol": False,
            "yAxisIndex": y_axis, "color": colour,
            "lineStyle": {"width": 2.5, "color": colour, "type": "dashed" if dashed else "solid"}}


def fighters_option(model: MilitantModel) -> dict[str, Any]:
    """Chart: fighters per group, each week."""
    opt = _base(model, "Fighters per group", "fighters")
    weeks = series(model, "week")
    for name, colour in zip(model.group_names, model.group_colours):
        opt["series"].append(_line(name, colour, _points(weeks, series(model, f"fighters.{name}"))))
    return opt


def territory_option(model: MilitantModel) -> dict[str, Any]:
    """Chart: districts held per group, with the ungoverned districts."""
    opt = _base(model, "Territory: districts held", "districts (cells)")
    weeks = series(model, "week")
    for name, colour in zip(model.group_names, model.group_colours):
        opt["series"].append(_line(name, colour,
                                   _points(weeks, series(model, f"territory.{name}"))))
    opt["series"].append(_line("ungoverned", NEUTRAL_DARK,
                               _points(weeks, series(model, "ungoverned")), dashed=True))
    return opt


#: at most this many directions of defection are drawn (the largest so far)
MAX_DEFECTION_LINES = 6


def violence_option(model: MilitantModel) -> dict[str, Any]:
    """Chart: clashes between groups per week (bars) and fighters defecting per week, by
    direction (lines in the colour of the group they join)."""
    opt = _base(model, "Clashes and defections per week", "clashes per week")
    opt["yAxis"] = [opt["yAxis"], {"type": "value", "name": "fighters defecting per week",
                                   "nameLocation": "middle", "nameGap": 40, "min": 0,
                                   "splitLine": {"show": False}}]
    opt["grid"]["right"] = 64
    weeks = series(model, "week")
    opt["series"].append({"type": "bar", "name": "clashes", "data": _points(weeks, series(
        model, "clashes")), "color": NEUTRAL_DARK, "barMaxWidth": 6, "yAxisIndex": 0})
    names = model.group_names
    dirs = []
    for a, src in enumerate(names):
        for b, dst in enumerate(names):
            if a != b:
                s = series(model, f"defect.{src}>{dst}")
                dirs.append((s.sum(), src, dst, b, s))
    dirs.sort(key=lambda d: -d[0])
    for _, src, dst, b, s in dirs[:MAX_DEFECTION_LINES]:
        opt["series"].append(_line(f"{src}\u2192{dst}", model.group_colours[b],
                                   _points(weeks, s), y_axis=1))
    return opt


def relations_option(model: MilitantModel) -> dict[str, Any]:
    """Chart: the relation of each pair of groups over time (rivalry, truce, war, ended)."""
    xmax = _x_max(model)
    names = model.group_names
    pairs = [(a, b) for a in range(len(names)) for b in range(a + 1, len(names))]
    labels = [f"{names[a]} \u2013 {names[b]}" for a, b in pairs]
    weeks = series(model, "week").astype(int)
    data = []
    for i, (a, b) in enumerate(pairs):
        rel = series(model, f"relation.{names[a]}|{names[b]}").astype(int)
        data += np.column_stack([weeks, np.full(len(weeks), i), rel]).tolist()
    tick = _week_ticks(model)
    return {
        "animation": False,
        "title": {"text": "Relation of each pair", "left": "center", "top": 4,
                  "textStyle": {"fontSize": 14}},
        "tooltip": {"show": False},
        "grid": {"left": 10, "right": 22, "top": 58, "bottom": 44, "containLabel": True},
        "xAxis": {"type": "category", "data": list(range(xmax + 1)), "name": "time (weeks)",
                  "nameLocation": "middle", "nameGap": 28,
                  "axisLabel": {"interval": tick - 1}, "axisTick": {"interval": tick - 1}},
        "yAxis": {"type": "category", "data": labels},
        "visualMap": {"type": "piecewise", "dimension": 2, "orient": "horizontal", "top": 26,
                      "left": "center", "pieces": [
                          {"value": int(r), "label": r.name.lower(), "color": c}
                          for r, c in RELATION_COLOURS.items()]},
        "series": [{"type": "heatmap", "name": "relation", "data": data,
                    "progressive": 0, "emphasis": {"disabled": True}}],
    }


CHARTS = {
    "fighters": fighters_option,
    "territory": territory_option,
    "violence": violence_option,
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
            relations.append({"pair": f"{names[a]} \u2013 {names[b]}",
                              "state": Relation(int(model.relation[a, b])).name.lower(),
                              "since": int(model.relation_since[a, b]),
                              "hostility": float(model.hostility[a, b])})
    upcoming = [ev for ev in model.spec.timeline if ev.week > model.week]
    active = [f"{e.kind} " + ", ".join(f"{k} {v}" for k, v in e.args.items() if v is not None)
              for e in model.active_effects]
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
        "clashes_this_week": int(t.clashes.sum() // 2),
        "defections_this_week": int(t.defections.sum()),
        "groups": groups,
        "relations": relations,
        "active": active,
        "next_event": (f"week {upcoming[0].week}: {upcoming[0].describe()}" if upcoming else ""),
        "problem": getattr(model, "seed_problem", ""),
    }


def render_all(model: MilitantModel) -> dict[str, Any]:
    """Everything the app draws for one week (used by the benchmark and the tests)."""
    with getattr(model, "lock", _NO_LOCK):
        out = {"map": painter_for(model).png(model), "monitors": monitors(model)}
        out.update({k: f(model) for k, f in CHARTS.items()})
    return out


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NO_LOCK = _NoLock()
