"""Which parameters carry the Sahel's patterns and H1: the shipped Sobol study, kept and tabled.

    .venv/bin/python scripts/sensitivity_table.py --run sweeps/sobol_sahel --keep --write
    .venv/bin/python scripts/sensitivity_table.py --check        # compare docs with the kept

``--run FOLDER`` runs (or resumes) ``experiments/sensitivity/sobol_sahel.toml`` into FOLDER
(1,280 ten-year runs, about 20 minutes on two cores); ``--keep`` copies the tables the analysis
reads into ``studies/sensitivity/sobol_sahel/``; the table (per target, the parameters whose
total index ST is at least 0.1, with S1 and ST and their 95% intervals, from SALib's Sobol
analysis as ``militant-sim report`` does it) goes between the ``<!-- sobol:start -->`` and
``<!-- sobol:end -->`` markers of docs/CALIBRATION.md with ``--write``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENT = ROOT / "experiments" / "sensitivity" / "sobol_sahel.toml"
STUDY = ROOT / "studies" / "sensitivity" / "sobol_sahel"
KEPT = ("manifest.json", "points.parquet", "runs.parquet")
DOC = ROOT / "docs" / "CALIBRATION.md"
START, END = "<!-- sobol:start -->", "<!-- sobol:end -->"
#: a parameter is listed for a target when its total index reaches this
MIN_ST = 0.1


def indices(folder: Path = STUDY):
    """The Sobol indices of every target of the sweep in ``folder`` (verdicts.ensemble_sobol)."""
    from sim.analysis.report import evaluate, load_sweep
    from sim.analysis.verdicts import ensemble_sobol

    sweep = load_sweep(folder)
    vs = [v for v, _, _ in evaluate(sweep, adjust=None)]
    return ensemble_sobol(sweep, vs)


def table(folder: Path = STUDY) -> str:
    tab = indices(folder)
    lines = ["| target | parameters with ST ≥ 0.1: S1 (95% interval), ST (95% interval) |",
             "|---|---|"]
    for target, sub in tab.groupby("target", sort=False):
        if sub["error"].iloc[0]:
            lines.append(f"| {target} | no indices: {sub['error'].iloc[0]} |")
            continue
        sub = sub.sort_values("ST", ascending=False)
        top = sub[sub["ST"] >= MIN_ST]
        cell = "; ".join(f"`{r.parameter}` S1 {r.S1:.2f} (±{r.S1_conf:.2f}), ST {r.ST:.2f} "
                         f"(±{r.ST_conf:.2f})" for r in top.itertuples()) or "none"
        lines.append(f"| {target} | {cell} |")
    n = len(tab["parameter"].unique()) - (1 if "" in set(tab["parameter"]) else 0)
    return "\n".join(lines) + (f"\n\nSobol indices over {n} parameters (SALib), kept in "
                               f"`studies/sensitivity/sobol_sahel/`.\n")


def doc_table(text: str | None = None) -> str:
    text = DOC.read_text() if text is None else text
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", metavar="FOLDER", help="run (or resume) the study into FOLDER")
    ap.add_argument("--keep", action="store_true", help=f"copy its tables into {STUDY}")
    what = ap.add_mutually_exclusive_group()
    what.add_argument("--write", action="store_true", help="rewrite the table in the docs")
    what.add_argument("--check", action="store_true", help="exit 1 if the docs differ")
    a = ap.parse_args(argv)
    folder = STUDY
    if a.run:
        from sim.sweeps.runner import run_sweep

        folder = Path(a.run)
        run_sweep(EXPERIMENT, out=folder, progress=True)
    if a.keep:
        STUDY.mkdir(parents=True, exist_ok=True)
        for f in KEPT:
            shutil.copy2(folder / f, STUDY / f)
        folder = STUDY
    new = table(folder)
    if a.write:
        text = DOC.read_text()
        head, rest = text.split(START, 1)
        DOC.write_text(head + START + "\n" + new.strip() + "\n" + END + rest.split(END, 1)[1])
        return 0
    if a.check:
        if doc_table() != new.strip():
            print("docs/CALIBRATION.md's Sobol table differs from the kept study; update with\n"
                  "  .venv/bin/python scripts/sensitivity_table.py --write", file=sys.stderr)
            return 1
        return 0
    print(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
