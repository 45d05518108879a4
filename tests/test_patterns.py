"""Patterns of the record (sim.core.patterns, sim.analysis.check), the scenario scale, and ``militant-sim check``.

Every measure is tested on hand-made run data with a known answer; the statistics across seeds
on hand-made frames; validation errors on small scenario files; and the command on a tiny world.
"""

from __future__ import annotations

import datetime
import json
import math
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim import cli
from sim.analysis import check as C
from sim.core import patterns as P
from sim.core.enums import Relation
from sim.core.record import EVENT_COLUMNS, truce_spells
from sim.core.scenario import Scale, ScenarioError, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
SCALE = Scale(fighters_per_agent=5.0, km2_per_cell=150.0, week0=datetime.date(2013, 4, 1))


# =============================================================================================
# Hand-made runs
# =============================================================================================
def run(weeks: int = 200, names=("A", "B"), since: dict | None = None, events=(), **cols):
    """A RunResult-like object: steps with weeks 0..weeks, columns given (scalars or arrays;
    missing fighters/territory/relation/defection columns are constant), events from dicts,
    and a summary with the truce spells computed as the recorder does."""
    w = np.arange(weeks + 1)
    data = {"week": w}
    for n in names:
        data[f"fighters.{n}"] = 1000
        data[f"territory.{n}"] = 10
        data[f"defect_in.{n}"] = 0
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            data[f"relation.{a}|{b}"] = int(Relation.RIVALRY)
        for b in names:
            if a != b:
                data[f"defect.{a}>{b}"] = 0
    data.update(cols)
    steps = pd.DataFrame({k: np.broadcast_to(np.asarray(v), (len(w),)).copy()
                          for k, v in data.items()})
    ev = pd.DataFrame([{c: e.get(c, 0 if c not in ("kind", "group", "other", "winner", "detail")
                              else "") for c in EVENT_COLUMNS} for e in events],
                      columns=EVENT_COLUMNS)
    spells = truce_spells(steps, list(names), ev, since)
    summary = {"groups": {n: {} for n in names}, "truces": spells}
    return SimpleNamespace(steps=steps, events=ev, summary=summary)


def clash(week, a="A", b="B", da=1, db=1, detail="", kind="clash"):
    return {"week": week, "kind": kind, "group": a, "other": b, "casualties_group": da,
            "casualties_other": db, "size": float(da + db), "detail": detail}


def relation(weeks: int, spans: list[tuple[int, int, Relation]]) -> np.ndarray:
    """A relation series: RIVALRY except the given [start, end) spans."""
    rel = np.full(weeks + 1, int(Relation.RIVALRY))
    for s, e, r in spans:
        rel[s:e] = int(r)
    return rel


def value(measure: str, r, scale: Scale = SCALE, **args) -> float:
    m = P.MEASURES[measure]
    return float(m.func(r, scale, **args))


# =============================================================================================
# Truces and war
# =============================================================================================
def test_truce_end_coexistence_and_war_from_a_truce_begun_before_week_0():
    rel = relation(200, [(0, 30, Relation.TRUCE), (30, 201, Relation.WAR)])
    r = run(200, since={"A|B": -104}, **{"relation.A|B": rel})
    assert value("truce_end_week", r, pair=("A", "B")) == 30
    assert value("truce_end_week", r, pair=("B", "A")) == 30      # order does not matter
    assert value("coexistence_years", r, pair=("A", "B")) == pytest.approx(134 / (365.25 / 7))
    assert value("war_after_truce", r, pair=("A", "B")) == 1.0
    assert value("first_war_week", r, pair=("A", "B")) == 30


def test_a_truce_that_never_breaks_is_censored_and_no_truce_is_undefined():
    running = run(100, **{"relation.A|B": relation(100, [(0, 101, Relation.TRUCE)])})
    assert value("truce_end_week", running, pair=("A", "B")) == math.inf
    assert value("coexistence_years", running, pair=("A", "B")) == math.inf
    assert value("war_after_truce", running, pair=("A", "B")) == 0.0
    assert value("first_war_week", running, pair=("A", "B")) == math.inf
    none = run(100)
    assert math.isnan(value("truce_end_week", none, pair=("A", "B")))
    assert math.isnan(value("coexistence_years", none, pair=("A", "B")))
    assert math.isnan(value("war_after_truce", none, pair=("A", "B")))


