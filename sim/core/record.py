"""Observation: per-week series, events and the run summary (docs/ODD.md, section 8).

Three different things, kept apart:

* ``steps``: one row per week (week 0 is the initial state), wide columns. Model-level columns
  have plain names (``ungoverned``); per-group columns are ``VAR.GROUP`` (``fighters.ISIS``);
  per-pair columns are ``VAR.A|B`` (``relation.ISIS|JN``, coded as :class:`Relation`) and
  directional ones ``VAR.A>B`` (``defect.JN>ISIS``: fighters who left A for B that week).
* ``events``: one row per event (every clash, relation change, leader death, timeline event).
* ``summary``: once per run (truce durations, peak territory, net defections, final fighters)
  with provenance: package version, git commit, seed and the fully resolved parameters.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .columns import (  # noqa: F401 - the variables are re-exported
    BOOL_VARS,
    DIRECTED_VARS,
    FLOW_VARS,
    GROUP_VARS,
    INT_VARS,
    MODEL_VARS,
    PAIR_VARS,
    col_var,
    subject_col,
    directed_key,
    directed_col,
    group_col,
    is_flow,
    pair_col,
    pair_key,
    pairs,
    parse_col,
    steps_columns,
)
from . import kernels
from .enums import EventKind, Relation
from ..common.files import atomic_json, atomic_write
from ..common.jsonio import jsonable, plain
from ..common.paths import ROOT_DIR
from ..common.units import WEEKS_PER_CALENDAR_YEAR, WEEKS_PER_YEAR

if TYPE_CHECKING:  # pragma: no cover
    from .model import MilitantModel

EVENT_COLUMNS = ["week", "kind", "group", "other", "x", "y", "fighters_group", "fighters_other",
                 "casualties_group", "casualties_other", "winner", "size", "detail"]


class Recorder:
    """Collects the series into pre-allocated arrays; events into chunks."""

    def __init__(self, m: MilitantModel):
        names = m.group_names
        G = len(names)
        self.G = G
        self.columns: list[str] = steps_columns(names)
        self._col = {c: i for i, c in enumerate(self.columns)}
        self.data = np.zeros((m.p.steps + 1, len(self.columns)))
        self.rows = 0
        self._events: list[tuple] = []
        self._clashes: list[tuple[np.ndarray, ...]] = []
        self.width = m.width
        self.names = names
        # maps: control every week; fighters per group per cell every `map_every` weeks
        self.control: list[np.ndarray] = []
        self.ungoverned: list[np.ndarray] = []
        cells = m.n_cells
        budget = 40e6  # bytes kept for fighter maps
        self.map_every = max(1, int(np.ceil((m.p.steps + 1) * G * cells * 2 / budget)))
        self.fighter_maps: list[np.ndarray] = []
        self.map_weeks: list[int] = []
        pr = pairs(G)
        self._pa = np.array([a for a, _ in pr], dtype=np.int64)
        self._pb = np.array([b for _, b in pr], dtype=np.int64)
        self._da, self._db = np.nonzero(~np.eye(G, dtype=bool))
        # collect() writes each week's row in the order of steps_columns: the model
        # variables, then per variable its groups, pairs and directed pairs
        if _ROW_ORDER != (tuple(MODEL_VARS), tuple(GROUP_VARS), tuple(PAIR_VARS),
                          tuple(DIRECTED_VARS)):
            raise KeyError("recorder row: the variables differ from sim.core.columns")
        self._n_model = len(MODEL_VARS)

    # -- per week ------------------------------------------------------------------------------
    def collect(self, m: MilitantModel) -> None:
        if self.rows >= len(self.data):
            self.data = np.vstack([self.data, np.zeros_like(self.data)])
        t = m.tally
        F = m.fighters
        G = self.G
        counts, sums = kernels.group_sums(F.group, G, F.hostility, F.commitment, F.frustration)
        denom = np.maximum(1.0, counts)
        (terr, ungov, n_ungov, governance_mean, security_total, state_cells, free_cells,
         militant_cells, population, support) = kernels.cells_record(
            m.owner, m.governance, m.security, m.population, m.support, m.state_code,
            m.p.ungoverned_governance, m.p.ungoverned_security)
        (recruits, deaths, desertions, defections, clashes, casualties, hits, defect_in,
         defect_out, ops_g, hits_g) = kernels.tally_record(
            t.recruits, t.deaths_state, t.deaths_clash, t.deaths_strike, t.deaths_ground,
            t.desertions, t.defections, t.clashes, t.clash_casualties, t.hits, t.ops)
        row = self.data[self.rows]
        row[: self._n_model] = (
            m.week, m.week / WEEKS_PER_YEAR, len(F), recruits, t.latent, deaths, desertions,
            defections, clashes / 2, casualties, hits, n_ungov, governance_mean,
            security_total, state_cells, free_cells, militant_cells, population)
        per_group = (
            counts, terr, t.recruits, t.deaths_state, t.deaths_clash, t.deaths_strike,
            t.deaths_ground, t.desertions, defect_in, defect_out, sums[0] / denom,
            sums[1] / denom, sums[2] / denom, m.momentum, m.cohesion, m.claim, support, ops_g,
            hits_g, m.threat, m.group_alive)
        at = self._n_model
        for values in per_group:
            row[at:at + G] = values
            at += G
        pa, pb = self._pa, self._pb
        P = len(pa)
        if P:
            for values in (m.relation[pa, pb], m.hostility[pa, pb], t.clashes[pa, pb],
                           t.incidents[pa, pb],
                           t.clash_casualties[pa, pb] + t.clash_casualties[pb, pa]):
                row[at:at + P] = values
                at += P
            D = len(self._da)
            row[at:at + D] = m.tension[self._da, self._db]
            row[at + D:at + 2 * D] = t.defections[self._da, self._db]
        self.rows += 1
        self.control.append(m.owner.astype(np.int8))
        self.ungoverned.append(ungov)
        if m.week % self.map_every == 0:
            self.fighter_maps.append(m.presence().astype(np.uint16))
            self.map_weeks.append(m.week)

    # -- events --------------------------------------------------------------------------------
    def log(self, week: int, kind: EventKind, group: int, other: int, cell: int, size: float,
            detail: str) -> None:
        x, y = (cell % self.width, cell // self.width) if cell >= 0 else (-1, -1)
        self._events.append((week, kind.name.lower(), self._name(group), self._name(other), x, y,
                             0, 0, 0, 0, "", float(size), detail))

    def log_clashes(self, week, a, b, cells, na, nb, da, db, winner, incident=None) -> None:
        """Clashes of one week: arrays (or scalars for a and b) over the clashes; ``winner`` -1
        for an incident under truce (no ground changes hands)."""
        k = len(cells)
        inc = np.zeros(k, bool) if incident is None else np.asarray(incident, bool)
        self.log_clash_rows(week, np.column_stack([np.broadcast_to(v, k) for v in (
            a, b, cells, na, nb, da, db, winner, inc)]))

    def log_clash_rows(self, week: int, rows: np.ndarray) -> None:
        """Clashes of one week as rows (a, b, cell, fighters of a and b, casualties of a and
        b, winner or -1, incident 0 or 1)."""
        out = np.empty((len(rows), 10), np.int64)
        out[:, 0] = week
        out[:, 1:] = rows
        self._clashes.append(out)

    def _name(self, g: int) -> str:
        return self.names[g] if g is not None and g >= 0 else ""

    # -- results -------------------------------------------------------------------------------
    def steps_frame(self) -> pd.DataFrame:
        """The steps table: counts as integers (rounded), the groups' ``alive`` as booleans,
        the rest as floats; each column made once, in its final type."""
        data = self.data[: self.rows]
        cols: dict[str, np.ndarray] = {}
        for j, c in enumerate(self.columns):
            v = data[:, j]
            var = col_var(c)
            if var in INT_VARS:
                cols[c] = v.round().astype(np.int64)
            elif var in BOOL_VARS and "." in c:
                cols[c] = v.astype(bool)
            else:
                cols[c] = v
        return pd.DataFrame(cols)

    def events_frame(self) -> pd.DataFrame:
        frames = []
        if self._events:
            frames.append(pd.DataFrame(self._events, columns=EVENT_COLUMNS))
        if self._clashes:
            week, a, b, cell, na, nb, da, db, win, inc = np.concatenate(self._clashes).T
            inc = inc > 0
            names = np.array(list(self.names) + [""], dtype=object)  # -1: no winner
            frames.append(pd.DataFrame({
                "week": week.astype(np.int64), "kind": "clash", "group": names[a],
                "other": names[b], "x": cell % self.width, "y": cell // self.width,
                "fighters_group": na.astype(np.int64), "fighters_other": nb.astype(np.int64),
                "casualties_group": da.astype(np.int64), "casualties_other": db.astype(np.int64),
                "winner": names[win], "size": (da + db).astype(np.float64),
                "detail": np.where(inc, "incident", "")}))
        if not frames:
            return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
                EVENT_COLUMNS, [np.int64, str, str, str, np.int64, np.int64, np.int64, np.int64,
                                np.int64, np.int64, str, np.float64, str])})
        ev = pd.concat(frames, ignore_index=True)
        for c in ("x", "y", "fighters_group", "fighters_other", "casualties_group",
                  "casualties_other", "week"):
            ev[c] = ev[c].astype(np.int64)
        return ev.sort_values(["week", "kind"], kind="stable").reset_index(drop=True)

    def result(self, m: MilitantModel, wall_seconds: float = 0.0) -> RunResult:
        steps = self.steps_frame()
        events = self.events_frame()
        maps = {"control": np.stack(self.control),
                "fighters": np.stack(self.fighter_maps) if self.fighter_maps else
                np.zeros((0, self.G, m.n_cells), np.uint16),
                "map_weeks": np.array(self.map_weeks, dtype=np.int64),
                "zone_names": np.array([z for z in m.zones if z != "all"], dtype=str),
                "zones": np.array([mk for z, mk in m.zones.items() if z != "all"], dtype=bool)
                .reshape(-1, m.n_cells),
                "ungoverned": np.stack(self.ungoverned),
                "width": m.width, "height": m.height}
        summary = summarise(m, steps, events)
        summary["scale"] = m.spec.scale.to_dict()
        summary["real_units"] = real_units(m.spec.scale, summary)
        summary["provenance"] = provenance(m, wall_seconds)
        return RunResult(steps=steps, events=events, summary=summary, maps=maps)


#: the variables in the order collect() writes them (checked against sim.core.columns)
_ROW_ORDER = (
    ("week", "year", "fighters", "recruits", "latent", "deaths", "desertions", "defections",
     "clashes", "clash_casualties", "hits", "ungoverned", "governance_mean", "security_total",
     "state_cells", "free_cells", "militant_cells", "population"),
    ("fighters", "territory", "recruits", "deaths_state", "deaths_clash", "deaths_strike",
     "deaths_ground", "desertions", "defect_in", "defect_out", "hostility", "commitment",
     "frustration", "momentum", "cohesion", "claim", "support", "ops", "hits", "threat",
     "alive"),
    ("relation", "hostility", "clashes", "incidents", "clash_casualties"),
    ("tension", "defect"))


# =============================================================================================
# Summary
# =============================================================================================
def truce_spells(steps: pd.DataFrame, names: list[str], events: pd.DataFrame | None = None,
                 initial_since: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """Every truce of the run: pair, start and end week, duration, censoring and how it ended.

    A truce still running at the last week is censored (its end is unknown), not ended.
    """
    out = []
    last = int(steps["week"].iloc[-1])
    weeks = steps["week"].to_numpy()
    for a, b in pairs(len(names)):
        pair = pair_key(names[a], names[b])
        col = subject_col("relation", pair)
        if col not in steps:
            continue
        rel = steps[col].to_numpy()
        in_truce = rel == Relation.TRUCE
        if not in_truce.any():
            continue
        edges = np.diff(np.concatenate([[0], in_truce.astype(np.int8), [0]]))
        starts = np.flatnonzero(edges == 1)
        ends = np.flatnonzero(edges == -1)
        for s, e in zip(starts, ends):
            start = int(weeks[s])
            if s == 0 and initial_since and pair in initial_since:
                start = int(initial_since[pair])
            censored = e >= len(rel)
            end = None if censored else int(weeks[e])
            how = None
            if not censored:
                nxt = int(rel[e])
                how = {Relation.WAR: "war", Relation.RIVALRY: "rivalry"}.get(nxt, "ended")
                if nxt == Relation.ENDED and events is not None and len(events):
                    hit = events[(events["week"] == end) & events["kind"].isin(
                        ["merger", "pledge", "group_destroyed"])]
                    if len(hit):
                        how = str(hit["kind"].iloc[0])
            out.append({"pair": pair, "groups": [names[a], names[b]], "start": start,
                        "end": end, "duration": (last if censored else end) - start,
                        "censored": bool(censored), "ended_by": how})
    return out


def summarise(m: MilitantModel, steps: pd.DataFrame, events: pd.DataFrame) -> dict[str, Any]:
    names = m.group_names
    G = len(names)
    weeks = steps["week"].to_numpy()
    groups = {}
    for n in names:
        f = steps[group_col("fighters", n)].to_numpy()
        terr = steps[group_col("territory", n)].to_numpy()
        k = int(terr.argmax())
        groups[n] = {
            "final_fighters": int(f[-1]), "initial_fighters": int(f[0]),
            "peak_fighters": int(f.max()), "peak_fighters_week": int(weeks[int(f.argmax())]),
            "final_territory": int(terr[-1]), "peak_territory": int(terr[k]),
            "peak_territory_week": int(weeks[k]),
            "recruits": int(steps[group_col("recruits", n)].sum()),
            "deaths_state": int(steps[group_col("deaths_state", n)].sum()),
            "deaths_clash": int(steps[group_col("deaths_clash", n)].sum()),
            "deaths_strike": int(steps[group_col("deaths_strike", n)].sum()),
            "desertions": int(steps[group_col("desertions", n)].sum()),
            "defected_in": int(steps[group_col("defect_in", n)].sum()),
            "defected_out": int(steps[group_col("defect_out", n)].sum()),
            "exists_at_end": bool(steps[group_col("alive", n)].iloc[-1]),
            "final_claim": float(steps[group_col("claim", n)].iloc[-1]),
        }
    net = {}
    for a, b in pairs(G):
        A, B = names[a], names[b]
        ab = int(steps[directed_col("defect", A, B)].sum())
        ba = int(steps[directed_col("defect", B, A)].sum())
        strength = (steps[group_col("fighters", A)] + steps[group_col("fighters", B)]).mean()
        net[pair_key(A, B)] = {directed_key(A, B): ab, directed_key(B, A): ba, f"net {A}>{B}": ab - ba,
                           "net_per_1000_fighters": float(1000.0 * (ab - ba) / strength)
                           if strength > 0 else 0.0}
    initial_since = {pair_key(names[a], names[b]): int(r.get("since", 0))
                     for (a, b), r in m.spec.relations.items()}
    spells = truce_spells(steps, names, events, initial_since)
    militant = steps["militant_cells"].to_numpy()
    kp = int(militant.argmax())
    share_truce = {}
    for a, b in pairs(G):
        col = pair_col("relation", names[a], names[b])
        share_truce[pair_key(names[a], names[b])] = float((steps[col] == Relation.TRUCE).mean())
    ev_kinds = events["kind"] if len(events) else pd.Series(dtype=str)
    clashes = events[ev_kinds == "clash"] if len(events) else events
    return {
        "scenario": m.spec.name,
        "weeks": int(weeks[-1]),
        "group_colours": dict(zip(names, m.group_colours)),
        "zones": [z for z in m.zones if z != "all"],
        "width": m.width,
        "height": m.height,
        "seed": m.seed,
        "groups": groups,
        "truces": spells,
        "truce_durations_weeks": [s["duration"] for s in spells],
        "share_of_time_in_truce": share_truce,
        "net_defections": net,
        "mergers": events[ev_kinds.isin(["merger", "pledge"])][
            ["week", "kind", "group", "other", "detail"]].to_dict("records") if len(events) else [],
        "leader_deaths": events[ev_kinds == "leader_killed"][["week", "group", "detail"]]
        .to_dict("records") if len(events) else [],
        "clashes": {"count": int(len(clashes)),
                    "casualties": int(clashes["size"].sum()) if len(clashes) else 0},
        "militant_territory": {"peak_cells": int(militant[kp]), "peak_week": int(weeks[kp]),
                               "mean_cells": float(militant.mean()),
                               "final_cells": int(militant[-1])},
        "ungoverned_cells": {"initial": int(steps["ungoverned"].iloc[0]),
                             "final": int(steps["ungoverned"].iloc[-1]),
                             "mean": float(steps["ungoverned"].mean()),
                             "peak": int(steps["ungoverned"].max())},
        "final_fighters": {n: groups[n]["final_fighters"] for n in names},
    }


def real_units(scale, summary: dict[str, Any]) -> dict[str, Any]:
    """Figures of the summary in real units (``[scale]`` of the scenario): real fighters
    (agents x ``fighters_per_agent``), km2 (cells x ``km2_per_cell``) and calendar dates (from
    ``week0``; None without it)."""
    fpa, km2 = scale.fighters_per_agent, scale.km2_per_cell
    groups = summary["groups"]
    mt = summary["militant_territory"]
    return {
        "end_date": scale.iso(summary["weeks"]),
        "final_fighters": {n: round(g["final_fighters"] * fpa) for n, g in groups.items()},
        "peak_fighters": {n: round(g["peak_fighters"] * fpa) for n, g in groups.items()},
        "peak_fighters_date": {n: scale.iso(g["peak_fighters_week"]) for n, g in groups.items()},
        "final_territory_km2": {n: g["final_territory"] * km2 for n, g in groups.items()},
        "peak_territory_km2": {n: g["peak_territory"] * km2 for n, g in groups.items()},
        "peak_territory_date": {n: scale.iso(g["peak_territory_week"])
                                for n, g in groups.items()},
        "militant_territory_peak_km2": mt["peak_cells"] * km2,
        "militant_territory_peak_date": scale.iso(mt["peak_week"]),
        "clash_deaths": round(summary["clashes"]["casualties"] * fpa),
        "truces": [{"pair": t["pair"], "start_date": scale.iso(t["start"]),
                    "end_date": None if t["censored"] else scale.iso(t["end"]),
                    "years": round(t["duration"] / WEEKS_PER_CALENDAR_YEAR, 2), "censored": t["censored"]}
                   for t in summary["truces"]],
    }


def provenance(m: MilitantModel, wall_seconds: float) -> dict[str, Any]:
    from ..common.version import __version__

    import mesa

    return {"package": "militant-sim", "version": __version__, "mesa": mesa.__version__,
            "numpy": np.__version__, "git_commit": git_commit(),
            "seed": m.seed, "scenario": m.spec.name, "scenario_file": m.spec.file,
            "scenario_digest": m.spec.digest(), "weeks": m.week,
            "wall_seconds": round(wall_seconds, 3),
            "overrides": plain(getattr(m.spec, "overrides", {}) or {}),
            "params": dict(vars(m.p)),
            "changes": plain(getattr(m, "live_changes", [])),
            "resolved_scenario": m.spec.to_dict()}


@functools.lru_cache(maxsize=8)
def git_commit(path: str | os.PathLike | None = None) -> dict[str, Any] | None:
    """The git commit of the package's source tree and whether it was dirty, if available."""
    where = Path(path) if path else ROOT_DIR
    try:
        commit = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--", "sim"],
                               capture_output=True, text=True, timeout=5)
        return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


