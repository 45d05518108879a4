"""The verdict rule on synthetic data with known answers (docs/REPORTS.md).

Each rate is measured over a fixed number of draws from a seeded generator, so every number
here is reproducible; the tolerances are about three binomial standard errors, wide enough
for any seed and narrow enough that the old rule (or a wrong formula) fails them.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from test_sweep_helpers import experiment, write

from sim.analysis import stats as st
from sim.sweeps.design import ExperimentError, load_experiment, point_key, run_seed

DRAWS = 400
N = st.MIN_PER_CONDITION          # the default replicates per condition (30)
SD = 1.0
M = 0.75                          # min_effect: 0.75 SD, which 30 runs a side detect with 80%


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def rates(effect: float, expect: str = "greater", n: int = N, m: float = M, seed: int = 1
          ) -> tuple[Counter, list[st.Verdict]]:
    g = rng(seed)
    out, vs = Counter(), []
    for _ in range(DRAWS):
        c = g.normal(0.0, SD, n)
        t = g.normal(effect, SD, n)
        v = st.evaluate_hypothesis(c, t, expect=expect, min_effect=m, n_boot=0)
        out[v.verdict] += 1
        vs.append(v)
    return out, vs


def test_the_default_replicates_are_sized_for_min_effect():
    # the synthetic min_effect is one the default 30 runs a side detect with the target power
    assert st.n_for_power(M, SD, SD) <= N
    assert st.welch_power(M, SD, SD, N, N) == pytest.approx(0.8, abs=0.05)


# ---------------------------------------------------------------------------------------------
# a true null and a true effect of the stated size
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("expect", ["greater", "less"])
def test_a_true_null_is_mostly_not_supported(expect):
    count, _ = rates(0.0, expect)
    share = {k: v / DRAWS for k, v in count.items()}
    # by symmetry the rule refutes a null as often as it finds min_effect: about 0.8
    assert share.get(st.NOT_SUPPORTED, 0) > 0.5, share
    assert share.get(st.NOT_SUPPORTED, 0) == pytest.approx(0.8, abs=0.07), share
    # and a false "supported" is at most the one-sided level (2.5%)
    assert share.get(st.SUPPORTED, 0) <= 0.05, share


def test_a_true_effect_of_min_effect_is_supported_at_the_stated_power():
    count, vs = rates(M, "greater")
    share = count[st.SUPPORTED] / DRAWS
    power = st.welch_power(M, SD, SD, N, N, expect="greater")
    assert share == pytest.approx(power, abs=0.06), (share, power)
    # the power the report prints (from each draw's own SDs) is about right on average
    assert np.mean([v.power for v in vs]) == pytest.approx(power, abs=0.05)
    # a true effect of min_effect is rarely called smaller than min_effect (at most 2.5%)
    assert count[st.NOT_SUPPORTED] / DRAWS <= 0.05


def test_the_mirror_direction():
    count, _ = rates(-M, "less")
    assert count[st.SUPPORTED] / DRAWS == pytest.approx(
        st.welch_power(M, SD, SD, N, N, expect="less"), abs=0.06)


def test_equivalence_is_shown_at_its_power_and_refuted_beyond_the_margin():
    count, _ = rates(0.0, "equivalent", m=1.0)
    power = st.welch_power(1.0, SD, SD, N, N, expect="equivalent")
    assert count[st.SUPPORTED] / DRAWS == pytest.approx(power, abs=0.06)
    count, _ = rates(2.0, "equivalent", m=1.0)      # a change of twice the margin
    assert count[st.NOT_SUPPORTED] / DRAWS > 0.9
    assert count[st.SUPPORTED] == 0


def test_the_old_rule_could_not_refute_at_six_replicates_and_this_one_says_so():
    # at 6 replicates neither claim can be made most of the time: inconclusive, with the
    # power and the replicates that would decide it
    count, vs = rates(0.0, "greater", n=6)
    assert count[st.INCONCLUSIVE] / DRAWS > 0.5
    assert np.median([v.power for v in vs]) < 0.5
    assert np.median([v.replicates_needed for v in vs]) >= 25
    assert all(v.replicates_needed > 6 for v in vs if v.verdict == st.INCONCLUSIVE)


# ---------------------------------------------------------------------------------------------
# intervals
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [6, 7, 8])
def test_welch_interval_covers_95_percent_at_small_n(n):
    g = rng(100 + n)
    cover = 0
    for _ in range(DRAWS):
        c, t = g.normal(0, 1, n), g.normal(0.5, 2, n)     # unequal variances
        lo, hi = st.Welch.of(c, t).ci(0.95)
        cover += lo < 0.5 < hi
    assert cover / DRAWS == pytest.approx(0.95, abs=0.03)


def test_the_percentile_bootstrap_undercovers_at_small_n():
    # why the rule uses the Welch interval: the percentile bootstrap covers about 0.90 at n = 6
    g = rng(7)
    cover = 0
    for _ in range(DRAWS):
        c, t = g.normal(0, 1, 6), g.normal(0.5, 1, 6)
        lo, hi = st.bootstrap_mean_difference(c, t, g, n_boot=999, method="percentile")
        cover += lo < 0.5 < hi
    assert cover / DRAWS < 0.93


# ---------------------------------------------------------------------------------------------
# constant outcomes
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("c,t", [(0.0, 0.0), (0.0, 1.0), (3.0, 1.0)])
def test_constant_outcomes_are_set_by_the_rules(c, t):
    v = st.evaluate_hypothesis(np.full(30, c), np.full(30, t), expect="greater", min_effect=0.5)
    assert v.verdict == st.SET_BY_RULES
    assert "set by the rules, not a statistical result" in v.reason
    assert not np.isfinite(v.p_value)
    other = st.evaluate_hypothesis(rng(1).normal(0, 1, 30), rng(2).normal(0, 1, 30),
                                   expect="greater", min_effect=0.5)
    st.adjust_family([v, other])
    assert v.verdict == st.SET_BY_RULES and other.family_size == 1
    assert not np.isfinite(v.power)   # no test, no power


# ---------------------------------------------------------------------------------------------
# multiple comparisons
# ---------------------------------------------------------------------------------------------
def test_holm_on_a_known_example():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> running max
    assert st.adjust_p(p, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # Benjamini-Hochberg agrees with scipy's
    assert st.adjust_p(p, "bh") == pytest.approx(sps.false_discovery_control(p))
    assert st.adjust_p([0.2, np.nan, 0.01], "holm")[[0, 2]] == pytest.approx([0.2, 0.02])
    assert np.isnan(st.adjust_p([0.2, np.nan, 0.01], "holm")[1])


def standard(seed: int, n: int = 30) -> np.ndarray:
    x = rng(seed).normal(0, 1, n)
    return (x - x.mean()) / x.std(ddof=1)     # mean 0, SD 1 exactly


def test_holm_can_turn_a_lone_support_into_inconclusive():
    # one effect whose p is 0.02 alone (Welch t = 2.39 with 58 df, doubled one-sided p)
    se = math.sqrt(2 / 30)
    delta = float(sps.t.isf(0.01, 58)) * se
    vs = [st.evaluate_hypothesis(standard(1), standard(2) + delta, expect="greater",
                                 min_effect=0.75, n_boot=0, hypothesis_id="H1")]
    # among four hypotheses with no effect at all
    vs += [st.evaluate_hypothesis(standard(2 * i + 1), standard(2 * i + 2), expect="greater",
                                  min_effect=0.75, n_boot=0, hypothesis_id=f"H{i}")
           for i in range(2, 6)]
    p1 = vs[0].p_value
    assert p1 == pytest.approx(0.02, rel=1e-6) and vs[0].verdict == st.SUPPORTED
    st.adjust_family(vs, "holm")
    assert vs[0].p_adjusted == pytest.approx(min(1.0, 5 * p1))
    assert vs[0].verdict == st.INCONCLUSIVE
    assert "Holm p" in vs[0].line() and f"p {st._fmt_p(p1)}" in vs[0].line()


# ---------------------------------------------------------------------------------------------
# competing risks and left truncation
# ---------------------------------------------------------------------------------------------
def test_aalen_johansen_with_one_cause_is_one_minus_kaplan_meier():
    g = rng(11)
    d = g.exponential(20, 120).round() + 1
    cens = g.random(120) < 0.3
    aj = st.aalen_johansen(d, np.where(cens, None, "end"), cause_names=["end"])
    ref = sps.ecdf(sps.CensoredData(uncensored=d[~cens], right=d[cens])).sf
    assert 1 - aj.incidence["end"] == pytest.approx(ref.evaluate(aj.time))
    assert aj.survival == pytest.approx(ref.evaluate(aj.time))
    km = st.kaplan_meier(d, cens)
    assert km.survival == pytest.approx(aj.survival)


def test_competing_causes_add_up_and_naive_censoring_overstates_one():
    g = rng(12)
    d = g.exponential(30, 200).round() + 1
    cause = g.choice(np.array(["breakdown", "merger", None], dtype=object), 200,
                     p=[0.5, 0.3, 0.2])
    aj = st.aalen_johansen(d, cause, cause_names=["breakdown", "merger"])
    total = aj.incidence["breakdown"] + aj.incidence["merger"]
    assert total == pytest.approx(1 - aj.survival)
    # 1 - KM with mergers censored treats merged truces as if they could still break down
    naive = st.kaplan_meier(d, cause != "breakdown")
    assert np.all(aj.incidence["breakdown"] <= 1 - naive.survival + 1e-12)
    assert aj.at("breakdown", 200) < 1 - naive.at(200) - 0.05


def test_left_truncation_by_hand():
    # A ends at 2, B at 5, D censored at 4, all observed from age 0; C was already 3 weeks
    # old when observation began (a truce made before week 0) and ends at 6
    d = [2, 5, 6, 4]
    entry = [0, 0, 3, 0]
    ended = [True, True, True, False]
    km = st.kaplan_meier(d, [not e for e in ended], entry=entry)
    assert km.time.tolist() == [2, 4, 5, 6]
    # at 2: A, B, D at risk (C enters only after age 3); at 4: B, C, D; at 5: B, C; at 6: C
    assert km.at_risk.tolist() == [3, 3, 2, 1]
    assert km.survival == pytest.approx([2 / 3, 2 / 3, 1 / 3, 0.0])
    assert km.n_truncated == 1
    # ignoring the truncation puts C at risk from age 0 and gets the first step wrong
    naive = st.kaplan_meier(d, [not e for e in ended])
    assert naive.at_risk[0] == 4 and naive.survival[0] == pytest.approx(3 / 4)
    # the same through the truce table: C started 3 weeks before week 0
    truces = pd.DataFrame({"start": [10, 0, -3, 20], "duration": d,
                           "censored": [False, False, False, True],
                           "ended_by": ["war", "merger", "war", None]})
    ci = st.truce_competing_risks(truces)
    assert ci.at_risk.tolist() == [3, 3, 2, 1] and ci.n_truncated == 1
    assert ci.at("breakdown", 2) == pytest.approx(1 / 3)
    assert ci.at("merger", 5) == pytest.approx(2 / 3 * 1 / 2)
    assert ci.at("breakdown", 6) == pytest.approx(1 / 3 + 1 / 3)
    assert ci.survival_at(6) == pytest.approx(0.0)


def test_when_every_spell_is_left_truncated_younger_ages_are_unknown():
    # three truces already 104 weeks old at week 0 (as in sahel_2019)
    truces = pd.DataFrame({"start": [-104] * 3, "duration": [130, 160, 164],
                           "censored": [False, False, True], "ended_by": ["war", "war", None]})
    ci = st.truce_competing_risks(truces)
    assert ci.origin == 104 and np.isnan(ci.at("breakdown", 52))
    assert ci.at("breakdown", 104) == 0 and ci.at("breakdown", 130) == pytest.approx(1 / 3)
    assert ci.steps("breakdown")[0][0] == 104


def test_a_bad_entry_is_refused():
    with pytest.raises(ValueError, match="entry"):
        st.kaplan_meier([3, 4], entry=[5, 0])


# ---------------------------------------------------------------------------------------------
# power-law tails
# ---------------------------------------------------------------------------------------------
def test_powerlaw_recovers_a_discrete_pareto_and_reports_its_decades():
    x = st.sample_power_law(rng(43), 2.5, 1, 5000, discrete=True)
    fit = st.fit_power_law(x)
    assert fit.discrete and fit.alpha == pytest.approx(2.5, abs=0.1)
    assert fit.decades == pytest.approx(math.log10(x.max() / fit.xmin))
    assert fit.decades >= 2
    assert fit.lr_exponential > 0 and fit.p_exponential < 0.1   # beats an exponential tail
    fit = st.power_law_gof(x, fit, rng(1), n_boot=20)
    assert fit.p_value >= 0.1 and fit.verdict == "power law"
    assert "plausible" in fit.conclusion


def test_a_tail_under_two_decades_is_not_called_a_power_law():
    x = st.sample_power_law(rng(5), 2.5, 1, 3000, discrete=True)
    x = x[x <= 60]                          # at most 1.8 decades
    fit = st.fit_power_law(x)
    assert fit.decades < 2
    assert fit.verdict == "too narrow" and "cannot be called a power law" in fit.conclusion


def test_an_exponential_tail_is_not_a_power_law():
    y = np.round(rng(7).exponential(10, 2000)) + 1
    fit = st.fit_power_law(y, xmin=1.0)
    assert fit.verdict != "power law"
    assert fit.lr_exponential < 0


# ---------------------------------------------------------------------------------------------
# ablations in experiment files
# ---------------------------------------------------------------------------------------------
ABLATE = [{"name": "no_defection", "set": {"defect_epsilon": 0.0},
           "carries": "fighters defect to the claimant"}]


def test_ablation_points_leave_the_design_and_its_seeds_unchanged():
    plain = load_experiment(experiment())
    ablated = load_experiment(experiment(hypothesis__ablation=ABLATE))
    before = {r.run_id: (r.seed, r.params) for r in plain.runs()}
    after = {r.run_id: (r.seed, r.params) for r in ablated.runs()}
    assert set(before) < set(after)
    assert all(after[k] == v for k, v in before.items())
    assert [p.key for p in ablated.design_points] == [p.key for p in plain.points]
    new = ablated.ablation_points
    assert len(new) == 4 and all(p.ablation == "T1:no_defection" for p in new)
    for p in new:
        base = ablated.points[p.base_point]
        assert p.values == {**base.values, "defect_epsilon": 0.0}
        assert p.key == point_key(p.values)
        assert p.point_id >= len(plain.points)
    for r in ablated.runs():
        assert r.seed == run_seed(ablated.seed, r.point_key, r.replicate)
    seeds = [s for s, _ in after.values()]
    assert len(set(seeds)) == len(seeds)
    h = ablated.hypothesis["ablation"][0]
    assert h["control_point_ids"] == [4, 5] and h["treatment_point_ids"] == [6, 7]
    # a second ablation changes neither the design's runs nor the first ablation's
    two = load_experiment(experiment(hypothesis__ablation=ABLATE + [
        {"name": "no_desertion", "set": {"desert_rate": 0.0}}]))
    runs_two = {r.run_id: (r.seed, r.params) for r in two.runs()}
    assert all(runs_two[k] == v for k, v in after.items())
    assert ablated.fingerprint() == plain.fingerprint()   # an old folder can be extended


def test_an_ablated_point_equal_to_a_design_point_is_that_point():
    # pooling over propaganda: setting it to 0.6 maps both control points onto one that the
    # design already has
    exp = load_experiment(experiment(hypothesis__ablation=[
        {"name": "loud", "set": {"groups.Front.propaganda": 0.6}}]))
    assert not exp.ablation_points
    h = exp.hypothesis["ablation"][0]
    assert h["control_point_ids"] == [1] and h["treatment_point_ids"] == [3]


def test_ablations_in_toml_on_the_hypothesis_and_on_also(tmp_path):
    text = """
