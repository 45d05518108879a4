"""The one JSON converter of the project: numpy scalars and arrays become plain JSON values,
anything else its text (``json.dumps(..., default=jsonable)``), and helpers for the values
JSON has no room for (NaN and infinities)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def jsonable(x: Any) -> Any:
    """numpy scalars and arrays as plain JSON values, anything else as ``str(x)`` (for
    ``json.dumps(default=jsonable)``)."""
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def dumps(data: Any, **kw: Any) -> str:
    """``json.dumps`` with :func:`jsonable` for what JSON cannot hold."""
    return json.dumps(data, default=jsonable, **kw)


def plain(x: Any) -> Any:
    """``x`` as plain JSON types (dicts, lists, numbers, text), through a JSON round trip."""
    return json.loads(dumps(x))


def nan_to_none(x: Any) -> Any:
    """Non-finite floats replaced by None, recursively (JSON has no NaN)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: nan_to_none(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [nan_to_none(v) for v in x]
    return x


def nonfinite_to_text(x: Any) -> Any:
    """NaN replaced by None and infinities by ``"inf"`` / ``"-inf"``, recursively."""
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {k: nonfinite_to_text(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [nonfinite_to_text(v) for v in x]
    return x
