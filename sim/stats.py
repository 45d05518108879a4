"""Statistics for reports: confidence intervals, hypothesis verdicts, survival curves, power-law
tails and sensitivity indices.

Everything here is a plain function of numbers (numpy arrays, pandas frames), independent of
the model, so each can be tested on synthetic data whose answer is known. Randomness (the
bootstrap) comes only from a :class:`numpy.random.Generator` passed in by the caller.

* :func:`mean_ci`, :func:`group_mean_ci`: replicate means with t-based 95% intervals.
* :func:`evaluate_hypothesis`: effect size, bootstrap interval, Welch t-test and the verdict
  rule of ``docs/REPORTS.md`` (supported, not supported, inconclusive).
* :func:`kaplan_meier`: survival curves of right-censored durations (Greenwood intervals);
  :func:`truce_breakdown`: the survival of truces until they break down.
* :func:`fit_power_law`: the tail exponent of a distribution by maximum likelihood with the
  lower bound ``x_min`` chosen by the Kolmogorov-Smirnov distance (Clauset, Shalizi and
  Newman 2009, SIAM Review 51:661), for continuous or discrete (integer) data.
* :func:`sobol_indices`, :func:`morris_indices`: SALib's analyses as tidy frames.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special
from scipy import stats as sps

#: verdicts
SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
INCONCLUSIVE = "inconclusive"
#: allowed values of a hypothesis' ``expect``
EXPECTS = ("greater", "less", "different", "equivalent")
#: fewest finite outcome values per condition for a verdict
MIN_REPLICATES = 3
#: when a hypothesis gives no ``min_effect``, the smallest effect that matters for a "not
#: supported" verdict is this many pooled standard deviations (Cohen's "medium" effect)
DEFAULT_STANDARDISED_EFFECT = 0.5
#: significance level of the test and coverage of the intervals
ALPHA = 0.05
LEVEL = 0.95
#: bootstrap resamples for the interval of the effect
N_BOOT = 10_000


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
                              n_boot: int = N_BOOT, level: float = LEVEL
                              ) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(treatment) - mean(control).

    Each condition is resampled with replacement on its own (the conditions are independent
    runs); ``rng`` is the only source of randomness.
    """
    c, t = _finite(control), _finite(treatment)
    if len(c) == 0 or len(t) == 0:
        return (math.nan, math.nan)
    diffs = np.empty(n_boot)
    chunk = max(1, 2_000_000 // max(len(c), len(t)))  # bound memory on large samples
    for s in range(0, n_boot, chunk):
        k = min(chunk, n_boot - s)
        mt = t[rng.integers(0, len(t), (k, len(t)))].mean(1)
        mc = c[rng.integers(0, len(c), (k, len(c)))].mean(1)
        diffs[s:s + k] = mt - mc
    tail = (1 - level) / 2
    lo, hi = np.quantile(diffs, [tail, 1 - tail])
    return (float(lo), float(hi))


def welch_test(control: Any, treatment: Any, alternative: str = "two-sided"
               ) -> tuple[float, float]:
    """Welch's t-test of treatment against control: (t statistic, p-value).

    ``alternative``: ``"greater"`` (treatment mean larger), ``"less"`` or ``"two-sided"``.
    When both conditions have zero variance the statistic is +-inf (p = 0) if the means
    differ in the tested direction, and 0 (p = 1, or 0.5 one-sided) if they are equal.
    """
    c, t = _finite(control), _finite(treatment)
    if len(c) < 2 or len(t) < 2:
        return (math.nan, math.nan)
    if c.var(ddof=1) == 0 and t.var(ddof=1) == 0:
        d = t.mean() - c.mean()
        if d == 0:
            return (0.0, 1.0 if alternative == "two-sided" else 0.5)
        stat = math.copysign(math.inf, d)
        if alternative == "greater":
            return (stat, 0.0 if d > 0 else 1.0)
        if alternative == "less":
            return (stat, 0.0 if d < 0 else 1.0)
        return (stat, 0.0)
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
    min_effect: float = 0.0
    smallest_effect: float = math.nan   #: the margin used for "not supported"
    n_control: int = 0
    n_treatment: int = 0
    dropped: int = 0                    #: runs with an undefined (nan) outcome, left out
    mean_control: float = math.nan
    mean_treatment: float = math.nan
    sd_pooled: float = math.nan
    effect: float = math.nan            #: mean(treatment) - mean(control)
    ci_low: float = math.nan
    ci_high: float = math.nan
    half_width: float = math.nan
    test: str = "Welch t-test"
    alternative: str = "two-sided"
    statistic: float = math.nan
    p_value: float = math.nan
    mw_u: float = math.nan              #: Mann-Whitney U (reported, not used by the rule)
    mw_p: float = math.nan
    replicates_suffice: bool = False
    replicates_needed: int | None = None
    level: float = LEVEL
    alpha: float = ALPHA
    n_boot: int = N_BOOT
    control: dict[str, Any] = field(default_factory=dict)
    treatment: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """One line: the id, the verdict and the numbers behind it."""
        head = f"{self.id}: {self.verdict.upper()}"
        if not np.isfinite(self.effect):
            return f"{head} - {self.outcome}: {self.reason}"
        side = {"greater": "one-sided", "less": "one-sided",
                "equivalent": "TOST"}.get(self.expect, "two-sided")
        pct = round(100 * self.level)
        return (f"{head} - {self.outcome}: treatment - control = {_fmt(self.effect, True)} "
                f"({pct}% bootstrap CI {_fmt(self.ci_low, True)} to {_fmt(self.ci_high, True)}"
                f"; expected {self.expect}"
                + (f" within +-{_fmt(self.min_effect)}" if self.expect == "equivalent" else
                   f" by at least {_fmt(self.min_effect)}" if self.min_effect > 0 else "")
                + f"); Welch t = {_fmt(self.statistic)}, {side} p {_fmt_p(self.p_value)}"
                f"; n = {self.n_control} control, {self.n_treatment} treatment; {self.reason}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fmt(x: float, sign: bool = False) -> str:
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
                        min_effect: float = 0.0, rng: np.random.Generator | None = None,
                        hypothesis_id: str = "H", outcome: str = "outcome",
                        statement: str = "", alpha: float = ALPHA, level: float = LEVEL,
                        n_boot: int = N_BOOT, min_replicates: int = MIN_REPLICATES,
                        standardised_effect: float = DEFAULT_STANDARDISED_EFFECT) -> Verdict:
    """Compare the outcome's replicate values under treatment and control; return the verdict.

    The rule (``docs/REPORTS.md``), written for ``expect="greater"`` (``"less"`` mirrors it;
    ``"different"`` applies it to the side the effect falls on):

    * ``m`` = ``min_effect`` (>= 0); ``m*`` = ``min_effect`` if it is > 0, otherwise
      ``standardised_effect`` pooled standard deviations;
    * inconclusive when either condition has fewer than ``min_replicates`` finite values, or
      when the replicates do not suffice: the CI half-width is not below the larger of
      ``|effect|`` and ``m*``;
    * supported when the bootstrap CI lies above ``m`` and the Welch test rejects "no
      difference" at ``alpha`` (one-sided, two-sided for ``"different"``);
    * not supported when the CI lies below ``m*``: every effect the CI allows is smaller than
      the smallest effect that matters (or goes the other way);
    * inconclusive otherwise: the CI holds both ``m`` and ``m*`` (more replicates needed), or
      the CI and the test disagree.
    """
    if expect not in EXPECTS:
        raise ValueError(f"expect {expect!r}: allowed: {', '.join(EXPECTS)}")
    if not (min_effect >= 0):
        raise ValueError(f"min_effect {min_effect!r}: must be a number >= 0")
    rng = rng if rng is not None else np.random.default_rng(0)
    c_all = np.asarray(control, dtype=float).ravel()
    t_all = np.asarray(treatment, dtype=float).ravel()
    c, t = _finite(c_all), _finite(t_all)
    alternative = {"greater": "greater", "less": "less", "different": "two-sided",
                   "equivalent": "two one-sided (TOST)"}[expect]
    if expect == "equivalent" and not min_effect > 0:
        raise ValueError("expect 'equivalent' needs min_effect > 0 (the equivalence margin)")
    v = Verdict(id=hypothesis_id, outcome=outcome, expect=expect, verdict=INCONCLUSIVE,
                reason="", statement=statement, min_effect=float(min_effect),
                n_control=len(c), n_treatment=len(t),
                dropped=int(len(c_all) - len(c) + len(t_all) - len(t)), alternative=alternative,
                level=level, alpha=alpha, n_boot=n_boot)
    if len(c):
        v.mean_control = float(c.mean())
    if len(t):
        v.mean_treatment = float(t.mean())
    if len(c) < min_replicates or len(t) < min_replicates:
        v.reason = (f"too few replicates: {len(c)} control and {len(t)} treatment values "
                    f"(at least {min_replicates} each needed)")
        if v.dropped:
            v.reason += f"; {v.dropped} runs had an undefined outcome"
        if len(c) and len(t):
            v.effect = v.mean_treatment - v.mean_control
        return v
    v.effect = v.mean_treatment - v.mean_control
    dof = len(c) + len(t) - 2
    v.sd_pooled = float(math.sqrt(((len(c) - 1) * c.var(ddof=1) + (len(t) - 1) * t.var(ddof=1))
                                  / dof))
    v.ci_low, v.ci_high = bootstrap_mean_difference(c, t, rng, n_boot, level)
    v.half_width = (v.ci_high - v.ci_low) / 2
    if expect == "equivalent":
        return _equivalence(v, c, t, float(min_effect), alpha)
    v.statistic, v.p_value = welch_test(c, t, alternative)
    v.mw_u, v.mw_p = mann_whitney(c, t, alternative)
    m = float(min_effect)
    m_star = m if m > 0 else standardised_effect * v.sd_pooled
    v.smallest_effect = m_star
    margin = (f"min_effect {_fmt(m_star)}" if m > 0 else
              f"{standardised_effect:g} pooled SD = {_fmt(m_star)}")

    # work in the frame where the expected direction is positive
    if expect == "greater":
        s = 1.0
    elif expect == "less":
        s = -1.0
    else:
        s = 1.0 if v.effect >= 0 else -1.0
    lo, hi = sorted((s * v.ci_low, s * v.ci_high))
    significant = bool(np.isfinite(v.p_value) and v.p_value < alpha)

    # do the replicates suffice? the interval's half-width is below the larger of the effect
    # and the smallest effect that matters
    scale = max(abs(v.effect), m_star)
    v.replicates_suffice = bool(v.half_width < scale or v.half_width == 0)
    if scale > 0 and v.half_width > 0:
        n_now = min(len(c), len(t))
        v.replicates_needed = int(math.ceil(n_now * (v.half_width / (scale / 2)) ** 2))
    enough = ("replicates suffice (the outcome does not vary within conditions)"
              if v.half_width == 0 else
              f"replicates suffice (CI half-width {_fmt(v.half_width)} < {_fmt(scale)})"
              if v.replicates_suffice else
              f"replicates do not suffice (CI half-width {_fmt(v.half_width)} >= "
              f"{_fmt(scale)}; about {v.replicates_needed} per condition would bring it to "
              f"{_fmt(scale / 2)})")

    beyond = lo > m
    if expect == "different":
        below = (-m_star < v.ci_low and v.ci_high < m_star) or v.ci_low == v.ci_high == 0
    else:
        below = hi < m_star or hi <= 0
    if not v.replicates_suffice:
        v.verdict = INCONCLUSIVE
        v.reason = enough
    elif beyond and significant:
        v.verdict = SUPPORTED
        where = {"greater": f"above {_fmt(m)}", "less": f"below {_fmt(-m) if m else 0}"}.get(
            expect, f"beyond +-{_fmt(m)}")
        v.reason = f"CI {where} and p < {alpha:g}; {enough}"
    elif below:
        v.verdict = NOT_SUPPORTED
        side = "either direction" if expect == "different" else "the expected direction"
        v.reason = (f"CI rules out effects as large as the smallest that matters in {side} "
                    f"({margin}); {enough}")
    elif beyond:
        v.verdict = INCONCLUSIVE
        v.reason = f"CI and test disagree (p {_fmt_p(v.p_value)} >= {alpha:g}); {enough}"
    else:
        v.verdict = INCONCLUSIVE
        v.reason = (f"CI holds both {_fmt(m)} and the smallest effect that matters "
                    f"({margin}); {enough}")
    if v.dropped:
        v.reason += f"; {v.dropped} runs with an undefined outcome left out"
    return v


def _equivalence(v: Verdict, c: np.ndarray, t: np.ndarray, m: float, alpha: float) -> Verdict:
    """Equivalence within +-m: two one-sided Welch tests (TOST) and the bootstrap CI."""
    p_low = welch_test(c, t - m, "less")        # H0: effect >= +m
    p_high = welch_test(c, t + m, "greater")    # H0: effect <= -m
    # report the one-sided test that is harder to pass
    v.statistic, v.p_value = max((p_low, p_high), key=lambda r: r[1])
    v.mw_u, v.mw_p = mann_whitney(c, t, "two-sided")
    v.smallest_effect = m
    v.test = "Welch t-test (TOST)"
    v.replicates_suffice = bool(v.half_width < m or v.half_width == 0)
    if v.half_width > 0:
        v.replicates_needed = int(math.ceil(min(len(c), len(t)) * (v.half_width / (m / 2)) ** 2))
    enough = (f"replicates suffice (CI half-width {_fmt(v.half_width)} < margin {_fmt(m)})"
              if v.replicates_suffice else
              f"replicates do not suffice (CI half-width {_fmt(v.half_width)} >= margin "
              f"{_fmt(m)}; about {v.replicates_needed} per condition would bring it to "
              f"{_fmt(m / 2)})")
    inside = -m < v.ci_low and v.ci_high < m
    outside = v.ci_low > m or v.ci_high < -m
    if inside and np.isfinite(v.p_value) and v.p_value < alpha:
        v.verdict, v.reason = SUPPORTED, f"CI inside +-{_fmt(m)} and TOST p < {alpha:g}; {enough}"
    elif outside:
        v.verdict, v.reason = NOT_SUPPORTED, f"CI entirely outside +-{_fmt(m)}; {enough}"
    elif not v.replicates_suffice:
        v.verdict, v.reason = INCONCLUSIVE, enough
    else:
        v.verdict = INCONCLUSIVE
        v.reason = f"CI crosses the margin +-{_fmt(m)}; {enough}"
    if v.dropped:
        v.reason += f"; {v.dropped} runs with an undefined outcome left out"
    return v


# =============================================================================================
# Survival of right-censored durations (Kaplan-Meier)
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

    def at(self, t: float) -> float:
        """S(t): the share of spells lasting longer than ``t``."""
        i = np.searchsorted(self.time, t, side="right") - 1
        return 1.0 if i < 0 else float(self.survival[i])

    def median(self) -> float:
        """The smallest time at which S(t) <= 0.5 (nan when the curve never gets there)."""
        idx = np.flatnonzero(self.survival <= 0.5 + 1e-12)
        return float(self.time[idx[0]]) if len(idx) else math.nan

    def steps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(t, S, low, high) starting at (0, 1), for step plots (``where="post"``)."""
        t = np.concatenate([[0.0], self.time])
        return (t, np.concatenate([[1.0], self.survival]), np.concatenate([[1.0], self.low]),
                np.concatenate([[1.0], self.high]))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"time": self.time, "at_risk": self.at_risk, "events": self.events,
                             "censored": self.censored, "survival": self.survival,
                             "low": self.low, "high": self.high})


#: ways a truce can end without breaking down (lasting union, or a side ceasing to exist)
NOT_BREAKDOWN = ("merger", "absorption", "group_destroyed", "ended")


def truce_breakdown(truces: pd.DataFrame) -> KaplanMeier:
    """Survival of truces until they break down (into war or rivalry).

    A truce still holding at the end of a run is censored; so is one that ended in a merger or
    an absorption (lasting union) or because a side was destroyed: those truces did not break
    down, and counting them as ended would make lasting cooperation look short-lived (a
    competing outcome, censored at the week it happened).
    """
    ended_by = truces["ended_by"] if "ended_by" in truces else pd.Series([None] * len(truces))
    censored = truces["censored"].astype(bool).to_numpy() | ended_by.isin(NOT_BREAKDOWN).to_numpy()
    return kaplan_meier(truces["duration"], censored)


def kaplan_meier(durations: Any, censored: Any = None, level: float = LEVEL) -> KaplanMeier:
    """Kaplan-Meier survival curve of ``durations``; ``censored[i]`` True when spell i was
    still running when observation stopped (its end is unknown, it only lasted at least that).

    At a time where spells both end and are censored, the ends count first (the censored
    spells were still at risk). Pointwise intervals use Greenwood's variance on the
    log(-log S) scale (Kalbfleisch and Prentice), which stays inside [0, 1].
    """
    d = np.asarray(durations, dtype=float).ravel()
    cens = (np.zeros(len(d), dtype=bool) if censored is None
            else np.asarray(censored, dtype=bool).ravel())
    if len(cens) != len(d):
        raise ValueError("durations and censored differ in length")
    keep = np.isfinite(d)
    d, cens = d[keep], cens[keep]
    if np.any(d < 0):
        raise ValueError("durations must be >= 0")
    times = np.unique(d)
    ev = np.array([np.sum((d == t) & ~cens) for t in times], dtype=int)
    ce = np.array([np.sum((d == t) & cens) for t in times], dtype=int)
    at_risk = np.array([np.sum(d >= t) for t in times], dtype=int)
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = 1.0 - ev / at_risk
        surv = np.cumprod(factors)
        gw = np.cumsum(np.where(at_risk > ev, ev / (at_risk * (at_risk - ev)), np.inf))
        z = sps.norm.ppf(0.5 + level / 2)
        logs = np.log(surv)
        se = np.sqrt(gw) / np.abs(logs)
        low = surv ** np.exp(z * se)
        high = surv ** np.exp(-z * se)
    # where S = 1 (no event yet) the interval is [1, 1]; where S = 0 it is [0, 0]
    low = np.where(surv >= 1.0, 1.0, np.where(surv <= 0, 0.0, low))
    high = np.where(surv >= 1.0, 1.0, np.where(surv <= 0, 0.0, high))
    low = np.nan_to_num(low, nan=0.0)
    high = np.nan_to_num(high, nan=1.0)
    return KaplanMeier(time=times, at_risk=at_risk, events=ev, censored=ce, survival=surv,
                       low=low, high=high, n=len(d), n_events=int(ev.sum()), level=level)


# =============================================================================================
# Power-law tails (Clauset, Shalizi and Newman 2009)
# =============================================================================================
@dataclass
class PowerLawFit:
    """p(x) ~ x^-alpha for x >= xmin."""

    alpha: float
    xmin: float
    n_tail: int
    n: int
    ks: float           #: Kolmogorov-Smirnov distance between the tail and the fitted law
    sigma: float        #: standard error of alpha, (alpha - 1) / sqrt(n_tail)
    discrete: bool
    p_value: float = math.nan  #: goodness of fit by bootstrap (nan unless computed)
    n_boot: int = 0

    def ccdf(self, x: Any) -> np.ndarray:
        """The fitted P(X >= x) within the tail (x >= xmin), as a share of the tail."""
        x = np.asarray(x, dtype=float)
        if self.discrete:
            return special.zeta(self.alpha, x) / special.zeta(self.alpha, self.xmin)
        return (x / self.xmin) ** (1.0 - self.alpha)

    def describe(self) -> str:
        txt = (f"alpha = {self.alpha:.2f} +- {self.sigma:.2f} for x >= {self.xmin:g} "
               f"({self.n_tail} of {self.n} values; KS distance {self.ks:.3f}"
               f"; {'discrete' if self.discrete else 'continuous'} MLE")
        if np.isfinite(self.p_value):
            txt += f"; goodness-of-fit p = {self.p_value:.2f} from {self.n_boot} bootstraps"
        return txt + ")"


def _alpha_continuous(tail: np.ndarray, xmin: float) -> float:
    s = np.log(tail / xmin).sum()
    return 1.0 + len(tail) / s if s > 0 else math.inf


def _alpha_discrete(tail: np.ndarray, xmin: float) -> float:
    """Exact discrete MLE: maximise -n ln zeta(alpha, xmin) - alpha sum ln x."""
    n = len(tail)
    slog = float(np.log(tail).sum())

    def nll(a: float) -> float:
        return n * math.log(special.zeta(a, xmin)) + a * slog

    res = optimize.minimize_scalar(nll, bounds=(1.0 + 1e-6, 20.0), method="bounded",
                                   options={"xatol": 1e-6})
    return float(res.x)


def _ks_continuous(tail: np.ndarray, xmin: float, alpha: float) -> float:
    x = np.sort(tail)
    n = len(x)
    model = 1.0 - (x / xmin) ** (1.0 - alpha)
    emp_hi = np.arange(1, n + 1) / n
    emp_lo = np.arange(0, n) / n
    return float(max(np.max(np.abs(emp_hi - model)), np.max(np.abs(emp_lo - model))))


def _ks_discrete(tail: np.ndarray, xmin: float, alpha: float) -> float:
    x = np.sort(tail)
    n = len(x)
    # the empirical CDF is flat between data values and the model's rises, so the largest gap
    # is at a data value or just before the next one
    uniq = np.unique(x)
    support = np.unique(np.concatenate([uniq, uniq[1:] - 1.0]))
    support = support[support >= xmin]
    emp = np.searchsorted(x, support, side="right") / n            # P(X <= k)
    model = 1.0 - special.zeta(alpha, support + 1.0) / special.zeta(alpha, xmin)
    return float(np.max(np.abs(emp - model)))


def _is_discrete(x: np.ndarray) -> bool:
    return bool(len(x) and np.all(np.equal(np.mod(x, 1), 0)))


def fit_power_law(values: Any, discrete: bool | None = None, xmin: float | None = None,
                  min_tail: int = 10, max_candidates: int = 400) -> PowerLawFit:
    """Fit a power-law tail to ``values`` (positive ones; zeros and below are left out).

    ``discrete``: treat the data as integers (default: when every value is an integer). The
    exponent is the maximum-likelihood estimate for each candidate lower bound ``x_min``;
    the ``x_min`` kept is the one whose fitted law is closest to the data above it by the
    Kolmogorov-Smirnov distance, among candidates leaving at least ``min_tail`` values
    (Clauset, Shalizi and Newman 2009, sections 3.1 and 3.3). With ``xmin`` given, only the
    exponent is fitted.
    """
    x = _finite(values)
    x = np.sort(x[x > 0])
    if discrete is None:
        discrete = _is_discrete(x)
    if len(x) < 2:
        raise ValueError(f"need at least 2 positive values to fit a power law, got {len(x)}")
    if discrete and np.any(x < 1):
        raise ValueError("discrete power law: values must be integers >= 1")
    if xmin is not None:
        candidates = np.array([float(xmin)])
    else:
        uniq = np.unique(x)
        # candidates leave at least min_tail values above them
        counts_above = len(x) - np.searchsorted(x, uniq, side="left")
        uniq = uniq[counts_above >= max(2, min(min_tail, len(x)))]
        if not len(uniq):
            uniq = np.unique(x)[:1]
        if len(uniq) > max_candidates:
            idx = np.unique(np.round(np.linspace(0, len(uniq) - 1, max_candidates)).astype(int))
            uniq = uniq[idx]
        candidates = uniq
    best: tuple[float, float, float, int] | None = None
    for xm in candidates:
        tail = x[x >= xm]
        if len(tail) < 2:
            continue
        if discrete:
            a = _alpha_discrete(tail, xm)
            ks = _ks_discrete(tail, xm, a)
        else:
            a = _alpha_continuous(tail, xm)
            if not np.isfinite(a):
                continue
            ks = _ks_continuous(tail, xm, a)
        if best is None or ks < best[2]:
            best = (float(xm), a, ks, len(tail))
    if best is None:
        raise ValueError("no power-law tail could be fitted (all values equal?)")
    xm, a, ks, nt = best
    return PowerLawFit(alpha=a, xmin=xm, n_tail=nt, n=len(x), ks=ks,
                       sigma=(a - 1.0) / math.sqrt(nt), discrete=bool(discrete))


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
                  n_boot: int = 100, min_tail: int = 10) -> PowerLawFit:
    """Goodness of fit by the semi-parametric bootstrap of Clauset et al. (section 4.1).

    Returns a copy of ``fit`` with ``p_value``: the share of synthetic data sets whose own
    best-fitting power law is further (KS) from them than the fit is from the data. A small p
    (below 0.1) rules the power law out.
    """
    x = _finite(values)
    x = np.sort(x[x > 0])
    body = x[x < fit.xmin]
    n, ntail = len(x), fit.n_tail
    worse = 0
    for _ in range(n_boot):
        k = rng.binomial(n, ntail / n)
        synth_tail = sample_power_law(rng, fit.alpha, fit.xmin, k, fit.discrete)
        synth_body = (rng.choice(body, n - k, replace=True) if len(body)
                      else sample_power_law(rng, fit.alpha, fit.xmin, n - k, fit.discrete))
        s = np.concatenate([synth_body, synth_tail])
        try:
            f = fit_power_law(s, discrete=fit.discrete, min_tail=min_tail, max_candidates=100)
        except ValueError:
            continue
        worse += f.ks >= fit.ks
    out = PowerLawFit(**{**asdict(fit), "p_value": worse / max(1, n_boot), "n_boot": n_boot})
    return out


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
