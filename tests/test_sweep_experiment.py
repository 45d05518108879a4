"""Experiment files: validation errors, designs, seeds by construction, shipped experiments.

None of these tests runs the model except the end-to-end check of the shipped experiments at
a few weeks per run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_sweep_helpers import experiment, write

from sim import cli
from sim.analysis.stats import MIN_PER_CONDITION
from sim.sweeps.design import (
    ExperimentError,
    available_experiments,
    load_experiment,
    point_key,
    run_seed,
)

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "experiments").glob("*.toml"))


# ---------------------------------------------------------------------------------------------
# Bad files: the error names the file and the key, and the command exits with status 2
# ---------------------------------------------------------------------------------------------
BAD = [
    # (changes to the base experiment, text expected in the message)
    ({"experiment__stepz": 5}, "experiment.stepz: unknown key"),
    ({"experiment__scenario": "nowhere"}, "experiment.scenario: unknown scenario"),
    ({"experiment__steps": 0}, "experiment.steps: must be a whole number >= 1"),
    ({"experiment__replicates": 1.5}, "experiment.replicates"),
    ({"experiment__seed": -1}, "experiment.seed"),
    ({"experiment__outcomes": []}, "experiment.outcomes: must be a non-empty list"),
    ({"experiment__outcomes": ["clash_rat"]}, "did you mean clash_rate"),
    ({"experiment__outcomes": ["final_fighters:ISIS"]}, "unknown group 'ISIS'"),
    ({"experiment__outcomes": ["final_fighters"]}, "needs a group"),
    ({"experiment__outcomes": ["clash_count:Caliphate>Caliphate"]}, "needs a pair"),
    ({"experiment__series": ["nothing.*"]}, "experiment.series: matches no column"),
    ({"experiment__collect_every": 0}, "experiment.series: needs experiment.collect_every"),
    ({"constants": {"clash_kapa": 0.1}}, 'constants."clash_kapa"'),
    ({"constants": {"clash_kappa": 99.0}}, "out of range"),
    ({"constants": {"steps": 10}}, 'constants."steps": cannot be a constant'),
    ({"parameters": {"groups.Caliphate.claim": [0.0, 1.5]}},
     'parameters."groups.Caliphate.claim": rejected by scenario classroom'),
    ({"parameters": {"groups.Nobody.claim": [0.0]}}, "'groups.Nobody' is not a table"),
    ({"parameters": {"timeline.nope.level": [0.1]}}, "no timeline event has this id"),
    ({"parameters": {"clash_kappa": [0.1]}}, "is also a constant"),
    ({"parameters": {"groups.Caliphate.claim": []}}, "empty list"),
    ({"parameters": {"groups.Caliphate.claim": [0.5, 0.5]}}, "listed twice"),
    ({"parameters": {"groups.Caliphate.claim": {"low": 0.0, "high": 1.0}}},
     "a range in a grid needs num"),
    ({"parameters": {"groups.Caliphate.claim": {"low": 1.0, "high": 0.0, "num": 3}}},
     "low must be below high"),
    ({"design": {"kind": "random"}}, "design.kind: unknown design"),
    ({"design": {"kind": "sobol", "samples": 6}}, "power of two"),
    ({"design": {"kind": "lhs"}}, "design.samples: missing"),
    ({"design": {"kind": "grid", "samples": 8}}, "not used by design 'grid'"),
    ({"design": {"kind": "lhs", "samples": 8}}, "cannot be sampled by design 'lhs'"),
    ({"design": {"kind": "explicit"},
      "parameters": {"groups.Caliphate.claim": [0.0, 1.0], "groups.Front.propaganda": [0.2]}},
     "lists of the same length"),
    ({"hypothesis__expect": "bigger"}, "hypothesis.expect: missing or unknown"),
    ({"hypothesis__outcome": "mergers"}, "hypothesis.outcome: not among experiment.outcomes"),
    ({"hypothesis__treatment": {"groups.Caliphate.claim": 0.5}},
     "hypothesis.treatment: no point of the design has these values"),
    ({"hypothesis__control": {"clash_kappa": 0.05}}, "not a varied parameter"),
    ({"hypothesis__treatment": {"groups.Caliphate.claim": 0.0}}, "share points"),
    ({"hypothesis__min_effect": -1}, "hypothesis.min_effect: must be a finite number > 0"),
    ({"hypothesis__min_effect": None}, "hypothesis.min_effect: missing"),
    ({"hypothesis__min_effect": None, "hypothesis__expect": "equivalent"},
     "the equivalence margin"),
    ({"hypothesis__min_effect": 0.0}, "hypothesis.min_effect: must be a finite number > 0"),
    ({"hypothesis__min_effect": float("nan")}, "hypothesis.min_effect: must be a finite"),
    ({"hypothesis__min_effect": float("inf")}, "hypothesis.min_effect: must be a finite"),
    ({"hypothesis__min_effect": True}, "hypothesis.min_effect: must be a finite"),
    ({"hypothesis__min_effect": "big"}, "(clashes per year)"),
    ({"hypothesis__also": [{"outcome": "clash_rate", "control": {"groups.Caliphate.claim": 0.0},
                            "treatment": {"groups.Caliphate.claim": 1.0},
                            "expect": "less"}]}, "hypothesis.also[0].min_effect: missing"),
    ({"hypothesis__sd": -2.0}, "hypothesis.sd: must be a finite number > 0"),
    ({"experiment__power": 1.5}, "experiment.power: must be a number between 0 and 1"),
    ({"experiment__replicates": "lots"}, "experiment.replicates"),
    ({"hypothesis__ablation": [{"set": {"defect_epsilon": 0.0}}]},
     "hypothesis.ablation[0].name: missing"),
    ({"hypothesis__ablation": [{"name": "x", "set": {"defect_epsilon": 0.0}},
                               {"name": "x", "set": {"desert_rate": 0.0}}]},
     "hypothesis.ablation[1].name: listed twice"),
    ({"hypothesis__ablation": [{"name": "x"}]}, "hypothesis.ablation[0].set: missing"),
    ({"hypothesis__ablation": [{"name": "x", "set": {"defect_epsilon": 0.0}, "cary": ""}]},
     "hypothesis.ablation[0].cary: unknown key"),
    ({"hypothesis__ablation": [{"name": "x", "set": {"defect_epsilonn": 0.0}}]},
     'hypothesis.ablation[0].set."defect_epsilonn": rejected by scenario'),
    ({"hypothesis__ablation": [{"name": "x", "set": {"defect_epsilon": 5.0}}]},
     "out of range"),
    ({"hypothesis__ablation": [{"name": "x", "set": {"groups.Caliphate.claim": 0.0}}]},
     "is what the hypothesis compares"),
    ({"hypothesis__ablation": [{"name": "x", "set": {"seed": 3}}]},
     "cannot be set by an ablation"),
    ({"extra": {"a": 1}}, "extra: unknown key"),
]


@pytest.mark.parametrize("changes,message", BAD, ids=[m for _, m in BAD])
def test_bad_experiment_names_the_key(tmp_path, changes, message):
    f = write(tmp_path / "bad.toml", experiment(**changes))
    with pytest.raises(ExperimentError) as err:
        load_experiment(f)
    text = str(err.value)
    assert message in text
    assert text.startswith(str(f)), text


def test_bad_toml_and_missing_file(tmp_path):
    f = tmp_path / "broken.toml"
    f.write_text("[experiment\nname = 1")
    with pytest.raises(ExperimentError, match="not valid TOML"):
        load_experiment(f)
    with pytest.raises(ExperimentError, match="no such experiment file"):
        load_experiment(tmp_path / "absent.toml")


def test_command_line_exits_2_with_one_line(tmp_path, capsys):
    f = write(tmp_path / "bad.toml", experiment(experiment__outcomes=["clash_rat"]))
    status = cli.main(["sweep", str(f), "--dry-run"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "experiment.outcomes" in err and "clash_rat" in err
    assert cli.main(["sweep", str(f), "--workers", "0"]) == 2
    assert cli.main(["sweep"]) == 2
    assert "h1_claim" in capsys.readouterr().err
    # a bad smallest effect of interest is caught at load time, in --dry-run too
    f = write(tmp_path / "bad2.toml", experiment(hypothesis__min_effect=float("inf")))
    assert cli.main(["sweep", str(f), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "hypothesis.min_effect" in err and "inf" in err


# ---------------------------------------------------------------------------------------------
# Designs
# ---------------------------------------------------------------------------------------------
def test_grid_explicit_and_linspace():
    exp = load_experiment(experiment())
    assert len(exp.points) == 4 and exp.n_runs == 8
    assert [p.values for p in exp.points][:2] == [
        {"groups.Caliphate.claim": 0.0, "groups.Front.propaganda": 0.2},
        {"groups.Caliphate.claim": 0.0, "groups.Front.propaganda": 0.6}]
    ex = load_experiment(experiment(design={"kind": "explicit"}, hypothesis=None))
    assert [tuple(p.values.values()) for p in ex.points] == [(0.0, 0.2), (1.0, 0.6)]
    lin = load_experiment(experiment(
        parameters={"groups.Caliphate.claim": {"low": 0.0, "high": 1.0, "num": 5}},
        hypothesis=None))
    assert [p.values["groups.Caliphate.claim"] for p in lin.points] == [0, 0.25, 0.5, 0.75, 1]
    # an integer parameter (a timeline week) keeps whole numbers; an integer written for a float
    # parameter is stored as a float, so 1 and 1.0 are the same point
    ints = load_experiment(experiment(parameters={"vision": {"low": 1, "high": 3, "num": 3}},
                                      hypothesis=None))
    assert [p.values["vision"] for p in ints.points] == [1, 2, 3]
    one = load_experiment(experiment(parameters={"groups.Caliphate.claim": [0, 1]},
                                     hypothesis=None))
    assert one.points[1].values == {"groups.Caliphate.claim": 1.0}
    assert one.points[1].key == point_key({"groups.Caliphate.claim": 1.0})


def _sampler(kind, samples, **design):
    return experiment(
        parameters={"groups.Caliphate.claim": {"low": 0.0, "high": 1.0},
                    "clash_kappa": {"low": 0.0, "high": 0.1},
                    "vision": {"low": 1, "high": 4}},
        constants={}, design={"kind": kind, "samples": samples, **design}, hypothesis=None)


@pytest.mark.parametrize("kind,samples,n_points", [("lhs", 10, 10), ("sobol", 8, 8 * (3 + 2)),
                                                   ("morris", 4, 4 * (3 + 1))])
def test_sampler_designs(kind, samples, n_points):
    exp = load_experiment(_sampler(kind, samples))
    assert len(exp.points) == n_points
    X = np.array([[p.values[k] for k in exp.parameters] for p in exp.points], dtype=float)
    assert (X[:, 0] >= 0).all() and (X[:, 0] <= 1).all()
    assert (X[:, 1] >= 0).all() and (X[:, 1] <= 0.1).all()
    # vision is an integer parameter: rounded for the runs, the sampler's value kept
    assert set(X[:, 2]) <= {1, 2, 3, 4}
    assert all(p.raw and 1 <= p.raw["vision"] <= 4 for p in exp.points)
    # the same file gives the same design
    again = load_experiment(_sampler(kind, samples))
    assert [p.key for p in again.points] == [p.key for p in exp.points]
    if kind == "lhs":  # a Latin hypercube has one point in each of the n strata of each axis
        strata = np.floor(X[:, 0] * samples).astype(int)
        assert sorted(strata) == list(range(samples))
    else:
        problem = exp.problem()
        assert problem["names"] == ["groups.Caliphate.claim", "clash_kappa", "vision"]
        assert problem["bounds"] == [[0.0, 1.0], [0.0, 0.1], [1.0, 4.0]]
    ids = [p.key for p in exp.points]
    assert len(set(ids)) == len(ids), "repeated points get distinct keys"


def test_salib_analysis_reads_the_design_in_order():
    """Points are in SALib's sample order, so its analysis of y(x) finds the right inputs."""
    from SALib.analyze import morris as morris_an
    from SALib.analyze import sobol as sobol_an

    exp = load_experiment(_sampler("sobol", 64))
    X = np.array([[p.values[k] for k in exp.parameters] for p in exp.points], dtype=float)
    Y = 10 * X[:, 0] + 0.1 * X[:, 1]  # only the claim matters
    si = sobol_an.analyze(exp.problem(), Y, calc_second_order=False)
    assert si["ST"][0] > 0.9 and si["ST"][1] < 0.05 and si["ST"][2] < 0.05
    exp = load_experiment(_sampler("morris", 10))
    X = np.array([[(p.raw or p.values)[k] for k in exp.parameters] for p in exp.points])
    Y = 10 * X[:, 0]
    mi = morris_an.analyze(exp.problem(), X, Y)
    assert mi["mu_star"][0] > 10 * mi["mu_star"][1] and mi["mu_star"][2] == 0


