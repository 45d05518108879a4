"""How the patterns fare as a group's administration holds its ground (``hold_strength``).

The study behind docs/ODD.md section 10 (known issue: territory is a moving footprint). Run it
(about 15 minutes on two cores), or print the table of the kept study:

    .venv/bin/python scripts/territory_study.py --run     # re-runs the checks into studies/territory
    .venv/bin/python scripts/territory_study.py           # the table from studies/territory/*.json

Each JSON is ``militant-sim check SCENARIO --seeds 30 --set hold_strength=H --json FILE``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "studies" / "territory"
STUDY = {"syria_2013": [0, 5, 10, 20], "sahel_2019": [0, 10]}


def run() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for scenario, holds in STUDY.items():
        for h in holds:
            out = FOLDER / f"{scenario}_hold_{h}.json"
            subprocess.run([str(Path(sys.executable).parent / "militant-sim"), "check", scenario,
                            "--seeds", "30",
                            "--quiet", "--set", f"hold_strength={h}", "--json", str(out)],
                           check=False)


def _cell(row: dict) -> str:
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


def table() -> str:
    lines = []
    for scenario, holds in STUDY.items():
        files = {h: FOLDER / f"{scenario}_hold_{h}.json" for h in holds}
        data = {h: json.loads(f.read_text()) for h, f in files.items() if f.exists()}
        if not data:
            continue
        hs = sorted(data)
        lines += [f"### {scenario}", "",
                  "| pattern | target | " + " | ".join(f"hold_strength = {h}" for h in hs) + " |",
                  "|---|---|" + "---|" * len(hs)]
        first = data[hs[0]]["patterns"]
        for i, p in enumerate(first):
            lo, hi = p["low"], p["high"]
            target = (f"≥ {lo}" if hi in ("inf", None) else f"≤ {hi}" if lo in ("-inf", None)
                      else f"{lo} to {hi}")
            tuned = " (tuned)" if p.get("tuned") else ""
            lines.append(f"| `{p['id']}`{tuned} | {target} | "
                         + " | ".join(_cell(data[h]["patterns"][i]) for h in hs) + " |")
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
