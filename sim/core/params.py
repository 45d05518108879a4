"""The one source of truth for every model parameter.

Every default lives here, one entry each, with its meaning, unit, allowed range and source.
The model, the scenario loader, the command line (``--set``), the experiment runner and the
browser app's sliders all read these tables; nothing else in the project writes a default.

Sources: "Epstein 2002" and the other references are listed in ``docs/ODD.md``; "guess" marks a
value chosen to give plausible dynamics, to be calibrated (see the scenario files and ODD).

Three tables:

* ``PARAMS``: global model parameters (one value per run);
* ``GROUP_FIELDS``: the attributes of a militant group in a scenario file;
* ``CELL_FIELDS``: the attributes of a zone (a set of map cells) in a scenario file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Param:
    """One parameter: its default, meaning, unit, allowed range and source."""

    name: str
    default: Any
    meaning: str
    unit: str = "-"
    low: float | None = None
    high: float | None = None
    source: str = "guess"
    kind: type = float
    #: shown as a slider in the teaching app
    teach: bool = False
    #: for an option added to the model: the value at which it is off and takes no random draw,
    #: so that a run at it is the run without the option; a scenario at it hashes
    #: (:meth:`Scenario.digest`) as if the parameter did not exist (None: not an option)
    neutral: Any = None
    #: for a setting of an option: the option (a parameter with a ``neutral`` value) without
    #: which it changes nothing; at that option's neutral value a scenario hashes as if this
    #: setting did not exist either (None: used by the model on its own)
    needs: str | None = None

    def allowed(self) -> str:
        """A human description of the allowed values."""
        if self.kind is bool:
            return "true or false"
        if self.kind is str:
            return "a string"
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        what = "an integer" if self.kind is int else "a number"
        return f"{what} in [{lo}, {hi}]"


#: the source of the guesses hand-tuned against the scenarios' declared patterns (militant-sim
#: check); the scenario files say which pattern each was tuned to
TUNED = "guess, hand-tuned to the syria_2013 and sahel_2019 patterns"


def _p(name, default, meaning, unit="-", low=None, high=None, source="guess", kind=None, teach=False,
       neutral=None, needs=None):
    if kind is None:
        kind = type(default)
    return Param(name, default, meaning, unit, low, high, source, kind, teach, neutral, needs)


# ---------------------------------------------------------------------------------------------
# Global parameters, in schedule order.
# ---------------------------------------------------------------------------------------------
_PARAM_LIST: list[Param] = [
    # -- run ----------------------------------------------------------------------------------
    _p("steps", 520, "default run length", "weeks", 1, 100_000, "design: one step a week, ten years", int),
    _p("max_fighters", 1_000_000, "a run stops with an error when its fighters exceed this (a "
       "bound on memory and time, not a mechanism)", "fighters", 1, 100_000_000,
       "design: about 0.5 GB of memory per million fighters", int),
    # -- mobilise (Epstein 2002, made local) ---------------------------------------------------
    _p("candidate_rate", 2e-5, "share of a cell's civilians who consider joining each week",
       "1/week", 0.0, 0.05),
    _p("hardship_sd", 0.15, "spread of a candidate's hardship H around its cell's hardship",
       "-", 0.0, 1.0),
    _p("ideology_sd", 0.12, "spread of a candidate's ideology around its cell's ideology",
       "-", 0.0, 1.0),
    _p("arrest_k", 2.3, "k in P = 1 - exp(-k round(S / (1 + A)))", "-", 0.0, 100.0,
       "Epstein 2002"),
    _p("threshold", 0.1, "T: a candidate mobilises if G - R P > T", "-", 0.0, 1.0,
       "Epstein 2002"),
    _p("vision", 2, "radius of a fighter's (and candidate's) neighbourhood (Moore)", "cells",
       0, 20, "Epstein 2002 (v = 7 on 40x40; districts are larger here)", int),
    _p("recruit_reach", 3, "a candidate joins only a group with fighters within this radius",
       "cells", 0, 50, kind=int),
    _p("w_affinity", 1.0, "weight of ideological affinity in the choice of group", "-", 0.0, 10.0),
    _p("w_momentum", 1.0, "weight of group momentum in the choice of group", "-", 0.0, 10.0),
    _p("w_support", 0.5, "weight of local civilian support in the choice of group", "-", 0.0, 10.0),
    _p("choice_temperature", 0.15, "softmax temperature of the choice of group", "-", 1e-3, 10.0),
    _p("commitment0", 0.6, "commitment of a new recruit or defector", "-", 0.0, 1.0),
    _p("levy_rate", 0.0, "share of the civilians of a cell a group holds who enlist with it each "
       "week, at full coercion or full support (0: no recruitment in held ground, as in every "
       "shipped scenario)", "1/week", 0.0, 0.01, neutral=0.0),
    # -- socialise -----------------------------------------------------------------------------
    _p("ideology_rate", 0.05, "weekly drift of ideology toward doctrine, per unit propaganda",
       "1/week", 0.0, 1.0),
    _p("hostility_rate", 0.03, "weekly drift of hostility toward the doctrine's branding of rivals "
       "(takfir_g), per unit propaganda", "1/week", 0.0, 1.0),
    _p("hostility_relax", 0.01, "weekly drift of hostility back toward the fighter's own "
       "ideology-based level", "1/week", 0.0, 1.0),
    _p("contact_rate", 0.01, "weekly fall of hostility of fighters who share a cell with a truce "
       "partner's fighters (contact under truce)", "1/week", 0.0, 1.0),
    _p("hostility_base_weight", 0.5, "b_i = weight * takfir_i: a fighter's own hostility level",
       "-", 0.0, 1.0),
    _p("commitment_rate", 0.05, "weekly drift of commitment toward its target", "1/week", 0.0, 1.0),
    _p("commitment_base", 0.5, "commitment target of a group with zero momentum", "-", 0.0, 1.0),
    _p("commitment_momentum", 1.0, "how far the commitment target follows the group's momentum "
       "(0: it stays at the momentum the group starts with; an ablation switch)", "-", 0.0, 1.0,
       source="design (ablation)"),
    _p("frustration_rate", 0.04, "weekly frustration gain of a restricted fighter", "1/week",
       0.0, 1.0),
    _p("frustration_rival_factor", 2.0,
       "extra frustration gain when rival operations are seen nearby (x rate)", "-", 0.0, 20.0,
       "article: 'only Dawla is at work and we are just watching'"),
    _p("frustration_decay", 0.3, "share of frustration lost in a week the fighter fought",
       "1/week", 0.0, 1.0),
    _p("frustration_relax", 0.01, "share of frustration lost in a week without restriction",
       "1/week", 0.0, 1.0),
    _p("activity_scale", 3.0, "operations in sight at which seen activity is 63% of maximum",
       "operations", 1e-3, 1e4),
    # -- move ----------------------------------------------------------------------------------
    _p("move_rate", 0.5, "share of fighters who consider moving each week", "1/week", 0.0, 1.0),
    _p("w_own", 0.6, "move score: weight of log(1 + own fighters in cell)", "-", 0.0, 10.0),
    _p("w_opportunity", 1.0, "move score: weight of weakly governed, weakly secured ground", "-",
       0.0, 10.0),
    _p("w_expand", 1.0, "move score: weight of ground not held by one's own group", "-", 0.0, 10.0),
    _p("w_danger", 1.5, "move score: weight of hostile strength relative to own", "-", 0.0, 10.0),
    _p("w_defend", 0.0, "move score: weight of the threat to one's own ground (hostile strength "
       "within one step of a cell the group holds, relative to its fighters there; 0: fighters "
       "do not stand to defend what they hold)", "-", 0.0, 10.0),
    _p("w_crowd", 0.0, "move score: weight of crowding, the agents of every group in a cell "
       "against what its civilians can feed and house (0: no cost of crowding, as in every "
       "shipped scenario)", "-", 0.0, 10.0, neutral=0.0),
    _p("supply_ratio", 0.01, "agents a cell's civilians feed and house, per civilian (the "
       "crowding of the move score is N / (supply_ratio P + 1), N agents; used only where "
       "w_crowd > 0)", "agents/person", 0.0, 1.0, needs="w_crowd"),
    _p("move_noise", 0.5, "scale of the random term in the move score", "-", 0.0, 10.0),
    _p("security_scale", 10.0, "security at which a cell is half as attractive", "fighter-eq.",
       1e-3, 1e5),
    # -- operate -------------------------------------------------------------------------------
    _p("op_rate", 0.05, "weekly chance that an active fighter scores a hit, at full odds",
       "1/week", 0.0, 1.0),
    _p("security_per_hit", 0.5, "security destroyed by one hit", "fighter-eq.", 0.0, 100.0),
    _p("state_lethality", 0.02, "state fire: hazard per fighter per unit of security ratio",
       "1/week", 0.0, 5.0),
    _p("passive_exposure", 0.3, "exposure to state fire of a fighter who did not attack", "-",
       0.0, 1.0),
    # -- interact ------------------------------------------------------------------------------
    _p("clash_kappa", 0.1, "kappa in P(clash) = 1 - exp(-kappa H min(n_g, n_h))", "-", 0.0, 10.0,
       teach=True),
    _p("war_clash_factor", 1.5, "clash rate multiplier between groups at war", "-", 1.0, 100.0, TUNED),
    _p("clash_lethality", 0.3, "share of a side hit in a clash, at full opponent share", "-",
       0.0, 1.0, "RebelGroup (gnardin): losses follow the opponent's share"),
    _p("revenge", 0.05, "hostility gain of fighters present at a clash (toward 1)", "-", 0.0, 1.0, TUNED),
    _p("incident_rate", 0.02, "kappa of incidents under truce: P = 1 - exp(-rate (eta_g + eta_h)"
       " / 2 d_gh^2 min(n_g, n_h)), eta the mean hostility of the fighters present, d_gh the "
       "doctrinal distance", "-", 0.0, 10.0, "Gade, Hafez & Gabbay 2019 (distance); " + TUNED),
    _p("unit_event_rate", 0.05, "weekly share of fighters whose unit merges with another or "
       "fragments (coalescence-fragmentation)", "1/week", 0.0, 1.0,
       "Bohorquez et al. 2009; Johnson et al. 2016"),
    _p("unit_fragment", 0.05, "share of unit events that break the unit into single fighters",
       "-", 0.0, 1.0, "Bohorquez et al. 2009 (nu)"),
    _p("battle_reach", 3, "radius within which a unit's members join a clash of their unit",
       "cells", 0, 20, TUNED, kind=int),
    _p("joint_bonus", 1.0, "weight of a truce partner's fighters in joint operations", "-", 0.0, 5.0),
    # -- defect and desert -----------------------------------------------------------------------
    _p("defect_alpha", 1.0, "alpha: weight of ideological affinity in defection utility", "-",
       0.0, 10.0),
    _p("defect_beta", 1.0, "beta: weight of momentum in defection utility", "-", 0.0, 10.0, TUNED),
    _p("defect_gamma", 1.5, "gamma: weight of frustration x seen activity of the rival", "-",
       0.0, 10.0),
    _p("defect_delta", 0.5, "delta: weight of hostility against rival jihadists", "-", 0.0, 10.0, TUNED),
    _p("defect_lambda", 0.6, "lambda: weight of commitment to one's own group", "-", 0.0, 10.0),
    _p("claim_pull", 0.4, "weight of a group's call for allegiance (claim x propaganda)", "-",
       0.0, 10.0, "article: defection of fighters who 'see the IS jihad as upright'"),
    _p("defect_epsilon", 0.025, "epsilon: maximum weekly defection probability", "1/week", 0.0, 1.0, TUNED),
    _p("defect_slope", 6.0, "s: slope of the defection sigmoid", "-", 0.0, 100.0),
    _p("desert_rate", 0.03, "weekly desertion probability at zero commitment and grievance",
       "1/week", 0.0, 1.0, "Nussio & Ugarriza 2021 (order of magnitude)"),
    # -- relations -----------------------------------------------------------------------------
    _p("group_hostility_rate", 0.05, "weekly drift of pair hostility toward its target", "1/week",
       0.0, 1.0),
    _p("distance_weight", 0.3, "weight of doctrinal distance in pair hostility", "-", 0.0, 5.0,
       "Gade, Hafez & Gabbay 2019"),
    _p("memory_weight", 0.3, "weight of clash memory in pair hostility", "-", 0.0, 5.0),
    _p("memory_decay", 0.02, "weekly decay of clash memory", "1/week", 0.0, 1.0),
    _p("threat_rate", 0.1, "weight of this week's losses in the threat moving average", "-",
       0.0, 1.0),
    _p("truce_threat", 0.002, "losses to state and outside forces (share of fighters per week) "
       "above which a group seeks a truce", "1/week", 0.0, 1.0),
    _p("truce_hostility", 0.55, "pair hostility below which a truce can form", "-", 0.0, 1.0),
    _p("truce_rate", 0.05, "weekly chance that a truce forms when conditions hold", "1/week",
       0.0, 1.0),
    _p("tension_per_defection", 0.08, "truce tension per 1% of strength lost to the partner", "-",
       0.0, 10.0, TUNED),
    _p("tension_per_cell", 0.05, "truce tension per 1% of territory taken by the partner", "-",
       0.0, 10.0, TUNED),
    _p("tension_per_incident", 0.02, "truce tension per incident (clash under truce) with the "
       "partner, per fighter lost in it plus one", "-", 0.0, 10.0, TUNED),
    _p("claim_expansion", 1.0, "how far a claimant treats a truce partner's ground as its own to "
       "take (x claim): a claimant recognises no one else's rule", "-", 0.0, 1.0,
       "seed article: the Caliphate demands the allegiance of all"),
    _p("tension_decay", 0.02, "weekly decay of truce tension", "1/week", 0.0, 1.0, TUNED),
    _p("truce_tolerance", 1.0, "truce tension a side tolerates (equal strength, before power "
       "dependence)", "-", 1e-3, 100.0),
    _p("tolerance_power", 0.6, "power dependence of tolerance: tol = truce_tolerance tolerance_g "
       "(1 + tolerance_power (2 share_h - 1)), share_h the partner's share of the pair's fighters",
       "-", 0.0, 0.99, "Christia 2012"),
    _p("break_rate", 0.05, "weekly hazard of breaking a truce per unit of relative excess tension",
       "1/week", 0.0, 10.0, TUNED),
    _p("breakdown_war", 1.0, "chance that a broken truce turns at once into open war; otherwise "
       "the pair falls back to rivalry, which escalates into war by war_threshold and war_rate "
       "(1: every breakdown is a war at once, as in every shipped scenario)", "-", 0.0, 1.0),
    _p("war_threshold", 0.75, "escalation (pair hostility + clash memory M/(1+M)) / 2 above which a "
       "side may turn a rivalry into war (x its tolerance)", "-", 0.0, 2.0,
       "Gade, Hafez & Gabbay 2019"),
    _p("war_rate", 0.05, "weekly hazard of turning rivalry into war per unit of excess escalation",
       "1/week", 0.0, 10.0),
    _p("war_cooling", 26, "weeks without clashes after which war cools into rivalry", "weeks",
       1, 10_000, kind=int),
    _p("merger_weeks", 104, "truce length after which a merger can be proposed", "weeks",
       1, 10_000, kind=int),
    _p("merger_rate", 0.02, "weekly chance that partners in a long truce negotiate a union",
       "1/week", 0.0, 1.0),
    _p("pledge_w_power", 1.0, "union utility: weight of the other side's share of the pair's "
       "strength (a weak side gains protection)", "-", 0.0, 10.0, "Christia 2012"),
    _p("pledge_w_affinity", 4.0, "union utility: weight of the own fighters' affinity to the other "
       "doctrine minus to their own", "-", 0.0, 20.0, "Bacon 2018; Gade, Hafez & Gabbay 2019"),
    _p("pledge_w_momentum", 1.0, "union utility: weight of the other side's momentum minus one's "
       "own", "-", 0.0, 10.0, "Christia 2012"),
    _p("pledge_w_threat", 1.0, "union utility: weight of the own losses to state and outside "
       "forces, threat / (threat + truce_threat)", "-", 0.0, 10.0),
    _p("pledge_w_cohesion", 1.0, "union utility: weight against union of the own leadership's "
       "cohesion", "-", 0.0, 10.0),
    _p("pledge_w_share", 2.0, "union utility: weight of the leadership share one keeps minus one's "
       "share of the pair's strength", "-", 0.0, 20.0),
    _p("pledge_slope", 4.0, "slope of the sigmoid turning union utility into acceptance", "-",
       0.0, 100.0),
    # -- control and governance ----------------------------------------------------------------
    _p("control_margin", 1.5, "strength ratio over the runner-up needed to take a cell", "-",
       1.0, 100.0),
    _p("control_min", 1.0, "least strength that can hold a cell", "fighter-eq.", 0.0, 1e4),
    _p("hold_strength", 10.0, "strength a full administration (group field administration = 1) "
       "and its auxiliaries add to the group's fighters in a cell it holds, at full firmness; "
       "no shipped scenario has an administration (10: the trial of docs/ODD.md section 10)",
       "fighter-eq.", 0.0, 1e4),
    _p("admin_reach", 2, "an administration holds a cell only with one of its group's fighters "
       "within this many cells", "cells", 0, 20, kind=int),
    _p("firm_rate", 0.1, "weekly firming of control", "1/week", 0.0, 1.0),
    _p("erode_rate", 0.25, "weekly erosion of control by a stronger challenger", "1/week", 0.0, 1.0),
    _p("state_governance_weight", 1.0, "state strength = security x (0.5 + weight x L)", "-",
       0.0, 10.0),
    _p("support_rate", 0.02, "weekly drift of civilian support under a group's rule", "1/week",
       0.0, 1.0),
    _p("support_decay", 0.005, "weekly decay of support where the group does not rule", "1/week",
       0.0, 1.0),
    _p("hardship_rate", 0.01, "weekly hardship change under coercive (or gentle) rule", "1/week",
       0.0, 1.0),
    _p("governance_erosion", 0.02, "weekly share of governance lost to violence in a cell",
       "1/week", 0.0, 1.0),
    _p("violence_scale", 5.0, "casualties and hits at which violence is 63% of maximum",
       "events", 1e-3, 1e4),
    _p("governance_recovery", 0.01, "weekly drift of governance toward its base in state-held "
       "cells", "1/week", 0.0, 1.0),
    _p("group_rule_governance", 0.005, "weekly drift of governance toward zero under group rule",
       "1/week", 0.0, 1.0),
    _p("ungoverned_governance", 0.3, "a cell is ungoverned if governance is below this...", "-",
       0.0, 1.0),
    _p("ungoverned_security", 2.0, "... and security below this", "fighter-eq.", 0.0, 1e4),
    _p("governance_support", 1.0, "scale of every governance programme in the scenario (1 = as "
       "written, 0 = none)", "-", 0.0, 5.0, teach=True),
    # -- state and outside forces --------------------------------------------------------------
    _p("security_regen", 0.03, "weekly regeneration of security toward capacity", "1/week",
       0.0, 1.0),
    _p("redeploy_rate", 0.05, "share of quiet cells' security sent to threatened cells weekly",
       "1/week", 0.0, 1.0),
    _p("strike_lethality", 0.01, "outside strikes: weekly hazard per fighter per unit strength",
       "1/week", 0.0, 1.0),
    _p("strike_territory_weight", 1.0, "extra strike hazard on fighters in cells their group holds",
       "-", 0.0, 10.0),
    _p("intervention_scale", 1.0, "scale of every intervention's strength in the scenario", "-",
       0.0, 10.0, teach=True),
    _p("ground_lethality", 0.05, "ground offensives: weekly hazard of a target fighter in a front "
       "cell at full force ratio", "1/week", 0.0, 1.0),
    _p("ground_garrison", 5.0, "security left in a cell that ground forces retake", "fighter-eq.",
       0.0, 1e4),
    _p("leader_kill_rate", 0.002, "weekly chance a target group's leader is killed per unit "
       "strike strength", "1/week", 0.0, 1.0),
    _p("cohesion_shock", 0.4, "cohesion lost when the leader is killed", "-", 0.0, 1.0),
    _p("commitment_shock", 0.2, "share of commitment lost when the leader is killed", "-", 0.0, 1.0),
    _p("cohesion_recovery", 0.01, "weekly recovery of cohesion toward 1", "1/week", 0.0, 1.0),
    _p("succession_weeks", 4, "weeks until a killed leader is replaced", "weeks", 0, 1000, kind=int),
    # -- momentum ------------------------------------------------------------------------------
    _p("momentum_rate", 0.1, "weight of this week's success in momentum (moving average)", "-",
       0.0, 1.0),
    _p("success_scale", 20.0, "success index = tanh(success_scale x successes per fighter): 0.76 at 1/success_scale",
       "fighters", 0.0, 1e4),
]

PARAMS: dict[str, Param] = {p.name: p for p in _PARAM_LIST}

# ---------------------------------------------------------------------------------------------
# Attributes of a militant group (scenario file: [groups.NAME]).
# ---------------------------------------------------------------------------------------------
_GROUP_LIST: list[Param] = [
    _p("colour", "", "colour in charts (default: the colour-blind-safe palette)", source="-",
       kind=str),
    _p("takfir", 0.5, "doctrine: how broadly it declares other Muslims apostates", "-", 0.0, 1.0,
       "design (docs/ODD.md)"),
    _p("coercion", 0.5, "doctrine: impose rule by force (1) or build support first (0)", "-",
       0.0, 1.0, "design (docs/ODD.md)"),
    _p("claim", 0.0, "exclusive legitimacy claim (1 = claims to be the Caliphate)", "-", 0.0, 1.0,
       "seed article", teach=True),
    _p("propaganda", 0.3, "intensity of internal messaging", "-", 0.0, 1.0, "seed article",
       teach=True),
    _p("claim_persistence", 1.0, "share of the claim that survives the leader's death", "-",
       0.0, 1.0, "seed article: the claim outlived al-Baghdadi"),
    _p("cohesion", 1.0, "initial leadership cohesion", "-", 0.0, 1.0),
    _p("tolerance", 1.0, "multiplier on truce_tolerance for this group", "-", 0.01, 100.0),
    _p("administration", 0.0, "how far a standing administration (courts, police, taxes, local "
       "auxiliaries) holds the group's cells without its fighters: its share of hold_strength",
       "-", 0.0, 1.0),
    _p("fighters", 100, "initial number of fighters", "fighters", 0, 1_000_000, kind=int),
    _p("foreign_inflow", 0.0, "foreign fighters arriving each week (Poisson mean) in the cells the "
       "group holds, or its start zone if it holds none", "fighters/week", 0.0, 10_000.0,
       "Connections 2017: 15,000-20,000 foreign fighters in Iraq and Syria"),
    _p("zone", "", "zone where the initial fighters start (default: the whole map)", source="-",
       kind=str),
    _p("momentum", 0.2, "initial momentum", "-", 0.0, 1.0),
]
GROUP_FIELDS: dict[str, Param] = {p.name: p for p in _GROUP_LIST}

# ---------------------------------------------------------------------------------------------
# Attributes of a map zone (scenario file: [map.default] and [zones.NAME]).
# ---------------------------------------------------------------------------------------------
_CELL_LIST: list[Param] = [
    _p("population", 5000, "civilians per cell", "people", 0, 10_000_000, kind=int),
    _p("hardship", 0.5, "mean economic and physical hardship h", "-", 0.0, 1.0, "Epstein 2002"),
    _p("governance", 0.6, "state's local legitimacy and capacity L", "-", 0.0, 1.0,
       "Epstein 2002 (L), made local"),
    _p("security", 5.0, "state security forces", "fighter-eq.", 0.0, 1e6),
    _p("takfir", 0.3, "population's mean ideology: takfir axis", "-", 0.0, 1.0),
    _p("coercion", 0.3, "population's mean ideology: coercion axis", "-", 0.0, 1.0),
]
CELL_FIELDS: dict[str, Param] = {p.name: p for p in _CELL_LIST}


def defaults() -> dict[str, Any]:
    """A fresh dict of every global parameter at its default."""
    return {name: p.default for name, p in PARAMS.items()}


def teach_params() -> list[Param]:
    """The global parameters shown as sliders in the teaching app."""
    return [p for p in PARAMS.values() if p.teach]


def table_markdown() -> str:
    """The parameter table in Markdown (used by the docs and checked by the tests)."""
    rows = ["| name | default | unit | range | meaning | source |", "|---|---|---|---|---|---|"]
    for p in PARAMS.values():
        rng = "" if p.low is None else f"[{p.low:g}, {p.high:g}]"
        rows.append(f"| `{p.name}` | {p.default} | {p.unit} | {rng} | {p.meaning} | {p.source} |")
    return "\n".join(rows)