def test_scale_and_overrides():
    exp = load_experiment(experiment(), scale=2.5)
    assert exp.replicates == 5 and len(exp.points) == 4
    assert load_experiment(experiment(), scale=0.1).replicates == 1
    assert load_experiment(experiment(), replicates=7, scale=3).replicates == 7
    assert load_experiment(experiment(), steps=3).steps == 3
    s = load_experiment(_sampler("sobol", 8), scale=4)
    assert s.design["samples"] == 32 and len(s.points) == 32 * 5
    m = load_experiment(_sampler("morris", 4), scale=0.5)
    assert m.design["samples"] == 2
    with pytest.raises(ExperimentError, match="--scale"):
        load_experiment(experiment(), scale=0)


# ---------------------------------------------------------------------------------------------
# Seeds by construction
# ---------------------------------------------------------------------------------------------
def test_seeds_do_not_depend_on_other_points_or_replicates():
    small = load_experiment(experiment())
    big = load_experiment(experiment(
        parameters={"groups.Caliphate.claim": [0.5, 0.0, 1.0],   # a new value, first
                    "groups.Front.propaganda": [0.2, 0.6, 0.9]}), replicates=5)
    seeds_small = {r.run_id: (r.seed, r.params) for r in small.runs()}
    seeds_big = {r.run_id: (r.seed, r.params) for r in big.runs()}
    assert set(seeds_small) < set(seeds_big)
    for rid, v in seeds_small.items():
        assert seeds_big[rid] == v
    # point ids change with the design; keys and seeds do not
    assert any(small.points[i].point_id != p.point_id for i, p in enumerate(
        [q for q in big.points if q.key in {x.key for x in small.points}]))
    # every run has its own seed; a different master seed changes them all
    all_seeds = [s for s, _ in seeds_big.values()]
    assert len(set(all_seeds)) == len(all_seeds)
    other = load_experiment(experiment(experiment__seed=12))
    assert not {r.seed for r in other.runs()} & {r.seed for r in small.runs()}


