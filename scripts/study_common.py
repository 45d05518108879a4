"""What the kept studies of ``scripts/`` share: running ``militant-sim check`` on a column of
overrides and writing a pattern's value in a table cell."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def set_args(overrides: dict[str, float]) -> list[str]:
    """``--set KEY=VALUE`` arguments of ``militant-sim`` for ``overrides``."""
    return [x for k, v in overrides.items() for x in ("--set", f"{k}={v}")]


def check(scenario: str, sets: list[str], out: Path, seeds: int = 30) -> None:
    """``militant-sim check SCENARIO --seeds SEEDS`` with the ``--set`` arguments ``sets``, its
    JSON kept in ``out``. Exit 1 (a pattern does not hold) is a result here; any other failure
    stops the study."""
    res = subprocess.run([str(Path(sys.executable).parent / "militant-sim"), "check",
                          scenario, "--seeds", str(seeds), "--quiet", *sets, "--json",
                          str(out)], check=False)
    if res.returncode not in (0, 1):
        raise SystemExit(f"militant-sim check {scenario} {' '.join(sets)} failed "
                         f"(exit {res.returncode})")


def pattern_cell(row: dict) -> str:
    """A pattern row of a check's JSON as a table cell: its value (a share for a ``share``
    pattern, in percent for fractions), with ✗ when it does not hold."""
    v = row["share"] if row["stat"] == "share" else row["value"]
    if v is None:
        return "–"
    if isinstance(v, str):
        text = v
    elif row["unit"] in ("fraction", "share"):
        text = f"{100 * v:.0f}%" if abs(v) >= 0.1 else f"{100 * v:.2g}%"
    else:
        text = f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return text + ("" if row["holds"] else " ✗")


def pattern_rows(checks: list[dict]) -> list[str]:
    """Table rows of the checks ``checks`` (one per column, the same patterns in each): one
    row per pattern, then how many hold. The header is the caller's."""
    lines = []
    for i, p in enumerate(checks[0]["patterns"]):
        lines.append(f"| `{p['id']}` | " + " | ".join(pattern_cell(c["patterns"][i])
                                                      for c in checks) + " |")
    lines.append("| patterns that hold | " + " | ".join(
        f"{sum(r['holds'] for r in c['patterns'])} of {len(c['patterns'])}" for c in checks)
        + " |")
    return lines


def over_check_seeds(fn, scenario: str, overrides: dict[str, float], seeds: int = 30,
                     extra: tuple = ()) -> tuple[list[int], list]:
    """``fn((scenario, overrides, seed, *extra))`` for each of the seeds of ``militant-sim
    check SCENARIO --seeds SEEDS`` (with the overrides), on all local cores: the seeds and the
    results, in the seeds' order. ``fn`` must be importable by the worker processes."""
    from concurrent.futures import ProcessPoolExecutor

    from sim.analysis.check import seed_list
    from sim.core.scenario import load_scenario
    from sim.sweeps.engines import default_workers

    seed_ids = seed_list(load_scenario(scenario, overrides or None).seed, seeds)
    with ProcessPoolExecutor(default_workers()) as pool:
        out = list(pool.map(fn, [(scenario, overrides, s, *extra) for s in seed_ids]))
    return seed_ids, out
