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
from pathlib import Path

import pandas as pd
import pytest
from kept_runs import assert_remade

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
    assert_remade(exp, spec, kept, f"{name} run")


def test_readme_verdicts_table_covers_every_hypothesis():
    vt = _script()
    lines = vt.readme_table().splitlines()
    head = [c.strip() for c in lines[0].strip(" |").split("|")]
    rows = [[c.strip() for c in r.replace("\\|", "/").strip(" |").split("|")] for r in lines[2:]]
    assert all(len(r) == len(head) for r in rows)
    ids = {r[0] for r in rows}
    assert {"H1", "H2", "H3", "H4", "H5", "H6"} <= ids
    verdicts = {r[head.index("verdict")] for r in rows}
    assert verdicts <= {"supported", "not supported", "inconclusive", "set by the rules"}
    # the ensemble column: a share of draws with its interval for every hypothesis, over the
    # prior ranges (and over a posterior of the core calibration once the study has one)
    columns = [c for c in ("share of prior draws", "share of posterior draws") if c in head]
    assert "share of prior draws" in columns
    for column in columns:
        shares = [r[head.index(column)] for r in rows]
        assert all(s.endswith("of 30") and "%" in s for s in shares), column


@pytest.mark.parametrize("name", ["h1_claim", "h2_restriction", "h3_propaganda",
                                  "h4_infighting", "h5_governance", "h6_leader"])
def test_kept_ensemble_is_what_the_model_gives_now(name, tmp_path):
    """The study's ensemble (each experiment over Latin-hypercube draws of the shared
    parameters) has exactly the runs its experiment would make now, and one of them, made
    again from its seed and its draw, gives the same outcomes."""
    from sim.sweeps.design import load_experiment

    vt = _script()
    kept_dir = STUDY / vt.ENSEMBLE / name
    exp = load_experiment(vt.ensemble_experiment(name, tmp_path))
    kept = pd.read_parquet(kept_dir / "runs.parquet")
    kept = kept[kept["status"] == "ok"].set_index("run_id")
    specs = {s.run_id: s for s in exp.runs()}
    assert set(kept.index) == set(specs), (
        f"the kept ensemble of {name} does not have the experiment's runs; run the study "
        "again with --ensemble")
    spec = specs[sorted(specs)[len(specs) // 2]]
    assert_remade(exp, spec, kept, f"{name} ensemble run")


def test_the_posterior_ensemble_draws_what_the_posterior_has_and_the_experiment_leaves(tmp_path):
    """``--posterior`` writes each experiment with an ensemble drawn from a calibration's
    posterior (here the kept pilot of the core calibration): 30 draws, each a particle's values
    of the parameters the experiment does not vary; the ablation points' own values win."""
    import pandas as pd
    from sim.sweeps.design import load_experiment

    vt = _script()
    pilot = ROOT / "studies" / "calibration_pilot"
    exp = load_experiment(vt.posterior_experiment("h1_claim", tmp_path, source=str(pilot)))
    assert exp.ensemble.kind == "posterior" and len(exp.ensemble.draws) == vt.ENSEMBLE_DRAWS
    post = pd.read_parquet(pilot / "posterior.parquet")
    for d in exp.ensemble.draws:
        assert "groups.ISGS.claim" not in d     # h1 varies it
        assert "claim_pull" in d                # drawn: the particle's own value
        # every drawn value is a particle's
        row = post[post["break_rate"] == d["break_rate"]]
        assert len(row) >= 1 and float(row["truce_tolerance"].iloc[0]) == d["truce_tolerance"]
    ablated = {p.point_id for p in exp.ablation_points if "claim_pull" in p.values}
    assert ablated
    for s in exp.runs():   # every run carries its draw; the ablations keep their own values
        assert s.params["break_rate"] == exp.ensemble.draws[s.draw]["break_rate"]
        if s.point_id in ablated:
            assert s.params["claim_pull"] == 0.0     # the ablation's own value wins
        else:
            assert s.params["claim_pull"] == exp.ensemble.draws[s.draw]["claim_pull"]


def test_the_ensemble_draws_the_shared_parameters_the_experiment_leaves_alone():
    vt = _script()
    ranges = vt.ensemble_ranges(ROOT / "experiments" / "h4_infighting.toml")
    assert "clash_kappa" not in ranges            # h4 varies it
    assert "break_rate" in ranges and ranges["break_rate"][0] < ranges["break_rate"][1]
    assert ranges["break_rate"][2] == "loguniform"  # drawn as the calibration's prior is
    h1 = vt.ensemble_ranges(ROOT / "experiments" / "h1_claim.toml")
    assert "claim_pull" not in h1                 # an ablation of h1 sets it
