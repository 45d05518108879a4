"""Where the groups' strength goes: the fighter economy of ``syria_2013`` against the record.

The study behind docs/ODD.md section 10 (known issue 9). Two patterns of ``syria_2013`` ask
whether the groups keep their strength as the record says they did: ISIS's fighters change
little from September 2014 to February 2016 (``isis_strength_2016``), the armed opposition
keeps most of its fighters from 2013 to late 2015 (``rebels_strength_2015``). Both fail as
shipped. The study asks why and what would change it: for each column (the shipped model and
one- or two-parameter changes of what feeds and drains the groups: the rate at which civilians
consider joining, the rate of desertion, the rebels' starting strength at the scenario's own
scale, and recruitment in the ground a group holds, ``levy_rate``, an option off as shipped),
30 seeds (the seeds of ``militant-sim check syria_2013 --seeds 30``) give

* every pattern of the scenario (``militant-sim check syria_2013 --seeds 30 --set ... --json``),
* the flows of each of the two groups over its pattern's window, as shares of its fighters at
  the window's start: recruits, defectors in, deaths by cause, desertions, defectors out
  (medians over the seeds).

    .venv/bin/python scripts/strength_study.py --run   # about 10 minutes on two cores
    .venv/bin/python scripts/strength_study.py         # the tables of the kept study

The tables are written to studies/strength/TABLE.md; docs/ODD.md quotes them.
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

from study_common import check, over_check_seeds, pattern_rows, set_args  # noqa: E402

FOLDER = ROOT / "studies" / "strength"
SCENARIO = "syria_2013"
SEEDS = 30
#: the two strength patterns, and the group whose flows are read over each one's window
STRENGTH = {"isis_strength_2016": "ISIS", "rebels_strength_2015": "Rebels"}
#: the columns: file stem, heading, overrides; the first is the shipped model
COLUMNS: list[tuple[str, str, dict[str, float]]] = [
    ("shipped", "shipped", {}),
    ("candidate_rate5e-5", "`candidate_rate` 5e-5 (shipped 2e-5)", {"candidate_rate": 5e-5}),
    ("candidate_rate1e-4", "`candidate_rate` 1e-4", {"candidate_rate": 1e-4}),
    ("desert_rate0.015", "`desert_rate` 0.015 (shipped 0.03)", {"desert_rate": 0.015}),
    ("candidate_rate1e-4_desert_rate0.015", "`candidate_rate` 1e-4, `desert_rate` 0.015",
     {"candidate_rate": 1e-4, "desert_rate": 0.015}),
    ("rebels18000", "rebels 18,000 at the start (shipped 7,000)",
     {"groups.Rebels.fighters": 18000}),
    ("levy_rate3e-5", "`levy_rate` 3e-5 (shipped 0: off)", {"levy_rate": 3e-5}),
    ("levy_rate1e-4", "`levy_rate` 1e-4", {"levy_rate": 1e-4}),
    ("levy_rate1e-4_desert_rate0.015", "`levy_rate` 1e-4, `desert_rate` 0.015",
     {"levy_rate": 1e-4, "desert_rate": 0.015}),
]
#: columns also checked on sahel_2019 (a global parameter must hold there too), with the
#: shipped model for comparison; kept as sahel_2019_STEM.json
SAHEL = "sahel_2019"
SAHEL_TOO = ("shipped", "levy_rate3e-5", "levy_rate1e-4", "levy_rate1e-4_desert_rate0.015")
#: the flows read, in and out (columns of the steps table, per group)
FLOWS_IN = ("recruits", "defect_in")
FLOWS_OUT = ("deaths_clash", "deaths_state", "deaths_strike", "deaths_ground", "desertions",
             "defect_out")
FLOW_NAMES = {"recruits": "recruits", "defect_in": "defectors in",
              "deaths_clash": "killed in clashes", "deaths_state": "killed by the state",
              "deaths_strike": "killed by strikes", "deaths_ground": "killed by ground forces",
              "desertions": "deserted", "defect_out": "defected out"}


def _windows(overrides: dict[str, float]) -> dict[str, tuple[int, int]]:
    from sim.core.scenario import load_scenario

    spec = load_scenario(SCENARIO, overrides or None)
    by_id = {p.id: p for p in spec.patterns}
    return {pid: tuple(int(w) for w in by_id[pid].weeks) for pid in STRENGTH}


def foreign_expected(pid: str) -> float:
    """The foreign fighters the scenario sends the pattern's group over its window, in
    expectation (the weekly Poisson means of ``foreign_inflow`` as the timeline sets them),
    as a share of the group's median fighters at the window's start in the shipped runs: an
    input, not a result."""
    from sim.core.scenario import load_scenario

    spec = load_scenario(SCENARIO)
    group = STRENGTH[pid]
    a, b = _windows({})[pid]
    rate = {0: next(g.foreign_inflow for g in spec.groups if g.name == group)}
    for e in spec.timeline:
        if (e.kind == "set_group" and e.args.get("group") == group
                and e.args.get("field") == "foreign_inflow"):
            rate[int(e.week)] = float(e.args["value"])
    weekly = [rate[max(w for w in rate if w <= k)] for k in range(a + 1, b + 1)]
    start = load()["shipped"]["flows"][pid]["start"]
    return float(sum(weekly)) / start


def flows_of_run(task: tuple) -> dict[str, dict[str, float]]:
    """One seed: each strength pattern's group's flows over its window, as shares of its
    fighters at the window's start (and that start and the end, in agents), and the cells it
    holds at the start of the run and a year later."""
    import sim

    scenario, overrides, seed, windows = task
    steps = sim.run(scenario, seed=seed, overrides=overrides or None).steps.set_index("week")
    out = {}
    for pid, group in STRENGTH.items():
        a, b = windows[pid]
        start = float(steps.loc[a, f"fighters.{group}"])
        row = {"start": start, "end": float(steps.loc[b, f"fighters.{group}"]),
               "cells_week0": float(steps.loc[0, f"territory.{group}"]),
               "cells_week52": float(steps.loc[52, f"territory.{group}"])}
        for k in FLOWS_IN + FLOWS_OUT:
            row[k] = float(steps.loc[a + 1:b, f"{k}.{group}"].sum()) / max(start, 1.0)
        out[pid] = row
    return out


def flows(overrides: dict[str, float]) -> dict[str, dict[str, float]]:
    """Medians over the check's seeds of :func:`flows_of_run`."""
    _, runs = over_check_seeds(flows_of_run, SCENARIO, overrides, SEEDS,
                               (_windows(overrides),))
    return {pid: {k: float(np.median([r[pid][k] for r in runs])) for k in runs[0][pid]}
            for pid in STRENGTH}


