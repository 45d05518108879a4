"""The submodels, one function each, in schedule order (docs/ODD.md, section 7).

Every function takes the model and updates its arrays in place, vectorised over fighters and
cells. Loops in Python run over groups, pairs of groups or scheduled events (a handful), never
over fighters. Symbols follow docs/ODD.md; every parameter is ``m.p.<name>`` from
:mod:`sim.params`. Every random draw uses ``m.rng``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import kernels
from .enums import NO_OWNER, STATE, EventKind, Relation

if TYPE_CHECKING:  # pragma: no cover
    from .model import MilitantModel

SQRT2 = np.sqrt(2.0)
#: group indices are >= 0; "no winner" in a contested cell
_CONTESTED = -3
#: no row flagged (kernels.below)
_NONE = np.zeros(0, dtype=bool)
#: a new fighter's unit is labelled by its fighter id; units made later (by fragmentation or
#: defection) take fresh labels from ``m.next_unit``, which starts here, above every fighter id
FIRST_NEW_UNIT = 1 << 40


def new_units(m: MilitantModel, k: int) -> np.ndarray:
    """k fresh unit labels, never used before in this run."""
    labels = np.arange(m.next_unit, m.next_unit + k, dtype=np.int64)
    m.next_unit += k
    return labels


def _uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    """U(0, 1) draws for Bernoulli trials, in single precision (resolution 6e-8, far below any
    probability the rules use; about twice as fast to draw and compare)."""
    return rng.random(n, dtype=np.float32)


@dataclass
class Tally:
    """What happened this week, for the rules that follow and for the data collector."""

    G: int
    C: int
    recruits: np.ndarray = field(init=False)
    latent: int = field(init=False)
    deaths_state: np.ndarray = field(init=False)
    deaths_clash: np.ndarray = field(init=False)
    deaths_strike: np.ndarray = field(init=False)
    deaths_ground: np.ndarray = field(init=False)
    desertions: np.ndarray = field(init=False)
    defections: np.ndarray = field(init=False)   # [from, to]
    ops: np.ndarray = field(init=False)          # attacks per group per cell
    hits: np.ndarray = field(init=False)         # hits per group per cell
    clashes: np.ndarray = field(init=False)      # [g, h] clash count, incidents included (symmetric)
    incidents: np.ndarray = field(init=False)    # [g, h] incidents under truce (symmetric)
    clash_casualties: np.ndarray = field(init=False)  # [g, h] fighters of g killed by h
    clash_wins: np.ndarray = field(init=False)
    violence: np.ndarray = field(init=False)     # casualties and hits per cell
    cells_gained: np.ndarray = field(init=False)
    cells_taken: np.ndarray = field(init=False)  # [from, to] cells one group took from another

    def __post_init__(self):
        self.reset()

    def reset(self):
        G, C = self.G, self.C
        self.recruits = np.zeros(G, np.int64)
        self.latent = 0
        self.deaths_state = np.zeros(G, np.int64)
        self.deaths_clash = np.zeros(G, np.int64)
        self.deaths_strike = np.zeros(G, np.int64)
        self.deaths_ground = np.zeros(G, np.int64)
        self.desertions = np.zeros(G, np.int64)
        self.defections = np.zeros((G, G), np.int64)
        self.ops = np.zeros((G, C))
        self.hits = np.zeros((G, C))
        self.clashes = np.zeros((G, G), np.int64)
        self.incidents = np.zeros((G, G), np.int64)
        self.clash_casualties = np.zeros((G, G), np.int64)
        self.clash_wins = np.zeros(G, np.int64)
        self.violence = np.zeros(C)
        self.cells_gained = np.zeros(G, np.int64)
        self.cells_taken = np.zeros((G, G), np.int64)


@dataclass
class ActiveEffect:
    """A timeline event with a lasting effect (intervention, restriction, programme)."""

    kind: str
    start: int
    until: int | None
    args: dict[str, Any]
    #: indices of the groups it names (its group, or its targets), resolved at load
    groups: tuple[int, ...] = ()
    #: a ground offensive's axis heads (cells), drawn on its first week when it has axes
    heads: np.ndarray | None = None


def timeline_groups(m: MilitantModel) -> list[tuple[int, ...]]:
    """For each timeline event, the indices of the groups it names (``group`` or
    ``targets``), resolved once when the model is built."""
    out = []
    for ev in m.spec.timeline:
        names = ev.args.get("targets") or ([ev.args["group"]] if ev.args.get("group") else [])
        out.append(tuple(m.group_names.index(n) for n in names))
    return out


# =============================================================================================
# Initialisation
# =============================================================================================
def place_initial_fighters(m: MilitantModel) -> None:
    """Initial fighters: uniformly over their group's start zone, ideology near the doctrine,
    hostility at its equilibrium under the group's propaganda (see ``socialise``)."""
    p, F = m.p, m.fighters
    for g, spec in enumerate(m.spec.groups):
        n = spec.fighters
        if n == 0:
            continue
        zone = m.zones[spec.zone] if spec.zone else m.zones["all"]
        cells = np.flatnonzero(zone)
        cell = m.rng.choice(cells, size=n)
        ideo = np.clip(m.doctrine[g] + m.rng.normal(0.0, p.ideology_sd, (n, 2)), 0, 1)
        fids = F.add(group=np.full(n, g), cell=cell, takfir=ideo[:, 0], coercion=ideo[:, 1],
                     hardship=np.clip(m.hardship[cell] + m.rng.normal(0, p.hardship_sd, n), 0, 1),
                     risk=m.rng.random(n), commitment=np.full(n, p.commitment0),
                     hostility=hostility_equilibrium(m, g, ideo[:, 0]))
        m._add_agents(fids)


def hostility_equilibrium(m: MilitantModel, g: int, takfir: np.ndarray) -> np.ndarray:
    """Where ``socialise`` holds a fighter of g with ideology ``takfir`` absent clashes and
    contact: (r pi_g takfir_g + relax b_i) / (r pi_g + relax), b_i = hostility_base_weight
    takfir_i (the fighter's own level)."""
    p = m.p
    own = p.hostility_base_weight * np.asarray(takfir, dtype=np.float64)
    pull = p.hostility_rate * m.propaganda[g]
    denom = pull + p.hostility_relax
    if denom <= 0:
        return own
    return kernels.clip01((pull * m.doctrine[g, 0] + p.hostility_relax * own) / denom)


def initial_control(m: MilitantModel) -> None:
    """Initial control: whoever is clearly strongest holds the cell, half firm."""
    winner = _strongest(m)
    held = winner != _CONTESTED
    m.owner[held] = winner[held]
    m.firmness[held] = 0.5


