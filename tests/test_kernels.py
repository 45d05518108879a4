"""Compiled kernels against the plain formulation of what they compute (random inputs)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core import kernels
from sim.core.space import box_sum, moore_table


def _clash_world(seed: int, n: int = 400, W: int = 9, H: int = 7, G: int = 3):
    rng = np.random.default_rng(seed)
    C = W * H
    group = rng.integers(0, G, n).astype(np.int16)
    cell = rng.integers(0, C, n).astype(np.int32)
    # a few units per group, labels sparse as in the model (fighter ids and fresh labels)
    labels = np.array([3, 17, 2**40 + 5, 2**40 + 1, 99, 12345], dtype=np.int64)
    unit = labels[rng.integers(0, len(labels), n)] + np.int64(10**6) * group
    dead = rng.random(n) < 0.1
    return rng, group, cell, unit, dead, W, H, C, G


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("war", [False, True])
@pytest.mark.parametrize("reach", [-1, 0, 1, 3])
@pytest.mark.parametrize("spread", [False, True])
def test_a_clash_side_is_every_living_member_of_the_occupants_units_in_reach(seed, war, reach,
                                                                             spread):
    # spread: a few large units over a large map
    _check_sides(seed, war, reach, **(dict(n=3000, W=30, H=25) if spread else {}))


@pytest.mark.parametrize("war", [False, True])
def test_a_clash_side_among_thousands_within_reach(war):
    _check_sides(0, war, 3, n=12000)


def _check_sides(seed, war, reach, **size):
    rng, group, cell, unit, dead, W, H, C, G = _clash_world(seed, **size)
    nbr = moore_table(W, H)
    key, order, start = kernels.group_cell_index(group, cell, C, G * C)
    pos, unit_k = kernels.fight_positions(order, unit)
    dead_k = dead[order]
    scratch = np.empty((2, len(unit)), dtype=np.int64)
    out = np.empty(len(unit), dtype=np.int64)
    assert (pos[order] == np.arange(len(order))).all() and (unit_k == unit[order]).all()
    for c0 in rng.integers(0, C, 12):
        me = int(rng.integers(0, G))
        around = nbr[c0, :] if war else nbr[c0, :1]
        r = max(reach, 1) if war else reach
        cx, cy = c0 % W, c0 // W
        k = kernels.unit_side(order, start, dead_k, unit_k, scratch, me, around, cx, cy, r,
                              reach >= 0, W, H, C, out)
        got = out[:k].tolist()
        cells = [c for c in around if c >= 0]
        occ = [i for c in cells for i in range(len(unit))
               if group[i] == me and cell[i] == c and not dead[i]]
        if reach < 0:
            assert got == occ
            continue
        units = {unit[i] for i in occ}
        near = [i for i in range(len(unit)) if group[i] == me and not dead[i]
                and unit[i] in units and abs(cell[i] % W - cx) <= r
                and abs(cell[i] // W - cy) <= r]
        assert got == sorted(near, key=lambda i: (unit[i], i))


@pytest.mark.parametrize("seed", range(5))
def test_a_ground_offensives_front_is_its_held_cells_touching_other_ground(seed):
    rng = np.random.default_rng(seed)
    W, H, G = 8, 6, 3
    nbr = moore_table(W, H)
    owner = rng.integers(-2, G, W * H).astype(np.int16)
    zone = rng.random(W * H) < 0.7
    targets = np.zeros(G, dtype=bool)
    targets[rng.integers(0, G)] = True
    cells, front = kernels.ground_front(owner, zone, nbr, targets)
    t3 = np.zeros(G + 3, dtype=bool)
    t3[np.flatnonzero(targets) + 3] = True
    held = t3[owner + 3] & zone
    nb = nbr[held]
    outside = (nb >= 0) & ~t3[np.where(nb >= 0, owner[np.maximum(nb, 0)], -3) + 3]
    assert cells.tolist() == np.flatnonzero(held).tolist()
    assert front.tolist() == np.flatnonzero(held)[outside.any(1)].tolist()


def test_clip01_is_numpys_clip_to_the_bit():
    x = np.array([-1.0, -0.0, 0.0, 0.3, 1.0, 1.5, np.inf, -np.inf, np.nan, 5e-324])
    for a in (x, np.random.default_rng(0).normal(0.5, 1.0, (7, 2))):
        got, want = kernels.clip01(np.ascontiguousarray(a)), np.clip(a, 0.0, 1.0)
        assert got.shape == want.shape
        assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("reach", [0, 1, 2])
def test_the_hold_layer_is_the_administrations_hold_where_backed(reach):
    rng = np.random.default_rng(reach)
    W, H, G, n = 7, 5, 3, 60
    C = W * H
    group = rng.integers(0, G, n).astype(np.int16)
    cell = rng.integers(0, C, n).astype(np.int32)
    owner = rng.integers(-2, G, C).astype(np.int16)
    administration = rng.random(G)
    firmness = rng.random(C)
    got = kernels.hold_layer(group, cell, owner, administration, firmness, 10.0, G, C, W, H,
                             reach)
    presence = np.zeros((G, C))
    np.add.at(presence, (group, cell), 1.0)
    held = np.flatnonzero(owner >= 0)
    g = owner[held]
    backed = box_sum(presence, W, H, reach)[g, held] > 0
    want = np.zeros(C)
    want[held] = 10.0 * administration[g] * firmness[held] * backed
    assert got.tobytes() == want.tobytes()


def test_removing_rows_keeps_the_others_in_order_in_every_block():
    rng = np.random.default_rng(3)
    n, cap = 500, 700
    fid = np.arange(n, dtype=np.int64)
    row_of = np.arange(n, dtype=np.int64)
    blocks = [rng.random((3, cap)), rng.integers(0, 9, (2, cap)),
              rng.integers(0, 9, (2, cap)).astype(np.int32),
              rng.integers(0, 9, (1, cap)).astype(np.int16), rng.random((2, cap)) < 0.5]
    before = [b.copy() for b in blocks]
    keep = rng.random(n) < 0.8
    keep[0] = False
    gone = kernels.remove_rows(keep, fid, row_of, n, *blocks)
    assert gone.tolist() == np.flatnonzero(~keep).tolist()
    k = int(keep.sum())
    for b, b0 in zip(blocks, before):
        assert (b[:, :k] == b0[:, :n][:, keep]).all()
    assert (row_of[gone] == -1).all() and (row_of[fid[keep]] == np.arange(k)).all()


@pytest.mark.parametrize("seed", range(8))
def test_merging_runs_sorts_a_segment_in_place(seed):
    rng = np.random.default_rng(seed)
    a = rng.permutation(300).astype(np.int64)
    lo, hi = int(rng.integers(0, 50)), int(rng.integers(150, 301))
    # ascending runs of random lengths, as a side's rows of one unit, cell by cell
    cuts = np.sort(rng.choice(np.arange(lo + 1, hi), size=min(7, hi - lo - 1), replace=False))
    for s0, s1 in zip([lo, *cuts], [*cuts, hi]):
        a[s0:s1] = np.sort(a[s0:s1])
    want = a.copy()
    want[lo:hi] = np.sort(want[lo:hi])
    kernels.merge_runs(a, lo, hi, np.empty(300, np.int64))
    assert (a == want).all()


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("r", [1, 3])
@pytest.mark.parametrize("size", [dict(), dict(n=3000, W=30, H=25), dict(n=12000)])
def test_a_small_clash_side_is_read_in_order_of_unit_then_row(seed, r, size):
    # the side of unit_side where few rows are within reach, read without a hash (here at
    # any size): every living member of group me of the occupants' units within r
    rng, group, cell, unit, dead, W, H, C, G = _clash_world(seed, **size)
    key, order, start = kernels.group_cell_index(group, cell, C, G * C)
    pos, unit_k = kernels.fight_positions(order, unit)
    dead_k = dead[order]
    scratch = np.empty((2, len(unit)), dtype=np.int64)
    out = np.empty(len(unit), dtype=np.int64)
    for c0 in rng.integers(0, C, 6):
        me = int(rng.integers(0, G))
        cx, cy = c0 % W, c0 // W
        occ = [i for i in range(len(unit)) if group[i] == me and cell[i] == c0 and not dead[i]]
        labels = np.array([unit[i] for i in occ], dtype=np.int64)
        k = kernels._small_side(order, start, dead_k, unit_k, scratch, me, cx, cy, r, W, H, C,
                                out, labels)
        units = set(labels.tolist())
        near = [i for i in range(len(unit)) if group[i] == me and not dead[i]
                and unit[i] in units and abs(cell[i] % W - cx) <= r
                and abs(cell[i] // W - cy) <= r]
        assert out[:k].tolist() == sorted(near, key=lambda i: (unit[i], i))


def _fights_by_steps(rng, fights, order, start, unit_k, pos, nbr, work, marks, meta, lethality,
                     rows, unit):
    """The week's fights driven from Python, one fight_next call between numpy's draws: the
    plain formulation of kernels.fight_all (the incident's unit of each side drawn among its
    occupants, then the casualty draws; a clash's casualty draws, then its winner)."""
    fa, fb, cells, rel = fights
    truce, C = int(meta[4]), int(meta[9])
    none = np.zeros(0, np.float32)
    k = kernels.fight_next(-1, False, none, False, fights, order, start, unit_k, pos, nbr, work,
                           marks, meta, lethality, rows)
    while k < len(fa):
        if rel[k] == truce:
            sides = []
            for me in (fa[k], fb[k]):
                occ = kernels.occupants(order, start, marks[1], me, nbr[cells[k], :1], C)
                if len(occ):
                    pick = occ[int(rng.random() * len(occ))]
                    occ = occ[unit[occ] == unit[pick]]
                sides.append(occ)
            if len(sides[0]) == 0 or len(sides[1]) == 0:
                k = kernels.fight_next(k, False, none, False, fights, order, start, unit_k,
                                       pos, nbr, work, marks, meta, lethality, rows)
                continue
            na, nb = len(sides[0]), len(sides[1])
            work[0, :na], work[1, :nb] = sides
            meta[1], meta[2] = na, nb
            k = kernels.fight_next(k, True, rng.random(na + nb, dtype=np.float32), False,
                                   fights, order, start, unit_k, pos, nbr, work, marks, meta,
                                   lethality, rows)
            continue
        na, nb = int(meta[1]), int(meta[2])
        u = rng.random(na + nb, dtype=np.float32)
        a_wins = rng.random() < na / (na + nb)
        k = kernels.fight_next(k, True, u, a_wins, fights, order, start, unit_k, pos, nbr,
                               work, marks, meta, lethality, rows)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("reach", [0, 2])
def test_the_compiled_fights_draw_and_resolve_as_the_fights_driven_step_by_step(seed, reach):
    from sim.core.space import moore_table

    rng, group, cell, unit, _, W, H, C, G = _clash_world(seed, n=1500, W=12, H=9)
    index = kernels.group_cell_index(group, cell, C, G * C)
    _, order, start = index
    pos, unit_k = kernels.fight_positions(order, unit)
    nbr = moore_table(W, H).astype(np.int64)
    # fights in every relation: rivalry (0), truce (1, incidents) and war (2), pairs in order
    K = 60
    fa = rng.integers(0, G - 1, K)
    fb = fa + 1 + rng.integers(0, G - 1 - fa)
    fights = np.stack([fa, fb, rng.integers(0, C, K), rng.integers(0, 3, K)]).astype(np.int64)
    assert set(fights[3]) == {0, 1, 2}
    out = []
    for drive in (kernels.fight_all, _fights_by_steps):
        n = len(group)
        work = np.zeros((4, n), np.int64)
        marks = np.zeros((4, n), bool)
        meta = np.array([0, 0, 0, 0, 1, 2, reach, W, H, C], np.int64)
        rows = np.zeros((K, 9), np.int64)
        draws = np.random.default_rng(seed + 100)
        drive(draws, fights, order, start, unit_k, pos, nbr, work, marks, meta, 0.3, rows, unit)
        out.append((rows[:meta[3]].copy(), marks.copy(), draws.random(4)))
    (rows_a, marks_a, next_a), (rows_b, marks_b, next_b) = out
    assert len(rows_a) > 10 and rows_a[:, 8].sum() > 0 and (rows_a[:, 8] == 0).sum() > 0
    np.testing.assert_array_equal(rows_a, rows_b)
    np.testing.assert_array_equal(marks_a, marks_b)
    np.testing.assert_array_equal(next_a, next_b)  # the same draws were taken
