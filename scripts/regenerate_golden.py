#!/usr/bin/env python
"""Regenerate (or check) the golden baseline of tests/test_golden.py.

The golden baseline is the exact output of a few fixed runs. ``tests/test_golden.py`` reruns
them and compares, so any change of the model's behaviour shows up as a failing test. When a
change is intentional (a rule was fixed or recalibrated), regenerate the baseline and commit it
with a note saying why the numbers moved:

    .venv/bin/python scripts/regenerate_golden.py            # rewrite tests/golden/
    .venv/bin/python scripts/regenerate_golden.py --check    # compare only, write nothing

Each case is written to ``tests/golden/<case>/``:

* ``steps.csv``: the per-week series (every column), floats at full precision;
* ``events.csv``: every event;
* ``summary.json``: the run summary without its provenance (versions, commit, wall time);
* ``case.json``: the scenario, weeks and seed, and the versions that produced the baseline.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"

#: the fixed runs: (case name, scenario, weeks, seed, overrides)
CASES: list[tuple[str, str, int, int, dict]] = [
    ("classroom-104w-seed7", "classroom", 104, 7, {}),
    ("sahel_2019-52w-seed3", "sahel_2019", 52, 3, {}),
    # rules no shipped scenario uses: administrations that hold ground, offensives on axes
    ("syria_2013-administered-78w-seed5", "syria_2013", 78, 5,
     {"groups.ISIS.administration": 1.0, "groups.Rebels.administration": 0.5,
      "timeline.sdf_kobani.week": 40, "timeline.sdf_kobani.axes": 2}),
]

#: floats compare within this relative / absolute tolerance (the runs are deterministic; the
#: tolerance only absorbs last-digit differences of floating-point libraries)
RTOL = 1e-9
ATOL = 1e-12

HOW_TO_REGENERATE = (
    "If this change of the model's behaviour is intentional, regenerate the baseline with\n"
    "    .venv/bin/python scripts/regenerate_golden.py\n"
    "review `git diff --stat tests/golden/`, and commit it saying why the numbers moved.")


def available_cases() -> list[tuple[str, str, int, int, dict]]:
    """The cases whose scenario file exists in this checkout."""
    from sim.core.scenario import available_scenarios

    have = set(available_scenarios())
    return [c for c in CASES if c[1] in have]


def run_case(scenario: str, weeks: int, seed: int, overrides: dict | None = None):
    """Run one case; return (steps, events, summary without provenance)."""
    import sim
    from sim.common.jsonio import jsonable

    res = sim.run(scenario, steps=weeks, seed=seed, overrides=overrides or None,
                  progress=False)
    summary = {k: v for k, v in res.summary.items() if k != "provenance"}
    summary = json.loads(json.dumps(summary, default=jsonable))  # plain JSON types
    return res.steps, res.events, summary


def write_case(folder: Path, case: tuple[str, str, int, int, dict]) -> None:
    import mesa

    import sim

    name, scenario, weeks, seed, overrides = case
    steps, events, summary = run_case(scenario, weeks, seed, overrides)
    folder.mkdir(parents=True, exist_ok=True)
    steps.to_csv(folder / "steps.csv", index=False, float_format="%.17g")
    events.to_csv(folder / "events.csv", index=False, float_format="%.17g")
    (folder / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    (folder / "case.json").write_text(json.dumps({
        "case": name, "scenario": scenario, "weeks": weeks, "seed": seed,
        "overrides": overrides, "made_with": {"militant-sim": sim.__version__, "mesa": mesa.__version__,
                      "numpy": np.__version__, "pandas": pd.__version__,
                      "python": sys.version.split()[0]},
    }, indent=1) + "\n")


def load_case(folder: Path):
    """The stored baseline of one case: (case, steps, events, summary)."""
    case = json.loads((folder / "case.json").read_text())
    steps = pd.read_csv(folder / "steps.csv")
    events = pd.read_csv(folder / "events.csv", keep_default_na=False,
                         dtype={"group": str, "other": str, "winner": str, "detail": str,
                                "kind": str})
    summary = json.loads((folder / "summary.json").read_text())
    return case, steps, events, summary


# ---------------------------------------------------------------------------------------------
# Comparison (also used by tests/test_golden.py)
# ---------------------------------------------------------------------------------------------
def compare_frames(what: str, new: pd.DataFrame, old: pd.DataFrame, key: str = "week") -> list[str]:
    """Differences between a fresh frame and its baseline, as readable lines (empty: equal)."""
    out: list[str] = []
    added = [c for c in new.columns if c not in old.columns]
    removed = [c for c in old.columns if c not in new.columns]
    if added:
        out.append(f"{what}: new columns {added}")
    if removed:
        out.append(f"{what}: columns no longer produced {removed}")
    if len(new) != len(old):
        out.append(f"{what}: {len(new)} rows, baseline has {len(old)}")
    n = min(len(new), len(old))
    for col in [c for c in old.columns if c in new.columns]:
        a = new[col].iloc[:n].reset_index(drop=True)
        b = old[col].iloc[:n].reset_index(drop=True)
        if pd.api.types.is_bool_dtype(a) or pd.api.types.is_bool_dtype(b):
            same = a.astype(str).str.lower() == b.astype(str).str.lower()
        elif pd.api.types.is_integer_dtype(a) and pd.api.types.is_integer_dtype(b):
            same = a.to_numpy() == b.to_numpy()
        elif pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            same = np.isclose(x, y, rtol=RTOL, atol=ATOL) | (np.isnan(x) & np.isnan(y))
        else:
            same = a.fillna("").astype(str).to_numpy() == b.fillna("").astype(str).to_numpy()
        same = np.asarray(same)
        if not same.all():
            i = int(np.flatnonzero(~same)[0])
            at = f"{key} {new[key].iloc[i]}" if key in new.columns else f"row {i}"
            out.append(f"{what}: column {col!r} differs first at {at}: {_plain(a.iloc[i])!r} "
                       f"now, {_plain(b.iloc[i])!r} in the baseline "
                       f"({int((~same).sum())} rows differ)")
    return out


def _plain(x):
    return x.item() if isinstance(x, np.generic) else x


def compare_json(new: Any, old: Any, path: str = "summary") -> list[str]:
    """Differences between two JSON values (ints and strings exact, floats within tolerance)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new), key=str):
            if k not in new:
                out.append(f"{path}.{k}: missing now (baseline {old[k]!r})")
            elif k not in old:
                out.append(f"{path}.{k}: new key (now {new[k]!r})")
            else:
                out += compare_json(new[k], old[k], f"{path}.{k}")
        return out
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{path}: {len(new)} items now, {len(old)} in the baseline"]
        out = []
        for i, (a, b) in enumerate(zip(new, old)):
            out += compare_json(a, b, f"{path}[{i}]")
        return out
    if isinstance(old, float) or isinstance(new, float):
        if (isinstance(new, (int, float)) and isinstance(old, (int, float))
                and not isinstance(new, bool) and not isinstance(old, bool)
                and (math.isclose(new, old, rel_tol=RTOL, abs_tol=ATOL)
                     or (math.isnan(new) and math.isnan(old)))):
            return []
        return [f"{path}: {new!r} now, {old!r} in the baseline"]
    if new != old or type(new) is not type(old):
        return [f"{path}: {new!r} now, {old!r} in the baseline"]
    return []