# =============================================================================================
# 1. Timeline
# =============================================================================================
def timeline(m: MilitantModel) -> None:
    """Start the scenario events scheduled for this week; end those whose ``until`` is reached."""
    events = m.spec.timeline
    changed = False
    while m._next_event < len(events) and events[m._next_event].week <= m.week:
        ev, groups = events[m._next_event], m.timeline_groups[m._next_event]
        m._next_event += 1
        m.log_event(EventKind.TIMELINE, groups[0] if ev.args.get("group") else -1, -1, -1, 0.0,
                    "start " + ev.describe())
        if ev.kind == "leader_killed":
            kill_leader(m, groups[0], "timeline")
        elif ev.kind == "set_group":
            g = groups[0]
            value = float(ev.args["value"])
            if ev.args["field"] in ("takfir", "coercion"):
                m.doctrine[g, 0 if ev.args["field"] == "takfir" else 1] = value
            else:
                getattr(m, ev.args["field"])[g] = value
        else:
            m.active_effects.append(ActiveEffect(ev.kind, m.week, ev.args.get("until"),
                                                 dict(ev.args), groups))
            changed = True
    ended = [e for e in m.active_effects if e.until is not None and e.until <= m.week]
    for e in ended:
        m.active_effects.remove(e)
        m.log_event(EventKind.TIMELINE, e.groups[0] if e.args.get("group") else -1, -1, -1,
                    0.0, f"end {e.kind}")
        changed = True
    if changed:
        _refresh_effects(m)


def _refresh_effects(m: MilitantModel) -> None:
    """Rebuild the effect layers from the active effects (overlaps: the strongest holds)."""
    m.restriction[:] = 0.0
    m.strike[:] = 0.0
    m.programme_rate[:] = 0.0
    m.programme_target[:] = 0.0
    m.programme_security[:] = 0.0
    for e in m.active_effects:
        a = e.args
        mask = m.zones[a["zone"]]
        if e.kind == "restriction":
            g = e.groups[0]
            m.restriction[g, mask] = np.maximum(m.restriction[g, mask], a["level"])
        elif e.kind == "intervention":
            for g in e.groups:
                m.strike[g, mask] += a["strength"] * m.p.intervention_scale
        elif e.kind == "governance_programme":
            s = m.p.governance_support
            m.programme_rate[mask] = np.maximum(m.programme_rate[mask], min(1.0, a["rate"] * s))
            m.programme_target[mask] = np.maximum(m.programme_target[mask], a["target"])
            m.programme_security[mask] = np.maximum(m.programme_security[mask],
                                                    a["security"] * s)


# =============================================================================================
# 2. Mobilise (Epstein 2002, made local)
# =============================================================================================
def mobilise(m: MilitantModel) -> None:
    """Civilians join groups.

    Each cell yields n ~ Binomial(population, candidate_rate) candidates. A candidate has
    hardship H ~ N(h_cell, hardship_sd) clipped to [0, 1], risk aversion R ~ U(0, 1), grievance
    G = H (1 - L) and perceived risk P = 1 - exp(-k round(S_v / (1 + A_v))), S_v the security
    and A_v the fighters within ``vision``. It mobilises if G - R P > T (these three formulas
    are ``grievance``, ``arrest_probability`` and ``activates``, shared with the docking mode
    :mod:`sim.epstein`), then joins the group
    g within ``recruit_reach`` drawn by a softmax over
    U_g = w_aff aff(theta, Theta_g) + w_mom mu_g + w_sup support_g(cell),
    aff(a, b) = 1 - |a - b| / sqrt(2). Candidates with no group in reach stay home (``latent``).
    """
    p, rng = m.p, m.rng
    _foreign_fighters(m)
    levy(m)
    n_cand = rng.binomial(m.population.astype(np.int64), p.candidate_rate)
    total = int(n_cand.sum())
    if total == 0:
        return
    cell = np.repeat(np.arange(m.n_cells), n_cand)
    H = kernels.clip01(m.hardship[cell] + rng.normal(0.0, p.hardship_sd, total))
    R = rng.random(total)
    G = grievance(H, m.governance[cell])
    F = m.fighters
    S_v, A_v, reach = kernels.mobilise_fields(F.group, F.cell, m.security, m.group_alive,
                                              m.n_groups, m.n_cells, m.width, m.height,
                                              p.vision, p.recruit_reach)
    P = arrest_probability(S_v, 1.0 + A_v, p.arrest_k)
    go = activates(G, R, P[cell], p.threshold)
    if not go.any():
        return
    idx, reachable, m.tally.latent = kernels.in_reach(cell, go, reach)
    n = len(idx)
    if n == 0:
        return
    cell, H, R = cell[idx], H[idx], R[idx]
    theta = kernels.clip01(m.pop_ideology[cell] + rng.normal(0.0, p.ideology_sd, (n, 2)))
    gumbel = -np.log(-np.log(rng.random((n, m.n_groups)) + 1e-300) + 1e-300)
    group = kernels.choose_groups(theta, cell, reachable, gumbel, m.doctrine, m.momentum,
                                  m.support, p.w_affinity, p.w_momentum, p.w_support,
                                  p.choice_temperature, SQRT2)
    _enlist(m, cell, group, H, R, theta)


def levy(m: MilitantModel) -> None:
    """Recruitment in held ground (an option, off at ``levy_rate`` = 0: no draw is taken).

    In each cell c a group g holds, k ~ Binomial(P_c, levy_rate (kappa_g + (1 - kappa_g)
    phi_gc)) civilians enlist with it: kappa_g its doctrine's coercion (conscription), phi_gc
    its civilians' support there (enlistment with the faction that rules the village;
    support follows control, 7.9). A recruit draws hardship, risk aversion and ideology as a
    candidate of the cell does (``mobilise``), leaves the population and starts with
    commitment ``commitment0``. What the group gains so depends on the ground it holds and
    how it holds it, and is lost with it.
    """
    p, rng = m.p, m.rng
    if p.levy_rate <= 0.0:
        return
    cells = np.flatnonzero(m.owner >= 0)
    if not len(cells):
        return
    g = m.owner[cells].astype(np.int64)
    kappa = m.doctrine[g, 1]
    rate = np.clip(p.levy_rate * (kappa + (1.0 - kappa) * m.support[g, cells]), 0.0, 1.0)
    k = rng.binomial(m.population[cells].astype(np.int64), rate)
    n = int(k.sum())
    if n == 0:
        return
    cell, group = np.repeat(cells, k), np.repeat(g, k)
    H = kernels.clip01(m.hardship[cell] + rng.normal(0.0, p.hardship_sd, n))
    R = rng.random(n)
    theta = kernels.clip01(m.pop_ideology[cell] + rng.normal(0.0, p.ideology_sd, (n, 2)))
    _enlist(m, cell, group, H, R, theta)


def _enlist(m: MilitantModel, cell, group, H, R, theta) -> None:
    """Civilians of ``cell`` join ``group`` (hardship H, risk aversion R, ideology theta, drawn
    by the caller): they leave the population of their cell and start with commitment
    ``commitment0`` and the hostility of their takfir."""
    p = m.p
    kernels.leave_population(m.population, cell, group, m.tally.recruits)
    fids = m.fighters.add(group=group, cell=cell, takfir=theta[:, 0], coercion=theta[:, 1],
                          hardship=H, risk=R, commitment=np.full(len(cell), p.commitment0),
                          hostility=p.hostility_base_weight * theta[:, 0])
    m._add_agents(fids)


