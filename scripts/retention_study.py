"""How much of ISIS's lost ground over 2015 is the measure's: retention read cell by cell on two
single weeks, or on the majority of several weeks at each end.

The study behind docs/ODD.md section 10 (known issue 6). The pattern
``isis_territory_held_2015`` of ``syria_2013`` reads the cells ISIS holds in the first and in
the last week of 2015; a front cell that another group holds in either single week counts as
lost, although a map drawn from weeks or months of reports (the record's) would show it held.
The study measures the same runs with ``territory_retained``'s ``smooth`` = 5 and 13 (a cell is
held at an end when ISIS holds it in most of the 5 or 13 weeks centred on that week: about a
month, a quarter; the two ends stay 52 weeks apart), for the shipped model, with fighters who
stand to defend their ground (``w_defend``) and at the territory study's point with
administrations (scripts/territory_study.py), 30 seeds each (the seeds of ``militant-sim check
syria_2013 --seeds 30``). The pattern itself is not changed: the study asks whether the gap to
the record lies in the measure.

    .venv/bin/python scripts/retention_study.py --run   # about 3 minutes on two cores
    .venv/bin/python scripts/retention_study.py         # the table of the kept study

The table is written to studies/territory/RETENTION.md; docs/ODD.md quotes it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILE = ROOT / "studies" / "territory" / "retention.json"
TABLE = ROOT / "studies" / "territory" / "RETENTION.md"
SCENARIO = "syria_2013"
PATTERN = "isis_territory_held_2015"
SEEDS = 30
#: the weeks of the majority at each end of the window (1: the pattern as declared)
SMOOTH = (1, 5, 13)


def _territory_point() -> dict[str, float]:
    """The overrides of the territory study's best Syrian column (administrations 1,
    retuned, hold 20)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("territory_study",
                                                  Path(__file__).with_name("territory_study.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return next(o for stem, _, o in mod.STUDY[SCENARIO] if stem == "admin_retuned_hold20")


#: the columns: heading and overrides
COLUMNS: list[tuple[str, dict[str, float]]] = [
    ("shipped", {}),
    ("w_defend 3", {"w_defend": 3.0}),
    ("w_defend 10", {"w_defend": 10.0}),
    ("administrations 1, retuned, hold 20", _territory_point()),
]


def patterns():
    """The declared pattern, and the same with each ``smooth`` (ids ``..._smooth4``)."""
    from sim import load_scenario

    p = next(x for x in load_scenario(SCENARIO).patterns if x.id == PATTERN)
    return [p if k == 1 else dataclasses.replace(p, id=f"{PATTERN}_smooth{k}",
                                                 args={**p.args, "smooth": k})
            for k in SMOOTH]


def run() -> dict:
    from sim.analysis.check import close_pool, evaluate

    out = {"scenario": SCENARIO, "pattern": PATTERN, "seeds": SEEDS, "smooth": list(SMOOTH),
           "columns": []}
    try:
        for heading, overrides in COLUMNS:
            df = evaluate(SCENARIO, seeds=SEEDS, overrides=overrides, patterns=patterns())
            out["columns"].append({"heading": heading, "overrides": overrides,
                                   "seeds": [int(s) for s in df.index],
                                   "values": {c: [float(v) for v in df[c]] for c in df}})
    finally:
        close_pool()
    FILE.parent.mkdir(parents=True, exist_ok=True)
    FILE.write_text(json.dumps(out, indent=1) + "\n")
    return out


def _median_iqr(v: list[float]) -> tuple[float, float, float]:
    import numpy as np

    x = np.array([a for a in v if math.isfinite(a)])
    return tuple(float(np.percentile(x, q)) for q in (50, 25, 75))


def medians(data: dict) -> dict[tuple[str, int], float]:
    """The median retention of each (column heading, smooth)."""
    out = {}
    for c in data["columns"]:
        for k in data["smooth"]:
            pid = PATTERN if k == 1 else f"{PATTERN}_smooth{k}"
            out[c["heading"], k] = _median_iqr(c["values"][pid])[0]
    return out


def table(data: dict | None = None) -> str:
    """Median [interquartile range] of retention per measure and column, the seeds in the
    target (at least the pattern's low), and what the smoothing changes."""
    data = json.loads(FILE.read_text()) if data is None else data
    low = patterns()[0].low
    heads = [c["heading"] for c in data["columns"]]
    lines = [f"| {PATTERN} measured on | " + " | ".join(heads) + " |",
             "|---|" + "---|" * len(heads)]
    for k in data["smooth"]:
        pid = PATTERN if k == 1 else f"{PATTERN}_smooth{k}"
        name = ("the first and last week (the pattern)" if k == 1 else
                f"the majority of the {k} weeks centred on each")
        cells = []
        for c in data["columns"]:
            v = c["values"][pid]
            med, q25, q75 = _median_iqr(v)
            n_in = sum(1 for a in v if math.isfinite(a) and a >= low)
            cells.append(f"{100 * med:.0f}% [{100 * q25:.0f}, {100 * q75:.0f}], "
                         f"{n_in}/{len(v)} ≥ {100 * low:.0f}%")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    med = medians(data)
    widest = max(data["smooth"])
    shift = [int(round(100 * (med[h, widest] - med[h, 1]))) for h in heads]
    reach = [h for h in heads if any(med[h, k] >= low for k in data["smooth"])]
    return "\n".join(lines) + (
        f"\n\nShare of the cells ISIS held at the start of 2015 still held at its end: median "
        f"[interquartile range] over {data['seeds']} seeds, and the seeds at or above the "
        f"pattern's target. From single weeks to the majority of {widest} weeks the median "
        f"moves by {min(shift):+.0f} to {max(shift):+.0f} points; medians at or above "
        f"{100 * low:.0f}% on some measure: " + (", ".join(reach) if reach else "none") + ".\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="store_true", help="re-run the seeds first")
    a = ap.parse_args()
    text = table(run() if a.run else None)
    TABLE.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
