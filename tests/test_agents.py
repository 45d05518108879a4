"""Fighters as Mesa agents, and the array neighbourhoods against Mesa's grid."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core import rules
from sim.core.fighters import Fighter
from sim.core.model import MilitantModel
from sim.core.space import box_sum, moore_table


def _check_agents_match_arrays(m: MilitantModel) -> None:
    F = m.fighters
    assert len(m.agents) == len(F)
    agents = list(m.agents)
    assert all(isinstance(a, Fighter) for a in agents)
    assert sorted(a.fid for a in agents) == sorted(F.fid.tolist())
    for a in agents:
        r = int(F.row_of[a.fid])
        assert a.alive and a.group_index == F.group[r]
        assert a.group == m.group_names[F.group[r]]
        c = int(F.cell[r])
        assert a.pos == (c % m.width, c // m.width)
        assert a.cell.coordinate == a.pos
        assert a.ideology == (F.takfir[r], F.coercion[r])
        assert a.commitment == F.commitment[r] and a.hostility == F.hostility[r]
        assert a.frustration == F.frustration[r] and a.tenure == F.tenure[r]
        assert a.risk_aversion == F.risk[r] and a.experience == F.experience[r]
        assert a.grievance == pytest.approx(F.hardship[r] * (1 - m.governance[c]))
        assert m.fighter(a.fid) is a


def test_one_agent_per_fighter_through_recruits_and_deaths():
    m = MilitantModel("classroom", rng=3)
    _check_agents_match_arrays(m)
    recruits = deaths = 0
    for _ in range(25):
        m.step()
        assert len(m.agents) == len(m.fighters)
        t = m.tally
        recruits += int(t.recruits.sum())
        deaths += int(t.deaths_state.sum() + t.deaths_clash.sum() + t.deaths_strike.sum()
                      + t.deaths_ground.sum() + t.desertions.sum())
    assert recruits > 0 and deaths > 0, "the run must both add and remove fighters"
    _check_agents_match_arrays(m)


def test_grid_cells_hold_the_fighters_standing_in_them():
    m = MilitantModel("classroom", rng=5)
    for _ in range(3):
        m.step()
    F = m.fighters
    for _ in range(2):
        seen = 0
        for cell in m.grid.all_cells:
            x, y = cell.coordinate
            here = sorted(F.fid[F.cell == y * m.width + x].tolist())
            assert sorted(a.fid for a in cell.agents) == here
            assert all(a.cell is cell and a.pos == (x, y) for a in cell.agents)
            assert cell.is_empty == (not here)
            seen += len(here)
        assert seen == len(F) == len(m.agents)
        for _ in range(4):
            m.step()  # recruits and deaths between two looks


def test_a_run_nobody_looks_into_makes_no_agent():
    m = MilitantModel("classroom", rng=6)
    m.run(10, progress=False)
    assert not m._agent_of and len(m._all_agents) == 0
    assert len(m.agents) == len(m.fighters) > 0       # made at the first look


def test_a_copied_fighter_table_still_writes_into_its_own_columns():
    import copy
    import pickle

    m = MilitantModel("classroom", rng=2)
    F = m.fighters
    for twin in (copy.deepcopy(F), pickle.loads(pickle.dumps(F))):
        assert len(twin) == len(F)
        np.testing.assert_array_equal(twin.hostility, F.hostility)
        twin.hostility[:] = 0.25                      # written through the view ...
        gone = twin.keep(np.arange(len(twin)) % 2 == 0)
        assert len(gone) == len(F) // 2
        assert (twin.hostility == 0.25).all()         # ... and kept by the compaction
        np.testing.assert_array_equal(twin.fid, F.fid[::2])
    assert not (F.hostility == 0.25).all()           # the original is untouched


def test_agents_of_dead_fighters_are_removed():
    m = MilitantModel("classroom", rng=4)
    before = {a.fid: a for a in m.agents}
    gone = set()
    for _ in range(20):
        m.step()
        gone = set(before) - set(m.fighters.fid.tolist())
        if gone:
            break
    assert gone, "no fighter died or deserted"
    live_ids = {a.fid for a in m.agents}
    assert not gone & live_ids
    stale = before[next(iter(gone))]
    assert not stale.alive
    assert "gone" in repr(stale)
    with pytest.raises(RuntimeError):
        stale.commitment
    with pytest.raises(KeyError):
        m.fighter(stale.fid)


def test_agent_attributes_are_read_only_views():
    m = MilitantModel("classroom", rng=1)
    a = next(iter(m.agents))
    with pytest.raises(AttributeError):
        a.pos = (0, 0)
    r = int(m.fighters.row_of[a.fid])
    m.fighters.commitment[r] = 0.123
    assert a.commitment == 0.123             # a view on the arrays, always current


@pytest.mark.parametrize("width,height", [(5, 3), (3, 5), (1, 4), (7, 1), (1, 1)])
def test_moore_table_agrees_with_mesa_grid(tiny, width, height):
    m = tiny.build(tiny.world(width=width, height=height))
    table = moore_table(width, height)
    np.testing.assert_array_equal(table, m.nbr)
    for c in range(width * height):
        x, y = c % width, c // width
        assert table[c, 0] == c
        ours = {int(k) for k in table[c, 1:] if k >= 0}
        cell = m.grid[(x, y)]
        mesa = {cx + cy * width for cx, cy in (n.coordinate for n in cell.neighborhood)}
        assert ours == mesa, (x, y)


@pytest.mark.parametrize("radius", [0, 1, 2, 3, 7])
def test_box_sum_agrees_with_brute_force_and_mesa(tiny, radius):
    W, H = 6, 4
    rng = np.random.default_rng(radius)
    layers = rng.random((3, W * H))
    got = box_sum(layers, W, H, radius)
    single = box_sum(layers[1], W, H, radius)
    assert got.shape == layers.shape and single.shape == (W * H,)
    m = tiny.build(tiny.world(width=W, height=H))
    for c in range(W * H):
        x, y = c % W, c // W
        brute = sum(layers[:, yy * W + xx] for yy in range(H) for xx in range(W)
                    if abs(xx - x) <= radius and abs(yy - y) <= radius)
        np.testing.assert_allclose(got[:, c], brute, rtol=1e-12, atol=1e-12)
        if radius:
            hood = m.grid[(x, y)].get_neighborhood(radius=radius, include_center=True)
            mesa = sum(layers[:, cx + cy * W] for cx, cy in (n.coordinate for n in hood))
            np.testing.assert_allclose(got[:, c], mesa, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(single, got[1])
    # the input is not modified and integer layers work
    ints = np.arange(W * H)
    np.testing.assert_allclose(box_sum(ints, W, H, radius),
                               box_sum(ints.astype(float), W, H, radius))


def test_presence_counts_fighters_per_group_and_cell(tiny):
    m = tiny.build(tiny.world(width=3, height=2))
    tiny.place(m, "A", (0, 0), n=4)
    tiny.place(m, "A", (2, 1), n=1)
    tiny.place(m, "B", (2, 1), n=3)
    pres = m.presence()
    assert pres.shape == (2, 6)
    assert pres[0, 0] == 4 and pres[0, 5] == 1 and pres[1, 5] == 3 and pres.sum() == 8
    assert m.control_map().shape == (2, 3)


def test_fighter_table_keeps_each_fighters_unit_through_removals(tiny):
    m = tiny.build(tiny.world(width=2, height=1))
    a = tiny.place(m, "A", 0, n=6)
    b = tiny.place(m, "B", 1, n=3, unit=a[0])       # a unit label can be given
    F = m.fighters
    np.testing.assert_array_equal(F.unit[F.row_of[a]], a)  # new fighters are units of one
    np.testing.assert_array_equal(F.unit[F.row_of[b]], a[0])
    F.unit[F.row_of[a[3:]]] = a[3]
    unit_of = dict(zip(F.fid.tolist(), F.unit.tolist()))
    rules.remove_fighters(m, np.isin(F.fid, a[[1, 3, 5]], invert=True))
    assert len(F) == 6 and len(F.unit) == 6 and len(m.agents) == 6
    assert dict(zip(F.fid.tolist(), F.unit.tolist())) == {
        f: u for f, u in unit_of.items() if f not in a[[1, 3, 5]]}
    later = tiny.place(m, "A", 0, n=2)
    np.testing.assert_array_equal(F.unit[F.row_of[later]], later)
