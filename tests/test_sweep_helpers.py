"""Helpers for the sweep tests (no tests here): small experiment files for the classroom world."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pandas as pd

#: a fast experiment: 4 points x 2 replicates of the classroom world, 6 weeks each
BASE: dict[str, Any] = {
    "experiment": {
        "name": "tiny",
        "description": "a test sweep",
        "scenario": "classroom",
        "steps": 6,
        "replicates": 2,
        "seed": 11,
        "collect_every": 2,
        "series": ["fighters.*", "militant_cells", "relation.*"],
        "outcomes": ["clash_rate", "final_fighters:Caliphate", "peak_militant_cells",
                     "net_defections_per_1000:Front>Caliphate", "truce_mean_duration"],
    },
    "constants": {"clash_kappa": 0.05},
    "parameters": {"groups.Caliphate.claim": [0.0, 1.0],
                   "groups.Front.propaganda": [0.2, 0.6]},
    "design": {"kind": "grid"},
    "hypothesis": {
        "id": "T1", "statement": "a test", "outcome": "clash_rate",
        "control": {"groups.Caliphate.claim": 0.0},
        "treatment": {"groups.Caliphate.claim": 1.0},
        "expect": "greater", "min_effect": 1.0,
    },
}


def experiment(**changes: Any) -> dict[str, Any]:
    """A copy of BASE with ``section__key=value`` changes (value None removes the key)."""
    d = copy.deepcopy(BASE)
    for k, v in changes.items():
        section, _, key = k.partition("__")
        if not key:
            if v is None:
                d.pop(section, None)
            else:
                d[section] = v
            continue
        tab = d.setdefault(section, {})
        if v is None:
            tab.pop(key, None)
        else:
            tab[key] = v
    return d


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def to_toml(d: dict[str, Any]) -> str:
    lines = []
    for section, table in d.items():
        if not isinstance(table, dict):
            lines.append(f"{section} = {_value(table)}")
            continue
        lines.append(f"[{section}]")
        arrays = {}
        for k, v in table.items():
            if isinstance(v, list) and v and all(isinstance(x, dict) for x in v) and k == "also":
                arrays[k] = v
                continue
            lines.append(f"{json.dumps(k)} = {_value(v)}")
        for k, items in arrays.items():
            for item in items:
                lines.append(f"[[{section}.{k}]]")
                lines += [f"{json.dumps(a)} = {_value(b)}" for a, b in item.items()]
        lines.append("")
    return "\n".join(lines)


def write(path: Path, d: dict[str, Any]) -> Path:
    path.write_text(to_toml(d))
    return path


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    """A run table without its timing column (the only one that differs between engines)."""
    return df.drop(columns=["wall_seconds"]).sort_values("run_id").reset_index(drop=True)


def sorted_frame(df: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("run_id", "week", "pair", "start", "size") if c in df.columns]
    return df.sort_values(keys, kind="stable").reset_index(drop=True)
