"""Patterns of the record a scenario should reproduce: the measures and the ``[[patterns]]``
table of a scenario (judged over seeds by :mod:`sim.analysis.check`).

A scenario declares what the historical record says about its case as ``[[patterns]]``
entries (docs/ODD.md, section 6.9)::

    [[patterns]]
    id = "coexistence"
    description = "JNIM and ISGS coexist 2.5 to 4.5 years before the truce breaks"
    measure = "coexistence_years"      # a measure of this module, by name
    pair = "JNIM|ISGS"                 # the measure's arguments
    low = 2.5                          # the target: the statistic across seeds lies in
    high = 4.5                         #   [low, high] (either may be left out)
    stat = "median"                    # median (default), mean, iqr; share for a yes/no measure
    source = "CTC Sentinel 13(7), 2020"

A *measure* is a function of one run (its :class:`~sim.core.record.RunResult`: ``steps``, ``events``
and ``summary``) and of the scenario's :class:`~sim.core.scenario.Scale`; it returns one number, in
real units where it says so (real fighters = agents x ``fighters_per_agent``, km2 = cells x
``km2_per_cell``). Time-to-event measures return ``inf`` when the event did not happen during
the run (right-censored) and ``nan`` when they are undefined (no truce to break); a measure
over a window of weeks (``weeks = [FROM, TO]``, whole weeks or calendar dates) that reaches past
the end of the run is ``nan``. ``MEASURES`` is the library; :func:`measures_markdown` is its
table in docs/ODD.md.

Judging them over seeds (``militant-sim check``) is :mod:`sim.analysis.check`.
"""

from __future__ import annotations

import datetime
import math
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .columns import (directed_col, directed_key, group_col, pair_col, pair_key, parse_col,
                      split_pair, split_pair_arg)
from .enums import Relation
from .scenario import (
    WEEKS_PER_CALENDAR_YEAR,
    WEEKS_PER_MONTH,
    Scale,
    ScenarioError,
    parse_date,
)

#: statistics across seeds a pattern can be judged on
STATS = {
    "median": "median across seeds",
    "mean": "mean across seeds",
    "iqr": "interquartile range across seeds (spread, e.g. of a timing)",
    "share": "share of seeds where a yes/no measure is yes",
}
#: keys every [[patterns]] entry may have besides the measure's arguments
PATTERN_KEYS = {"id", "description", "measure", "low", "high", "stat", "source", "weeks", "note",
                "tuned"}
#: the fewest clashes (with casualties) a run needs for a power-law fit of their sizes
MIN_CLASHES_FIT = 50
#: bounds of the fitted exponent (the powerlaw package's default upper bound, 3, is too low)
ALPHA_RANGE = {"alpha": [1.0, 20.0]}
_ID = re.compile(r"^[A-Za-z0-9_-]+$")


# =============================================================================================
# The library of measures
# =============================================================================================
@dataclass(frozen=True)
class Arg:
    """An argument of a measure: ``kind`` is group, pair (A|B), directed (A>B), groups (a list
    of groups), week (a whole week or a date), int or bool."""

    kind: str
    required: bool = True
    default: Any = None
    meaning: str = ""
    odd: bool = False          # an int that must be odd


@dataclass(frozen=True)
class Measure:
    """One measure of a run."""

    name: str
    func: Callable[..., float]
    args: dict[str, Arg]
    unit: str
    meaning: str
    window: bool = False      # takes ``weeks = [FROM, TO]`` (default: the whole run)
    boolean: bool = False     # a yes/no measure (1 or 0): judged by the share of seeds
    exclusive: tuple[str, ...] = ()  # at most one of these arguments may be given

    def usage(self) -> str:
        parts = []
        for n, a in self.args.items():
            form = f"{n}={a.kind.upper()}"
            parts.append(form if a.required else f"[{form}]")
        if self.window:
            parts.append("[weeks=[FROM, TO]]")
        return f"{self.name}({', '.join(parts)})"


MEASURES: dict[str, Measure] = {}


