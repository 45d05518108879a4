"""Run keys, seeds and point matching of a sweep.

A point of a design is named by the hash of its parameter values (:func:`point_key`); a run by
its point's key and its replicate (:func:`run_id`); and its seed is drawn from
``SeedSequence(master, spawn_key=(key, replicate))`` (:func:`run_seed`), so that a run's seed
does not depend on the order of the design or on the other points. :func:`match` is the one
matcher of points to a ``{parameter: value}`` table (a hypothesis' control or treatment), on
the design's points and on a sweep's runs alike.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

_DESIGN_STREAM = 0x5EED_DE51
_ENSEMBLE_STREAM = 0xE75E


def point_key(values: dict[str, Any], occurrence: int = 0) -> str:
    """A stable 16-hex-digit key of a point's parameter values.

    ``occurrence`` tells apart identical points of one design (a sampler may repeat a point);
    the first occurrence has the plain hash of the values.
    """
    items = sorted((str(k), _canonical(v)) for k, v in values.items())
    if occurrence:
        items.append(("#occurrence", occurrence))
    blob = json.dumps(items, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def run_seed(master: int, key: str, replicate: int) -> int:
    """The integer seed of a run: drawn from SeedSequence(master, spawn_key=(key, replicate)).

    It is what the model receives as ``rng=``, so ``militant-sim run SCENARIO --seed S --set
    ...`` reproduces the run.
    """
    ss = np.random.SeedSequence(int(master), spawn_key=(int(key, 16), int(replicate)))
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def run_id(key: str, replicate: int) -> str:
    return f"{key}-r{replicate:03d}"


def _canonical(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, (list, tuple)):
        return [_canonical(x) for x in v]
    return repr(v)


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.number)) and not isinstance(x, bool)


def design_seed(master: int) -> int:
    """The seed of the sampler (LHS, Sobol, Morris) of an experiment with this master seed."""
    ss = np.random.SeedSequence(int(master), spawn_key=(_DESIGN_STREAM,))
    return int(ss.generate_state(1, np.uint32)[0])


def ensemble_seed(master: int) -> int:
    """The seed of an experiment's ensemble draws (LHS, Sobol, posterior resampling)."""
    ss = np.random.SeedSequence(int(master), spawn_key=(_ENSEMBLE_STREAM,))
    return int(ss.generate_state(1, np.uint32)[0])


# ---------------------------------------------------------------------------------------------
# Matching points to a {parameter: value} table
# ---------------------------------------------------------------------------------------------
def match(columns: Mapping[str, Any], spec: Mapping[str, Any]) -> np.ndarray:
    """Which rows of ``columns`` (``{parameter: values}``, a DataFrame say) match ``spec``: a
    ``{"low", "high"}`` table is a closed range, a number matches numbers within a relative
    1e-9 (absolute 1e-12), anything else by equality. A parameter not in ``columns`` raises
    KeyError."""
    if hasattr(columns, "shape"):  # a DataFrame
        n = int(columns.shape[0])
    else:
        n = len(next(iter(columns.values()))) if len(columns) else 0
    mask = np.ones(n, dtype=bool)
    for k, v in spec.items():
        col = np.asarray(columns[k])
        if isinstance(v, Mapping) and ("low" in v or "high" in v):
            lo, hi = v.get("low", -np.inf), v.get("high", np.inf)
            mask &= (col >= lo) & (col <= hi)
        elif _is_number(v) and col.dtype.kind in "iuf":
            mask &= np.isclose(col.astype(float), float(v), rtol=1e-9, atol=1e-12)
        elif _is_number(v) and col.dtype == object:
            mask &= np.array([_is_number(x) and math.isclose(float(x), float(v), rel_tol=1e-9,
                                                              abs_tol=1e-12) for x in col],
                             dtype=bool)
        else:
            mask &= np.array([x == v for x in col], dtype=bool) if col.dtype == object \
                else (col == v)
    return mask


def match_points(points, spec: Mapping[str, Any]) -> list[int]:
    """Ids of the design's points (:class:`~sim.sweeps.design.Point`) whose values match
    ``spec`` (see :func:`match`)."""
    columns = {k: np.array([p.values.get(k) for p in points], dtype=object) for k in spec}
    ids = np.array([p.point_id for p in points])
    return [int(i) for i in ids[match(columns, spec)]] if len(points) else []
