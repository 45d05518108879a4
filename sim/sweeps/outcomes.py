"""Named scalar outcomes of a run, for experiments and sweeps.

An outcome is a function of a :class:`~sim.core.record.RunResult` that returns one number. Experiment
files name them as strings, some with an argument after a colon::

    "clash_rate"                          # no argument
    "final_fighters:ISIS"                 # a group
    "truce_share:JNIM|ISGS"               # a pair of groups (order does not matter)
    "net_defections_per_1000:HaD>ISIS"    # a direction between two groups

``militant-sim sweep --list-outcomes`` prints the registry; :func:`table_markdown` is the table in
``docs/SWEEPS.md``. An outcome that is undefined in a run (the mean length of truces in a run
without truces, the cohesion after a leader's death in a run where no leader died) is ``nan``;
the run tables keep it as a missing value.

To add an outcome, write a function of ``(result, arg)`` here and decorate it with
:func:`outcome`; it is then available to every experiment file.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..core.columns import directed_col, group_col, pair_key, split_pair_arg, subject_col
from ..common.units import WEEKS_PER_YEAR
from ..core.enums import Relation

#: weeks after a leader's death over which the "..._after_shock" outcomes are measured
SHOCK_WINDOW_WEEKS = 52

#: kinds of argument an outcome takes
ARG_KINDS = {
    None: "no argument",
    "group": "a group: NAME",
    "pair": "a pair of groups: A|B",
    "directed": "a direction between two groups: A>B",
}


@dataclass(frozen=True)
class Outcome:
    """One registered outcome."""

    name: str
    func: Callable[[Any, Any], float]
    arg: str | None = None       # None, "group", "pair" or "directed"
    optional: bool = False       # the argument may be left out (then: over all groups/pairs)
    unit: str = "-"
    meaning: str = ""

    def usage(self) -> str:
        if self.arg is None:
            return self.name
        form = {"group": "GROUP", "pair": "A|B", "directed": "A>B"}[self.arg]
        return f"{self.name}[:{form}]" if self.optional else f"{self.name}:{form}"


OUTCOMES: dict[str, Outcome] = {}


def outcome(name: str, arg: str | None = None, *, optional: bool = False, unit: str = "-",
            meaning: str = "") -> Callable:
    """Register ``func(result, arg) -> float`` as the outcome ``name``."""
    if arg not in ARG_KINDS:
        raise ValueError(f"outcome {name}: arg must be one of {list(ARG_KINDS)}")

    def deco(func: Callable) -> Callable:
        OUTCOMES[name] = Outcome(name, func, arg, optional, unit, meaning)
        return func

    return deco


# ---------------------------------------------------------------------------------------------
# Parsing and validation of outcome names
# ---------------------------------------------------------------------------------------------
class OutcomeError(ValueError):
    """An outcome name that is not in the registry or has a wrong argument."""

    def __init__(self, spec: str, problem: str, allowed: str | None = None):
        self.spec, self.problem, self.allowed = spec, problem, allowed
        super().__init__(f"{spec!r}: {problem}" + (f"; allowed: {allowed}" if allowed else ""))


def parse(spec: str, groups: list[str] | None = None) -> tuple[Outcome, Any]:
    """Split ``"name:arg"`` into the registered :class:`Outcome` and its parsed argument.

    The argument is ``None``, a group name, a ``(A, B)`` pair or a ``(A, B)`` direction. With
    ``groups`` (the scenario's group names), group names are checked too.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise OutcomeError(str(spec), "an outcome must be a non-empty string",
                           "a name from 'militant-sim sweep --list-outcomes'")
    name, _, arg = spec.strip().partition(":")
    name, arg = name.strip(), arg.strip()
    if name not in OUTCOMES:
        import difflib

        close = difflib.get_close_matches(name, list(OUTCOMES), n=3)
        raise OutcomeError(spec, "unknown outcome",
                           ("did you mean " + " or ".join(close) + "? " if close else "")
                           + "see 'militant-sim sweep --list-outcomes'")
    o = OUTCOMES[name]
    if not arg:
        if o.arg is None or o.optional:
            return o, None
        raise OutcomeError(spec, f"needs {ARG_KINDS[o.arg]}", o.usage())
    if o.arg is None:
        raise OutcomeError(spec, "takes no argument", o.usage())
    if o.arg == "group":
        parsed: Any = arg
        names = [arg]
    else:
        parts = split_pair_arg(arg, directed=o.arg == "directed")
        if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
            raise OutcomeError(spec, f"needs {ARG_KINDS[o.arg]}", o.usage())
        parsed = (parts[0], parts[1])
        names = parts
    if groups is not None:
        for n in names:
            if n not in groups:
                raise OutcomeError(spec, f"unknown group {n!r}", ", ".join(groups))
    return o, parsed