def measure(name: str, unit: str, meaning: str, *, args: dict[str, Arg] | None = None,
            window: bool = False, boolean: bool = False,
            exclusive: tuple[str, ...] = ()) -> Callable:
    """Register ``func(result, scale, **args) -> float`` as the measure ``name``."""

    def deco(func: Callable) -> Callable:
        MEASURES[name] = Measure(name, func, dict(args or {}), unit, meaning, window, boolean,
                                 exclusive)
        return func

    return deco


def measures_markdown() -> str:
    """The library as a Markdown table (docs/ODD.md, section 6.9)."""
    rows = ["| measure | arguments | unit | meaning |", "|---|---|---|---|"]
    for m in MEASURES.values():
        args = ", ".join(f"`{n}`" + ("" if a.required else " (optional)")
                         for n, a in m.args.items())
        if m.window:
            args = (args + ", " if args else "") + "`weeks` (optional)"
        rows.append(f"| `{m.name}` | {args or '-'} | {m.unit} | {m.meaning} |")
    return "\n".join(rows)


# -- helpers over one run ------------------------------------------------------------------------
def _names(r) -> list[str]:
    groups = (getattr(r, "summary", None) or {}).get("groups")
    if groups:
        return list(groups)
    return [pc.a for c in r.steps.columns
            if (pc := parse_col(c)).kind == "group" and pc.var == "fighters"]


def _last_week(r) -> int:
    return int(r.steps["week"].iloc[-1])


def _rows(r, weeks: tuple[int, int] | None) -> pd.DataFrame | None:
    """Rows of ``steps`` in the window [FROM, TO] (both included), or None if the run ended
    before TO (the window was not observed)."""
    if weeks is None:
        return r.steps
    lo, hi = weeks
    if hi > _last_week(r):
        return None
    w = r.steps["week"]
    return r.steps[(w >= lo) & (w <= hi)]


def _at(r, col: str, week: int) -> float:
    """Value of a steps column at a week; nan if the run does not reach it."""
    hit = r.steps.loc[r.steps["week"] == week, col]
    return float(hit.iloc[0]) if len(hit) else math.nan


def _relation(r, pair: tuple[str, str]) -> np.ndarray:
    a, b = pair
    for col in (pair_col("relation", a, b), pair_col("relation", b, a)):
        if col in r.steps:
            return r.steps[col].to_numpy()
    raise KeyError(f"no relation column for {a}|{b}")


def _first_truce(r, pair: tuple[str, str]) -> dict | None:
    """The pair's first truce spell (summary ``truces``; from ``steps`` if the summary has
    none), or None."""
    spells = (getattr(r, "summary", None) or {}).get("truces")
    if spells is None:
        from .record import truce_spells

        spells = truce_spells(r.steps, _names(r), r.events)
    mine = [s for s in spells if set(s.get("groups") or split_pair(s["pair"])) == set(pair)]
    return min(mine, key=lambda s: s["start"]) if mine else None


def _broke(spell: dict) -> bool:
    """The truce broke (into war or rivalry), rather than running on or ending in a merger."""
    return (not spell.get("censored", False) and spell.get("end") is not None
            and spell.get("ended_by", "war") in ("war", "rivalry"))


def _is_incident(ev: pd.DataFrame) -> np.ndarray:
    """Rows that are incidents under truce: kind 'incident', or clashes marked by an
    ``incident`` column or 'incident' in ``detail``."""
    marked = np.zeros(len(ev), dtype=bool)
    if "incident" in ev:
        marked |= ev["incident"].fillna(False).astype(bool).to_numpy()
    if "detail" in ev:
        marked |= ev["detail"].fillna("").astype(str).str.contains("incident").to_numpy()
    return (ev["kind"] == "incident").to_numpy() | ((ev["kind"] == "clash").to_numpy() & marked)


def _clashes(r, group=None, pair=None, groups=None, weeks=None,
             include_incidents: bool = True) -> pd.DataFrame | None:
    """Clash events (incidents under truce included unless asked not to) of one group, one
    pair or among a set of groups, in a window; None if the window was not observed."""
    ev = r.events
    if weeks is not None and weeks[1] > _last_week(r):
        return None
    if not len(ev):
        return ev
    incident = _is_incident(ev)
    keep = (ev["kind"] == "clash").to_numpy() | incident
    if not include_incidents:
        keep &= ~incident
    ev = ev[keep]
    if group is not None:
        ev = ev[(ev["group"] == group) | (ev["other"] == group)]
    if pair is not None:
        a, b = pair
        ev = ev[((ev["group"] == a) & (ev["other"] == b)) | ((ev["group"] == b) & (ev["other"] == a))]
    if groups is not None:
        ev = ev[ev["group"].isin(groups) & ev["other"].isin(groups)]
    if weeks is not None:
        ev = ev[(ev["week"] >= weeks[0]) & (ev["week"] <= weeks[1])]
    return ev