def test_war_after_truce_allows_a_delay_and_is_unknown_when_the_run_ends_first():
    # truce until 20, rivalry, war from 60: war 40 weeks after the breakdown
    rel = relation(200, [(0, 20, Relation.TRUCE), (60, 201, Relation.WAR)])
    r = run(200, **{"relation.A|B": rel})
    assert value("truce_end_week", r, pair=("A", "B")) == 20
    assert value("war_after_truce", r, pair=("A", "B"), within=52) == 1.0
    assert value("war_after_truce", r, pair=("A", "B"), within=26) == 0.0
    short = run(30, **{"relation.A|B": relation(30, [(0, 20, Relation.TRUCE)])})
    assert math.isnan(value("war_after_truce", short, pair=("A", "B"), within=26))


def test_first_truce_counts_when_there_are_several():
    rel = relation(200, [(0, 10, Relation.TRUCE), (50, 80, Relation.TRUCE),
                         (80, 201, Relation.WAR)])
    r = run(200, **{"relation.A|B": rel})
    assert value("truce_end_week", r, pair=("A", "B")) == 10


def test_clashes_before_war_count_incidents_under_truce_in_either_form():
    rel = relation(100, [(0, 30, Relation.TRUCE), (30, 101, Relation.WAR)])
    ev = [clash(5, detail="incident"), clash(10, kind="incident"), clash(20), clash(40),
          clash(25, a="A", b="C")]
    r = run(100, names=("A", "B", "C"), events=ev, **{"relation.A|B": rel})
    assert value("clashes_before_war", r, pair=("A", "B")) == 3
    assert value("clashes_before_war", r, pair=("A", "B"), include_incidents=False) == 1
    never = run(100, events=ev[:2])
    assert math.isnan(value("clashes_before_war", never, pair=("A", "B")))


# =============================================================================================
# Territory, fighters, defections
# =============================================================================================
def _peaked(weeks=200, peak=90):
    w = np.arange(weeks + 1)
    return np.maximum(0, 100 - np.abs(w - peak)).astype(int)


def test_territory_peak_week_and_size():
    r = run(200, **{"territory.A": _peaked()})
    assert value("territory_peak_week", r, group="A") == 90
    assert value("territory_peak_week", r, group="A", weeks=(0, 50)) == 50
    assert value("territory_peak_km2", r, group="A") == 100 * SCALE.km2_per_cell
    assert math.isnan(value("territory_peak_week", r, group="A", weeks=(150, 250)))  # past end
    assert math.isnan(value("territory_peak_week", run(50, **{"territory.A": 0}), group="A"))


def test_territory_change_and_km2_at_a_week():
    terr = np.full(201, 100)
    terr[150:] = 86
    r = run(200, **{"territory.A": terr})
    assert value("territory_change", r, group="A", weeks=(100, 160)) == pytest.approx(-0.14)
    assert value("territory_change", r, group="A", weeks=(0, 100)) == 0.0
    assert value("territory_km2", r, group="A", week=160) == 86 * 150.0
    assert math.isnan(value("territory_km2", r, group="A", week=300))
    assert math.isnan(value("territory_change", run(10, **{"territory.A": 0}), group="A"))
    assert value("fighters", r, group="A", week=3) == 1000 * 5.0


def test_strength_change_is_the_relative_change_of_fighters_over_the_window():
    f = np.full(201, 1000)
    f[120:] = 700
    r = run(200, **{"fighters.A": f})
    assert value("strength_change", r, group="A", weeks=(100, 160)) == pytest.approx(-0.3)
    assert value("strength_change", r, group="A", weeks=(130, 200)) == 0.0
    assert value("strength_change", r, group="B", weeks=(0, 200)) == 0.0
    f[:50] = 0                    # none at the window's start: no relative change
    assert math.isnan(value("strength_change", run(200, **{"fighters.A": f}), group="A",
                            weeks=(10, 100)))
    assert math.isnan(value("strength_change", r, group="A", weeks=(250, 300)))  # past the end


