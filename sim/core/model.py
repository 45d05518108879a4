"""The militant-competition model.

``MilitantModel.step()`` is the schedule of ``docs/ODD.md`` section 3, one submodel per line;
the submodels are the functions of :mod:`sim.core.rules`. The model holds the state as numpy arrays
(cells, groups, pairs of groups, fighters) and owns the only random generator (``self.rng``).
"""

from __future__ import annotations

import os
import time as _time
from types import SimpleNamespace
from typing import Any

import mesa
import numpy as np
from mesa.discrete_space import OrthogonalMooreGrid

from .columns import group_col, pair_key
from . import kernels, rules
from .enums import STATE, EventKind, Relation, TimelineKind
from .fighters import Fighter, FighterCell, FighterTable
from .record import Recorder, RunResult
from .scenario import Scenario, load_scenario
from .space import box_sum, moore_table


class RecorderCollector(mesa.DataCollector):
    """Mesa's ``DataCollector`` over the model's recorder: model reporters that are columns of
    the steps table (``fighters``, ``territory.ISIS``, ...). A collection notes the recorder's
    latest row (the state at that moment, collected by the recorder at the end of each week),
    so a week costs nothing here; ``model_vars`` (and so ``get_model_vars_dataframe()`` and
    ``mesa.batch_run``) reads those rows from the recorder when asked, whole numbers as
    ``int``."""

    def __init__(self, model: "MilitantModel", columns: list[str]):
        self._model = model
        self._columns = list(columns)
        self._rows: list[int] = []
        self._read: tuple[int, dict[str, list]] = (-1, {})  # (collections, model_vars) last read
        super().__init__(model_reporters={c: c for c in columns})

    @property
    def model_vars(self) -> dict[str, list]:
        """The columns at each collection, read once per collection count (``batch_run`` reads
        them once per step it reports)."""
        if self._read[0] != len(self._rows):
            rec = self._model.recorder
            rows = np.asarray(self._rows, dtype=np.int64)
            self._read = (len(self._rows), {
                c: rec.data[rows, rec._col[c]].round().astype(np.int64).tolist()
                for c in self._columns})
        return self._read[1]

    @model_vars.setter
    def model_vars(self, value) -> None:
        """Set by ``DataCollector.__init__``; the values live in the recorder."""

    def collect(self, model) -> None:
        if hasattr(self, "_collection_steps"):
            self._collection_steps.append(model.time)
        self._rows.append(model.recorder.rows - 1)