def _foreign_fighters(m: MilitantModel) -> None:
    """Foreign fighters: k ~ Poisson(foreign_inflow_g) arrive a week, in a random cell the group
    holds (its start zone if it holds none), with ideology at the doctrine and high commitment."""
    p, rng = m.p, m.rng
    for g in range(m.n_groups):
        if not (m.foreign_inflow[g] > 0 and m.group_alive[g]):
            continue
        k = int(rng.poisson(m.foreign_inflow[g]))
        if k == 0:
            continue
        held = np.flatnonzero(m.owner == g)
        cells = held if len(held) else np.flatnonzero(m.base_zone[g])
        cell = cells[rng.integers(0, len(cells), size=k)]  # what rng.choice(cells, k) draws
        ideo = kernels.clip01(m.doctrine[g] + rng.normal(0.0, p.ideology_sd / 2, (k, 2)))
        fids = m.fighters.add(group=np.full(k, g), cell=cell, takfir=ideo[:, 0],
                              coercion=ideo[:, 1], hardship=np.full(k, 0.5),
                              risk=rng.random(k), commitment=np.ones(k),
                              hostility=hostility_equilibrium(m, g, ideo[:, 0]))
        m._add_agents(fids)
        m.tally.recruits[g] += k


# Epstein's (2002) activation rule, shared by ``mobilise`` and the docking mode
# (:mod:`sim.epstein`), so that docking tests this rule and not a copy of it.
def grievance(hardship, legitimacy):
    """Grievance G = H (1 - L)."""
    return hardship * (1.0 - legitimacy)


def arrest_probability(cops, actives, k):
    """Perceived arrest probability P = 1 - exp(-k round(C / A)); ``actives`` A counts the
    citizen herself. round is half to even (numpy's, as Python's round in Mesa's example)."""
    return 1.0 - np.exp(-k * np.round(cops / actives))


def activates(grievance, risk, p_arrest, threshold):
    """Epstein's activation test G - R P > T (net risk R P, R the risk aversion)."""
    return grievance - risk * p_arrest > threshold


def affinity(theta: np.ndarray, doctrine: np.ndarray) -> np.ndarray:
    """aff(theta_i, Theta_g) = 1 - |theta_i - Theta_g| / sqrt(2), shape (n, G)."""
    d = theta[:, None, :] - doctrine[None, :, :]
    return 1.0 - np.sqrt((d * d).sum(-1)) / SQRT2


# =============================================================================================
# 3. Socialise
# =============================================================================================
def socialise(m: MilitantModel) -> None:
    """Propaganda and life in the group.

    theta_i += ideology_rate pi_g (Theta_g - theta_i);
    eta_i += hostility_rate pi_g (takfir_g - eta_i) + hostility_relax (b_i - eta_i)
             - contact_rate eta_i [a truce partner's fighters share the cell],
    b_i = hostility_base_weight takfir_i: propaganda holds fighters at the doctrine's branding of
    rivals as apostates, against their own level; living beside a partner's fighters softens
    hostility (revenge after clashes, in ``interact``, hardens it). No claim term: a claim acts
    on hostility only through what the claimant does.
    c_i += commitment_rate (c*_g - c_i), c*_g = cohesion_g (commitment_base
    + (1 - commitment_base) mu'_g), mu'_g = w mu_g + (1 - w) mu0_g (w = commitment_momentum,
    mu0_g the group's momentum at the start);
    f_i += min(1, frustration_rate r_g(cell) (1 + rival_factor a_i)) (1 - f_i), a_i the rival operations
    seen last week, 1 - exp(-ops / activity_scale); f_i decays by frustration_decay in a week
    the fighter fought and by frustration_relax when it is not restricted.
    """
    p, F = m.p, m.fighters
    if len(F) == 0:
        return
    G, C = m.n_groups, m.n_cells
    truce = m.relation == Relation.TRUCE
    use_contact = p.contact_rate > 0 and truce.any()
    mu = m.momentum
    if p.commitment_momentum != 1.0:  # an ablation: commitment follows momentum less, or not
        mu = p.commitment_momentum * m.momentum + (1.0 - p.commitment_momentum) * m.momentum0
    c_star = m.cohesion * (p.commitment_base + (1.0 - p.commitment_base) * mu)
    # the rival operations seen: the neighbourhood sum is linear, so all groups' seen less
    # one's own
    partner_here, x = kernels.socialise_fields(F.group, F.cell, m.prev_ops, truce, use_contact,
                                               G, C, m.width, m.height, p.vision,
                                               p.activity_scale)
    activity = 1.0 - np.exp(x)  # (G * C), looked up per fighter
    kernels.socialise(F.group, F.cell, F.takfir, F.coercion, F.hostility, F.commitment,
                      F.frustration, F.tenure, F.fought, m.propaganda, m.doctrine,
                      partner_here, use_contact, c_star, m.restriction.ravel(),
                      activity, C, p.ideology_rate, p.hostility_rate,
                      p.hostility_relax, p.hostility_base_weight, p.contact_rate,
                      p.commitment_rate, p.frustration_rate, p.frustration_rival_factor,
                      p.frustration_decay, p.frustration_relax)


# =============================================================================================
# 4. Move
# =============================================================================================
def move(m: MilitantModel) -> None:
    """Each fighter (with probability move_rate, or if routed) stays or steps to a neighbour.

    Score of cell c for a fighter of group g:
    w_own log(1 + n_gc) + w_opp (1 - L_c) s0 / (s0 + S_c) + w_expand x_gc
    - w_danger D_gc / (D_gc + n_gc + 1) + w_defend [g holds c] T_gc / (T_gc + n_gc + 1)
    + move_noise U(0, 1),
    with x_gc = 0 on g's own ground, claim_expansion x claim_g on a truce partner's (a claimant
    recognises no one else's rule), 1 elsewhere, and D_gc the hostile strength (state strength
    plus rival fighters weighted by pair hostility, war doubling it, truce partners not
    counted), and T_gc the same hostile strength summed over c and its neighbours (the threat to
    a cell g holds; off by default, w_defend = 0). A restricted group's fighters do
    not leave the zone where they are restricted; routed fighters must leave their cell.

    Where w_crowd > 0 the score also loses w_crowd N_c / (supply_ratio P_c + 1), N_c the
    fighters of every group in c and P_c its civilians, as they stand when the fighter moves:
    the movers step one after the other, in a random order, each counting the steps of those
    before it and itself in a cell it would enter (N_c + 1), so that a crowd does not leave a
    cell all at once for the same neighbour.
    """
    p, F, rng = m.p, m.fighters, m.rng
    n = len(F)
    if n == 0:
        return
    movers = kernels.below(_uniform(rng, n), p.move_rate, F.routed)  # or routed
    if len(movers) == 0:
        return
    score = _move_field(m).astype(np.float32)  # (G, C)
    noise = rng.random((len(movers), 9), dtype=np.float32)
    restriction, restricted = m.restriction.ravel(), bool(m.restriction.any())
    if p.w_crowd <= 0:
        kernels.move(F.cell, F.group, F.routed, movers, score.ravel(), m.nbr, noise,
                     np.float32(p.move_noise), restriction, restricted, m.n_cells)
        return
    # crowding is seen as the movers move, one after the other in a random order
    order = rng.permutation(len(movers))
    crowd, room = _crowding(m)
    kernels.move_crowded(F.cell, F.group, F.routed, movers, order, score.ravel(), m.nbr, noise,
                         np.float32(p.move_noise), restriction, restricted, m.n_cells, crowd,
                         room, p.w_crowd)