def test_territory_retained_counts_the_cells_kept_not_the_net_change():
    r = run(20)
    control = np.full((21, 10), -1)
    control[:10, :4] = 0          # A holds cells 0-3 in weeks 0-9 ...
    control[10:, 2:6] = 0         # ... and cells 2-5 from week 10: same size, half kept
    control[:, 9] = 1             # B holds cell 9 throughout
    r.maps = {"control": control}
    assert value("territory_change", r, group="A", weeks=(0, 20)) == 0.0
    assert value("territory_retained", r, group="A", weeks=(0, 20)) == pytest.approx(0.5)
    assert value("territory_retained", r, group="A", weeks=(10, 20)) == 1.0
    assert value("territory_retained", r, group="B") == 1.0
    control[:, 9] = -1
    assert math.isnan(value("territory_retained", r, group="B"))      # held nothing
    assert math.isnan(value("territory_retained", run(20), group="A"))  # no maps kept
    assert math.isnan(value("territory_retained", r, group="A", weeks=(0, 30)))  # past the end
    # smoothed: a front cell that flickers at the last week is still held by the majority
    # of the weeks centred on it; the ends stay the window's own weeks
    r = run(30)
    control = np.full((31, 10), -1)
    control[:, 2:6] = 0           # A holds cells 2-5 throughout ...
    control[20, 2] = 1            # ... but loses cell 2 in week 20 only
    r.maps = {"control": control}
    assert value("territory_retained", r, group="A", weeks=(10, 20)) == 0.75
    assert value("territory_retained", r, group="A", weeks=(10, 20), smooth=3) == 1.0
    control[19:, 3] = 1           # cell 3 lost from week 19: two of the three weeks round 20
    assert value("territory_retained", r, group="A", weeks=(10, 20), smooth=3) == 0.75
    control[:, 4] = -1
    control[8:12, 4] = 0          # cell 4 held only in weeks 8-11: held at week 10 by the
    control[18:23, 4] = 0         # majority, and round week 20 (18-22) too
    # held round week 10 (weeks 8-12): cells 2-5; round week 20 (18-22): cells 2, 4 and 5
    assert value("territory_retained", r, group="A", weeks=(10, 20), smooth=5) == 0.75
    assert math.isnan(value("territory_retained", r, group="A", weeks=(10, 28), smooth=7))
    assert math.isnan(value("territory_retained", r, group="A", weeks=(2, 20), smooth=7))
    with pytest.raises(ValueError, match="odd"):
        value("territory_retained", r, group="A", weeks=(10, 20), smooth=4)


def test_defection_rate_into_per_month_as_share_of_strength():
    w = np.arange(201)
    r = run(200, **{"defect_in.A": np.where(w >= 100, 5, 0), "defect.B>A": np.where(w >= 100, 5, 0)})
    # 5 a week into 1,000 fighters: 5 * 4.35 / 1000 a month
    assert value("defection_rate_into", r, group="A", weeks=(100, 186)) == pytest.approx(0.02175)
    assert value("defection_rate_into", r, group="A", weeks=(0, 99)) == 0.0
    assert value("defection_rate_into", r, group="A", from_group="B",
                 weeks=(100, 186)) == pytest.approx(0.02175)
    # over weeks 50..149, half the weeks have defections
    assert value("defection_rate_into", r, group="A", weeks=(50, 149)) == pytest.approx(0.02175 / 2)


def test_net_defections_in_real_fighters():
    r = run(20, **{"defect.A>B": 3, "defect.B>A": 1})
    assert value("net_defections", r, pair=("A", "B")) == 2 * 21 * 5.0
    assert value("net_defections", r, pair=("B", "A")) == -2 * 21 * 5.0
    assert value("net_defections", r, pair=("A", "B"), weeks=(1, 10)) == 2 * 10 * 5.0


# =============================================================================================
# Clashes
# =============================================================================================
def test_clash_deaths_and_counts_by_group_pair_groups_and_window():
    ev = [clash(10, "A", "B", 2, 3), clash(20, "A", "C", 1, 0), clash(30, "B", "C", 4, 4),
          clash(40, "A", "B", 1, 1, detail="incident")]
    r = run(100, names=("A", "B", "C"), events=ev)
    assert value("clash_deaths", r) == (5 + 1 + 8 + 2) * 5.0
    assert value("clash_deaths", r, pair=("B", "A")) == (5 + 2) * 5.0
    assert value("clash_deaths", r, group="C") == (1 + 8) * 5.0
    assert value("clash_deaths", r, groups=["B", "C"]) == 8 * 5.0
    assert value("clash_deaths", r, weeks=(15, 35)) == (1 + 8) * 5.0
    assert value("clash_deaths", r, pair=("A", "B"), include_incidents=False) == 5 * 5.0
    assert value("clash_count", r, group="A") == 3
    assert value("clash_count", r, weeks=(50, 60)) == 0
    assert math.isnan(value("clash_deaths", r, weeks=(50, 150)))   # past the end


