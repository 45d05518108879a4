"""The one palette of the project: the colours of groups, the state, cells held by no one,
ungoverned cells and relations, used by every picture (the teaching app, the run dashboard,
the animation, the report figures).

Groups take the colour-blind-safe palette of Okabe & Ito (2008) in scenario order, unless the
scenario gives a ``colour``. Relation colours are distinct from the group colours and safe for
red-green colour blindness: rivalry grey, truce light blue, war dark red, ended dark grey.

Everything here is plain data (hex strings) plus two helpers (:func:`rgb`, :func:`tint`), so
that matplotlib, Pillow and the browser's ECharts all draw the same colours.
"""

from __future__ import annotations

import numpy as np

from .enums import Relation

#: group colours, in scenario order (Okabe & Ito 2008)
GROUP_PALETTE = ["#E69F00", "#0072B2", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442",
                 "#000000"]
#: the state (its cells, its line in territory charts)
STATE_COLOUR = "#9a9a9a"
#: cells held by no one
NO_ONE_COLOUR = "#f3f0e8"
#: a group's cells on a map are its colour mixed with this share of white (the dots of its
#: fighters keep the full colour)
GROUP_TINT = 0.55
#: ungoverned cells are hatched: their fill darkened by this share on the hatch lines
HATCH_DARKEN = 0.45
#: outlines (fighter dots, zones), text on maps
INK = "#1a1a1a"
#: neutral series: clashes, ungoverned cells
NEUTRAL_DARK = "#555555"
#: the previous run, drawn behind the current one in the app, is this opaque
FADED_OPACITY = 0.35

#: relation states over time
RELATION_COLOURS = {
    Relation.RIVALRY: "#d4d4d4",
    Relation.TRUCE: "#8cc3e6",
    Relation.WAR: "#a3122a",
    Relation.ENDED: "#4d4d4d",
}
RELATION_LABELS = {
    Relation.RIVALRY: "rivalry",
    Relation.TRUCE: "truce",
    Relation.WAR: "war",
    Relation.ENDED: "ended (merged or destroyed)",
}


def group_colour(i: int) -> str:
    """The palette colour of the ``i``-th group (0-based)."""
    return GROUP_PALETTE[i % len(GROUP_PALETTE)]


def group_colours(names, given: dict[str, str] | None = None) -> dict[str, str]:
    """Group name -> colour: the colour ``given`` for it (a scenario's or a run's), else the
    palette colour of its place in ``names``."""
    given = given or {}
    return {n: given.get(n, group_colour(i)) for i, n in enumerate(names)}


def rgb(colour: str) -> np.ndarray:
    """A colour ('#RRGGBB', or any name matplotlib knows) -> three floats in [0, 255]."""
    c = colour.lstrip("#")
    if colour.startswith("#") and len(c) == 6:
        return np.array([int(c[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)
    from matplotlib.colors import to_rgb

    return np.array(to_rgb(colour), dtype=np.float64) * 255.0


def to_hex(c) -> str:
    """An RGB triple in [0, 255] -> '#rrggbb'."""
    r, g, b = (int(round(float(v))) for v in c)
    return f"#{r:02x}{g:02x}{b:02x}"


def tint(colour: str, white: float = GROUP_TINT) -> np.ndarray:
    """``colour`` mixed with ``white`` of white, as RGB in [0, 255]."""
    return rgb(colour) * (1 - white) + 255.0 * white
