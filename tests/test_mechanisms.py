"""Unit tests of the rebuilt causal core on tiny hand-made worlds.

Hostility shaped by propaganda through the doctrine's takfir (not by the claim) and softened by
contact under truce; fighting units that merge and split and are called into clashes within
battle_reach; clashes across the front line at war; incidents under truce; truce tension from
what a partner does (poaching, incidents, cells taken) and power-dependent tolerance; rivalry
escalating into war and war cooling; unions decided by interests (a pledge or a merger of
equals); ground offensives that take ground where strikes only kill.

As in ``test_rules.py``: every rule but the one under test is quiet (``conftest.QUIET``),
fighters are placed by hand, parameters are explicit, and each test compares a treatment with a
control or checks an exact value.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.core import rules
from sim.core.enums import NO_OWNER, STATE, Relation


def _rows(m, fids):
    return m.fighters.row_of[np.asarray(fids)]


def _events(m, kind):
    ev = m.results().events
    return ev[ev["kind"] == kind]


# =============================================================================================
# Socialise: hostility
# =============================================================================================
def test_hostility_rises_with_propaganda_toward_the_doctrines_takfir(tiny):
    groups = {"Loud": {"takfir": 0.8, "propaganda": 1.0},
              "Soft": {"takfir": 0.8, "propaganda": 0.5},
              "Silent": {"takfir": 0.8, "propaganda": 0.0},
              "Mild": {"takfir": 0.0, "propaganda": 1.0}}
    raw = tiny.world(width=4, height=1, groups=groups, params={"hostility_rate": 0.2})
    m = tiny.build(raw)
    for x, g in enumerate(groups):
        tiny.place(m, g, (x, 0), n=5, hostility=0.0)
    tiny.begin_week(m)
    rules.socialise(m)
    F = m.fighters
    eta = np.array([F.hostility[F.group == g].mean() for g in range(4)])
    # eta += hostility_rate pi_g (takfir_g - eta): 0.2 x pi x 0.8 in the first week
    np.testing.assert_allclose(eta, [0.16, 0.08, 0.0, 0.0])
    for _ in range(60):
        rules.socialise(m)
    eta = np.array([F.hostility[F.group == g].mean() for g in range(4)])
    assert eta[0] > eta[1] > 0.75 and eta[2] == 0.0 and eta[3] == 0.0
    assert eta[0] == pytest.approx(0.8, abs=1e-3)      # the doctrine's branding of rivals


def test_hostility_relaxes_to_the_fighters_own_level_and_meets_its_equilibrium(tiny):
    params = {"hostility_rate": 0.1, "hostility_relax": 0.05, "hostility_base_weight": 0.5}
    raw = tiny.world(width=2, height=1, params=params,
                     groups={"A": {"takfir": 0.8, "propaganda": 0.6},
                             "B": {"takfir": 0.8, "propaganda": 0.0}})
    m = tiny.build(raw)
    a = tiny.place(m, "A", 0, n=4, takfir=np.array([0.2, 0.4, 0.6, 0.8]), hostility=1.0)
    b = tiny.place(m, "B", 1, n=4, takfir=np.array([0.2, 0.4, 0.6, 0.8]), hostility=1.0)
    for _ in range(400):
        rules.socialise(m)
    F = m.fighters
    own = 0.5 * np.array([0.2, 0.4, 0.6, 0.8])
    np.testing.assert_allclose(F.hostility[_rows(m, b)], own, atol=1e-6)   # no propaganda
    expected = rules.hostility_equilibrium(m, 0, F.takfir[_rows(m, a)])
    np.testing.assert_allclose(F.hostility[_rows(m, a)], expected, atol=1e-6)
    # (r pi takfir_g + relax b_i) / (r pi + relax) with r pi = 0.06, relax = 0.05
    np.testing.assert_allclose(expected, (0.06 * 0.8 + 0.05 * own) / 0.11)
    assert (F.hostility[_rows(m, a)] > own + 0.2).all()


def test_hostility_does_not_depend_on_the_claim(tiny):
    def hostility(claim):
        raw = tiny.world(width=2, height=1,
                         groups={"A": {"takfir": 0.7, "propaganda": 0.9, "claim": claim},
                                 "B": {"takfir": 0.3, "propaganda": 0.4, "claim": claim}},
                         params={"hostility_rate": 0.1, "hostility_relax": 0.02,
                                 "contact_rate": 0.05, "ideology_rate": 0.05})
        m = tiny.build(raw, seed=3)
        tiny.place(m, "A", 0, n=10, takfir=0.2, hostility=0.1)
        tiny.place(m, "B", 0, n=10, takfir=0.9, hostility=0.6)
        tiny.place(m, "B", 1, n=10, hostility=0.3)
        tiny.set_relation(m, "A", "B", Relation.TRUCE)
        for _ in range(30):
            tiny.begin_week(m)
            rules.socialise(m)
        return m.fighters.hostility.copy()

    unclaimed, claimed = hostility(0.0), hostility(1.0)
    assert np.ptp(unclaimed) > 0.05                   # hostility did move
    np.testing.assert_array_equal(unclaimed, claimed)


def test_contact_with_a_truce_partner_lowers_hostility(tiny):
    def hostility(relation):
        raw = tiny.world(width=2, height=1, params={"contact_rate": 0.1})
        m = tiny.build(raw)
        together = tiny.place(m, "A", 0, n=5, hostility=0.5)
        partner = tiny.place(m, "B", 0, n=5, hostility=0.8)
        alone = tiny.place(m, "A", 1, n=5, hostility=0.5)
        tiny.set_relation(m, "A", "B", relation)
        tiny.begin_week(m)
        rules.socialise(m)
        F = m.fighters
        return (F.hostility[_rows(m, together)], F.hostility[_rows(m, partner)],
                F.hostility[_rows(m, alone)])

    together, partner, alone = hostility(Relation.TRUCE)
    np.testing.assert_allclose(together, 0.5 * 0.9)       # eta -= contact_rate eta
    np.testing.assert_allclose(partner, 0.8 * 0.9)
    np.testing.assert_allclose(alone, 0.5)                # no partner in the cell
    together, partner, alone = hostility(Relation.RIVALRY)  # no truce, no softening
    np.testing.assert_allclose(together, 0.5)
    np.testing.assert_allclose(partner, 0.8)
    np.testing.assert_allclose(alone, 0.5)


# =============================================================================================
# Interact: fighting units
# =============================================================================================
def _unit_world(tiny, params, seed=5):
    raw = tiny.world(width=2, height=1, params=params)
    m = tiny.build(raw, seed=seed)
    tiny.place(m, "A", 0, n=40)
    tiny.place(m, "A", 1, n=40)
    tiny.place(m, "B", 0, n=40)
    return m


def _units(m):
    """{unit label: member rows}."""
    F = m.fighters
    return {int(u): np.flatnonzero(F.unit == u) for u in np.unique(F.unit)}


def test_new_fighters_are_units_of_one(tiny):
    m = _unit_world(tiny, {})
    np.testing.assert_array_equal(m.fighters.unit, m.fighters.fid)


def test_units_merge_within_a_group_and_a_cell(tiny):
    m = _unit_world(tiny, {"unit_event_rate": 0.2, "unit_fragment": 0.0})
    F = m.fighters
    counts = [len(_units(m))]
    for _ in range(15):
        rules._evolve_units(m)
        counts.append(len(_units(m)))
    assert counts[0] == 120 and counts[-1] < 30, counts
    assert all(np.diff(counts) <= 0), counts              # without fragmentation, only merging
    for label, rows in _units(m).items():
        assert len(set(F.group[rows].tolist())) == 1      # members of one group ...
        assert len(set(F.cell[rows].tolist())) == 1       # ... and one cell
        assert label == F.fid[rows].min()                 # labelled by its first member
    assert max(len(r) for r in _units(m).values()) > 10


def test_with_unit_fragment_one_every_unit_breaks_into_single_fighters(tiny):
    m = _unit_world(tiny, {"unit_event_rate": 0.5, "unit_fragment": 0.0})
    F = m.fighters
    for _ in range(10):
        rules._evolve_units(m)
    assert len(_units(m)) < 40
    m.p.unit_event_rate, m.p.unit_fragment = 1.0, 1.0
    old = set(F.unit.tolist())
    rules._evolve_units(m)
    assert len(np.unique(F.unit)) == len(F)           # every fighter a unit of one
    assert not old & set(F.unit.tolist())             # with labels never used before


def test_fragmentation_breaks_whole_units_and_only_those(tiny):
    m = _unit_world(tiny, {"unit_event_rate": 0.5, "unit_fragment": 0.0})
    F = m.fighters
    for _ in range(10):
        rules._evolve_units(m)
    before = F.unit.copy()
    m.p.unit_event_rate, m.p.unit_fragment = 0.05, 1.0
    rules._evolve_units(m)
    broken = F.unit != before
    assert broken.any()
    for u in np.unique(before[broken]):
        members = before == u
        assert broken[members].all()                  # a unit breaks whole ...
        assert len(np.unique(F.unit[members])) == members.sum()  # ... into units of one
    np.testing.assert_array_equal(F.unit[~broken], before[~broken])
    assert not set(F.unit[broken].tolist()) & set(before.tolist())


def test_no_unit_events_at_rate_zero(tiny):
    m = _unit_world(tiny, {"unit_event_rate": 0.0, "unit_fragment": 0.0})
    for _ in range(5):
        rules._evolve_units(m)
    np.testing.assert_array_equal(m.fighters.unit, m.fighters.fid)


def _one_unit_with_a_defector(tiny, defector_is_first):
    """10 fighters of A in one unit; only one of them (the unit's first member or another)
    wants to leave for B."""
    params = {"defect_epsilon": 1.0, "defect_slope": 50.0, "defect_alpha": 0.0,
              "defect_beta": 0.0, "defect_gamma": 0.0, "defect_delta": 10.0,
              "defect_lambda": 0.0, "claim_pull": 1.0, "vision": 0, "commitment0": 0.5}
    raw = tiny.world(width=1, height=1, params=params,
                     groups={"A": {}, "B": {"claim": 1.0, "propaganda": 1.0}})
    m = tiny.build(raw, seed=2)
    hostility = np.ones(10)
    who = 0 if defector_is_first else 5
    hostility[who] = 0.0                 # U(B) = 1 - 10 eta: only this one gains by leaving
    a = tiny.place(m, "A", 0, n=10, hostility=hostility)
    tiny.place(m, "B", 0, n=10, hostility=1.0)
    F = m.fighters
    F.unit[_rows(m, a)] = a[0]
    tiny.begin_week(m)
    rules.defect_and_desert(m)
    assert m.tally.defections[0, 1] == 1
    return m, a, a[who]


def _shares_a_unit(m, fid, others):
    F = m.fighters
    return bool(np.isin(F.unit[_rows(m, others)], F.unit[F.row_of[fid]]).any())


def test_a_defector_leaves_its_unit(tiny):
    m, a, defector = _one_unit_with_a_defector(tiny, defector_is_first=False)
    F = m.fighters
    r = F.row_of[defector]
    stayed = [f for f in a if f != defector]
    assert F.group[r] == 1
    assert not _shares_a_unit(m, defector, stayed), "the defector still shares its old unit"
    assert (F.unit[_rows(m, stayed)] == a[0]).all() and (F.group[_rows(m, stayed)] == 0).all()


def test_a_defector_leaves_its_unit_even_when_its_id_labels_the_unit(tiny):
    m, a, defector = _one_unit_with_a_defector(tiny, defector_is_first=True)
    F = m.fighters
    assert F.group[F.row_of[defector]] == 1
    assert not _shares_a_unit(m, defector, a[1:]), "the defector still shares its old unit"
    assert len(set(F.unit[_rows(m, a[1:])].tolist())) == 1    # the others stay together


def test_unit_labels_never_span_two_groups_after_defection_and_fragmentation(tiny):
    params = {"defect_epsilon": 1.0, "defect_slope": 50.0, "defect_alpha": 0.0,
              "defect_beta": 0.0, "defect_gamma": 0.0, "defect_delta": 10.0,
              "defect_lambda": 0.0, "claim_pull": 1.0, "vision": 1, "commitment0": 0.5,
              "unit_event_rate": 0.5, "unit_fragment": 1.0}
    raw = tiny.world(width=2, height=1, params=params,
                     groups={"A": {}, "B": {"claim": 1.0, "propaganda": 1.0}})
    m = tiny.build(raw, seed=2)
    # 50 units of two in A, each labelled by its first member, who alone wants to leave for B
    leaders = tiny.place(m, "A", 0, n=50, hostility=0.0)
    others = tiny.place(m, "A", 0, n=50, hostility=1.0)
    tiny.place(m, "B", 1, n=5, hostility=1.0)
    F = m.fighters
    F.unit[_rows(m, others)] = leaders
    tiny.begin_week(m)
    rules.defect_and_desert(m)
    assert m.tally.defections[0, 1] == 50
    for _ in range(10):
        rules._evolve_units(m)
        for u in np.unique(F.unit):
            assert len(set(F.group[F.unit == u].tolist())) == 1, f"unit {u} spans two groups"


# =============================================================================================
# Interact: clashes engage units within battle_reach; at war, across the front line
# =============================================================================================
def _reach_world(tiny, reach, seed=4):
    """A 7x1 strip; A and B skirmish in cell 3, where each has 2 fighters. A's 2 belong to a
    unit with 30 fighters in cell 4 (one cell away) and 30 in cell 6 (three away); B's 2 to a
    unit with 30 in cell 2 and 30 in cell 0."""
    raw = tiny.world(width=7, height=1, params={"clash_kappa": 10.0, "clash_lethality": 1.0,
                                                "battle_reach": reach})
    m = tiny.build(raw, seed=seed)
    a = {c: tiny.place(m, "A", c, n=n) for c, n in ((3, 2), (4, 30), (6, 30))}
    b = {c: tiny.place(m, "B", c, n=n) for c, n in ((3, 2), (2, 30), (0, 30))}
    F = m.fighters
    F.unit[_rows(m, np.concatenate(list(a.values())))] = a[3][0]
    F.unit[_rows(m, np.concatenate(list(b.values())))] = b[3][0]
    tiny.set_relation(m, "A", "B", Relation.RIVALRY, hostility=1.0)
    tiny.begin_week(m)
    rules.interact(m)
    return m, a, b


def test_a_clash_calls_in_unit_members_within_battle_reach(tiny):
    m, a, b = _reach_world(tiny, reach=2)
    clash = _events(m, "clash")
    assert len(clash) == 1 and (clash.iloc[0]["x"], clash.iloc[0]["y"]) == (3, 0)
    row = clash.iloc[0]
    assert row["fighters_group"] == 32 and row["fighters_other"] == 32   # 2 here + 30 near
    # casualties exceed the cell's occupants: the unit's members nearby fought and died
    assert m.tally.deaths_clash[0] > 2 and m.tally.deaths_clash[1] > 2
    assert m.tally.deaths_clash.sum() == row["casualties_group"] + row["casualties_other"]
    F = m.fighters
    far = np.concatenate([a[6], b[0]])
    assert (F.row_of[far] >= 0).all(), "a fighter beyond battle_reach died"
    assert not F.fought[_rows(m, far)].any()
    near_alive = [f for f in np.concatenate([a[4], b[2]]) if F.row_of[f] >= 0]
    assert len(near_alive) > 0 and F.fought[_rows(m, near_alive)].all()


def test_with_battle_reach_zero_only_the_occupants_fight(tiny):
    m, a, b = _reach_world(tiny, reach=0)
    row = _events(m, "clash").iloc[0]
    assert row["fighters_group"] == 2 and row["fighters_other"] == 2
    assert m.tally.deaths_clash.max() <= 2
    F = m.fighters
    others = np.concatenate([a[4], a[6], b[2], b[0]])
    assert (F.row_of[others] >= 0).all() and not F.fought[_rows(m, others)].any()


def test_at_war_groups_clash_across_the_front_line(tiny):
    def clashes(relation, b_cell):
        raw = tiny.world(width=5, height=1, params={"clash_kappa": 10.0, "clash_lethality": 0.0,
                                                    "battle_reach": 1})
        m = tiny.build(raw, seed=1)
        tiny.place(m, "A", 1, n=10)
        tiny.place(m, "B", b_cell, n=10)
        tiny.set_relation(m, "A", "B", relation, hostility=1.0)
        tiny.begin_week(m)
        rules.interact(m)
        return m

    war = clashes(Relation.WAR, 2)                  # adjacent cells, no cell shared
    assert war.tally.clashes[0, 1] >= 1
    rows = _events(war, "clash")
    assert set(rows["x"]) <= {1, 2}
    # each side brings the fighters within one cell of the clash
    assert (rows["fighters_group"] == 10).all() and (rows["fighters_other"] == 10).all()
    assert clashes(Relation.RIVALRY, 2).tally.clashes.sum() == 0   # rivals only skirmish
    assert clashes(Relation.WAR, 4).tally.clashes.sum() == 0       # two cells apart: no front
    assert clashes(Relation.RIVALRY, 1).tally.clashes[0, 1] == 1   # rivals sharing a cell


def test_at_war_groups_clash_across_the_front_line_even_with_battle_reach_zero(tiny):
    raw = tiny.world(width=3, height=1, params={"clash_kappa": 10.0, "clash_lethality": 0.0,
                                                "battle_reach": 0})
    m = tiny.build(raw, seed=1)
    tiny.place(m, "A", 0, n=10)
    tiny.place(m, "B", 1, n=10)
    tiny.set_relation(m, "A", "B", Relation.WAR, hostility=1.0)
    tiny.begin_week(m)
    rules.interact(m)
    assert m.tally.clashes[0, 1] >= 1


# =============================================================================================
# Interact: incidents under truce
# =============================================================================================
INCIDENT = {"incident_rate": 0.05, "clash_lethality": 0.0, "tension_per_incident": 0.02,
            "clash_kappa": 10.0}


def _incidents(tiny, eta, weeks=60, params=None, doctrine_b=0.8, seed=6):
    raw = tiny.world(width=5, height=5, params={**INCIDENT, **(params or {})},
                     groups={"A": {"takfir": 0.2, "coercion": 0.2},
                             "B": {"takfir": doctrine_b, "coercion": doctrine_b}})
    m = tiny.build(raw, seed=seed)
    for c in range(25):
        tiny.place(m, "A", c, n=5, hostility=eta)
        tiny.place(m, "B", c, n=5, hostility=eta)
    tiny.set_relation(m, "A", "B", Relation.TRUCE, hostility=1.0)
    total = 0
    for _ in range(weeks):
        tiny.begin_week(m)
        rules.interact(m)
        assert m.tally.incidents[0, 1] == m.tally.incidents[1, 0] == m.tally.clashes[0, 1]
        total += int(m.tally.incidents[0, 1])
    return total, m


def test_incidents_under_truce_rise_with_the_fighters_hostility(tiny):
    low, _ = _incidents(tiny, 0.2)
    high, _ = _incidents(tiny, 0.9)
    # 1500 cell-weeks x (1 - exp(-rate eta d^2 5)), d = 0.6: about 27 and 117
    assert 5 < low < 60 and high > 2.5 * low, (low, high)
    assert _incidents(tiny, 0.0)[0] == 0


def test_incidents_rise_with_doctrinal_distance(tiny):
    far, _ = _incidents(tiny, 0.9)
    same, _ = _incidents(tiny, 0.9, doctrine_b=0.2)
    assert far > 50 and same == 0, (far, same)


def test_an_incident_raises_both_partners_tension_and_takes_no_ground(tiny):
    total, m = _incidents(tiny, 0.9, weeks=10)
    assert total > 10
    # lethality 0: tension_per_incident (1 + 0) per incident, on both sides
    np.testing.assert_allclose(m.tension[0, 1], 0.02 * total)
    np.testing.assert_allclose(m.tension[1, 0], 0.02 * total)
    assert (m.owner == NO_OWNER).all() and not m.fighters.routed.any()
    rows = _events(m, "clash")
    assert len(rows) == total and (rows["detail"] == "incident").all()
    assert (rows["winner"] == "").all()


def test_incident_tension_counts_the_fighters_lost(tiny):
    total, m = _incidents(tiny, 0.9, weeks=10, params={"clash_lethality": 0.5})
    rows = _events(m, "clash")                       # every incident, with its casualties
    lost_a = int(np.where(rows["group"] == "A", rows["casualties_group"],
                          rows["casualties_other"]).sum())
    lost_b = int(np.where(rows["group"] == "A", rows["casualties_other"],
                          rows["casualties_group"]).sum())
    assert lost_a > 0 and lost_b > 0 and len(rows) == total
    np.testing.assert_allclose(m.tension[0, 1], 0.02 * (total + lost_a))
    np.testing.assert_allclose(m.tension[1, 0], 0.02 * (total + lost_b))


def test_an_incident_is_a_fight_between_two_units_on_the_spot(tiny):
    raw = tiny.world(width=1, height=1, params={**INCIDENT, "incident_rate": 10.0,
                                                "battle_reach": 3},
                     groups={"A": {"takfir": 0.0, "coercion": 0.0},
                             "B": {"takfir": 1.0, "coercion": 1.0}})
    m = tiny.build(raw, seed=1)
    a = tiny.place(m, "A", 0, n=12, hostility=1.0)
    tiny.place(m, "B", 0, n=12, hostility=1.0)
    F = m.fighters
    F.unit[_rows(m, a)] = a[0]                   # A's twelve are one unit, B's are single
    tiny.set_relation(m, "A", "B", Relation.TRUCE, hostility=0.2)
    tiny.begin_week(m)
    rules.interact(m)
    row = _events(m, "clash").iloc[0]
    assert row["detail"] == "incident"
    assert (row["fighters_group"], row["fighters_other"]) == (12, 1)
    assert F.fought.sum() == 13


def test_no_incidents_outside_truce(tiny):
    raw = tiny.world(width=1, height=1, params={**INCIDENT, "clash_kappa": 0.0})
    m = tiny.build(raw)
    tiny.place(m, "A", 0, n=20, hostility=1.0)
    tiny.place(m, "B", 0, n=20, hostility=1.0)
    tiny.set_relation(m, "A", "B", Relation.RIVALRY, hostility=1.0)
    m.doctrine[1] = [0.9, 0.9]
    for _ in range(10):
        tiny.begin_week(m)
        rules.interact(m)
        assert m.tally.incidents.sum() == 0
    assert m.tension.max() == 0


def test_incidents_and_clashes_are_recorded_in_the_steps(tiny):
    raw = tiny.world(width=1, height=1, params={**INCIDENT, "incident_rate": 10.0},
                     groups={"A": {"takfir": 0.0, "coercion": 0.0},
                             "B": {"takfir": 1.0, "coercion": 1.0}})
    m = tiny.build(raw, seed=1)
    tiny.place(m, "A", 0, n=20, hostility=1.0)
    tiny.place(m, "B", 0, n=20, hostility=1.0)
    tiny.set_relation(m, "A", "B", Relation.TRUCE, hostility=0.2)
    for _ in range(3):
        m.step()
    steps = m.results().steps
    assert steps["incidents.A|B"].tolist() == [0, 1, 1, 1]
    assert steps["clashes.A|B"].tolist() == [0, 1, 1, 1]     # clashes include incidents
    assert m.relation[0, 1] == Relation.TRUCE


# =============================================================================================
# Relations: truce tension and its breakdown
# =============================================================================================
DEFECT = {"defect_epsilon": 0.05, "defect_slope": 6.0, "defect_alpha": 1.0, "defect_beta": 0.5,
          "defect_gamma": 1.5, "defect_delta": 1.0, "defect_lambda": 0.6, "claim_pull": 2.0,
          "activity_scale": 3.0, "vision": 1, "commitment0": 0.6}


def _truce_world(tiny, params, seed=21):
    raw = tiny.world(width=1, height=1,
                     groups={"A": {"claim": 1.0, "propaganda": 1.0, "takfir": 0.5,
                                   "coercion": 0.5},
                             "B": {"claim": 0.0, "propaganda": 0.0, "takfir": 0.5,
                                   "coercion": 0.5}},
                     relations=[{"groups": ["A", "B"], "state": "truce", "hostility": 0.3}],
                     params={**DEFECT, "tension_per_defection": 0.02, "tension_decay": 0.01,
                             "truce_tolerance": 1.0, "tolerance_power": 0.6,
                             "break_rate": 0.5, **params})
    m = tiny.build(raw, seed=seed)
    tiny.place(m, "A", 0, n=200)
    tiny.place(m, "B", 0, n=200)
    return m


def test_poaching_under_truce_raises_tension_until_the_truce_breaks_into_war(tiny):
    m = _truce_world(tiny, {})
    tension, tolerance = [], []
    while m.relation[0, 1] == Relation.TRUCE and m.week < 150:
        m.step()
        tension.append(m.tension[1, 0])
        tolerance.append(rules.truce_tolerance(m, 1, 0, m.fighter_counts()))
    assert m.relation[0, 1] == Relation.WAR, "the truce never broke"
    res = m.results()
    poached = res.steps["defect.B>A"].iloc[1:].to_numpy()
    assert poached.sum() > 20 and res.steps["defect.A>B"].sum() < poached.sum() / 2
    # B, who loses fighters, grows tense; A, who gains them, hardly
    assert tension[-1] > tension[len(tension) // 2] > tension[0] > 0
    assert tension[-1] > tolerance[-1] and m.tension[0, 1] < tension[-1] / 4
    broken = _events(m, "truce_broken")
    assert len(broken) == 1
    assert broken.iloc[0]["group"] == "B" and broken.iloc[0]["week"] == m.week
    assert "broken by B" in broken.iloc[0]["detail"]
    assert broken.iloc[0]["size"] == m.week            # the truce's length (since week 0)
    assert res.summary["truces"][0]["ended_by"] == "war"


def test_truce_without_poaching_holds(tiny):
    m = _truce_world(tiny, {"defect_epsilon": 0.0})
    for _ in range(80):
        m.step()
    assert m.relation[0, 1] == Relation.TRUCE
    assert m.tension.max() == 0.0


def test_poaching_raises_each_sides_tension_by_the_share_it_lost(tiny):
    m = _truce_world(tiny, {"tension_decay": 0.0})
    tiny.begin_week(m)
    rules.defect_and_desert(m)
    flows = m.tally.defections
    assert flows[1, 0] > 0
    # tension_per_defection x 100 x flows / fighters before
    assert m.tension[1, 0] == pytest.approx(0.02 * 100 * flows[1, 0] / 200)
    assert m.tension[0, 1] == pytest.approx(0.02 * 100 * flows[0, 1] / 200)
    # outside a truce, poaching raises no tension
    m2 = _truce_world(tiny, {"tension_decay": 0.0})
    tiny.set_relation(m2, "A", "B", Relation.RIVALRY)
    tiny.begin_week(m2)
    rules.defect_and_desert(m2)
    assert m2.tally.defections[1, 0] > 0 and m2.tension.max() == 0.0


def test_truce_tolerance_is_higher_for_the_weaker_side(tiny):
    raw = tiny.world(width=1, height=1, params={"truce_tolerance": 2.0, "tolerance_power": 0.6},
                     groups={"A": {"tolerance": 1.0}, "B": {"tolerance": 0.5}})
    m = tiny.build(raw)
    counts = np.array([75, 25])
    # truce_tolerance tolerance_g (1 + tolerance_power (2 s_h - 1))
    assert rules.truce_tolerance(m, 0, 1, counts) == pytest.approx(2.0 * 1.0 * (1 - 0.3))
    assert rules.truce_tolerance(m, 1, 0, counts) == pytest.approx(2.0 * 0.5 * (1 + 0.3))
    equal = np.array([50, 50])
    assert rules.truce_tolerance(m, 0, 1, equal) == pytest.approx(2.0)


def _tense_truce(tiny, tension, seed, sizes=(50, 50), break_rate=0.1, params=None):
    raw = tiny.world(width=1, height=1, seed=seed,
                     params={"truce_tolerance": 1.0, "tolerance_power": 0.6,
                             "break_rate": break_rate, **(params or {})},
                     relations=[{"groups": ["A", "B"], "state": "truce", "hostility": 0.3}])
    m = tiny.build(raw)
    tiny.place(m, "A", 0, n=sizes[0])
    tiny.place(m, "B", 0, n=sizes[1])
    m.tension[0, 1] = m.tension[1, 0] = tension
    return m


def _weeks_to_break(m, limit=300):
    while m.relation[0, 1] == Relation.TRUCE and m.week < limit:
        m.step()
    return m.week if m.relation[0, 1] == Relation.WAR else None


def test_truce_breakdown_week_varies_between_seeds(tiny):
    weeks = [_weeks_to_break(_tense_truce(tiny, 2.0, seed, break_rate=0.05), limit=500)
             for seed in range(12)]
    assert None not in weeks, weeks
    # a weekly hazard 1 - exp(-break_rate x 1) on each side: about 10 weeks on average
    assert len(set(weeks)) >= 6, weeks
    assert 3 < np.mean(weeks) < 30, weeks


def test_a_truce_broken_with_breakdown_war_below_one_may_fall_back_to_rivalry(tiny):
    def after_break(share, seed):
        m = _tense_truce(tiny, 2.0, seed, break_rate=1.0, params={"breakdown_war": share})
        while m.relation[0, 1] == Relation.TRUCE and m.week < 100:
            m.step()
        assert len(_events(m, "truce_broken")) == 1, "the truce never broke"
        return Relation(m.relation[0, 1]), m.results().summary["truces"][0]["ended_by"]

    # none at once: every breakdown is a rivalry, recorded as a breakdown into rivalry
    assert all(after_break(0.0, s) == (Relation.RIVALRY, "rivalry") for s in range(4))
    # every breakdown a war, as shipped
    assert all(after_break(1.0, s) == (Relation.WAR, "war") for s in range(4))
    # in between, a draw per breakdown: both outcomes over seeds
    halves = {after_break(0.5, s)[0] for s in range(12)}
    assert halves == {Relation.WAR, Relation.RIVALRY}


def test_truce_holds_while_tension_stays_below_tolerance(tiny):
    m = _tense_truce(tiny, 0.95, seed=0, break_rate=10.0)
    assert _weeks_to_break(m, limit=100) is None


def test_the_stronger_side_breaks_at_a_tension_the_weaker_tolerates(tiny):
    breakers = []
    for seed in range(5):
        # A has 75 of the pair's 100 fighters: A tolerates 0.7, B 1.3; both feel 1.0
        m = _tense_truce(tiny, 1.0, seed, sizes=(75, 25), break_rate=1.0)
        assert _weeks_to_break(m, limit=100) is not None
        breakers += _events(m, "truce_broken")["group"].tolist()
    assert breakers == ["A"] * 5


# =============================================================================================
# Relations: rivalry escalates into war; war cools
# =============================================================================================
def _escalation(tiny, hostility, memory, tolerance=(1.0, 1.0), weeks=40, seed=3, params=None):
    raw = tiny.world(width=1, height=1, seed=seed,
                     params={"war_threshold": 0.75, "war_rate": 0.5, **(params or {})},
                     groups={"A": {"tolerance": tolerance[0]}, "B": {"tolerance": tolerance[1]}})
    m = tiny.build(raw)
    tiny.place(m, "A", 0, n=10)
    tiny.place(m, "B", 0, n=10)
    tiny.set_relation(m, "A", "B", Relation.RIVALRY, hostility=hostility)
    m.clash_memory[0, 1] = m.clash_memory[1, 0] = memory
    for _ in range(weeks):
        tiny.begin_week(m)
        rules.relations(m)
        if m.relation[0, 1] == Relation.WAR:
            break
    return m


def test_rivalry_escalates_into_war_when_hostility_and_clash_memory_are_high(tiny):
    # escalation (H + M / (1 + M)) / 2 = (1 + 0.9) / 2 = 0.95 > war_threshold 0.75
    hot = _escalation(tiny, hostility=1.0, memory=9.0)
    assert hot.relation[0, 1] == Relation.WAR
    declared = _events(hot, "war_declared")
    assert len(declared) == 1 and declared.iloc[0]["week"] == hot.week
    assert hot.last_clash[0, 1] == hot.week              # the cooling clock starts now
    assert _escalation(tiny, hostility=0.3, memory=0.0).relation[0, 1] == Relation.RIVALRY
    # hostility alone (0.5) or memory alone (0.45) is not enough
    assert _escalation(tiny, hostility=1.0, memory=0.0).relation[0, 1] == Relation.RIVALRY
    assert _escalation(tiny, hostility=0.0, memory=9.0).relation[0, 1] == Relation.RIVALRY


def test_the_less_tolerant_side_declares_war(tiny):
    for seed in range(4):
        # thresholds 0.75 x 0.5 and 0.75 x 2: only A's is below the escalation (0.75)
        m = _escalation(tiny, hostility=0.6, memory=9.0, tolerance=(0.5, 2.0), seed=seed)
        assert m.relation[0, 1] == Relation.WAR
        declared = _events(m, "war_declared").iloc[0]
        assert declared["group"] == "A" and "declared by A" in declared["detail"]


def test_war_escalation_timing_varies_between_seeds(tiny):
    weeks = []
    for seed in range(12):
        m = _escalation(tiny, hostility=1.0, memory=9.0, seed=seed, weeks=500,
                        params={"war_rate": 0.1})
        assert m.relation[0, 1] == Relation.WAR
        weeks.append(m.week)
    # a weekly hazard 1 - exp(-0.1 x 0.27) on each side: about 19 weeks on average
    assert len(set(weeks)) >= 6, weeks
    assert 5 < np.mean(weeks) < 60, weeks


def test_a_declared_war_cools_after_war_cooling_weeks_without_clashes(tiny):
    raw = tiny.world(width=1, height=1, params={"war_threshold": 0.75, "war_rate": 10.0,
                                                "war_cooling": 6})
    m = tiny.build(raw, seed=1)
    tiny.place(m, "A", 0, n=10)
    tiny.place(m, "B", 0, n=10)
    tiny.set_relation(m, "A", "B", Relation.RIVALRY, hostility=1.0)
    m.clash_memory[0, 1] = m.clash_memory[1, 0] = 9.0
    while m.relation[0, 1] == Relation.RIVALRY and m.week < 20:
        m.step()
    assert m.relation[0, 1] == Relation.WAR
    declared = m.week                                   # and no clash after it
    m.p.war_rate = 0.0
    history = []
    for _ in range(8):
        m.step()
        history.append(int(m.relation[0, 1]))
    assert history[:5] == [Relation.WAR] * 5 and history[5] == Relation.RIVALRY
    assert _events(m, "war_cooled")["week"].tolist() == [declared + 6]


# =============================================================================================
# Relations: unions decided by interests
# =============================================================================================
def _pair(tiny, sizes, claims=(0.0, 0.0), params=None, groups=None, since=-200, seed=3):
    g = {"A": {"takfir": 0.8, "coercion": 0.8, "claim": claims[0]},
         "B": {"takfir": 0.75, "coercion": 0.75, "claim": claims[1]}}
    for name, extra in (groups or {}).items():
        g[name].update(extra)
    raw = tiny.world(width=2, height=1, groups=g, seed=seed,
                     relations=[{"groups": ["A", "B"], "state": "truce", "since": since,
                                 "hostility": 0.2}],
                     params={"pledge_w_power": 1.0, "pledge_w_affinity": 4.0,
                             "pledge_w_momentum": 1.0, "pledge_w_threat": 1.0,
                             "pledge_w_cohesion": 1.0, "pledge_w_share": 2.0,
                             "pledge_slope": 4.0, "truce_threat": 0.002, **(params or {})})
    m = tiny.build(raw)
    tiny.place(m, "A", 0, n=sizes[0])
    tiny.place(m, "B", 1, n=sizes[1])
    return m


def test_union_terms_without_claims_share_the_leadership_by_strength(tiny):
    m = _pair(tiny, (60, 40))
    leader, follower, k_l, k_f = rules.union_terms(m, 0, 1, m.fighter_counts())
    assert (leader, follower) == (0, 1)
    assert (k_l, k_f) == pytest.approx((0.6, 0.4))
    # the same from the other side of the pair
    assert rules.union_terms(m, 1, 0, m.fighter_counts())[:2] == (0, 1)


def test_union_terms_with_a_full_claim_leave_the_follower_nothing(tiny):
    m = _pair(tiny, (40, 60), claims=(1.0, 0.0))
    leader, follower, k_l, k_f = rules.union_terms(m, 0, 1, m.fighter_counts())
    assert (leader, follower) == (0, 1)               # the smaller claimant leads
    assert (k_l, k_f) == pytest.approx((1.0, 0.0))
    # a partial claim demands s + e (1 - s): 0.4 + 0.5 x 0.6
    m.claim[0] = 0.5
    assert rules.union_terms(m, 0, 1, m.fighter_counts())[2:] == pytest.approx((0.7, 0.3))
    # two full claims: the larger group leads
    m.claim[:] = 1.0
    assert rules.union_terms(m, 0, 1, m.fighter_counts())[:2] == (1, 0)


def _pledge_world(tiny, small, battered=None, seed=3, **kw):
    """A (a claimant) and B in a long truce. ``small``: B has 10 fighters to A's 90, else 90 to
    A's 10. ``battered`` (default: as ``small``): B is hit by the state, its leadership weak and
    its fighters leaning to A's doctrine; otherwise no losses, a cohesive leadership and
    fighters at B's own doctrine."""
    battered = small if battered is None else battered
    sizes = (90, 10) if small else (10, 90)
    m = _pair(tiny, sizes, claims=(1.0, 0.0), seed=seed,
              groups={"B": {"cohesion": 0.2 if battered else 1.0}}, **kw)
    if battered:
        F = m.fighters
        F.takfir[F.group == 1] = F.coercion[F.group == 1] = 0.8
        m.threat[:] = 0.05
    return m


def test_union_utility_a_small_battered_partner_wants_to_pledge_a_strong_one_refuses(tiny):
    small = _pledge_world(tiny, small=True)
    counts = small.fighter_counts()
    leader, follower, k_l, k_f = rules.union_terms(small, 0, 1, counts)
    assert (leader, follower, k_f) == (0, 1, 0.0)
    u_small = rules.union_utility(small, 1, 0, k_f, counts)
    # power + affinity + momentum + threat - cohesion + share, with the weights of _pair
    lean = 1 - rules.affinity(np.array([[0.8, 0.8]]), small.doctrine)[0, 1]
    expected = (1 - 0.1) + 4 * lean + 0 + 0.05 / 0.052 - (0.2 - 0.5) + 2 * (0 - 0.1)
    assert u_small == pytest.approx(expected) and u_small > 1.0
    # the same battered, sympathetic partner, but strong: it would bring nine tenths of the
    # fighters and keep nothing
    strong = _pledge_world(tiny, small=False, battered=True)
    c2 = strong.fighter_counts()
    assert rules.union_terms(strong, 0, 1, c2)[1:] == (1, 1.0, 0.0)
    assert rules.union_utility(strong, 1, 0, 0.0, c2) < 0
    # strong, unthreatened, cohesive and loyal to its own doctrine: far below
    proud = _pledge_world(tiny, small=False)
    assert rules.union_utility(proud, 1, 0, 0.0, proud.fighter_counts()) < -2.0


def test_a_claim_costs_the_partner_the_share_of_leadership_it_would_have_kept(tiny):
    m = _pair(tiny, (40, 60))
    counts = m.fighter_counts()
    leader, follower, k_l, k_f = rules.union_terms(m, 0, 1, counts)
    assert (leader, k_l) == (1, pytest.approx(0.6))        # B leads a merger of equals
    u_equal = rules.union_utility(m, 1, 0, k_l, counts)
    m.claim[0] = 1.0                                         # A claims to rule all
    leader, follower, k_l, k_f = rules.union_terms(m, 0, 1, counts)
    assert (leader, follower, k_f) == (0, 1, 0.0)
    u_pledge = rules.union_utility(m, 1, 0, k_f, counts)
    assert u_equal - u_pledge == pytest.approx(2.0 * 0.6)   # pledge_w_share x the lost share


def _negotiations(m, weeks=60):
    for _ in range(weeks):
        m.step()
        if not m.group_alive.all():
            break
    return m


def test_a_small_battered_partner_pledges_to_a_claimant_a_strong_one_does_not(tiny):
    params = {"merger_weeks": 1, "merger_rate": 1.0}
    small = _negotiations(_pledge_world(tiny, small=True, params=params))
    assert not small.group_alive[1], "no pledge"
    pledge = _events(small, "pledge")
    assert len(pledge) == 1
    assert pledge.iloc[0]["group"] == "A" and pledge.iloc[0]["other"] == "B"
    assert pledge.iloc[0]["size"] == 10
    assert small.fighter_counts().tolist() == [100, 0]
    np.testing.assert_allclose(small.doctrine[0], [0.8, 0.8])     # the leader's doctrine stands
    assert small.relation[0, 1] == Relation.ENDED
    assert not _events(small, "merger").shape[0]
    assert small.results().summary["mergers"][0]["kind"] == "pledge"
    # 60 negotiations: the strong partner never pledges, and no union happens
    strong = _negotiations(_pledge_world(tiny, small=False, params=params))
    assert strong.group_alive.all() and strong.relation[0, 1] == Relation.TRUCE
    assert not strong.results().events["kind"].isin(["pledge", "merger"]).any()


def test_a_union_needs_both_leaderships_an_eager_pledge_is_turned_down(tiny):
    # the small, battered partner of the test above, even keener (the claimant's momentum is
    # high); but the claimant is safe and gains little from ten more fighters
    m = _pledge_world(tiny, small=True, params={"merger_weeks": 1, "merger_rate": 1.0})
    m.momentum[:] = [1.0, 0.0]
    m.threat[0] = 0.0
    counts = m.fighter_counts()
    assert rules.union_utility(m, 1, 0, 0.0, counts) > 2.5        # B would pledge at once
    assert rules.union_utility(m, 0, 1, 1.0, counts) < -1.0       # A does not want it
    _negotiations(m, weeks=40)
    assert m.group_alive.all() and m.relation[0, 1] == Relation.TRUCE


def _equals(tiny, since=-200, merger_weeks=104, seed=3):
    m = _pair(tiny, (60, 40), since=since, seed=seed,
              params={"merger_weeks": merger_weeks, "merger_rate": 1.0})
    m.threat[:] = 0.05            # both under pressure from the state
    m.cohesion[:] = 0.5
    return m


def test_close_partners_without_claims_merge_as_equals(tiny):
    m = _negotiations(_equals(tiny))
    assert not m.group_alive[1], "no merger"
    merged = _events(m, "merger")
    assert len(merged) == 1 and merged.iloc[0]["group"] == "A" and merged.iloc[0]["size"] == 40
    assert m.fighter_counts().tolist() == [100, 0]
    # doctrines weighted by the shares of the leadership (0.6, 0.4)
    np.testing.assert_allclose(m.doctrine[0], [0.6 * 0.8 + 0.4 * 0.75] * 2)
    assert m.relation[0, 1] == Relation.ENDED
    assert not _events(m, "pledge").shape[0]


def test_a_merger_waits_for_merger_weeks_of_truce(tiny):
    weeks = []
    for seed in range(3):
        m = _equals(tiny, since=0, merger_weeks=10, seed=seed)
        for _ in range(9):
            m.step()
            assert m.group_alive.all(), f"merged in week {m.week}, before merger_weeks"
        _negotiations(m, weeks=30)
        assert not m.group_alive[1]
        weeks += _events(m, "merger")["week"].tolist()
    assert len(weeks) == 3 and min(weeks) >= 10


# =============================================================================================
# Move and control: a claimant does not respect a partner's ground
# =============================================================================================
def test_move_a_claimant_sees_a_truce_partners_ground_as_expandable(tiny):
    params = {"w_own": 0.0, "w_opportunity": 0.0, "w_danger": 0.0, "w_expand": 1.0,
              "claim_expansion": 0.5}
    raw = tiny.world(width=4, height=1, params=params,
                     groups={"A": {"claim": 0.8}, "B": {"claim": 0.0}})
    m = tiny.build(raw)
    m.owner[:] = [0, 1, NO_OWNER, STATE]
    tiny.set_relation(m, "A", "B", Relation.TRUCE)
    field = rules._move_field(m)
    # A: own cell 0, B's cell claim_expansion x claim = 0.4, open and state ground 1
    np.testing.assert_allclose(field[0], [0.0, 0.4, 1.0, 1.0])
    # B, no claim, respects A's ground entirely
    np.testing.assert_allclose(field[1], [0.0, 0.0, 1.0, 1.0])
    tiny.set_relation(m, "A", "B", Relation.RIVALRY)          # a rival's ground is anyone's
    np.testing.assert_allclose(rules._move_field(m), [[0, 1, 1, 1], [1, 0, 1, 1]])


CROWD_ONLY = {"move_rate": 1.0, "w_own": 0.0, "w_opportunity": 0.0, "w_danger": 0.0,
              "w_expand": 0.0, "move_noise": 0.0, "w_crowd": 1.0, "supply_ratio": 0.01}


def test_move_crowding_reads_every_groups_fighters_against_each_cells_people(tiny):
    params = {**CROWD_ONLY, "w_crowd": 1.5}
    m = tiny.build(tiny.world(width=4, height=1, params=params))
    m.population[:] = [800, 800, 0, 100]
    tiny.place(m, "A", 0, n=6)
    tiny.place(m, "B", 0, n=3)     # a rival's fighters eat too
    tiny.place(m, "A", 2, n=2)     # no one to feed them
    crowd, room = rules._crowding(m)
    np.testing.assert_array_equal(crowd, [9, 0, 2, 0])
    np.testing.assert_allclose(room, [9, 9, 1, 2])      # supply_ratio P + 1
    # the field the movers share leaves crowding out: it is added as they move
    np.testing.assert_array_equal(rules._move_field(m), 0.0)


def test_move_crowding_counts_a_rivals_fighters_where_a_mover_would_enter(tiny):
    """A lone fighter of A (room 2) and five of its rival B next door (room 11): counting B,
    going costs (5 + 1) / 11 > 1 / 2 and A stays; were B not counted, going would cost 1 / 11
    and A would go. B's fighters stay too (5 / 11 against (1 + 1) / 2)."""
    m = tiny.build(tiny.world(width=2, height=1, params=CROWD_ONLY))
    m.population[:] = [100, 1000]
    tiny.place(m, "A", 0, n=1)
    tiny.place(m, "B", 1, n=5)
    tiny.begin_week(m)
    rules.move(m)
    assert m.fighters.cell.tolist() == [0, 1, 1, 1, 1, 1]


def test_move_crowding_weighs_the_room_of_the_cell_a_mover_would_enter(tiny):
    """A lone fighter where there is room for 2 goes where there is room for 3 (1 / 3 < 1 / 2)
    and, from there, stays (1 / 3 against 1 / 2)."""
    m = tiny.build(tiny.world(width=2, height=1, params=CROWD_ONLY))
    m.population[:] = [100, 200]
    tiny.place(m, "A", 0, n=1)
    for _ in range(3):
        tiny.begin_week(m)
        rules.move(m)
        assert m.fighters.cell.tolist() == [1]


def test_move_crowding_takes_the_movers_in_a_random_order(tiny):
    """One fighter of A (first row) and one of B in a cell with no people (room 1), room 2 next
    door: whoever moves first goes ((0 + 1) / 2 against 2 / 1), the other then stays (a tie, 1
    against 1, which staying wins). Over seeds, each of them is sometimes the one who goes."""
    gone = set()
    for seed in range(12):
        m = tiny.build(tiny.world(width=2, height=1, params=CROWD_ONLY), seed=seed)
        m.population[:] = [0, 100]
        tiny.place(m, "A", 0, n=1)
        tiny.place(m, "B", 0, n=1)
        tiny.begin_week(m)
        rules.move(m)
        cells = m.fighters.cell.tolist()
        assert sorted(cells) == [0, 1], cells
        gone.add(m.group_names[int(m.fighters.group[cells.index(1)])])
    assert gone == {"A", "B"}


def test_move_crowding_spreads_a_crowd_that_its_own_numbers_hold_together(tiny):
    """100 fighters in the middle of a row of 9 cells, pulled together by their own numbers
    (w_own): without crowding they stay in one cell; with it they spread over the row."""
    most = {}
    for w_crowd in (0.0, 2.0):
        params = {"move_rate": 1.0, "w_own": 0.6, "w_opportunity": 0.0, "w_danger": 0.0,
                  "w_expand": 0.0, "move_noise": 0.5, "w_crowd": w_crowd,
                  "supply_ratio": 0.01}
        m = tiny.build(tiny.world(width=9, height=1, params=params,
                                  cell={"population": 1000}))
        tiny.place(m, "A", 4, n=100)
        for _ in range(10):
            m.step()
        per_cell = np.bincount(m.fighters.cell, minlength=m.n_cells)
        assert per_cell.sum() == 100
        most[w_crowd] = int(per_cell.max())
    assert most[0.0] == 100
    assert most[2.0] <= 40


def test_move_crowding_is_seen_as_the_movers_move_so_a_crowd_does_not_jump_as_a_body(tiny):
    """100 fighters in one of two cells alike in all else, all of them moving each week: had
    every mover read the crowd as it stood before anyone moved, all 100 would leave for the
    empty cell, and come back the week after; seen as the movers move, they split about evenly
    and stay split."""
    params = {"move_rate": 1.0, "w_own": 0.0, "w_opportunity": 0.0, "w_danger": 0.0,
              "w_expand": 0.0, "move_noise": 0.01, "w_crowd": 1.0, "supply_ratio": 0.01}
    m = tiny.build(tiny.world(width=2, height=1, params=params, cell={"population": 1000}))
    tiny.place(m, "A", 0, n=100)
    crowd, room = rules._crowding(m)   # before anyone moves, each of them would rather go
    assert crowd[0] / room[0] > (crowd[1] + 1) / room[1]
    split = []
    for _ in range(6):
        tiny.begin_week(m)
        rules.move(m)
        split.append(np.bincount(m.fighters.cell, minlength=2).tolist())
    assert all(sum(s) == 100 and abs(s[0] - s[1]) <= 2 for s in split), split
    # the fighters who moved: about none once the crowd is split (it does not slosh)
    before = m.fighters.cell.copy()
    tiny.begin_week(m)
    rules.move(m)
    assert np.count_nonzero(m.fighters.cell != before) <= 4


def test_move_crowding_counts_a_mover_in_the_cell_it_would_enter(tiny):
    """One fighter alone, two cells of the same room: staying costs w_crowd x 1 / room, going
    w_crowd x (0 + 1) / room, the same; with no other term and no noise the first maximum (its
    own cell) wins, so it stays. Of two fighters, the one who moves second sees the first's
    step."""
    params = {"move_rate": 1.0, "w_own": 0.0, "w_opportunity": 0.0, "w_danger": 0.0,
              "w_expand": 0.0, "move_noise": 0.0, "w_crowd": 1.0, "supply_ratio": 0.01}
    m = tiny.build(tiny.world(width=2, height=1, params=params, cell={"population": 100}))
    tiny.place(m, "A", 0, n=1)
    for _ in range(3):
        tiny.begin_week(m)
        rules.move(m)
        assert m.fighters.cell.tolist() == [0]
    m = tiny.build(tiny.world(width=2, height=1, params=params, cell={"population": 100}))
    tiny.place(m, "A", 0, n=2)
    # room 2 here and 3 next door: the first to move goes (cost 2 / 2 here, 1 / 3 there); the
    # second then stays (1 / 2 here against 2 / 3 there)
    m.population[:] = [100, 200]
    tiny.begin_week(m)
    rules.move(m)
    assert sorted(m.fighters.cell.tolist()) == [0, 1]


CONTROL = {"control_margin": 1.5, "control_min": 1.0, "firm_rate": 0.1, "erode_rate": 0.25,
           "tension_per_cell": 0.01, "claim_expansion": 1.0}


def _partner_ground(tiny, claim, relation=Relation.TRUCE, weeks=8):
    """B holds cells 0 and 1 firmly; A, B's truce partner, stands alone in cell 0 in force."""
    raw = tiny.world(width=2, height=1, params=CONTROL,
                     groups={"A": {"claim": claim}, "B": {}})
    m = tiny.build(raw)
    tiny.place(m, "A", 0, n=20)
    tiny.place(m, "B", 1, n=5)
    m.owner[:] = 1
    m.firmness[:] = 1.0
    tiny.set_relation(m, "A", "B", relation)
    owners, tension = [], []
    for _ in range(weeks):
        tiny.begin_week(m)
        rules.control_and_governance(m)
        owners.append(int(m.owner[0]))
        tension.append(m.tension[1, 0])
        if m.tally.cells_taken.any():
            taken = m.tally.cells_taken.copy()
    return m, owners, tension, (taken if m.owner[0] == 0 else None)


def test_a_claimant_takes_a_truce_partners_cell_and_the_partner_grows_tense(tiny):
    m, owners, tension, taken = _partner_ground(tiny, claim=1.0)
    # firmness 1 erodes at erode_rate x claim_expansion x claim: four weeks
    assert owners == [1, 1, 1, 0, 0, 0, 0, 0]
    assert taken[1, 0] == 1 and taken.sum() == 1
    # tension_per_cell x 100 x 1 cell / B's 2 cells, for B only
    assert tension[3] == pytest.approx(0.01 * 100 * 1 / 2) and tension[2] == 0.0
    assert m.tension[0, 1] == 0.0
    assert m.owner[1] == 1


def test_a_half_claim_takes_a_partners_cell_at_half_the_pace(tiny):
    _, owners, _, _ = _partner_ground(tiny, claim=0.5)
    assert owners == [1] * 7 + [0]


def test_a_non_claimant_partner_respects_the_partners_ground(tiny):
    m, owners, tension, taken = _partner_ground(tiny, claim=0.0, weeks=20)
    assert owners == [1] * 20 and m.firmness[0] == 1.0
    assert taken is None and max(tension) == 0.0


def test_a_rival_takes_the_cell_and_no_tension_arises(tiny):
    m, owners, tension, taken = _partner_ground(tiny, claim=0.0, relation=Relation.RIVALRY)
    assert owners[:4] == [1, 1, 1, 0] and taken[1, 0] == 1
    assert max(tension) == 0.0


def _held_cell(tiny, hold, challengers, weeks=12, administration=1.0, reach=2):
    """B holds cell 0 firmly with no fighter in it; A, B's rival, stands there with
    ``challengers`` fighters; B's administration adds hold x administration x firmness to B's
    strength."""
    raw = tiny.world(width=2, height=1, params={**CONTROL, "hold_strength": hold,
                                                "admin_reach": reach},
                     groups={"A": {"administration": 1.0},
                             "B": {"administration": administration}})
    m = tiny.build(raw)
    tiny.place(m, "A", 0, n=challengers)
    tiny.place(m, "B", 1, n=5)
    m.owner[:] = 1
    m.firmness[:] = 1.0
    tiny.set_relation(m, "A", "B", Relation.RIVALRY)
    owners = []
    for _ in range(weeks):
        tiny.begin_week(m)
        rules.control_and_governance(m)
        owners.append(int(m.owner[0]))
    return owners


def test_without_hold_strength_a_lone_fighter_takes_an_empty_held_cell(tiny):
    # firmness 1 erodes at erode_rate 0.25 a week: the cell falls in the fourth week
    assert _held_cell(tiny, hold=0.0, challengers=1)[:4] == [1, 1, 1, 0]


def test_hold_strength_keeps_a_held_cell_from_a_weak_challenger_not_from_a_strong_one(tiny):
    # B's strength in cell 0 is hold x firmness = 4: 5 fighters fall short of the 1.5 margin
    assert _held_cell(tiny, hold=4.0, challengers=5) == [1] * 12
    # 7 fighters clear it (7 >= 1.5 x 4) and erode the control; as firmness falls, the
    # holder's strength falls with it: the cell falls in the fourth week
    assert _held_cell(tiny, hold=4.0, challengers=7)[:4] == [1, 1, 1, 0]
    # half an administration holds half as much: 5 fighters now clear 1.5 x 2
    assert _held_cell(tiny, hold=4.0, challengers=5, administration=0.5)[:4] == [1, 1, 1, 0]
    assert _held_cell(tiny, hold=4.0, challengers=2, administration=0.5) == [1] * 12


def test_a_group_without_an_administration_holds_only_with_its_fighters(tiny):
    assert _held_cell(tiny, hold=4.0, challengers=1, administration=0.0)[:4] == [1, 1, 1, 0]


def test_an_administration_holds_only_with_its_fighters_in_reach(tiny):
    # B's fighters stand in the next cell: within a reach of 1 its administration holds the
    # cell, with a reach of 0 (a fighter in the cell itself) it does not
    assert _held_cell(tiny, hold=4.0, challengers=5, reach=1) == [1] * 12
    assert _held_cell(tiny, hold=4.0, challengers=5, reach=0)[:4] == [1, 1, 1, 0]


# =============================================================================================
# State and outside forces: ground offensives take ground, strikes only kill
# =============================================================================================
def _front(tiny, ground=None, strike=None, weeks=12, seed=2, security=0.0):
    """A 5x1 strip; A holds cells 1-4 with 4 fighters each, cell 0 is open; an offensive (or a
    strike campaign) against A from week 1."""
    timeline = []
    if ground is not None:
        timeline.append({"week": 1, "event": "ground_offensive", "zone": "all",
                         "targets": ["A"], "strength": ground})
    if strike is not None:
        timeline.append({"week": 1, "event": "intervention", "zone": "all",
                         "targets": ["A"], "strength": strike})
    raw = tiny.world(width=5, height=1, timeline=timeline, cell={"security": security},
                     params={**CONTROL, "control_min": 2.0, "ground_lethality": 0.2,
                             "ground_garrison": 5.0, "strike_lethality": 0.01,
                             "strike_territory_weight": 0.0, "leader_kill_rate": 0.0,
                             "state_governance_weight": 1.0, "intervention_scale": 1.0})
    m = tiny.build(raw, seed=seed)
    for c in range(1, 5):
        tiny.place(m, "A", c, n=4)
    tiny.place(m, "B", 0, n=1)    # not a target; too weak to hold cell 0 (control_min 2)
    m.owner[:] = [NO_OWNER, 0, 0, 0, 0]
    m.firmness[:] = [0.0, 0.5, 0.5, 0.5, 0.5]
    history = []
    for _ in range(weeks):
        m.step()
        history.append(m.owner.copy())
    return m, np.array(history)


def test_a_ground_offensive_spreads_over_the_front_and_counts_in_state_strength(tiny):
    m, _ = _front(tiny, ground=40.0, weeks=1)
    # the front: A's cells touching a cell A does not hold (only cell 1)
    np.testing.assert_allclose(m.ground, [0, 40.0, 0, 0, 0])
    np.testing.assert_allclose(m.state_strength(), m.ground)      # no security anywhere
    # two fronts share the force
    m.owner[3] = NO_OWNER
    rules.ground_forces(m)
    np.testing.assert_allclose(m.ground, [0, 40 / 3, 40 / 3, 0, 40 / 3])


def test_a_ground_offensive_retakes_cells_garrisons_them_and_kills_defenders(tiny):
    m, history = _front(tiny, ground=40.0, weeks=16)
    # control of cell 1 (0.5, firming at 0.1) erodes at 0.25 a week once the force is there
    # (deployed at the end of week 1): it falls to the state in week 4
    assert (history[:3, 1] == 0).all() and (history[3:, 1] == STATE).all()
    # the front then moves on, cell by cell, and what the state retakes it keeps
    fell = [int(np.argmax(history[:, c] == STATE)) for c in range(1, 5)]
    assert all((history[w:, c + 1] == STATE).all() for c, w in enumerate(fell))
    assert fell == sorted(fell) and fell[1] > fell[0] and (history[-1, 1:] == STATE).all()
    np.testing.assert_allclose(m.security, [0, 5, 5, 5, 5])   # garrisons of ground_garrison
    assert history[-1, 0] == NO_OWNER
    steps = m.results().steps
    assert steps["deaths_ground.A"].sum() > 0 and steps["deaths_ground.B"].sum() == 0
    assert tiny.count(m, "A") == 16 - steps["deaths_ground.A"].sum()
    assert steps["deaths"].sum() == steps["deaths_ground.A"].sum()
    assert tiny.count(m, "B") == 1


def _axes_front(tiny, axes, seed, weeks=14):
    """A 7x1 strip; A holds cells 1-5 with 4 fighters each, cells 0 and 6 are open: two fronts
    (cells 1 and 5). An offensive of strength 40 on ``axes`` axes from week 1."""
    timeline = [{"week": 1, "event": "ground_offensive", "zone": "all", "targets": ["A"],
                 "strength": 40.0, "axes": axes}]
    raw = tiny.world(width=7, height=1, timeline=timeline,
                     params={**CONTROL, "control_min": 2.0, "ground_lethality": 0.2,
                             "ground_garrison": 5.0, "leader_kill_rate": 0.0,
                             "state_governance_weight": 1.0, "intervention_scale": 1.0})
    m = tiny.build(raw, seed=seed)
    for c in range(1, 6):
        tiny.place(m, "A", c, n=4)
    m.owner[:] = [NO_OWNER, 0, 0, 0, 0, 0, NO_OWNER]
    m.firmness[:] = [0.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0]
    ground, owners = [], []
    for _ in range(weeks):
        m.step()
        ground.append(m.ground.copy())
        owners.append(m.owner.copy())
    return np.array(ground), np.array(owners)


def test_a_ground_offensive_on_one_axis_concentrates_and_advances_from_a_random_front(tiny):
    opened = set()
    for seed in range(8):
        ground, owners = _axes_front(tiny, axes=1, seed=seed)
        active = ground[ground.sum(1) > 0]
        # the whole force on one cell a week, never spread over both fronts
        assert ((active > 0).sum(1) == 1).all() and np.allclose(active.sum(1), 40.0)
        first = int(np.flatnonzero(active[0])[0])
        assert first in (1, 5)
        opened.add(first)
        # it advances from where it opened: the cells fall in order from that end, and the
        # far front holds until the axis reaches it
        order = [1, 2, 3, 4, 5] if first == 1 else [5, 4, 3, 2, 1]
        fell = [int(np.argmax(owners[:, c] == STATE)) if (owners[:, c] == STATE).any()
                else len(owners) for c in order]
        assert fell[0] < fell[1] < fell[2] and fell[0] < len(owners)
        assert (owners[: fell[1], order[-1]] == 0).all()
    assert opened == {1, 5}, "the axis opens at a front drawn at random, not always the same"


def test_a_ground_offensive_without_axes_spreads_over_both_fronts(tiny):
    ground, _ = _axes_front(tiny, axes=0, seed=0, weeks=1)
    np.testing.assert_allclose(ground[0], [0, 20.0, 0, 0, 0, 20.0, 0])


def test_two_axes_open_at_both_fronts_advance_toward_each_other_and_merge(tiny):
    ground, owners = _axes_front(tiny, axes=2, seed=0, weeks=30)
    np.testing.assert_allclose(ground[0], [0, 20.0, 0, 0, 0, 20.0, 0])
    active = ground[ground.sum(1) > 0]
    assert np.allclose(active.sum(1), 40.0)
    # both ends fall before the middle, and once the axes meet they push on one cell
    fell = [int(np.argmax(owners[:, c] == STATE)) for c in range(1, 6)]
    assert max(fell[0], fell[4]) < fell[2] and (owners[-1, 1:6] == STATE).all()
    assert ((active > 0).sum(1) == 1).any()


def test_without_a_ground_offensive_the_state_takes_nothing(tiny):
    m, history = _front(tiny, ground=None)
    assert (history == [NO_OWNER, 0, 0, 0, 0]).all()
    assert not m.ground.any() and len(m.fighters) == 17
    assert m.results().steps["deaths_ground.A"].sum() == 0


def test_strikes_alone_kill_but_do_not_hand_ground_to_the_state(tiny):
    m, history = _front(tiny, strike=5.0, weeks=20)
    steps = m.results().steps
    assert steps["deaths_strike.A"].sum() > 4
    assert not (history == STATE).any(), "strikes took ground for the state"
    assert steps["deaths_ground.A"].sum() == 0
    # with the same strikes and a ground offensive, the state does take ground
    _, with_ground = _front(tiny, strike=5.0, ground=40.0, weeks=20)
    assert (with_ground[-1] == STATE).any()


def test_the_levy_recruits_in_held_ground_by_coercion_or_support_and_not_elsewhere(tiny):
    """levy_rate: in each cell a group holds, Binomial(P_c, levy_rate (kappa_g + (1 - kappa_g)
    phi_gc)) civilians enlist; a coercive group conscripts without support, a group that
    builds support first recruits only where it has it; nothing in ground no one holds."""
    raw = tiny.world(width=3, height=1, cell={"population": 20000},
                     groups={"A": {"coercion": 1.0}, "B": {"coercion": 0.0}},
                     params={"levy_rate": 0.002})
    m = tiny.build(raw)
    a, b = tiny.gidx(m, "A"), tiny.gidx(m, "B")
    tiny.place(m, "A", (0, 0)), tiny.place(m, "B", (2, 0))
    m.owner[0], m.owner[2] = a, b
    m.support[:] = 0.0
    tiny.begin_week(m)
    rules.levy(m)
    got_a, got_b = tiny.count(m, "A", (0, 0)) - 1, tiny.count(m, "B", (2, 0)) - 1
    assert 20 <= got_a <= 60            # Binomial(20000, 0.002): 40 expected
    assert got_b == 0                   # no coercion, no support: no one enlists
    assert tiny.count(m, where=(1, 0)) == 0
    assert m.population[0] == 20000 - got_a and m.population[1] == m.population[2] == 20000
    assert m.tally.recruits[a] == got_a
    m.support[b, 2] = 1.0               # the same group where the village supports it
    tiny.begin_week(m)
    rules.levy(m)
    assert 20 <= tiny.count(m, "B", (2, 0)) - 1 <= 60
    # the ground lost, the recruits with it
    m.owner[:] = -1
    n = len(m.fighters)
    tiny.begin_week(m)
    rules.levy(m)
    assert len(m.fighters) == n


def test_the_levy_is_off_at_zero_and_takes_no_draw(tiny):
    raw = tiny.world(width=2, height=1, cell={"population": 20000},
                     groups={"A": {"coercion": 1.0}}, params={"levy_rate": 0.0})
    m = tiny.build(raw)
    tiny.place(m, "A", (0, 0))
    m.owner[0] = 0
    state = m.rng.bit_generator.state
    tiny.begin_week(m)
    rules.levy(m)
    assert m.rng.bit_generator.state == state and len(m.fighters) == 1