#: outcomes that measure one of the scenario's declared patterns in each run
PATTERN_PREFIXES = ("pattern:", "pattern_miss:")


def is_pattern(spec: str) -> bool:
    """``pattern:ID`` (the pattern's measure in the run) or ``pattern_miss:ID`` (how far that
    measure lies outside the pattern's target, in target widths: 0 inside, at most
    sim.core.patterns.MISS_CAP, the cap also when it is undefined)."""
    return isinstance(spec, str) and spec.strip().startswith(PATTERN_PREFIXES)


def pattern_id(spec: str) -> str:
    return spec.strip().split(":", 1)[1].strip()


def compute_patterns(specs: list[str], result, scenario) -> dict[str, float]:
    """The ``pattern:ID`` and ``pattern_miss:ID`` outcomes of a run of ``scenario``."""
    from ..core.patterns import miss

    by_id = {p.id: p for p in scenario.patterns}
    out = {}
    for spec in specs:
        p = by_id[pattern_id(spec)]
        v = p.value(result, scenario.scale)
        out[spec] = miss(v, p.low, p.high) if spec.strip().startswith("pattern_miss:") else v
    return out


def compute(spec: str, result) -> float:
    """The value of the outcome ``spec`` (e.g. ``"final_fighters:ISIS"``) for a run."""
    o, arg = parse(spec, result.group_names)
    value = o.func(result, arg)
    return float("nan") if value is None else float(value)


def compute_all(specs: list[str], result) -> dict[str, float]:
    return {s: compute(s, result) for s in specs}


def table_markdown() -> str:
    """The registry as a Markdown table (in docs/SWEEPS.md, checked by the tests)."""
    rows = ["| outcome | unit | meaning |", "|---|---|---|"]
    for o in OUTCOMES.values():
        rows.append(f"| `{o.usage()}` | {o.unit} | {o.meaning} |")
    return "\n".join(rows)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def _years(r) -> float:
    return float(r.steps["week"].iloc[-1]) / WEEKS_PER_YEAR


def _pair_key(r, pair: tuple[str, str]) -> tuple[str, bool]:
    """The summary's key for an unordered pair ("A|B" in scenario order) and whether swapped."""
    a, b = pair
    names = r.group_names
    if names.index(a) < names.index(b):
        return pair_key(a, b), False
    return pair_key(b, a), True