def test_seed_is_a_seedsequence_of_master_point_and_replicate():
    key = point_key({"a": 1.0})
    ss = np.random.SeedSequence(5, spawn_key=(int(key, 16), 3))
    assert run_seed(5, key, 3) == int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))
    assert point_key({"a": 1.0, "b": "x"}) == point_key({"b": "x", "a": 1.0})
    assert point_key({"a": 1.0}) != point_key({"a": 1.0}, occurrence=1)


# ---------------------------------------------------------------------------------------------
# The shipped experiments
# ---------------------------------------------------------------------------------------------
def test_there_is_one_experiment_per_hypothesis():
    ids = sorted(load_experiment(f).hypothesis["id"] for f in SHIPPED
                 if f.stem.startswith("h"))
    assert ids == ["H1", "H2", "H3", "H4", "H5", "H6"]
    assert {f.stem for f in SHIPPED} <= set(available_experiments())


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_experiment_parses_and_expands(path):
    exp = load_experiment(path)
    assert exp.name == path.stem
    assert exp.points
    text = path.read_text()
    assert "Default size:" in text
    h = exp.hypothesis
    if path.stem.startswith("h"):
        assert h["statement"] and h["outcome"] in exp.outcomes
        for c in [h] + h["also"]:
            assert c["control_point_ids"] and c["treatment_point_ids"]
            # every hypothesis states its smallest effect of interest
            assert np.isfinite(c["min_effect"]) and c["min_effect"] > 0
            # the default size gives every hypothesis at least 30 runs per condition (the
            # floor of the power-sized default; docs/REPORTS.md)
            n = exp.replicates * min(len(c["control_point_ids"]), len(c["treatment_point_ids"]))
            assert n >= MIN_PER_CONDITION, (c["outcome"], n)
            for a in c.get("ablation", []):
                assert a["control_point_ids"] and a["treatment_point_ids"]
                assert a["name"] and a["set"]
    assert len({p.key for p in exp.points}) == len(exp.points)