def _casualties(ev: pd.DataFrame) -> np.ndarray:
    if {"casualties_group", "casualties_other"} <= set(ev.columns):
        return (ev["casualties_group"].to_numpy(np.float64)
                + ev["casualties_other"].to_numpy(np.float64))
    return ev["size"].to_numpy(np.float64)


def _defections(r, source: str, target: str, rows: pd.DataFrame) -> float:
    col = directed_col("defect", source, target)
    return float(rows[col].sum()) if col in rows else 0.0


# -- truces and war --------------------------------------------------------------------------------
PAIR = Arg("pair", meaning="two groups, A|B")
_BY_PAIR = {"pair": PAIR}


@measure("truce_end_week", "week", "week the pair's first truce broke (into war or rivalry); "
         "inf if it did not break during the run; nan if the pair had no truce", args=_BY_PAIR)
def truce_end_week(r, scale, pair):
    s = _first_truce(r, pair)
    if s is None:
        return math.nan
    return float(s["end"]) if _broke(s) else math.inf


@measure("coexistence_years", "years", "years from the start of the pair's first truce (before "
         "week 0 if the relation has `since`) to its breakdown; inf if it did not break; nan if "
         "the pair had no truce", args=_BY_PAIR)
def coexistence_years(r, scale, pair):
    s = _first_truce(r, pair)
    if s is None:
        return math.nan
    if not _broke(s):
        return math.inf
    return (float(s["end"]) - float(s["start"])) / WEEKS_PER_CALENDAR_YEAR


@measure("war_after_truce", "yes/no", "1 if the pair's first truce broke and the pair was at war "
         "within `within` weeks of the breakdown, else 0 (a truce that never broke is 0); nan if "
         "the pair had no truce, or if the run ended before the `within` weeks passed without war",
         args={"pair": PAIR, "within": Arg("int", False, 52, "weeks allowed between the "
                                           "breakdown and war")}, boolean=True)
def war_after_truce(r, scale, pair, within=52):
    s = _first_truce(r, pair)
    if s is None:
        return math.nan
    if not _broke(s):
        return 0.0
    end = int(s["end"])
    weeks = r.steps["week"].to_numpy()
    rel = _relation(r, pair)
    window = (weeks >= end) & (weeks <= end + within)
    if (rel[window] == Relation.WAR).any():
        return 1.0
    return math.nan if end + within > _last_week(r) else 0.0


@measure("first_war_week", "week", "first week the pair was at war; inf if never during the run",
         args=_BY_PAIR)
def first_war_week(r, scale, pair):
    rel = _relation(r, pair)
    hit = np.flatnonzero(rel == Relation.WAR)
    return float(r.steps["week"].iloc[hit[0]]) if len(hit) else math.inf


@measure("clashes_before_war", "clashes", "clash events between the pair (incidents under truce "
         "included unless `include_incidents = false`) before the week the pair first was at war; "
         "nan if it never was", args={"pair": PAIR, "include_incidents": Arg("bool", False, True)})
def clashes_before_war(r, scale, pair, include_incidents=True):
    war = first_war_week(r, scale, pair)
    if not math.isfinite(war):
        return math.nan
    ev = _clashes(r, pair=pair, include_incidents=include_incidents)
    return float((ev["week"] < war).sum()) if len(ev) else 0.0


# -- territory and fighters --------------------------------------------------------------------------
GROUP = Arg("group", meaning="a group")


@measure("territory_peak_week", "week", "week the group held most cells (the first such week) in "
         "the window; nan if it held none", args={"group": GROUP}, window=True)
def territory_peak_week(r, scale, group, weeks=None):
    rows = _rows(r, weeks)
    if rows is None or not len(rows):
        return math.nan
    t = rows[group_col("territory", group)].to_numpy()
    if t.max() <= 0:
        return math.nan
    return float(rows["week"].iloc[int(t.argmax())])