def check_case(folder: Path) -> list[str]:
    """Rerun the case stored in ``folder`` and list every difference from its baseline."""
    case, steps0, events0, summary0 = load_case(folder)
    steps, events, summary = run_case(case["scenario"], case["weeks"], case["seed"],
                                      case.get("overrides"))
    return (compare_frames("steps", steps, steps0)
            + compare_frames("events", events, events0, key="week")
            + compare_json(summary, summary0))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="compare fresh runs with the stored baseline; write nothing")
    ap.add_argument("--only", metavar="CASE", help="only this case")
    args = ap.parse_args(argv)
    cases = [c for c in available_cases() if args.only in (None, c[0])]
    skipped = [c[0] for c in CASES if c not in available_cases()]
    if skipped:
        print(f"skipped (scenario file not found): {', '.join(skipped)}", file=sys.stderr)
    if not cases:
        print("no case to run", file=sys.stderr)
        return 2
    if args.check:
        bad = 0
        for name, *_ in cases:
            diffs = check_case(GOLDEN / name)
            print(f"{name}: " + ("same as the baseline" if not diffs else
                                 f"{len(diffs)} differences"))
            for d in diffs[:20]:
                print("  " + d)
            bad += bool(diffs)
        return 1 if bad else 0
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for case in cases:
        name = case[0]
        # write into a temporary folder, then swap: an interrupted run leaves the old baseline
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=GOLDEN))
        try:
            write_case(tmp, case)
            tmp.chmod(0o755)
            dest = GOLDEN / name
            if dest.exists():
                shutil.rmtree(dest)
            tmp.rename(dest)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
        print(f"wrote {(GOLDEN / name).relative_to(ROOT)}/ ({case[1]}, {case[2]} weeks, "
              f"seed {case[3]})")
    if not args.only:
        known = {c[0] for c in CASES}
        for stale in sorted(p for p in GOLDEN.iterdir() if p.is_dir() and p.name not in known
                            and not p.name.startswith(".")):
            shutil.rmtree(stale)
            print(f"removed {stale.relative_to(ROOT)}/ (no longer a case)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
