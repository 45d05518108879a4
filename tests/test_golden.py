"""Golden baseline: fixed runs must reproduce the stored outputs exactly.

The baseline lives in tests/golden/ and is written only by ``scripts/regenerate_golden.py``.
A failure here means the model's behaviour changed. If that is intended, regenerate the baseline
(``.venv/bin/python scripts/regenerate_golden.py``) and commit it with the reason.
"""

from __future__ import annotations

from script_loader import load_script
from pathlib import Path

import pandas as pd
import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"


golden = load_script("regenerate_golden")
CASES = golden.available_cases()


def test_every_case_has_a_baseline():
    assert CASES, "no golden case can run in this checkout"
    missing = [c[0] for c in CASES if not (GOLDEN / c[0] / "case.json").is_file()]
    assert not missing, (f"no golden baseline for {missing}. Create it with\n"
                         "    .venv/bin/python scripts/regenerate_golden.py")
    for name, scenario, weeks, seed, overrides in CASES:
        case, *_ = golden.load_case(GOLDEN / name)
        assert ((case["scenario"], case["weeks"], case["seed"], case.get("overrides", {}))
                == (scenario, weeks, seed, overrides)), (
            f"tests/golden/{name} was made for another run. " + golden.HOW_TO_REGENERATE)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_run_matches_golden_baseline(case):
    folder = GOLDEN / case[0]
    if not (folder / "case.json").is_file():
        pytest.fail(f"no baseline in {folder}. " + golden.HOW_TO_REGENERATE)
    diffs = golden.check_case(folder)
    made = golden.load_case(folder)[0].get("made_with", {})
    assert not diffs, (
        f"{case[1]} ({case[2]} weeks, seed {case[3]}) no longer reproduces its golden baseline "
        f"(made with {made}):\n  " + "\n  ".join(diffs[:25])
        + ("\n  ..." if len(diffs) > 25 else "") + "\n" + golden.HOW_TO_REGENERATE)


# -- the comparison itself must be able to fail ------------------------------------------------
def test_comparison_catches_changes():
    frame = pd.DataFrame({"week": [0, 1, 2], "fighters": [10, 11, 12],
                          "hostility.A": [0.5, 0.25, 0.125], "alive.A": [True, True, False]})
    assert golden.compare_frames("steps", frame, frame.copy()) == []
    changed = frame.copy()
    changed.loc[2, "fighters"] = 13
    diffs = golden.compare_frames("steps", changed, frame)
    assert len(diffs) == 1 and "'fighters'" in diffs[0] and "week 2" in diffs[0]
    changed = frame.copy()
    changed.loc[1, "hostility.A"] = 0.25 * (1 + 1e-6)
    assert golden.compare_frames("steps", changed, frame)
    changed.loc[1, "hostility.A"] = 0.25 * (1 + 1e-13)
    assert golden.compare_frames("steps", changed, frame) == []
    assert golden.compare_frames("steps", frame.drop(columns="alive.A"), frame)
    assert golden.compare_json({"a": 1, "b": [0.5]}, {"a": 1, "b": [0.5]}) == []
    assert golden.compare_json({"a": 2}, {"a": 1}) == ["summary.a: 2 now, 1 in the baseline"]
    assert golden.compare_json({"a": 1}, {"a": 1, "b": 2})
    assert golden.compare_json({"b": [1.0, 2.0]}, {"b": [1.0, 2.5]})
