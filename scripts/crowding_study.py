"""Crowding: where the fighters stand, and what the cost of crowding changes.

The study behind docs/ODD.md section 10 (known issue 10). The move score (7.4) pulls a fighter
toward the fighters of its group (w_own log(1 + n)) and away from danger relative to their
numbers; nothing in it costs a crowd anything, and a year into ``syria_2013`` and
``sahel_2019`` each group's fighters stand in a few crowded cells. The option ``w_crowd`` (0 as
shipped) costs a cell w_crowd N / (supply_ratio P + 1) in the move score, N the agents of every
group in it and P its civilians (what a cell can feed and house). For each column (the shipped
model, ``w_crowd`` from 1 to 10, and the posterior median, the heaviest particle and the
particle holding the most patterns of each of the kept calibrations
``calibrations/crowding_clashes`` and ``calibrations/crowding_wide``, and for the latter the
three other particles tied with it), 30 seeds (the seeds of ``militant-sim check SCENARIO
--seeds 30``) give

* every pattern of ``syria_2013`` and ``sahel_2019`` (``militant-sim check ... --json``), and
  how many of them hold in expectation over resamples of the seeds,
* where each group's agents stand at week 52 (per seed; the table gives medians): the crowd an
  agent stands in (the mean, over the group's agents, of the group's agents in its cell), the
  effective number of cells the group is spread over (the inverse Simpson index (sum n)^2 /
  sum n^2 of its agents per cell), the cells where it has an agent, the cells it holds and the
  most agents it has in one cell.

    .venv/bin/python scripts/crowding_study.py --run   # about 25 minutes on two cores
    .venv/bin/python scripts/crowding_study.py         # the tables of the kept study

The tables are written to studies/crowding/TABLE.md; docs/ODD.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from study_common import check, over_check_seeds, pattern_rows, set_args  # noqa: E402

FOLDER = ROOT / "studies" / "crowding"
SCENARIOS = ("syria_2013", "sahel_2019")
SEEDS = 30
#: the week at which the fighters' places are read
WEEK = 52
#: the kept calibrations whose posterior medians and particles are the last nine columns: the
#: first fit of crowding, and the same fit over wider priors with two more parameters
CALIBRATION = ROOT / "calibrations" / "crowding_clashes"
WIDE = ROOT / "calibrations" / "crowding_wide"


def posterior_setting(which: str, folder: Path = CALIBRATION, tie: int = 0) -> dict[str, float]:
    """The parameters of the kept calibration in ``folder`` at its weighted posterior
    ``median``, its ``heaviest`` particle or a particle that holds the ``most`` patterns at
    the calibration's own seeds (the ``tie``-th of those, in the posterior's row order; 0 the
    first), to four significant figures (as ``--set`` gives them). Run at the check's 30
    seeds, which are not the calibration's, the last is a new test of a particle chosen on few
    seeds."""
    from sim.analysis.calibration_report import calibration_facts, patterns_held

    params = calibration_facts(folder)["params"]
    if which != "most":
        return {k: float(f"{v[which]:.4g}") for k, v in params.items()}
    post = pd.read_parquet(folder / "posterior.parquet")
    held = patterns_held(post)
    row = post.loc[held.index[held == held.max()][tie]]
    return {k: float(f"{float(row[k]):.4g}") for k in params}


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
    ("posterior_median", "posterior median of `calibrations/crowding_clashes`",
     posterior_setting("median")),
    ("posterior_heaviest", "its heaviest particle", posterior_setting("heaviest")),
    ("posterior_most", "its particle holding the most patterns at 3 seeds",
     posterior_setting("most")),
    ("wide_median", "posterior median of `calibrations/crowding_wide`",
     posterior_setting("median", WIDE)),
    ("wide_heaviest", "its heaviest particle", posterior_setting("heaviest", WIDE)),
    ("wide_most", "its particle holding the most patterns at 3 seeds",
     posterior_setting("most", WIDE)),
    ("wide_most2", "its second particle holding as many", posterior_setting("most", WIDE, 1)),
    ("wide_most3", "its third", posterior_setting("most", WIDE, 2)),
    ("wide_most4", "its fourth", posterior_setting("most", WIDE, 3)),
]
#: what is read of each group at WEEK
PLACES = ("crowd", "effective", "occupied", "held", "most")
PLACE_NAMES = {"crowd": "the crowd an agent stands in (agents of its group in its cell)",
               "effective": "effective number of cells it is spread over",
               "occupied": "cells with an agent", "held": "cells held",
               "most": "most agents in one cell"}


def places(m) -> dict[str, dict[str, float]]:
    """Where each group's agents stand now (see the module's docstring); a group with no
    agent has no crowd and no spread (NaN)."""
    F = m.fighters
    out = {}
    for g, name in enumerate(m.group_names):
        n = np.bincount(F.cell[F.group == g], minlength=m.n_cells).astype(np.float64)
        total, squares = float(n.sum()), float((n * n).sum())
        out[name] = {"agents": total,
                     "crowd": squares / total if total else float("nan"),
                     "effective": total * total / squares if total else float("nan"),
                     "occupied": float((n > 0).sum()), "held": float((m.owner == g).sum()),
                     "most": float(n.max())}
    return out


#: how the crowds move (``moves``): the setting and the seeds and weeks of docs/ODD.md 7.4
MOVES_SETTING = {"w_crowd": 4.6, "w_own": 1.07}
MOVES_SEEDS = (2, 3, 4)
MOVES_WEEKS = (40, 80)


def moves(overrides: dict[str, float], scenario: str = "syria_2013", group: str = "Rebels",
          seeds=MOVES_SEEDS, weeks=MOVES_WEEKS) -> dict[str, float]:
    """How a group's crowds move from week to week (docs/ODD.md 7.4), averaged over ``seeds``,
    from week ``weeks[0]`` to ``weeks[1]`` (after the first months, when the starting crowds
    spread out): the turnover (half the summed absolute change of the group's agents per cell
    from one week to the next, averaged over the weeks) and the lag-1 autocorrelation of those
    weekly changes, pooled over the cells and weeks where either change is not zero (below 0:
    what arrives in a cell one week tends to leave the next)."""
    import sim

    turnover, lag1 = [], []
    first, last = weeks
    for seed in seeds:
        m = sim.MilitantModel(scenario, rng=seed, overrides=overrides)
        g = m.group_names.index(group)
        at = {}
        for week in range(1, last + 1):
            m.step()
            if week >= first:
                at[week] = m.presence()[g].astype(np.int64)
        d = np.array([at[w] - at[w - 1] for w in range(first + 1, last + 1)])
        turnover.append(np.abs(d).sum(1).mean() / 2)
        a, b = d[1:].ravel(), d[:-1].ravel()
        keep = (a != 0) | (b != 0)
        lag1.append(np.corrcoef(a[keep], b[keep])[0, 1])
    return {"turnover": float(np.mean(turnover)), "lag1": float(np.mean(lag1))}


def places_of_run(task: tuple) -> dict[str, dict[str, float]]:
    """One seed: :func:`places` at week WEEK."""
    import sim

    scenario, overrides, seed = task
    m = sim.MilitantModel(scenario, rng=seed, overrides=overrides or None)
    for _ in range(WEEK):
        m.step()
    return places(m)


def places_per_seed(scenario: str, overrides: dict[str, float]) -> dict:
    """:func:`places_of_run` for each of the check's seeds: ``{"seeds": [...], "runs": [...]}``."""
    seeds, runs = over_check_seeds(places_of_run, scenario, overrides, SEEDS)
    return {"seeds": seeds, "runs": runs}


