"""Invariants over random valid parameters (hypothesis).

Each example draws a small classroom-like world (a procedural map with a capital, two or three
groups, random initial relations and a timeline with an intervention, a restriction that is
lifted, a leader killed and a governance programme) and a random subset of the global
parameters anywhere in their allowed ranges (``sim.core.params.PARAMS``), runs it for a few dozen
weeks and checks, every week:

* fighter accounting: alive = previous + recruits - deaths (state, clashes, strikes, ground
  forces) - desertions (+ defections in - out, + fighters merged or pledged in - out), per group
  and in total; defections conserve fighters;
* every share stays in [0, 1] and nothing is NaN;
* only existing actors control cells; security and population are never negative;
* one Mesa agent per living fighter;
* clash casualties in the events add up to the clash deaths.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.core.enums import STATE, Relation
from sim.core.model import MilitantModel
from sim.core.params import PARAMS
from sim.core.scenario import scenario_from_dict

WEEKS = 30

#: upper bounds kept lower than the allowed range, only to keep each example fast (these are
#: the parameters that multiply the number of fighters or the cost of a step)
SPEED_CAPS = {"candidate_rate": 0.004, "vision": 3, "recruit_reach": 4, "merger_weeks": 25,
              "war_cooling": 25, "succession_weeks": 8}
#: parameters not drawn: the run length, and the bound that stops a run with an error (a limit
#: on memory, not a mechanism)
NOT_DRAWN = {"steps", "max_fighters"}

DRAWN = sorted(n for n, p in PARAMS.items() if n not in NOT_DRAWN and p.kind in (int, float))


def _value(name: str) -> st.SearchStrategy:
    p = PARAMS[name]
    low = p.low if p.low is not None else 0.0
    high = p.high if p.high is not None else 1e3
    high = min(high, SPEED_CAPS.get(name, high), 1e3)
    if p.kind is int:
        return st.integers(int(low), int(high))
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


params_strategy = st.lists(
    st.sampled_from(DRAWN).flatmap(lambda n: st.tuples(st.just(n), _value(n))),
    min_size=5, max_size=25).map(dict)

share = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def groups_strategy(draw):
    n = draw(st.integers(2, 3))
    names = ["Caliphate", "Front", "Local"][:n]
    zones = ["east", "north", ""]
    return {name: {"takfir": draw(share), "coercion": draw(share), "claim": draw(share),
                   "propaganda": draw(share), "claim_persistence": draw(share),
                   "cohesion": draw(share), "tolerance": draw(st.floats(0.05, 5.0)),
                   "fighters": draw(st.integers(0, 120)), "zone": zones[i],
                   "momentum": draw(share), "foreign_inflow": draw(st.floats(0.0, 3.0))}
            for i, name in enumerate(names)}


@st.composite
def worlds(draw):
    groups = draw(groups_strategy())
    names = list(groups)
    W, H = draw(st.integers(4, 9)), draw(st.integers(3, 8))
    relations = [{"groups": [a, b], "state": draw(st.sampled_from(["rivalry", "truce", "war"])),
                  "hostility": draw(share)}
                 for i, a in enumerate(names) for b in names[i + 1:]]
    week = st.integers(0, WEEKS - 5)
    w_restr = draw(week)
    timeline = [
        {"week": draw(week), "event": "intervention", "zone": "east",
         "targets": [names[0]], "strength": draw(st.floats(0.0, 20.0))},
        {"week": draw(week), "event": "ground_offensive", "zone": "north",
         "targets": [names[-1]], "strength": draw(st.floats(0.0, 300.0))},
        {"week": w_restr, "event": "restriction", "group": names[1], "zone": "north",
         "level": draw(share), "until": w_restr + draw(st.integers(1, 10))},
        {"week": draw(week), "event": "leader_killed", "group": names[0]},
        {"week": draw(week), "event": "governance_programme", "zone": "capital",
         "target": draw(share), "rate": draw(share), "security": draw(st.floats(0.0, 20.0))},
        {"week": draw(week), "event": "set_group", "group": names[-1], "field": "claim",
         "value": draw(share)},
    ]
    raw = {
        "name": "property",
        "params": {"steps": WEEKS, **draw(params_strategy)},
        "map": {"width": W, "height": H,
                "default": {"population": draw(st.integers(0, 3000)), "hardship": draw(share),
                            "governance": draw(share), "security": draw(st.floats(0.0, 10.0))},
                "procedural": {"capital": [0, 0], "radius": 1.5,
                               "governance": [draw(share), draw(share)],
                               "security": [draw(st.floats(0.0, 30.0)), draw(st.floats(0, 3))],
                               "hardship": [draw(share), draw(share)]}},
        "zones": {"east": {"rect": [W // 2, 0, W - 1, H - 1]},
                  "north": {"rect": [0, H // 2, W - 1, H - 1]}},
        "groups": groups,
        "relations": relations,
        "timeline": timeline,
    }
    return raw, draw(st.integers(0, 2**32 - 1))


def _shares(m: MilitantModel) -> dict[str, np.ndarray]:
    F = m.fighters
    return {"governance": m.governance, "hardship": m.hardship, "support": m.support,
            "firmness": m.firmness, "group hostility": m.hostility, "cohesion": m.cohesion,
            "claim": m.claim, "momentum": m.momentum, "commitment": F.commitment,
            "hostility": F.hostility, "frustration": F.frustration, "takfir": F.takfir,
            "coercion": F.coercion, "restriction": m.restriction}


def _check_state(m: MilitantModel) -> None:
    for name, a in _shares(m).items():
        assert not np.isnan(a).any(), f"NaN in {name} at week {m.week}"
        assert ((a >= 0) & (a <= 1)).all(), (
            f"{name} outside [0, 1] at week {m.week}: min {a.min()}, max {a.max()}")
    alive = set(np.flatnonzero(m.group_alive).tolist())
    owners = set(np.unique(m.owner).tolist())
    assert owners <= {STATE, -1} | alive, (
        f"week {m.week}: cells held by {owners - ({STATE, -1} | alive)}, not an existing actor")
    assert (m.security >= 0).all() and np.isfinite(m.security).all(), m.security
    assert (m.population >= 0).all(), m.population
    assert (m.tension >= 0).all() and np.isfinite(m.tension).all()
    assert (m.threat >= 0).all() and np.isfinite(m.threat).all()
    assert len(m.agents) == len(m.fighters)
    F = m.fighters
    assert ((F.cell >= 0) & (F.cell < m.n_cells)).all()
    assert m.group_alive[F.group].all(), "a fighter belongs to a group that no longer exists"
    assert set(m.relation[~m.group_alive].ravel().tolist()) <= {int(Relation.ENDED)}


def _merged(events: pd.DataFrame, names: list[str], week: int) -> np.ndarray:
    """Fighters moved between groups by mergers and pledges in a week: in minus out."""
    out = np.zeros(len(names))
    ev = events[(events["week"] == week) & events["kind"].isin(["merger", "pledge"])]
    for _, r in ev.iterrows():
        out[names.index(r["group"])] += r["size"]
        out[names.index(r["other"])] -= r["size"]
    return out


def _check_accounting(steps: pd.DataFrame, events: pd.DataFrame, names: list[str]) -> None:
    def col(var):
        return steps[[f"{var}.{n}" for n in names]].to_numpy().astype(np.int64)

    fighters = col("fighters")
    gains = col("recruits") + col("defect_in")
    losses = (col("deaths_state") + col("deaths_clash") + col("deaths_strike")
              + col("deaths_ground") + col("desertions") + col("defect_out"))
    for t in range(1, len(steps)):
        week = int(steps["week"].iloc[t])
        expected = fighters[t - 1] + gains[t] - losses[t] + _merged(events, names, week)
        assert (fighters[t] == expected).all(), (
            f"week {week}: fighters {fighters[t]} != previous {fighters[t - 1]} + recruits "
            f"- deaths - desertions +- defections, mergers and pledges = {expected}")
    # the same cumulatively, and in total
    total = steps["fighters"].to_numpy()
    assert (total == fighters.sum(1)).all()
    recruits = steps["recruits"].to_numpy()
    deaths = steps["deaths"].to_numpy()
    desert = steps["desertions"].to_numpy()
    assert total[-1] == total[0] + recruits[1:].sum() - deaths[1:].sum() - desert[1:].sum()
    # defections conserve fighters: every one out of a group goes into another
    assert (col("defect_in").sum(1) == col("defect_out").sum(1)).all()
    directed = [c for c in steps.columns if c.startswith("defect.")]
    assert (steps[directed].sum(axis=1) == col("defect_in").sum(1)).all()
    # clash casualties in the events are the clash deaths
    clashes = events[events["kind"] == "clash"]
    assert int(clashes["size"].sum()) == int(col("deaths_clash").sum())


def _check_frames(steps: pd.DataFrame, events: pd.DataFrame) -> None:
    numeric = steps.select_dtypes("number")
    bad = numeric.columns[numeric.isna().any()].tolist()
    assert not bad, f"NaN in steps columns {bad}"
    assert np.isfinite(numeric.to_numpy(dtype=float)).all()
    assert not events[["week", "x", "y", "size"]].isna().any().any()
    shares = [c for c in steps.columns if c.split(".")[0] in
              ("hostility", "commitment", "frustration", "cohesion", "claim", "support",
               "governance_mean")]
    vals = steps[shares].to_numpy()
    assert ((vals >= 0) & (vals <= 1)).all(), "a share column left [0, 1]"


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(worlds())
def test_invariants_hold_for_random_valid_parameters(world):
    raw, seed = world
    m = MilitantModel(scenario_from_dict(raw), rng=seed)
    _check_state(m)
    for _ in range(WEEKS):
        m.step()
        _check_state(m)
    res = m.results()
    _check_frames(res.steps, res.events)
    _check_accounting(res.steps, res.events, m.group_names)
    assert math.isfinite(res.summary["militant_territory"]["mean_cells"])