def _crowding(m: MilitantModel) -> tuple[np.ndarray, np.ndarray]:
    """What the cost of crowding reads (see ``move``), per cell: the fighters of every group
    standing there, N (float64, updated by the movers as they move), and its room,
    supply_ratio P + 1, P its civilians."""
    crowd = np.bincount(m.fighters.cell, minlength=m.n_cells).astype(np.float64)
    return crowd, m.p.supply_ratio * m.population + 1.0


def _move_field(m: MilitantModel) -> np.ndarray:
    """The score of each cell for a fighter of each group, (G, C) (see ``move``), as it stands
    before anyone moves, without the cost of crowding (``move`` adds it as the movers move)."""
    p, F = m.p, m.fighters
    n, weight = kernels.move_inputs(F.group, F.cell, m.n_groups, m.n_cells, m.hostility,
                                    m.relation, int(Relation.WAR), int(Relation.TRUCE))
    hostile, strength = weight @ n, m.state_strength()
    score = kernels.move_field(n, np.log1p(n), hostile, strength, m.governance,
                               m.security, m.owner, m.relation, m.claim, int(Relation.TRUCE),
                               p.w_own, p.w_opportunity, p.w_expand, p.w_danger,
                               p.security_scale, p.claim_expansion)
    if p.w_defend > 0:
        # standing to defend: a cell the group holds draws its fighters by the hostile
        # strength within one step of it (the threat), against its own fighters there
        threat = m.in_sight(strength[None, :] + hostile, 1)
        own = m.owner[None, :] == np.arange(m.n_groups)[:, None]
        score += p.w_defend * np.where(own, threat / (threat + n + 1.0), 0.0)
    return score


# =============================================================================================
# 5. Operate
# =============================================================================================
def operate(m: MilitantModel) -> None:
    """Attacks on state forces, and the state's fire.

    A fighter acts with probability 1 - r_g(cell). Where state forces are present (S_c > 0),
    each active fighter of g scores a hit with probability op_rate E_gc / (E_gc + S_c), with
    E_gc = A_gc + joint_bonus sum_{h in truce with g} A_hc (joint operations: strengths add).
    Each hit destroys security_per_hit of security. The state's fire then kills: a fighter's
    hazard is state_lethality S_c x_i / max(1, X_c), x_i = 1 if it attacked and
    passive_exposure otherwise, X_c the cell's total exposure (aimed fire in proportion to local
    security, spread over the exposed).
    """
    p, F, rng = m.p, m.fighters, m.rng
    n = len(F)
    if n == 0:
        return
    G, C = m.n_groups, m.n_cells
    g, c = F.group, F.cell
    restricted = bool(m.restriction.any())
    draw = _uniform(rng, n) if restricted else np.empty(0, np.float32)
    S = m.security.copy()
    attack, A = kernels.attackers(g, c, draw, m.restriction.ravel(), restricted, S, C, G * C)
    A = A.reshape(G, C)
    truce = (m.relation == Relation.TRUCE).astype(np.float64)
    E = A + p.joint_bonus * truce @ A
    hits, X = kernels.hits_and_exposure(g, c, attack, _uniform(rng, n),
                                        kernels.hit_chance(E, S, p.op_rate), F.fought,
                                        F.experience, p.passive_exposure, C, G * C)
    # security after the hits, the week's tallies, and the state's response: a fighter's
    # hazard depends only on its cell and whether it attacked (exposure 1 or
    # passive_exposure), so its chance is computed once per cell
    m.security, q = kernels.after_attacks(hits, A, m.security, S, X, m.tally.ops,
                                          m.tally.hits, m.tally.violence, p.security_per_hit,
                                          p.state_lethality, p.passive_exposure)
    q = 1.0 - np.exp(q)
    dead, by_group, by_cell = kernels.state_fire_deaths(_uniform(rng, n), c, attack, q[0],
                                                        q[1], g, G, C)
    if by_group.any():
        m.tally.deaths_state += by_group
        m.tally.violence += by_cell
        remove_fighters(m, ~dead)


# =============================================================================================
# 6. Interact
# =============================================================================================
def interact(m: MilitantModel) -> None:
    """Units merge and split; clashes between groups sharing a cell; incidents under truce.

    Units (coalescence-fragmentation, after Bohorquez et al. 2009): each week a share
    unit_event_rate of fighters has a unit event; with probability unit_fragment its unit breaks
    into single fighters, otherwise it merges with the unit of a random fighter of the same
    group in the same cell.

    Clashes, for pairs not in truce: P(clash in c) = 1 - exp(-kappa H_gh min(n_g, n_h) w),
    w = war_clash_factor at war, else 1; in rivalry n_g counts the fighters in c (skirmishes
    where both are present), at war the fighters within one cell of c, where either side is
    present (attacks across the front line). The fighters there call in their units: each side
    engages every member of a unit present within one cell of c (in c alone in rivalry) who
    stands within battle_reach of c, so a clash engages E_g and E_h fighters, not only the
    occupants. Each engaged fighter of g is hit with
    probability clash_lethality E_h / (E_g + E_h) (Lanchester-like, after RebelGroup); g wins
    with probability E_g / (E_g + E_h) and takes the cell; the loser's engaged survivors are
    routed (they leave their cell at the next move).

    Incidents, for pairs in truce: P(incident in c) = 1 - exp(-incident_rate (eta_gc + eta_hc) / 2
    d_gh^2 min(n_g, n_h)), eta_gc the mean hostility of g's fighters in c and d_gh the doctrinal
    distance (infighting rises with ideological distance, Gade, Hafez & Gabbay 2019): a fight
    between the units of one occupant of each side drawn at random, with the same casualty
    rule, no change of ground. Each incident raises both
    partners' truce tension by tension_per_incident (1 + fighters lost). Propaganda reaches the
    truce only through the hostility of the fighters it shapes.

    Fighters engaged gain hostility: eta += revenge (1 - eta). Every clash and incident is an
    event with its size.
    """
    p, F, rng = m.p, m.fighters, m.rng
    if len(F) == 0:
        return
    G = m.n_groups
    # the fighters by group and cell, for the unit events and the clashes (units change in
    # between, groups and cells do not)
    index = kernels.group_cell_index(F.group, F.cell, m.n_cells, G * m.n_cells)
    _evolve_units(m, index)
    # each pair's cells of contact and the exponent of its clash probability there, in one
    # compiled pass (pairs in order, cells ascending)
    dist = m.doctrinal_distance()
    dist2 = np.zeros((G, G))
    for a, b in zip(*np.nonzero(m.relation == Relation.TRUCE)):
        dist2[a, b] = dist[a, b] ** 2
    fa, fb, cells, rel, x = kernels.clash_exponents(
        F.group, F.cell, F.hostility, G, m.n_cells, m.width, m.height, m.relation, m.hostility,
        dist2, int(Relation.ENDED), int(Relation.WAR), int(Relation.TRUCE),
        p.incident_rate, p.clash_kappa, p.war_clash_factor)
    if len(cells) == 0:
        return
    # one draw per cell, pair after pair (as a draw per pair would give them)
    hit = rng.random(len(cells)) < 1.0 - np.exp(x)
    if not hit.any():
        return
    _fight(m, fa[hit], fb[hit], cells[hit], rel[hit], index)


