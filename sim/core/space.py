"""The regional grid as numpy arrays: Moore neighbour tables and neighbourhood sums.

Cells are indexed flat, c = y * width + x; a layer is a vector of length width * height (or a
stack of them). The region is not a torus. The same neighbourhoods are available as Mesa
``discrete_space`` cells through ``model.grid`` (tested to agree).
"""

from __future__ import annotations

import numpy as np

from . import kernels


def moore_table(width: int, height: int) -> np.ndarray:
    """(C, 9) table: column 0 is the cell itself, columns 1-8 its Moore neighbours, -1 off-map."""
    xs = np.tile(np.arange(width), height)
    ys = np.repeat(np.arange(height), width)
    offsets = [(0, 0)] + [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if (dx, dy) != (0, 0)]
    out = np.full((width * height, 9), -1, dtype=np.int32)
    for k, (dx, dy) in enumerate(offsets):
        nx, ny = xs + dx, ys + dy
        ok = (nx >= 0) & (nx < width) & (ny >= 0) & (ny < height)
        out[ok, k] = ny[ok] * width + nx[ok]
    return out


def box_sum(layers: np.ndarray, width: int, height: int, radius: int) -> np.ndarray:
    """Sum of each layer over the Moore neighbourhood of radius ``radius`` (self included).

    ``layers`` has shape (C,) or (K, C); the result has the same shape. Cells outside the map
    count as zero. Uses a summed-area table of the zero-padded layers: O(C) whatever the radius
    (compiled: :func:`sim.core.kernels.box_sum`).
    """
    if radius <= 0:
        return layers.astype(np.float64, copy=True)
    single = layers.ndim == 1
    a = np.ascontiguousarray(np.atleast_2d(layers).reshape(-1, width * height), dtype=np.float64)
    out = kernels.box_sum(a, width, height, radius)
    return out[0] if single else out
