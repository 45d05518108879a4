"""Why the Sahel's deaths by August 2020 miss: a war that begins with a massacre.

The study behind docs/ODD.md section 10 (known issue 8). ``sahel_2019``'s pattern
``jnim_isgs_deaths_aug2020`` (JNIM-ISGS fighting kills 30 to 500 by August 2020) fails as
shipped, and the seeds split in two: those whose open war begins before the end of August 2020
and those whose war begins after it. The study runs the shipped model and one-parameter changes
of the clash and movement rules that could soften the war's first weeks (30 seeds each, the
seeds of ``militant-sim check sahel_2019 --seeds 30``) and reports, besides the pattern's
median, how many seeds fall in the target and the deaths of the seeds on either side of the
war's onset. The columns in SYRIA_TOO (the shipped model and the truce that breaks into
rivalry) are checked on ``syria_2013`` too, for what they do to its ISIS-rebel war:

    .venv/bin/python scripts/onset_study.py --run   # about 15 minutes on two cores
    .venv/bin/python scripts/onset_study.py         # the table of the kept study

The table is written to studies/onset/TABLE.md; docs/ODD.md quotes it. Each JSON is
``militant-sim check SCENARIO --seeds 30 --set KEY=VALUE --json FILE``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from study_common import check, set_args  # noqa: E402

FOLDER = ROOT / "studies" / "onset"
SCENARIO = "sahel_2019"
DEATHS = "jnim_isgs_deaths_aug2020"
WAR = "jnim_isgs_open_war"
#: the changes tried: file stem and overrides; the first is the shipped model, the next four
#: the clash intensity below the shipped one (with one of them again on other seeds), then
#: four one-parameter changes of the clash and movement rules, two of what sets when the truce
#: breaks (the rate of incidents under truce, the tension the partners tolerate), and last a
#: truce that breaks into rivalry, which escalates into war by the rivalry rule (7.8), at the
#: shipped escalation threshold and at a lower one
CHANGES: list[tuple[str, dict[str, float]]] = [
    ("shipped", {}),
    ("clash_kappa0.03", {"clash_kappa": 0.03}),
    ("clash_kappa0.0176", {"clash_kappa": 0.0176}),
    ("clash_kappa0.0176_other_seeds", {"clash_kappa": 0.0176}),
    ("clash_kappa0.01", {"clash_kappa": 0.01}),
    ("clash_kappa0.003", {"clash_kappa": 0.003}),
    ("battle_reach1", {"battle_reach": 1}),
    ("war_clash_factor1", {"war_clash_factor": 1.0}),
    ("clash_lethality0.15", {"clash_lethality": 0.15}),
    ("w_danger4", {"w_danger": 4.0}),
    ("incident_rate0.005", {"incident_rate": 0.005}),
    ("incident_rate0.08", {"incident_rate": 0.08}),
    ("truce_tolerance0.8", {"truce_tolerance": 0.8}),
    ("truce_tolerance1.25", {"truce_tolerance": 1.25}),
    ("breakdown_war0", {"breakdown_war": 0.0}),
    ("breakdown_war0_war_threshold0.5", {"breakdown_war": 0.0, "war_threshold": 0.5}),
]
#: columns run on another scenario file than SCENARIO: sahel_2019 with another base seed, so
#: 30 seeds that no value was chosen on
OTHER_SEEDS = FOLDER / "sahel_2019_other_seeds.toml"
SCENARIO_OF = {"clash_kappa0.0176_other_seeds": OTHER_SEEDS}
#: columns also run on syria_2013 (the same change must hold there: a global parameter), with
#: the shipped model for comparison; kept as syria_2013_STEM.json
SYRIA = "syria_2013"
SYRIA_TOO = ("shipped", "breakdown_war0", "breakdown_war0_war_threshold0.5")
#: what the Syrian table reports: the breakdown's week and whether it leads to war
SYRIA_PATTERNS = ("isis_rebels_breakdown", "isis_rebels_war")


def _heading(overrides: dict[str, float], stem: str = "") -> str:
    from sim.core.params import PARAMS

    if not overrides:
        return "shipped"
    text = ", ".join(f"`{k}` {v:g} (shipped {PARAMS[k].default:g})"
                     for k, v in overrides.items())
    return text + (", 30 other seeds" if stem in SCENARIO_OF else "")


#: the columns: file stem, heading, overrides
COLUMNS: list[tuple[str, str, dict[str, float]]] = [(stem, _heading(o, stem), o)
                                                    for stem, o in CHANGES]


def run(only: set[str] | None = None) -> None:
    """Run the checks of every column (or of the stems in ``only``)."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    for stem, _, overrides in COLUMNS:
        if only is not None and stem not in only:
            continue
        sets = set_args(overrides)
        check(str(SCENARIO_OF.get(stem, SCENARIO)), sets, FOLDER / f"{SCENARIO}_{stem}.json")
        if stem in SYRIA_TOO:
            check(SYRIA, sets, FOLDER / f"{SYRIA}_{stem}.json")


def _f(v) -> float:
    return math.nan if v is None else float(v)


def _window_end(data: dict) -> int:
    """The last week of the deaths pattern's window (the end of August 2020)."""
    p = next(p for p in data["patterns"] if p["id"] == DEATHS)
    return int(p["weeks"][1])