def _evolve_units(m: MilitantModel, index: tuple | None = None) -> None:
    """Coalescence-fragmentation of fighting units (see ``interact``); ``index`` the
    fighters by group and cell (``kernels.group_cell_index``), made here if not given."""
    p, F, rng = m.p, m.fighters, m.rng
    n = len(F)
    k = int(rng.binomial(n, p.unit_event_rate)) if p.unit_event_rate > 0 else 0
    if k == 0:
        return
    who = rng.choice(n, size=k, replace=False)
    frag = rng.random(k) < p.unit_fragment
    # fragmentation: every member of the unit becomes a unit of one (labels in row order)
    if frag.any():
        m.next_unit += kernels.relabel_broken(F.unit, F.unit[who[frag]], m.next_unit)
    who = who[~frag]
    if len(who) == 0:
        return
    # coalescence: with the unit of a random fighter of the same group in the same cell; the
    # merged units are connected components, each taking the smallest of its labels (a
    # fighter id in the unit)
    if index is None:
        index = kernels.group_cell_index(F.group, F.cell, m.n_cells, m.n_groups * m.n_cells)
    key, order, start = index
    kernels.coalesce_units(F.unit, key, who.astype(np.int64), rng.random(len(who)), order,
                           start)


def _fight(m: MilitantModel, fa: np.ndarray, fb: np.ndarray, cells: np.ndarray,
           rel: np.ndarray, index: tuple) -> None:
    """Resolve this week's clashes and incidents (see ``interact``): the clash k between
    groups fa[k] < fb[k] in cells[k], their relation rel[k], in that order; ``index`` the
    fighters by group and cell."""
    p, F, rng = m.p, m.fighters, m.rng
    C = m.n_cells
    n_f = len(F)
    # the fighters of each group in each cell, rows ascending; who died in that order
    _, here_order, here_start = index
    here_pos, here_unit = kernels.fight_positions(here_order, F.unit)
    rows = np.empty((len(fa), 9), dtype=np.int64)  # one row per fight (kernels.fight_next)
    truce, war, unit, nbr = int(Relation.TRUCE), int(Relation.WAR), F.unit, m.nbr
    # packed for kernels.fight_all and fight_next: the fights; the sides of the fight at hand and work
    # space of kernels.unit_side; the dead (by row and in the order of the index), the
    # engaged and the routed; sizes, rows written and the constants of the pass
    fights = np.stack([fa, fb, cells, rel])
    work = np.empty((4, n_f), dtype=np.int64)
    marks = np.zeros((4, n_f), dtype=bool)
    dead, _, engaged_any, routed = marks
    meta = np.array([0, 0, 0, 0, truce, war, p.battle_reach, m.width, m.height, C],
                    dtype=np.int64)
    # one compiled pass, drawing from the model's generator as it goes: a clash with both
    # sides present (each side calls in every member of its units present within reach of
    # the cell) draws its casualties and its winner; an incident first draws the unit of
    # each side that fights
    kernels.fight_all(rng, fights, here_order, here_start, here_unit, here_pos, nbr, work,
                      marks, meta, p.clash_lethality, rows, unit)
    if meta[3]:
        r = rows[:meta[3]]
        t = m.tally
        kernels.clash_tallies(r, m.week, t.clash_casualties, t.deaths_clash, t.clashes,
                              t.violence, m.clash_memory, m.last_clash, t.incidents, m.tension,
                              p.tension_per_incident, m.owner, m.firmness, t.cells_gained,
                              t.clash_wins, p.firm_rate)
        m.recorder.log_clash_rows(m.week, r)
    kernels.after_clashes(F.routed, F.fought, F.experience, F.hostility, routed, dead,
                          engaged_any, p.revenge)
    if dead.any():
        remove_fighters(m, ~dead)


# =============================================================================================
# 7. Defect and desert
# =============================================================================================
def defect_and_desert(m: MilitantModel) -> None:
    """Fighters compare their group with the groups in sight; some defect, some go home.

    U(h) = alpha aff(theta_i, Theta_h) + beta mu_h + gamma f_i a_ih - delta eta_i
           + claim_pull e_h pi_h   (for each other group h with fighters in sight),
    U(g) = alpha aff(theta_i, Theta_g) + beta mu_g + lambda c_i.
    P(defect) = epsilon sigmoid(s (max_h U(h) - U(g))), to the best h. a_ih is h's operations
    seen last week, 1 - exp(-ops / activity_scale). A defector's commitment resets to
    commitment0 and its frustration to 0. Defections from g to a truce partner h raise g's
    truce tension. P(desert) = desert_rate (1 - c_i) (1 - G_i), G_i = H_i (1 - L_cell): better
    governance lowers grievance and pulls fighters home (into the cell's population).
    """
    p, F, rng = m.p, m.fighters, m.rng
    n = len(F)
    if n == 0:
        return
    G, C = m.n_groups, m.n_cells
    # P(defect) <= epsilon: draw u first and evaluate the utilities only where u < epsilon
    # (exactly the same distribution, at a fraction of the cost).
    u = _uniform(rng, n)
    cand = kernels.below(u, p.defect_epsilon, _NONE) if G > 1 else np.empty(0, np.int64)
    defected = np.zeros(n, dtype=bool)
    if len(cand):
        sight, ops_seen = kernels.defect_fields(F.group, F.cell, m.tally.ops, m.group_alive, G,
                                                C, m.width, m.height, p.vision)
        seen_ops = 1.0 - np.exp(-ops_seen / p.activity_scale)  # this week's ops
        pull = p.claim_pull * m.claim * m.propaganda
        best, has, x = kernels.defect_utilities(
            cand, F.group, F.cell, F.takfir, F.coercion, F.frustration, F.hostility,
            F.commitment, sight, seen_ops, m.doctrine, m.momentum, pull, p.defect_alpha,
            p.defect_beta, p.defect_gamma, p.defect_delta, p.defect_lambda, p.defect_slope,
            SQRT2)
        # a defector leaves its unit: a label no unit of fighter ids can carry (new_units)
        m.next_unit += kernels.defect(
            cand, u, best, has, np.exp(x), p.defect_epsilon, F.group, F.commitment,
            F.frustration, F.tenure, F.unit, defected, p.commitment0, m.next_unit,
            m.tally.defections, m.tension, m.relation == Relation.TRUCE,
            p.tension_per_defection)
    # desertion, likewise evaluated only where the draw is below its bound desert_rate
    u = _uniform(rng, n)
    desert = kernels.desert(u, defected, p.desert_rate, F.hardship, F.commitment, m.governance,
                            F.group, F.cell, m.tally.desertions, m.population)
    if desert.any():
        remove_fighters(m, ~desert)