def test_shipped_experiments_run_end_to_end(tmp_path):
    """Every shipped experiment runs (two weeks per run, one replicate) and leaves its tables."""
    from sim.sweeps.runner import run_sweep

    for path in SHIPPED:
        res = run_sweep(path, workers=1, out=tmp_path / path.stem, replicates=1, steps=2,
                        progress=False)
        assert res.complete, res.summary
        runs = res.runs
        assert (runs["status"] == "ok").all(), res.manifest["failures"]
        exp = res.manifest["experiment"]
        assert len(runs) == exp["points"]
        for key in exp["parameters"]:
            assert key in runs.columns
        for o in exp["outcomes"]:
            assert o in runs.columns


def test_docs_list_every_shipped_experiment_with_its_size():
    doc = (ROOT / "docs" / "SWEEPS.md").read_text()
    for path in SHIPPED:
        exp = load_experiment(path)
        row = next((ln for ln in doc.splitlines() if ln.startswith(f"| `{path.name}` |")), None)
        assert row is not None, f"docs/SWEEPS.md does not list {path.name}"
        assert f"`{exp.scenario}`" in row
        n_design = len(exp.design_points)   # ablation points are counted apart
        if exp.design["kind"] == "grid":
            assert f"grid, {n_design} points x {exp.replicates}" in row, row
        else:
            assert f"{n_design} points" in row, row


