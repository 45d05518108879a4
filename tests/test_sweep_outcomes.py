"""The outcome registry, on hand-made run results whose answers are known."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.sweeps import outcomes
from sim.core.enums import Relation
from sim.sweeps.outcomes import OUTCOMES, OutcomeError, compute, parse
from sim.core.record import RunResult

ROOT = Path(__file__).resolve().parent.parent
T = Relation.TRUCE
W = Relation.WAR
R = Relation.RIVALRY


def fake_run(weeks: int = 104) -> RunResult:
    """Two groups, A and B, over ``weeks`` weeks (rows 0..weeks), with scripted series."""
    n = weeks + 1
    week = np.arange(n)
    rel = np.full(n, int(R))
    rel[0:10] = T          # a truce running at week 0 (started at week -20), ended by war
    rel[10:30] = W
    rel[50:60] = T         # a second truce, 10 weeks, back to rivalry
    rel[90:] = T           # a third, still running at the end: censored, 14 weeks observed
    steps = pd.DataFrame({
        "week": week, "year": week / 52.0,
        "fighters": np.full(n, 300),
        "militant_cells": np.concatenate([np.linspace(10, 50, 60), np.linspace(50, 20, n - 60)]),
        "ungoverned": np.full(n, 7),
        "governance_mean": np.linspace(0.5, 0.4, n),
        "state_cells": np.full(n, 100),
        "fighters.A": np.full(n, 100), "fighters.B": np.full(n, 200),
        "territory.A": np.arange(n) % 13, "territory.B": np.full(n, 5),
        "hostility.A": np.linspace(0.2, 0.8, n), "hostility.B": np.full(n, 0.3),
        "frustration.A": np.zeros(n), "frustration.B": np.zeros(n),
        "commitment.A": np.ones(n), "commitment.B": np.ones(n),
        "cohesion.A": np.ones(n), "cohesion.B": np.ones(n),
        "claim.A": np.ones(n), "claim.B": np.zeros(n),
        "alive.A": np.ones(n, bool), "alive.B": np.ones(n, bool),
        "defect_in.A": np.zeros(n, int), "defect_in.B": np.zeros(n, int),
        "defect_out.A": np.zeros(n, int), "defect_out.B": np.zeros(n, int),
        "relation.A|B": rel, "hostility.A|B": np.full(n, 0.4),
        "defect.A>B": np.zeros(n, int), "defect.B>A": np.zeros(n, int),
    })
    steps.loc[5, "defect.A>B"] = 3
    steps.loc[5, "defect_out.A"] = 3
    steps.loc[70, "defect.B>A"] = 9
    steps.loc[70, "defect_out.B"] = 9
    # the leader of A dies at week 40: cohesion drops, fighters leave in the following year
    steps.loc[41:, "cohesion.A"] = 0.6
    steps.loc[41:, "claim.A"] = 0.5
    steps.loc[45, "defect_out.A"] = 2
    steps.loc[93, "defect_out.A"] = 50   # beyond the 52-week window (40, 92]
    steps.loc[40:, "fighters.A"] = np.linspace(100, 50, n - 40).round()
    events = pd.DataFrame({
        "week": [12, 12, 20, 40, 60],
        "kind": ["clash", "clash", "clash", "leader_killed", "clash"],
        "group": ["A", "B", "A", "A", "B"], "other": ["B", "A", "B", "", "A"],
        "size": [2.0, 10.0, 4.0, 0.0, 1.0],
    })
    strength = (steps["fighters.A"] + steps["fighters.B"]).mean()
    summary = {
        "groups": {"A": {}, "B": {}},
        "truces": [
            {"pair": "A|B", "start": -20, "end": 10, "duration": 30, "censored": False,
             "ended_by": "war"},
            {"pair": "A|B", "start": 50, "end": 60, "duration": 10, "censored": False,
             "ended_by": "rivalry"},
            {"pair": "A|B", "start": 90, "end": None, "duration": 14, "censored": True,
             "ended_by": None},
        ],
        "net_defections": {"A|B": {"A>B": 3, "B>A": 9, "net A>B": -6,
                                   "net_per_1000_fighters": 1000.0 * -6 / strength}},
    }
    return RunResult(steps=steps, events=events, summary=summary)


@pytest.fixture(scope="module")
def run():
    return fake_run()


def test_truce_outcomes_count_censored_spells_with_their_observed_length(run):
    assert compute("truce_mean_duration", run) == pytest.approx((30 + 10 + 14) / 3)
    assert compute("truce_mean_duration:B|A", run) == pytest.approx(18.0)
    assert compute("truce_max_duration:A|B", run) == 30
    assert compute("truce_count", run) == 3
    assert compute("truce_broken", run) == 1
    assert compute("truce_censored_share", run) == pytest.approx(1 / 3)
    assert compute("truce_share:A|B", run) == pytest.approx((10 + 10 + 15) / 105)
    assert compute("war_share", run) == pytest.approx(20 / 105)


def test_defection_outcomes_have_a_direction(run):
    assert compute("defections:A>B", run) == 3
    assert compute("defections:B>A", run) == 9
    assert compute("net_defections:A>B", run) == -6
    per = compute("net_defections_per_1000:A>B", run)
    assert per < 0
    assert compute("net_defections_per_1000:B>A", run) == pytest.approx(-per)
    assert compute("defections_out:B", run) == 9


def test_clash_outcomes(run):
    assert compute("clash_count", run) == 4
    assert compute("clash_rate", run) == pytest.approx(4 / 2.0)  # 104 weeks = 2 years
    assert compute("clash_casualties", run) == 17
    assert compute("clash_size_max", run) == 10
    assert compute("clash_size_mean:A|B", run) == pytest.approx(17 / 4)


def test_territory_and_vacuum_outcomes(run):
    assert compute("peak_militant_cells", run) == pytest.approx(50)
    assert compute("peak_week_militant_cells", run) == 59
    assert compute("militant_cells_gain", run) == pytest.approx(40)
    assert compute("final_militant_cells", run) == pytest.approx(20)
    assert compute("ungoverned_mean", run) == 7
    assert compute("territory_peak:A", run) == 12
    assert compute("territory_peak_week:A", run) == 12
    assert compute("territory_mean:B", run) == 5


def test_group_and_shock_outcomes(run):
    assert compute("mean_hostility:A", run) == pytest.approx(0.5)
    assert compute("final_hostility:A", run) == pytest.approx(0.8)
    assert compute("final_fighters:B", run) == 200
    assert compute("leader_deaths", run) == 1 and compute("leader_deaths:B", run) == 0
    assert compute("shock_week:A", run) == 40
    assert compute("cohesion_after_shock:A", run) == pytest.approx(0.6)
    assert compute("claim_after_shock:A", run) == pytest.approx(0.5)
    # 2 fighters left within the 52 weeks after the shock, of 100 at the shock
    assert compute("defections_out_after_shock:A", run) == pytest.approx(20.0)
    assert compute("fighters_change_after_shock:A", run) < 0
    assert math.isnan(compute("cohesion_after_shock:B", run))


def test_undefined_outcomes_are_nan_not_zero():
    r = fake_run()
    r.summary["truces"] = []
    r.events = r.events[r.events["kind"] != "clash"]
    assert math.isnan(compute("truce_mean_duration", r))
    assert compute("truce_count", r) == 0
    assert math.isnan(compute("clash_size_mean", r))
    assert compute("clash_rate", r) == 0


def test_parse_checks_names_and_arguments():
    o, arg = parse("net_defections_per_1000:HaD>ISIS", ["HaD", "ISIS"])
    assert o.name == "net_defections_per_1000" and arg == ("HaD", "ISIS")
    assert parse("truce_share:B|A")[1] == ("B", "A")
    assert parse("truce_share")[1] is None
    for bad, msg in [("nope", "unknown outcome"), ("final_fighters", "needs a group"),
                     ("clash_rate:A:B", "needs a pair"), ("peak_militant_cells:A", "no argument"),
                     ("defections:A|B", "needs a direction"), ("defections:A>A", "direction"),
                     ("final_fighters:C", "unknown group")]:
        with pytest.raises(OutcomeError, match=msg):
            parse(bad, ["A", "B"])


def test_outcome_table_in_the_docs_is_current():
    doc = (ROOT / "docs" / "SWEEPS.md").read_text()
    block = doc.split("<!-- outcomes:start -->\n", 1)[1].split("<!-- outcomes:end -->", 1)[0]
    assert block.strip() == outcomes.table_markdown().strip(), (
        "docs/SWEEPS.md is out of date: paste the output of '.venv/bin/python -m sim.sweeps.outcomes' "
        "between its outcomes:start and outcomes:end markers")
    assert len(OUTCOMES) >= 40


def test_outcomes_on_a_real_run():
    import sim

    r = sim.run("classroom", steps=8, seed=3)
    for o in OUTCOMES.values():
        spec = o.name if o.arg is None else {
            "group": f"{o.name}:Caliphate", "pair": f"{o.name}:Caliphate|Front",
            "directed": f"{o.name}:Front>Caliphate"}[o.arg]
        v = compute(spec, r)
        assert isinstance(v, float)