@measure("territory_peak_km2", "km2", "largest territory of the group in the window",
         args={"group": GROUP}, window=True)
def territory_peak_km2(r, scale, group, weeks=None):
    rows = _rows(r, weeks)
    if rows is None or not len(rows):
        return math.nan
    return float(rows[group_col("territory", group)].max()) * scale.km2_per_cell


@measure("territory_km2", "km2", "territory of the group at a week",
         args={"group": GROUP, "week": Arg("week", meaning="a week or date")})
def territory_km2(r, scale, group, week):
    return _at(r, group_col("territory", group), week) * scale.km2_per_cell


@measure("territory_change", "fraction", "relative change of the group's territory from the "
         "first to the last week of the window (-0.14: lost 14%); nan if it held none at the "
         "start", args={"group": GROUP}, window=True)
def territory_change(r, scale, group, weeks=None):
    return _relative_change(r, group_col("territory", group), weeks)


def _relative_change(r, col: str, weeks) -> float:
    """Relative change of a steps column from the first to the last week of the window; nan
    if the window was not observed or the column is 0 at its start."""
    rows = _rows(r, weeks)
    if rows is None or not len(rows):
        return math.nan
    x = rows[col].to_numpy(np.float64)
    return float(x[-1] / x[0] - 1.0) if x[0] > 0 else math.nan


@measure("territory_retained", "share", "share of the cells the group held at the first week "
         "of the window that it also holds at the last (1: it kept all its ground; low: its "
         "territory is a shifting footprint); with `smooth` = k (odd, > 1), a cell counts as "
         "held at either end when the group holds it in most of the k weeks centred on that "
         "week (as a map drawn from weeks of reports would show it; the two ends stay as far "
         "apart as the window's); nan if it held none at the start, the k weeks reach outside "
         "the run or the run kept no weekly control map",
         args={"group": GROUP, "smooth": Arg("int", False, 1, "weeks (odd) of the majority "
                                              "centred on each end of the window (1: the "
                                              "single first and last weeks)", odd=True)},
         window=True)
def territory_retained(r, scale, group, smooth=1, weeks=None):
    maps = getattr(r, "maps", None) or {}
    control = maps.get("control")
    rows = _rows(r, weeks)
    if control is None or rows is None or not len(rows):
        return math.nan
    g = _names(r).index(group)
    first, last = int(rows["week"].iloc[0]), int(rows["week"].iloc[-1])
    k = int(smooth)
    if k < 1 or k % 2 == 0:
        raise ValueError(f"territory_retained: smooth must be an odd number of weeks, not {k}")
    h = k // 2
    if last + h >= len(control) or first - h < 0:
        return math.nan
    control = np.asarray(control)
    start = (control[first - h:first + h + 1] == g).mean(axis=0) > 0.5
    end = (control[last - h:last + h + 1] == g).mean(axis=0) > 0.5
    return float((start & end).sum() / start.sum()) if start.any() else math.nan


@measure("fighters", "fighters", "real fighters of the group at a week",
         args={"group": GROUP, "week": Arg("week", meaning="a week or date")})
def fighters(r, scale, group, week):
    return _at(r, group_col("fighters", group), week) * scale.fighters_per_agent


@measure("strength_change", "fraction", "relative change of the group's fighters from the "
         "first to the last week of the window (-0.2: a fifth fewer; losses net of recruits "
         "and defectors); nan if it had none at the start", args={"group": GROUP}, window=True)
def strength_change(r, scale, group, weeks=None):
    return _relative_change(r, group_col("fighters", group), weeks)


# -- defections -------------------------------------------------------------------------------------
@measure("defection_rate_into", "fraction", "defections into the group per month (4.35 weeks) "
         "over the window, as a share of its mean strength there (0.02: 2% a month); only "
         "those from `from_group` if given",
         args={"group": GROUP, "from_group": Arg("group", False)}, window=True)
