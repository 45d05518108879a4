"""Statistics for reports: intervals, hypothesis verdicts with power and multiple-comparison
control, ablations, competing-risk truce endings, power-law tails and sensitivity indices.

Everything here is a plain function of numbers (numpy arrays, pandas frames), independent of
the model, so each can be tested on synthetic data whose answer is known. Randomness (the
bootstrap) comes only from a :class:`numpy.random.Generator` passed in by the caller.

* :func:`mean_ci`, :func:`group_mean_ci`: replicate means with t-based 95% intervals.
* :func:`evaluate_hypothesis`: effect, Welch t interval and tests, power, and the verdict rule
  of ``docs/REPORTS.md`` (supported, not supported, inconclusive, set by the rules);
  :func:`adjust_family` applies Holm's (or Benjamini-Hochberg's) correction across the
  hypotheses of a study and decides again; :func:`attribute` states what each ablation says
  about the mechanism.
* :func:`welch_power`, :func:`n_for_power`: the power of the rule's test (noncentral t).
* :func:`kaplan_meier`: survival of right-censored durations (``scipy.stats.ecdf``; the
  product-limit with delayed entry when spells are left-truncated);
  :func:`aalen_johansen`: cumulative incidence of competing causes;
  :func:`truce_competing_risks`: truce endings (breakdown, merger, destruction).
* :func:`fit_power_law`: the Clauset-Shalizi-Newman procedure through the ``powerlaw``
  package: ``x_min`` by the Kolmogorov-Smirnov distance, the exponent by maximum likelihood,
  likelihood ratios against the lognormal and the exponential, the decades the tail spans;
  :func:`power_law_gof`: the goodness of fit by the semi-parametric bootstrap.
* :func:`sobol_indices`, :func:`morris_indices`: SALib's analyses as tidy frames.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy import special
from scipy import stats as sps

from ..sweeps.power import (  # noqa: F401 - the power analysis sizes a sweep's replicates
    ALPHA, EXPECTS, MIN_PER_CONDITION, TARGET_POWER, _se_df, check_min_effect, n_for_power,
    replicates_for_power, welch_power)

#: verdicts
SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
INCONCLUSIVE = "inconclusive"
SET_BY_RULES = "set by the rules"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, SET_BY_RULES)
#: fewest finite outcome values per condition for a verdict
MIN_REPLICATES = 3
#: significance level of the family of tests and coverage of the intervals: every test is the
#: one-sided test at ALPHA / 2 (reported as a doubled one-sided p-value compared with ALPHA), so
#: for one hypothesis alone each decision can be read off the 95% interval
LEVEL = 0.95
#: bootstrap resamples for the BCa interval reported beside the Welch interval
N_BOOT = 10_000
#: corrections for multiple comparisons
ADJUST_METHODS = ("holm", "bh", "none")
DEFAULT_ADJUST = "holm"
_ADJUST_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "unadjusted"}
#: a power-law tail must span at least this many decades (x_max / x_min) to be called one
MIN_DECADES = 2.0
#: goodness-of-fit bootstraps of the clash-size power law by default (about +-0.07 on p)
GOF_BOOT = 50
#: p below which the goodness of fit rules a power law out (Clauset et al. 2009)
GOF_REJECT = 0.1


def _finite(x: Any) -> np.ndarray:
    a = np.asarray(x, dtype=float).ravel()
    return a[np.isfinite(a)]


# =============================================================================================
# Means and intervals over replicates
# =============================================================================================
def mean_ci(values: Any, level: float = LEVEL) -> tuple[float, float, float, int]:
    """Mean of the finite values and its t-based confidence interval: (mean, low, high, n).

    With fewer than two values the interval is (nan, nan).
    """
    x = _finite(values)
    n = len(x)
    if n == 0:
        return (math.nan, math.nan, math.nan, 0)
    m = float(x.mean())
    if n < 2:
        return (m, math.nan, math.nan, n)
    se = float(x.std(ddof=1)) / math.sqrt(n)
    t = float(sps.t.ppf(0.5 + level / 2, n - 1))
    return (m, m - t * se, m + t * se, n)


def group_mean_ci(df: pd.DataFrame, by: str | Sequence[str], value: str,
                  level: float = LEVEL) -> pd.DataFrame:
    """Per group of ``by``: columns ``mean``, ``low``, ``high``, ``n``, ``sd`` of ``value``."""
    rows = []
    keys = [by] if isinstance(by, str) else list(by)
    for key, sub in df.groupby(keys, sort=True, dropna=False):
        m, lo, hi, n = mean_ci(sub[value], level)
        x = _finite(sub[value])
        key = key if isinstance(key, tuple) else (key,)
        rows.append(dict(zip(keys, key), mean=m, low=lo, high=hi, n=n,
                         sd=float(x.std(ddof=1)) if len(x) > 1 else math.nan))
    return pd.DataFrame(rows, columns=keys + ["mean", "low", "high", "n", "sd"])


def bootstrap_mean_difference(control: Any, treatment: Any, rng: np.random.Generator,
                              n_boot: int = N_BOOT, level: float = LEVEL,
                              method: str = "BCa") -> tuple[float, float]:
    """Bootstrap interval of mean(treatment) - mean(control) (``scipy.stats.bootstrap``).

    Each condition is resampled with replacement on its own (the conditions are independent
    runs); ``rng`` is the only source of randomness. ``method``: ``"BCa"`` (bias-corrected and
    accelerated, the default), ``"percentile"`` or ``"basic"``. (nan, nan) when either
    condition has fewer than two values or the interval is undefined (no variation).
    """
    c, t = _finite(control), _finite(treatment)
    if len(c) < 2 or len(t) < 2:
        return (math.nan, math.nan)
    if c.var() == 0 and t.var() == 0:
        d = float(t.mean() - c.mean())
        return (d, d)

    def diff(x, y, axis=-1):
        return x.mean(axis=axis) - y.mean(axis=axis)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a degenerate resample is data, not an error
        try:
            res = sps.bootstrap((t, c), diff, n_resamples=int(n_boot), vectorized=True,
                                paired=False, confidence_level=level, method=method, rng=rng)
        except ValueError:
            return (math.nan, math.nan)
    lo, hi = res.confidence_interval
    return (float(lo), float(hi))


@dataclass
class Welch:
    """Welch's comparison of two means: the difference, its standard error and the
    Welch-Satterthwaite degrees of freedom; p-values of one-sided tests against any value."""

    diff: float
    se: float
    df: float
    n_control: int
    n_treatment: int
    sd_control: float
    sd_treatment: float

    @classmethod
    def of(cls, control: np.ndarray, treatment: np.ndarray) -> Welch:
        c, t = _finite(control), _finite(treatment)
        vc, vt = c.var(ddof=1), t.var(ddof=1)
        return cls(float(t.mean() - c.mean()), *_se_df(vc, vt, len(c), len(t)),
                   len(c), len(t), float(math.sqrt(vc)), float(math.sqrt(vt)))

    def p_above(self, delta: float) -> float:
        """p of the test of H0: effect <= delta (small when the effect is above delta)."""
        return float(sps.t.sf((self.diff - delta) / self.se, self.df))

    def p_below(self, delta: float) -> float:
        """p of the test of H0: effect >= delta (small when the effect is below delta)."""
        return float(sps.t.cdf((self.diff - delta) / self.se, self.df))

    def ci(self, level: float = LEVEL) -> tuple[float, float]:
        h = float(sps.t.ppf(0.5 + level / 2, self.df)) * self.se
        return (self.diff - h, self.diff + h)


def welch_test(control: Any, treatment: Any, alternative: str = "two-sided"
               ) -> tuple[float, float]:
    """Welch's t-test of treatment against control: (t statistic, p-value).

    ``alternative``: ``"greater"`` (treatment mean larger), ``"less"`` or ``"two-sided"``.
    When neither condition varies there is no test: (nan, nan) (the verdict rule calls such an
    outcome "set by the rules").
    """
    c, t = _finite(control), _finite(treatment)
    if len(c) < 2 or len(t) < 2:
        return (math.nan, math.nan)
    if c.var(ddof=1) == 0 and t.var(ddof=1) == 0:
        return (math.nan, math.nan)
    with warnings.catch_warnings():
        # nearly equal values (an outcome that hardly varies) are legitimate data here
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sps.ttest_ind(t, c, equal_var=False, alternative=alternative)
    return (float(res.statistic), float(res.pvalue))


def mann_whitney(control: Any, treatment: Any, alternative: str = "two-sided"
                 ) -> tuple[float, float]:
    """Mann-Whitney U test of treatment against control: (U, p-value); reported alongside."""
    c, t = _finite(control), _finite(treatment)
    if len(c) < 1 or len(t) < 1:
        return (math.nan, math.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sps.mannwhitneyu(t, c, alternative=alternative)
    return (float(res.statistic), float(res.pvalue))


# =============================================================================================
# Power of the rule's test
# =============================================================================================
def adjust_p(p_values: Any, method: str = DEFAULT_ADJUST) -> np.ndarray:
    """Adjusted p-values of a family: Holm's step-down (``"holm"``, family-wise error),
    Benjamini-Hochberg's step-up (``"bh"``, false discovery rate) or none. Undefined (nan)
    p-values are left out of the family and stay nan."""
    if method not in ADJUST_METHODS:
        raise ValueError(f"adjustment {method!r}: allowed: {', '.join(ADJUST_METHODS)}")
    p = np.asarray(p_values, dtype=float).ravel()
    out = np.full(len(p), math.nan)
    ok = np.flatnonzero(np.isfinite(p))
    k = len(ok)
    if not k:
        return out
    q = p[ok]
    if method == "none":
        out[ok] = q
        return out
    order = np.argsort(q, kind="stable")
    ranked = q[order]
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (k - np.arange(k)) * ranked))
    else:
        adj = np.minimum.accumulate((k / np.arange(1, k + 1) * ranked)[::-1])[::-1]
        adj = np.minimum(1.0, adj)
    res = np.empty(k)
    res[order] = adj
    out[ok] = res
    return out


# =============================================================================================
# Hypothesis verdicts
# =============================================================================================
@dataclass
class Verdict:
    """The evidence on one hypothesis and the verdict (see ``docs/REPORTS.md``)."""

    id: str
    outcome: str
    expect: str
    verdict: str
    reason: str
    statement: str = ""
    min_effect: float = math.nan        #: the smallest effect of interest (outcome's units)
    smallest_effect: float = math.nan   #: the same (kept for charts and older scripts)
    n_control: int = 0
    n_treatment: int = 0
    dropped: int = 0                    #: runs with an undefined (nan) outcome, left out
    mean_control: float = math.nan
    mean_treatment: float = math.nan
    sd_control: float = math.nan
    sd_treatment: float = math.nan
    sd_pooled: float = math.nan
    effect: float = math.nan            #: mean(treatment) - mean(control)
    ci_low: float = math.nan            #: Welch t interval at ``level``
    ci_high: float = math.nan
    half_width: float = math.nan
    ci_method: str = "Welch t"
    bca_low: float = math.nan           #: BCa bootstrap interval (reported, not in the rule)
    bca_high: float = math.nan
    test: str = "Welch t-test"
    alternative: str = "two-sided"
    statistic: float = math.nan         #: Welch t of the effect against 0
    df: float = math.nan
    p_value: float = math.nan           #: raw p of the test that supports the hypothesis
    p_adjusted: float = math.nan        #: the same after the correction across the family
    p_refute: float = math.nan          #: raw p of the test that refutes it
    p_refute_adjusted: float = math.nan
    p_wrong_sign: float = math.nan      #: raw p of "the effect goes the other way"
    adjust_method: str = "none"
    family_size: int = 1
    mw_u: float = math.nan              #: Mann-Whitney U (reported, not used by the rule)
    mw_p: float = math.nan
    power: float = math.nan             #: power for min_effect at the observed SDs
    power_target: float = TARGET_POWER
    replicates_suffice: bool = False    #: power >= power_target
    replicates_needed: int | None = None  #: runs per condition for power_target
    set_by_rules: bool = False          #: constant within both conditions: no test
    error: str = ""                     #: why no verdict could be computed (bad input)
    level: float = LEVEL
    alpha: float = ALPHA
    n_boot: int = N_BOOT
    control: dict[str, Any] = field(default_factory=dict)
    treatment: dict[str, Any] = field(default_factory=dict)
    ablation: str = ""                  #: for an ablated contrast: the ablation's name
    carries: str = ""                   #: ... and the mechanism it switches off
    #: the ablation cuts one of several chains said to carry the effect (the others remain)
    part: bool = False
    ablation_set: dict[str, Any] = field(default_factory=dict)
    #: removes | survives | shared (a part ablation the effect outlives) | undetermined |
    #: not interpreted
    attribution: str = ""
    attribution_text: str = ""
    ablations: list[Verdict] = field(default_factory=list)
    #: over an ensemble of parameter draws: the share of draws in which the effect has the
    #: stated sign and size, with its interval (see :func:`ensemble_share`)
    ensemble: dict[str, Any] = field(default_factory=dict)

    # -- text ----------------------------------------------------------------------------------
    def expectation(self) -> str:
        m = _fmt(self.min_effect)
        return {"greater": f"expected greater by at least {m}",
                "less": f"expected less by at least {m}",
                "different": f"expected to differ by at least {m}",
                "equivalent": f"expected equivalent within +-{m}"}.get(self.expect, self.expect)

    def tests_text(self) -> str:
        adj = _ADJUST_NAMES.get(self.adjust_method, self.adjust_method)
        fam = f", {self.family_size} tests" if self.family_size > 1 else ""

        def pp(raw, a):
            s = f"p {_fmt_p(raw)}"
            if self.adjust_method != "none" and self.family_size > 1 and np.isfinite(a):
                s += f", {adj} p {_fmt_p(a)}{fam}"
            return s

        m = _fmt(self.min_effect)
        if self.expect == "equivalent":
            return (f"equivalence (TOST within +-{m}): {pp(self.p_value, self.p_adjusted)}; "
                    f"|effect| > {m}: {pp(self.p_refute, self.p_refute_adjusted)}")
        if self.expect == "different":
            return (f"effect != 0: {pp(self.p_value, self.p_adjusted)}; |effect| < {m} "
                    f"(TOST): {pp(self.p_refute, self.p_refute_adjusted)}")
        short = f"effect below {m}" if self.expect == "greater" else f"effect above -{m}"
        return (f"no effect: {pp(self.p_value, self.p_adjusted)}; {short}: "
                f"{pp(self.p_refute, self.p_refute_adjusted)}")

    def power_text(self) -> str:
        if not np.isfinite(self.power):
            return ""
        what = ("to show equivalence if there is no effect" if self.expect == "equivalent"
                else f"to detect {_fmt(self.min_effect)}")
        s = (f"power {self.power:.2f} {what} at the observed SDs "
             f"({_fmt(self.sd_control)}, {_fmt(self.sd_treatment)})")
        if self.family_size > 1:
            s += f" and level {self.alpha:g}/{self.family_size}"
        if not self.replicates_suffice and self.replicates_needed:
            s += (f"; about {self.replicates_needed} runs per condition would give "
                  f"{self.power_target:g}")
        return s

    def line(self) -> str:
        """One line: the id, the verdict and the numbers behind it."""
        tag = f" [ablation {self.ablation}]" if self.ablation else ""
        head = f"{self.id}{tag}: {self.verdict.upper()}"
        if not np.isfinite(self.effect) or self.verdict == SET_BY_RULES:
            extra = (f"treatment - control = {_fmt(self.effect, True)}; "
                     if np.isfinite(self.effect) else "")
            return f"{head} - {self.outcome} ({self.expectation()}): {extra}{self.reason}"
        pct = round(100 * self.level)
        parts = [f"{head} - {self.outcome} ({self.expectation()}): treatment - control = "
                 f"{_fmt(self.effect, True)} ({pct}% {self.ci_method} CI "
                 f"{_fmt(self.ci_low, True)} to {_fmt(self.ci_high, True)})",
                 self.tests_text(),
                 f"n = {self.n_control} control, {self.n_treatment} treatment"]
        if self.power_text():
            parts.append(self.power_text())
        parts.append(self.reason)
        return "; ".join(parts)

    def text(self, width: int = 100) -> str:
        """The verdict line wrapped at ``width`` columns, with one wrapped line per ablation
        (its attribution) below it."""
        out = textwrap.fill(self.line(), width=width, subsequent_indent="    ",
                            break_on_hyphens=False)
        if self.ensemble:
            out += "\n" + textwrap.fill(self.ensemble_text(), width=width,
                                        initial_indent="  - ", subsequent_indent="      ",
                                        break_on_hyphens=False)
        for a in self.ablations:
            out += "\n" + textwrap.fill(f"ablation {a.ablation}: {a.attribution_text}",
                                        width=width, initial_indent="  - ",
                                        subsequent_indent="      ", break_on_hyphens=False)
        return out

    def ensemble_text(self) -> str:
        """'supported in 87% (80-92%) of plausible parameterisations' and how it was
        counted."""
        e = self.ensemble
        if not e:
            return ""
        if not e.get("n"):
            return (f"over the ensemble: no parameter draw has runs in both conditions "
                    f"({e.get('draws', 0)} draws)")
        pct = round(100 * e["level"])
        what = {"greater": f"effect >= {_fmt(self.min_effect)}",
                "less": f"effect <= -{_fmt(self.min_effect)}",
                "different": f"|effect| >= {_fmt(self.min_effect)}",
                "equivalent": f"|effect| < {_fmt(self.min_effect)}"}.get(self.expect, "")
        return (f"over the ensemble ({e['kind']}): the effect has the stated sign and size "
                f"({what}) in {100 * e['share']:.0f}% ({100 * e['low']:.0f}-"
                f"{100 * e['high']:.0f}%, {e['method']} {pct}%) of {e['n']} parameter draws "
                f"({e['k']} of {e['n']}; each draw's effect is the mean of its treatment runs "
                f"minus the mean of its control runs, {e['runs_per_draw']} run"
                f"{'s' if e['runs_per_draw'] != 1 else ''} per condition)"
                + (f"; {e['undefined']} draws without a defined effect left out"
                   if e.get("undefined") else ""))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Verdict:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names and k != "ablations"}
        v = cls(**kw)
        v.ablations = [cls.from_dict(a) for a in d.get("ablations") or []]
        return v


def _fmt(x: float | None, sign: bool = False) -> str:
    if x is None or not np.isfinite(x):
        return "inf" if x == math.inf else ("-inf" if x == -math.inf else "nan")
    a = abs(x)
    if a != 0 and (a >= 1e5 or a < 1e-3):
        s = f"{x:.3g}"
    elif a >= 100:
        s = f"{x:.1f}"
    else:
        s = f"{x:.3g}" if a < 1 else f"{x:.2f}"
    return ("+" + s) if sign and x > 0 else s


def _fmt_p(p: float) -> str:
    if not np.isfinite(p):
        return "nan"
    return "< 0.0001" if p < 1e-4 else f"= {p:.4f}"


def evaluate_hypothesis(control: Any, treatment: Any, *, expect: str = "greater",
                        min_effect: float | None = None,
                        rng: np.random.Generator | None = None, hypothesis_id: str = "H",
                        outcome: str = "outcome", statement: str = "", alpha: float = ALPHA,
                        level: float = LEVEL, n_boot: int = N_BOOT,
                        min_replicates: int = MIN_REPLICATES,
                        power_target: float = TARGET_POWER) -> Verdict:
    """Compare the outcome's replicate values under treatment and control; return the verdict
    as if the hypothesis were alone in its family (:func:`adjust_family` corrects for the
    others and decides again).

    With ``m = min_effect`` (required, finite, > 0) and ``d`` = treatment - control, every test
    is Welch's, one-sided at ``alpha / 2``, reported as a doubled one-sided p-value compared
    with ``alpha`` (for a hypothesis alone each decision can be read off the 95% Welch
    interval). For ``expect="greater"`` (``"less"`` is its mirror image):

    * **supported**: the test of ``d <= 0`` rejects (after correction) and the test of
      ``d >= m`` does not: the effect goes the stated way and is not shown smaller than m;
    * **not supported**: the test of ``d >= m`` rejects (after correction): the effect is
      smaller than the smallest effect of interest. This holds whenever the effect is shown to
      go the other way, or to lie within +-m of zero (TOST): both imply it;
    * **inconclusive** otherwise, or with fewer than ``min_replicates`` values a side;
    * **set by the rules**: the outcome is constant within both conditions; no test.

    ``"different"``: supported when ``d != 0`` is shown and ``|d| < m`` is not; not supported
    when ``|d| < m`` is shown (TOST). ``"equivalent"``: supported when ``|d| < m`` is shown
    (TOST); not supported when ``|d| > m`` is shown.
    """
    if expect not in EXPECTS:
        raise ValueError(f"expect {expect!r}: allowed: {', '.join(EXPECTS)}")
    m = check_min_effect(min_effect)
    rng = rng if rng is not None else np.random.default_rng(0)
    c_all = np.asarray(control, dtype=float).ravel()
    t_all = np.asarray(treatment, dtype=float).ravel()
    c, t = _finite(c_all), _finite(t_all)
    alternative = {"greater": "greater", "less": "less", "different": "two-sided",
                   "equivalent": "two one-sided (TOST)"}[expect]
    v = Verdict(id=hypothesis_id, outcome=outcome, expect=expect, verdict=INCONCLUSIVE,
                reason="", statement=statement, min_effect=m, smallest_effect=m,
                n_control=len(c), n_treatment=len(t),
                dropped=int(len(c_all) - len(c) + len(t_all) - len(t)), alternative=alternative,
                level=level, alpha=alpha, n_boot=n_boot, power_target=power_target,
                test="Welch t-test (TOST)" if expect == "equivalent" else "Welch t-test")
    if len(c):
        v.mean_control = float(c.mean())
    if len(t):
        v.mean_treatment = float(t.mean())
    if len(c) and len(t):
        v.effect = v.mean_treatment - v.mean_control
    if len(c) > 1:
        v.sd_control = float(c.std(ddof=1))
    if len(t) > 1:
        v.sd_treatment = float(t.std(ddof=1))
    if len(c) < min_replicates or len(t) < min_replicates:
        return _decide(v)
    v.sd_pooled = float(math.sqrt(((len(c) - 1) * c.var(ddof=1) + (len(t) - 1) * t.var(ddof=1))
                                  / (len(c) + len(t) - 2)))
    if c.var(ddof=1) == 0 and t.var(ddof=1) == 0:
        v.set_by_rules = True
        v.ci_low = v.ci_high = v.effect
        v.half_width = 0.0
        return _decide(v)
    w = Welch.of(c, t)
    v.df = w.df
    v.statistic = w.diff / w.se
    v.ci_low, v.ci_high = w.ci(level)
    v.half_width = (v.ci_high - v.ci_low) / 2
    if n_boot > 0:
        v.bca_low, v.bca_high = bootstrap_mean_difference(c, t, rng, n_boot, level, "BCa")

    _p_values(v, w, expect, m)
    v.p_adjusted, v.p_refute_adjusted = v.p_value, v.p_refute
    v.mw_u, v.mw_p = mann_whitney(c, t, "two-sided" if expect in ("different", "equivalent")
                                  else expect)
    _power(v)
    return _decide(v)


def _p_values(v: Verdict, w: Welch, expect: str, m: float) -> None:
    """The verdict's p-values: of the test that would support the hypothesis, of the one that
    would refute it (the effect smaller than ``m``, or beyond it for equivalence) and of the
    wrong sign; each a one-sided test at alpha / 2, doubled to compare with alpha."""
    def two(p: float) -> float:   # a one-sided test at alpha / 2, compared with alpha
        return float(min(1.0, 2.0 * p))

    if expect in ("greater", "less"):
        s = 1.0 if expect == "greater" else -1.0
        up, down = ((w.p_above, w.p_below) if s > 0 else (w.p_below, w.p_above))
        v.p_value = two(up(0.0))                      # H0: s * d <= 0
        v.p_refute = two(down(s * m))                 # H0: s * d >= m
        v.p_wrong_sign = two(down(0.0))               # H0: s * d >= 0
    elif expect == "different":
        v.p_value = two(min(w.p_above(0.0), w.p_below(0.0)))
        v.p_refute = two(max(w.p_above(-m), w.p_below(m)))       # TOST: |d| < m
        v.p_wrong_sign = math.nan
    else:
        v.p_value = two(max(w.p_above(-m), w.p_below(m)))        # TOST: |d| < m
        v.p_refute = two(min(w.p_above(m), w.p_below(-m)))       # |d| > m


def _power(v: Verdict) -> None:
    """Power for min_effect at the observed SDs and the family's Bonferroni level; the runs
    per condition that would reach the target."""
    if v.set_by_rules or v.error or not (np.isfinite(v.sd_control)
                                         and np.isfinite(v.sd_treatment)):
        return
    v.power = welch_power(v.min_effect, v.sd_control, v.sd_treatment, v.n_control,
                          v.n_treatment, expect=v.expect, alpha=v.alpha, family=v.family_size)
    v.replicates_suffice = bool(np.isfinite(v.power) and v.power >= v.power_target)
    v.replicates_needed = n_for_power(v.min_effect, v.sd_control, v.sd_treatment,
                                      expect=v.expect, alpha=v.alpha, family=v.family_size,
                                      power=v.power_target)


def _decide(v: Verdict) -> Verdict:
    """The verdict from the (adjusted) p-values already in ``v`` (docs/REPORTS.md)."""
    if v.error:
        v.verdict, v.reason = INCONCLUSIVE, v.error
        return v
    m = _fmt(v.min_effect)
    dropped = (f"; {v.dropped} runs with an undefined outcome left out" if v.dropped else "")
    if v.n_control < MIN_REPLICATES or v.n_treatment < MIN_REPLICATES:
        v.verdict = INCONCLUSIVE
        v.reason = (f"too few replicates: {v.n_control} control and {v.n_treatment} treatment "
                    f"values (at least {MIN_REPLICATES} each needed){dropped}")
        return v
    if v.set_by_rules:
        v.verdict = SET_BY_RULES
        v.reason = (f"the outcome is constant within both conditions ({_fmt(v.mean_control)} "
                    f"in every control run, {_fmt(v.mean_treatment)} in every treatment run): "
                    f"set by the rules, not a statistical result{dropped}")
        return v
    adj = _ADJUST_NAMES.get(v.adjust_method, "") if v.adjust_method != "none" else ""
    a = v.alpha
    support = bool(np.isfinite(v.p_adjusted) and v.p_adjusted < a)
    refute = bool(np.isfinite(v.p_refute_adjusted) and v.p_refute_adjusted < a)
    padj = f"{adj} p" if adj and v.family_size > 1 else "p"
    if v.expect == "equivalent":
        if support:
            v.verdict = SUPPORTED
            v.reason = f"equivalence within +-{m} shown ({padj} < {a:g})"
        elif refute:
            v.verdict = NOT_SUPPORTED
            v.reason = (f"the effect is shown to exceed the margin: |effect| > {m} "
                        f"({padj} < {a:g})")
        else:
            v.verdict = INCONCLUSIVE
            v.reason = (f"neither equivalence within +-{m} nor an effect beyond it is shown")
    else:
        short = {"greater": f"effect below {m}", "less": f"effect above -{m}"}.get(
            v.expect, f"|effect| < {m}")
        if refute:
            v.verdict = NOT_SUPPORTED
            s = -1.0 if v.expect == "less" else 1.0
            lo, hi = sorted((s * v.ci_low, s * v.ci_high))
            if v.expect != "different" and hi < 0:
                why = "the effect goes the other way"
            elif support:
                why = f"a real effect, but smaller than the smallest of interest ({m})"
            elif -v.min_effect < v.ci_low and v.ci_high < v.min_effect:
                why = f"the effect is equivalent to none within +-{m}"
            else:
                why = f"the effect is smaller than the smallest of interest ({m})"
            v.reason = f"{why} (shown: {short}, {padj} < {a:g})"
        elif support:
            v.verdict = SUPPORTED
            side = "differs from 0" if v.expect == "different" else "goes the stated way"
            v.reason = (f"the effect {side} ({padj} < {a:g}) and is not shown smaller than "
                        f"the smallest of interest ({m})")
        else:
            v.verdict = INCONCLUSIVE
            v.reason = ("the effect is neither shown to go the stated way nor shown smaller "
                        f"than the smallest of interest ({m})")
    if v.verdict == INCONCLUSIVE and not v.replicates_suffice:
        v.reason += ": more replicates needed"
    v.reason += dropped
    return v


def adjust_family(verdicts: Sequence[Verdict], method: str = DEFAULT_ADJUST) -> list[Verdict]:
    """Correct the p-values of a family of hypotheses (one study) and decide each again.

    The tests that would support each hypothesis form one family and the tests that would
    refute it another; each is adjusted by ``method`` (Holm by default). For any true effect at
    most one of a hypothesis' two null hypotheses is true, so each kind of claim keeps its
    family-wise error rate at ``alpha``. Hypotheses without a test (set by the rules, too few
    replicates) are left out of the family. The power is recomputed at the family's
    Bonferroni level. Returns the verdicts (changed in place).
    """
    vs = list(verdicts)
    if not vs:
        return vs
    sup = adjust_p([v.p_value for v in vs], method)
    ref = adjust_p([v.p_refute for v in vs], method)
    k = int(np.isfinite([v.p_value for v in vs]).sum())
    for v, ps, pr in zip(vs, sup, ref):
        v.p_adjusted, v.p_refute_adjusted = float(ps), float(pr)
        v.adjust_method = method
        v.family_size = max(1, k)
        _power(v)
        _decide(v)
    return vs


def _se(x: Verdict) -> float:
    """The standard error of a contrast's effect (Welch, from its conditions' SDs)."""
    if x.n_control < 1 or x.n_treatment < 1:
        return math.nan
    return _se_df(x.sd_control ** 2, x.sd_treatment ** 2, x.n_control, x.n_treatment)[0]


def part_is_smaller(v: Verdict, a: Verdict, alpha: float = ALPHA) -> bool:
    """Whether the part ablation ``a`` detectably shrinks ``v``'s effect: a one-sided z test
    of the difference of the two effects in the stated direction (normal approximation to
    the two contrasts' Welch standard errors), at level ``alpha``."""
    se = math.hypot(_se(v), _se(a))
    if not (np.isfinite(se) and se > 0 and np.isfinite(v.effect) and np.isfinite(a.effect)):
        return False
    s = -1.0 if v.expect == "less" else 1.0
    z = s * (v.effect - a.effect) / se
    return bool(special.ndtr(-z) < alpha)


def _joints(v: Verdict, a: Verdict) -> list[Verdict]:
    """The ablations of ``v`` that are not parts and switch off everything part ``a`` does."""
    return [b for b in v.ablations if not b.part and b is not a
            and all(k in b.ablation_set and b.ablation_set[k] == x
                    for k, x in a.ablation_set.items())]


def attribute(v: Verdict) -> Verdict:
    """State what each ablation of ``v`` says about the mechanism (in place).

    An ablated contrast that is *not supported* (its effect is smaller than min_effect, or
    equivalent to none) means the ablation removes the effect: the mechanism it switches off
    carries it. One that is *supported* means the effect survives the ablation, which points
    to a bug in the model or the experiment.

    A ``part`` ablation cuts one of several chains said to carry the effect. An effect that
    outlives it is *shared* only when both (a) the effect is detectably smaller under the part
    (:func:`part_is_smaller`: the chain carries a share) and (b) a joint ablation (not a part,
    switching off all the part does and more) removes the effect; while the joint is undecided
    the part is *undetermined*; otherwise the effect *survives* the part, with the warning. A
    hypothesis whose parts have no joint ablation cannot have a shared effect: its mechanism
    is untested by ablation, and the text says so.
    """
    def reading(x: Verdict) -> str:
        """A verdict, with a constant ("set by the rules") effect read against min_effect."""
        if x.verdict != SET_BY_RULES:
            return x.verdict
        s = -1.0 if v.expect == "less" else 1.0
        small = (abs(x.effect) < v.min_effect if v.expect in ("different", "equivalent") else
                 s * x.effect < v.min_effect)
        if v.expect == "equivalent":
            return SUPPORTED if small else NOT_SUPPORTED
        return NOT_SUPPORTED if small else SUPPORTED

    holds = reading(v) == SUPPORTED and np.isfinite(v.effect)
    # joint ablations first: a part's reading depends on them
    for a in sorted(v.ablations, key=lambda x: x.part):
        label = f"'{a.ablation}'" + (f" ({a.carries})" if a.carries else "")
        eff = (f" (ablated effect {_fmt(a.effect, True)}, CI {_fmt(a.ci_low, True)} to "
               f"{_fmt(a.ci_high, True)})" if np.isfinite(a.effect) else "")
        verdict = reading(a)
        what = "the verdict" if v.expect == "equivalent" else "the effect"
        if a.n_control == 0 and a.n_treatment == 0:
            a.attribution = "undetermined"
            a.attribution_text = f"ablation {label} has no runs yet (resume the sweep)"
        elif not holds:
            a.attribution = "not interpreted"
            a.attribution_text = (f"{a.verdict} when {label} is switched off{eff}; the "
                                  f"hypothesis itself is {v.verdict}, so there is nothing to "
                                  "attribute")
        elif verdict == NOT_SUPPORTED:
            a.attribution = "removes"
            a.attribution_text = (f"{what} disappears when {label} is switched off (ablation "
                                  f"removes it){eff}")
            if a.part:
                a.attribution_text += ("; it is declared a part (one of several chains, each "
                                       "able to carry the effect), which this contradicts")
        elif verdict == SUPPORTED and a.part:
            _part_reading(v, a, label, eff, what)
        elif verdict == SUPPORTED:
            a.attribution = "survives"
            a.attribution_text = (f"WARNING: {what} survives ablation {label}{eff}: switching "
                                  "off the mechanism said to carry it should remove it; this "
                                  "points to a bug in the model or the experiment")
        else:
            a.attribution = "undetermined"
            need = (f"; about {a.replicates_needed} runs per condition would decide it"
                    if a.replicates_needed else "")
            a.attribution_text = (f"inconclusive whether {what} survives ablation "
                                  f"{label}{eff}{need}")
    return v


def _part_reading(v: Verdict, a: Verdict, label: str, eff: str, what: str) -> None:
    """The reading of a part ablation that the effect outlives (see :func:`attribute`)."""
    joints = _joints(v, a)
    smaller = part_is_smaller(v, a)
    if not smaller:
        a.attribution = "survives"
        a.attribution_text = (f"WARNING: {what} survives ablation {label}{eff}, not detectably "
                              "smaller than with the chain: it is declared a part, but this "
                              "chain carries no share that the runs can see")
    elif not joints:
        a.attribution = "survives"
        a.attribution_text = (f"WARNING: {what} outlives part {label}{eff}, smaller than with "
                              "the chain; no ablation cuts the chains together, so the "
                              "mechanism is untested by ablation")
    elif any(j.attribution == "removes" for j in joints):
        a.attribution = "shared"
        a.attribution_text = (f"{what} remains, smaller, when {label} alone is switched "
                              f"off{eff}, and the joint ablation removes it: this chain "
                              "carries a share and another chain carries it too")
    else:
        a.attribution = "undetermined"
        a.attribution_text = (f"{what} outlives part {label}{eff}, smaller than with the "
                              "chain; whether it is shared waits on the joint ablation, "
                              "which is not decided")


def adjust_study(verdicts: Sequence[Verdict], method: str = DEFAULT_ADJUST) -> list[Verdict]:
    """Correct a study's verdicts: its hypotheses form one family (:func:`adjust_family`), the
    ablated contrasts of all of them another; then state each ablation's attribution
    (:func:`attribute`). A study is one experiment (``militant-sim report``) or all of them
    (the README's table)."""
    vs = list(verdicts)
    adjust_family(vs, method)
    adjust_family([a for v in vs for a in v.ablations], method)
    for v in vs:
        attribute(v)
    return vs


# =============================================================================================
# Survival and competing risks
# =============================================================================================
@dataclass
class KaplanMeier:
    """A Kaplan-Meier estimate. Arrays are per distinct time at which something happened."""

    time: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    censored: np.ndarray
    survival: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n: int
    n_events: int
    level: float = LEVEL
    n_truncated: int = 0    #: spells observed only from a later age (left-truncated)
    origin: float = 0.0     #: the youngest entry age: S(t) is conditional on reaching it

    def at(self, t: float) -> float:
        """S(t): the share of spells lasting longer than ``t`` (nan below ``origin``, when
        every spell was observed only from a later age)."""
        if t < self.origin:
            return math.nan
        i = np.searchsorted(self.time, t, side="right") - 1
        return 1.0 if i < 0 else float(self.survival[i])

    def median(self) -> float:
        """The smallest time at which S(t) <= 0.5 (nan when the curve never gets there)."""
        idx = np.flatnonzero(self.survival <= 0.5 + 1e-12)
        return float(self.time[idx[0]]) if len(idx) else math.nan

    def steps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(t, S, low, high) starting at (origin, 1), for step plots (``where="post"``)."""
        t = np.concatenate([[self.origin], self.time])
        return (t, np.concatenate([[1.0], self.survival]), np.concatenate([[1.0], self.low]),
                np.concatenate([[1.0], self.high]))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"time": self.time, "at_risk": self.at_risk, "events": self.events,
                             "censored": self.censored, "survival": self.survival,
                             "low": self.low, "high": self.high})


def _durations(durations: Any, censored: Any, entry: Any) -> tuple[np.ndarray, ...]:
    d = np.asarray(durations, dtype=float).ravel()
    cens = (np.zeros(len(d), dtype=bool) if censored is None
            else np.asarray(censored, dtype=bool).ravel())
    ent = np.zeros(len(d)) if entry is None else np.asarray(entry, dtype=float).ravel()
    if len(cens) != len(d) or len(ent) != len(d):
        raise ValueError("durations, censored and entry differ in length")
    keep = np.isfinite(d)
    d, cens, ent = d[keep], cens[keep], np.nan_to_num(ent[keep])
    if np.any(d < 0):
        raise ValueError("durations must be >= 0")
    if np.any(ent < 0):
        raise ValueError("entry ages must be >= 0")
    if np.any((ent > 0) & (ent >= d)):
        raise ValueError("a left-truncated spell must last beyond its entry age")
    return d, cens, ent


def _risk_table(d: np.ndarray, ent: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Spells at risk at each time: entered before it (entry < t) and not yet ended (d >= t);
    a spell censored at t is still at risk at t (ends count first)."""
    ds, es = np.sort(d), np.sort(ent)
    still = len(d) - np.searchsorted(ds, times, side="left")          # d >= t
    not_entered = len(d) - np.searchsorted(es, times, side="left")    # entry >= t
    return (still - not_entered).astype(int)


def kaplan_meier(durations: Any, censored: Any = None, level: float = LEVEL,
                 entry: Any = None) -> KaplanMeier:
    """Kaplan-Meier survival curve of ``durations``; ``censored[i]`` True when spell i was
    still running when observation stopped (its end is unknown, it only lasted at least that).

    Right-censored spells are estimated by ``scipy.stats.ecdf`` (with
    ``scipy.stats.CensoredData``) and its pointwise log(-log S) (Greenwood) intervals.
    ``entry[i]`` > 0 marks a left-truncated spell: one observed only from age ``entry[i]`` (a
    truce made before week 0 and still holding then). It is in the risk set only after that
    age; scipy has no delayed entry, so such data use the product-limit of
    :func:`aalen_johansen` (with one cause, the same estimator) and Greenwood's variance over
    the truncated risk sets. At a time where spells both end and are censored, the ends count
    first (the censored spells were still at risk).
    """
    d, cens, ent = _durations(durations, censored, entry)
    times = np.unique(d)
    ev = np.array([np.sum((d == t) & ~cens) for t in times], dtype=int)
    ce = np.array([np.sum((d == t) & cens) for t in times], dtype=int)
    at_risk = _risk_table(d, ent, times)
    z = sps.norm.ppf(0.5 + level / 2)
    if not len(d):
        empty = np.array([])
        return KaplanMeier(empty, empty.astype(int), empty.astype(int), empty.astype(int),
                           empty, empty, empty, 0, 0, level)
    if np.any(ent > 0):
        with np.errstate(divide="ignore", invalid="ignore"):
            surv = np.cumprod(np.where(at_risk > 0, 1.0 - ev / np.maximum(at_risk, 1), 1.0))
            gw = np.cumsum(np.where(at_risk > ev, ev / (at_risk * (at_risk - ev)), np.inf))
            se = np.sqrt(gw) / np.abs(np.log(surv))
            low = surv ** np.exp(z * se)
            high = surv ** np.exp(-z * se)
    elif ev.sum() == 0:
        surv = np.ones(len(times))
        low, high = surv.copy(), surv.copy()
    else:
        res = sps.ecdf(sps.CensoredData(uncensored=d[~cens], right=d[cens]))
        surv = res.sf.evaluate(times)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # undefined where S is 0 or 1
            ci = res.sf.confidence_interval(confidence_level=level, method="log-log")
            low, high = ci.low.evaluate(times), ci.high.evaluate(times)
    # where S = 1 (no event yet) the interval is [1, 1]; where S = 0 it is [0, 0]
    low = np.where(surv >= 1.0, 1.0, np.where(surv <= 0, 0.0, low))
    high = np.where(surv >= 1.0, 1.0, np.where(surv <= 0, 0.0, high))
    low = np.nan_to_num(low, nan=0.0)
    high = np.nan_to_num(high, nan=1.0)
    return KaplanMeier(time=times, at_risk=at_risk, events=ev, censored=ce, survival=surv,
                       low=low, high=high, n=len(d), n_events=int(ev.sum()), level=level,
                       n_truncated=int(np.sum(ent > 0)), origin=float(ent.min()))


@dataclass
class CumulativeIncidence:
    """Aalen-Johansen estimate of competing risks: for each cause k, the cumulative incidence
    F_k(t), the share of spells that have ended by cause k by age t; and the overall survival
    S(t) = 1 - sum_k F_k(t). Arrays are per distinct time at which something happened."""

    causes: list[str]
    time: np.ndarray
    at_risk: np.ndarray
    events: dict[str, np.ndarray]
    censored: np.ndarray
    survival: np.ndarray
    incidence: dict[str, np.ndarray]
    n: int
    n_truncated: int = 0
    #: the youngest entry age: when every spell was observed only from a later age (all
    #: left-truncated) the estimates are conditional on reaching it and undefined before
    origin: float = 0.0

    def at(self, cause: str, t: float) -> float:
        """F_cause(t) (nan below ``origin``)."""
        if t < self.origin:
            return math.nan
        i = np.searchsorted(self.time, t, side="right") - 1
        return 0.0 if i < 0 else float(self.incidence[cause][i])

    def survival_at(self, t: float) -> float:
        if t < self.origin:
            return math.nan
        i = np.searchsorted(self.time, t, side="right") - 1
        return 1.0 if i < 0 else float(self.survival[i])

    def n_events(self, cause: str) -> int:
        return int(self.events[cause].sum())

    def median(self, cause: str) -> float:
        """The first age at which F_cause reaches 0.5 (nan when it never does)."""
        idx = np.flatnonzero(self.incidence[cause] >= 0.5 - 1e-12)
        return float(self.time[idx[0]]) if len(idx) else math.nan

    def steps(self, cause: str) -> tuple[np.ndarray, np.ndarray]:
        """(t, F) starting at (origin, 0), for step plots (``where="post"``)."""
        return (np.concatenate([[self.origin], self.time]),
                np.concatenate([[0.0], self.incidence[cause]]))

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame({"time": self.time, "at_risk": self.at_risk,
                           "censored": self.censored, "survival": self.survival})
        for k in self.causes:
            df[f"events:{k}"] = self.events[k]
            df[f"incidence:{k}"] = self.incidence[k]
        return df


def aalen_johansen(durations: Any, causes: Any, entry: Any = None,
                   cause_names: Sequence[str] | None = None) -> CumulativeIncidence:
    """Cumulative incidence of competing causes of ending (Aalen-Johansen).

    ``causes[i]`` is the cause that ended spell i, or None (or "") when it was censored (still
    running when observation stopped). ``entry[i]`` > 0 left-truncates spell i: it is in the
    risk set only for ages above ``entry[i]``. At each distinct age t_j with n_j spells at risk
    and d_kj ends by cause k (d_j in all),

        S(t_j) = S(t_j-1) (1 - d_j / n_j),     F_k(t_j) = F_k(t_j-1) + S(t_j-1) d_kj / n_j.

    With one cause, F = 1 - S, the Kaplan-Meier estimate.
    """
    lab = np.asarray([("" if (x is None or (isinstance(x, float) and math.isnan(x)))
                       else str(x)) for x in np.asarray(causes, dtype=object).ravel()],
                     dtype=object)
    d, cens, ent = _durations(durations, lab == "", entry)
    d_raw = np.asarray(durations, dtype=float).ravel()
    lab = lab[np.isfinite(d_raw)]
    names = list(cause_names) if cause_names is not None else sorted(set(lab[~cens]))
    unknown = set(lab[~cens]) - set(names)
    if unknown:
        raise ValueError(f"causes {sorted(unknown)} are not among {names}")
    times = np.unique(d)
    at_risk = _risk_table(d, ent, times)
    ev = {k: np.array([np.sum((d == t) & (lab == k)) for t in times], dtype=int) for k in names}
    ce = np.array([np.sum((d == t) & cens) for t in times], dtype=int)
    total = sum(ev.values()) if names else np.zeros(len(times), int)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(at_risk > 0, total / np.maximum(at_risk, 1), 0.0)
    surv = np.cumprod(1.0 - hazard)
    before = np.concatenate([[1.0], surv[:-1]])
    inc = {k: np.cumsum(before * np.where(at_risk > 0, ev[k] / np.maximum(at_risk, 1), 0.0))
           for k in names}
    return CumulativeIncidence(causes=names, time=times, at_risk=at_risk, events=ev,
                               censored=ce, survival=surv, incidence=inc, n=len(d),
                               n_truncated=int(np.sum(ent > 0)),
                               origin=float(ent.min()) if len(ent) else 0.0)


#: how a truce ended (``ended_by``) -> the competing cause it counts as
TRUCE_CAUSES = {"war": "breakdown", "rivalry": "breakdown", "merger": "merger",
                "absorption": "merger", "pledge": "merger", "group_destroyed": "destruction",
                "ended": "destruction"}
CAUSE_ORDER = ["breakdown", "merger", "destruction"]
#: ways a truce can end without breaking down (lasting union, or a side ceasing to exist)
NOT_BREAKDOWN = ("merger", "absorption", "pledge", "group_destroyed", "ended")


def truce_entry(truces: pd.DataFrame) -> np.ndarray:
    """Age of each truce at week 0: ``-start`` for a truce made before the run began (it is
    observed only from then on: left-truncated), 0 for the others."""
    if "start" not in truces:
        return np.zeros(len(truces))
    s = pd.to_numeric(truces["start"], errors="coerce").to_numpy(dtype=float)
    return np.clip(-np.nan_to_num(s), 0.0, None)


def truce_causes(truces: pd.DataFrame) -> list[str | None]:
    """The competing cause of each truce's end (None when censored: still holding)."""
    ended_by = (truces["ended_by"] if "ended_by" in truces
                else pd.Series([None] * len(truces), index=truces.index))
    out = []
    for cens, how in zip(truces["censored"].astype(bool), ended_by):
        if cens:
            out.append(None)
        else:  # an end without a known cause: a side ceased to exist ("ended")
            out.append(TRUCE_CAUSES.get("" if how is None else str(how), "destruction"))
    return out


def truce_competing_risks(truces: pd.DataFrame) -> CumulativeIncidence:
    """Cumulative incidence of the three ways a truce ends: it breaks down (into war or
    rivalry), it ends in a merger or absorption, or a side is destroyed; truces still holding
    at the end of their run are censored, truces made before week 0 left-truncated."""
    return aalen_johansen(truces["duration"], truce_causes(truces), truce_entry(truces),
                          cause_names=CAUSE_ORDER)


def truce_breakdown(truces: pd.DataFrame) -> KaplanMeier:
    """Cause-specific survival of truces until they break down (into war or rivalry): truces
    that ended otherwise (merger, absorption, a side destroyed) are censored at that week, and
    truces made before week 0 are left-truncated.

    This is the survival in a world where the other endings could not happen; the share of
    truces that actually break down by age t is :func:`truce_competing_risks`' cumulative
    incidence of "breakdown", which the reports show.
    """
    ended_by = truces["ended_by"] if "ended_by" in truces else pd.Series([None] * len(truces))
    censored = truces["censored"].astype(bool).to_numpy() | ended_by.isin(NOT_BREAKDOWN).to_numpy()
    return kaplan_meier(truces["duration"], censored, entry=truce_entry(truces))


# =============================================================================================
# Power-law tails (Clauset, Shalizi and Newman 2009, with the powerlaw package)
# =============================================================================================
@dataclass
class PowerLawFit:
    """p(x) ~ x^-alpha for x >= xmin, with the evidence for and against it."""

    alpha: float
    xmin: float
    n_tail: int
    n: int
    ks: float           #: Kolmogorov-Smirnov distance between the tail and the fitted law
    sigma: float        #: standard error of alpha, (alpha - 1) / sqrt(n_tail)
    discrete: bool
    p_value: float = math.nan  #: goodness of fit by bootstrap (nan unless computed)
    n_boot: int = 0
    x_max: float = math.nan     #: the largest value
    decades: float = math.nan   #: log10(x_max / xmin): how many decades the tail spans
    lr_lognormal: float = math.nan    #: normalised log-likelihood ratio, > 0 favours the law
    p_lognormal: float = math.nan     #: its p-value (Vuong)
    lr_exponential: float = math.nan
    p_exponential: float = math.nan
    xmin_fixed: bool = False
    verdict: str = ""           #: "power law", "not a power law", "too narrow", "untested"
    conclusion: str = ""        #: the verdict in words

    def ccdf(self, x: Any) -> np.ndarray:
        """The fitted P(X >= x) within the tail (x >= xmin), as a share of the tail."""
        x = np.asarray(x, dtype=float)
        if self.discrete:
            return special.zeta(self.alpha, x) / special.zeta(self.alpha, self.xmin)
        return (x / self.xmin) ** (1.0 - self.alpha)

    def describe(self) -> str:
        txt = (f"alpha = {self.alpha:.2f} +- {self.sigma:.2f} for x >= {self.xmin:g} "
               f"({self.n_tail} of {self.n} values, spanning {self.decades:.1f} decades; KS "
               f"distance {self.ks:.3f}; {'discrete' if self.discrete else 'continuous'} MLE")
        if np.isfinite(self.p_value):
            txt += f"; goodness-of-fit p = {self.p_value:.2f} from {self.n_boot} bootstraps"
        for name, r, p in (("lognormal", self.lr_lognormal, self.p_lognormal),
                           ("exponential", self.lr_exponential, self.p_exponential)):
            if np.isfinite(r):
                txt += f"; vs {name} R = {r:+.2f} (p = {p:.2f})"
        return txt + ")"


def _is_discrete(x: np.ndarray) -> bool:
    return bool(len(x) and np.all(np.equal(np.mod(x, 1), 0)))


def _powerlaw_fit(x: np.ndarray, discrete: bool, xmin: float | None, min_tail: int):
    import powerlaw

    if xmin is not None:
        spec: Any = float(xmin)
    elif len(x) > min_tail and x[-min_tail] > x[0]:
        spec = (float(x[0]), float(x[-min_tail]))  # candidates leave >= min_tail values above
    else:
        spec = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            f = powerlaw.Fit(x, discrete=discrete, xmin=spec, verbose=0,
                             estimate_discrete=False)
            pl = f.power_law
            return f, float(pl.alpha), float(f.xmin), float(pl.D), int(f.n_tail)


def fit_power_law(values: Any, discrete: bool | None = None, xmin: float | None = None,
                  min_tail: int = 10, max_candidates: int | None = None,
                  compare: bool = True) -> PowerLawFit:
    """Fit a power-law tail to ``values`` (positive ones; zeros and below are left out) with
    the ``powerlaw`` package (Alstott, Bullmore and Plenz 2014), which implements Clauset,
    Shalizi and Newman (2009): the exponent by maximum likelihood (exact discrete likelihood
    for integers) for each candidate ``x_min``, the ``x_min`` whose fit is closest to the data
    above it by the Kolmogorov-Smirnov distance (among candidates leaving at least ``min_tail``
    values), and, with ``compare``, the normalised log-likelihood ratios against a lognormal
    and an exponential tail above the same ``x_min`` (Vuong's test). With ``xmin`` given only
    the exponent is fitted. The goodness of fit is :func:`power_law_gof` (a bootstrap);
    :func:`power_law_verdict` states what the numbers allow. ``max_candidates`` is accepted
    for compatibility and not used.
    """
    x = _finite(values)
    x = np.sort(x[x > 0])
    if discrete is None:
        discrete = _is_discrete(x)
    if len(x) < 2:
        raise ValueError(f"need at least 2 positive values to fit a power law, got {len(x)}")
    if discrete and np.any(x < 1):
        raise ValueError("discrete power law: values must be integers >= 1")
    if xmin is None and len(np.unique(x)) < 2:
        raise ValueError("no power-law tail could be fitted (all values equal?)")
    f, a, xm, ks, nt = _powerlaw_fit(x, bool(discrete), xmin, min_tail)
    if not (np.isfinite(a) and np.isfinite(xm)) or nt < 2:
        raise ValueError("no power-law tail could be fitted (too few distinct values)")
    x_max = float(x[-1])
    fit = PowerLawFit(alpha=a, xmin=xm, n_tail=nt, n=len(x), ks=ks,
                      sigma=(a - 1.0) / math.sqrt(nt), discrete=bool(discrete), x_max=x_max,
                      decades=float(math.log10(x_max / xm)) if xm > 0 else math.nan,
                      xmin_fixed=xmin is not None)
    if compare:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                for alt in ("lognormal", "exponential"):
                    try:
                        r, p = f.distribution_compare("power_law", alt, normalized_ratio=True)
                    except Exception:  # noqa: BLE001 - an alternative that cannot be fitted
                        r, p = math.nan, math.nan
                    setattr(fit, f"lr_{alt}", float(r))
                    setattr(fit, f"p_{alt}", float(p))
    return power_law_verdict(fit)


def power_law_verdict(fit: PowerLawFit, min_decades: float = MIN_DECADES,
                      gof_reject: float = GOF_REJECT, lr_alpha: float = 0.1) -> PowerLawFit:
    """Say what the fit allows (in place): a tail spanning less than ``min_decades`` (about
    two) cannot be called a power law whatever the other numbers; a goodness-of-fit p below
    ``gof_reject`` rules it out; so does an alternative (lognormal, exponential) that fits
    significantly better (likelihood ratio < 0 with p < ``lr_alpha``). Otherwise the power law
    is plausible (if its goodness of fit was tested) or untested."""
    alts = []
    for name, r, p in (("lognormal", fit.lr_lognormal, fit.p_lognormal),
                       ("exponential", fit.lr_exponential, fit.p_exponential)):
        if np.isfinite(r) and np.isfinite(p):
            alts.append((name, r, p))
    better = [n for n, r, p in alts if r < 0 and p < lr_alpha]
    worse = [n for n, r, p in alts if r > 0 and p < lr_alpha]
    tied = [n for n, r, p in alts if p >= lr_alpha]
    if not np.isfinite(fit.decades) or fit.decades < min_decades:
        fit.verdict = "too narrow"
        fit.conclusion = (f"cannot be called a power law: the tail spans only "
                          f"{fit.decades:.1f} decades ({fit.xmin:g} to {fit.x_max:g}); about "
                          f"{min_decades:g} are needed")
    elif np.isfinite(fit.p_value) and fit.p_value < gof_reject:
        fit.verdict = "not a power law"
        fit.conclusion = (f"not a power law: the goodness of fit rules it out (p = "
                          f"{fit.p_value:.2f} < {gof_reject:g})")
    elif better:
        fit.verdict = "not a power law"
        fit.conclusion = f"not a power law: a {' and an '.join(better)} tail fits better"
    else:
        fit.verdict = "power law" if np.isfinite(fit.p_value) else "untested"
        fit.conclusion = ("a power law is plausible (goodness-of-fit p = "
                          f"{fit.p_value:.2f} >= {gof_reject:g})"
                          if np.isfinite(fit.p_value) else
                          "a power law is not ruled out, but its goodness of fit was not "
                          "tested")
        if worse:
            fit.conclusion += f"; it fits better than a {' or an '.join(worse)} tail"
        if tied:
            fit.conclusion += (f"; a {' or an '.join(tied)} tail fits about as well (the "
                               "data cannot tell them apart)")
    return fit


def sample_power_law(rng: np.random.Generator, alpha: float, xmin: float, size: int,
                     discrete: bool = False) -> np.ndarray:
    """Draw ``size`` values from a power law with exponent ``alpha`` above ``xmin``.

    Continuous: inverse transform, x = xmin (1 - u)^(-1 / (alpha - 1)). Discrete (integers
    from ``xmin``): exact inverse of P(X >= k) = zeta(alpha, k) / zeta(alpha, xmin) by
    bisection.
    """
    if alpha <= 1:
        raise ValueError("alpha must be > 1")
    u = rng.random(size)
    if not discrete:
        return xmin * (1.0 - u) ** (-1.0 / (alpha - 1.0))
    xmin = float(int(xmin))
    z0 = special.zeta(alpha, xmin)
    target = 1.0 - u  # in (0, 1]; X = largest k with P(X >= k) >= target

    def ccdf(k: np.ndarray) -> np.ndarray:
        return special.zeta(alpha, k) / z0

    lo = np.full(size, xmin)
    hi = np.full(size, xmin * 2.0)
    grow = ccdf(hi) >= target
    while np.any(grow):
        lo = np.where(grow, hi, lo)
        hi = np.where(grow, hi * 2.0, hi)
        grow = ccdf(hi) >= target
    while np.any(hi - lo > 1):
        mid = np.floor((lo + hi) / 2.0)
        ok = ccdf(mid) >= target
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid)
    return lo


