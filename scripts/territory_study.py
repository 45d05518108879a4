"""How the patterns fare when the groups' administrations hold their ground.

The study behind docs/ODD.md section 10 (known issue 6: territory churns at the fronts). The
shipped scenarios give no group an administration (``administration = 0``), so a cell is held
only by the fighters in it or in reach. The study gives the groups one and asks what the
patterns do: in ``syria_2013`` all three groups (ISIS's diwans, Nusra's courts, the rebels'
councils), at the shared ``hold_strength`` and at a point retuned by hand to the patterns
with it (more truce tension from incidents, less lethal clashes, a stronger Kurdish offensive);
in ``sahel_2019`` the retuned point without and with an administration for both groups. Run it
(about 10 minutes on two cores), or print the table of the kept study:

    .venv/bin/python scripts/territory_study.py --run     # re-runs the checks into studies/territory
    .venv/bin/python scripts/territory_study.py           # the table from studies/territory/*.json

Each JSON is ``militant-sim check SCENARIO --seeds 30 --set KEY=VALUE ... --json FILE``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from study_common import check, pattern_cell, set_args  # noqa: E402

FOLDER = ROOT / "studies" / "territory"


def _admin(groups: tuple[str, ...], a: float) -> dict[str, float]:
    return {f"groups.{g}.administration": a for g in groups}


SYRIA = ("ISIS", "Nusra", "Rebels")
SAHEL = ("JNIM", "ISGS")
#: the hand-retuned point of the trial (docs/ODD.md section 10, item 6)
RETUNED = {"tension_per_incident": 0.05, "clash_lethality": 0.18}

#: per scenario, the columns: (file stem, heading, overrides); the first is the shipped model
STUDY: dict[str, list[tuple[str, str, dict[str, float]]]] = {
    "syria_2013": [
        ("shipped", "shipped (no administration)", {}),
        ("admin", "administration 1", _admin(SYRIA, 1.0)),
        ("admin_retuned_hold5", "administration 1, retuned, hold 5",
         {**_admin(SYRIA, 1.0), **RETUNED, "timeline.sdf_kobani.strength": 300.0,
          "hold_strength": 5.0}),
        ("admin_retuned", "administration 1, retuned, hold 10",
         {**_admin(SYRIA, 1.0), **RETUNED, "timeline.sdf_kobani.strength": 300.0}),
        ("admin_retuned_hold20", "administration 1, retuned, hold 20",
         {**_admin(SYRIA, 1.0), **RETUNED, "timeline.sdf_kobani.strength": 300.0,
          "hold_strength": 20.0}),
    ],
    "sahel_2019": [
        ("shipped", "shipped (no administration)", {}),
        ("admin0.2", "administration 0.2", _admin(SAHEL, 0.2)),
        ("retuned", "retuned, no administration", dict(RETUNED)),
        ("retuned_admin0.1", "retuned, administration 0.1", {**RETUNED, **_admin(SAHEL, 0.1)}),
        ("retuned_admin0.2", "retuned, administration 0.2", {**RETUNED, **_admin(SAHEL, 0.2)}),
    ],
}


def run() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for scenario, columns in STUDY.items():
        for stem, _, overrides in columns:
            out = FOLDER / f"{scenario}_{stem}.json"
            check(scenario, set_args(overrides), out)


def table() -> str:
    lines = []
    for scenario, columns in STUDY.items():
        data = {}
        for stem, heading, _ in columns:
            f = FOLDER / f"{scenario}_{stem}.json"
            if f.exists():
                data[heading] = json.loads(f.read_text())
        if not data:
            continue
        hs = list(data)
        lines += [f"### {scenario}", "",
                  "| pattern | target | " + " | ".join(hs) + " |",
                  "|---|---|" + "---|" * len(hs)]
        first = data[hs[0]]["patterns"]
        for i, p in enumerate(first):
            lo, hi = p["low"], p["high"]
            target = (f"≥ {lo}" if hi in ("inf", None) else f"≤ {hi}" if lo in ("-inf", None)
                      else f"{lo} to {hi}")
            tuned = " (tuned)" if p.get("tuned") else ""
            lines.append(f"| `{p['id']}`{tuned} | {target} | "
                         + " | ".join(pattern_cell(data[h]["patterns"][i]) for h in hs) + " |")
        lines.append("| patterns that hold | | " + " | ".join(
            f"{sum(r['holds'] for r in data[h]['patterns'])} of {len(data[h]['patterns'])}"
            for h in hs) + " |")
        lines.append("")
    return "\n".join(lines) + "✗: the pattern does not hold. Medians (or shares) over 30 seeds.\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="store_true", help="re-run the checks first")
    a = ap.parse_args()
    if a.run:
        run()
    print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