# =============================================================================================
# 8. Relations
# =============================================================================================
def relations(m: MilitantModel) -> None:
    """Group hostility and threat; truce, war and rivalry; unions.

    H_gh -> target (eta_g + eta_h) / 2 + distance_weight d_gh + memory_weight M/(1 + M) at
    group_hostility_rate; clash memory M decays at memory_decay. Threat T_g is a moving average
    of the share of g's fighters killed by the state and outside forces each week.

    Transitions, each a weekly hazard, so their timing varies from run to run:

    * rivalry or war -> truce (probability truce_rate) when both face a common threat
      (T_g, T_h > truce_threat) and H_gh < truce_hostility;
    * rivalry -> war when a side's escalation X_gh = (H_gh + M/(1 + M)) / 2 exceeds
      war_threshold x tolerance_g: hazard war_rate (X / (war_threshold tolerance_g) - 1);
    * war -> rivalry after war_cooling weeks without a clash;
    * truce -> war when a side's tension tau_gh exceeds what it tolerates,
      tol_g = truce_tolerance tolerance_g (1 + tolerance_power (2 s_h - 1)), s_h the partner's
      share of the pair's fighters (a weak side tolerates more, a strong one less): hazard
      break_rate (tau_gh / tol_g - 1). Tension grows from what the partner does (fighters
      poached, ``defect_and_desert``; incidents, ``interact``; cells taken,
      ``control_and_governance``) and decays at tension_decay.

    After merger_weeks of truce the partners negotiate a union with probability merger_rate a
    week (see ``_negotiate_union``).
    """
    p, F, rng = m.p, m.fighters, m.rng
    G = m.n_groups
    counts, eta_sum = kernels.group_counts(F.group, F.hostility, G)
    # groups with no fighter left are destroyed
    for g in range(G):
        if not (m.group_alive[g] and counts[g] == 0):
            continue
        m.group_alive[g] = False
        lost = m.owner == g
        m.owner[lost] = NO_OWNER
        m.firmness[lost] = 0.0
        m.support[g] = 0.0
        m.log_event(EventKind.GROUP_DESTROYED, int(g))
        _end_relations(m, int(g))
    # threat, hostility, clash memory and tension; outside strikes come later in the week
    # (state_and_outside_forces): last week's count
    if G < 2:
        m.threat += p.threat_rate * ((m.tally.deaths_state + m.last_strike_deaths)
                                     / np.maximum(1, counts) - m.threat)
        return
    memory = kernels.relations_drift(
        counts, eta_sum, m.doctrine, m.hostility, m.clash_memory, m.tension, m.threat,
        m.tally.deaths_state, m.last_strike_deaths, p.threat_rate, p.distance_weight,
        p.memory_weight, p.group_hostility_rate, p.memory_decay, p.tension_decay, SQRT2)

    for a in range(G):
        for b in range(a + 1, G):
            rel = m.relation[a, b]
            if rel == Relation.ENDED:
                continue
            if rel == Relation.TRUCE:
                _truce_week(m, a, b, counts)
                continue
            if (min(m.threat[a], m.threat[b]) > p.truce_threat
                    and m.hostility[a, b] < p.truce_hostility and rng.random() < p.truce_rate):
                _set_relation(m, a, b, Relation.TRUCE)
                m.tension[a, b] = m.tension[b, a] = 0.0
                m.log_event(EventKind.TRUCE_START, a, b)
            elif rel == Relation.WAR:
                if m.week - m.last_clash[a, b] >= p.war_cooling:
                    _set_relation(m, a, b, Relation.RIVALRY)
                    m.log_event(EventKind.WAR_COOLED, a, b)
            else:  # rivalry
                esc = 0.5 * (m.hostility[a, b] + memory[a, b])
                for me, other in ((a, b), (b, a)):
                    thr = p.war_threshold * m.tolerance[me]
                    # a threshold of 0: any escalation is past it, by as much as it can be
                    excess = esc / thr - 1 if thr > 0 else np.inf
                    if esc > thr and rng.random() < 1.0 - np.exp(-p.war_rate * excess):
                        _set_relation(m, a, b, Relation.WAR)
                        m.last_clash[a, b] = m.last_clash[b, a] = m.week
                        m.log_event(EventKind.WAR_DECLARED, me, other,
                                    detail="declared by " + m.group_names[me])
                        break


def truce_tolerance(m: MilitantModel, g: int, h: int, counts: np.ndarray) -> float:
    """What g tolerates from its partner h: truce_tolerance tolerance_g (1 + tolerance_power
    (2 s_h - 1)), s_h = h's share of the pair's fighters."""
    p = m.p
    share_h = counts[h] / max(1, counts[g] + counts[h])
    return p.truce_tolerance * m.tolerance[g] * (1.0 + p.tolerance_power * (2.0 * share_h - 1.0))


def _truce_week(m: MilitantModel, a: int, b: int, counts: np.ndarray) -> None:
    p, rng = m.p, m.rng
    for me, other in ((a, b), (b, a)):
        tol = truce_tolerance(m, me, other, counts)
        excess = m.tension[me, other] / tol - 1.0
        if excess > 0 and rng.random() < 1.0 - np.exp(-p.break_rate * excess):
            started = m.relation_since[a, b]
            war = p.breakdown_war >= 1.0 or (p.breakdown_war > 0.0
                                             and rng.random() < p.breakdown_war)
            _set_relation(m, a, b, Relation.WAR if war else Relation.RIVALRY)
            m.last_clash[a, b] = m.last_clash[b, a] = m.week
            m.log_event(EventKind.TRUCE_BROKEN, me, other, size=m.week - started,
                        detail="broken by " + m.group_names[me])
            return
    if m.week - m.relation_since[a, b] >= p.merger_weeks and rng.random() < p.merger_rate:
        _negotiate_union(m, a, b, counts)


def union_terms(m: MilitantModel, a: int, b: int, counts: np.ndarray):
    """The terms of a union of a and b: (leader, follower, leader's share, follower's share).

    Each side x demands d_x = s_x + e_x (1 - s_x) of the united leadership, s_x its share of the
    pair's fighters and e_x its claim (a claim to rule all demands everything). The side with the
    larger demand leads and keeps d_L; the other keeps 1 - d_L. Without claims that is a merger
    of equals in proportion to strength; facing a full claim it is a pledge (a share of 0).
    """
    s_a = counts[a] / max(1, counts[a] + counts[b])
    d_a = s_a + m.claim[a] * (1.0 - s_a)
    d_b = (1.0 - s_a) + m.claim[b] * s_a
    if (d_a, counts[a]) >= (d_b, counts[b]):
        return a, b, d_a, 1.0 - d_a
    return b, a, d_b, 1.0 - d_b


def union_utility(m: MilitantModel, x: int, y: int, kept: float, counts: np.ndarray) -> float:
    """How much x's leadership wants a union with y in which it keeps ``kept`` of the leadership.

    U_x = w_power s_y + w_affinity (A_xy - A_xx) + w_momentum (mu_y - mu_x)
          + w_threat T_x / (T_x + truce_threat) - w_cohesion (cohesion_x - 1/2)
          + w_share (kept - s_x),
    A_xy the mean affinity of x's fighters to y's doctrine (Christia 2012: relative power,
    momentum and the fighters' leanings, not identity, decide who joins whom).
    """
    p, F = m.p, m.fighters
    s_x = counts[x] / max(1, counts[x] + counts[y])
    mine = F.group == x
    if mine.any():
        aff = affinity(F.ideology()[mine], m.doctrine[[x, y]]).mean(0)
        lean = aff[1] - aff[0]
    else:
        lean = 0.0
    threat = m.threat[x] / (m.threat[x] + p.truce_threat) if p.truce_threat > 0 else 1.0
    return float(p.pledge_w_power * (1.0 - s_x) + p.pledge_w_affinity * lean
                 + p.pledge_w_momentum * (m.momentum[y] - m.momentum[x])
                 + p.pledge_w_threat * threat - p.pledge_w_cohesion * (m.cohesion[x] - 0.5)
                 + p.pledge_w_share * (kept - s_x))