def defection_rate_into(r, scale, group, from_group=None, weeks=None):
    rows = _rows(r, weeks)
    if rows is None or not len(rows):
        return math.nan
    if from_group is not None:
        into = _defections(r, from_group, group, rows)
    elif group_col("defect_in", group) in rows:
        into = float(rows[group_col("defect_in", group)].sum())
    else:
        into = sum(_defections(r, s, group, rows) for s in _names(r) if s != group)
    strength = float(rows[group_col("fighters", group)].mean())
    if strength <= 0:
        return math.nan
    return into / (len(rows) / WEEKS_PER_MONTH) / strength


@measure("net_defections", "fighters", "real fighters who left A for B minus those who left B "
         "for A over the window", args={"pair": Arg("directed", meaning="A>B")}, window=True)
def net_defections(r, scale, pair, weeks=None):
    rows = _rows(r, weeks)
    if rows is None:
        return math.nan
    a, b = pair
    return (_defections(r, a, b, rows) - _defections(r, b, a, rows)) * scale.fighters_per_agent


# -- clashes ----------------------------------------------------------------------------------------
_SELECT = {"group": Arg("group", False, meaning="clashes with this group on either side"),
           "pair": Arg("pair", False, meaning="clashes between these two"),
           "groups": Arg("groups", False, meaning="clashes with both sides in this list"),
           "include_incidents": Arg("bool", False, True)}
_SEL = ("group", "pair", "groups")


@measure("clash_count", "clashes", "clash events in the window (of one `group`, one `pair` or "
         "among `groups` if given; incidents under truce included unless "
         "`include_incidents = false`)", args=_SELECT, window=True, exclusive=_SEL)
def clash_count(r, scale, weeks=None, **sel):
    ev = _clashes(r, weeks=weeks, **sel)
    return math.nan if ev is None else float(len(ev))


@measure("clash_deaths", "fighters", "real fighters killed in clashes in the window (agents "
         "killed x fighters_per_agent; selection as clash_count)", args=_SELECT, window=True,
         exclusive=_SEL)
def clash_deaths(r, scale, weeks=None, **sel):
    ev = _clashes(r, weeks=weeks, **sel)
    if ev is None:
        return math.nan
    return float(_casualties(ev).sum()) * scale.fighters_per_agent if len(ev) else 0.0


def power_law_fit(sizes: Sequence[float], min_clashes: int = MIN_CLASHES_FIT) -> dict[str, float]:
    """Clauset-Shalizi-Newman fit of a discrete power law to positive sizes (``powerlaw``
    package: x_min by the KS distance, then the maximum-likelihood exponent). Returns alpha,
    xmin, sigma, n_tail and decades (log10 of the largest size over x_min); nan with fewer than
    ``min_clashes`` positive sizes or fewer than three different sizes."""
    x = np.asarray(sizes, dtype=np.float64)
    x = np.sort(x[np.isfinite(x) & (x > 0)])
    nan = {"alpha": math.nan, "xmin": math.nan, "sigma": math.nan, "n_tail": 0.0,
           "decades": math.nan}
    if len(x) < max(1, min_clashes) or len(np.unique(x)) < 3:
        return nan
    import powerlaw

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            # powerlaw 2 bounds a numerical fit's alpha to [0, 3] by default, which would
            # report any steeper tail as exactly 3: widen the bounds
            fit = powerlaw.Fit(x, discrete=True, verbose=0, parameter_ranges=ALPHA_RANGE)
            pl = fit.power_law
            alpha, sigma = float(pl.alpha), float(pl.sigma)
    xmin = float(fit.xmin)
    return {"alpha": alpha, "xmin": xmin, "sigma": sigma, "n_tail": float(fit.n_tail),
            "decades": float(np.log10(x[-1] / xmin)) if xmin > 0 else math.nan}


def _fit(r, weeks, min_clashes, **sel) -> dict[str, float]:
    """The power-law fit of a run's clash sizes, computed once per run and selection."""
    key = ("fit", weeks, min_clashes, tuple(sorted((k, str(v)) for k, v in sel.items())))
    cache = r.__dict__.setdefault("_pattern_cache", {}) if hasattr(r, "__dict__") else {}
    if key not in cache:
        ev = _clashes(r, weeks=weeks, **sel)
        sizes = _casualties(ev) if ev is not None and len(ev) else []
        cache[key] = power_law_fit(sizes, min_clashes) if len(sizes) else power_law_fit([], 1)
    return cache[key]