def test_power_law_fit_of_clash_sizes_recovers_the_exponent():
    sizes = stats.zipf.rvs(2.5, size=4000, random_state=np.random.default_rng(7))
    fit = P.power_law_fit(sizes)
    assert fit["alpha"] == pytest.approx(2.5, abs=0.15)
    assert fit["decades"] == pytest.approx(np.log10(sizes.max() / fit["xmin"]))
    steeper = P.power_law_fit(stats.zipf.rvs(3.5, size=4000, random_state=np.random.default_rng(7)))
    assert steeper["alpha"] == pytest.approx(3.5, abs=0.25)
    # through the measures, from a run's clash events
    ev = [clash(1 + i % 90, da=int(s), db=0) for i, s in enumerate(sizes[:1500])]
    r = run(100, events=ev)
    alpha = value("clash_size_alpha", r)
    assert alpha == pytest.approx(2.5, abs=0.25)
    assert value("clash_size_decades", r) > 1.0


def test_too_few_clashes_give_nan_and_zero_sizes_are_left_out():
    assert math.isnan(P.power_law_fit([1, 2, 3, 5, 8])["alpha"])
    r = run(100, events=[clash(5, da=0, db=0)] * 200 + [clash(6, da=3, db=0)] * 10)
    assert math.isnan(value("clash_size_alpha", r))
    assert math.isnan(value("clash_size_decades", r))


# =============================================================================================
# Statistics across seeds
# =============================================================================================
def _pattern(measure="truce_end_week", stat="median", low=-math.inf, high=math.inf, **args):
    return P.Pattern("p", "d", measure, args or {"pair": ("A", "B")}, low, high, stat, "s")


def test_censored_values_count_as_late_in_median_and_quartiles():
    s = C.statistics([10, 20, math.inf, math.nan], _pattern(low=0, high=30))
    assert (s["n"], s["censored"], s["seeds"]) == (3, 1, 4)
    assert s["median"] == 20 and s["q25"] == 15 and s["q75"] == math.inf
    assert s["holds"]
    late = C.statistics([10, math.inf, math.inf], _pattern(low=0, high=30))
    assert late["median"] == math.inf and not late["holds"]
    assert C.statistics([math.nan, math.nan], _pattern(low=0))["holds"] is False


def test_iqr_share_and_holds():
    iqr = C.statistics([10, 20, 30, 40, 50], _pattern(stat="iqr", low=8))
    assert iqr["value"] == 20 and iqr["holds"]
    assert not C.statistics([30, 30, 30, 31], _pattern(stat="iqr", low=8))["holds"]
    share = _pattern("war_after_truce", "share", low=0.8)
    assert C.statistics([1, 1, 1, 0, math.nan], share)["value"] == 0.75
    assert not C.statistics([1, 1, 1, 0, math.nan], share)["holds"]
    assert C.statistics([1, 1, 1, 1, 0], share)["holds"]


def test_summarise_gives_one_row_per_pattern():
    pats = [_pattern(low=0, high=30), _pattern("war_after_truce", "share", low=0.9)]
    pats[1].id = "q"
    df = pd.DataFrame({"p": [10.0, 20.0, 25.0], "q": [1.0, 0.0, 1.0]},
                      index=pd.Index([1, 2, 3], name="seed"))
    table = C.summarise(df, pats)
    assert list(table.index) == ["p", "q"]
    assert table.loc["p", "median"] == 20 and bool(table.loc["p", "holds"])
    assert table.loc["q", "share"] == pytest.approx(2 / 3) and not bool(table.loc["q", "holds"])
    text = C.format_table(table, pats, SCALE)
    assert "p " in text and "NO" in text and "yes" in text


