"""Compiled loops over fighters for the rules of :mod:`sim.core.rules` (numba, ``cache=True``).

Each kernel does exactly the arithmetic of the numpy code it replaces, in the same order, so
that results are bit-identical: the same elementwise operations on the same float64 values
(IEEE rounding is the same in numba as in numpy), sums accumulated in the order numpy's
``bincount`` accumulates them, or, for ``a.sum()`` of a float array, numpy's pairwise order
(:func:`np_sum`), numpy's treatment of NaN in maximum, clip and argmax, a float32 draw compared
with a parameter in single precision (as numpy compares a float32 array with a Python float)
and with an array of float64 in double precision, and no ``fastmath``. A rule is typically
one to three kernel calls with numpy between them only where it must be. Three things stay in
numpy, outside the kernels:

* **every random draw**: the rules draw from the model's generator (``m.rng``) exactly as
  many numbers, of the same kind and in the same order as before, and pass them in;
* **transcendental functions** (``exp``, ``log``, ``log1p``, ``tanh``): numpy's SIMD versions
  and the C library's can differ in the last bit, so they are evaluated by numpy, once per
  cell (or per group and cell) where the vectorised code evaluated them per fighter on the same
  value, and the kernels compute their arguments and look the results up;
* **matrix products** (``weight @ n``): BLAS may fuse multiplies and adds.

The first call of each kernel in a fresh install compiles it (some 20 seconds in all); the
machine code is cached next to this file (or in numba's user-wide cache when the package
folder is read-only), so later processes and sweep workers load it in a fraction of a second.
"""

from __future__ import annotations

import numba
import numpy as np

njit = numba.njit(cache=True, nogil=True)


# =============================================================================================
# numpy's summation
# =============================================================================================
@njit
def _block_sum(a, lo, n):
    """numpy's pairwise sum of a block of at most 128: a plain loop below 8, else eight
    running sums combined in a tree, then the rest."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - (n % 8):
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit
def _pairwise(a, lo, n):
    """numpy's pairwise sum of a[lo:lo + n] (float64): blocks of at most 128 (as
    :func:`_block_sum`), above that the sum of the two halves (the first a multiple of 8),
    so that a sum here equals ``a.sum()`` to the last bit. The halving runs on an explicit
    stack (numba cannot cache a recursive function)."""
    if n <= 128:
        return _block_sum(a, lo, n)
    los = np.empty(64, np.int64)
    ns = np.empty(64, np.int64)
    stage = np.empty(64, np.int64)  # 0: new, 1: left half summed, 2: both
    left = np.empty(64)
    top = 0
    los[0], ns[0], stage[0] = lo, n, 0
    ret = 0.0
    while top >= 0:
        l, k = los[top], ns[top]
        if k <= 128:
            ret = _block_sum(a, l, k)
            top -= 1
            continue
        n2 = k // 2
        n2 -= n2 % 8
        if stage[top] == 0:
            stage[top] = 1
            top += 1
            los[top], ns[top], stage[top] = l, n2, 0
        elif stage[top] == 1:
            left[top] = ret
            stage[top] = 2
            top += 1
            los[top], ns[top], stage[top] = l + n2, k - n2, 0
        else:
            ret = left[top] + ret
            top -= 1
    return ret


@njit
def np_sum(a):
    """``a.sum()`` of a contiguous 1-d float64 array, as numpy adds it."""
    return _pairwise(a, 0, a.shape[0])


# =============================================================================================
# The fighter table (fighters.FighterTable.keep)
# =============================================================================================
@njit
def drop_rows(mask, fid, row_of):
    """Rows to drop where mask is false: (gone, dropped), ``gone`` their fids and ``dropped``
    their rows, ascending; row_of of the dropped set to -1, and of the kept rows after the
    first dropped to their rows after compaction (those before it keep theirs)."""
    n = mask.shape[0]
    first = 0
    while first < n and mask[first]:
        first += 1
    gone = np.empty(n - first, np.int64)
    dropped = np.empty(n - first, np.int64)
    j = first
    g = 0
    for i in range(first, n):
        if mask[i]:
            row_of[fid[i]] = j
            j += 1
        else:
            row_of[fid[i]] = -1
            gone[g] = fid[i]
            dropped[g] = i
            g += 1
    return gone[:g].copy(), dropped[:g]


@njit
def compact_block(block, n, dropped):
    """The first n entries of every column of ``block`` without the rows ``dropped``
    (ascending), the rows after each moved up in order, in place: one contiguous move per
    run of kept rows. The indices are unsigned, so that the moves need no check for negative
    indices and compile to a plain copy loop (several times faster)."""
    d = dropped.shape[0]
    one = np.uint64(1)
    for r in range(block.shape[0]):
        row = block[r]
        j = np.uint64(dropped[0])
        for k in range(d):
            t = np.uint64(dropped[k] + 1)
            hi = np.uint64(dropped[k + 1] if k + 1 < d else n)
            while t < hi:
                row[j] = row[t]
                j += one
                t += one


@njit
def remove_rows(mask, fid, row_of, n, b0, b1, b2, b3, b4):
    """The fighter table without the rows where mask is false: :func:`drop_rows`, then
    :func:`compact_block` on each of its five blocks (one per dtype). Returns the fids
    removed."""
    gone, dropped = drop_rows(mask, fid, row_of)
    if gone.shape[0] > 0:
        compact_block(b0, n, dropped)
        compact_block(b1, n, dropped)
        compact_block(b2, n, dropped)
        compact_block(b3, n, dropped)
        compact_block(b4, n, dropped)
    return gone


# =============================================================================================
# Layers of cells (space.box_sum, MilitantModel.presence)
# =============================================================================================
@njit
def box_sum(a, width, height, r):
    """Neighbourhood sums of radius r >= 1 of each row of ``a`` (K, C), float64: the
    summed-area table of the zero-padded layer, accumulated down the columns and then along
    the rows, and the four-corner difference, as the numpy version computes them."""
    K = a.shape[0]
    d = 2 * r + 1
    Hp, Wp = height + d, width + d
    sat = np.empty((Hp, Wp))
    out = np.empty((K, width * height))
    for k in range(K):
        sat[:, :] = 0.0
        for y in range(height):
            for x in range(width):
                sat[r + 1 + y, r + 1 + x] = a[k, y * width + x]
        for y in range(1, Hp):
            for x in range(Wp):
                sat[y, x] = sat[y - 1, x] + sat[y, x]
        for y in range(Hp):
            for x in range(1, Wp):
                sat[y, x] = sat[y, x - 1] + sat[y, x]
        for y in range(height):
            for x in range(width):
                out[k, y * width + x] = (sat[y + d, x + d] - sat[y, x + d]
                                         - sat[y + d, x] + sat[y, x])
    return out


@njit
def group_sums(group, G, a, b, c):
    """Fighters per group (float64) and the sums of three columns per group, (3, G), added in
    row order as numpy's bincount adds them."""
    counts = np.zeros(G)
    sums = np.zeros((3, G))
    for i in range(group.shape[0]):
        g = group[i]
        counts[g] += 1.0
        sums[0, g] += a[i]
        sums[1, g] += b[i]
        sums[2, g] += c[i]
    return counts, sums


@njit
def cells_record(owner, governance, security, population, support, state, ungoverned_governance,
                 ungoverned_security):
    """What the recorder reads of the cells each week: the cells held by each group, the
    ungoverned cells (mask and count), mean governance, total security, the cells held by the
    state, by no one and by militants, total population and each group's mean support (means
    and sums as numpy computes them)."""
    G, C = support.shape
    territory = np.zeros(G, np.int64)
    ungov = np.empty(C, np.bool_)
    n_ungov = 0
    n_state = 0
    n_free = 0
    n_militant = 0
    for c in range(C):
        o = owner[c]
        if o >= 0:
            territory[o] += 1
            n_militant += 1
        elif o == state:
            n_state += 1
        elif o == -1:
            n_free += 1
        u = governance[c] < ungoverned_governance and security[c] < ungoverned_security
        ungov[c] = u
        if u:
            n_ungov += 1
    support_mean = np.empty(G)
    for g in range(G):
        support_mean[g] = np_sum(support[g]) / C
    return (territory, ungov, n_ungov, np_sum(governance) / C, np_sum(security), n_state,
            n_free, n_militant, np_sum(population), support_mean)


@njit
def tally_record(recruits, deaths_state, deaths_clash, deaths_strike, deaths_ground,
                 desertions, defections, clashes, clash_casualties, hits, ops):
    """What the recorder reads of the week's tally: totals of recruits, deaths, desertions,
    defections, clashes (each counted for both sides), clash casualties and hits; per group
    the defections in and out, the operations and the hits (counts, so their sums are exact
    in any order)."""
    G = recruits.shape[0]
    n_recruits = 0
    n_deaths = 0
    n_desertions = 0
    n_defections = 0
    n_clashes = 0
    n_casualties = 0
    defect_in = np.zeros(G, np.int64)
    defect_out = np.zeros(G, np.int64)
    for g in range(G):
        n_recruits += recruits[g]
        n_deaths += deaths_state[g] + deaths_clash[g] + deaths_strike[g] + deaths_ground[g]
        n_desertions += desertions[g]
        for h in range(G):
            n_defections += defections[g, h]
            defect_out[g] += defections[g, h]
            defect_in[h] += defections[g, h]
            n_clashes += clashes[g, h]
            n_casualties += clash_casualties[g, h]
    C = hits.shape[1]
    ops_g = np.zeros(G)
    hits_g = np.zeros(G)
    for g in range(G):
        for c in range(C):
            ops_g[g] += ops[g, c]
            hits_g[g] += hits[g, c]
    n_hits = 0.0
    for g in range(G):
        n_hits += hits_g[g]
    return (n_recruits, n_deaths, n_desertions, n_defections, n_clashes, n_casualties, n_hits,
            defect_in, defect_out, ops_g, hits_g)


