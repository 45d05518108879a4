"""Power analysis: how many replicates a design needs to detect its smallest effect of interest
with Welch's test (used when an experiment is loaded; the tests themselves are
:mod:`sim.analysis.stats`, which re-exports these names)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: allowed values of a hypothesis' ``expect``
EXPECTS = ("greater", "less", "different", "equivalent")
#: significance level of the family of tests and coverage of the intervals: every test is the
#: one-sided test at ALPHA / 2 (reported as a doubled one-sided p-value compared with ALPHA), so
#: for one hypothesis alone each decision can be read off the 95% interval
ALPHA = 0.05
#: the power the default replicates are sized for, and the fewest runs per condition
TARGET_POWER = 0.8
MIN_PER_CONDITION = 30


def check_min_effect(value: Any) -> float:
    """The smallest effect of interest as a float: a finite number > 0 (ValueError if not)."""
    if value is None:
        raise ValueError("min_effect is required: the smallest effect of interest, a finite "
                         "number > 0 in the outcome's units")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"min_effect {value!r}: must be a finite number > 0 in the outcome's "
                         "units")
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"min_effect {value!r}: must be a finite number > 0 in the outcome's "
                         "units")
    return v


def _se_df(var_c: float, var_t: float, n_c: int, n_t: int) -> tuple[float, float]:
    """Standard error of the difference of means and Welch-Satterthwaite degrees of freedom."""
    a, b = var_c / n_c, var_t / n_t
    se = math.sqrt(a + b)
    den = (a * a / (n_c - 1) if n_c > 1 else 0.0) + (b * b / (n_t - 1) if n_t > 1 else 0.0)
    df = (a + b) ** 2 / den if den > 0 else float(max(1, n_c + n_t - 2))
    return se, df


def welch_power(effect: float, sd_control: float, sd_treatment: float, n_control: int,
                n_treatment: int, *, expect: str = "greater", alpha: float = ALPHA,
                family: int = 1) -> float:
    """The probability that the rule's test supports a hypothesis, from the noncentral t.

    For ``greater``, ``less`` and ``different``: the power of Welch's test (one-sided at
    ``alpha / 2 / family``; two-sided at ``alpha / family`` for ``different``) when the true
    effect is ``effect`` in the stated direction. For ``equivalent``: the power of the two
    one-sided tests to show that the effect lies within +-``effect`` when there is none.
    ``family`` > 1 gives the power at the Bonferroni level, the first (strictest) step of
    Holm's procedure: a lower bound of the power under Holm.
    """
    if n_control < 2 or n_treatment < 2:
        return math.nan
    se, df = _se_df(sd_control ** 2, sd_treatment ** 2, int(n_control), int(n_treatment))
    if not np.isfinite(se):
        return math.nan
    if se == 0:
        return 1.0
    from scipy import stats as sps  # here, not at import: a sweep's workers never need it

    a = alpha / max(1, int(family))
    tc = float(sps.t.ppf(1 - a / 2, df))
    ncp = abs(effect) / se
    if expect in ("greater", "less"):
        return float(sps.nct.sf(tc, df, ncp))
    if expect == "different":
        return float(sps.nct.sf(tc, df, ncp) + sps.nct.cdf(-tc, df, ncp))
    if expect == "equivalent":
        return float(max(0.0, 2.0 * sps.nct.sf(tc, df, ncp) - 1.0))
    raise ValueError(f"expect {expect!r}: allowed: {', '.join(EXPECTS)}")


def n_for_power(effect: float, sd_control: float, sd_treatment: float | None = None, *,
                expect: str = "greater", alpha: float = ALPHA, family: int = 1,
                power: float = TARGET_POWER, n_max: int = 1_000_000) -> int | None:
    """The fewest runs per condition (the same in both) for :func:`welch_power` to reach
    ``power``; None when no number up to ``n_max`` does (or the SD is unknown)."""
    sd_t = sd_control if sd_treatment is None else sd_treatment
    if not (np.isfinite(sd_control) and np.isfinite(sd_t)) or not effect:
        return None

    def pw(n: int) -> float:
        return welch_power(effect, sd_control, sd_t, n, n, expect=expect, alpha=alpha,
                           family=family)

    lo, hi = 2, 2
    while pw(hi) < power:
        lo, hi = hi, hi * 2
        if hi > n_max:
            return None
    if pw(lo) >= power:
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if pw(mid) >= power else (mid, hi)
    return hi


def replicates_for_power(effect: float, sd: float, points_control: int = 1,
                         points_treatment: int = 1, *, expect: str = "greater",
                         alpha: float = ALPHA, family: int = 1, power: float = TARGET_POWER,
                         max_replicates: int = 100_000) -> int | None:
    """The fewest replicates per point for the rule's test to reach ``power`` when a condition
    pools ``points_control`` (``points_treatment``) points of the design and the outcome's SD
    within a condition is ``sd``; None when the SD is unknown or no number is enough."""
    if sd is None or not np.isfinite(sd) or sd < 0:
        return None

    def pw(r: int) -> float:
        return welch_power(effect, sd, sd, r * points_control, r * points_treatment,
                           expect=expect, alpha=alpha, family=family)

    r = 1
    while r * min(points_control, points_treatment) < 2 or pw(r) < power:
        r *= 2
        if r > max_replicates:
            return None
    lo = r // 2
    while r - lo > 1:
        mid = (lo + r) // 2
        if mid * min(points_control, points_treatment) >= 2 and pw(mid) >= power:
            r = mid
        else:
            lo = mid
    return r


# =============================================================================================
# Multiple comparisons
# =============================================================================================