class MilitantModel(mesa.Model):
    """Competition among militant groups on a regional grid.

    Args:
        scenario: a scenario name (``"sahel_2019"``), a path to a TOML file, or a
            :class:`~sim.core.scenario.Scenario`. Default: ``syria_2013``.
        rng: seed or generator for the model's random numbers (Mesa's ``rng=``). Default: the
            scenario's ``seed``.
        overrides: ``{key: value}`` applied to the scenario before validation; keys are
            parameter names or dotted paths (``"groups.ISIS.claim"``).
        **params: global parameters by name (as Mesa's ``batch_run`` passes them).

    Time: one step is one week; ``model.week`` (== ``model.time``) counts them.
    """

    def __init__(self, scenario: str | os.PathLike | Scenario = "syria_2013", *,
                 rng: Any = None, overrides: dict[str, Any] | None = None, **params: Any):
        overrides = {**(overrides or {}), **params}
        spec = load_scenario(scenario, overrides)
        if rng is None:
            rng = spec.seed
        super().__init__(rng=rng)
        self.seed = _describe_seed(rng)
        self.spec = spec
        self.p = SimpleNamespace(**spec.params)
        self.week = 0
        self._wall_start = _time.perf_counter()
        #: the changes made while the model runs (sliders, set_param, set_group,
        #: set_restriction), in order: week, kind, target and value (also in the events table
        #: as ``live_change`` and in the summary's provenance)
        self.live_changes: list[dict[str, Any]] = []
        self._live_event = -1  # index in the recorder's events of the last live change

        # -- space ---------------------------------------------------------------------------
        self.width, self.height = spec.width, spec.height
        self.n_cells = spec.n_cells
        self.nbr = moore_table(self.width, self.height)
        self._grid = None  # Mesa's grid of the same cells, made on first use (see grid)
        self.zones = spec.zones
        cells = spec.cells
        self.population = cells["population"].astype(np.float64).copy()
        self.hardship = cells["hardship"].copy()
        self.governance = cells["governance"].copy()
        self.governance0 = cells["governance"].copy()
        self.security = cells["security"].copy()
        self.capacity = cells["security"].copy()
        self.pop_ideology = np.column_stack([cells["takfir"], cells["coercion"]])

        # -- groups --------------------------------------------------------------------------
        gs = spec.groups
        self.group_names = [g.name for g in gs]
        self.group_colours = [g.colour for g in gs]
        G = self.n_groups = len(gs)
        self.doctrine = np.array([[g.takfir, g.coercion] for g in gs], dtype=np.float64)
        self.claim = np.array([g.claim for g in gs], dtype=np.float64)
        self.propaganda = np.array([g.propaganda for g in gs], dtype=np.float64)
        self.claim_persistence = np.array([g.claim_persistence for g in gs])
        self.cohesion = np.array([g.cohesion for g in gs], dtype=np.float64)
        self.tolerance = np.array([g.tolerance for g in gs], dtype=np.float64)
        self.administration = np.array([g.administration for g in gs], dtype=np.float64)
        self.momentum = np.array([g.momentum for g in gs], dtype=np.float64)
        self.momentum0 = self.momentum.copy()  # as the scenario starts (commitment_momentum)
        self.foreign_inflow = np.array([g.foreign_inflow for g in gs], dtype=np.float64)
        self.base_zone = [self.zones[g.zone] if g.zone else self.zones["all"] for g in gs]
        self.group_alive = np.ones(G, dtype=bool)
        self.leader_alive = np.ones(G, dtype=bool)
        self.leader_back_week = np.zeros(G, dtype=np.int64)
        self.threat = np.zeros(G)
        self.last_strike_deaths = np.zeros(G, dtype=np.int64)
        self.support = np.zeros((G, self.n_cells))

        # -- pairs of groups -----------------------------------------------------------------
        self.relation = np.full((G, G), int(Relation.RIVALRY), dtype=np.int8)
        np.fill_diagonal(self.relation, int(Relation.ENDED))
        self.relation_since = np.zeros((G, G), dtype=np.int64)
        self.tension = np.zeros((G, G))      # tension[g, h]: g's grievance with its partner h
        self.clash_memory = np.zeros((G, G))
        self.last_clash = np.zeros((G, G), dtype=np.int64)
        dist = self.doctrinal_distance()
        self.hostility = np.clip(0.5 * (self.p.hostility_base_weight * (
            self.doctrine[:, 0][:, None] + self.doctrine[:, 0][None, :]))
            + self.p.distance_weight * dist, 0, 1)
        np.fill_diagonal(self.hostility, 0.0)
        for (a, b), r in spec.relations.items():
            self.relation[a, b] = self.relation[b, a] = int(Relation[r["state"].upper()])
            since = r.get("since", 0)
            self.relation_since[a, b] = self.relation_since[b, a] = since
            if "hostility" in r:
                self.hostility[a, b] = self.hostility[b, a] = r["hostility"]

        # -- scheduled effects (filled by the timeline) -------------------------------------------
        self.restriction = np.zeros((G, self.n_cells))
        self.strike = np.zeros((G, self.n_cells))
        self.programme_rate = np.zeros(self.n_cells)
        self.programme_target = np.zeros(self.n_cells)
        self.programme_security = np.zeros(self.n_cells)
        self.ground = np.zeros(self.n_cells)  # ground forces allied to the state, per cell
        self.active_effects: list[rules.ActiveEffect] = []
        self._next_event = 0
        #: per timeline event, the indices of the groups it names, resolved once here
        self.timeline_groups = rules.timeline_groups(self)

        # -- control -------------------------------------------------------------------------
        self.owner = np.full(self.n_cells, -1, dtype=np.int16)
        self.firmness = np.zeros(self.n_cells)

        # -- per-week tallies (reset each step) ----------------------------------------------------
        self.tally = rules.Tally(G, self.n_cells)
        self.prev_ops = np.zeros((G, self.n_cells))

        # -- fighters ------------------------------------------------------------------------
        self.fighters = FighterTable()
        self.next_unit = rules.FIRST_NEW_UNIT  # the next fresh unit label (rules.new_units)
        #: the Mesa agents made so far (fid -> Fighter); see :meth:`_sync_agents`
        self._agent_of: dict[int, Fighter] = {}
        self._agents_seen = (0, -1)  # (next_fid, removals) of the table when last synced
        self._agents_next_fid = 0    # fids below this have been given an agent if alive
        rules.place_initial_fighters(self)
        rules.initial_control(self)
        self.recorder = Recorder(self)
        rules.timeline(self)  # events scheduled for week 0 hold from the start
        self.recorder.collect(self)
        # Mesa's DataCollector, so that mesa.batch_run and Mesa's tools work on the model: its
        # table is read from the recorder (the full record, see results()) when asked
        names = ["fighters", "militant_cells", "ungoverned"]
        for name in self.group_names:
            names += [group_col("fighters", name), group_col("territory", name)]
        self.datacollector = RecorderCollector(self, names)
        self.datacollector.collect(self)

    # ------------------------------------------------------------------------------------------
    # The schedule (docs/ODD.md, section 3)
    # ------------------------------------------------------------------------------------------
    def step(self) -> None:
        """Advance one week."""
        self.week += 1
        self.tally.reset()
        rules.timeline(self)
        rules.mobilise(self)
        rules.socialise(self)
        rules.move(self)
        rules.operate(self)
        rules.interact(self)
        rules.defect_and_desert(self)
        rules.relations(self)
        rules.control_and_governance(self)
        rules.state_and_outside_forces(self)
        self.recorder.collect(self)
        self.datacollector.collect(self)
        if len(self.fighters) > self.p.max_fighters:
            from .scenario import LimitError

            raise LimitError(self.spec.file, "max_fighters", f"the run was stopped at week "
                             f"{self.week}: {len(self.fighters):,} fighters exceed the bound",
                             self.p.max_fighters, "raise it with --set max_fighters=N if the "
                             "machine has the memory (about 0.5 GB per million fighters), or "
                             "check the parameters that make the groups grow")

    def run(self, steps: int | None = None, progress: bool | None = None) -> RunResult:
        """Run ``steps`` weeks (default: the parameter ``steps``) and return the results.

        The parameter ``steps`` is the run's length, the one route for it: a ``steps`` given
        here becomes the parameter (the weeks run in all, when a run is continued), so that the
        summary's ``weeks`` and its provenance's ``params["steps"]`` agree.

        ``progress``: show a progress bar (default: only when stderr is a terminal).
        """
        steps = self.p.steps if steps is None else int(steps)
        self.p.steps = self.week + steps
        if progress is None:
            progress = _stderr_is_tty() and steps * max(len(self.fighters), 1) > 2_000_000
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=steps, unit="week", desc=self.spec.name, leave=False)
        try:
            for _ in range(steps):
                self.step()
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        return self.results()

    def results(self) -> RunResult:
        """The run so far as data frames and a summary (see :class:`sim.core.record.RunResult`)."""
        return self.recorder.result(self, wall_seconds=_time.perf_counter() - self._wall_start)

    # ------------------------------------------------------------------------------------------
    # Helpers used by the rules and by observers
    # ------------------------------------------------------------------------------------------
    def presence(self) -> np.ndarray:
        """Fighters per group per cell, shape (G, C)."""
        F = self.fighters
        return kernels.presence(F.group, F.cell, self.n_groups, self.n_cells)

    def in_sight(self, layers: np.ndarray, radius: int | None = None) -> np.ndarray:
        """Sum of a layer (or stack of layers) over each cell's neighbourhood of ``vision``."""
        r = self.p.vision if radius is None else radius
        return box_sum(layers, self.width, self.height, r)

    def doctrinal_distance(self) -> np.ndarray:
        """(G, G) doctrinal distance |Theta_g - Theta_h| / sqrt(2), in [0, 1]."""
        d = self.doctrine[:, None, :] - self.doctrine[None, :, :]
        return np.sqrt((d ** 2).sum(-1)) / np.sqrt(2.0)

    def state_strength(self) -> np.ndarray:
        """The state's effective strength per cell: security weighted by governance, plus any
        ground forces allied to it."""
        return (self.security * (0.5 + self.p.state_governance_weight * self.governance)
                + self.ground)

    def territory(self) -> np.ndarray:
        """Cells held by each group, shape (G,)."""
        own = self.owner[self.owner >= 0]
        return np.bincount(own, minlength=self.n_groups)

    def ungoverned(self) -> np.ndarray:
        """Boolean mask of ungoverned cells (low governance and low security)."""
        return ((self.governance < self.p.ungoverned_governance)
                & (self.security < self.p.ungoverned_security))

    def fighter_counts(self) -> np.ndarray:
        """Fighters of each group, shape (G,)."""
        return kernels.count_groups(self.fighters.group, self.n_groups)

    def control_map(self) -> np.ndarray:
        """Owner of each cell as an (height, width) array (-2 state, -1 none, g a group)."""
        return self.owner.reshape(self.height, self.width)

    def pair_name(self, g: int, h: int) -> str:
        return pair_key(self.group_names[g], self.group_names[h])

    # -- changes while running (the app's sliders, experiments that intervene) -------------------
    def set_param(self, name: str, value: Any) -> None:
        """Change a global parameter now (validated against its range)."""
        from .params import PARAMS
        from .scenario import ScenarioError, _check_value

        if name not in PARAMS:
            raise ScenarioError("<model>", name, "unknown parameter")
        value = _check_value("<model>", name, value, PARAMS[name])
        setattr(self.p, name, value)
        if name in ("intervention_scale", "governance_support"):
            rules._refresh_effects(self)
        self._record_change("set_param", name, value)

    def set_group(self, group: str | int, field: str, value: float) -> None:
        """Change a group's claim, propaganda, takfir, coercion or foreign_inflow now."""
        from .scenario import SETTABLE_GROUP_FIELDS, ScenarioError

        g = group if isinstance(group, int) else self.group_names.index(group)
        if field not in SETTABLE_GROUP_FIELDS:
            raise ScenarioError("<model>", field, "cannot be changed",
                                allowed=", ".join(SETTABLE_GROUP_FIELDS))
        from .params import GROUP_FIELDS
        from .scenario import _check_value

        value = _check_value("<model>", field, value, GROUP_FIELDS[field])
        if field in ("takfir", "coercion"):
            self.doctrine[g, 0 if field == "takfir" else 1] = float(value)
        else:
            getattr(self, field)[g] = float(value)
        self._record_change("set_group", field, float(value), group=g)

    def set_restriction(self, group: str | int, zone: str, level: float) -> None:
        """Restrict a group's operations in a zone from now on (0 lifts the restriction)."""
        from .scenario import ScenarioError

        g = self.group_names[group] if isinstance(group, int) else group
        if zone not in self.zones:
            raise ScenarioError("<model>", "zone", "unknown zone", zone, ", ".join(self.zones))
        if not 0.0 <= float(level) <= 1.0:
            raise ScenarioError("<model>", "level", "out of range", level, "[0, 1]")
        self.active_effects = [e for e in self.active_effects if not (
            e.kind == TimelineKind.RESTRICTION and e.args["group"] == g and e.args["zone"] == zone)]
        if level > 0:
            self.active_effects.append(rules.ActiveEffect(
                TimelineKind.RESTRICTION, self.week, None, {"group": g, "zone": zone, "level": float(level)},
                (self.group_names.index(g),)))
        rules._refresh_effects(self)
        self._record_change("set_restriction", zone, float(level),
                            group=self.group_names.index(g))

    def _record_change(self, kind: str, name: str, value: Any, group: int = -1) -> None:
        """Keep a live change: in :attr:`live_changes` and as a ``live_change`` event. The
        same change made again in the same week (a slider being dragged) replaces the
        previous one."""
        who = {"group": self.group_names[group]} if group >= 0 else {}
        change = {"week": self.week, "kind": kind, **who, "name": name, "value": value}
        size = float(value) if isinstance(value, (int, float)) else 0.0
        last = self.live_changes[-1] if self.live_changes else None
        same = last is not None and {k: v for k, v in last.items() if k != "value"} == {
            k: v for k, v in change.items() if k != "value"}
        if same and self._live_event == len(self.recorder._events) - 1:
            self.live_changes[-1] = change
            self.recorder._events.pop()
        else:
            self.live_changes.append(change)
        self.log_event(EventKind.LIVE_CHANGE, group, -1, -1, size, f"{kind} {name}={value}")
        self._live_event = len(self.recorder._events) - 1

    @property
    def grid(self) -> OrthogonalMooreGrid:
        """The region as a Mesa ``OrthogonalMooreGrid`` (not a torus), made on first use: the
        rules work on the arrays (``nbr``, ``in_sight``), which agree with it. A cell's
        ``agents`` are the fighters standing in it (:class:`~sim.core.fighters.FighterCell`)."""
        if self._grid is None:
            self._grid = OrthogonalMooreGrid((self.width, self.height), torus=False,
                                             random=self.random, cell_klass=FighterCell)
            for cell in self._grid.all_cells:
                cell.model = self  # its agents are the fighters standing in it
        return self._grid

    # -- Mesa agents, made when someone looks ---------------------------------------------------
    # The rules work on the arrays only; recruits and deaths create or remove nothing. The
    # fighters' Mesa agents are made the first time anyone reads ``agents`` (or
    # ``agents_by_type``, ``agent_types``, ``fighter()``, a grid cell's agents), and from then
    # on brought up to date at each read: agents of new fighters made, those of the dead and
    # deserted removed. What a reader sees is always the fighters of the arrays.
    @property
    def agents(self):
        """Every living fighter as a Mesa agent (a Mesa ``AgentSet``)."""
        self._sync_agents()
        return self._all_agents

    @property
    def agents_by_type(self):
        self._sync_agents()
        return self._agents_by_type

    @property
    def agent_types(self) -> list[type]:
        self._sync_agents()
        return list(self._agents_by_type.keys())

    def _sync_agents(self) -> None:
        """Bring the Mesa agents in line with the fighter table (cheap when nothing changed)."""
        F = self.__dict__.get("fighters")
        if F is None:  # during Mesa's own set-up
            return
        seen = (F.next_fid, F.removals)
        if seen == self._agents_seen:
            return
        if F.removals != self._agents_seen[1] and self._agent_of:
            fids = np.fromiter(self._agent_of.keys(), dtype=np.int64, count=len(self._agent_of))
            for fid in fids[F.row_of[fids] < 0].tolist():
                self._agent_of.pop(fid).remove()
        new = np.arange(self._agents_next_fid, F.next_fid, dtype=np.int64)
        for fid in new[F.row_of[new] >= 0].tolist():
            self._agent_of[fid] = Fighter(self, fid)
        self._agents_next_fid = F.next_fid
        self._agents_seen = seen

    def _add_agents(self, fids: np.ndarray) -> None:
        """Nothing to do: a recruit's agent is made when someone looks (kept for callers)."""

    def _remove_agents(self, fids: np.ndarray) -> None:
        """Nothing to do: a dead fighter's agent goes at the next look (kept for callers)."""

    def fighter(self, fid: int) -> Fighter:
        """The Mesa agent of a living fighter (KeyError if it is gone)."""
        self._sync_agents()
        return self._agent_of[int(fid)]

    def log_event(self, kind: EventKind, group: int = -1, other: int = -1, cell: int = -1,
                  size: float = 0.0, detail: str = "") -> None:
        self.recorder.log(self.week, kind, group, other, cell, size, detail)

    @property
    def state_code(self) -> int:
        return STATE


def _describe_seed(rng: Any) -> Any:
    if isinstance(rng, (int, np.integer)):
        return int(rng)
    if isinstance(rng, np.random.SeedSequence):
        return {"entropy": str(rng.entropy), "spawn_key": list(rng.spawn_key)}
    return repr(rng)


def _stderr_is_tty() -> bool:
    import sys

    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