@njit
def count_groups(group, G):
    """Fighters per group (int64), as numpy's bincount counts them."""
    out = np.zeros(G, np.int64)
    for i in range(group.shape[0]):
        out[group[i]] += 1
    return out


@njit
def presence(group, cell, G, C):
    """Fighters per group per cell, (G, C) float64."""
    out = np.zeros((G, C))
    for i in range(group.shape[0]):
        out[group[i], cell[i]] += 1.0
    return out


@njit
def sight(a, W, H, r):
    """MilitantModel.in_sight of a (K, C) stack of layers: each summed over the Moore
    neighbourhood of radius r (a copy when r <= 0)."""
    if r <= 0:
        return a.copy()
    return box_sum(a, W, H, r)


# =============================================================================================
# Mobilise (rules.mobilise)
# =============================================================================================
@njit
def mobilise_fields(group, cell, security, alive, G, C, W, H, vision, recruit_reach):
    """What a candidate sees of the map, per cell: the security S_v and the fighters A_v
    within ``vision``, and for each group whether it has fighters within recruit_reach (and
    exists), (G, C)."""
    n = presence(group, cell, G, C)
    layers = np.empty((2, C))
    layers[0] = security
    for c in range(C):
        t = 0.0
        for g in range(G):
            t += n[g, c]
        layers[1, c] = t
    seen = sight(layers, W, H, vision)
    near = sight(n, W, H, recruit_reach)
    reach = np.empty((G, C), np.bool_)
    for g in range(G):
        for c in range(C):
            reach[g, c] = near[g, c] > 0 and alive[g]
    return seen[0], seen[1], reach


@njit
def in_reach(cell, go, reach):
    """Of the candidates who mobilise (``go``), those with a group in reach: their indices,
    the groups in reach of each (k, G), and how many have none (latent)."""
    G = reach.shape[0]
    idx = np.empty(cell.shape[0], np.int64)
    k = 0
    latent = 0
    for i in range(cell.shape[0]):
        if go[i]:
            has = False
            for g in range(G):
                has = has or reach[g, cell[i]]
            if has:
                idx[k] = i
                k += 1
            else:
                latent += 1
    reachable = np.empty((k, G), np.bool_)
    for j in range(k):
        for g in range(G):
            reachable[j, g] = reach[g, cell[idx[j]]]
    return idx[:k], reachable, latent


@njit
def choose_groups(theta, cell, reachable, gumbel, doctrine, momentum, support, w_affinity,
                  w_momentum, w_support, temperature, sqrt2):
    """Each recruit's group: the first maximum over the groups in reach of U_g / temperature
    + gumbel, U_g = w_affinity aff(theta, Theta_g) + w_momentum mu_g + w_support
    support_g(cell), aff = 1 - |theta - Theta_g| / sqrt(2) (as rules.affinity)."""
    n, G = gumbel.shape
    out = np.empty(n, np.int64)
    for i in range(n):
        best = 0
        bv = -np.inf
        for g in range(G):
            if reachable[i, g]:
                d0 = theta[i, 0] - doctrine[g, 0]
                d1 = theta[i, 1] - doctrine[g, 1]
                aff = 1.0 - np.sqrt(d0 * d0 + d1 * d1) / sqrt2
                u = w_affinity * aff + w_momentum * momentum[g] + w_support * support[g, cell[i]]
                v = u / temperature + gumbel[i, g]
            else:
                v = -np.inf
            if np.isnan(v):
                best = g
                break
            if g == 0 or v > bv:
                best = g
                bv = v
        out[i] = best
    return out


@njit
def leave_population(population, cell, group, recruits):
    """Recruits leave the population of their cell (never below 0) and are counted by group."""
    gone = np.zeros(population.shape[0])
    for i in range(cell.shape[0]):
        gone[cell[i]] += 1.0
        recruits[group[i]] += 1
    for c in range(population.shape[0]):
        x = population[c] - gone[c]
        population[c] = x if (x >= 0.0 or np.isnan(x)) else 0.0  # numpy's maximum(x, 0)


# =============================================================================================
# Indexes
# =============================================================================================
@njit
def key_index(key, K):
    """Rows grouped by key in [0, K): (order, start), rows ascending within a key (what a
    stable argsort of ``key`` gives), ``order[start[k]:start[k + 1]]`` the rows of key k."""
    n = key.shape[0]
    start = np.zeros(K + 1, np.int64)
    for i in range(n):
        start[key[i] + 1] += 1
    for k in range(K):
        start[k + 1] += start[k]
    fill = start[:-1].copy()
    order = np.empty(n, np.int64)
    for i in range(n):
        k = key[i]
        order[fill[k]] = i
        fill[k] += 1
    return order, start


@njit
def group_cell_index(group, cell, C, K):
    """The rows by group and cell: key = group * C + cell, and (order, start) as
    :func:`key_index` gives them."""
    key = group_cell_key(group, cell, C)
    order, start = key_index(key, K)
    return key, order, start


@njit
def fight_positions(order, unit):
    """For the week's clashes: each row's place in ``order`` (pos), and the units in that
    order (unit_k)."""
    n = order.shape[0]
    pos = np.empty(n, np.int64)
    unit_k = np.empty(n, np.int64)
    for j in range(n):
        pos[order[j]] = j
        unit_k[j] = unit[order[j]]
    return pos, unit_k


@njit
def group_cell_key(group, cell, C):
    """key = group * C + cell (int64)."""
    n = group.shape[0]
    out = np.empty(n, np.int64)
    for i in range(n):
        out[i] = np.int64(group[i]) * C + cell[i]
    return out


# =============================================================================================
# A small hash map of int64 labels (unit labels are sparse: fighter ids and fresh labels)
# =============================================================================================
@njit
def hash_build(keys):
    """An open-addressing table of the distinct ``keys`` (any int64 >= 0): (slots, values),
    values[j] the index in ``keys`` of the first occurrence of slots[j]; -1 marks a free slot."""
    size = 16
    while size < 2 * keys.shape[0]:
        size *= 2
    slots = np.full(size, -1, np.int64)
    values = np.full(size, -1, np.int64)
    mask = np.uint64(size - 1)
    for i in range(keys.shape[0]):
        k = keys[i]
        j = (np.uint64(k) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)
        j &= mask
        while slots[j] != -1 and slots[j] != k:
            j = (j + np.uint64(1)) & mask
        if slots[j] == -1:
            slots[j] = k
            values[j] = i
    return slots, values