SYRIA_ADMIN = {f"groups.{g}.administration": 1.0 for g in ("ISIS", "Nusra", "Rebels")}


@pytest.mark.parametrize("name, sensitivity, administration", [
    ("h1_claim", "h1_administered", {"groups.JNIM.administration": 0.2,
                                     "groups.ISGS.administration": 0.2}),
    ("h2_restriction", "h2_administered", {"groups.HTS.administration": 1.0}),
    ("h3_propaganda", "h3_administered", SYRIA_ADMIN),
    ("h4_infighting", "h4_administered", SYRIA_ADMIN),
    ("h5_governance", "h5_administered", SYRIA_ADMIN),
    ("h6_leader", "h6_administered", SYRIA_ADMIN),
])
def test_a_sensitivity_experiment_asks_its_hypothesis_again_with_administered_groups(
        name, sensitivity, administration):
    """experiments/sensitivity/H_administered.toml must stay the hypothesis of its experiment
    (same scenario, design, contrasts, outcomes and smallest effects) with only the groups'
    administration changed."""
    def strip(h):
        keep = ("id", "outcome", "control", "treatment", "expect", "min_effect")
        return ({k: h.get(k) for k in keep}, [strip(a) for a in h.get("also", [])])

    exp = load_experiment(ROOT / "experiments" / f"{name}.toml")
    sens = load_experiment(ROOT / "experiments" / "sensitivity" / f"{sensitivity}.toml")
    assert sens.scenario == exp.scenario and sens.parameters == exp.parameters
    assert strip(sens.hypothesis) == strip(exp.hypothesis)
    assert sens.constants == {**exp.constants, **administration}