def power_law_gof(values: Any, fit: PowerLawFit, rng: np.random.Generator,
                  n_boot: int = GOF_BOOT, min_tail: int = 10) -> PowerLawFit:
    """Goodness of fit by the semi-parametric bootstrap of Clauset et al. (section 4.1).

    Each synthetic data set has the size of the data: with probability n_tail / n a value is
    drawn from the fitted power law above ``x_min`` (with ``rng``), otherwise from the data
    below ``x_min``; it is then fitted by the same procedure (``x_min`` searched again unless
    the fit fixed it). Returns a copy of ``fit`` with ``p_value``, the share of synthetic sets
    whose own best fit is further (KS) from them than the fit is from the data, and its
    verdict updated. A small p (below 0.1) rules the power law out. With ``n_boot`` = 50 the
    p-value is known to about +-0.07.
    """
    x = _finite(values)
    x = np.sort(x[x > 0])
    body = x[x < fit.xmin]
    n, ntail = len(x), fit.n_tail
    worse = done = 0
    for _ in range(int(n_boot)):
        k = rng.binomial(n, ntail / n)
        synth_tail = sample_power_law(rng, fit.alpha, fit.xmin, k, fit.discrete)
        synth_body = (rng.choice(body, n - k, replace=True) if len(body)
                      else sample_power_law(rng, fit.alpha, fit.xmin, n - k, fit.discrete))
        s = np.sort(np.concatenate([synth_body, synth_tail]))
        try:
            _, _, _, ks, _ = _powerlaw_fit(s, fit.discrete, fit.xmin if fit.xmin_fixed
                                           else None, min_tail)
        except (ValueError, ZeroDivisionError, FloatingPointError):
            continue
        if not np.isfinite(ks):
            continue
        done += 1
        worse += ks >= fit.ks
    out = PowerLawFit(**{**asdict(fit), "p_value": worse / done if done else math.nan,
                         "n_boot": done})
    return power_law_verdict(out)