@njit
def key_filter(keys):
    """A bitset of 2^16 bits with one bit set per key (by a hash of its own): a key whose
    bit is clear is surely not among ``keys`` (checked by :func:`maybe_in` before the hash
    map, which most keys looked up are not in)."""
    bits = np.zeros(1024, np.uint64)
    for i in range(keys.shape[0]):
        h = (np.uint64(keys[i]) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(48)
        bits[h >> np.uint64(6)] |= np.uint64(1) << (h & np.uint64(63))
    return bits


@njit
def maybe_in(bits, k):
    """Whether key k may be among the keys of ``bits`` (:func:`key_filter`)."""
    h = (np.uint64(k) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(48)
    return (bits[h >> np.uint64(6)] >> (h & np.uint64(63))) & np.uint64(1) != np.uint64(0)


@njit
def hash_get(slots, values, k):
    """The value stored for key k, or -1."""
    mask = np.uint64(slots.shape[0] - 1)
    j = ((np.uint64(k) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) & mask
    while True:
        s = slots[j]
        if s == k:
            return values[j]
        if s == -1:
            return -1
        j = (j + np.uint64(1)) & mask


@njit
def hash_slot(slots, k):
    """The slot of key k in the table, or -1."""
    mask = np.uint64(slots.shape[0] - 1)
    j = ((np.uint64(k) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) & mask
    while True:
        s = slots[j]
        if s == k:
            return np.int64(j)
        if s == -1:
            return np.int64(-1)
        j = (j + np.uint64(1)) & mask


# =============================================================================================
# Units (rules._evolve_units)
# =============================================================================================
@njit
def relabel_broken(unit, broken_units, first_label):
    """Every fighter whose unit is in ``broken_units`` (repeats allowed) becomes a unit of
    one, labelled first_label, first_label + 1, ... in row order; returns how many labels
    were used."""
    slots, values = hash_build(broken_units)
    bits = key_filter(broken_units)
    nxt = first_label
    for i in range(unit.shape[0]):
        if maybe_in(bits, unit[i]) and hash_get(slots, values, unit[i]) >= 0:
            unit[i] = nxt
            nxt += 1
    return nxt - first_label


@njit
def _find(parent, i):
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@njit
def coalesce_units(unit, key, who, draws, order, start):
    """Each fighter of ``who`` joins the unit of a random fighter of its own group and cell
    (``order[lo + int(draw * (hi - lo))]`` among the rows of its key); the merged units form
    connected components, each taking the smallest label in it. Updates ``unit`` in place."""
    k = who.shape[0]
    src = np.empty(k, np.int64)
    dst = np.empty(k, np.int64)
    e = 0
    for j in range(k):
        i = who[j]
        kk = key[i]
        lo, hi = start[kk], start[kk + 1]
        other = order[lo + np.int64(draws[j] * (hi - lo))]
        a, b = unit[i], unit[other]
        if a != b:
            src[e] = a
            dst[e] = b
            e += 1
    if e == 0:
        return
    # the distinct labels, a dense id each
    both = np.empty(2 * e, np.int64)
    both[:e] = src[:e]
    both[e:] = dst[:e]
    slots, first = hash_build(both)
    dense = np.full(slots.shape[0], -1, np.int64)
    labels = np.empty(2 * e, np.int64)
    L = 0
    for j in range(slots.shape[0]):
        if slots[j] != -1:
            dense[j] = L
            labels[L] = slots[j]
            L += 1
    parent = np.arange(L)
    for j in range(e):
        ra = _find(parent, dense[hash_slot(slots, src[j])])
        rb = _find(parent, dense[hash_slot(slots, dst[j])])
        if ra != rb:  # the root keeps the smaller label
            if labels[ra] < labels[rb]:
                parent[rb] = ra
            else:
                parent[ra] = rb
    bits = key_filter(both)
    for i in range(unit.shape[0]):
        if not maybe_in(bits, unit[i]):
            continue
        j = hash_slot(slots, unit[i])
        if j >= 0:
            unit[i] = labels[_find(parent, dense[j])]


# =============================================================================================
# Clashes (rules._fight)
# =============================================================================================
@njit
def occupants(order, start, dead_k, me, cells, C):
    """The living fighters of group ``me`` in ``cells``, cell by cell, rows ascending
    (``dead_k``: dead in the order of ``order``)."""
    total = 0
    for c in cells:
        if c >= 0:
            k = me * C + c
            total += start[k + 1] - start[k]
    out = np.empty(total, np.int64)
    n = 0
    for c in cells:
        if c >= 0:
            k = me * C + c
            for j in range(start[k], start[k + 1]):
                if not dead_k[j]:
                    out[n] = order[j]
                    n += 1
    return out[:n]


# =============================================================================================
# Socialise (rules.socialise)
# =============================================================================================
@njit
def _clip(x, lo, hi):
    """numpy's clip(x, lo, hi) for one float64 (NaN passes through)."""
    if not np.isnan(x):
        x = x if x > lo else lo
    if not np.isnan(x):
        x = x if x < hi else hi
    return x


@njit
def _clip01(x):
    """numpy's clip(x, 0, 1) for one float64 (NaN passes through)."""
    if not np.isnan(x):
        x = x if x > 0.0 else 0.0
    if not np.isnan(x):
        x = x if x < 1.0 else 1.0
    return x


@njit
def clip01(a):
    """numpy's clip(a, 0, 1) of a contiguous float64 array (a new array of its shape): a
    value below 0 becomes 0, above 1 becomes 1, any other (NaN, -0.0) stays as it is."""
    out = np.empty_like(a)
    src = a.reshape(-1)
    dst = out.reshape(-1)
    for i in range(src.shape[0]):
        v = src[i]
        if v < 0.0:
            v = 0.0
        elif v > 1.0:
            v = 1.0
        dst[i] = v
    return out


@njit
def socialise_fields(group, cell, prev_ops, truce, use_contact, G, C, W, H, vision,
                     activity_scale):
    """What a fighter lives beside, per group and cell (flat, G * C): whether a truce
    partner's fighters share the cell (with ``use_contact``), and the exponent
    -ops / activity_scale of the rival operations seen last week (the sum over groups of
    each group's operations within ``vision``, less its own)."""
    partner_here = np.zeros(G * C, np.bool_)
    if use_contact:
        present = np.zeros((G, C), np.bool_)
        for i in range(group.shape[0]):
            present[group[i], cell[i]] = True
        for g in range(G):
            for h in range(G):
                if truce[g, h]:
                    for c in range(C):
                        if present[h, c]:
                            partner_here[g * C + c] = True
    seen = sight(prev_ops, W, H, vision)
    x = np.empty(G * C)
    for c in range(C):
        total = seen[0, c]
        for g in range(1, G):
            total += seen[g, c]
        for g in range(G):
            x[g * C + c] = -(total - seen[g, c]) / activity_scale
    return partner_here, x


@njit
def socialise(group, cell, takfir, coercion, hostility, commitment, frustration, tenure,
              fought, propaganda, doctrine, partner_here, use_contact, c_star, restriction,
              activity, C, ideology_rate, hostility_rate, hostility_relax, hbw, contact_rate,
              commitment_rate, frustration_rate, rival_factor, frustration_decay,
              frustration_relax):
    """One week of propaganda and life in the group for every fighter (rules.socialise):
    ``partner_here``, ``restriction`` and ``activity`` are (G * C) layers, flat."""
    for i in range(group.shape[0]):
        g = group[i]
        k = g * C + cell[i]
        pi = propaganda[g]
        rate = ideology_rate * pi
        t = takfir[i] + rate * (doctrine[g, 0] - takfir[i])
        takfir[i] = t
        coercion[i] = coercion[i] + rate * (doctrine[g, 1] - coercion[i])
        own = hbw * t
        h = hostility[i]
        h = h + ((hostility_rate * pi) * (doctrine[g, 0] - h) + hostility_relax * (own - h))
        if use_contact:
            h = h - (contact_rate * h) * (1.0 if partner_here[k] else 0.0)
        hostility[i] = _clip01(h)
        commitment[i] = commitment[i] + commitment_rate * (c_star[g] - commitment[i])
        r = restriction[k]
        gain = (frustration_rate * r) * (1.0 + rival_factor * activity[k])
        if not (np.isnan(gain) or gain < 1.0):
            gain = 1.0
        f = frustration[i]
        f = f + gain * (1.0 - f)
        if fought[i]:
            relax = frustration_decay
        elif r > 0:
            relax = 0.0
        else:
            relax = frustration_relax
        frustration[i] = f * (1.0 - relax)
        tenure[i] += 1
        fought[i] = False


# =============================================================================================
# Move (rules.move)
# =============================================================================================
@njit
def below(u, rate, flagged):
    """The rows whose draw (float32) is below ``rate`` compared in single precision (as numpy
    compares a float32 array with a Python float), or flagged (``flagged`` empty: none)."""
    r = np.float32(rate)
    use = flagged.shape[0] > 0
    out = np.empty(u.shape[0], np.int64)
    k = 0
    for i in range(u.shape[0]):
        if u[i] < r or (use and flagged[i]):
            out[k] = i
            k += 1
    return out[:k]


@njit
def _move_options(here, base, score, nbr, noise_row, move_noise, restriction,
                  use_restriction, opt, s, valid):
    """A mover's options in the Moore neighbourhood of ``here`` (itself first): the cells
    ``opt``, their scores ``s`` (float32: score + move_noise x noise) and whether each may be
    taken ``valid`` (on the map; a restricted fighter only among restricted cells)."""
    restricted = use_restriction and restriction[base + here] > 0
    for q in range(9):
        o = np.int64(nbr[here, q])
        v = o >= 0
        if not v:
            o = 0
        opt[q] = o
        s[q] = score[base + o] + move_noise * noise_row[q]
        if restricted:
            v = v and restriction[base + o] > 0
        valid[q] = v


@njit
def _move_choice(routed_i, s, valid):
    """The option a mover takes: the best valid score (first maximum wins, as numpy's argmax;
    a NaN wins where it stands); a routed fighter leaves its cell if it can."""
    if routed_i:
        can = False
        for q in range(1, 9):
            can = can or valid[q]
        if can:
            valid[0] = False
    ninf = np.float32(-np.inf)
    best = 0
    bv = ninf
    for q in range(9):
        v = s[q] if valid[q] else ninf
        if np.isnan(v):
            return q
        if q == 0 or v > bv:
            best = q
            bv = v
    return best


@njit
def move(cell, group, routed, movers, score, nbr, noise, move_noise, restriction,
         use_restriction, C):
    """Each mover steps to the best of its Moore neighbourhood (itself included) by
    ``score`` (float32, G * C flat) + move_noise x noise (float32, one row of 9 per mover);
    a restricted fighter stays among restricted cells, a routed one leaves its cell if it
    can. First maximum wins, as numpy's argmax."""
    opt = np.empty(9, np.int64)
    s = np.empty(9, np.float32)
    valid = np.empty(9, np.bool_)
    for j in range(movers.shape[0]):
        i = movers[j]
        here = cell[i]
        _move_options(here, np.int64(group[i]) * C, score, nbr, noise[j], move_noise,
                      restriction, use_restriction, opt, s, valid)
        cell[i] = opt[_move_choice(routed[i], s, valid)]
    routed[:] = False


@njit
def move_crowded(cell, group, routed, movers, order, score, nbr, noise, move_noise,
                 restriction, use_restriction, C, crowd, room, w_crowd):
    """:func:`move` with the cost of crowding seen as the movers move: the movers ``movers[k]``
    step one after the other in the order k of ``order``, each scoring cell o with, besides
    ``score`` (which leaves crowding out), - w_crowd (N_o + 1) / room_o for a cell it would
    enter and - w_crowd N_o / room_o for its own, N (``crowd``, float64 per cell, updated in
    place) the fighters of every group standing there after the earlier movers' steps and
    room = supply_ratio P + 1."""
    opt = np.empty(9, np.int64)
    s = np.empty(9, np.float32)
    valid = np.empty(9, np.bool_)
    for j in range(order.shape[0]):
        k = order[j]
        i = movers[k]
        here = cell[i]
        _move_options(here, np.int64(group[i]) * C, score, nbr, noise[k], move_noise,
                      restriction, use_restriction, opt, s, valid)
        for q in range(9):
            o = opt[q]
            n_o = crowd[o] if o == here else crowd[o] + 1.0
            s[q] -= np.float32(w_crowd * n_o / room[o])
        dest = opt[_move_choice(routed[i], s, valid)]
        if dest != here:
            crowd[here] -= 1.0
            crowd[dest] += 1.0
        cell[i] = dest
    routed[:] = False


@njit
def move_inputs(group, cell, G, C, hostility, relation, war, truce):
    """The fighters per group and cell (float64), and each pair's danger weight: the pair's
    hostility, doubled at war, 0 under truce and for a group itself."""
    n = presence(group, cell, G, C)
    weight = np.empty((G, G))
    for g in range(G):
        for h in range(G):
            w = hostility[g, h]
            if relation[g, h] == war:
                w *= 2.0
            if relation[g, h] == truce or g == h:
                w = 0.0
            weight[g, h] = w
    return n, weight


@njit
def move_field(n, log1p_n, hostile, state_strength, governance, security, owner, relation,
               claim, truce, w_own, w_opportunity, w_expand, w_danger, security_scale,
               claim_expansion):
    """The score of each cell for a fighter of each group (rules._move_field), from the
    fighters ``n``, log1p(n) and the rival strength ``hostile`` (weight @ n, by numpy):
    w_own log1p(n) + w_opportunity opportunity + w_expand expand - w_danger D / (D + n + 1),
    D = state strength + hostile, opportunity = (1 - L) s0 / (s0 + S), expand = 1 - respect
    of the cell's holder (a group's own ground fully, a truce partner's 1 - claim_expansion x
    claim, anyone else's not at all; 1 where no group holds it). The cost of crowding is not
    in it: :func:`move_crowded` adds it as the movers move."""
    G, C = n.shape
    out = np.empty((G, C))
    for c in range(C):
        opp = (1.0 - governance[c]) * security_scale / (security_scale + security[c])
        o = owner[c]
        for g in range(G):
            if o < 0:
                expand = 1.0
            elif o == g:
                expand = 1.0 - 1.0
            elif relation[g, o] == truce:
                expand = 1.0 - (1.0 - claim_expansion * claim[g])
            else:
                expand = 1.0 - 0.0
            danger = state_strength[c] + hostile[g, c]
            out[g, c] = (w_own * log1p_n[g, c] + w_opportunity * opp + w_expand * expand
                         - w_danger * danger / (danger + n[g, c] + 1.0))
    return out


# =============================================================================================
# Operate (rules.operate)
# =============================================================================================
@njit
def hit_chance(E, S, op_rate):
    """op_rate x the odds E / (E + S) of an attack of each group in each cell (0 where both
    are 0), flat (G * C)."""
    G, C = E.shape
    out = np.empty(G * C)
    for g in range(G):
        for c in range(C):
            e = E[g, c]
            d = e + S[c]
            out[g * C + c] = op_rate * (e / d if d > 0 else 0.0)
    return out


@njit
def after_attacks(hits, A, security, S, X, ops, hits_tally, violence, security_per_hit,
                  state_lethality, passive_exposure):
    """The week's attacks counted (ops, hits, violence); security after the hits (a new
    array, never below 0); and the exponents of the state's fire per cell, -(state_lethality
    S_c x / max(1, X_c)) for an attacker (x = 1) and a passive fighter (x =
    passive_exposure), (2, C)."""
    G, C = A.shape
    new = np.empty(C)
    q = np.empty((2, C))
    for c in range(C):
        h = 0.0
        for g in range(G):
            h += hits[g * C + c]
            ops[g, c] += A[g, c]
            hits_tally[g, c] += hits[g * C + c]
        new[c] = _max(0.0, security[c] - security_per_hit * h)
        violence[c] += h
        x = _max(1.0, X[c])
        q[0, c] = -(state_lethality * S[c] * 1.0 / x)
        q[1, c] = -(state_lethality * S[c] * passive_exposure / x)
    return new, q


@njit
def state_fire_deaths(draw, cell, attack, q_attack, q_passive, group, G, C):
    """:func:`deaths` with each fighter's chance from :func:`state_fire_chance`."""
    return deaths(draw, state_fire_chance(cell, attack, q_attack, q_passive), group, cell, G,
                  C)


@njit
def attackers(group, cell, active_draw, restriction, use_restriction, security, C, GC):
    """Who attacks (active, and state forces in the cell) and the attackers per group and
    cell (float64, G * C flat)."""
    n = group.shape[0]
    attack = np.empty(n, np.bool_)
    A = np.zeros(GC)
    for i in range(n):
        k = np.int64(group[i]) * C + cell[i]
        a = security[cell[i]] > 0
        if use_restriction:
            a = a and np.float64(active_draw[i]) >= restriction[k]
        attack[i] = a
        if a:
            A[k] += 1.0
    return attack, A


@njit
def hits_and_exposure(group, cell, attack, hit_draw, hit_chance, fought, experience,
                      passive_exposure, C, GC):
    """Hits (an attacker whose draw is below op_rate x odds of its group and cell), per group
    and cell; the week's fighting marked; each cell's exposure summed in row order."""
    n = group.shape[0]
    hits = np.zeros(GC)
    X = np.zeros(C)
    for i in range(n):
        c = cell[i]
        if attack[i]:
            k = np.int64(group[i]) * C + c
            if np.float64(hit_draw[i]) < hit_chance[k]:
                hits[k] += 1.0
            fought[i] = True
            experience[i] += 1
            X[c] += 1.0
        else:
            X[c] += passive_exposure
    return hits, X


@njit
def deaths(draw, chance, group, cell, G, C):
    """dead = draw < chance (float64 per fighter); the dead per group and per cell."""
    n = draw.shape[0]
    dead = np.empty(n, np.bool_)
    by_group = np.zeros(G, np.int64)
    by_cell = np.zeros(C, np.int64)
    for i in range(n):
        d = np.float64(draw[i]) < chance[i]
        dead[i] = d
        if d:
            by_group[group[i]] += 1
            by_cell[cell[i]] += 1
    return dead, by_group, by_cell


@njit
def grid_deaths(draw, chance, group, cell, G, C):
    """dead = draw < chance of the fighter's group and cell (float64, G * C flat); the dead
    per group and per cell."""
    n = draw.shape[0]
    mine = np.empty(n)
    for i in range(n):
        mine[i] = chance[np.int64(group[i]) * C + cell[i]]
    return deaths(draw, mine, group, cell, G, C)


@njit
def ground_front(owner, zone, nbr, target):
    """A ground offensive's ground (rules.ground_forces): the cells of ``zone`` held by a
    target group (``target`` by group index), ascending, and those of them that touch a cell
    of the map not held by a target group (its front)."""
    C = owner.shape[0]
    cells = np.empty(C, np.int64)
    front = np.empty(C, np.int64)
    nc = 0
    nf = 0
    for c in range(C):
        o = owner[c]
        if not (o >= 0 and target[o] and zone[c]):
            continue
        cells[nc] = c
        nc += 1
        for j in range(nbr.shape[1]):
            q = nbr[c, j]
            if q >= 0 and not (owner[q] >= 0 and target[owner[q]]):
                front[nf] = c
                nf += 1
                break
    return cells[:nc], front[:nf]


@njit
def exposed(group, cell, target, ground, C):
    """Fighters of a target group in a cell with ground forces: their number per cell
    (float64) and in all."""
    defenders = np.zeros(C)
    n = 0
    for i in range(group.shape[0]):
        if target[group[i]] and ground[cell[i]] > 0:
            defenders[cell[i]] += 1.0
            n += 1
    return defenders, n


@njit
def exposed_deaths(draw, chance, group, cell, target, ground, G, C):
    """The exposed fighters (as in :func:`exposed`), in row order, die when their draw is
    below their cell's chance; the dead per group and per cell."""
    n = group.shape[0]
    dead = np.zeros(n, np.bool_)
    by_group = np.zeros(G, np.int64)
    by_cell = np.zeros(C, np.int64)
    j = 0
    for i in range(n):
        if target[group[i]] and ground[cell[i]] > 0:
            if np.float64(draw[j]) < chance[cell[i]]:
                dead[i] = True
                by_group[group[i]] += 1
                by_cell[cell[i]] += 1
            j += 1
    return dead, by_group, by_cell


@njit
def state_fire_chance(cell, attack, q_attack, q_passive):
    """The state's fire: each fighter's chance of death, by its cell and whether it attacked."""
    n = cell.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = q_attack[cell[i]] if attack[i] else q_passive[cell[i]]
    return out


@njit
def clash_exponents(group, cell, hostility, G, C, W, H, relation, pair_hostility, dist2,
                    ended, war, truce, incident_rate, clash_kappa, war_clash_factor):
    """The week's possible clashes (rules.interact): for each pair a < b not ended, in pair
    order, the cells where both sides meet (at war: either side present and both within one
    cell of it, the front line), cells ascending, and the exponent x of each one's probability
    1 - exp(x). Under truce x = -incident_rate eta dist2 min(n_a, n_b), eta the mean of the two
    sides' mean hostility there; otherwise x = -clash_kappa H_ab min(n_a, n_b) w, w =
    war_clash_factor at war. Returns (a, b, cells, relation, x), one entry per cell."""
    n = np.zeros((G, C))
    eta_sum = np.zeros((G, C))
    for i in range(group.shape[0]):
        g = group[i]
        c = cell[i]
        n[g, c] += 1.0
        eta_sum[g, c] += hostility[i]
    at_war = False
    for a in range(G):
        for b in range(a + 1, G):
            at_war = at_war or relation[a, b] == war
    front = box_sum(n, W, H, 1) if at_war else n
    cap = 0
    for a in range(G):
        for b in range(a + 1, G):
            if relation[a, b] != ended:
                cap += C
    pa = np.empty(cap, np.int64)
    pb = np.empty(cap, np.int64)
    cells = np.empty(cap, np.int64)
    rels = np.empty(cap, np.int64)
    x = np.empty(cap)
    k = 0
    for a in range(G):
        for b in range(a + 1, G):
            rel = relation[a, b]
            if rel == ended:
                continue
            coef = -clash_kappa * pair_hostility[a, b]
            w = war_clash_factor if rel == war else 1.0
            for c in range(C):
                if rel == war:
                    if not (front[a, c] > 0 and front[b, c] > 0 and (n[a, c] > 0 or n[b, c] > 0)):
                        continue
                    na, nb = front[a, c], front[b, c]
                else:
                    if not (n[a, c] > 0 and n[b, c] > 0):
                        continue
                    na, nb = n[a, c], n[b, c]
                mn = na if na <= nb else nb
                if rel == truce:
                    eta = 0.5 * (eta_sum[a, c] / na + eta_sum[b, c] / nb)
                    x[k] = -incident_rate * eta * dist2[a, b] * mn
                else:
                    x[k] = coef * mn * w
                pa[k], pb[k], cells[k], rels[k] = a, b, c, rel
                k += 1
    return pa[:k], pb[:k], cells[:k], rels[:k], x[:k]


@njit
def resolve_clash(ea, eb, u, clash_lethality, incident, a_wins, dead, dead_k, pos, engaged,
                  routed):
    """Casualties of one clash: an engaged fighter of a is hit when its draw (the first
    len(ea) of ``u``, float32) is below clash_lethality E_b / (E_a + E_b) in single precision,
    likewise b with the rest of ``u``; every engaged fighter is marked, and the losing side's
    routed (not in an incident). Returns the casualties of a and b. The dead are marked by
    row (``dead``) and in the order of the index (``dead_k``, at ``pos``)."""
    na, nb = ea.shape[0], eb.shape[0]
    chance_a = np.float32(clash_lethality * nb / (na + nb))
    chance_b = np.float32(clash_lethality * na / (na + nb))
    ua = u[:na]
    ub = u[na:]
    da = 0
    for j in range(ea.shape[0]):
        if ua[j] < chance_a:
            dead[ea[j]] = True
            dead_k[pos[ea[j]]] = True
            da += 1
    db = 0
    for j in range(eb.shape[0]):
        if ub[j] < chance_b:
            dead[eb[j]] = True
            dead_k[pos[eb[j]]] = True
            db += 1
    for j in range(ea.shape[0]):
        engaged[ea[j]] = True
    for j in range(eb.shape[0]):
        engaged[eb[j]] = True
    if not incident:
        loser = eb if a_wins else ea
        for j in range(loser.shape[0]):
            routed[loser[j]] = True
    return da, db


#: at most this many rows of a side's group within reach: :func:`_small_side`
SMALL_BOX = 256


@njit
def _small_side(order, start, dead_k, unit_k, scratch, me, cx, cy, r, W, H, C, out, labels):
    """:func:`unit_side` where few rows of group ``me`` lie within r of (cx, cy): those whose
    unit is among ``labels`` (the occupants', looked up one by one), living, gathered in
    ``scratch`` (row, unit) and put in order of unit, then row, by insertion."""
    m = 0
    for yy in range(max(0, cy - r), min(H, cy + r + 1)):
        for xx in range(max(0, cx - r), min(W, cx + r + 1)):
            k = me * C + yy * W + xx
            for j in range(start[k], start[k + 1]):
                if dead_k[j]:
                    continue
                u = unit_k[j]
                found = False
                for q in range(labels.shape[0]):
                    if labels[q] == u:
                        found = True
                        break
                if not found:
                    continue
                i = order[j]
                t = m  # insertion: after every (unit, row) below this one
                while t > 0 and (scratch[1, t - 1] > u
                                 or (scratch[1, t - 1] == u and scratch[0, t - 1] > i)):
                    scratch[0, t] = scratch[0, t - 1]
                    scratch[1, t] = scratch[1, t - 1]
                    t -= 1
                scratch[0, t] = i
                scratch[1, t] = u
                m += 1
    for t in range(m):
        out[t] = scratch[0, t]
    return m


@njit
def unit_side(order, start, dead_k, unit_k, scratch, me, around, cx, cy, r, use_reach, W, H,
              C, out):
    """One side of a clash at (cx, cy), written to ``out``; returns its size. The living
    occupants of group ``me`` in ``around`` (cell by cell, rows ascending) and, with
    ``use_reach``, instead every living member of group ``me`` of their units within r cells
    of (cx, cy) (Chebyshev), ordered by unit label, then row: the rows of group ``me`` in the
    cells within r whose unit is one of the occupants' (a small hash of their labels), counted
    into their units' places, then each unit's rows in order. ``unit_k`` and ``dead_k`` are
    the units and deaths in the order of ``order``, so that the cells are read in memory
    order; ``scratch`` is work space, two rows of at least as many entries as ``order``.
    Where at most SMALL_BOX rows of group ``me`` lie within r, :func:`_small_side` reads
    them instead (the same rows in the same order, without a hash)."""
    n = 0
    total = 0
    for c in around:
        if c >= 0:
            k = me * C + c
            total += start[k + 1] - start[k]
    if not use_reach:
        for c in around:
            if c >= 0:
                k = me * C + c
                for j in range(start[k], start[k + 1]):
                    if not dead_k[j]:
                        out[n] = order[j]
                        n += 1
        return n
    labels = np.empty(total, np.int64)  # the occupants' units
    for c in around:
        if c >= 0:
            k = me * C + c
            for j in range(start[k], start[k + 1]):
                if not dead_k[j]:
                    labels[n] = unit_k[j]
                    n += 1
    if n == 0:
        return 0
    box = 0  # the rows of group me within r
    for yy in range(max(0, cy - r), min(H, cy + r + 1)):
        for xx in range(max(0, cx - r), min(W, cx + r + 1)):
            k = me * C + yy * W + xx
            box += start[k + 1] - start[k]
    if box <= SMALL_BOX:
        return _small_side(order, start, dead_k, unit_k, scratch, me, cx, cy, r, W, H, C, out,
                           labels[:n])
    slots, _ = hash_build(labels[:n])
    filtered = box > 2048  # many rows to look up: a bitset first (key_filter)
    bits = key_filter(labels[:n]) if filtered else np.zeros(1, np.uint64)
    distinct = np.empty(n, np.int64)
    nu = 0
    for s in range(slots.shape[0]):
        if slots[s] != -1:
            distinct[nu] = slots[s]
            nu += 1
    distinct = np.sort(distinct[:nu])
    rank = np.empty(slots.shape[0], np.int64)  # a unit's place by label, by its slot
    for a in range(nu):
        rank[hash_slot(slots, distinct[a])] = a
    m = 0
    if nu == 1:  # one unit: its rows, cell by cell, then in order
        u0 = distinct[0]
        for yy in range(max(0, cy - r), min(H, cy + r + 1)):
            for xx in range(max(0, cx - r), min(W, cx + r + 1)):
                k = me * C + yy * W + xx
                for j in range(start[k], start[k + 1]):
                    if not dead_k[j] and unit_k[j] == u0:
                        out[m] = order[j]
                        m += 1
        merge_runs(out, 0, m, scratch[0])
        return m
    place = np.zeros(nu + 1, np.int64)
    for yy in range(max(0, cy - r), min(H, cy + r + 1)):
        for xx in range(max(0, cx - r), min(W, cx + r + 1)):
            k = me * C + yy * W + xx
            for j in range(start[k], start[k + 1]):
                if not dead_k[j] and (not filtered or maybe_in(bits, unit_k[j])):
                    s = hash_slot(slots, unit_k[j])
                    if s >= 0:
                        a = rank[s]
                        scratch[0, m] = order[j]
                        scratch[1, m] = a
                        m += 1
                        place[a + 1] += 1
    for a in range(nu):
        place[a + 1] += place[a]
    fill = place[:-1].copy()
    for t in range(m):
        a = scratch[1, t]
        out[fill[a]] = scratch[0, t]
        fill[a] += 1
    for a in range(nu):
        merge_runs(out, place[a], place[a + 1], scratch[0])
    return m


@njit
def merge_runs(a, lo, hi, buf):
    """Sort a[lo:hi] (distinct int64) in place by merging its ascending runs, adjacent pairs
    at a time (a side's rows of one unit are one ascending run per cell); ``buf`` is work
    space of at least hi - lo entries."""
    n = hi - lo
    if n < 2:
        return
    # the runs' starts, and the end
    bounds = np.empty(n + 1, np.int64)
    nb = 0
    bounds[nb] = lo
    nb += 1
    for i in range(lo + 1, hi):
        if a[i] < a[i - 1]:
            bounds[nb] = i
            nb += 1
    bounds[nb] = hi
    runs = nb
    in_a = True  # the runs are in a (else in buf, position p of a at p - lo)
    while runs > 1:
        w = 0
        r = 0
        while r < runs:
            s0 = bounds[r]
            if r + 1 < runs:
                s1, s2 = bounds[r + 1], bounds[r + 2]
                i, j = s0, s1
                t = s0
                while i < s1 and j < s2:
                    if in_a:
                        x, y = a[i], a[j]
                    else:
                        x, y = buf[i - lo], buf[j - lo]
                    if x < y:
                        v = x
                        i += 1
                    else:
                        v = y
                        j += 1
                    if in_a:
                        buf[t - lo] = v
                    else:
                        a[t] = v
                    t += 1
                while i < s1:
                    if in_a:
                        buf[t - lo] = a[i]
                    else:
                        a[t] = buf[i - lo]
                    i += 1
                    t += 1
                while j < s2:
                    if in_a:
                        buf[t - lo] = a[j]
                    else:
                        a[t] = buf[j - lo]
                    j += 1
                    t += 1
            else:
                s2 = bounds[r + 1]
                for t in range(s0, s2):
                    if in_a:
                        buf[t - lo] = a[t]
                    else:
                        a[t] = buf[t - lo]
            bounds[w] = s0
            w += 1
            r += 2
        bounds[w] = hi
        runs = w
        in_a = not in_a
    if not in_a:  # the sorted rows are in buf
        for t in range(lo, hi):
            a[t] = buf[t - lo]


@njit
def fight_next(k, resolve, u, a_wins, fights, order, start, unit_k, pos, nbr, work, marks,
               meta, clash_lethality, rows):
    """The week's clashes (rules._fight) in one compiled pass between the draws: resolve
    clash k (if ``resolve``) with its draws ``u`` and ``a_wins`` (:func:`resolve_clash`, sides
    ``side_a[:meta[1]]`` and ``side_b[:meta[2]]``), appending its row (a, b, cell, E_a, E_b,
    casualties of a and b, winner or -1, incident) to ``rows`` at meta[3]; then gather the
    sides of the clashes after it (:func:`unit_side`: the occupants of the cell, at war of its
    Moore neighbourhood, and with reach >= 0 their units' members within reach of it, at war
    at least one cell), skipping those where a side is empty (they draw nothing), up to the
    next one that needs draws: a clash with both sides present (meta[1], meta[2] its sizes)
    or an incident (its sides are chosen with draws, in numpy). Returns that clash's index
    (len(fa) when none is left).

    The arrays come packed, so that a call passes few of them: ``fights`` (4, K) the clashes'
    groups fa and fb, cells and relations; ``work`` (4, n) the sides side_a and side_b and
    two rows of scratch space for :func:`unit_side`; ``marks`` (4, n) the dead (by row), the
    dead in the order of ``order`` (dead_k), the engaged and the routed; ``meta`` (10,)
    [-, the sides' sizes, rows written, truce, war, battle reach, W, H, C]."""
    fa, fb, cells, rel = fights[0], fights[1], fights[2], fights[3]
    side_a, side_b, scratch = work[0], work[1], work[2:4]
    dead, dead_k, engaged, routed = marks[0], marks[1], marks[2], marks[3]
    truce, war, reach, W, H, C = meta[4], meta[5], meta[6], meta[7], meta[8], meta[9]
    if resolve:
        na, nb = meta[1], meta[2]
        incident = rel[k] == truce
        da, db = resolve_clash(side_a[:na], side_b[:nb], u, clash_lethality, incident, a_wins,
                               dead, dead_k, pos, engaged, routed)
        j = meta[3]
        a, b = fa[k], fb[k]
        rows[j, 0], rows[j, 1], rows[j, 2] = a, b, cells[k]
        rows[j, 3], rows[j, 4], rows[j, 5], rows[j, 6] = na, nb, da, db
        rows[j, 7] = -1 if incident else (a if a_wins else b)
        rows[j, 8] = 1 if incident else 0
        meta[3] = j + 1
    K = fa.shape[0]
    k += 1
    while k < K:
        if rel[k] == truce:
            return k
        c0 = cells[k]
        if rel[k] == war:
            around = nbr[c0, :]
            r = max(reach, 1)
        else:
            around = nbr[c0, :1]
            r = reach
        cx, cy = c0 % W, c0 // W
        na = unit_side(order, start, dead_k, unit_k, scratch, fa[k], around, cx, cy, r,
                       reach >= 0, W, H, C, side_a)
        nb = unit_side(order, start, dead_k, unit_k, scratch, fb[k], around, cx, cy, r,
                       reach >= 0, W, H, C, side_b)
        if na > 0 and nb > 0:
            meta[1], meta[2] = na, nb
            return k
        k += 1
    return K


@njit
def _incident_side(rng, order, start, dead_k, unit, me, c, C, out):
    """One side of an incident in cell c: the living occupants of group ``me`` there (rows
    ascending) that belong to the unit of one of them drawn at random (one draw, only if
    there is an occupant), written to ``out``; returns their number."""
    k = me * C + c
    n = 0
    for j in range(start[k], start[k + 1]):
        if not dead_k[j]:
            out[n] = order[j]
            n += 1
    if n == 0:
        return 0
    pick = out[int(rng.random() * n)]
    label = unit[pick]
    m = 0
    for j in range(n):
        if unit[out[j]] == label:
            out[m] = out[j]
            m += 1
    return m


@njit
def fight_all(rng, fights, order, start, unit_k, pos, nbr, work, marks, meta,
              clash_lethality, rows, unit):
    """The week's clashes and incidents (rules._fight) in one compiled pass, drawing from the
    model's generator ``rng`` in the order the rule states: for an incident, a draw per side
    that has occupants to pick the unit that fights (side a's, then side b's), then the
    casualty draws (:func:`resolve_clash`, single precision, side a's then side b's); for a
    clash with both sides present, the casualty draws, then one draw for the winner (a wins
    when it is below E_a / (E_a + E_b)). Between the draws, :func:`fight_next` gathers the
    sides. The arguments are :func:`fight_next`'s, with ``unit`` the fighters' units by
    row."""
    rel, cells = fights[3], fights[2]
    side_a, side_b = work[0], work[1]
    dead_k = marks[1]
    truce, C = meta[4], meta[9]
    no_draws = np.zeros(0, dtype=np.float32)
    K = fights.shape[1]
    k = fight_next(-1, False, no_draws, False, fights, order, start, unit_k, pos, nbr, work,
                   marks, meta, clash_lethality, rows)
    while k < K:
        if rel[k] == truce:
            # an incident is a fight between two units on the spot, not a battle
            na = _incident_side(rng, order, start, dead_k, unit, fights[0, k], cells[k], C,
                                side_a)
            nb = _incident_side(rng, order, start, dead_k, unit, fights[1, k], cells[k], C,
                                side_b)
            if na == 0 or nb == 0:
                k = fight_next(k, False, no_draws, False, fights, order, start, unit_k, pos,
                               nbr, work, marks, meta, clash_lethality, rows)
                continue
            meta[1], meta[2] = na, nb
            u = rng.random(na + nb, dtype=np.float32)
            k = fight_next(k, True, u, False, fights, order, start, unit_k, pos, nbr, work,
                           marks, meta, clash_lethality, rows)
            continue
        na, nb = meta[1], meta[2]
        u = rng.random(na + nb, dtype=np.float32)
        a_wins = rng.random() < na / (na + nb)
        k = fight_next(k, True, u, a_wins, fights, order, start, unit_k, pos, nbr, work,
                       marks, meta, clash_lethality, rows)


@njit
def clash_tallies(rows, week, clash_casualties, deaths_clash, clashes, violence, clash_memory,
                  last_clash, incidents, tension, tension_per_incident, owner, firmness,
                  cells_gained, clash_wins, firm_rate):
    """The week's clashes applied in clash order (rows: a, b, cell, E_a, E_b, casualties of a
    and b, winner, incident): casualties, counts, violence, clash memory and the week of the
    last clash of the pair; an incident adds tension_per_incident (1 + own fighters lost) to
    each side's tension; the winner of a clash takes the cell (a cell fought over twice goes
    to the last winner), its control at firm_rate."""
    for j in range(rows.shape[0]):
        a, b, c = rows[j, 0], rows[j, 1], rows[j, 2]
        da, db = rows[j, 5], rows[j, 6]
        clash_casualties[a, b] += da
        clash_casualties[b, a] += db
        deaths_clash[a] += da
        deaths_clash[b] += db
        clashes[a, b] += 1
        clashes[b, a] += 1
        violence[c] += da + db
        clash_memory[a, b] += 1
        clash_memory[b, a] += 1
        last_clash[a, b] = week
        last_clash[b, a] = week
        if rows[j, 8]:
            incidents[a, b] += 1
            incidents[b, a] += 1
            tension[a, b] += tension_per_incident * (1 + da)
            tension[b, a] += tension_per_incident * (1 + db)
        else:
            w = rows[j, 7]
            if owner[c] != w:
                cells_gained[w] += 1
            clash_wins[w] += 1
            owner[c] = w
            firmness[c] = firm_rate


@njit
def after_clashes(routed, fought, experience, hostility, routed_now, dead, engaged, revenge):
    """Marks of the week's clashes on the fighters: the losers' survivors routed, the engaged
    marked as having fought, one more fight of experience and revenge: eta += revenge (1 -
    eta)."""
    for i in range(routed.shape[0]):
        if routed_now[i] and not dead[i]:
            routed[i] = True
        if engaged[i]:
            fought[i] = True
            experience[i] += 1
            hostility[i] = hostility[i] + revenge * (1.0 - hostility[i])


# =============================================================================================
# Defect and desert (rules.defect_and_desert)
# =============================================================================================
@njit
def defect_fields(group, cell, ops, alive, G, C, W, H, vision):
    """What a fighter weighing defection sees, per group and cell: whether the group (if it
    exists) has fighters within ``vision``, and its operations this week within ``vision``."""
    near = sight(presence(group, cell, G, C), W, H, vision)
    seen = np.empty((G, C), np.bool_)
    for g in range(G):
        for c in range(C):
            seen[g, c] = near[g, c] > 0 and alive[g]
    return seen, sight(ops, W, H, vision)


@njit
def defect_utilities(cand, group, cell, takfir, coercion, frustration, hostility, commitment,
                     sight_, seen_ops, doctrine, momentum, pull, alpha, beta, gamma, delta,
                     lam, slope, sqrt2):
    """For each candidate: the best other group in sight by U(h) = alpha aff + beta mu_h +
    gamma f_i a_ih - delta eta_i + pull_h (first maximum), whether there is one, and the
    exponent -slope (U(best) - U(own)) of its defection probability, U(own) = alpha aff_g +
    beta mu_g + lam c_i (affinities as rules.affinity)."""
    k = cand.shape[0]
    G = doctrine.shape[0]
    best = np.zeros(k, np.int64)
    has = np.zeros(k, np.bool_)
    x = np.zeros(k)
    aff = np.empty(G)
    for j in range(k):
        i = cand[j]
        g, c = group[i], cell[i]
        for h in range(G):
            d0 = takfir[i] - doctrine[h, 0]
            d1 = coercion[i] - doctrine[h, 1]
            aff[h] = 1.0 - np.sqrt(d0 * d0 + d1 * d1) / sqrt2
        b = 0
        bv = -np.inf
        for h in range(G):
            if sight_[h, c] and h != g:
                v = (alpha * aff[h] + beta * momentum[h] + gamma * frustration[i] * seen_ops[h, c]
                     - delta * hostility[i] + pull[h])
            else:
                v = -np.inf
            if np.isnan(v):
                b = h
                bv = v
                break
            if h == 0 or v > bv:
                b = h
                bv = v
        best[j] = b
        if np.isfinite(bv):
            has[j] = True
            own = alpha * aff[g] + beta * momentum[g] + lam * commitment[i]
            x[j] = -slope * (bv - own)
    return best, has, x


@njit
def defect(cand, u, best, has, e, epsilon, group, commitment, frustration, tenure, unit,
           defected, commitment0, first_label, defections, tension, truce,
           tension_per_defection):
    """Candidate j defects to best[j] when its draw is below epsilon / (1 + e[j]) (e the exp
    of its exponent; 0 without a group in sight): its commitment resets to commitment0, its
    frustration and tenure to 0, it leaves its unit (fresh labels from first_label, in row
    order). The flows are added to ``defections``; every pair's tension grows by
    [truce] tension_per_defection x 100 x flow / the source's fighters before. Returns the
    number of defectors; marks them in ``defected``."""
    G = defections.shape[0]
    go = np.zeros(cand.shape[0], np.bool_)
    flows = np.zeros((G, G), np.int64)
    k = 0
    for j in range(cand.shape[0]):
        prob = epsilon / (1.0 + e[j]) if has[j] else 0.0
        if u[cand[j]] < prob:
            go[j] = True
            flows[group[cand[j]], best[j]] += 1
            k += 1
    if k == 0:
        return 0
    before = np.zeros(G, np.int64)
    for i in range(group.shape[0]):
        before[group[i]] += 1
    label = first_label
    for j in range(cand.shape[0]):
        if go[j]:
            i = cand[j]
            group[i] = best[j]
            commitment[i] = commitment0
            frustration[i] = 0.0
            tenure[i] = 0
            unit[i] = label
            label += 1
            defected[i] = True
    for g in range(G):
        b = max(1, before[g])
        for h in range(G):
            defections[g, h] += flows[g, h]
            t = (tension_per_defection if truce[g, h] else 0.0) * 100.0
            tension[g, h] += t * flows[g, h] / b
    return k


@njit
def desert(u, defected, desert_rate, hardship, commitment, governance, group, cell,
           desertions, population):
    """A fighter who did not defect deserts when its draw is below desert_rate (1 - c_i)
    (1 - G_i), G_i = H_i (1 - L_cell): counted by group, back into its cell's population.
    Returns the deserters."""
    n = u.shape[0]
    out = np.zeros(n, np.bool_)
    C = population.shape[0]
    home = np.zeros(C, np.int64)
    any_ = False
    for i in range(n):
        if u[i] < np.float32(desert_rate) and not defected[i]:
            grievance = hardship[i] * (1.0 - governance[cell[i]])
            if u[i] < desert_rate * (1.0 - commitment[i]) * (1.0 - grievance):
                out[i] = True
                desertions[group[i]] += 1
                home[cell[i]] += 1
                any_ = True
    if any_:
        for c in range(C):
            population[c] += home[c]
    return out


# =============================================================================================
# Relations (rules.relations)
# =============================================================================================
@njit
def group_counts(group, hostility, G):
    """Fighters per group (int64) and the sum of their hostility (in row order, as numpy's
    bincount adds it)."""
    counts = np.zeros(G, np.int64)
    eta = np.zeros(G)
    for i in range(group.shape[0]):
        counts[group[i]] += 1
        eta[group[i]] += hostility[i]
    return counts, eta


@njit
def relations_drift(counts, eta_sum, doctrine, hostility, clash_memory, tension, threat,
                    deaths_state, last_strike_deaths, threat_rate, distance_weight,
                    memory_weight, group_hostility_rate, memory_decay, tension_decay, sqrt2):
    """The week's drift of the groups' relations: threat T_g moves toward the share of g's
    fighters killed by the state and outside forces; pair hostility toward (eta_g + eta_h) / 2
    + distance_weight d_gh + memory_weight M / (1 + M), clipped to [0, 1] (0 for a group
    itself); clash memory and tension decay. Returns M / (1 + M) before the decay."""
    G = counts.shape[0]
    eta_bar = np.empty(G)
    for g in range(G):
        b = max(1, counts[g])
        losses = (deaths_state[g] + last_strike_deaths[g]) / b
        threat[g] = threat[g] + threat_rate * (losses - threat[g])
        eta_bar[g] = eta_sum[g] / b
    memory = np.empty((G, G))
    for g in range(G):
        for h in range(G):
            d0 = doctrine[g, 0] - doctrine[h, 0]
            d1 = doctrine[g, 1] - doctrine[h, 1]
            dist = np.sqrt(d0 * d0 + d1 * d1) / sqrt2
            mem = clash_memory[g, h] / (1.0 + clash_memory[g, h])
            memory[g, h] = mem
            target = _clip01(0.5 * (eta_bar[g] + eta_bar[h]) + distance_weight * dist
                             + memory_weight * mem)
            if g == h:
                hostility[g, h] = 0.0
            else:
                hostility[g, h] = hostility[g, h] + group_hostility_rate * (target
                                                                            - hostility[g, h])
            clash_memory[g, h] *= 1.0 - memory_decay
            tension[g, h] *= 1.0 - tension_decay
    return memory


# =============================================================================================
# Control and governance (rules.control_and_governance)
# =============================================================================================
@njit
def _max(a, b):
    """numpy's maximum(a, b) for one pair of float64 (NaN wins)."""
    if np.isnan(a) or np.isnan(b):
        return a if np.isnan(a) else b
    return a if a >= b else b


@njit
def hold_layer(group, cell, owner, administration, firmness, hold_strength, G, C, W, H, r):
    """What holds each cell for its holder (rules._strongest): hold_strength x
    administration_g x firmness in the cells g holds where g has a fighter within r cells,
    else 0 (the products in numpy's order)."""
    near = sight(presence(group, cell, G, C), W, H, r)
    hold = np.zeros(C)
    for c in range(C):
        g = owner[c]
        if g >= 0:
            backed = 1.0 if near[g, c] > 0 else 0.0
            hold[c] = hold_strength * administration[g] * firmness[c] * backed
    return hold


@njit
def strongest(group, cell, G, state_strength, owner, hold, use_hold, control_min,
              control_margin, state, contested):
    """Per cell, the actor whose strength exceeds all others' by control_margin and is at
    least control_min (and above 0): a group (its fighters there, plus ``hold[c]``, what its
    administration adds, where it holds the cell) or the state (``state_strength``); else
    ``contested``. The first of equal strengths counts as the strongest (numpy's argmax)."""
    C = state_strength.shape[0]
    s = np.zeros((G + 1, C))
    for i in range(group.shape[0]):
        s[group[i], cell[i]] += 1.0
    s[G] = state_strength
    if use_hold:
        for c in range(C):
            if owner[c] >= 0:
                s[owner[c], c] += hold[c]
    out = np.empty(C, np.int64)
    for c in range(C):
        top = 0
        tv = s[0, c]
        if not np.isnan(tv):
            for k in range(1, G + 1):
                v = s[k, c]
                if np.isnan(v):
                    top, tv = k, v
                    break
                if v > tv:
                    top, tv = k, v
        second = -np.inf  # the largest of the others
        for k in range(G + 1):
            if k != top:
                second = _max(second, s[k, c])
        second = _max(second, 0.0)
        clear = tv > 0 and tv >= control_min and tv >= control_margin * second
        out[c] = (state if top == G else top) if clear else contested
    return out


@njit
def take_cells(flip, winner, owner, firmness, cells_gained, cells_taken, truce, tension,
               tension_per_cell, firm_rate):
    """The cells whose control flips go to their challenger, control at firm_rate: cells
    gained per group; cells one group took from another (``cells_taken``), and where any was
    taken from a truce partner, every pair's tension grows by [truce] tension_per_cell x 100
    x taken / the loser's territory (at least 1) before the flips."""
    G = cells_gained.shape[0]
    C = owner.shape[0]
    taken = np.zeros((G, G), np.int64)
    partner = False
    for c in range(C):
        if flip[c]:
            w, o = winner[c], owner[c]
            if w >= 0:
                cells_gained[w] += 1
                if o >= 0:
                    taken[o, w] += 1
                    partner = partner or truce[o, w]
    if partner:
        held = np.zeros(G, np.int64)
        for c in range(C):
            if owner[c] >= 0:
                held[owner[c]] += 1
        for g in range(G):
            b = max(1, held[g])
            for h in range(G):
                t = (tension_per_cell if truce[g, h] else 0.0) * 100.0
                tension[g, h] += t * taken[g, h] / b
    for g in range(G):
        for h in range(G):
            cells_taken[g, h] += taken[g, h]
    for c in range(C):
        if flip[c]:
            owner[c] = winner[c]
            firmness[c] = firm_rate


@njit
def contest(winner, owner, firmness, cell, relation, claim, strength, truce, contested,
            firm_rate, firm_fade, erode_rate, claim_expansion, control_min):
    """Control firms where the holder is the strongest, erodes where a clear challenger is
    (a truce partner's challenge at erode_rate x claim_expansion x its claim), fades in empty
    cells; returns the cells whose control flips to the challenger."""
    C = winner.shape[0]
    occupied = np.zeros(C, np.bool_)
    for i in range(cell.shape[0]):
        occupied[cell[i]] = True
    flip = np.zeros(C, np.bool_)
    for c in range(C):
        w, o = winner[c], owner[c]
        f = firmness[c]
        same = w == o
        if same:
            f = f + firm_rate * (1.0 - f)
        challenged = w != contested and not same
        if challenged:
            rate = erode_rate
            if o >= 0 and w >= 0 and relation[w, o] == truce:
                rate = erode_rate * (claim_expansion * claim[w])
            f = f - rate
        elif not occupied[c] and strength[c] < control_min and not same:
            f = f - firm_fade
        firmness[c] = f
        flip[c] = challenged and f <= 0
    return flip


@njit
def rule_cells(owner, winner, flip, firmness, security, ground, doctrine, support, hardship,
               governance, state, no_owner, ground_garrison, support_rate, neg_support_decay,
               hardship_rate, keep_governance):
    """After the flips: ground forces garrison what they retake, control lost where it faded,
    then each group rules its cells by its doctrine (support, hardship, governance)."""
    G, C = support.shape
    for c in range(C):
        if flip[c] and winner[c] == state and ground[c] > 0:
            security[c] = _max(security[c], ground_garrison)
        if firmness[c] <= 0 and not flip[c]:
            owner[c] = no_owner
        firmness[c] = _clip01(firmness[c])
        o = owner[c]
        for g in range(G):
            s = support[g, c]
            if o >= 0 and o == g:
                support[g, c] = s + support_rate * ((1.0 - doctrine[g, 1]) - s)
            else:
                support[g, c] = s + neg_support_decay * s
        if o >= 0:
            hardship[c] = _clip01(hardship[c] + hardship_rate * (doctrine[o, 1] - 0.5))
            governance[c] = governance[c] * keep_governance


@njit
def violence_exponent(violence, violence_scale):
    """-v / violence_scale per cell (float64; the violence counts may be integers)."""
    out = np.empty(violence.shape[0])
    for c in range(violence.shape[0]):
        out[c] = -np.float64(violence[c]) / violence_scale
    return out


@njit
def erode(governance, e, governance_erosion):
    """L *= 1 - governance_erosion (1 - e), e = exp(-v / violence_scale) per cell, in place."""
    for c in range(governance.shape[0]):
        governance[c] = governance[c] * (1.0 - governance_erosion * (1.0 - e[c]))


@njit
def restore_governance(owner, governance, governance0, programme_rate, programme_target,
                       hardship, state, recovery):
    """The state restores governance where it holds the cell; a programme builds it (and
    eases hardship) where no group rules."""
    for c in range(owner.shape[0]):
        o = owner[c]
        g = governance[c]
        if o == state:
            g = g + recovery * _max(0.0, governance0[c] - g)
        r = programme_rate[c]
        if r > 0 and not o >= 0:
            g = g + r * (programme_target[c] - g)
            hardship[c] = hardship[c] - r * 0.5 * hardship[c]
        governance[c] = g


# =============================================================================================
# State and outside forces (rules.state_and_outside_forces)
# =============================================================================================
@njit
def regenerate_security(security, governance, governance0, capacity, programme_security, owner,
                        security_regen):
    """Where no group rules, security regenerates toward its capacity K_c (L_c / L0_c, the
    ratio clipped to [0, 2], L0 at least 0.05) plus any programme's security, at
    security_regen, within the state's budget (total security never exceeds total
    capacity). Sums as numpy adds them."""
    C = security.shape[0]
    cap = np.empty(C)
    deficit = np.zeros(C)
    for c in range(C):
        rel = _clip(governance[c] / _max(governance0[c], 0.05), 0.0, 2.0)
        cap[c] = capacity[c] * rel + programme_security[c]
        if owner[c] < 0:
            deficit[c] = _max(0.0, cap[c] - security[c])
    room = np_sum(cap) - np_sum(security)
    room = room if room > 0.0 else 0.0
    total = np_sum(deficit)
    if total > 0 and room > 0:
        f = room / total
        f = f if f < 1.0 else 1.0
        for c in range(C):
            security[c] += security_regen * deficit[c] * f


@njit
def redeploy_security(security, cell, owner, state, W, H, vision, redeploy_rate):
    """A share redeploy_rate of the security of quiet state-held cells (no fighter within
    vision) moves to the state-held cells with fighters within vision, in proportion to
    them. Sums as numpy adds them."""
    C = security.shape[0]
    count = np.zeros((1, C))
    for i in range(cell.shape[0]):
        count[0, cell[i]] += 1.0
    near = sight(count, W, H, vision)[0]
    nq = 0
    nt = 0
    for c in range(C):
        if owner[c] == state:
            if near[c] == 0 and security[c] > 0:
                nq += 1
            elif near[c] > 0:
                nt += 1
    if nq == 0 or nt == 0:
        return
    quiet = np.empty(nq)
    w = np.empty(nt)
    nq = 0
    nt = 0
    for c in range(C):
        if owner[c] == state:
            if near[c] == 0 and security[c] > 0:
                quiet[nq] = security[c]
                nq += 1
            elif near[c] > 0:
                w[nt] = near[c]
                nt += 1
    pool = redeploy_rate * np_sum(quiet)
    wsum = np_sum(w)
    keep = 1.0 - redeploy_rate
    for c in range(C):
        if owner[c] == state:
            if near[c] == 0 and security[c] > 0:
                security[c] *= keep
            elif near[c] > 0:
                security[c] += pool * near[c] / wsum


@njit
def strike_hazard(strike, owner, strike_lethality, strike_territory_weight):
    """Each group's strike hazard per cell: strike_lethality k_gc (1 + strike_territory_weight
    [g holds c])."""
    G, C = strike.shape
    out = np.empty((G, C))
    for g in range(G):
        for c in range(C):
            holds = 1.0 if owner[c] == g else 0.0
            out[g, c] = strike_lethality * strike[g, c] * (1.0 + strike_territory_weight * holds)
    return out


@njit
def strongest_strike(strike, group, cell):
    """Per group, the largest strike strength over the cells where it has fighters (0 if
    none)."""
    G, C = strike.shape
    present = np.zeros((G, C), np.bool_)
    for i in range(group.shape[0]):
        present[group[i], cell[i]] = True
    out = np.zeros(G)
    for g in range(G):
        for c in range(C):
            if present[g, c]:
                out[g] = _max(out[g], strike[g, c])
    return out


# =============================================================================================
# The cache of compiled code
# =============================================================================================
#: kernels every run calls in its first week, whatever the scenario
EVERY_RUN = ("socialise", "move", "move_field", "attackers", "group_sums", "cells_record",
             "tally_record")


def uncached(names: tuple[str, ...] = EVERY_RUN) -> list[str]:
    """The kernels among ``names`` that numba's cache holds no machine code for, for this
    version of this file: they will be compiled on their first call (a fresh install, or
    after an upgrade). Empty when numba's cache cannot be read this way."""
    out = []
    for name in names:
        try:
            if not globals()[name]._cache._cache_file._load_index():
                out.append(name)
        except Exception:  # numba's internals differ: nothing can be said
            return []
    return out