def column(data: dict) -> dict:
    """The figures of one check: the pattern's row, and the deaths of the seeds whose open
    war began by the window's end and of those whose war began after it."""
    row = next(p for p in data["patterns"] if p["id"] == DEATHS)
    deaths = [_f(v) for v in data["values"][DEATHS]]
    war = [_f(v) for v in data["values"][WAR]]
    end = _window_end(data)
    before = sorted(d for d, w in zip(deaths, war) if w <= end)
    after = sorted(d for d, w in zip(deaths, war) if w > end)
    last4 = sorted(d for d, w in zip(deaths, war) if end - 4 < w <= end)
    return {"median": _f(row["value"]), "holds": bool(row["holds"]),
            "in_target": sum(1 for d in deaths if row["low"] <= d <= row["high"]),
            "seeds": len(deaths), "resampled": _f(row.get("held_resampled")),
            "before": before, "after": after, "last4": last4}


def _range(x: list[float]) -> str:
    if not x:
        return "–"
    if len(x) == 1:
        return f"1 seed, {x[0]:,.0f}"
    return f"{len(x)} seeds, {x[0]:,.0f} to {x[-1]:,.0f}"


def syria_table() -> str:
    """The Syrian checks of the columns in SYRIA_TOO: patterns held, and the ISIS-rebel
    breakdown's week and war."""
    heads, rows = [], []
    for stem, heading, _ in COLUMNS:
        f = FOLDER / f"{SYRIA}_{stem}.json"
        if stem in SYRIA_TOO and f.exists():
            data = json.loads(f.read_text())
            by_id = {p["id"]: p for p in data["patterns"]}
            heads.append(heading)
            rows.append((sum(p["holds"] for p in data["patterns"]), len(data["patterns"]),
                         [by_id[i] for i in SYRIA_PATTERNS]))
    if not heads:
        return ""
    lines = [f"| `{SYRIA}`, 30 seeds | " + " | ".join(heads) + " |",
             "|---|" + "---|" * len(heads),
             "| patterns that hold | " + " | ".join(f"{h} of {n}" for h, n, _ in rows) + " |"]
    for j, pid in enumerate(SYRIA_PATTERNS):
        lines.append(f"| `{pid}` | " + " | ".join(
            _fmt_pattern(ps[j]) for _, _, ps in rows) + " |")
    return "\n".join(lines) + "\n"


def _fmt_pattern(p: dict) -> str:
    """A pattern's statistic as the check prints it (a share in per cent), and its target."""
    v = _f(p["value"])
    text = f"{100 * v:.0f}%" if p["stat"] == "share" else f"{v:g}"
    target = (f">= {100 * p['low']:.0f}%" if p["stat"] == "share"
              else f"{p['low']:g} to {p['high']:g}")
    return f"{text} ({target})" + ("" if p["holds"] else " ✗")


def table() -> str:
    """The table of the kept study: the Sahel's deaths by column, then the Syrian checks."""
    syria = syria_table()
    return sahel_table() + ("\n" + syria if syria else "")


def sahel_table() -> str:
    """The deaths by August 2020 of each column: the pattern, the seeds in the target, and
    the seeds on either side of the war's onset."""
    heads, cols = [], []
    for stem, heading, _ in COLUMNS:
        f = FOLDER / f"{SCENARIO}_{stem}.json"
        if f.exists():
            heads.append(heading)
            cols.append(column(json.loads(f.read_text())))
    from sim import load_scenario

    p = next(x for x in load_scenario(SCENARIO).patterns if x.id == DEATHS)
    lines = [f"| `{DEATHS}` ({p.low:g} to {p.high:g}) | " + " | ".join(heads) + " |",
             "|---|" + "---|" * len(heads),
             "| median (the pattern's statistic) | " + " | ".join(
                 f"{c['median']:,.0f}" + ("" if c["holds"] else " ✗") for c in cols) + " |",
             "| seeds in the target | " + " | ".join(
                 f"{c['in_target']}/{c['seeds']}" for c in cols) + " |",
             "| bootstrap resamples in which it holds | " + " | ".join(
                 f"{100 * c['resampled']:.0f}%" for c in cols) + " |",
             "| deaths, open war by the end of August 2020 | " + " | ".join(
                 _range(c["before"]) for c in cols) + " |",
             "| of which open war in its last 4 weeks (the first weeks of a war) | "
             + " | ".join(_range(c["last4"]) for c in cols) + " |",
             "| deaths, open war after it | " + " | ".join(
                 _range(c["after"]) for c in cols) + " |"]
    most = max(c["in_target"] for c in cols)
    held = [h for h, c in zip(heads, cols) if c["holds"]]
    return "\n".join(lines) + ("\n\nFighters killed in JNIM-ISGS fighting from January 2019 to "
                               "August 2020 (agents killed x fighters per agent), 30 seeds "
                               "per column. ✗: the pattern does not hold. At most "
                               f"{most} of {cols[0]['seeds']} seeds fall in the target in any "
                               "column; the median holds in: "
                               + ("; ".join(held) if held else "none") + ".\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="store_true", help="re-run the checks first")
    ap.add_argument("--only", nargs="+", metavar="STEM", help="with --run: only these columns")
    a = ap.parse_args()
    if a.only and not a.run:
        ap.error("--only needs --run")
    if a.only and set(a.only) - {s for s, _, _ in COLUMNS}:
        ap.error(f"--only: unknown column(s); allowed: {', '.join(s for s, _, _ in COLUMNS)}")
    if a.run:
        run(set(a.only) if a.only else None)
    text = table()
    (FOLDER / "TABLE.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
