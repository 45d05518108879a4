"""The map, drawn one way for every picture: the teaching app, the run dashboard, the control
maps figure and the animation.

:class:`MapPainter` draws a control map as one raster image (numpy, then PNG or an RGB array
for matplotlib): each district (cell) in the colour of who holds it (a group a light tint of its
colour, the state grey, no one pale), ungoverned districts hatched, each group's fighters as a
dot per district whose area grows with their number, zones outlined (and, for the app, named).
The geometry is computed once per map; each picture costs a few array operations.

Colours come from :mod:`sim.core.palette`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..core.enums import STATE
from ..core.palette import (
    HATCH_DARKEN,
    INK,
    NO_ONE_COLOUR,
    STATE_COLOUR,
    rgb,
    tint,
    to_hex,
)

#: the map image is about this many pixels on its longer side
MAP_PIXELS = 640
#: ungoverned districts: diagonal hatching, one dark line every HATCH_PERIOD pixels (at 32
#: pixels a cell; scaled with the cell size)
HATCH_PERIOD = 7
HATCH_WIDTH = 2
#: smallest dot radius, so that a single fighter stays visible
DOT_MIN_RADIUS = 2.2
#: dots at least this large get a dark outline
DOT_EDGE_RADIUS = 3.0
#: zone names are drawn this high, as a share of the image's longer side (about 12 px on a
#: 360-pixel map on screen)
LABEL_SHARE = 0.034


class MapPainter:
    """Draws the control map of one world (its size, groups, colours and zones).

    Args:
        width, height: the map in cells.
        colours: one colour per group, in group order.
        zones: zone name -> boolean mask over cells (C,) (``all`` and whole-map zones are not
            outlined).
        pixels: about this many pixels on the image's longer side.
        labels: draw the zones' names into the image (the app); matplotlib figures draw them
            as text instead (:meth:`zone_label_positions`).
        full_dot: fighters in a district at which a group's dot fills its slot; default: it
            grows with the largest number seen, so dot sizes compare from week to week.

    The image's top row is the map's top (y = height - 1), as on a printed map. It is built as
    indices into a small palette, which keeps the PNG small and fast to encode.
    """

    def __init__(self, width: int, height: int, colours: Sequence[str],
                 zones: Mapping[str, np.ndarray] | None = None, pixels: int = MAP_PIXELS,
                 labels: bool = True, full_dot: float | None = None):
        W, H, G = int(width), int(height), len(colours)
        self.width, self.height, self.n_groups = W, H, G
        self.n_cells = W * H
        self.colours = list(colours)
        S = max(4, pixels // max(W, H))
        self.scale = S
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
        self.dot_key = self.dot_group * self.n_cells + cell_px.ravel()[self.dot_pixels]
        self.dot_dist = dist[self.dot_pixels]
        self.fixed_dot = full_dot is not None
        #: fighters in a district at which a group's dot fills its slot
        self.full_dot = float(full_dot) if full_dot else 1.0
        period = max(HATCH_PERIOD, int(round(HATCH_PERIOD * S / 32)))
        width_px = max(1, int(round(HATCH_WIDTH * period / HATCH_PERIOD)))
        self.hatch = ((xs + ys) % period) < width_px
        # the palette: fills (no one, state, groups), the same darkened (hatching), the groups'
        # own colours (dots), ink, white
        fills = [rgb(NO_ONE_COLOUR), rgb(STATE_COLOUR)] + [tint(c) for c in self.colours]
        self.n_fills = len(fills)
        self.dot_index = 2 * self.n_fills + np.arange(G, dtype=np.uint8)
        self.ink_index = 2 * self.n_fills + G
        self.white_index = self.ink_index + 1
        palette = (fills + [f * (1 - HATCH_DARKEN) for f in fills]
                   + [rgb(c) for c in self.colours] + [rgb(INK), rgb("#ffffff")])
        self.palette = np.array(palette).round().astype(np.uint8)
        self.zones = {k: np.asarray(v, dtype=bool).reshape(-1) for k, v in (zones or {}).items()
                      if k != "all" and not np.asarray(v, dtype=bool).all()}
        self._overlay(cell_px, labels)

    @classmethod
    def for_model(cls, model, pixels: int = MAP_PIXELS, labels: bool = True) -> MapPainter:
        """The painter of a running model's world."""
        return cls(model.width, model.height, model.group_colours, model.zones, pixels, labels)

    # -- geometry -----------------------------------------------------------------------------
    def _overlay(self, cell_px: np.ndarray, labels: bool) -> None:
        """Zone outlines and names, drawn once (palette index per pixel)."""
        S, W, H = self.scale, self.width, self.height
        ink = np.zeros((H * S, W * S), dtype=bool)
        self._label_at = []
        for name, mask in self.zones.items():
            m = mask[cell_px]
            inner = m.copy()
            for _ in range(max(2, S // 14)):  # two pixels wide, more on large cells
                p = np.pad(inner, 1, constant_values=False)
                inner = inner & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
            ink |= m & ~inner
            rows, cols = np.nonzero(m)
            self._label_at.append((name, int(cols.min()), int(rows.min())))
        # labels: black text without anti-aliasing on a white box ("L" image: 0 none,
        # 1 white, 2 ink)
        layer = Image.fromarray(np.where(ink, 2, 0).astype(np.uint8), "L")
        if labels:
            draw = ImageDraw.Draw(layer)
            draw.fontmode = "1"
            font = _font(max(10, int(round(LABEL_SHARE * max(W, H) * S))))
            for name, x0, y0 in self._label_at:
                at = (x0 + 5, y0 + 4)
                box = draw.textbbox(at, name, font=font)
                draw.rectangle((box[0] - 3, box[1] - 2, box[2] + 3, box[3] + 2), fill=1)
                draw.text(at, name, fill=2, font=font)
        lay = np.asarray(layer).ravel()
        self.overlay_pixels = np.flatnonzero(lay > 0)
        self.overlay_index = np.where(lay[self.overlay_pixels] == 2, self.ink_index,
                                      self.white_index).astype(np.uint8)

    def zone_label_positions(self) -> list[tuple[str, float, float]]:
        """(name, x, y) of each zone's label in cell coordinates (x right, y up; the top-left
        corner of the zone), for drawing the names as text over the image."""
        S, H = self.scale, self.height
        return [(name, x0 / S - 0.5, H - 0.5 - y0 / S) for name, x0, y0 in self._label_at]

    def _up(self, a: np.ndarray) -> np.ndarray:
        """Cell values (C,) -> pixels (height px, width px), top row first."""
        S = self.scale
        a = a.reshape(self.height, self.width)[::-1]
        return np.repeat(np.repeat(a, S, axis=0), S, axis=1)

    # -- pictures -----------------------------------------------------------------------------
    def fill_index(self, owner: np.ndarray) -> np.ndarray:
        """(C,) palette index of each district's fill, from its owner (-2 state, -1 no one,
        g a group)."""
        owner = np.asarray(owner).astype(np.int64).reshape(-1)
        idx = np.where(owner >= 0, owner + 2, np.where(owner == STATE, 1, 0))
        return idx.astype(np.uint8)

    def indices(self, owner: np.ndarray, ungoverned: np.ndarray | None = None,
                presence: np.ndarray | None = None) -> np.ndarray:
        """The map as palette indices, shape (height px, width px).

        ``owner`` (C,) control codes; ``ungoverned`` (C,) booleans (hatched); ``presence``
        (G, C) fighters per group per district (dots).
        """
        fill = self.fill_index(owner)
        if ungoverned is not None:
            fill_dark = np.where(np.asarray(ungoverned, dtype=bool).reshape(-1),
                                 fill + self.n_fills, fill).astype(np.uint8)
            img = np.where(self.hatch, self._up(fill_dark), self._up(fill))
        else:
            img = self._up(fill)
        flat = img.reshape(-1)
        if presence is not None and self.n_groups:
            pres = np.asarray(presence, dtype=np.float64).reshape(self.n_groups, -1)
            if pres.size and not self.fixed_dot:
                self.full_dot = max(self.full_dot, float(pres.max()))
            radius = self.max_radius * np.sqrt(np.minimum(pres / self.full_dot, 1.0))
            radius[pres > 0] = np.maximum(radius[pres > 0], DOT_MIN_RADIUS)
            r = np.take(radius.ravel(), self.dot_key)
            inside = self.dot_dist <= r
            edge = inside & (self.dot_dist > r - 1.1) & (r >= DOT_EDGE_RADIUS)
            flat[self.dot_pixels[inside]] = self.dot_index[self.dot_group[inside]]
            flat[self.dot_pixels[edge]] = self.ink_index
        flat[self.overlay_pixels] = self.overlay_index
        return img

    def image(self, owner, ungoverned=None, presence=None) -> np.ndarray:
        """The map as an (height px, width px, 3) uint8 RGB array."""
        return self.palette[self.indices(owner, ungoverned, presence)]

    def png(self, owner, ungoverned=None, presence=None) -> bytes:
        """The map as PNG bytes."""
        im = Image.fromarray(self.indices(owner, ungoverned, presence), "P")
        im.putpalette(self.palette.ravel().tolist())
        buf = io.BytesIO()
        im.save(buf, "PNG", compress_level=1)
        return buf.getvalue()

    # -- for a running model -----------------------------------------------------------------
    def model_png(self, model) -> bytes:
        return self.png(model.owner, model.ungoverned(), model.presence())

    def model_image(self, model) -> np.ndarray:
        return self.image(model.owner, model.ungoverned(), model.presence())

    def legend(self, names: Sequence[str]) -> list[tuple[str, str, str]]:
        """(kind, colour, label) entries explaining the map; kinds: fill, hatch, dot, zone,
        note."""
        pal = [to_hex(c) for c in self.palette]
        items = [("fill", pal[g + 2], f"held by {name}") for g, name in enumerate(names)]
        items += [("fill", pal[1], "by the state"), ("fill", pal[0], "by no one"),
                  ("hatch", pal[self.n_fills], "ungoverned (weak governance and security)")]
        items += [("dot", c, f"{name} fighters") for name, c in zip(names, self.colours)]
        if self.zones:
            items.append(("zone", INK, "zone"))
        items.append(("note", "", f"(a full dot: {int(round(self.full_dot))} fighters)"))
        return items


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # a Pillow without FreeType
        return ImageFont.load_default()
