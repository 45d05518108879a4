"""Verdicts over an ensemble of parameter draws (``experiment.ensemble``): draws by Latin
hypercube or SALib's Sobol sample over ranges, run keys that include the draw, the share of
draws in which a hypothesis' effect has the stated sign and size with its Wilson interval,
Sobol indices of outcomes and effects over the draws, pattern outcomes, and bad ensembles."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import stats as st
from sim.sweeps.design import ExperimentError, load_experiment, point_key, run_seed
from sim.analysis.report import report
from sim.sweeps.runner import run_sweep

ROOT = Path(__file__).resolve().parents[1]
LHS = ROOT / "tests" / "data" / "ensemble_tiny.toml"
SOBOL = ROOT / "tests" / "data" / "ensemble_sobol_tiny.toml"


def test_each_replicate_runs_a_draw_and_the_draw_is_part_of_the_run_key():
    exp = load_experiment(LHS)
    ens = exp.ensemble
    assert ens.kind == "lhs" and ens.seeds == 1 and len(ens.draws) == 6
    assert list(ens.parameters) == ["defect_epsilon", "desert_rate"]
    assert exp.replicates == 6 and exp.n_runs == 12
    runs = exp.runs()
    assert len({r.run_id for r in runs}) == 12 and len({r.seed for r in runs}) == 12
    for r in runs:
        point = exp.points[r.point_id]
        draw = ens.draws[r.draw]
        assert r.replicate == r.draw  # one seed per draw
        assert r.params == {**draw, **point.values}
        rk = point_key({**point.values, "#draw": ens.keys[r.draw]})
        assert r.seed == run_seed(exp.seed, rk, 0) and r.run_id == f"{rk}-r000"
    # a Latin hypercube: each parameter's draws fall in different sixths of its range
    for k, (lo, hi, _) in ens.parameters.items():
        strata = sorted(int((d[k] - lo) / (hi - lo) * 6) for d in ens.draws)
        assert strata == list(range(6))


def test_draws_and_seeds_are_reproducible_and_keyed_by_the_master_seed():
    a, b = load_experiment(LHS), load_experiment(LHS)
    assert a.ensemble.draws == b.ensemble.draws
    assert [r.seed for r in a.runs()] == [r.seed for r in b.runs()]
    raw = _raw(LHS)
    raw["experiment"]["seed"] = 12
    c = load_experiment(raw)
    assert c.ensemble.draws != a.ensemble.draws
    # more seeds per draw keep the runs already made
    raw = _raw(LHS)
    raw["experiment"]["ensemble"]["seeds"] = 3
    d = load_experiment(raw)
    assert d.replicates == 18
    first = {(r.point_id, r.draw): r.seed for r in d.runs() if r.replicate % 3 == 0}
    assert first == {(r.point_id, r.draw): r.seed for r in a.runs()}
    assert a.fingerprint() == d.fingerprint()  # the same folder can take more seeds


def _raw(path: Path) -> dict:
    import tomllib

    raw = tomllib.loads(path.read_text())
    raw["experiment"]["scenario"] = "classroom"
    return copy.deepcopy(raw)


@pytest.fixture(scope="module")
def lhs_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("ens") / "lhs"
    res = run_sweep(LHS, workers=2, out=out, progress=False)
    assert res.complete, res.summary
    return out


def test_the_report_gives_the_share_of_draws_with_its_wilson_interval(lhs_sweep, tmp_path):
    runs = pd.read_parquet(lhs_sweep / "runs.parquet")
    assert {"draw", "defect_epsilon", "desert_rate", "pattern:rivals_fight",
            "pattern_miss:rivals_fight"} <= set(runs.columns)
    assert sorted(runs["draw"].unique()) == list(range(6))
    rep = report(lhs_sweep, tmp_path / "rep", formats=("png",), gof_boot=0)
    v = rep.verdicts[0]
    e = v.ensemble
    # the share, counted by hand from the runs
    c = runs[runs["clash_kappa"] == 0.0].set_index("draw")["clash_rate"]
    t = runs[runs["clash_kappa"] == 0.3].set_index("draw")["clash_rate"]
    k = int(((t - c) >= 1.0).sum())
    assert e["n"] == 6 and e["k"] == k and e["share"] == pytest.approx(k / 6)
    assert (e["low"], e["high"]) == pytest.approx(st.wilson_interval(k, 6))
    text = v.text()
    assert f"in {100 * k / 6:.0f}% (" in text and "Wilson 95%) of 6 parameter draws" in text
    assert "Latin hypercube of 6 draws over 2 parameters" in text
    md = rep.markdown.read_text()
    assert "Verdicts over the ensemble" in md and "share meeting it" in md
    assert "| drawn" in md and "uniformly" in md and "uniformly on log10" not in md
    # the pattern outcomes are the pattern's measure and its miss in each run
    from sim.analysis.calibrate import miss

    assert np.allclose(runs["pattern_miss:rivals_fight"],
                       [miss(x, 1, np.inf) for x in runs["pattern:rivals_fight"]])


def test_wilson_and_clopper_pearson_intervals():
    lo, hi = st.wilson_interval(5, 8)
    assert (lo, hi) == pytest.approx((0.3057, 0.8632), abs=1e-4)
    lo, hi = st.clopper_pearson(5, 8)
    assert (lo, hi) == pytest.approx((0.2449, 0.9148), abs=1e-4)
    assert st.wilson_interval(0, 10)[0] == 0.0 and st.clopper_pearson(10, 10)[1] == 1.0
    assert all(np.isnan(st.wilson_interval(0, 0)))
    s = st.ensemble_share([2.0, 0.5, np.nan, -3.0], "greater", 1.0)
    assert (s["n"], s["k"], s["undefined"]) == (3, 1, 1)
    assert st.ensemble_share([0.2, -0.1, 3], "equivalent", 0.5)["k"] == 2
    assert st.ensemble_share([-2, -0.1], "less", 1.0)["k"] == 1
    assert st.ensemble_share([-2, 0.1, 2], "different", 1.0)["k"] == 2


@pytest.mark.slow
def test_sobol_indices_of_outcomes_and_effects_over_a_sobol_ensemble(tmp_path):
    exp = load_experiment(SOBOL)
    assert exp.ensemble.kind == "sobol" and len(exp.ensemble.draws) == 2 * (2 + 2)
    X = np.array([[d["clash_kappa"], d["desert_rate"]] for d in exp.ensemble.draws])
    from SALib.sample import sobol

    problem = exp.ensemble.problem()
    from sim.sweeps.design import ensemble_seed

    ref = sobol.sample(problem, 2, calc_second_order=False, scramble=True,
                       seed=ensemble_seed(exp.seed))
    assert np.allclose(X, ref)  # the draws are SALib's sample, in its order
    res = run_sweep(SOBOL, workers=2, out=tmp_path / "sw", progress=False)
    assert res.complete
    rep = report(tmp_path / "sw", tmp_path / "rep", formats=("png",), gof_boot=0)
    tab = pd.DataFrame(json.loads((tmp_path / "rep" / "ensemble_sobol.json").read_text()))
    targets = set(tab["target"])
    assert "outcome clash_rate" in targets and "effect of HT (clash_rate)" in targets
    ok = tab[tab["error"] == ""]
    assert set(ok["parameter"]) == {"clash_kappa", "desert_rate"}
    assert ok[["S1", "S1_conf", "ST", "ST_conf"]].notna().all().all()
    assert "Sensitivity over the ensemble (Sobol)" in rep.markdown.read_text()


BAD = [
    ({"ensemble": {"lhs": 4, "sobol": 4}}, "experiment.ensemble: give exactly one of lhs, sobol"),
    ({"ensemble": {"sobol": 3}}, "experiment.ensemble.sobol: must be a power of two"),
    ({"ensemble": {"lhs": 1}}, "experiment.ensemble.lhs: must be a whole number >= 2"),
    ({"ensemble": {"lhs": 4, "parameters": ["clash_kapa"]}},
     "experiment.ensemble.parameters.\"clash_kapa\": unknown parameter"),
    ({"ensemble": {"lhs": 4, "parameters": ["clash_kappa"]}},
     "is a constant or a varied parameter of the experiment"),
    ({"ensemble": {"lhs": 4, "parameters": {"desert_rate": [0.5, 0.1]}}},
     "low must be below high"),
    ({"ensemble": {"lhs": 4}, "replicates": 3}, "experiment.replicates: is set by the ensemble"),
    ({"ensemble": {"lhs": 4, "parameters": {"desert_rate": {"low": 0.0, "high": 0.1,
                                                            "prior": "loguniform"}}}},
     "a log-uniform range must be above zero"),
    ({"ensemble": {"lhs": 4, "parameters": {"desert_rate": {"low": 0.01, "high": 0.1,
                                                            "prior": "normal"}}}},
     "experiment.ensemble.parameters.\"desert_rate\".prior: unknown prior"),
    ({"ensemble": {"lhs": 4, "parameters": {"desert_rate": {"low": 0.01, "hi": 0.1}}}},
     "experiment.ensemble.parameters.\"desert_rate\".hi: unknown key"),
    ({"ensemble": {"lhs": 4, "parameters": {"desert_rate": {"low": 0.01}}}},
     "give both low and high, or neither"),
    ({"ensemble": {"lhs": 4, "seedz": 2}}, "experiment.ensemble.seedz: unknown key"),
    ({"ensemble": "calibrations/nowhere"},
     "experiment.ensemble.posterior: no calibration posterior there"),
    ({"ensemble": 5}, "experiment.ensemble: must be a table or a calibration folder"),
    ({"outcomes": ["pattern:nope"]}, "experiment.outcomes: not a pattern of scenario classroom"),
]


@pytest.mark.parametrize("change,message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_ensembles_name_the_key_and_what_is_allowed(change, message):
    raw = _raw(LHS)
    raw["experiment"].update(change)
    with pytest.raises(ExperimentError) as err:
        load_experiment(raw)
    assert message in str(err.value), str(err.value)


def test_an_ensemble_over_the_guessed_ranges_by_default():
    from sim.sweeps.design import ENSEMBLE_EXCLUDED, guessed_parameters
    from sim.core.params import PARAMS

    raw = _raw(LHS)
    raw["experiment"]["ensemble"] = {"lhs": 3}
    exp = load_experiment(raw)
    names = set(exp.ensemble.parameters)
    assert names == set(guessed_parameters()) - {"clash_kappa"}
    assert all(PARAMS[k].source == "guess" for k in names)
    assert not names & ENSEMBLE_EXCLUDED
    assert "levy_rate" not in names and not any(PARAMS[k].neutral is not None for k in names)
    # nor the settings of such options (supply_ratio acts only with w_crowd)
    assert "supply_ratio" not in names and not any(PARAMS[k].needs for k in names)
    for d in exp.ensemble.draws:
        for k, v in d.items():
            assert PARAMS[k].low <= v <= PARAMS[k].high
            assert isinstance(v, int) == (PARAMS[k].kind is int)


def test_the_shipped_sobol_study_expands_as_its_comments_say():
    path = ROOT / "experiments" / "sensitivity" / "sobol_sahel.toml"
    exp = load_experiment(path)
    ens = exp.ensemble
    assert ens.kind == "sobol" and ens.samples == 64 and len(ens.parameters) == 8
    assert len(ens.draws) == 64 * (8 + 2) == 640 and exp.n_runs == 1280
    assert "Default size: N = 64, 640 draws x 2 points x 1 seed = 1,280 runs" in path.read_text()
    assert all(o.startswith("pattern_miss:") for o in exp.outcomes[1:-1])
    small = load_experiment(path, scale=0.03)
    assert len(small.ensemble.draws) == 20 and small.n_runs == 40
    # the ranges are the core calibration's priors
    from sim.analysis.calibrate import load_calibration

    priors = {p.key: (p.low, p.high, p.prior) for p in load_calibration("core").priors}
    for k, (lo, hi, _) in ens.parameters.items():
        assert priors[k] == (lo, hi, "loguniform" if k in ens.log else "uniform"), k


def test_a_log_uniform_range_is_drawn_uniformly_on_the_log_of_the_value():
    """``{ low, high, prior = "loguniform" }``: the Latin hypercube stratifies log10 of the
    value (each tenth of the log range gets one draw of ten), not the value."""
    raw = _raw(LHS)
    raw["experiment"]["ensemble"] = {"lhs": 10, "parameters": {
        "desert_rate": {"low": 0.0001, "high": 0.1, "prior": "loguniform"},
        "defect_epsilon": [0.01, 0.2]}}
    ens = load_experiment(raw).ensemble
    assert ens.log == ("desert_rate",) and ens.describe()["log"] == ["desert_rate"]
    x = np.array([d["desert_rate"] for d in ens.draws])
    assert ((x >= 0.0001) & (x <= 0.1)).all()
    strata = sorted(int((np.log10(v) + 4) / 3 * 10) for v in x)
    assert strata == list(range(10))
    assert (x < 0.001).sum() == 3  # uniform on the value would put 1% of draws below 0.001
    lin = sorted(int((d["defect_epsilon"] - 0.01) / 0.19 * 10) for d in ens.draws)
    assert lin == list(range(10))
    # the range without a prior, or with prior "uniform", is drawn as before
    raw2 = _raw(LHS)
    raw2["experiment"]["ensemble"] = {"lhs": 10, "parameters": {
        "desert_rate": {"low": 0.0001, "high": 0.1, "prior": "uniform"},
        "defect_epsilon": [0.01, 0.2]}}
    raw3 = _raw(LHS)
    raw3["experiment"]["ensemble"] = {"lhs": 10, "parameters": {
        "desert_rate": [0.0001, 0.1], "defect_epsilon": [0.01, 0.2]}}
    e2, e3 = load_experiment(raw2).ensemble, load_experiment(raw3).ensemble
    assert e2.draws == e3.draws and not e2.log and "log" not in e3.describe()
    # without low and high, the range of sim.core.params
    from sim.core.params import PARAMS

    raw5 = _raw(LHS)
    raw5["experiment"]["ensemble"] = {"lhs": 4, "parameters": {
        "war_clash_factor": {"prior": "loguniform"}}}
    e5 = load_experiment(raw5).ensemble
    p = PARAMS["war_clash_factor"]
    assert e5.parameters["war_clash_factor"][:2] == (p.low, p.high) and p.low > 0
    assert e5.log == ("war_clash_factor",)
    raw5["experiment"]["ensemble"]["parameters"] = {"desert_rate": {"prior": "loguniform"}}
    with pytest.raises(ExperimentError, match="must be above zero"):   # its range starts at 0
        load_experiment(raw5)
    # a Sobol sample too
    raw4 = _raw(LHS)
    raw4["experiment"]["ensemble"] = {"sobol": 8, "parameters": {
        "desert_rate": {"low": 0.0001, "high": 0.1, "prior": "loguniform"},
        "defect_epsilon": [0.01, 0.2]}}
    x4 = np.array([d["desert_rate"] for d in load_experiment(raw4).ensemble.draws])
    assert ((x4 >= 0.0001) & (x4 <= 0.1)).all() and np.median(x4) < 0.01


def test_dry_run_of_an_ensemble_sweep_says_what_is_drawn(capsys):
    from sim.cli import main

    assert main(["sweep", str(LHS), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "2 points (grid) x 6 replicates = 12 runs" in out
    assert "ensemble: 6 lhs draws x 1 seed per draw, over 2 parameters: defect_epsilon" in out