_FIT_ARGS = {**_SELECT, "min_clashes": Arg("int", False, MIN_CLASHES_FIT,
                                           "fewest clashes with casualties to fit")}


@measure("clash_size_alpha", "exponent", "power-law exponent of clash sizes (agents killed per "
         "clash, clashes without casualties left out), Clauset-Shalizi-Newman discrete fit with "
         "the powerlaw package; nan with fewer than `min_clashes` clashes",
         args=_FIT_ARGS, window=True, exclusive=_SEL)
def clash_size_alpha(r, scale, weeks=None, min_clashes=MIN_CLASHES_FIT, **sel):
    return _fit(r, weeks, min_clashes, **sel)["alpha"]


@measure("clash_size_decades", "decades", "decades spanned by the fitted power-law tail of clash "
         "sizes: log10(largest size / x_min); fewer than 2 is too short to call a power law",
         args=_FIT_ARGS, window=True, exclusive=_SEL)
def clash_size_decades(r, scale, weeks=None, min_clashes=MIN_CLASHES_FIT, **sel):
    return _fit(r, weeks, min_clashes, **sel)["decades"]


# =============================================================================================
# Patterns: parsing and judging
# =============================================================================================
@dataclass
class Pattern:
    """One declared pattern of the record: a measure, a target range and a statistic."""

    id: str
    description: str
    measure: str
    args: dict[str, Any]
    low: float
    high: float
    stat: str
    source: str
    weeks: tuple[int, int] | None = None
    note: str = ""
    #: what was tuned to this pattern (empty: nothing; the pattern is a test of the model)
    tuned: str = ""

    @property
    def spec(self) -> Measure:
        return MEASURES[self.measure]

    @property
    def unit(self) -> str:
        return "share" if self.stat == "share" else self.spec.unit

    def value(self, result, scale: Scale | None = None) -> float:
        """The measure of one run."""
        kw = dict(self.args)
        if self.spec.window:
            kw["weeks"] = self.weeks
        v = self.spec.func(result, scale or Scale(), **kw)
        return math.nan if v is None else float(v)

    def call(self) -> str:
        """The measure with its arguments, as written: ``territory_change(group=ISIS, ...)``."""
        parts = []
        for k, v in self.args.items():
            if isinstance(v, tuple):
                v = (directed_key(*v) if MEASURES[self.measure].args[k].kind == "directed"
                     else pair_key(*v))
            elif isinstance(v, list):
                v = "[" + ", ".join(v) + "]"
            parts.append(f"{k}={v}")
        if self.weeks is not None:
            parts.append(f"weeks={self.weeks[0]}-{self.weeks[1]}")
        return f"{self.measure}({', '.join(parts)})"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "description": self.description, "measure": self.measure,
                "args": {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.args.items()},
                "weeks": list(self.weeks) if self.weeks else None, "stat": self.stat,
                "low": _plain(self.low), "high": _plain(self.high), "unit": self.unit,
                "source": self.source, "note": self.note, "tuned": self.tuned}