def medians(places_file: dict) -> dict[str, dict[str, float]]:
    """Per group and measure, the median over the kept seeds."""
    def median(values: list[float]) -> float:
        finite = [v for v in values if v == v]
        return float(np.median(finite)) if finite else float("nan")

    runs = places_file["runs"]
    return {g: {k: median([r[g][k] for r in runs]) for k in runs[0][g]} for g in runs[0]}


def run(only: list[str] | None = None) -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for stem, _, overrides in COLUMNS:
        if only and stem not in only:
            continue
        for scenario in SCENARIOS:
            check(scenario, set_args(overrides), FOLDER / f"{scenario}_{stem}.json", SEEDS)
            (FOLDER / f"places_{scenario}_{stem}.json").write_text(
                json.dumps(places_per_seed(scenario, overrides), indent=1) + "\n")


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
    return f"{v:,.1f}" if k == "effective" else f"{v:,.0f}"


def _cells(scenario: str) -> int:
    from sim.core.scenario import load_scenario

    spec = load_scenario(scenario)
    return spec.width * spec.height


def table(data: dict[str, dict[str, dict]] | None = None) -> str:
    data = load() if data is None else data
    cols = [(s, h) for s, h, _ in COLUMNS if s in data]
    lines: list[str] = []
    for scenario in SCENARIOS:
        hs = [(s, h) for s, h in cols if scenario in data[s]]
        if not hs:
            continue
        checks = [data[s][scenario]["check"] for s, _ in hs]
        lines += [f"| `{scenario}`, {SEEDS} seeds | " + " | ".join(h for _, h in hs) + " |",
                  "|---|" + "---|" * len(hs)]
        lines += pattern_rows(checks)
        lines.append("| patterns that hold, expected over resamples of the seeds | " + " | ".join(
            f"{sum(p['held_resampled'] for p in c['patterns']):.1f}" for c in checks) + " |")
        med = {s: medians(data[s][scenario]["places"]) for s, _ in hs}
        for g in med[hs[0][0]]:
            for k in PLACES:
                lines.append(f"| {g}: {PLACE_NAMES[k]}, week {WEEK} | " + " | ".join(
                    _place(k, med[s][g][k]) for s, _ in hs) + " |")
        lines.append("")
    maps = " and ".join(f"{_cells(sc):,} cells (`{sc}`)" for sc in SCENARIOS)
    lines.append(f"✗: the pattern does not hold. Medians (or shares) over {SEEDS} seeds; the "
                 "expected number of patterns that hold is the sum over the patterns of the "
                 "share of bootstrap resamples of the seeds in which each holds. Where the "
                 f"agents stand: medians over the same seeds at week {WEEK}, in agents (not "
                 f"real fighters), on maps of {maps}.")
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