def ccdf_points(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Empirical P(X >= x) at each distinct positive value x (for log-log plots)."""
    x = _finite(values)
    x = np.sort(x[x > 0])
    if not len(x):
        return np.array([]), np.array([])
    uniq, first = np.unique(x, return_index=True)
    return uniq, (len(x) - first) / len(x)


# =============================================================================================
# Sensitivity indices (SALib)
# =============================================================================================
def wilson_interval(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Wilson's score interval for a proportion of ``k`` in ``n`` (nan, nan for n = 0)."""
    if n <= 0:
        return math.nan, math.nan
    z = float(sps.norm.ppf(0.5 + level / 2))
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def clopper_pearson(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval for a proportion of ``k`` in ``n``."""
    if n <= 0:
        return math.nan, math.nan
    a = 1 - level
    lo = 0.0 if k == 0 else float(sps.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(sps.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def meets(effect: float, expect: str, min_effect: float) -> bool:
    """Whether one effect has the sign and size a hypothesis states."""
    if expect == "greater":
        return effect >= min_effect
    if expect == "less":
        return effect <= -min_effect
    if expect == "different":
        return abs(effect) >= min_effect
    if expect == "equivalent":
        return abs(effect) < min_effect
    raise ValueError(f"expect {expect!r}: allowed: {', '.join(EXPECTS)}")


def ensemble_share(effects: Any, expect: str, min_effect: float, *, kind: str = "",
                   method: str = "Wilson", level: float = LEVEL,
                   runs_per_draw: int = 1) -> dict[str, Any]:
    """The share of parameter draws whose effect has the stated sign and size, with its
    Wilson (or Clopper-Pearson) interval. ``effects``: one effect per draw (nan: undefined,
    left out)."""
    e = np.asarray(effects, dtype=float)
    ok = e[np.isfinite(e)]
    n = int(len(ok))
    k = int(sum(meets(float(x), expect, float(min_effect)) for x in ok))
    lo, hi = (wilson_interval if method == "Wilson" else clopper_pearson)(k, n, level)
    return {"kind": kind, "draws": int(len(e)), "n": n, "k": k,
            "share": k / n if n else math.nan, "low": lo, "high": hi, "method": method,
            "level": level, "undefined": int(len(e) - n), "runs_per_draw": int(runs_per_draw),
            "effect_median": float(np.median(ok)) if n else math.nan,
            "effect_q05": float(np.quantile(ok, 0.05)) if n else math.nan,
            "effect_q95": float(np.quantile(ok, 0.95)) if n else math.nan}


def sobol_indices(problem: dict[str, Any], Y: Any, calc_second_order: bool | None = None,
                  seed: int | None = None, num_resamples: int = 100,
                  level: float = LEVEL) -> pd.DataFrame:
    """First-order and total Sobol indices with confidence half-widths, one row per parameter.

    ``Y`` holds the outcome per sample point in the order of SALib's Saltelli/Sobol sample;
    ``calc_second_order`` is inferred from the number of points when not given.
    """
    from SALib.analyze import sobol

    y = np.asarray(Y, dtype=float).ravel()
    D = int(problem.get("num_vars", len(problem["names"])))
    if calc_second_order is None:
        def power_of_two(k: float) -> bool:
            return k >= 1 and float(k).is_integer() and int(k) & (int(k) - 1) == 0

        if power_of_two(len(y) / (D + 2)):
            calc_second_order = False
        elif power_of_two(len(y) / (2 * D + 2)):
            calc_second_order = True
        else:
            raise ValueError(f"{len(y)} outcome values do not fit a Sobol sample of {D} "
                             f"parameters (N x {D + 2} or N x {2 * D + 2}, N a power of two)")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{int((~np.isfinite(y)).sum())} sample points have an undefined "
                         "outcome; Sobol indices need every point")
    prob = {**problem, "num_vars": D}
    res = sobol.analyze(prob, y, calc_second_order=calc_second_order,
                        num_resamples=num_resamples, conf_level=level, seed=seed)
    return pd.DataFrame({"parameter": list(problem["names"]), "S1": res["S1"],
                         "S1_conf": res["S1_conf"], "ST": res["ST"], "ST_conf": res["ST_conf"]})


def morris_indices(problem: dict[str, Any], X: Any, Y: Any, num_levels: int = 4,
                   seed: int | None = None, num_resamples: int = 100,
                   level: float = LEVEL) -> pd.DataFrame:
    """Morris elementary-effect statistics mu, mu* (with CI half-width) and sigma per
    parameter. ``X`` is the sample (points x parameters) in SALib's trajectory order."""
    from SALib.analyze import morris

    X = np.asarray(X, dtype=float)
    y = np.asarray(Y, dtype=float).ravel()
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{int((~np.isfinite(y)).sum())} sample points have an undefined "
                         "outcome; Morris indices need every point")
    D = X.shape[1]
    prob = {**problem, "num_vars": D}
    res = morris.analyze(prob, X, y, num_resamples=num_resamples, conf_level=level,
                         num_levels=num_levels, seed=seed)
    return pd.DataFrame({"parameter": list(problem["names"]), "mu": res["mu"],
                         "mu_star": res["mu_star"], "mu_star_conf": res["mu_star_conf"],
                         "sigma": res["sigma"]})