[experiment]
scenario = "classroom"
steps = 6
replicates = 2
outcomes = ["clash_rate", "final_fighters:Caliphate"]

[parameters]
"groups.Caliphate.claim" = [0.0, 1.0]

[hypothesis]
id = "T2"
outcome = "clash_rate"
control = { "groups.Caliphate.claim" = 0.0 }
treatment = { "groups.Caliphate.claim" = 1.0 }
expect = "greater"
min_effect = 2.0

[[hypothesis.ablation]]
name = "no_defection"
set = { defect_epsilon = 0.0 }
carries = "fighters defect to the claimant"

[[hypothesis.also]]
outcome = "final_fighters:Caliphate"
control = { "groups.Caliphate.claim" = 0.0 }
treatment = { "groups.Caliphate.claim" = 1.0 }
expect = "greater"
min_effect = 10.0

[[hypothesis.also.ablation]]
name = "no_desertion"
set = { desert_rate = 0.0, "groups.Front.propaganda" = 0.2 }
"""
    f = tmp_path / "abl.toml"
    f.write_text(text)
    exp = load_experiment(f)
    assert [p.ablation for p in exp.ablation_points] == ["T2:no_defection"] * 2 + \
        ["T2.a:no_desertion"] * 2
    also = exp.hypothesis["also"][0]["ablation"][0]
    assert also["set"] == {"desert_rate": 0.0, "groups.Front.propaganda": 0.2}
    assert exp.n_runs == 6 * 2
    assert exp.resolved()["design"]["points"] == 2
    assert len(exp.resolved()["ablation_points"]) == 4
    assert [a["part"] for a in exp.hypothesis["ablation"]] == [False]
    # part = true marks one of several chains; anything but a boolean is refused
    exp = load_experiment(_write(tmp_path, text.replace(
        'carries = "fighters defect to the claimant"',
        'carries = "fighters defect to the claimant"\npart = true')))
    assert exp.hypothesis["ablation"][0]["part"] is True
    with pytest.raises(ExperimentError, match=r"ablation\[0\]\.part.*true or false"):
        load_experiment(_write(tmp_path, text.replace(
            'carries = "fighters defect to the claimant"',
            'carries = "fighters defect to the claimant"\npart = "yes"')))


def _write(folder, text: str):
    f = folder / "abl_part.toml"
    f.write_text(text)
    return f


def test_attribution_of_ablations():
    def verdict(effect, hid, constant=False):
        if constant:
            return st.evaluate_hypothesis(np.zeros(30), np.full(30, effect), expect="greater",
                                          min_effect=1.0, n_boot=0, hypothesis_id=hid)
        return st.evaluate_hypothesis(standard(1), standard(2) + effect, expect="greater",
                                      min_effect=1.0, n_boot=0, hypothesis_id=hid)

    def with_ablations(main, *ablated):
        for i, a in enumerate(ablated):
            a.ablation = f"x{i}"
        main.ablations = list(ablated)
        st.adjust_study([main])
        return [a.attribution for a in main.ablations]

    # a supported effect: gone under the first ablation, intact under the second, unclear
    # under the third
    assert with_ablations(verdict(2.5, "H"), verdict(0.0, "a"), verdict(2.5, "b"),
                          verdict(0.5, "c")) == ["removes", "survives", "undetermined"]
    # nothing to attribute when the hypothesis does not hold
    assert with_ablations(verdict(0.0, "H"), verdict(0.0, "a")) == ["not interpreted"]
    # a constant effect beyond min_effect holds; a constant 0 under the ablation removes it
    assert with_ablations(verdict(2.0, "H", True), verdict(0.0, "a", True)) == ["removes"]
    assert with_ablations(verdict(2.0, "H", True), verdict(2.0, "a", True)) == ["survives"]
    # parts: ablations that each cut one of several chains
    def part(effect, hid, cut):
        a = verdict(effect, hid)
        a.part, a.ablation_set = True, dict(cut)
        return a

    def joint(effect, hid, cut):
        a = verdict(effect, hid)
        a.ablation_set = dict(cut)
        return a

    def attribution(main, *ablated):
        main.ablations = list(ablated)
        st.adjust_study([main])
        return [a.attribution for a in main.ablations]

    # shared: smaller under the part, and a joint ablation (cutting all the part cuts) removes it
    shared = part(1.5, "p", {"x": 0.0})
    assert attribution(verdict(2.5, "H"), shared, joint(0.0, "j", {"x": 0.0, "y": 0.0})) == \
        ["shared", "removes"]
    assert "another chain carries it too" in shared.attribution_text
    # an effect not detectably smaller under the part survives it, joint or not
    assert attribution(verdict(2.5, "H"), part(2.5, "p", {"x": 0.0}),
                       joint(0.0, "j", {"x": 0.0, "y": 0.0})) == ["survives", "removes"]
    # no joint ablation: the mechanism is untested, and the warning says so
    lone = part(1.5, "p", {"x": 0.0})
    assert attribution(verdict(2.5, "H"), lone) == ["survives"]
    assert "untested by ablation" in lone.attribution_text
    # a joint that does not cut everything the part cuts is not its joint
    assert attribution(verdict(2.5, "H"), part(1.5, "p", {"x": 0.0}),
                       joint(0.0, "j", {"y": 0.0}))[0] == "survives"
    # a joint still undecided leaves the part undetermined
    assert attribution(verdict(2.5, "H"), part(1.5, "p", {"x": 0.0}),
                       joint(0.5, "j", {"x": 0.0, "y": 0.0})) == ["undetermined",
                                                                 "undetermined"]
    # a part that removes the effect is removed, and the text flags the contradiction
    gone = part(0.0, "q", {"x": 0.0})
    assert attribution(verdict(2.5, "H"), gone) == ["removes"]
    assert "contradicts" in gone.attribution_text


# ---------------------------------------------------------------------------------------------
# replicates sized by power
# ---------------------------------------------------------------------------------------------
def test_default_replicates_give_30_per_condition_and_the_power(tmp_path):
    # pooled over two propaganda values: 15 replicates give 30 runs per condition
    exp = load_experiment(experiment(experiment__replicates=None))
    assert exp.replicates_rule == "power" and exp.replicates == 15
    # with a pilot sd the replicates reach the target power, one fewer would not
    exp = load_experiment(experiment(experiment__replicates=None, hypothesis__sd=3.0))
    e = exp.size_plan[0]
    assert e["power"] >= 0.8 and exp.replicates > 15
    assert st.welch_power(1.0, 3.0, 3.0, 2 * (exp.replicates - 1),
                          2 * (exp.replicates - 1)) < 0.8
    assert any("power 0.8" in line for line in exp.size_notes())
    # the file's replicates (and --replicates) win, and the plan says what they give
    small = load_experiment(experiment(hypothesis__sd=3.0))
    assert small.replicates == 2 and small.replicates_rule == "file"
    assert "fewer than 30 per condition" in "\n".join(small.size_notes())
    f = write(tmp_path / "e.toml", experiment(experiment__replicates=None))
    assert load_experiment(f, replicates=3).replicates == 3