def test_seed_list_is_deterministic_and_extends():
    a = C.seed_list(2019, 3)
    assert a == C.seed_list(2019, 3) and C.seed_list(2019, 5)[:3] == a
    assert len(set(C.seed_list(2019, 20))) == 20 and C.seed_list(1, 3) != a


# =============================================================================================
# Scenario files: scale and patterns
# =============================================================================================
MINI = """\
name = "mini"
description = "A tiny world for the patterns tests."
seed = 3

[params]
steps = 20

[map]
width = 8
height = 6

[map.default]
population = 1500
hardship = 0.7
governance = 0.2
security = 1.0

[groups.A]
takfir = 0.9
claim = 1.0
fighters = 60

[groups.B]
fighters = 60

[[relations]]
groups = ["A", "B"]
state = "truce"
since = -10

[scale]
fighters_per_agent = 3
km2_per_cell = 100
week0 = 2019-01-01
"""

PATTERN = """
[[patterns]]
id = "clashes"
description = "any number of clashes"
measure = "clash_count"
pair = "A|B"
low = 0
source = "test"
"""


def write(tmp_path: Path, text: str, name: str = "mini.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def error(tmp_path, text) -> ScenarioError:
    with pytest.raises(ScenarioError) as exc:
        load_scenario(write(tmp_path, text))
    return exc.value


def test_scale_is_read_and_dates_convert_to_weeks(tmp_path):
    text = MINI + PATTERN + """
[[patterns]]
id = "deaths"
description = "deaths in the first half of 2019"
measure = "clash_deaths"
weeks = [2019-01-01, "2019-07-02"]
high = 1e9
source = "test"
"""
    sc = load_scenario(write(tmp_path, text))
    assert sc.scale == Scale(3.0, 100.0, datetime.date(2019, 1, 1))
    assert sc.scale.iso(26) == "2019-07-02" and sc.scale.week_of(datetime.date(2019, 7, 2)) == 26
    assert [p.id for p in sc.patterns] == ["clashes", "deaths"]
    assert sc.patterns[1].weeks == (0, 26)
    assert sc.patterns[0].args == {"pair": ("A", "B")} and sc.patterns[0].stat == "median"


def test_scale_defaults_without_a_scale_table(tmp_path):
    sc = load_scenario(write(tmp_path, MINI.split("[scale]")[0]))
    assert sc.scale == Scale(1.0, 1.0, None) and sc.patterns == []


@pytest.mark.parametrize("bad, key, words", [
    ("fighters_per_agent = 0", "scale.fighters_per_agent", "positive"),
    ('km2_per_cell = "big"', "scale.km2_per_cell", "positive"),
    ('week0 = "April 2013"', "scale.week0", "calendar date"),
    ("week0 = 2013-04-01T10:00:00", "scale.week0", "without a time"),
    ("fighters = 3", "scale.fighters", "unknown key"),
])
def test_scale_errors_name_the_key_and_value(tmp_path, bad, key, words):
    base = MINI.split("[scale]")[0]
    exc = error(tmp_path, base + "[scale]\n" + bad + "\n")
    assert exc.key == key and words in str(exc) and "mini.toml" in str(exc)
    assert exc.allowed


@pytest.mark.parametrize("change, key, words", [
    (('measure = "clash_count"', 'measure = "clash_cuont"'), "patterns.clashes.measure",
     "did you mean clash_count"),
    (('pair = "A|B"', 'pair = "A|Z"'), "patterns.clashes.pair", "unknown group"),
    (('pair = "A|B"', 'pair = "A"'), "patterns.clashes.pair", "two different groups"),
    (('pair = "A|B"', 'pairs = "A|B"'), "patterns.clashes.pairs", "unknown key"),
    (('low = 0', 'stat = "share"\nlow = 0'), "patterns.clashes.stat", "not a yes/no"),
    (('low = 0', 'stat = "mode"\nlow = 0'), "patterns.clashes.stat", "unknown statistic"),
    (('low = 0', 'note = "no target"'), "patterns.clashes", "needs a target"),
    (('low = 0', 'low = 5\nhigh = 1'), "patterns.clashes.low", "above high"),
    (('source = "test"', ''), "patterns.clashes.source", "missing"),
    (('id = "clashes"', 'id = "two words"'), "patterns[0].id", "needs an id"),
    (('low = 0', 'low = 0\nweeks = [10, 5]'), "patterns.clashes.weeks", "ends before"),
    (('low = 0', 'low = 0\nweeks = [2018-01-01, 5]'), "patterns.clashes.weeks", "before week 0"),
    (('low = 0', 'low = 0\ngroup = "A"'), "patterns.clashes", "at most one of"),
    (('measure = "clash_count"\npair = "A|B"',
      'measure = "territory_retained"\ngroup = "A"\nsmooth = 4'), "patterns.clashes.smooth",
     "must be odd"),
])
def test_pattern_errors_name_the_key_and_what_is_allowed(tmp_path, change, key, words):
    text = MINI + PATTERN.replace(*change)
    exc = error(tmp_path, text)
    assert exc.key == key, str(exc)
    assert words in str(exc) and "mini.toml" in str(exc)


def test_more_pattern_errors(tmp_path):
    twice = error(tmp_path, MINI + PATTERN + PATTERN)
    assert twice.key == "patterns[1].id" and "two patterns" in str(twice)
    nowindow = error(tmp_path, MINI + PATTERN.replace("clash_count", "truce_end_week")
                     + "weeks = [0, 5]\n")
    assert nowindow.key == "patterns.clashes.weeks" and "no window" in str(nowindow)
    missing = error(tmp_path, MINI + PATTERN.replace('measure = "clash_count"\npair = "A|B"',
                                                     'measure = "territory_km2"\ngroup = "A"'))
    assert missing.key == "patterns.clashes.week" and "missing" in str(missing)
    undated = MINI.split("[scale]")[0] + PATTERN + "weeks = [2019-01-01, 2019-06-01]\n"
    exc = error(tmp_path, undated)
    assert exc.key == "patterns.clashes.weeks" and "week0" in str(exc)
    boolean = error(tmp_path, MINI + PATTERN.replace("clash_count", "war_after_truce")
                    .replace("low = 0", 'stat = "median"\nlow = 0'))
    assert "yes/no measure" in str(boolean)


def test_patterns_and_scale_are_inherited_and_merged_by_id(tmp_path):
    write(tmp_path, MINI + PATTERN, "parent.toml")
    child = write(tmp_path, 'base = "parent"\n[scale]\nkm2_per_cell = 7\n'
                  '[[patterns]]\nid = "clashes"\nhigh = 5\n', "child.toml")
    sc = load_scenario(child)
    assert sc.scale == Scale(3.0, 7.0, datetime.date(2019, 1, 1))
    (p,) = sc.patterns
    assert (p.measure, p.low, p.high, p.source) == ("clash_count", 0.0, 5.0, "test")
    dropped = write(tmp_path, 'base = "parent"\npatterns = []\n', "none.toml")
    assert load_scenario(dropped).patterns == []


def test_overrides_reach_patterns_and_scale(tmp_path):
    path = write(tmp_path, MINI + PATTERN)
    sc = load_scenario(path, {"patterns.clashes.high": 9, "scale.fighters_per_agent": 2})
    assert sc.patterns[0].high == 9 and sc.scale.fighters_per_agent == 2
    with pytest.raises(ScenarioError, match="no pattern has this id"):
        load_scenario(path, {"patterns.nope.high": 9})


def test_shipped_scenarios_declare_sourced_patterns_with_a_scale():
    for name in ("syria_2013", "sahel_2019", "idlib_2020", "classroom"):
        sc = load_scenario(name)
        assert sc.patterns, name
        assert sc.scale.week0 is not None, name
        assert all(p.source and p.description for p in sc.patterns), name
    assert load_scenario("syria_2013").scale.fighters_per_agent == 5


def test_the_odd_lists_every_measure():
    odd = (ROOT / "docs" / "ODD.md").read_text()
    block = odd.split("<!-- measures:start -->")[1].split("<!-- measures:end -->")[0]
    assert block.strip() == P.measures_markdown().strip(), \
        "docs/ODD.md section 6.9: paste sim.core.patterns.measures_markdown() between the markers"


# =============================================================================================
# The summary in real units
# =============================================================================================
def test_summary_gives_the_scale_and_real_units(tmp_path):
    from sim.core.model import MilitantModel

    res = MilitantModel(load_scenario(write(tmp_path, MINI)), rng=1).run(8, progress=False)
    s = res.summary
    assert s["scale"] == {"fighters_per_agent": 3.0, "km2_per_cell": 100.0,
                          "week0": "2019-01-01"}
    ru = s["real_units"]
    for g in ("A", "B"):
        assert ru["final_fighters"][g] == 3 * s["groups"][g]["final_fighters"]
        assert ru["peak_territory_km2"][g] == 100 * s["groups"][g]["peak_territory"]
        week = s["groups"][g]["peak_territory_week"]
        assert ru["peak_territory_date"][g] == (datetime.date(2019, 1, 1)
                                                + datetime.timedelta(weeks=week)).isoformat()
    assert ru["end_date"] == "2019-02-26"
    truce = ru["truces"][0]
    assert truce["start_date"] == "2018-10-23"          # since = -10 weeks
    assert ru["clash_deaths"] == 3 * s["clashes"]["casualties"]
    json.dumps(s, default=str)


# =============================================================================================
# evaluate() and militant-sim check
# =============================================================================================
def test_evaluate_gives_one_row_per_seed_and_is_the_same_on_one_or_two_workers(tmp_path):
    path = write(tmp_path, MINI + PATTERN + PATTERN.replace('"clashes"', '"deaths"')
                 .replace("clash_count", "clash_deaths"))
    one = C.evaluate(path, seeds=2, workers=1, steps=12)
    two = C.evaluate(path, seeds=2, workers=2, steps=12)
    assert list(one.columns) == ["clashes", "deaths"] and one.index.name == "seed"
    assert list(one.index) == C.seed_list(3, 2)
    pd.testing.assert_frame_equal(one, two)
    # the same numbers as a run made by hand with the seed of a row
    import sim

    res = sim.run(path, steps=12, seed=int(one.index[0]))
    assert one.iloc[0]["clashes"] == P.measure_all(load_scenario(path).patterns, res)["clashes"]
    table = C.summarise(one)
    assert list(table.index) == ["clashes", "deaths"] and table["holds"].all()


def test_evaluate_applies_overrides_and_rejects_bad_ones(tmp_path):
    path = write(tmp_path, MINI + PATTERN)
    df = C.evaluate(path, seeds=1, workers=1, steps=5, overrides={"patterns.clashes.low": 1e9})
    assert not C.summarise(df)["holds"].any()
    with pytest.raises(ScenarioError):
        C.evaluate(path, seeds=1, workers=1, steps=5, overrides={"no_such_parameter": 1})
    with pytest.raises(ScenarioError, match="no patterns"):
        C.evaluate(write(tmp_path, MINI, "bare.toml"), seeds=1, workers=1, steps=5)


def test_check_exit_status_follows_the_patterns(tmp_path, capsys):
    path = write(tmp_path, MINI + PATTERN)
    assert cli.main(["check", str(path), "--seeds", "2", "--steps", "10", "--workers", "1",
                     "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "clashes" in out and "yes" in out and "1 of 1 patterns hold" in out
    assert cli.main(["check", str(path), "--seeds", "2", "--steps", "10", "--workers", "1",
                     "--quiet", "--set", "patterns.clashes.low=1e9"]) == 1
    out = capsys.readouterr().out
    assert "NO" in out and "0 of 1 patterns hold" in out


def test_check_classroom_prints_the_table_and_its_exit_status_matches(tmp_path, capsys):
    out_json = tmp_path / "check.json"
    rc = cli.main(["check", "classroom", "--seeds", "2", "--steps", "60", "--json",
                   str(out_json)])
    out = capsys.readouterr()
    data = json.loads(out_json.read_text())
    ids = [p.id for p in load_scenario("classroom").patterns]
    for pid in ids:
        assert pid in out.out
    assert [p["id"] for p in data["patterns"]] == ids
    assert data["all_hold"] == all(p["holds"] for p in data["patterns"])
    assert rc == (0 if data["all_hold"] else 1)
    assert len(data["seeds"]) == 2 and all(len(v) == 2 for v in data["values"].values())
    assert "2/2 seeds" in out.err   # progress on stderr


@pytest.mark.parametrize("argv, words", [
    (["check", "classroom", "--seeds", "0"], "--seeds 0"),
    (["check", "no_such_scenario"], "unknown scenario"),
    (["check", "classroom", "--set", "patterns.nope.low=1"], "no pattern has this id"),
])
def test_check_bad_input_exits_2(argv, words, capsys):
    assert cli.main(argv) == 2
    assert words in capsys.readouterr().err


def test_evaluate_from_a_script_without_a_main_guard_still_finishes(tmp_path):
    path = write(tmp_path, MINI + PATTERN)
    script = tmp_path / "noguard.py"
    script.write_text("import sim.analysis.check as C\n"
                      f"df = C.evaluate({str(path)!r}, seeds=2, workers=2, steps=5)\n"
                      "print('RESULT', df.shape)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("RESULT (2, 1)") == 1


def test_a_run_that_raises_stops_the_check_and_the_pool_still_works(tmp_path):
    path = write(tmp_path, MINI + PATTERN)
    broken = P.Pattern("broken", "d", "territory_km2", {"group": "Z", "week": 1}, 0.0,
                       math.inf, "median", "s")
    with pytest.raises(KeyError, match="territory.Z"):
        C.evaluate(path, seeds=2, workers=2, steps=3, patterns=[broken])
    again = C.evaluate(path, seeds=2, workers=2, steps=3)
    assert list(again.columns) == ["clashes"] and len(again) == 2


def test_a_tuned_pattern_is_marked_and_left_out_of_the_tests():
    pats = [_pattern(low=0, high=30), _pattern(low=0, high=5)]
    pats[1].id = "q"
    pats[1].tuned = "the offensive's strength"
    df = pd.DataFrame({"p": [10.0, 20.0, 25.0], "q": [1.0, 2.0, 3.0]},
                      index=pd.Index([1, 2, 3], name="seed"))
    table = C.summarise(df, pats)
    text = C.format_table(table, pats, SCALE)
    assert "yes (tuned)" in text
    line = C.hold_line(table)
    assert "of the 1 patterns nothing was tuned to, 1 hold" in line and "tuned to: q" in line
    pats[0].low = 50  # the untuned pattern fails: the line says so
    assert "nothing was tuned to, 0 hold" in C.hold_line(C.summarise(df, pats))


def test_a_pattern_met_on_its_edge_or_between_two_modes_shows_it():
    # bimodal seeds: the median (50) is in [40, 60] but no seed is
    split = C.statistics([10, 11, 12, 13, 14, 86, 87, 88, 89, 90], _pattern(low=40, high=60))
    assert split["holds"] and split["in_target"] == 0.0
    # the median sits on the bound: about half the resamples hold
    edge = C.statistics(list(range(1, 22)), _pattern(low=11, high=100))
    assert edge["holds"] and 0.3 < edge["held_resampled"] < 0.7
    # far inside: every resample holds, every seed is in range
    firm = C.statistics([50, 51, 52, 49, 48, 50], _pattern(low=40, high=60))
    assert firm["held_resampled"] == 1.0 and firm["in_target"] == 1.0
    # a share pattern has no per-seed range, nor has an IQR; both are resampled
    share = C.statistics([1, 1, 1, 1, 0], _pattern("war_after_truce", "share", low=0.8))
    assert math.isnan(share["in_target"]) and 0.4 < share["held_resampled"] < 0.9
    iqr = C.statistics([10, 20, 30, 40, 50], _pattern(stat="iqr", low=8))
    assert math.isnan(iqr["in_target"]) and iqr["held_resampled"] > 0.5
    # `check` names the patterns that hold by their statistic alone
    pats = [_pattern(low=40, high=60), _pattern(low=40, high=60)]
    pats[1].id = "q"
    df = pd.DataFrame({"p": [10, 11, 12, 13, 14, 86, 87, 88, 89, 90],
                       "q": [50, 51, 52, 49, 48, 50, 50, 51, 49, 50]},
                      index=pd.Index(range(10), name="seed"), dtype=float)
    line = C.fragile_line(C.summarise(df, pats))
    named = [x.split(" (")[0] for x in line.split(": ", 1)[1].split("; ")]
    assert named == ["p"] and "p (0/10 seeds in the target" in line
    assert C.fragile_line(C.summarise(df[["q"]], pats[1:])) == ""