def _negotiate_union(m: MilitantModel, a: int, b: int, counts: np.ndarray) -> None:
    """Partners weigh a union on the terms of ``union_terms``; each side accepts with
    probability sigmoid(pledge_slope U_x). A follower that keeps (almost) nothing pledges: its
    leadership dissolves into the leader's, whose doctrine stands (event ``pledge``); otherwise
    the two merge, doctrines weighted by the shares (event ``merger``)."""
    p, rng = m.p, m.rng
    leader, follower, k_l, k_f = union_terms(m, a, b, counts)
    for x, y, kept in ((leader, follower, k_l), (follower, leader, k_f)):
        u = union_utility(m, x, y, kept, counts)
        if rng.random() >= 1.0 / (1.0 + np.exp(-p.pledge_slope * u)):
            return
    if k_f < 0.05:
        _merge(m, leader, follower, EventKind.PLEDGE)
        return
    m.doctrine[leader] = k_l * m.doctrine[leader] + k_f * m.doctrine[follower]
    _merge(m, leader, follower, EventKind.MERGER)


def _set_relation(m: MilitantModel, a: int, b: int, rel: Relation) -> None:
    m.relation[a, b] = m.relation[b, a] = int(rel)
    m.relation_since[a, b] = m.relation_since[b, a] = m.week


def _end_relations(m: MilitantModel, g: int) -> None:
    for h in range(m.n_groups):
        if h != g and m.relation[g, h] != Relation.ENDED:
            _set_relation(m, g, h, Relation.ENDED)


def _merge(m: MilitantModel, into: int, gone: int, kind: EventKind) -> None:
    F = m.fighters
    moved = F.group == gone
    F.group[moved] = into
    m.owner[m.owner == gone] = into
    m.support[into] = np.maximum(m.support[into], m.support[gone])
    m.support[gone] = 0.0
    m.group_alive[gone] = False
    m.log_event(kind, into, gone, size=int(moved.sum()),
                detail=f"{m.group_names[gone]} into {m.group_names[into]}")
    _end_relations(m, gone)


# =============================================================================================
# 9. Control and governance
# =============================================================================================
def _strongest(m: MilitantModel, state_strength: np.ndarray | None = None) -> np.ndarray:
    """Per cell: the actor whose strength exceeds all others' by control_margin, else contested.

    A group holds its ground through its administration and local auxiliaries, not only
    through the fighters present: hold_strength x administration_g x firmness in the cells it
    holds, where it has a fighter within admin_reach (an administration with no armed force in
    reach does not hold). An actor with no strength in a cell never takes it, even with
    control_min = 0."""
    p, F = m.p, m.fighters
    if state_strength is None:
        state_strength = m.state_strength()
    use_hold = p.hold_strength > 0 and bool(m.administration.any())
    if use_hold:
        hold = kernels.hold_layer(F.group, F.cell, m.owner, m.administration, m.firmness,
                                  p.hold_strength, m.n_groups, m.n_cells, m.width, m.height,
                                  p.admin_reach)
    else:
        hold = np.zeros(m.n_cells)
    return kernels.strongest(F.group, F.cell, m.n_groups, state_strength, m.owner, hold,
                             use_hold, p.control_min, p.control_margin, STATE, _CONTESTED)


def _cells_taken(m: MilitantModel, flip: np.ndarray, winner: np.ndarray) -> None:
    """The flipped cells go to their challenger; count cells taken from one group by another
    and, between truce partners, the tension (tension_per_cell per 1% of territory)."""
    p = m.p
    kernels.take_cells(flip, winner, m.owner, m.firmness, m.tally.cells_gained,
                       m.tally.cells_taken, m.relation == Relation.TRUCE, m.tension,
                       p.tension_per_cell, p.firm_rate)


def control_and_governance(m: MilitantModel) -> None:
    """Territory, civilian support, hardship and governance; then group momentum.

    A cell goes to the actor whose strength (fighters; for the state security x (0.5 +
    state_governance_weight L)) exceeds every other's by control_margin and is at least
    control_min. The holder's control firms at firm_rate; a clear challenger erodes it at
    erode_rate and takes the cell when it reaches zero; an empty cell's control fades at
    firm_rate / 5 and the cell falls to no one. A group rules the cells it holds by its
    doctrine: support drifts toward 1 - coercion_g, hardship moves by hardship_rate
    (coercion_g - 1/2), the state's governance fades at group_rule_governance. Violence
    (hits and casualties) erodes governance; state control restores it toward its base;
    a governance programme builds it toward its target where no group rules.
    A truce partner's challenge erodes control only at erode_rate x claim_expansion x claim
    of the challenger (non-claimant partners respect each other's ground); a cell one group
    takes from its truce partner raises the partner's tension by tension_per_cell per 1% of its
    territory. Ground forces (``ground_forces``) count in the
    state's strength and leave a garrison of ground_garrison security in the cells they retake.
    Momentum: mu_g += momentum_rate (tanh(success_scale s_g) - mu_g), s_g the hits, recruits,
    cells gained and clash wins of the week per fighter.
    """
    p = m.p
    strength = m.state_strength()
    winner = _strongest(m, strength)
    owner = m.owner
    flip = kernels.contest(winner, owner, m.firmness, m.fighters.cell, m.relation, m.claim,
                           strength, int(Relation.TRUCE), _CONTESTED, p.firm_rate,
                           p.firm_rate / 5.0, p.erode_rate, p.claim_expansion, p.control_min)
    _cells_taken(m, flip, winner)
    # ground forces garrison what they retake; rule by doctrine
    kernels.rule_cells(owner, winner, flip, m.firmness, m.security, m.ground, m.doctrine,
                       m.support, m.hardship, m.governance, STATE, NO_OWNER, p.ground_garrison,
                       p.support_rate, -p.support_decay, p.hardship_rate,
                       1.0 - p.group_rule_governance)
    # violence erodes governance; the state and programmes restore it
    erode_governance(m, m.tally.violence)
    kernels.restore_governance(owner, m.governance, m.governance0, m.programme_rate,
                               m.programme_target, m.hardship, STATE, p.governance_recovery)

    # momentum
    counts = np.maximum(1, m.fighter_counts())
    success = (m.tally.hits.sum(1) + m.tally.recruits + m.tally.cells_gained
               + m.tally.clash_wins) / counts
    m.momentum += p.momentum_rate * (np.tanh(p.success_scale * success) - m.momentum)