def _pairs(r) -> list[str]:
    names = r.group_names
    return [pair_key(names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]


def _spells(r, pair) -> list[dict]:
    spells = r.summary.get("truces", [])
    if pair is None:
        return list(spells)
    key, _ = _pair_key(r, pair)
    return [s for s in spells if s["pair"] == key]


def _events(r, kind: str) -> pd.DataFrame:
    ev = r.events
    return ev[ev["kind"] == kind] if len(ev) else ev


def _col(r, name: str) -> np.ndarray:
    return r.steps[name].to_numpy(dtype=np.float64)


def _shock_week(r, group: str) -> int | None:
    """Week of the first death of ``group``'s leader, or None."""
    ev = _events(r, "leader_killed")
    if not len(ev):
        return None
    ev = ev[ev["group"] == group]
    return int(ev["week"].iloc[0]) if len(ev) else None


def _window(r, start: int, weeks: int) -> pd.DataFrame:
    w = r.steps["week"]
    return r.steps[(w > start) & (w <= start + weeks)]


def _nan() -> float:
    return float("nan")


# ---------------------------------------------------------------------------------------------
# Truces, mergers, relations (H1, H6)
# ---------------------------------------------------------------------------------------------
@outcome("truce_mean_duration", "pair", optional=True, unit="weeks",
         meaning="mean length of the truces of the run (of one pair if given); a truce still "
         "running at the end counts with its observed length; nan if there was none")
def _truce_mean_duration(r, pair):
    d = [s["duration"] for s in _spells(r, pair)]
    return float(np.mean(d)) if d else _nan()


@outcome("truce_max_duration", "pair", optional=True, unit="weeks",
         meaning="length of the longest truce (observed length if still running); 0 if none")
def _truce_max_duration(r, pair):
    d = [s["duration"] for s in _spells(r, pair)]
    return float(max(d)) if d else 0.0


@outcome("truce_count", "pair", optional=True, unit="truces",
         meaning="number of truces (including one already running at week 0)")
def _truce_count(r, pair):
    return float(len(_spells(r, pair)))


@outcome("truce_broken", "pair", optional=True, unit="truces",
         meaning="number of truces that broke into war")
def _truce_broken(r, pair):
    return float(sum(1 for s in _spells(r, pair) if s.get("ended_by") == "war"))


@outcome("truce_censored_share", "pair", optional=True, unit="share",
         meaning="share of truces still running at the end (censored); nan if there was none")
def _truce_censored_share(r, pair):
    sp = _spells(r, pair)
    return float(np.mean([s["censored"] for s in sp])) if sp else _nan()


@outcome("truce_share", "pair", optional=True, unit="share of weeks",
         meaning="share of weeks the pair was in truce (without a pair: weeks in which any "
         "pair was in truce)")
def _truce_share(r, pair):
    if pair is not None:
        key, _ = _pair_key(r, pair)
        return float((r.steps[subject_col("relation", key)] == Relation.TRUCE).mean())
    cols = [subject_col("relation", k) for k in _pairs(r)]
    if not cols:
        return 0.0
    return float((r.steps[cols] == Relation.TRUCE).any(axis=1).mean())


@outcome("war_share", "pair", optional=True, unit="share of weeks",
         meaning="share of weeks the pair was at war (without a pair: any pair)")
def _war_share(r, pair):
    if pair is not None:
        key, _ = _pair_key(r, pair)
        return float((r.steps[subject_col("relation", key)] == Relation.WAR).mean())
    cols = [subject_col("relation", k) for k in _pairs(r)]
    if not cols:
        return 0.0
    return float((r.steps[cols] == Relation.WAR).any(axis=1).mean())


def _merge_events(r, kinds, pair):
    ev = r.events
    if not len(ev):
        return ev
    ev = ev[ev["kind"].isin(kinds)]
    if pair is not None:
        a, b = pair
        ev = ev[((ev["group"] == a) & (ev["other"] == b)) | ((ev["group"] == b) & (ev["other"] == a))]
    return ev


@outcome("mergers", "pair", optional=True, unit="mergers",
         meaning="number of mergers by agreement")
def _mergers(r, pair):
    return float(len(_merge_events(r, ["merger"], pair)))


@outcome("pledges", "pair", optional=True, unit="pledges",
         meaning="number of pledges (one group's leadership dissolved into the other's)")
def _pledges(r, pair):
    return float(len(_merge_events(r, ["pledge"], pair)))


@outcome("merged", "pair", optional=True, unit="0/1",
         meaning="1 if any merger or pledge happened, else 0 (its mean is a probability)")
def _merged(r, pair):
    return float(len(_merge_events(r, ["merger", "pledge"], pair)) > 0)


@outcome("first_merger_week", "pair", optional=True, unit="weeks",
         meaning="week of the first merger or pledge; nan if none")
def _first_merger_week(r, pair):
    ev = _merge_events(r, ["merger", "pledge"], pair)
    return float(ev["week"].min()) if len(ev) else _nan()


@outcome("pair_hostility", "pair", unit="-",
         meaning="mean hostility between the pair over the run")
def _pair_hostility(r, pair):
    key, _ = _pair_key(r, pair)
    return float(_col(r, subject_col("hostility", key)).mean())


# ---------------------------------------------------------------------------------------------
# Defections (H2, H3, H6)
# ---------------------------------------------------------------------------------------------
@outcome("defections", "directed", unit="fighters",
         meaning="fighters who left A for B over the run")
def _defections(r, d):
    a, b = d
    return float(r.steps[directed_col("defect", a, b)].sum())


@outcome("net_defections", "directed", unit="fighters",
         meaning="defections A>B minus defections B>A over the run")
def _net_defections(r, d):
    a, b = d
    return float(r.steps[directed_col("defect", a, b)].sum() - r.steps[directed_col("defect", b, a)].sum())


@outcome("net_defections_per_1000", "directed", unit="per 1,000 fighters",
         meaning="net defections A>B per 1,000 fighters of the pair (mean strength of A and B "
         "together over the run)")
def _net_defections_per_1000(r, d):
    a, b = d
    key, swapped = _pair_key(r, (a, b))
    v = float(r.summary["net_defections"][key]["net_per_1000_fighters"])
    return (0.0 - v) if swapped else v


@outcome("defections_out", "group", unit="fighters",
         meaning="fighters who left the group for another group over the run")
def _defections_out(r, g):
    return float(r.steps[group_col("defect_out", g)].sum())


@outcome("defections_in", "group", unit="fighters",
         meaning="fighters who joined the group from another group over the run")
def _defections_in(r, g):
    return float(r.steps[group_col("defect_in", g)].sum())


# ---------------------------------------------------------------------------------------------
# Groups: fighters, hostility, cohesion (H2, H3, H6)
# ---------------------------------------------------------------------------------------------
@outcome("final_fighters", "group", unit="fighters", meaning="fighters at the last week")
def _final_fighters(r, g):
    return float(r.steps[group_col("fighters", g)].iloc[-1])


@outcome("peak_fighters", "group", unit="fighters", meaning="largest number of fighters")
def _peak_fighters(r, g):
    return float(r.steps[group_col("fighters", g)].max())


@outcome("mean_fighters", "group", unit="fighters", meaning="mean number of fighters over the run")
def _mean_fighters(r, g):
    return float(r.steps[group_col("fighters", g)].mean())


@outcome("total_fighters", unit="fighters", meaning="fighters of all groups at the last week")
def _total_fighters(r, _):
    return float(r.steps["fighters"].iloc[-1])


@outcome("survived", "group", unit="0/1", meaning="1 if the group still exists at the end")
def _survived(r, g):
    return float(bool(r.steps[group_col("alive", g)].iloc[-1]))


def _mean_while_present(r, var: str, g: str) -> float:
    present = r.steps[group_col("fighters", g)].to_numpy() > 0
    if not present.any():
        return _nan()
    return float(_col(r, group_col(var, g))[present].mean())


@outcome("mean_hostility", "group", unit="-",
         meaning="mean hostility of the group's fighters toward rival jihadists (weeks with "
         "fighters)")
def _mean_hostility(r, g):
    return _mean_while_present(r, "hostility", g)


@outcome("final_hostility", "group", unit="-",
         meaning="mean hostility of the group's fighters at the last week")
def _final_hostility(r, g):
    return float(r.steps[group_col("hostility", g)].iloc[-1])


@outcome("mean_frustration", "group", unit="-",
         meaning="mean frustration of the group's fighters (weeks with fighters)")
def _mean_frustration(r, g):
    return _mean_while_present(r, "frustration", g)


@outcome("mean_commitment", "group", unit="-",
         meaning="mean commitment of the group's fighters (weeks with fighters)")
def _mean_commitment(r, g):
    return _mean_while_present(r, "commitment", g)


@outcome("mean_cohesion", "group", unit="-", meaning="mean leadership cohesion over the run")
def _mean_cohesion(r, g):
    return float(_col(r, group_col("cohesion", g)).mean())


@outcome("min_cohesion", "group", unit="-", meaning="lowest leadership cohesion of the run")
def _min_cohesion(r, g):
    return float(_col(r, group_col("cohesion", g)).min())


@outcome("final_claim", "group", unit="-", meaning="the group's claim at the last week")
def _final_claim(r, g):
    return float(r.steps[group_col("claim", g)].iloc[-1])


@outcome("leader_deaths", "group", optional=True, unit="deaths",
         meaning="leaders killed (of one group if given)")
def _leader_deaths(r, g):
    ev = _events(r, "leader_killed")
    if g is not None and len(ev):
        ev = ev[ev["group"] == g]
    return float(len(ev))


@outcome("shock_week", "group", unit="weeks",
         meaning="week of the first death of the group's leader; nan if none")
def _shock_week_outcome(r, g):
    w = _shock_week(r, g)
    return _nan() if w is None else float(w)


@outcome("cohesion_after_shock", "group", unit="-",
         meaning="cohesion one week after the first death of the group's leader; nan if none")
def _cohesion_after_shock(r, g):
    w = _shock_week(r, g)
    if w is None:
        return _nan()
    s = r.steps[r.steps["week"] == w + 1]
    if not len(s):
        s = r.steps[r.steps["week"] == w]
    return float(s[group_col("cohesion", g)].iloc[0])


@outcome("claim_after_shock", "group", unit="-",
         meaning="the group's claim one week after its leader's first death; nan if none")
def _claim_after_shock(r, g):
    w = _shock_week(r, g)
    if w is None:
        return _nan()
    s = r.steps[r.steps["week"] >= w + 1]
    s = s if len(s) else r.steps.iloc[[-1]]
    return float(s[group_col("claim", g)].iloc[0])


@outcome("defections_out_after_shock", "group", unit="per 1,000 fighters",
         meaning=f"fighters who left the group in the {SHOCK_WINDOW_WEEKS} weeks after its "
         "leader's first death, per 1,000 of its fighters at the death; nan if none")
def _defections_out_after_shock(r, g):
    w = _shock_week(r, g)
    if w is None:
        return _nan()
    at = r.steps.loc[r.steps["week"] == w, group_col("fighters", g)]
    n = float(at.iloc[0]) if len(at) else 0.0
    if n <= 0:
        return _nan()
    out = _window(r, w, SHOCK_WINDOW_WEEKS)[group_col("defect_out", g)].sum()
    return float(1000.0 * out / n)


@outcome("fighters_change_after_shock", "group", unit="share",
         meaning=f"relative change in the group's fighters over the {SHOCK_WINDOW_WEEKS} weeks "
         "after its leader's first death; nan if none")
def _fighters_change_after_shock(r, g):
    w = _shock_week(r, g)
    if w is None:
        return _nan()
    f = r.steps.set_index("week")[group_col("fighters", g)]
    n0 = float(f.get(w, 0))
    if n0 <= 0:
        return _nan()
    later = f[(f.index > w) & (f.index <= w + SHOCK_WINDOW_WEEKS)]
    n1 = float(later.iloc[-1]) if len(later) else n0
    return (n1 - n0) / n0


# ---------------------------------------------------------------------------------------------
# Clashes (H3, H4)
# ---------------------------------------------------------------------------------------------
def _clash_events(r, pair=None) -> pd.DataFrame:
    ev = _events(r, "clash")
    if pair is not None and len(ev):
        a, b = pair
        ev = ev[((ev["group"] == a) & (ev["other"] == b)) | ((ev["group"] == b) & (ev["other"] == a))]
    return ev


@outcome("clash_count", "pair", optional=True, unit="clashes",
         meaning="clashes between groups over the run (of one pair if given)")
def _clash_count(r, pair):
    return float(len(_clash_events(r, pair)))


@outcome("clash_rate", "pair", optional=True, unit="clashes per year",
         meaning="clashes between groups per year (of one pair if given)")
def _clash_rate(r, pair):
    y = _years(r)
    return float(len(_clash_events(r, pair)) / y) if y > 0 else _nan()


@outcome("clash_casualties", "pair", optional=True, unit="fighters",
         meaning="fighters killed in clashes between groups over the run")
def _clash_casualties(r, pair):
    ev = _clash_events(r, pair)
    return float(ev["size"].sum()) if len(ev) else 0.0


@outcome("clash_size_mean", "pair", optional=True, unit="fighters",
         meaning="mean casualties per clash; nan if no clash")
def _clash_size_mean(r, pair):
    ev = _clash_events(r, pair)
    return float(ev["size"].mean()) if len(ev) else _nan()


@outcome("clash_size_max", "pair", optional=True, unit="fighters",
         meaning="casualties of the largest clash; 0 if no clash")
def _clash_size_max(r, pair):
    ev = _clash_events(r, pair)
    return float(ev["size"].max()) if len(ev) else 0.0


# ---------------------------------------------------------------------------------------------
# Territory and vacuums (H4, H5)
# ---------------------------------------------------------------------------------------------
@outcome("peak_militant_cells", unit="cells", meaning="largest number of cells held by any group")
def _peak_militant_cells(r, _):
    return float(r.steps["militant_cells"].max())


@outcome("mean_militant_cells", unit="cells", meaning="mean number of cells held by groups")
def _mean_militant_cells(r, _):
    return float(r.steps["militant_cells"].mean())


@outcome("final_militant_cells", unit="cells", meaning="cells held by groups at the last week")
def _final_militant_cells(r, _):
    return float(r.steps["militant_cells"].iloc[-1])


@outcome("peak_week_militant_cells", unit="weeks",
         meaning="week at which militant-held territory peaked (time to peak)")
def _peak_week_militant_cells(r, _):
    m = r.steps["militant_cells"].to_numpy()
    return float(r.steps["week"].iloc[int(m.argmax())])


@outcome("militant_cells_gain", unit="cells",
         meaning="peak militant-held cells minus those held at week 0 (ground seized)")
def _militant_cells_gain(r, _):
    m = r.steps["militant_cells"]
    return float(m.max() - m.iloc[0])


@outcome("ungoverned_mean", unit="cells", meaning="mean number of ungoverned cells")
def _ungoverned_mean(r, _):
    return float(r.steps["ungoverned"].mean())


@outcome("ungoverned_final", unit="cells", meaning="ungoverned cells at the last week")
def _ungoverned_final(r, _):
    return float(r.steps["ungoverned"].iloc[-1])


@outcome("ungoverned_peak", unit="cells", meaning="largest number of ungoverned cells")
def _ungoverned_peak(r, _):
    return float(r.steps["ungoverned"].max())


@outcome("governance_final", unit="-", meaning="mean governance over the map at the last week")
def _governance_final(r, _):
    return float(r.steps["governance_mean"].iloc[-1])


@outcome("state_cells_final", unit="cells", meaning="cells held by the state at the last week")
def _state_cells_final(r, _):
    return float(r.steps["state_cells"].iloc[-1])


@outcome("territory_peak", "group", unit="cells", meaning="largest number of cells the group held")
def _territory_peak(r, g):
    return float(r.steps[group_col("territory", g)].max())


@outcome("territory_mean", "group", unit="cells", meaning="mean number of cells the group held")
def _territory_mean(r, g):
    return float(r.steps[group_col("territory", g)].mean())


@outcome("territory_final", "group", unit="cells", meaning="cells the group held at the last week")
def _territory_final(r, g):
    return float(r.steps[group_col("territory", g)].iloc[-1])


@outcome("territory_peak_week", "group", unit="weeks",
         meaning="week at which the group's territory peaked")
def _territory_peak_week(r, g):
    t = r.steps[group_col("territory", g)].to_numpy()
    return float(r.steps["week"].iloc[int(t.argmax())])


def is_nan(x: Any) -> bool:
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return False


if __name__ == "__main__":  # pragma: no cover - prints the table of docs/SWEEPS.md
    print(table_markdown())