def run(only: list[str] | None = None, sahel_only: bool = False,
        flows_only: bool = False) -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for stem, _, overrides in COLUMNS:
        if only and stem not in only:
            continue
        sets = set_args(overrides)
        if not sahel_only:
            if not flows_only:
                check(SCENARIO, sets, FOLDER / f"{SCENARIO}_{stem}.json", SEEDS)
            (FOLDER / f"flows_{stem}.json").write_text(json.dumps(flows(overrides), indent=1)
                                                        + "\n")
        if stem in SAHEL_TOO and not flows_only:
            check(SAHEL, sets, FOLDER / f"{SAHEL}_{stem}.json", SEEDS)


def load() -> dict[str, dict]:
    """The kept study: per column stem, its check JSON (``check``) and flows (``flows``)."""
    data = {}
    for stem, _, _ in COLUMNS:
        c, f = FOLDER / f"{SCENARIO}_{stem}.json", FOLDER / f"flows_{stem}.json"
        if c.exists() and f.exists():
            data[stem] = {"check": json.loads(c.read_text()), "flows": json.loads(f.read_text())}
    return data


def _pct(x: float) -> str:
    return f"{100 * x:+.0f}%" if abs(x) >= 0.005 else "0%"


def table(data: dict[str, dict] | None = None) -> str:
    data = load() if data is None else data
    cols = [(stem, heading) for stem, heading, _ in COLUMNS if stem in data]
    if not cols:
        return "(no kept study: run with --run)\n"
    lines = ["| `syria_2013`, 30 seeds | " + " | ".join(h for _, h in cols) + " |",
             "|---|" + "---|" * len(cols)]
    lines += pattern_rows([data[s]["check"] for s, _ in cols])
    lines += ["", "✗: the pattern does not hold. Medians (or shares) over 30 seeds.", ""]
    for pid, group in STRENGTH.items():
        lines += [f"| {group}, over the window of `{pid}` | " + " | ".join(h for _, h in cols)
                  + " |", "|---|" + "---|" * len(cols)]
        lines.append("| fighters at the start (agents) | " + " | ".join(
            f"{data[s]['flows'][pid]['start']:,.0f}" for s, _ in cols) + " |")
        for k in FLOWS_IN + FLOWS_OUT:
            if k == "defect_in" and pid == "isis_strength_2016":
                lines.append(f"| of the recruits, foreign fighters (the scenario's inflow, "
                             f"expected; shipped) | {_pct(foreign_expected(pid))} |"
                             + " |" * (len(cols) - 1))
            sign = 1 if k in FLOWS_IN else -1
            lines.append(f"| {FLOW_NAMES[k]} | " + " | ".join(
                _pct(sign * data[s]["flows"][pid][k]) for s, _ in cols) + " |")
        lines.append("")
    lines.append("Flows over the pattern's window as shares of the group's fighters at its "
                 "start, medians over the 30 seeds (so they need not add up to the change).")
    sahel = {s: json.loads((FOLDER / f"{SAHEL}_{s}.json").read_text()) for s, _ in cols
             if s in SAHEL_TOO and (FOLDER / f"{SAHEL}_{s}.json").exists()}
    if sahel:
        hs = [(s, h) for s, h in cols if s in sahel]
        lines += ["", f"| `{SAHEL}`, 30 seeds | " + " | ".join(h for _, h in hs) + " |",
                  "|---|" + "---|" * len(hs)]
        lines += pattern_rows([sahel[s] for s, _ in hs])
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="store_true", help="re-run the checks and flows first")
    ap.add_argument("--only", nargs="*", help="with --run: only these column stems")
    ap.add_argument("--sahel-only", action="store_true",
                    help=f"with --run: only the {SAHEL} checks of the columns in SAHEL_TOO")
    ap.add_argument("--flows-only", action="store_true",
                    help="with --run: only the flows (the checks kept as they are)")
    a = ap.parse_args()
    if a.run:
        run(a.only, a.sahel_only, a.flows_only)
    text = table()
    if a.run:
        (FOLDER / "TABLE.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
