"""The README's verdicts table is what the shipped study gives (H1 to H6, default size).

The full study (six experiments, 30 replicates per condition, with their ablation points: about
half an hour on two cores) is run by ``scripts/verdicts_table.py --run sweeps/study`` and its
tables are kept in ``studies/verdicts/`` (``scripts/verdicts_table.py --keep``). These tests
check, within the test suite's time, that

* the README's table is exactly what the verdict code makes of the kept study (never typed in);
* the kept study is what the model gives now: one run of each experiment, chosen from the kept
  study's runs, is made again from its seed and must give the same outcomes to the last digit,
  so a change of the model, an experiment or a scenario without a new study fails here.
"""

from __future__ import annotations

from script_loader import load_script
import json
import math
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "studies" / "verdicts"


def _script():
    return load_script("verdicts_table")


def test_readme_verdicts_are_what_the_kept_study_gives():
    vt = _script()
    assert vt.table(STUDY) == vt.readme_table(), (
        "README's verdicts table differs from the kept study; regenerate with "
        "`.venv/bin/python scripts/verdicts_table.py --run sweeps/study --keep --write`")


@pytest.mark.parametrize("name", ["h1_claim", "h2_restriction", "h3_propaganda",
                                  "h4_infighting", "h5_governance", "h6_leader"])
def test_kept_study_is_what_the_model_gives_now(name):
    from sim.sweeps.design import load_experiment
    from sim.sweeps.runner import execute, make_task

    manifest = json.loads((STUDY / name / "manifest.json").read_text())
    reps = manifest["experiment"]["replicates"]  # the kept study may be smaller than the file's
    exp = load_experiment(ROOT / "experiments" / f"{name}.toml", replicates=reps)
    kept = pd.read_parquet(STUDY / name / "runs.parquet")
    kept = kept[kept["status"] == "ok"].set_index("run_id")
    specs = {s.run_id: s for s in exp.runs()}
    assert set(kept.index) == set(specs), (
        f"the kept study of {name} does not have the experiment's runs; run the study again")
    # the last replicate of the last point: an ablation point where the experiment has one
    spec = specs[sorted(specs, key=lambda r: (specs[r].point_id, specs[r].replicate))[-1]]
    rec = execute(make_task(exp, spec))
    assert rec["status"] == "ok", rec.get("error")
    for outcome, value in rec["outcomes"].items():
        old = kept.loc[spec.run_id, outcome]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            assert old is None or (isinstance(old, float) and math.isnan(old)), outcome
        else:
            assert old == value, (f"{name} run {spec.run_id}: {outcome} was {old} in the kept "
                                  f"study and is {value} now; run the study again")


def test_readme_verdicts_table_covers_every_hypothesis():
    vt = _script()
    rows = vt.readme_table().splitlines()[2:]
    ids = {r.split("|")[1].strip() for r in rows}
    assert {"H1", "H2", "H3", "H4", "H5", "H6"} <= ids
    verdicts = {r.rstrip(" |").rsplit("|", 1)[1].strip() for r in rows}
    assert verdicts <= {"supported", "not supported", "inconclusive", "set by the rules"}
