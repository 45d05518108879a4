"""Statistics of the reports on synthetic data whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from sim.analysis import stats as st


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------------
# means and intervals
# ---------------------------------------------------------------------------------------------
def test_mean_ci_is_the_t_interval():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    m, lo, hi, n = st.mean_ci(x)
    half = sps.t.ppf(0.975, 4) * x.std(ddof=1) / math.sqrt(5)
    assert (m, n) == (3.0, 5)
    assert lo == pytest.approx(3.0 - half) and hi == pytest.approx(3.0 + half)


def test_mean_ci_ignores_nan_and_has_no_interval_for_one_value():
    m, lo, hi, n = st.mean_ci([2.0, np.nan])
    assert m == 2.0 and n == 1 and math.isnan(lo) and math.isnan(hi)


def test_bootstrap_interval_covers_the_true_difference_and_is_reproducible():
    c, t = rng(1).normal(0, 1, 200), rng(2).normal(1.5, 1, 200)
    a = st.bootstrap_mean_difference(c, t, rng(7), n_boot=4000)
    b = st.bootstrap_mean_difference(c, t, rng(7), n_boot=4000)
    assert a == b
    assert a[0] < 1.5 < a[1]
    assert a[1] - a[0] < 0.6


# ---------------------------------------------------------------------------------------------
# verdicts
# ---------------------------------------------------------------------------------------------
def verdict(control, treatment, **kw):
    kw.setdefault("rng", rng(11))
    kw.setdefault("n_boot", 4000)
    return st.evaluate_hypothesis(control, treatment, **kw)


def test_a_known_effect_is_supported():
    v = verdict(rng(1).normal(10, 2, 20), rng(2).normal(14, 2, 20), expect="greater",
                min_effect=2.0)
    assert v.verdict == st.SUPPORTED
    assert v.effect == pytest.approx(4, abs=1.0)
    assert v.ci_low > 0 and v.p_value < 0.05 and v.replicates_suffice
    assert np.isfinite(v.bca_low) and v.bca_low < v.effect < v.bca_high
    assert v.line().startswith("H: SUPPORTED")
    assert "Welch" in v.line() and "no effect: p" in v.line() and "power" in v.line()


def test_the_same_effect_in_the_other_direction_is_not_supported():
    v = verdict(rng(1).normal(14, 2, 20), rng(2).normal(10, 2, 20), expect="greater",
                min_effect=2.0)
    assert v.verdict == st.NOT_SUPPORTED and "other way" in v.reason
    v = verdict(rng(1).normal(14, 2, 20), rng(2).normal(10, 2, 20), expect="less",
                min_effect=2.0)
    assert v.verdict == st.SUPPORTED


def test_no_effect_with_many_replicates_is_not_supported():
    v = verdict(rng(3).normal(5, 1, 80), rng(4).normal(5, 1, 80), expect="greater",
                min_effect=0.5)
    assert v.verdict == st.NOT_SUPPORTED
    assert v.ci_high < v.min_effect and v.p_refute < 0.05
    assert v.smallest_effect == v.min_effect == 0.5


def test_no_effect_with_few_replicates_is_inconclusive():
    v = verdict(rng(5).normal(5, 1, 6), rng(6).normal(5, 1, 6), expect="greater",
                min_effect=0.5)
    assert v.verdict == st.INCONCLUSIVE
    assert not v.replicates_suffice and v.power < 0.5
    assert v.replicates_needed and v.replicates_needed > 30


def test_too_few_replicates_is_inconclusive_whatever_the_values():
    v = verdict([1.0, 1.1], [9.0, 9.2], expect="greater", min_effect=1.0)
    assert v.verdict == st.INCONCLUSIVE
    assert "too few replicates" in v.reason


def test_undefined_outcomes_are_left_out_and_counted():
    c = np.r_[rng(1).normal(0, 1, 20), np.nan, np.nan]
    t = rng(2).normal(3, 1, 20)
    v = verdict(c, t, expect="greater", min_effect=1.0)
    assert (v.n_control, v.n_treatment, v.dropped) == (20, 20, 2)
    assert v.verdict == st.SUPPORTED


def test_a_real_effect_below_min_effect_is_not_supported():
    v = verdict(rng(1).normal(0, 1, 60), rng(2).normal(1, 1, 60), expect="greater",
                min_effect=3.0)
    assert v.verdict == st.NOT_SUPPORTED
    assert v.p_value < 0.05  # a real effect, but smaller than the smallest of interest
    assert "smaller than the smallest of interest" in v.reason
    v = verdict(rng(1).normal(0, 1, 60), rng(2).normal(1, 1, 60), expect="greater",
                min_effect=0.5)
    assert v.verdict == st.SUPPORTED


def test_different_is_two_sided():
    v = verdict(rng(1).normal(0, 1, 30), rng(2).normal(-2, 1, 30), expect="different",
                min_effect=1.0)
    assert v.verdict == st.SUPPORTED and v.alternative == "two-sided"
    v = verdict(rng(1).normal(0, 1, 80), rng(2).normal(0, 1, 80), expect="different",
                min_effect=1.0)
    assert v.verdict == st.NOT_SUPPORTED  # shown within +-1 (TOST)


def test_equivalence_within_a_margin():
    same = verdict(rng(1).normal(0, 1, 60), rng(2).normal(0, 1, 60), expect="equivalent",
                   min_effect=1.0)
    assert same.verdict == st.SUPPORTED
    assert -1 < same.ci_low and same.ci_high < 1
    apart = verdict(rng(1).normal(0, 1, 60), rng(2).normal(3, 1, 60), expect="equivalent",
                    min_effect=1.0)
    assert apart.verdict == st.NOT_SUPPORTED
    # a small real change is still within the margin: equivalence, not refutation
    near = verdict(rng(1).normal(0, 0.3, 80), rng(2).normal(0.3, 0.3, 80), expect="equivalent",
                   min_effect=1.0)
    assert near.verdict == st.SUPPORTED
    with pytest.raises(ValueError, match="min_effect"):
        verdict([1, 2, 3], [1, 2, 3], expect="equivalent")


def test_constant_outcomes_are_set_by_the_rules():
    # the old rule called 0 vs 0 "not supported" and 0 vs 1 "supported" with p = 0: neither is
    # a statistical result
    for c, t in ((np.zeros(5), np.zeros(5)), (np.zeros(5), np.ones(5))):
        v = verdict(c, t, expect="greater", min_effect=0.5)
        assert v.verdict == st.SET_BY_RULES and v.set_by_rules
        assert not np.isfinite(v.p_value) and "not a statistical result" in v.reason
    assert v.effect == 1.0
    # variation on one side only is data: a test is made
    v = verdict(np.zeros(10), rng(1).normal(3, 1, 10), expect="greater", min_effect=0.5)
    assert v.verdict == st.SUPPORTED and np.isfinite(v.p_value)
    assert st.welch_test(np.zeros(5), np.ones(5)) != (math.inf, 0.0)


@pytest.mark.parametrize("bad", [None, 0, 0.0, -1.0, math.nan, math.inf, True, "1"])
def test_min_effect_is_required_finite_and_positive(bad):
    with pytest.raises(ValueError, match="min_effect"):
        verdict([1.0, 2.0, 3.0], [2.0, 3.0, 4.0], expect="greater", min_effect=bad)


def test_bad_expect_is_rejected():
    with pytest.raises(ValueError, match="allowed"):
        verdict([1, 2, 3], [1, 2, 3], expect="bigger", min_effect=1.0)


# ---------------------------------------------------------------------------------------------
# Kaplan-Meier
# ---------------------------------------------------------------------------------------------
def test_kaplan_meier_by_hand_with_censoring():
    # durations 2, 3+, 3, 5, 6+, 8 (+ = censored, still running)
    km = st.kaplan_meier([2, 3, 3, 5, 6, 8], [False, True, False, False, True, False])
    # t=2: 6 at risk, 1 ends -> 5/6; t=3: 5 at risk (the censored 3 still counts), 1 ends
    # -> 5/6 * 4/5; t=5: 3 at risk -> * 2/3; t=6: censored only; t=8: 1 at risk -> 0
    expected = [5 / 6, 2 / 3, 4 / 9, 4 / 9, 0.0]
    assert km.time.tolist() == [2, 3, 5, 6, 8]
    assert km.at_risk.tolist() == [6, 5, 3, 2, 1]
    assert km.survival == pytest.approx(expected)
    assert km.median() == 5
    assert km.at(4) == pytest.approx(2 / 3)
    assert km.at(1) == 1.0
    assert (km.n, km.n_events) == (6, 4)


def test_kaplan_meier_matches_scipy():
    d = rng(3).exponential(20, 80).round() + 1
    cens = rng(4).random(80) < 0.3
    km = st.kaplan_meier(d, cens)
    ref = sps.ecdf(sps.CensoredData(uncensored=d[~cens], right=d[cens]))
    sf = ref.sf.evaluate(km.time)
    assert km.survival == pytest.approx(sf)
    ci = ref.sf.confidence_interval(method="log-log")
    ok = np.isfinite(ci.low.evaluate(km.time)) & (km.survival > 0)
    assert km.low[ok] == pytest.approx(ci.low.evaluate(km.time)[ok], abs=1e-9)
    assert km.high[ok] == pytest.approx(ci.high.evaluate(km.time)[ok], abs=1e-9)


def test_censored_spells_are_not_counted_as_ended():
    d = [10, 20, 30, 40]
    all_censored = st.kaplan_meier(d, [True] * 4)
    assert all_censored.survival.tolist() == [1.0] * 4
    assert math.isnan(all_censored.median())
    ended = st.kaplan_meier(d, [False] * 4)
    assert ended.median() == 20
    # censoring the long spells raises the curve compared with treating them as ended
    some = st.kaplan_meier(d, [False, False, True, True])
    assert some.at(35) > ended.at(35)


# ---------------------------------------------------------------------------------------------
# power-law tails
# ---------------------------------------------------------------------------------------------
def test_continuous_power_law_exponent_is_recovered():
    x = st.sample_power_law(rng(42), 2.5, 1.0, 5000)
    fit = st.fit_power_law(x)
    assert not fit.discrete
    assert fit.alpha == pytest.approx(2.5, abs=0.15)
    assert fit.sigma == pytest.approx((fit.alpha - 1) / math.sqrt(fit.n_tail))


def test_discrete_power_law_exponent_is_recovered():
    x = st.sample_power_law(rng(43), 2.5, 1, 5000, discrete=True)
    assert np.all(x == np.round(x)) and x.min() >= 1
    fit = st.fit_power_law(x)
    assert fit.discrete
    assert fit.alpha == pytest.approx(2.5, abs=0.15)


def test_xmin_is_found_above_a_body_that_is_not_a_power_law():
    body = rng(1).uniform(1, 5, 3000)
    tail = st.sample_power_law(rng(2), 2.2, 5.0, 2000)
    fit = st.fit_power_law(np.r_[body, tail])
    assert 4.0 <= fit.xmin <= 8.0
    assert fit.alpha == pytest.approx(2.2, abs=0.15)


def test_goodness_of_fit_does_not_reject_a_true_power_law():
    x = st.sample_power_law(rng(101), 2.5, 1.0, 500)
    fit = st.fit_power_law(x)
    g = st.power_law_gof(x, fit, rng(1), n_boot=30)
    assert g.p_value > 0.1
    # an exponential tail is rejected
    y = rng(7).exponential(10, 2000) + 1
    fy = st.fit_power_law(y, xmin=1.0)
    assert st.power_law_gof(y, fy, rng(8), n_boot=20).p_value < 0.1


def test_ccdf_points():
    x, p = st.ccdf_points([1, 1, 2, 4, 0, -1])
    assert x.tolist() == [1, 2, 4]
    assert p.tolist() == [1.0, 0.5, 0.25]


# ---------------------------------------------------------------------------------------------
# sensitivity indices
# ---------------------------------------------------------------------------------------------
PROBLEM = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0, 1], [0, 1], [0, 1]]}


def linear(X):
    return 4 * X[:, 0] + 2 * X[:, 1] + 0 * X[:, 2]


def test_sobol_indices_of_a_known_function():
    from SALib.sample import sobol

    X = sobol.sample(PROBLEM, 256, calc_second_order=False, seed=1)
    idx = st.sobol_indices(PROBLEM, linear(X), seed=2).set_index("parameter")
    # variance shares of 4a + 2b: 16/20 and 4/20
    assert idx.loc["a", "S1"] == pytest.approx(0.8, abs=0.08)
    assert idx.loc["b", "S1"] == pytest.approx(0.2, abs=0.08)
    assert abs(idx.loc["c", "ST"]) < 0.03
    assert (idx.loc[["a", "b"], "S1_conf"] > 0).all()


def test_morris_ranks_parameters_by_their_effect():
    from SALib.sample import morris

    X = morris.sample(PROBLEM, 20, num_levels=4, seed=1)
    idx = st.morris_indices(PROBLEM, X, linear(X), num_levels=4, seed=2).set_index("parameter")
    assert idx.loc["a", "mu_star"] == pytest.approx(4, rel=0.01)
    assert idx.loc["b", "mu_star"] == pytest.approx(2, rel=0.01)
    assert idx.loc["c", "mu_star"] == pytest.approx(0, abs=1e-9)


def test_sobol_refuses_undefined_outcomes():
    from SALib.sample import sobol

    X = sobol.sample(PROBLEM, 8, calc_second_order=False, seed=1)
    y = linear(X)
    y[3] = np.nan
    with pytest.raises(ValueError, match="undefined"):
        st.sobol_indices(PROBLEM, y)


def test_truces_ending_in_a_merger_are_censored_not_broken_down():
    import pandas as pd

    truces = pd.DataFrame({
        "duration": [10, 20, 30, 40],
        "censored": [False, False, False, True],
        "ended_by": ["war", "merger", "war", None]})
    km = st.truce_breakdown(truces)
    assert km.n == 4 and km.n_events == 2  # only the two wars are breakdowns
    # at 10 weeks one of four broke down; the merger at 20 leaves two at risk; at 30 one more
    assert km.at(10) == pytest.approx(0.75)
    assert km.at(25) == pytest.approx(0.75)
    assert km.at(30) == pytest.approx(0.75 * 0.5)
    # the same spells counted naively would put the merger down as an end
    assert st.kaplan_meier(truces["duration"], truces["censored"]).at(25) == pytest.approx(0.5)
