"""Crowding: where the fighters stand, and what the cost of crowding changes.

The study behind docs/ODD.md section 10 (known issue 10). The move score (7.4) pulls a fighter
toward the fighters of its group (w_own log(1 + n)) and away from danger relative to their
numbers; nothing in it costs a crowd anything, so within half a year nearly every fighter of
every group stands in a few cells. The option ``w_crowd`` (0 as shipped) costs a cell
w_crowd N / (supply_ratio P + 1) in the move score, N the fighters of every group in it and P
its civilians (what a cell can feed and house). For each column (the shipped model and
``w_crowd`` from 1 to 10), 30 seeds (the seeds of ``militant-sim check SCENARIO --seeds 30``)
give

* every pattern of ``syria_2013`` and ``sahel_2019`` (``militant-sim check ... --json``),
* where each group's fighters stand at week 52: the share of them in the most crowded 5% of
  the map's cells, the cells where it has a fighter, the cells it holds and the most fighters
  it has in one cell (medians over the seeds).

    .venv/bin/python scripts/crowding_study.py --run   # about 12 minutes on two cores
    .venv/bin/python scripts/crowding_study.py         # the tables of the kept study

The tables are written to studies/crowding/TABLE.md; docs/ODD.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from study_common import check, pattern_cell, set_args  # noqa: E402

FOLDER = ROOT / "studies" / "crowding"
SCENARIOS = ("syria_2013", "sahel_2019")
SEEDS = 30
#: the week at which the fighters' places are read
WEEK = 52
#: the share of the map's cells counted as the most crowded
TOP = 0.05
#: the columns: file stem, heading, overrides; the first is the shipped model
COLUMNS: list[tuple[str, str, dict[str, float]]] = [
    ("shipped", "shipped (`w_crowd` 0)", {}),
    ("w_crowd1", "`w_crowd` 1", {"w_crowd": 1.0}),
    ("w_crowd2", "`w_crowd` 2", {"w_crowd": 2.0}),
    ("w_crowd3", "`w_crowd` 3", {"w_crowd": 3.0}),
    ("w_crowd3_supply0.02", "`w_crowd` 3, `supply_ratio` 0.02 (shipped 0.01)",
     {"w_crowd": 3.0, "supply_ratio": 0.02}),
    ("w_crowd5", "`w_crowd` 5", {"w_crowd": 5.0}),
    ("w_crowd10", "`w_crowd` 10", {"w_crowd": 10.0}),
]
#: what is read of each group at WEEK
PLACES = ("top_share", "occupied", "held", "most")
PLACE_NAMES = {"top_share": f"fighters in the most crowded {TOP:.0%} of cells",
               "occupied": "cells with a fighter", "held": "cells held",
               "most": "most fighters in one cell"}


def places(m) -> dict[str, dict[str, float]]:
    """Where each group's fighters stand now (see the module's docstring)."""
    F = m.fighters
    top = max(1, int(TOP * m.n_cells))
    out = {}
    for g, name in enumerate(m.group_names):
        n = np.bincount(F.cell[F.group == g], minlength=m.n_cells)
        total = int(n.sum())
        out[name] = {"fighters": float(total),
                     "top_share": float(np.sort(n)[::-1][:top].sum() / total) if total else 0.0,
                     "occupied": float((n > 0).sum()), "held": float((m.owner == g).sum()),
                     "most": float(n.max())}
    return out


def places_of_run(task: tuple) -> dict[str, dict[str, float]]:
    """One seed: :func:`places` at week WEEK."""
    import sim

    scenario, overrides, seed = task
    m = sim.MilitantModel(scenario, rng=seed, overrides=overrides or None)
    for _ in range(WEEK):
        m.step()
    return places(m)


def places_medians(scenario: str, overrides: dict[str, float]) -> dict[str, dict[str, float]]:
    """Medians over the check's seeds of :func:`places_of_run`."""
    from concurrent.futures import ProcessPoolExecutor

    from sim.analysis.check import seed_list
    from sim.core.scenario import load_scenario
    from sim.sweeps.engines import default_workers

    seeds = seed_list(load_scenario(scenario, overrides or None).seed, SEEDS)
    with ProcessPoolExecutor(default_workers()) as pool:
        runs = list(pool.map(places_of_run, [(scenario, overrides, s) for s in seeds]))
    return {g: {k: float(np.median([r[g][k] for r in runs])) for k in runs[0][g]}
            for g in runs[0]}


def run(only: list[str] | None = None) -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for stem, _, overrides in COLUMNS:
        if only and stem not in only:
            continue
        for scenario in SCENARIOS:
            check(scenario, set_args(overrides), FOLDER / f"{scenario}_{stem}.json", SEEDS)
            (FOLDER / f"places_{scenario}_{stem}.json").write_text(
                json.dumps(places_medians(scenario, overrides), indent=1) + "\n")


def load() -> dict[str, dict[str, dict]]:
    """The kept study: per column stem and scenario, its check (``check``) and places
    (``places``)."""
    data: dict[str, dict[str, dict]] = {}
    for stem, _, _ in COLUMNS:
        for scenario in SCENARIOS:
            c = FOLDER / f"{scenario}_{stem}.json"
            p = FOLDER / f"places_{scenario}_{stem}.json"
            if c.exists() and p.exists():
                data.setdefault(stem, {})[scenario] = {"check": json.loads(c.read_text()),
                                                       "places": json.loads(p.read_text())}
    return data


def _place(k: str, v: float) -> str:
    return f"{100 * v:.0f}%" if k == "top_share" else f"{v:,.0f}"


def table(data: dict[str, dict[str, dict]] | None = None) -> str:
    data = load() if data is None else data
    cols = [(s, h) for s, h, _ in COLUMNS if s in data]
    lines: list[str] = []
    for scenario in SCENARIOS:
        hs = [(s, h) for s, h in cols if scenario in data[s]]
        if not hs:
            continue
        checks = {s: data[s][scenario]["check"] for s, _ in hs}
        lines += [f"| `{scenario}`, {SEEDS} seeds | " + " | ".join(h for _, h in hs) + " |",
                  "|---|" + "---|" * len(hs)]
        for i, p in enumerate(checks[hs[0][0]]["patterns"]):
            lines.append(f"| `{p['id']}` | " + " | ".join(
                pattern_cell(checks[s]["patterns"][i]) for s, _ in hs) + " |")
        lines.append("| patterns that hold | " + " | ".join(
            f"{sum(r['holds'] for r in checks[s]['patterns'])} of {len(checks[s]['patterns'])}"
            for s, _ in hs) + " |")
        for g in data[hs[0][0]][scenario]["places"]:
            for k in PLACES:
                lines.append(f"| {g}: {PLACE_NAMES[k]}, week {WEEK} | " + " | ".join(
                    _place(k, data[s][scenario]["places"][g][k]) for s, _ in hs) + " |")
        lines.append("")
    lines.append(f"✗: the pattern does not hold. Medians (or shares) over {SEEDS} seeds; where "
                 f"the fighters stand: medians over the same seeds at week {WEEK}, of a map of "
                 "1,200 cells (`syria_2013`) or 864 (`sahel_2019`).")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="store_true", help="re-run the checks and places first")
    ap.add_argument("--only", nargs="*", help="with --run: only these column stems")
    a = ap.parse_args()
    if a.run:
        run(a.only)
    text = table()
    if a.run:
        (FOLDER / "TABLE.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