def _number(file, key, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(float(v)):
        raise ScenarioError(file, key, "must be a number", v, "a number (inf allowed)",
                            has_value=True)
    return float(v)


def _week(file, key, v, scale: Scale) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        if v < 0:
            raise ScenarioError(file, key, "must be a week >= 0", v, "a whole week >= 0 or a date")
        return v
    if isinstance(v, (str, datetime.date)):
        day = parse_date(file, key, v)
        if scale.week0 is None:
            raise ScenarioError(file, key, "a date needs the scenario's [scale] week0", v,
                                "a whole week, or set week0 in [scale]")
        w = scale.week_of(day)
        if w < 0:
            raise ScenarioError(file, key, "the date is before week 0", v,
                                f"a date on or after {scale.week0.isoformat()}")
        return w
    raise ScenarioError(file, key, "must be a week or a date", v,
                        "a whole week >= 0 or a date such as 2014-01-01", has_value=True)


def _arg(file, key, a: Arg, v, names: list[str], scale: Scale):
    groups = ", ".join(names)
    if a.kind == "group":
        if v not in names:
            raise ScenarioError(file, key, "unknown group", v, groups, has_value=True)
        return v
    if a.kind in ("pair", "directed"):
        parts = (split_pair_arg(v, directed=a.kind == "directed") if isinstance(v, str)
                 else list(v) if isinstance(v, list) else None)
        form = "A>B" if a.kind == "directed" else "A|B"
        if (parts is None or len(parts) != 2 or parts[0] == parts[1]
                or not all(isinstance(p, str) for p in parts)):
            raise ScenarioError(file, key, f"must name two different groups as \"{form}\"", v,
                                f"\"{form}\" with A and B in {groups}", has_value=True)
        for p in parts:
            if p not in names:
                raise ScenarioError(file, key, "unknown group", p, groups)
        return (parts[0], parts[1])
    if a.kind == "groups":
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not v or any(x not in names for x in v):
            raise ScenarioError(file, key, "must list known groups", v, "a list of: " + groups,
                                has_value=True)
        return list(v)
    if a.kind == "week":
        return _week(file, key, v, scale)
    if a.kind == "int":
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ScenarioError(file, key, "must be a whole number >= 0", v, "an integer >= 0",
                                has_value=True)
        if a.odd and v % 2 == 0:
            raise ScenarioError(file, key, "must be odd", v, "1, 3, 5, ...", has_value=True)
        return v
    if a.kind == "bool":
        if not isinstance(v, bool):
            raise ScenarioError(file, key, "wrong type", v, "true or false", has_value=True)
        return v
    raise AssertionError(a.kind)  # pragma: no cover


def parse_patterns(file, entries: Any, names: list[str], scale: Scale) -> list[Pattern]:
    """Validate a scenario's ``[[patterns]]`` entries; every problem is a ScenarioError naming
    the file, the key (``patterns.ID.KEY``), the value given and what is allowed."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ScenarioError(file, "patterns", "must be an array of tables", entries,
                            "[[patterns]] id = ..., measure = ..., low = ..., high = ...")
    out: list[Pattern] = []
    seen: set[str] = set()
    for k, e in enumerate(entries):
        key = f"patterns[{k}]"
        if not isinstance(e, dict):
            raise ScenarioError(file, key, "must be a table", e, "a [[patterns]] table")
        pid = e.get("id")
        if not isinstance(pid, str) or not _ID.match(pid):
            raise ScenarioError(file, f"{key}.id", "needs an id", pid,
                                "a name of letters, digits, _ and - (unique in the scenario)",
                                has_value=True)
        if pid in seen:
            raise ScenarioError(file, f"{key}.id", "two patterns have this id", pid,
                                "a unique name")
        seen.add(pid)
        key = f"patterns.{pid}"
        mname = e.get("measure")
        if mname not in MEASURES:
            import difflib

            close = difflib.get_close_matches(str(mname), list(MEASURES), n=3)
            raise ScenarioError(file, f"{key}.measure", "unknown measure" if mname is not None
                                else "missing", mname,
                                ("did you mean " + " or ".join(close) + "? " if close else "")
                                + "one of: " + ", ".join(MEASURES))
        m = MEASURES[mname]
        allowed = PATTERN_KEYS | set(m.args)
        if not m.window:
            allowed = allowed - {"weeks"}
        for k2 in e:
            if k2 not in allowed:
                extra = (f"; {mname} takes no window of weeks" if k2 == "weeks" else "")
                raise ScenarioError(file, f"{key}.{k2}", "unknown key" + extra,
                                    allowed=f"{m.usage()}; and " + ", ".join(
                                        sorted(PATTERN_KEYS - ({"weeks"} if not m.window
                                                               else set()))))
        for k2 in ("description", "source"):
            if not isinstance(e.get(k2), str) or not e[k2].strip():
                raise ScenarioError(file, f"{key}.{k2}", "missing" if k2 not in e
                                    else "must be a non-empty string", e.get(k2),
                                    "the pattern in words" if k2 == "description"
                                    else "where the figure comes from", has_value=k2 in e)
        note = e.get("note", "")
        if not isinstance(note, str):
            raise ScenarioError(file, f"{key}.note", "must be a string", note)
        tuned = e.get("tuned", "")
        if not isinstance(tuned, str):
            raise ScenarioError(file, f"{key}.tuned", "must be a string", tuned,
                                "the inputs or parameters tuned to this pattern, in words")
        stat = e.get("stat", "share" if m.boolean else "median")
        if stat not in STATS:
            raise ScenarioError(file, f"{key}.stat", "unknown statistic", stat, ", ".join(STATS))
        if m.boolean and stat != "share":
            raise ScenarioError(file, f"{key}.stat", f"{mname} is a yes/no measure", stat,
                                "share")
        if not m.boolean and stat == "share":
            raise ScenarioError(file, f"{key}.stat", f"{mname} is not a yes/no measure", stat,
                                "median, mean or iqr")
        if "low" not in e and "high" not in e:
            raise ScenarioError(file, key, "needs a target: low, high or both",
                                allowed="low = NUMBER and/or high = NUMBER")
        low = _number(file, f"{key}.low", e.get("low", -math.inf))
        high = _number(file, f"{key}.high", e.get("high", math.inf))
        if low > high:
            raise ScenarioError(file, f"{key}.low", "is above high", low, f"a number <= {high}")
        if stat == "share" and not all(0 <= x <= 1 or math.isinf(x) for x in (low, high)):
            raise ScenarioError(file, key, "a share's target must lie in [0, 1]", [low, high],
                                "low and high in [0, 1]")
        args: dict[str, Any] = {}
        for an, a in m.args.items():
            if an in e:
                args[an] = _arg(file, f"{key}.{an}", a, e[an], names, scale)
            elif a.required:
                raise ScenarioError(file, f"{key}.{an}", f"missing for measure {mname}",
                                    allowed=f"{a.meaning or a.kind}; {m.usage()}")
        given = [x for x in m.exclusive if x in e]
        if len(given) > 1:
            raise ScenarioError(file, key, "give at most one of " + ", ".join(m.exclusive),
                                given, m.usage())
        weeks = None
        if "weeks" in e:
            w = e["weeks"]
            if not isinstance(w, list) or len(w) != 2:
                raise ScenarioError(file, f"{key}.weeks", "must be a pair [FROM, TO]", w,
                                    "[FROM, TO]: whole weeks or dates, both included",
                                    has_value=True)
            a0 = _week(file, f"{key}.weeks", w[0], scale)
            a1 = _week(file, f"{key}.weeks", w[1], scale)
            if a1 < a0:
                raise ScenarioError(file, f"{key}.weeks", "ends before it starts", w,
                                    "[FROM, TO] with FROM <= TO")
            weeks = (a0, a1)
        out.append(Pattern(pid, e["description"].strip(), mname, args, low, high, stat,
                           e["source"].strip(), weeks, note, tuned.strip()))
    return out


def measure_all(patterns: Sequence[Pattern], result, scale: Scale | None = None) -> dict[str, float]:
    """Every pattern's measure of one run: ``{pattern id: value}``."""
    return {p.id: p.value(result, scale) for p in patterns}


def _plain(x: float) -> Any:
    """A JSON-safe number: nan as None, infinities as "inf"/"-inf"."""
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


# =============================================================================================
# Distance from a target
# =============================================================================================
#: a miss is capped at this many target widths (and an undefined statistic is this far off)
MISS_CAP = 10.0


def miss(value: float, low: float, high: float) -> float:
    """How far a statistic lies outside its target [low, high], in target widths (0 inside;
    :data:`MISS_CAP` at most, and for an undefined or censored value outside the target).

    The width is ``high - low`` for a closed target, else the larger of the finite bound's
    size and 1 (a half-open target, ``low = 1`` say)."""
    if value is None or math.isnan(value):
        return MISS_CAP
    if low <= value <= high:
        return 0.0
    if math.isinf(value):
        return MISS_CAP
    if math.isfinite(low) and math.isfinite(high) and high > low:
        width = high - low
    else:
        finite = [abs(b) for b in (low, high) if math.isfinite(b)]
        width = max(finite + [1.0])
    gap = (low - value) if value < low else (value - high)
    return float(min(MISS_CAP, gap / width))


__all__ = ["MEASURES", "MISS_CAP", "Measure", "Pattern", "STATS", "measure", "measure_all",
           "measures_markdown", "miss", "parse_patterns", "power_law_fit"]
