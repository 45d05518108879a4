"""The kept Sobol study of the Sahel (experiments/sensitivity/sobol_sahel.toml, kept in
studies/sensitivity/sobol_sahel/) has the experiment's runs, one of them made again gives its
outcomes, docs/CALIBRATION.md's table is the kept study's, and the reading beside it follows
from the indices."""

from __future__ import annotations

import pandas as pd
import pytest
from kept_runs import assert_remade
from script_loader import load_script


@pytest.fixture(scope="module")
def mod():
    return load_script("sensitivity_table")


@pytest.fixture(scope="module")
def tab(mod):
    return mod.indices()


def test_the_kept_study_has_the_experiments_runs_and_remakes_one(mod):
    from sim.sweeps.design import load_experiment
    exp = load_experiment(mod.EXPERIMENT)
    kept = pd.read_parquet(mod.STUDY / "runs.parquet")
    kept = kept[kept["status"] == "ok"].set_index("run_id")
    specs = {s.run_id: s for s in exp.runs()}
    assert set(kept.index) == set(specs), "run scripts/sensitivity_table.py --run ... --keep"
    assert exp.ensemble.log   # drawn as the priors are
    spec = specs[sorted(specs)[len(specs) // 3]]
    assert_remade(exp, spec, kept, "sobol_sahel run")


def test_the_docs_table_is_the_kept_studys(mod, tab):
    assert mod.doc_table() == mod.table().strip(), \
        "docs/CALIBRATION.md: run scripts/sensitivity_table.py --write"


TRUCE = ["outcome truce_broken:JNIM|ISGS", "outcome pattern_miss:jnim_isgs_coexistence",
         "outcome pattern_miss:jnim_isgs_war", "outcome pattern_miss:jnim_isgs_open_war",
         "outcome pattern_miss:jnim_isgs_clashes_first", "effect of H1s (truce_broken:JNIM|ISGS)"]


def test_the_reading_beside_the_table_follows_from_the_indices(tab):
    ok = tab[tab["error"] == ""]
    for target in TRUCE:
        sub = ok[ok["target"] == target].sort_values("S1", ascending=False)
        assert list(sub["parameter"][:2]) == ["truce_tolerance", "tension_per_cell"], target
        rest = sub.iloc[2:]
        assert (rest["S1"].abs() <= rest["S1_conf"]).all(), target   # within reach of zero
        assert rest["ST"].min() >= 0.25 and rest["ST"].max() <= 0.6, target   # "about 0.25-0.5"
    deaths = ok[ok["target"] == "outcome pattern_miss:jnim_isgs_deaths_aug2020"]
    assert deaths["ST"].max() > 1.0 and (deaths["ST_conf"] > deaths["ST"]).any()
    d2019 = ok[ok["target"] == "outcome pattern_miss:jnim_isgs_deaths_2019"]
    assert d2019.empty or (d2019["ST"] < 0.1).all()