# =============================================================================================
# 10. State and outside forces
# =============================================================================================
def state_and_outside_forces(m: MilitantModel) -> None:
    """Ground offensives (``ground_forces``), security regeneration and redeployment, outside
    strikes, leader targeting.

    Where no group rules, security regenerates toward its capacity K_c (L_c / L0_c) plus any
    programme's security, at security_regen, within the state's budget (total security never
    exceeds total capacity: redeployed forces are not replaced). A share redeploy_rate of the security of quiet
    state-held cells (no fighter in sight) moves to state-held cells with fighters in sight,
    in proportion to them. Outside strikes: a fighter of a target group g in cell c dies with
    probability 1 - exp(-strike_lethality k_gc (1 + strike_territory_weight [g holds c])),
    k_gc the strike strength there. Each week a target group's leader is killed with
    probability leader_kill_rate x its largest strike strength where it has fighters.
    """
    ground_forces(m)
    p, F, rng = m.p, m.fighters, m.rng
    G, C = m.n_groups, m.n_cells
    # regeneration toward capacity; redeployment toward threatened state-held cells
    kernels.regenerate_security(m.security, m.governance, m.governance0, m.capacity,
                                m.programme_security, m.owner, p.security_regen)
    kernels.redeploy_security(m.security, F.cell, m.owner, STATE, m.width, m.height, p.vision,
                              p.redeploy_rate)
    # outside strikes
    if len(F) and m.strike.any():
        # a fighter's hazard depends only on its group and cell: computed once per pair
        hazard = kernels.strike_hazard(m.strike, m.owner, p.strike_lethality,
                                       p.strike_territory_weight)
        chance = 1.0 - np.exp(-hazard)  # 0 where the strike strength is 0
        dead, by_group, by_cell = kernels.grid_deaths(_uniform(rng, len(F)), chance.ravel(),
                                                      F.group, F.cell, G, C)
        if by_group.any():
            m.tally.deaths_strike += by_group
            # strikes come after this week's control step: they erode governance here
            erode_governance(m, by_cell)
            remove_fighters(m, ~dead)
        k_max = kernels.strongest_strike(m.strike, m.fighters.group, m.fighters.cell)
        for gi in range(G):
            if m.leader_alive[gi] and m.group_alive[gi]:
                if k_max[gi] > 0 and rng.random() < min(1.0, p.leader_kill_rate * k_max[gi]):
                    kill_leader(m, gi, "outside strike")
    # succession and recovery
    for gi in range(G):
        if m.leader_alive[gi] or m.week < m.leader_back_week[gi] or not m.group_alive[gi]:
            continue
        m.leader_alive[gi] = True
        m.log_event(EventKind.LEADER_REPLACED, int(gi))
    m.cohesion += p.cohesion_recovery * (1.0 - m.cohesion)
    m.prev_ops = m.tally.ops.copy()
    m.last_strike_deaths = m.tally.deaths_strike.copy()


def ground_forces(m: MilitantModel) -> None:
    """Ground offensives allied to the state (an army, a militia, a foreign partner).

    Each active ``ground_offensive`` spreads its strength B x intervention_scale
    (fighter-equivalents) evenly over
    its front: the cells of the zone held by a target group that touch a cell it does not hold
    (all its cells in the zone if none do). With ``axes`` = k > 0 it concentrates instead on k
    axes, opened at front cells drawn at random on its first week: each week each axis puts
    B x intervention_scale / k on the front cell nearest its last one, so it advances as the
    cells fall. There, the force counts in the state's strength,
    so ``control_and_governance`` hands the cell to the state once the force outweighs the
    defenders by control_margin, and it fights: a target fighter in a front cell dies with
    probability 1 - exp(-ground_lethality f / (f + n)), f the force there and n the defenders.
    Strikes kill; ground forces take ground.
    """
    p, F, rng = m.p, m.fighters, m.rng
    m.ground[:] = 0.0
    offensives = [e for e in m.active_effects if e.kind == "ground_offensive"]
    if not offensives:
        return
    G, C = m.n_groups, m.n_cells
    for e in offensives:
        targets = np.zeros(G, dtype=bool)
        targets[list(e.groups)] = True
        # the zone's cells held by a target group, and those that touch a cell of the map
        # not held by one
        cells, front = kernels.ground_front(m.owner, m.zones[e.args["zone"]], m.nbr, targets)
        if len(cells) == 0:
            continue
        if len(front) == 0:
            front = cells
        force = e.args["strength"] * p.intervention_scale
        axes = int(e.args.get("axes") or 0)
        if axes <= 0:
            m.ground[front] += force / len(front)
            continue
        if e.heads is None:  # the axes open at fronts drawn at random
            e.heads = front[rng.permutation(len(front))[:axes]].astype(np.int64)
        # each axis pushes at the front cell nearest its head (Chebyshev distance, the
        # lowest index on ties), and its head moves there: it advances as cells fall
        W = m.width
        fx, fy = front % W, front // W
        hx, hy = e.heads % W, e.heads // W
        dist = np.maximum(np.abs(fx[None, :] - hx[:, None]), np.abs(fy[None, :] - hy[:, None]))
        e.heads = front[dist.argmin(1)]
        np.add.at(m.ground, e.heads, force / len(e.heads))
    if len(F) == 0 or not m.ground.any():
        return
    g, c = F.group, F.cell
    target_g = np.zeros(G, dtype=bool)
    for e in offensives:
        target_g[list(e.groups)] = True
    defenders, n_exposed = kernels.exposed(g, c, target_g, m.ground, C)
    if n_exposed == 0:
        return
    # a fighter's hazard depends only on its cell: computed once per cell under attack
    front = np.flatnonzero(defenders > 0)
    f = m.ground[front]
    chance = np.zeros(C)
    chance[front] = 1.0 - np.exp(-(p.ground_lethality * f / (f + defenders[front])))
    dead, by_group, by_cell = kernels.exposed_deaths(_uniform(rng, n_exposed), chance, g, c,
                                                     target_g, m.ground, G, C)
    if by_group.any():
        m.tally.deaths_ground += by_group
        erode_governance(m, by_cell)
        remove_fighters(m, ~dead)


def erode_governance(m: MilitantModel, violence: np.ndarray) -> None:
    """L *= 1 - governance_erosion (1 - exp(-v / violence_scale)), v the cell's violence."""
    p = m.p
    e = np.exp(kernels.violence_exponent(violence, p.violence_scale))
    kernels.erode(m.governance, e, p.governance_erosion)


def kill_leader(m: MilitantModel, g: int, cause: str) -> None:
    """A leader's death: cohesion falls by cohesion_shock, its fighters lose commitment_shock of
    their commitment, and the claim keeps only its persistence: e_g *= claim_persistence_g."""
    p = m.p
    if not m.group_alive[g] or not m.leader_alive[g]:
        return  # no leader in post: nothing more to lose until a successor is named
    m.leader_alive[g] = False
    m.leader_back_week[g] = m.week + p.succession_weeks
    m.cohesion[g] = max(0.0, m.cohesion[g] - p.cohesion_shock)
    mine = m.fighters.group == g
    m.fighters.commitment[mine] *= 1.0 - p.commitment_shock
    m.claim[g] *= m.claim_persistence[g]
    m.log_event(EventKind.LEADER_KILLED, g, detail=cause)


def remove_fighters(m: MilitantModel, keep: np.ndarray) -> None:
    """Drop the fighters where ``keep`` is false, and their Mesa agents."""
    gone = m.fighters.keep(keep)
    m._remove_agents(gone)