# =============================================================================================
# The result of a run
# =============================================================================================
@dataclass
class RunResult:
    """A run's data: ``steps`` and ``events`` frames, a ``summary`` dict and the ``maps``."""

    steps: pd.DataFrame
    events: pd.DataFrame
    summary: dict[str, Any]
    maps: dict[str, Any] = field(default_factory=dict)

    OUTPUTS = ("steps.parquet", "events.parquet", "maps.npz", "summary.json")

    @property
    def group_names(self) -> list[str]:
        return list(self.summary["groups"])

    def groups(self, var: str | None = None) -> pd.DataFrame:
        """Per-group series in long form: columns week, group, and one per variable."""
        cols = [c for c in self.steps.columns
                if (pc := parse_col(c)).kind == "group" and pc.var in GROUP_VARS]
        long = self.steps[["week"] + cols].melt(id_vars="week")
        long[["var", "group"]] = long["variable"].str.split(".", n=1, expand=True)
        wide = long.pivot_table(index=["week", "group"], columns="var", values="value").reset_index()
        wide.columns.name = None
        return wide if var is None else wide[["week", "group", var]]

    def defection_matrix(self) -> pd.DataFrame:
        """Total defections over the run, rows from, columns to."""
        names = self.group_names
        mat = pd.DataFrame(0, index=pd.Index(names, name="from"), columns=pd.Index(names, name="to"))
        for a in names:
            for b in names:
                if a != b:
                    mat.loc[a, b] = int(self.steps[directed_col("defect", a, b)].sum())
        return mat

    def save(self, out_dir: str | os.PathLike) -> Path:
        """Write the outputs into ``out_dir``; ``summary.json`` last, as the completion mark.

        Each file is written under a temporary name and renamed into place, and any old
        ``summary.json`` is removed first, so a crash never leaves a set that looks complete.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").unlink(missing_ok=True)
        atomic_write(out / "steps.parquet", lambda p: self.steps.to_parquet(p, index=False))
        atomic_write(out / "events.parquet", lambda p: self.events.to_parquet(p, index=False))
        atomic_write(out / "maps.npz", lambda p: _save_npz(p, self.maps))
        atomic_json(out / "summary.json", self.summary, default=jsonable, indent=2,
                    allow_nan=True)
        return out

    @classmethod
    def load(cls, run_dir: str | os.PathLike) -> RunResult:
        """Read a run directory written by :meth:`save`."""
        d = Path(run_dir)
        if not (d / "summary.json").is_file():
            raise FileNotFoundError(f"{d}: no summary.json; not a finished run directory")
        maps: dict[str, Any] = {}
        f = d / "summary.json"
        try:  # a missing, unreadable or damaged file is one clear error naming it
            summary = json.loads(f.read_text(encoding="utf-8"))
            if not isinstance(summary, dict):
                raise ValueError("not a run summary (a JSON object was expected)")
            if (d / "maps.npz").is_file():
                f = d / "maps.npz"
                with np.load(f) as z:
                    maps = {k: (z[k] if z[k].ndim else z[k].item()) for k in z.files}
            f = d / "steps.parquet"
            steps = pd.read_parquet(f)
            f = d / "events.parquet"
            events = pd.read_parquet(f)
        except Exception as exc:  # noqa: BLE001 - pyarrow, zipfile, json, OS errors alike
            why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise RunFolderError(f"{f}: cannot read this run file ({why}); run the scenario "
                                 "again to remake the folder") from None
        return cls(steps=steps, events=events, summary=summary, maps=maps)


class RunFolderError(ValueError):
    """A run folder's file is missing, unreadable or damaged (the message names it)."""


def _save_npz(path, maps):
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **maps)

