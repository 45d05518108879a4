"""Unit tests of each submodel on tiny hand-made worlds.

Each test switches on the rule under test in a *quiet* world (every other rate zero, see
``conftest.QUIET``), places fighters by hand and asserts the rule's effect: a treatment against
a control with the same seed (common random numbers), or an exact value when the rule is
deterministic. Parameters are explicit, so calibration of the defaults cannot break these tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.core import rules
from sim.core.enums import NO_OWNER, STATE, Relation

# =============================================================================================
# Mobilise
# =============================================================================================
MOBILISE = {"candidate_rate": 0.01, "hardship_sd": 0.05, "threshold": 0.1, "vision": 1,
            "recruit_reach": 3, "arrest_k": 2.3}


def _recruits(tiny, cell, params=None, seed=1, weeks=2):
    """Recruits over a few weeks on a 3x3 map of 10,000 people per cell, 5 fighters of A."""
    raw = tiny.world(cell={"population": 10_000, **cell}, params={**MOBILISE, **(params or {})})
    m = tiny.build(raw, seed=seed)
    tiny.place(m, "A", (1, 1), n=5)
    total = 0
    for _ in range(weeks):
        tiny.begin_week(m)
        rules.mobilise(m)
        total += int(m.tally.recruits.sum())
    return total, m


def test_mobilise_more_hardship_more_recruits(tiny):
    low, _ = _recruits(tiny, {"hardship": 0.08, "governance": 0.5})
    high, _ = _recruits(tiny, {"hardship": 0.8, "governance": 0.5})
    assert high > 1000, high          # G = 0.4 > T for nearly every candidate
    assert low < 0.05 * high, (low, high)


def test_mobilise_lower_governance_more_recruits(tiny):
    good, _ = _recruits(tiny, {"hardship": 0.8, "governance": 0.9})
    weak, _ = _recruits(tiny, {"hardship": 0.8, "governance": 0.2})
    assert weak > 1000, weak
    assert good < 0.05 * weak, (good, weak)


def test_mobilise_higher_security_fewer_recruits(tiny):
    base = {"hardship": 0.8, "governance": 0.5}
    # one week: this week's recruits would dilute next week's perceived risk
    free, _ = _recruits(tiny, {**base, "security": 0.0}, weeks=1)
    policed, _ = _recruits(tiny, {**base, "security": 10.0}, weeks=1)
    # no security: P = 0, everyone with G > T goes; heavy security: P ~ 1, only R < G - T ~ 0.3
    assert free > 600
    assert policed < 0.45 * free, (policed, free)
    assert policed > 0.15 * free, (policed, free)


def test_mobilise_population_decreases_by_recruits(tiny):
    raw = tiny.world(cell={"population": 10_000, "hardship": 0.8, "governance": 0.3},
                     params=MOBILISE)
    m = tiny.build(raw, seed=3)
    tiny.place(m, "A", (1, 1), n=5)
    before_pop = m.population.copy()
    before_cells = np.bincount(m.fighters.cell, minlength=m.n_cells)
    tiny.begin_week(m)
    rules.mobilise(m)
    new_cells = np.bincount(m.fighters.cell, minlength=m.n_cells) - before_cells
    assert m.tally.recruits.sum() > 0
    assert new_cells.sum() == m.tally.recruits.sum() == len(m.fighters) - 5
    np.testing.assert_array_equal(before_pop - m.population, new_cells)


def test_mobilise_no_group_in_reach_is_latent(tiny):
    # 5x1 map: A's fighters at x=0, reach 1; people live at x=1 (in reach) and x=4 (out of reach)
    raw = tiny.world(width=5, height=1, cell={"hardship": 0.8, "governance": 0.2},
                     zones={"near": {"rect": [1, 0, 1, 0], "population": 10_000},
                            "far": {"rect": [4, 0, 4, 0], "population": 10_000}},
                     params={**MOBILISE, "recruit_reach": 1})
    m = tiny.build(raw, seed=2)
    tiny.place(m, "A", (0, 0), n=5)
    tiny.begin_week(m)
    rules.mobilise(m)
    assert m.tally.latent > 50                     # the far cell's would-be recruits stay home
    assert m.tally.recruits.sum() > 50
    assert tiny.count(m, where=(4, 0)) == 0        # no recruit appears out of reach
    assert m.population[4] == 10_000               # latent candidates do not leave
    assert tiny.count(m, where=(1, 0)) == m.tally.recruits.sum()
    assert m.population[1] == 10_000 - m.tally.recruits.sum()


def test_mobilise_no_group_at_all_recruits_no_one(tiny):
    raw = tiny.world(width=5, height=1, cell={"population": 10_000, "hardship": 0.8,
                                              "governance": 0.2},
                     params={**MOBILISE, "recruit_reach": 1})
    m = tiny.build(raw, seed=2)
    tiny.place(m, "A", (0, 0), n=5)
    m.group_alive[0] = False            # a destroyed group recruits no one
    tiny.begin_week(m)
    rules.mobilise(m)
    assert m.tally.recruits.sum() == 0
    assert m.tally.latent > 100
    assert (m.population == 10_000).all()


def test_mobilise_joins_only_groups_in_reach(tiny):
    raw = tiny.world(width=5, height=1, cell={"hardship": 0.8, "governance": 0.2},
                     zones={"west": {"rect": [0, 0, 0, 0], "population": 10_000},
                            "east": {"rect": [4, 0, 4, 0], "population": 10_000}},
                     params={**MOBILISE, "recruit_reach": 1})
    m = tiny.build(raw, seed=4)
    tiny.place(m, "A", (0, 0), n=5)
    tiny.place(m, "B", (4, 0), n=5)
    tiny.begin_week(m)
    rules.mobilise(m)
    F = m.fighters
    assert m.tally.recruits.min() > 20
    assert (F.group[F.cell == 0] == 0).all()
    assert (F.group[F.cell == 4] == 1).all()


def test_mobilise_candidates_prefer_the_closer_doctrine(tiny):
    raw = tiny.world(cell={"population": 10_000, "hardship": 0.8, "governance": 0.2,
                           "takfir": 0.1, "coercion": 0.1},
                     groups={"A": {"takfir": 0.9, "coercion": 0.9, "momentum": 0.2},
                             "B": {"takfir": 0.1, "coercion": 0.1, "momentum": 0.2}},
                     params={**MOBILISE, "ideology_sd": 0.05, "w_affinity": 1.0,
                             "w_momentum": 1.0, "w_support": 0.0, "choice_temperature": 0.15})
    m = tiny.build(raw, seed=5)
    tiny.place(m, "A", (1, 1), n=5)
    tiny.place(m, "B", (1, 1), n=5)
    tiny.begin_week(m)
    rules.mobilise(m)
    a, b = m.tally.recruits
    assert b > 500 and a < 0.05 * b, (a, b)


def test_foreign_fighters_arrive_where_the_group_holds_ground(tiny):
    raw = tiny.world(width=4, height=1, zones={"home": {"rect": [3, 0, 3, 0]}},
                     groups={"A": {"foreign_inflow": 5.0, "zone": "home"}, "B": {}})
    m = tiny.build(raw, seed=3)
    tiny.place(m, "A", (1, 0), n=5)
    tiny.place(m, "B", (0, 0), n=5)
    total = 0
    # holding no ground, volunteers come to the start zone
    for _ in range(10):
        tiny.begin_week(m)
        rules.mobilise(m)
        total += int(m.tally.recruits[0])
        assert m.tally.recruits[1] == 0
    assert 25 < total < 80 and tiny.count(m, "A", (3, 0)) == total
    # holding cell 1, they come there
    m.owner[1] = 0
    for _ in range(10):
        tiny.begin_week(m)
        rules.mobilise(m)
    assert tiny.count(m, "A", (1, 0)) > 5 + 25
    assert tiny.count(m, "A", (3, 0)) == total
    assert len(m.agents) == len(m.fighters)
    # a destroyed group gets no one
    m.group_alive[0] = False
    before = tiny.count(m, "A")
    tiny.begin_week(m)
    rules.mobilise(m)
    assert tiny.count(m, "A") == before


# =============================================================================================
# Socialise
# =============================================================================================
def test_socialise_restriction_raises_frustration(tiny):
    raw = tiny.world(width=2, height=1, zones={"z": {"rect": [0, 0, 0, 0]}},
                     params={"frustration_rate": 0.1, "frustration_rival_factor": 0.0,
                             "frustration_relax": 0.01, "vision": 0})
    m = tiny.build(raw)
    restricted = tiny.place(m, "A", (0, 0), n=10)
    free = tiny.place(m, "A", (1, 0), n=10)
    m.set_restriction("A", "z", 0.8)
    tiny.begin_week(m)
    rules.socialise(m)
    F = m.fighters
    f_r = F.frustration[F.row_of[restricted]]
    f_f = F.frustration[F.row_of[free]]
    np.testing.assert_allclose(f_r, 0.1 * 0.8)    # f += rate r (1 - f), no relief while restricted
    np.testing.assert_allclose(f_f, 0.0)
    for _ in range(30):
        rules.socialise(m)
    assert (F.frustration[F.row_of[restricted]] > 0.8).all()
    assert (F.frustration[F.row_of[free]] == 0).all()


def test_socialise_seen_rival_operations_raise_frustration_faster(tiny):
    raw = tiny.world(width=3, height=1, params={"frustration_rate": 0.1, "vision": 0,
                                                "frustration_rival_factor": 2.0,
                                                "activity_scale": 3.0})
    m = tiny.build(raw)
    seeing = tiny.place(m, "A", (0, 0), n=5)
    own_ops = tiny.place(m, "A", (1, 0), n=5)
    quiet = tiny.place(m, "A", (2, 0), n=5)
    m.set_restriction("A", "all", 1.0)
    m.prev_ops[1, 0] = 60.0       # rival B operated in cell 0 last week
    m.prev_ops[0, 1] = 60.0       # A's own operations in cell 1 do not count
    tiny.begin_week(m)
    rules.socialise(m)
    F = m.fighters
    f_seeing = F.frustration[F.row_of[seeing]]
    f_quiet = F.frustration[F.row_of[quiet]]
    np.testing.assert_allclose(f_quiet, 0.1)
    np.testing.assert_allclose(f_seeing, 0.1 * (1 + 2.0 * (1 - np.exp(-60 / 3.0))))
    np.testing.assert_allclose(F.frustration[F.row_of[own_ops]], f_quiet)


def test_socialise_fighting_lowers_frustration(tiny):
    raw = tiny.world(width=1, height=1, params={"frustration_decay": 0.3,
                                                "frustration_relax": 0.01})
    m = tiny.build(raw)
    fought = tiny.place(m, "A", 0, n=4, frustration=0.5)
    idle = tiny.place(m, "A", 0, n=4, frustration=0.5)
    m.fighters.fought[m.fighters.row_of[fought]] = True
    tiny.begin_week(m)
    rules.socialise(m)
    F = m.fighters
    np.testing.assert_allclose(F.frustration[F.row_of[fought]], 0.5 * 0.7)
    np.testing.assert_allclose(F.frustration[F.row_of[idle]], 0.5 * 0.99)
    assert not F.fought.any()          # the flag is for one week only


# hostility (propaganda through the doctrine's takfir, relaxation, contact under truce): see
# test_mechanisms.py


def test_socialise_ideology_drifts_toward_doctrine(tiny):
    raw = tiny.world(width=2, height=1,
                     groups={"A": {"takfir": 0.9, "coercion": 0.1, "propaganda": 0.5},
                             "B": {"takfir": 0.9, "coercion": 0.1, "propaganda": 0.0}},
                     params={"ideology_rate": 0.1})
    m = tiny.build(raw)
    a = tiny.place(m, "A", (0, 0), n=3, takfir=0.1, coercion=0.9)
    b = tiny.place(m, "B", (1, 0), n=3, takfir=0.1, coercion=0.9)
    tiny.begin_week(m)
    rules.socialise(m)
    F = m.fighters
    ra, rb = F.row_of[a], F.row_of[b]
    np.testing.assert_allclose(F.takfir[ra], 0.1 + 0.05 * 0.8)
    np.testing.assert_allclose(F.coercion[ra], 0.9 - 0.05 * 0.8)
    np.testing.assert_allclose(F.takfir[rb], 0.1)       # no propaganda, no drift
    dist = []
    for _ in range(20):
        rules.socialise(m)
        dist.append(np.hypot(F.takfir[ra] - 0.9, F.coercion[ra] - 0.1).mean())
    assert all(np.diff(dist) < 0) and dist[-1] < 0.5


def test_socialise_commitment_follows_momentum_and_cohesion(tiny):
    raw = tiny.world(width=2, height=1,
                     groups={"A": {"momentum": 1.0, "cohesion": 1.0},
                             "B": {"momentum": 0.0, "cohesion": 0.5}},
                     params={"commitment_rate": 0.5, "commitment_base": 0.5})
    m = tiny.build(raw)
    tiny.place(m, "A", (0, 0), n=3, commitment=0.6)
    tiny.place(m, "B", (1, 0), n=3, commitment=0.6)
    for _ in range(40):
        rules.socialise(m)
    F = m.fighters
    # c* = cohesion (base + (1 - base) mu): A -> 1.0, B -> 0.25
    np.testing.assert_allclose(F.commitment[F.group == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(F.commitment[F.group == 1], 0.25, atol=1e-6)


def test_frustration_stays_a_share_for_any_valid_parameters(tiny):
    """Frustration is a share in [0, 1] even at the top of the allowed parameter ranges.

    f += frustration_rate r (1 + rival_factor a) (1 - f) overshoots 1 when
    frustration_rate (1 + rival_factor a) > 1 (both parameters are allowed that high).
    """
    raw = tiny.world(width=1, height=1, params={"frustration_rate": 0.5, "vision": 0,
                                                "frustration_rival_factor": 2.0,
                                                "activity_scale": 1.0})
    m = tiny.build(raw)
    tiny.place(m, "A", 0, n=3, frustration=0.0)
    m.set_restriction("A", "all", 1.0)
    m.prev_ops[1, 0] = 100.0
    tiny.begin_week(m)
    rules.socialise(m)
    f = m.fighters.frustration
    assert ((f >= 0) & (f <= 1)).all(), f


# =============================================================================================
# Move
# =============================================================================================
MOVE = {"move_rate": 1.0, "w_own": 0.0, "w_opportunity": 0.0, "w_expand": 0.0,
        "w_danger": 1.5, "move_noise": 0.5}


def test_move_avoids_strong_hostile_presence(tiny):
    def left_share(hostility):
        raw = tiny.world(width=3, height=1, params=MOVE)
        m = tiny.build(raw, seed=11)
        tiny.place(m, "B", (0, 0), n=50)
        tiny.place(m, "A", (1, 0), n=60)
        tiny.set_relation(m, "A", "B", Relation.WAR, hostility=hostility)
        tiny.begin_week(m)
        rules.move(m)
        return tiny.count(m, "A", (0, 0))

    assert left_share(1.0) == 0          # danger 100/101 x 1.5 > the whole noise range
    assert left_share(0.0) > 8           # without hostility about a third go left


def _defenders(tiny, w_defend, threat=True, seed=11):
    """B holds cells 0-2 of a 4x1 strip with 60 fighters in cell 1; A (at war with B) stands
    in cell 3, next to B's cell 2 (or nowhere): how many of B's fighters step into cell 2."""
    raw = tiny.world(width=4, height=1, params={**MOVE, "w_defend": w_defend})
    m = tiny.build(raw, seed=seed)
    tiny.place(m, "B", 1, n=60)
    if threat:
        tiny.place(m, "A", 3, n=40)
    m.owner[:3] = tiny.gidx(m, "B")
    tiny.set_relation(m, "A", "B", Relation.WAR, hostility=1.0)
    tiny.begin_week(m)
    rules.move(m)
    return tiny.count(m, "B", 2)


def test_move_fighters_stand_to_defend_their_threatened_ground(tiny):
    # cell 2 carries no danger of its own (A is next door): without w_defend a third of the
    # movers go there by noise; with it, B's cell under threat draws most of them
    plain, defend = _defenders(tiny, 0.0), _defenders(tiny, 1.5)
    assert 10 < plain < 30 and defend > 45
    # no threat, no pull: the same weight leaves the fighters to the noise
    assert 10 < _defenders(tiny, 1.5, threat=False) < 30


def test_move_truce_partners_are_not_a_danger(tiny):
    raw = tiny.world(width=3, height=1, params=MOVE)
    m = tiny.build(raw, seed=11)
    tiny.place(m, "B", (0, 0), n=50)
    tiny.place(m, "A", (1, 0), n=60)
    tiny.set_relation(m, "A", "B", Relation.TRUCE, hostility=1.0)
    tiny.begin_week(m)
    rules.move(m)
    assert tiny.count(m, "A", (0, 0)) > 8


def test_move_restricted_fighters_never_leave_their_zone(tiny):
    raw = tiny.world(width=5, height=1, cell={"governance": 0.0},
                     zones={"pocket": {"rect": [0, 0, 1, 0], "governance": 1.0}},
                     params={**MOVE, "w_opportunity": 3.0, "security_scale": 10.0})
    m = tiny.build(raw, seed=5)
    tiny.place(m, "A", (1, 0), n=40)
    tiny.place(m, "B", (1, 0), n=40)
    m.set_restriction("A", "pocket", 0.5)
    for _ in range(20):
        tiny.begin_week(m)
        rules.move(m)
        F = m.fighters
        assert (F.cell[F.group == 0] <= 1).all()
    # the same pull takes the unrestricted group out of the pocket
    assert tiny.count(m, "B") - tiny.count(m, "B", 0) - tiny.count(m, "B", 1) > 30
    # and restricted fighters still move inside their zone
    assert 0 < tiny.count(m, "A", 0) < 40


def test_move_routed_fighters_leave_their_cell(tiny):
    raw = tiny.world(params={**MOVE, "move_rate": 0.0, "w_own": 5.0})
    m = tiny.build(raw, seed=2)
    routed = tiny.place(m, "A", (1, 1), n=10)
    stay = tiny.place(m, "A", (1, 1), n=20)
    F = m.fighters
    F.routed[F.row_of[routed]] = True
    tiny.begin_week(m)
    rules.move(m)
    assert (F.cell[F.row_of[routed]] != 4).all()
    assert (F.cell[F.row_of[stay]] == 4).all()
    assert not F.routed.any()


def test_move_routed_fighter_on_a_single_cell_map_stays(tiny):
    m = tiny.build(tiny.world(width=1, height=1, params=MOVE), seed=2)
    fids = tiny.place(m, "A", 0, n=3)
    m.fighters.routed[:] = True
    rules.move(m)
    assert (m.fighters.cell[m.fighters.row_of[fids]] == 0).all()


def test_move_steps_to_moore_neighbours_and_never_off_the_map(tiny):
    W, H = 4, 3
    raw = tiny.world(width=W, height=H, params={**MOVE, "move_noise": 5.0})
    m = tiny.build(raw, seed=9)
    rng = np.random.default_rng(0)
    for c in rng.integers(0, W * H, 200):
        tiny.place(m, "A" if c % 2 else "B", int(c))
    moved = 0
    for _ in range(30):
        before = m.fighters.cell.copy()
        tiny.begin_week(m)
        rules.move(m)
        after = m.fighters.cell
        assert ((after >= 0) & (after < W * H)).all()
        dx = np.abs(after % W - before % W)
        dy = np.abs(after // W - before // W)
        assert (dx <= 1).all() and (dy <= 1).all()       # no jump, no wrap-around (not a torus)
        moved += int((after != before).sum())
    assert moved > 1000


# =============================================================================================
# Operate
# =============================================================================================
OPERATE = {"op_rate": 1.0, "security_per_hit": 0.5, "state_lethality": 0.0}


def test_operate_hits_reduce_security(tiny):
    raw = tiny.world(width=3, height=1, zones={"post": {"rect": [1, 0, 1, 0], "security": 50.0}},
                     params=OPERATE)
    m = tiny.build(raw, seed=1)
    tiny.place(m, "A", (1, 0), n=40)
    tiny.place(m, "A", (0, 0), n=10)      # no state forces here: nothing to attack
    tiny.begin_week(m)
    rules.operate(m)
    hits = m.tally.hits[0, 1]
    assert m.tally.ops[0, 1] == 40 and m.tally.ops[0, 0] == 0
    assert 5 < hits < 40
    assert m.security[1] == pytest.approx(50.0 - 0.5 * hits)
    assert m.security[0] == 0.0 and m.tally.hits[0, 0] == 0
    assert m.fighters.fought[m.fighters.cell == 1].all()
    assert not m.fighters.fought[m.fighters.cell == 0].any()


def test_operate_security_never_negative(tiny):
    raw = tiny.world(width=1, height=1, cell={"security": 1.0},
                     params={**OPERATE, "security_per_hit": 100.0})
    m = tiny.build(raw, seed=1)
    tiny.place(m, "A", 0, n=100)
    tiny.begin_week(m)
    rules.operate(m)
    assert m.tally.hits.sum() > 0
    assert m.security[0] == 0.0


def test_operate_restricted_fighters_attack_less(tiny):
    def ops(level):
        raw = tiny.world(width=1, height=1, cell={"security": 50.0}, params=OPERATE)
        m = tiny.build(raw, seed=3)
        tiny.place(m, "A", 0, n=300)
        if level:
            m.set_restriction("A", "all", level)
        tiny.begin_week(m)
        rules.operate(m)
        return m.tally.ops.sum(), m.tally.hits.sum()

    ops_free, hits_free = ops(0.0)
    ops_restricted, hits_restricted = ops(0.9)
    assert ops_free == 300
    assert 10 < ops_restricted < 60            # about 1 - r = 10% act
    assert hits_restricted < 0.3 * hits_free


def test_operate_joint_operations_under_truce_raise_hit_rate(tiny):
    def hits(relation):
        raw = tiny.world(width=5, height=5, cell={"security": 30.0}, params=OPERATE)
        m = tiny.build(raw, seed=8)
        for c in range(25):
            tiny.place(m, "A", c, n=30)
            tiny.place(m, "B", c, n=30)
        tiny.set_relation(m, "A", "B", relation)
        tiny.begin_week(m)
        rules.operate(m)
        return m.tally.hits.sum(), m.tally.ops.sum()

    joint, ops_joint = hits(Relation.TRUCE)
    alone, ops_alone = hits(Relation.RIVALRY)
    assert ops_joint == ops_alone == 1500
    # odds 60 / 90 under truce against 30 / 60 alone
    assert joint / ops_joint == pytest.approx(2 / 3, abs=0.05)
    assert alone / ops_alone == pytest.approx(1 / 2, abs=0.05)
    assert joint > alone * 1.2


def test_operate_higher_security_kills_more(tiny):
    def deaths(security):
        raw = tiny.world(width=5, height=1, cell={"security": security},
                         params={**OPERATE, "op_rate": 0.0, "state_lethality": 1.0,
                                 "passive_exposure": 1.0})
        m = tiny.build(raw, seed=4)
        for c in range(5):
            tiny.place(m, "A", c, n=40)
        tiny.begin_week(m)
        rules.operate(m)
        assert m.tally.deaths_state.sum() == 200 - len(m.fighters)
        assert len(m.agents) == len(m.fighters)
        return int(m.tally.deaths_state.sum())

    low, high = deaths(2.0), deaths(30.0)
    assert high > 60 and low < 25 and high > 3 * low, (low, high)


def test_operate_attackers_draw_the_fire(tiny):
    # one cell, 100 passive fighters (restricted) and 100 attackers: the hazard is
    # S x_i / max(1, X), so an attacker is 1 / passive_exposure = 10 times as exposed
    raw = tiny.world(width=1, height=1, cell={"security": 50.0},
                     params={"op_rate": 0.0, "state_lethality": 1.0, "passive_exposure": 0.1})
    m = tiny.build(raw, seed=4)
    tiny.place(m, "A", 0, n=100)
    tiny.place(m, "B", 0, n=100)
    m.set_restriction("A", "all", 1.0)
    tiny.begin_week(m)
    rules.operate(m)
    dead_passive = 100 - tiny.count(m, "A")
    dead_active = 100 - tiny.count(m, "B")
    assert dead_active > 20 and dead_active > 3 * dead_passive, (dead_passive, dead_active)


# =============================================================================================
# Interact
# =============================================================================================
CLASH = {"clash_kappa": 0.02, "clash_lethality": 0.0, "war_clash_factor": 3.0}


def _clash_count(tiny, relation, hostility, weeks=60, params=None):
    raw = tiny.world(width=5, height=5, params={**CLASH, **(params or {})})
    m = tiny.build(raw, seed=6)
    for c in range(25):
        tiny.place(m, "A", c, n=5)
        tiny.place(m, "B", c, n=5)
    tiny.set_relation(m, "A", "B", relation, hostility=hostility)
    total = 0
    for _ in range(weeks):
        tiny.begin_week(m)
        rules.interact(m)
        assert m.tally.clashes[0, 1] == m.tally.clashes[1, 0]
        total += int(m.tally.clashes[0, 1])
    return total


def test_interact_higher_hostility_raises_clash_rate(tiny):
    low = _clash_count(tiny, Relation.RIVALRY, 0.2)
    high = _clash_count(tiny, Relation.RIVALRY, 0.9)
    # expected 1500 x (1 - exp(-kappa H 5)): about 30 and 130
    assert 10 < low < 55 and high > 2.5 * low, (low, high)


def test_interact_war_raises_clash_rate_over_rivalry(tiny):
    rivalry = _clash_count(tiny, Relation.RIVALRY, 0.5)
    war = _clash_count(tiny, Relation.WAR, 0.5)
    # expected about 73 and 209
    assert war > 2 * rivalry and rivalry > 40, (rivalry, war)


def test_interact_no_clashes_under_truce(tiny):
    assert _clash_count(tiny, Relation.TRUCE, 1.0, weeks=10, params={"clash_kappa": 10.0}) == 0
    assert _clash_count(tiny, Relation.RIVALRY, 1.0, weeks=10,
                        params={"clash_kappa": 10.0}) == 250


def test_interact_clash_is_recorded_with_week_cell_groups_and_casualties(tiny):
    raw = tiny.world(params={"clash_kappa": 10.0, "clash_lethality": 0.5, "revenge": 0.2})
    m = tiny.build(raw, seed=3)
    tiny.place(m, "A", (2, 1), n=30, hostility=0.0)
    tiny.place(m, "B", (2, 1), n=10, hostility=0.0)
    tiny.set_relation(m, "A", "B", Relation.RIVALRY, hostility=1.0)
    m.step()
    m.step()          # move_rate is 0, yet the routed losers leave the cell: no second clash
    res = m.results()
    clashes = res.events[res.events["kind"] == "clash"]
    first = clashes[clashes["week"] == 1]
    assert len(first) == 1
    row = first.iloc[0]
    assert (row["x"], row["y"]) == (2, 1)
    assert {row["group"], row["other"]} == {"A", "B"}
    by_group = {row["group"]: ("fighters_group", "casualties_group"),
                row["other"]: ("fighters_other", "casualties_other")}
    assert row[by_group["A"][0]] == 30 and row[by_group["B"][0]] == 10
    s1 = res.steps.set_index("week").loc[1]
    assert row[by_group["A"][1]] == s1["deaths_clash.A"]
    assert row[by_group["B"][1]] == s1["deaths_clash.B"]
    assert row["size"] == s1["deaths_clash.A"] + s1["deaths_clash.B"] > 0
    assert s1["clash_casualties.A|B"] == row["size"]
    assert s1["clashes.A|B"] == 1 and s1["clashes"] == 1
    assert row["winner"] in ("A", "B")
    loser = "B" if row["winner"] == "A" else "A"
    assert tiny.count(m, loser, (2, 1)) == 0 and tiny.count(m, row["winner"], (2, 1)) > 0
    assert len(clashes) == 1
    assert res.summary["clashes"]["count"] == len(clashes)
    assert res.summary["clashes"]["casualties"] == int(res.steps["deaths_clash.A"].sum()
                                                       + res.steps["deaths_clash.B"].sum())


def test_interact_winner_takes_the_cell_loser_is_routed_and_hostility_rises(tiny):
    raw = tiny.world(params={"clash_kappa": 10.0, "clash_lethality": 0.05, "revenge": 0.2,
                             "firm_rate": 0.1})
    m = tiny.build(raw, seed=3)
    tiny.place(m, "A", (1, 1), n=30, hostility=0.5)
    tiny.place(m, "B", (1, 1), n=10, hostility=0.5)
    tiny.place(m, "B", (0, 0), n=5, hostility=0.5)      # not at the clash
    tiny.set_relation(m, "A", "B", Relation.RIVALRY, hostility=1.0)
    tiny.begin_week(m)
    rules.interact(m)
    F = m.fighters
    winner = int(m.owner[4])
    loser = 1 - winner
    assert winner in (0, 1) and m.firmness[4] == pytest.approx(0.1)
    at = F.cell == 4
    assert F.routed[at & (F.group == loser)].all()
    assert not F.routed[at & (F.group == winner)].any()
    np.testing.assert_allclose(F.hostility[at], 0.5 + 0.2 * 0.5)
    np.testing.assert_allclose(F.hostility[~at], 0.5)
    assert F.fought[at].all() and not F.fought[~at].any()


def test_interact_fighters_at_a_clash_fought_even_when_no_one_dies(tiny):
    """clash_lethality = 0 is allowed: the fighters at a clash still fought (frustration
    relief, experience) and gain revenge hostility; the winner still takes the cell."""
    raw = tiny.world(width=1, height=1, params={"clash_kappa": 10.0, "clash_lethality": 0.0,
                                                "revenge": 0.2})
    m = tiny.build(raw, seed=3)
    tiny.place(m, "A", 0, n=10, hostility=0.5)
    tiny.place(m, "B", 0, n=10, hostility=0.5)
    tiny.set_relation(m, "A", "B", Relation.RIVALRY, hostility=1.0)
    tiny.begin_week(m)
    rules.interact(m)
    assert m.tally.clashes[0, 1] == 1 and m.owner[0] in (0, 1)
    F = m.fighters
    assert F.fought.all() and (F.experience == 1).all()
    np.testing.assert_allclose(F.hostility, 0.6)


def test_clash_casualties_in_events_add_up_with_three_groups(tiny):
    """Each clash row's casualties are the fighters that pair killed; with three groups in one
    cell, the rows must not count the same dead twice."""
    raw = tiny.world(width=1, height=1, groups={"A": {}, "B": {}, "C": {}},
                     params={"clash_kappa": 10.0, "clash_lethality": 0.5})
    m = tiny.build(raw, seed=3)
    for g in "ABC":
        tiny.place(m, g, 0, n=30)
    for a, b in (("A", "B"), ("A", "C"), ("B", "C")):
        tiny.set_relation(m, a, b, Relation.RIVALRY, hostility=1.0)
    m.step()
    res = m.results()
    clashes = res.events[res.events["kind"] == "clash"]
    assert len(clashes) == 3
    dead = int(res.steps.loc[1, ["deaths_clash.A", "deaths_clash.B", "deaths_clash.C"]].sum())
    assert dead == 90 - len(m.fighters) > 0
    assert int(clashes["size"].sum()) == dead
    assert res.summary["clashes"]["casualties"] == dead


# =============================================================================================
# Defect and desert
# =============================================================================================
DEFECT = {"defect_epsilon": 0.2, "defect_slope": 6.0, "defect_alpha": 1.0, "defect_beta": 0.5,
          "defect_gamma": 1.5, "defect_delta": 1.0, "defect_lambda": 0.6, "claim_pull": 0.0,
          "activity_scale": 3.0, "vision": 1, "commitment0": 0.6}


def test_restricted_frustrated_fighters_defect_to_an_active_rival(tiny):
    def defections(restricted):
        raw = tiny.world(width=1, height=1, cell={"security": 1000.0},
                         params={**DEFECT, "frustration_rate": 0.3,
                                 "frustration_rival_factor": 2.0, "frustration_decay": 0.3,
                                 "frustration_relax": 0.01, "security_per_hit": 0.0})
        m = tiny.build(raw, seed=12)
        tiny.place(m, "A", 0, n=200)
        tiny.place(m, "B", 0, n=100)
        if restricted:
            m.set_restriction("A", "all", 1.0)
        total = 0
        for _ in range(6):
            tiny.begin_week(m)
            rules.socialise(m)
            rules.operate(m)
            rules.defect_and_desert(m)
            m.prev_ops = m.tally.ops.copy()
            total += int(m.tally.defections[0, 1])
        return total

    restricted, free = defections(True), defections(False)
    assert restricted > 60 and restricted > 3 * free, (restricted, free)


def test_high_hostility_suppresses_defection(tiny):
    def defections(eta):
        raw = tiny.world(width=1, height=1, params={**DEFECT, "defect_epsilon": 0.5})
        m = tiny.build(raw, seed=7)
        tiny.place(m, "A", 0, n=300, frustration=0.8, hostility=eta)
        tiny.place(m, "B", 0, n=50, hostility=eta)
        tiny.begin_week(m)
        m.tally.ops[1, 0] = 50.0          # B is active this week
        rules.defect_and_desert(m)
        return int(m.tally.defections[0, 1])

    open_minded, hostile = defections(0.0), defections(1.0)
    assert open_minded > 100 and hostile < 0.5 * open_minded, (open_minded, hostile)


def test_defection_goes_only_to_groups_in_sight(tiny):
    raw = tiny.world(width=5, height=1, params={**DEFECT, "defect_epsilon": 1.0})
    m = tiny.build(raw, seed=7)
    tiny.place(m, "A", (0, 0), n=100, frustration=1.0)
    tiny.place(m, "B", (4, 0), n=10)
    tiny.begin_week(m)
    m.tally.ops[1, 4] = 50.0
    rules.defect_and_desert(m)
    assert m.tally.defections.sum() == 0
    m.p.vision = 4                        # the same rival, now in sight
    rules.defect_and_desert(m)
    assert m.tally.defections[0, 1] > 50


def test_defections_conserve_fighters_and_reset_the_defector(tiny):
    raw = tiny.world(width=2, height=1, groups={"A": {}, "B": {}, "C": {}},
                     params={**DEFECT, "defect_epsilon": 0.5})
    m = tiny.build(raw, seed=9)
    tiny.place(m, "A", (0, 0), n=200, frustration=0.9, commitment=0.1)
    tiny.place(m, "B", (0, 0), n=100, frustration=0.9, commitment=0.1)
    tiny.place(m, "C", (1, 0), n=100, frustration=0.9, commitment=0.1)
    before = m.fighter_counts()
    fids_before = set(m.fighters.fid.tolist())
    tiny.begin_week(m)
    m.tally.ops[:, :] = 20.0
    rules.defect_and_desert(m)
    flows = m.tally.defections
    assert flows.sum() > 50 and np.trace(flows) == 0
    after = m.fighter_counts()
    np.testing.assert_array_equal(after, before - flows.sum(1) + flows.sum(0))
    assert set(m.fighters.fid.tolist()) == fids_before     # the same fighters, regrouped
    F = m.fighters
    switched = F.commitment == 0.6          # commitment0; everyone else has 0.1
    assert switched.sum() == flows.sum()
    assert (F.frustration[switched] == 0).all() and (F.frustration[~switched] == 0.9).all()
    assert (F.tenure[switched] == 0).all()


def test_better_governance_raises_desertion(tiny):
    raw = tiny.world(width=2, height=1, zones={"good": {"rect": [0, 0, 0, 0], "governance": 0.9},
                                               "bad": {"rect": [1, 0, 1, 0], "governance": 0.1}},
                     params={"desert_rate": 0.5})
    m = tiny.build(raw, seed=5)
    tiny.place(m, "A", (0, 0), n=300, hardship=0.9, commitment=0.0)
    tiny.place(m, "A", (1, 0), n=300, hardship=0.9, commitment=0.0)
    tiny.begin_week(m)
    rules.defect_and_desert(m)
    left_good = 300 - tiny.count(m, "A", 0)
    left_bad = 300 - tiny.count(m, "A", 1)
    # p = rate (1 - c)(1 - H (1 - L)): 0.455 where L = 0.9, 0.095 where L = 0.1
    assert left_good > 2.5 * left_bad and left_bad > 10, (left_good, left_bad)
    assert m.tally.desertions[0] == left_good + left_bad
    np.testing.assert_array_equal(m.population, [left_good, left_bad])   # they go home
    assert len(m.agents) == len(m.fighters)


def test_committed_fighters_desert_less(tiny):
    raw = tiny.world(width=2, height=1, params={"desert_rate": 0.5})
    m = tiny.build(raw, seed=5)
    tiny.place(m, "A", (0, 0), n=300, commitment=0.9)
    tiny.place(m, "A", (1, 0), n=300, commitment=0.1)
    tiny.begin_week(m)
    rules.defect_and_desert(m)
    assert 300 - tiny.count(m, "A", 0) < 0.3 * (300 - tiny.count(m, "A", 1))


# =============================================================================================
# Relations
# =============================================================================================
# truce tension (poaching, incidents, cells taken), tolerance and breakdown, escalation into
# war and unions (pledge or merger): see test_mechanisms.py


def _threat_world(tiny, security, hostility, seed=4):
    raw = tiny.world(width=3, height=1, cell={"security": security},
                     params={"state_lethality": 0.5, "passive_exposure": 1.0,
                             "threat_rate": 0.5, "truce_threat": 0.002,
                             "truce_hostility": 0.55, "truce_rate": 0.5},
                     relations=[{"groups": ["A", "B"], "state": "rivalry",
                                 "hostility": hostility}])
    m = tiny.build(raw, seed=seed)
    tiny.place(m, "A", (0, 0), n=300)
    tiny.place(m, "B", (2, 0), n=300)
    for _ in range(25):
        m.step()
    return m


def test_common_threat_and_low_hostility_form_a_truce(tiny):
    m = _threat_world(tiny, security=10.0, hostility=0.2)
    assert m.relation[0, 1] == Relation.TRUCE
    assert (m.threat > 0.002).all()
    ev = m.results().events
    assert (ev["kind"] == "truce_start").sum() == 1


def test_no_truce_without_a_common_threat(tiny):
    m = _threat_world(tiny, security=0.0, hostility=0.2)
    assert m.relation[0, 1] == Relation.RIVALRY
    assert (m.threat == 0).all()


def test_no_truce_between_hostile_groups(tiny):
    m = _threat_world(tiny, security=10.0, hostility=0.9)
    assert (m.threat > 0.002).all()
    assert m.relation[0, 1] == Relation.RIVALRY


def test_war_cools_into_rivalry_after_weeks_without_clashes(tiny):
    raw = tiny.world(width=1, height=1, params={"war_cooling": 5},
                     relations=[{"groups": ["A", "B"], "state": "war", "hostility": 1.0}])
    m = tiny.build(raw)
    tiny.place(m, "A", 0, n=10)
    tiny.place(m, "B", 0, n=10)
    for week in range(1, 5):
        m.step()
        assert m.relation[0, 1] == Relation.WAR, week
    m.step()
    assert m.relation[0, 1] == Relation.RIVALRY
    ev = m.results().events
    cooled = ev[ev["kind"] == "war_cooled"]
    assert cooled["week"].tolist() == [5]


def test_war_with_clashes_does_not_cool(tiny):
    raw = tiny.world(width=1, height=1, params={"war_cooling": 5, "clash_kappa": 10.0,
                                                "clash_lethality": 0.0},
                     relations=[{"groups": ["A", "B"], "state": "war", "hostility": 1.0}])
    m = tiny.build(raw)
    tiny.place(m, "A", 0, n=10)
    tiny.place(m, "B", 0, n=10)
    for _ in range(20):
        m.step()
    assert m.relation[0, 1] == Relation.WAR


def test_group_hostility_follows_fighters_and_clash_memory(tiny):
    raw = tiny.world(width=1, height=1, groups={"A": {"takfir": 0.5}, "B": {"takfir": 0.5}},
                     params={"group_hostility_rate": 1.0, "distance_weight": 0.3,
                             "memory_weight": 0.3, "memory_decay": 0.0})
    m = tiny.build(raw)
    tiny.place(m, "A", 0, n=10, hostility=0.2)
    tiny.place(m, "B", 0, n=10, hostility=0.4)
    tiny.begin_week(m)
    rules.relations(m)
    assert m.hostility[0, 1] == pytest.approx(0.3)        # mean of the means, same doctrine
    m.clash_memory[:] = 1.0
    np.fill_diagonal(m.clash_memory, 0.0)
    rules.relations(m)
    assert m.hostility[0, 1] == pytest.approx(0.3 + 0.3 * 0.5)


def test_group_with_no_fighters_is_destroyed(tiny):
    m = tiny.build(tiny.world(width=2, height=1))
    tiny.place(m, "A", 0, n=5)
    m.step()
    assert m.group_alive.tolist() == [True, False]
    assert m.relation[0, 1] == Relation.ENDED
    ev = m.results().events
    assert ev[ev["kind"] == "group_destroyed"]["group"].tolist() == ["B"]


def test_destroyed_group_holds_no_territory(tiny):
    """Control only by existing actors: a group wiped out loses its cells at once."""
    raw = tiny.world(width=2, height=1, params={"firm_rate": 0.1})
    m = tiny.build(raw)
    tiny.place(m, "A", 0, n=5)
    tiny.place(m, "B", 1, n=5)
    m.owner[:] = [0, 1]
    m.firmness[:] = 1.0
    tiny.begin_week(m)
    rules.remove_fighters(m, m.fighters.group == 0)       # every fighter of B dies
    rules.relations(m)
    rules.control_and_governance(m)
    assert not m.group_alive[1]
    assert m.owner[1] != 1, "a destroyed group still holds territory"


# =============================================================================================
# Control and governance
# =============================================================================================
CONTROL = {"control_margin": 1.5, "control_min": 1.0, "firm_rate": 0.1, "erode_rate": 0.25}


def test_clearly_stronger_actor_takes_the_cell_after_erosion(tiny):
    m = tiny.build(tiny.world(width=1, height=1, params=CONTROL))
    tiny.place(m, "A", 0, n=20)
    m.owner[0], m.firmness[0] = 1, 1.0            # B held it firmly; B has left
    for week, firm in enumerate([0.75, 0.5, 0.25], start=1):
        tiny.begin_week(m)
        rules.control_and_governance(m)
        assert m.owner[0] == 1 and m.firmness[0] == pytest.approx(firm), week
    tiny.begin_week(m)
    rules.control_and_governance(m)
    assert m.owner[0] == 0 and m.firmness[0] == pytest.approx(0.1)
    assert m.tally.cells_gained[0] == 1
    tiny.begin_week(m)
    rules.control_and_governance(m)
    assert m.firmness[0] == pytest.approx(0.1 + 0.1 * 0.9)      # and firms up


def test_a_challenger_short_of_the_margin_does_not_erode_control(tiny):
    m = tiny.build(tiny.world(width=1, height=1, params=CONTROL))
    tiny.place(m, "A", 0, n=20)
    tiny.place(m, "B", 0, n=15)              # 20 / 15 < 1.5
    m.owner[0], m.firmness[0] = 1, 0.5
    for _ in range(10):
        tiny.begin_week(m)
        rules.control_and_governance(m)
    assert m.owner[0] == 1 and m.firmness[0] == pytest.approx(0.5)


def test_state_strength_is_security_weighted_by_governance(tiny):
    raw = tiny.world(width=2, height=1, cell={"security": 10.0, "governance": 0.5},
                     zones={"weak": {"rect": [1, 0, 1, 0], "governance": 0.0}},
                     params={**CONTROL, "state_governance_weight": 1.0})
    m = tiny.build(raw)
    np.testing.assert_allclose(m.state_strength(), [10.0, 5.0])
    tiny.place(m, "A", 0, n=7)      # the state's 10 < 1.5 x 7 and 7 < 1.5 x 10: contested
    tiny.place(m, "A", 1, n=7)      # 7 < 1.5 x the state's 5: contested
    for _ in range(8):
        tiny.begin_week(m)
        rules.control_and_governance(m)
    assert (m.owner == NO_OWNER).all()
    m.fighters.cell[:] = 1          # all 14 in the weakly governed cell: 14 > 1.5 x 5 ...
    tiny.begin_week(m)
    rules.control_and_governance(m)
    # ... while the cell they left goes to the state (10 > control_min, unopposed)
    assert m.owner.tolist() == [STATE, 0]


def test_empty_cells_fade_to_no_one(tiny):
    m = tiny.build(tiny.world(width=2, height=1, params={**CONTROL, "firm_rate": 0.5}))
    tiny.place(m, "A", 1, n=5)
    m.owner[:] = 0
    m.firmness[:] = 0.5
    history = []
    for _ in range(10):
        tiny.begin_week(m)
        rules.control_and_governance(m)
        history.append(int(m.owner[0]))
    assert history[:3] == [0, 0, 0]        # fades at firm_rate / 5 a week
    assert history[-1] == NO_OWNER and history[6:] == [NO_OWNER] * 4
    assert m.owner[1] == 0                 # the held cell stays


def test_coercive_rule_lowers_support_population_centric_rule_raises_it(tiny):
    raw = tiny.world(width=2, height=1,
                     groups={"Harsh": {"coercion": 0.9}, "Gentle": {"coercion": 0.1}},
                     params={**CONTROL, "support_rate": 0.1, "support_decay": 0.05,
                             "hardship_rate": 0.05})
    m = tiny.build(raw)
    tiny.place(m, "Harsh", 0, n=10)
    tiny.place(m, "Gentle", 1, n=10)
    m.owner[:] = [0, 1]
    m.firmness[:] = 1.0
    m.support[:] = 0.5
    for _ in range(40):
        tiny.begin_week(m)
        rules.control_and_governance(m)
    assert m.support[0, 0] < 0.2 < 0.8 < m.support[1, 1]
    assert m.hardship[0] > 0.5 > m.hardship[1]
    assert m.support[0, 1] < 0.1 and m.support[1, 0] < 0.1     # no support where one does not rule


def test_violence_erodes_governance_and_state_rule_restores_it(tiny):
    raw = tiny.world(width=2, height=1, cell={"governance": 0.6, "security": 10.0},
                     params={**CONTROL, "governance_erosion": 0.1, "violence_scale": 5.0,
                             "governance_recovery": 0.2})
    m = tiny.build(raw)
    tiny.begin_week(m)
    m.tally.violence[0] = 1000.0
    rules.control_and_governance(m)
    # violence takes 10% (saturated); the state, taking the cell, restores 20% of the gap
    assert m.governance[0] == pytest.approx(0.54 + 0.2 * 0.06)
    assert m.governance[1] == pytest.approx(0.6)
    for _ in range(40):
        tiny.begin_week(m)
        rules.control_and_governance(m)
    assert m.owner[0] == STATE                      # unopposed security holds the cell
    assert m.governance[0] == pytest.approx(0.6, abs=1e-3)


def test_ungoverned_means_low_governance_and_low_security(tiny):
    raw = tiny.world(width=4, height=1, params={"ungoverned_governance": 0.3,
                                                "ungoverned_security": 2.0},
                     zones={"a": {"rect": [0, 0, 0, 0], "governance": 0.1, "security": 1.0},
                            "b": {"rect": [1, 0, 1, 0], "governance": 0.1, "security": 5.0},
                            "c": {"rect": [2, 0, 2, 0], "governance": 0.5, "security": 1.0},
                            "d": {"rect": [3, 0, 3, 0], "governance": 0.5, "security": 5.0}})
    m = tiny.build(raw)
    assert m.ungoverned().tolist() == [True, False, False, False]


def test_momentum_follows_success(tiny):
    raw = tiny.world(width=1, height=1, params={"momentum_rate": 0.5, "success_scale": 20.0})
    m = tiny.build(raw)
    tiny.place(m, "A", 0, n=10)
    tiny.place(m, "B", 0, n=10)
    m.momentum[:] = 0.2
    tiny.begin_week(m)
    m.tally.hits[0, 0] = 5.0
    rules.control_and_governance(m)
    assert m.momentum[0] == pytest.approx(0.2 + 0.5 * (np.tanh(20 * 0.5) - 0.2))
    assert m.momentum[1] == pytest.approx(0.1)


# =============================================================================================
# State and outside forces
# =============================================================================================
def test_security_regenerates_toward_capacity_within_the_budget(tiny):
    raw = tiny.world(cell={"security": 10.0, "governance": 0.5},
                     params={"security_regen": 0.2})
    m = tiny.build(raw)
    tiny.place(m, "A", 0, n=5)
    m.owner[0] = 0                        # a group rules cell 0: no regeneration there
    m.security[:] = 2.0
    for _ in range(60):
        rules.state_and_outside_forces(m)
        assert m.security.sum() <= m.capacity.sum() + 1e-9
    np.testing.assert_allclose(m.security[1:], 10.0, rtol=1e-4)
    assert m.security[0] == 2.0


def test_redeployment_moves_security_without_exceeding_total_capacity(tiny):
    raw = tiny.world(width=5, height=1, cell={"security": 10.0},
                     params={"security_regen": 0.3, "redeploy_rate": 0.3, "vision": 1})
    m = tiny.build(raw)
    tiny.place(m, "A", 0, n=20)
    m.owner[:] = STATE
    total_capacity = m.capacity.sum()
    for _ in range(50):
        rules.state_and_outside_forces(m)
        assert m.security.sum() <= total_capacity + 1e-9
        assert (m.security >= 0).all()
    # forces concentrate where fighters are in sight (cells 0 and 1), quiet cells are thinned
    assert m.security[0] > 10.0 and m.security[1] > 10.0
    assert m.security[3] < 10.0


def test_intervention_strikes_kill_target_fighters_only(tiny):
    raw = tiny.world(width=4, height=1, zones={"east": {"rect": [2, 0, 3, 0]}},
                     timeline=[{"week": 1, "event": "intervention", "zone": "east",
                                "targets": ["A"], "strength": 50.0}],
                     params={"strike_lethality": 0.01, "strike_territory_weight": 0.0})
    m = tiny.build(raw, seed=2)
    tiny.place(m, "A", (3, 0), n=200)
    tiny.place(m, "B", (3, 0), n=200)
    tiny.place(m, "A", (0, 0), n=200)
    m.step()
    dead = 200 - tiny.count(m, "A", (3, 0))
    assert 40 < dead < 120                 # 1 - exp(-0.5) = 39%
    assert tiny.count(m, "B", (3, 0)) == 200
    assert tiny.count(m, "A", (0, 0)) == 200
    s = m.results().steps.iloc[-1]
    assert s["deaths_strike.A"] == dead and s["deaths_strike.B"] == 0


def test_strikes_hit_harder_where_the_target_holds_ground(tiny):
    raw = tiny.world(width=2, height=1,
                     timeline=[{"week": 1, "event": "intervention", "zone": "all",
                                "targets": ["A"], "strength": 20.0}],
                     params={"strike_lethality": 0.01, "strike_territory_weight": 4.0})
    m = tiny.build(raw, seed=2)
    tiny.place(m, "A", 0, n=300)
    tiny.place(m, "A", 1, n=300)
    m.owner[:] = [0, NO_OWNER]
    tiny.begin_week(m)
    rules.timeline(m)
    rules.state_and_outside_forces(m)
    held, open_ground = 300 - tiny.count(m, "A", 0), 300 - tiny.count(m, "A", 1)
    assert held > 2 * open_ground > 0, (held, open_ground)


@pytest.mark.parametrize("persistence", [1.0, 0.5, 0.0])
def test_leader_death_lowers_cohesion_and_claim_by_persistence(tiny, persistence):
    raw = tiny.world(width=1, height=1,
                     groups={"A": {"claim": 0.8, "claim_persistence": persistence},
                             "B": {"claim": 0.8}},
                     params={"cohesion_shock": 0.4, "commitment_shock": 0.2,
                             "succession_weeks": 4},
                     timeline=[{"week": 3, "event": "leader_killed", "group": "A"}])
    m = tiny.build(raw)
    tiny.place(m, "A", 0, n=10, commitment=0.5)
    tiny.place(m, "B", 0, n=10, commitment=0.5)
    for _ in range(2):
        m.step()
    assert m.cohesion[0] == 1.0 and m.claim[0] == 0.8
    m.step()
    assert m.cohesion[0] == pytest.approx(0.6)
    assert m.claim[0] == pytest.approx(0.8 * persistence)
    assert not m.leader_alive[0]
    F = m.fighters
    np.testing.assert_allclose(F.commitment[F.group == 0], 0.4)
    np.testing.assert_allclose(F.commitment[F.group == 1], 0.5)
    assert m.claim[1] == 0.8 and m.cohesion[1] == 1.0
    for _ in range(4):
        m.step()
    assert m.leader_alive[0]
    ev = m.results().events
    assert ev[ev["kind"] == "leader_killed"]["week"].tolist() == [3]
    assert ev[ev["kind"] == "leader_replaced"]["week"].tolist() == [7]


def test_outside_strikes_can_kill_the_leader(tiny):
    raw = tiny.world(width=1, height=1,
                     timeline=[{"week": 1, "event": "intervention", "zone": "all",
                                "targets": ["A"], "strength": 10.0}],
                     params={"leader_kill_rate": 0.1, "strike_lethality": 0.0})
    m = tiny.build(raw, seed=1)
    tiny.place(m, "A", 0, n=10)
    tiny.place(m, "B", 0, n=10)
    m.step()                   # P = min(1, 0.1 x 10) = 1
    assert not m.leader_alive[0] and m.leader_alive[1]


# =============================================================================================
# Timeline
# =============================================================================================
def test_timeline_restriction_starts_at_its_week_and_until_lifts_it(tiny):
    raw = tiny.world(width=2, height=1, zones={"pocket": {"rect": [0, 0, 0, 0]}},
                     timeline=[{"week": 3, "event": "restriction", "group": "A",
                                "zone": "pocket", "level": 0.7, "until": 6}])
    m = tiny.build(raw)
    tiny.place(m, "A", 0, n=5)
    tiny.place(m, "B", 1, n=5)
    levels = []
    for _ in range(8):
        m.step()
        levels.append(m.restriction.copy())
    for week, r in enumerate(levels, start=1):
        expected = np.zeros((2, 2))
        if 3 <= week < 6:
            expected[0, 0] = 0.7
        np.testing.assert_array_equal(r, expected, err_msg=f"week {week}")
    ev = m.results().events
    tl = ev[ev["kind"] == "timeline"]
    assert tl["week"].tolist() == [3, 6]
    assert tl["detail"].iloc[0].startswith("start restriction")
    assert tl["detail"].iloc[1] == "end restriction"
    assert (tl["group"] == "A").all()


def test_timeline_event_at_week_zero_holds_from_the_start(tiny):
    raw = tiny.world(width=2, height=1, zones={"pocket": {"rect": [0, 0, 0, 0]}},
                     timeline=[{"week": 0, "event": "restriction", "group": "B",
                                "zone": "pocket", "level": 0.4}])
    m = tiny.build(raw)
    assert m.restriction[1].tolist() == [0.4, 0.0]          # before the first step
    ev = m.results().events
    assert ev[ev["kind"] == "timeline"]["week"].tolist() == [0]
    m.step()
    assert m.restriction[1].tolist() == [0.4, 0.0]          # and it stays (no until)


def test_timeline_governance_programme_builds_governance_where_no_group_rules(tiny):
    raw = tiny.world(width=3, height=1, cell={"governance": 0.2},
                     zones={"prog": {"rect": [0, 0, 1, 0]}},
                     timeline=[{"week": 2, "event": "governance_programme", "zone": "prog",
                                "target": 0.8, "rate": 0.1, "security": 0.0}],
                     params={"governance_support": 1.0})
    m = tiny.build(raw)
    tiny.place(m, "A", 1, n=5)
    m.owner[1] = 0
    m.step()
    np.testing.assert_allclose(m.governance, 0.2)
    m.step()
    assert m.governance[0] == pytest.approx(0.2 + 0.1 * 0.6)
    assert m.governance[1] == pytest.approx(0.2)       # held by a group
    assert m.governance[2] == pytest.approx(0.2)       # outside the zone


def test_governance_programme_keeps_governance_and_hardship_shares(tiny):
    """governance_support may be up to 5 and a programme's rate up to 1: the weekly step
    rate x support must not overshoot the target or push hardship below 0."""
    raw = tiny.world(width=1, height=1, cell={"governance": 0.2, "hardship": 0.6},
                     timeline=[{"week": 1, "event": "governance_programme", "zone": "all",
                                "target": 0.8, "rate": 0.5, "security": 0.0}],
                     params={"governance_support": 5.0})
    m = tiny.build(raw)
    for _ in range(3):
        m.step()
        assert 0.0 <= m.governance[0] <= 1.0, m.governance
        assert 0.0 <= m.hardship[0] <= 1.0, m.hardship


def test_timeline_set_group_changes_the_group_at_its_week(tiny):
    raw = tiny.world(width=1, height=1, groups={"A": {"claim": 1.0}, "B": {}},
                     timeline=[{"week": 2, "event": "set_group", "group": "A",
                                "field": "claim", "value": 0.0},
                               {"week": 3, "event": "set_group", "group": "B",
                                "field": "takfir", "value": 0.9}])
    m = tiny.build(raw)
    tiny.place(m, "A", 0, n=3)
    tiny.place(m, "B", 0, n=3)
    m.step()
    assert m.claim[0] == 1.0
    m.step()
    assert m.claim[0] == 0.0 and m.doctrine[1, 0] == 0.5
    m.step()
    assert m.doctrine[1, 0] == 0.9


def test_set_restriction_zero_lifts_it(tiny):
    m = tiny.build(tiny.world(width=2, height=1, zones={"z": {"rect": [0, 0, 0, 0]}}))
    m.set_restriction("A", "z", 0.5)
    assert m.restriction[0].tolist() == [0.5, 0.0]
    m.set_restriction("A", "z", 0.0)
    assert not m.restriction.any()
