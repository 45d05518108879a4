"""Experiment files: parsing, validation and design expansion.

An experiment (``experiments/*.toml``) names a base scenario, constants applied to every run,
the varied parameters and how they are combined (a design), replicates, the run length, the
outcomes to keep and a master seed; optionally the hypothesis it tests. See ``docs/SWEEPS.md``.

Every problem is reported as an :class:`ExperimentError` (a :class:`~sim.core.scenario.ScenarioError`,
so the command line prints one line and exits with status 2) naming the file, the key, the value
given and what is allowed. Values of constants and varied parameters are checked against the
scenario before any run starts.

Seeds by construction: a point's key is a hash of its parameter values, and the seed of
replicate ``r`` of a point is drawn from ``SeedSequence(master_seed, spawn_key=(key, r))``.
Adding points or replicates therefore never changes the runs already made, whatever their order.

Every hypothesis states its smallest effect of interest (``min_effect``, required). A
hypothesis' ``[[...ablation]]`` tables add its control and treatment points again with a
mechanism switched off (appended after the design's points, keyed by their values like every
point, so the design's seeds do not change). Without ``replicates`` in ``[experiment]`` (or with
``replicates = "auto"``) the replicates are sized for every hypothesis to have at least 30 runs
per condition and, with a pilot ``sd``, the target power for ``min_effect``
(``docs/REPORTS.md``).
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import itertools
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.columns import steps_columns
from ..common.paths import PACKAGE_DIR
from ..common.jsonio import plain as _jsonable
from .keys import (_DESIGN_STREAM, _ENSEMBLE_STREAM, _canonical, _is_number,  # noqa: F401
                   design_seed, ensemble_seed, match_points, point_key, run_id, run_seed)
from . import outcomes as _outcomes
from ..core.params import CELL_FIELDS, GROUP_FIELDS, PARAMS
from ..core.scenario import (EVENT_KINDS, NAME_ALLOWED, ScenarioError, check_depth,
                       find_scenario_file, find_toml, load_scenario, toml_names, toml_text,
                       valid_name)
from . import power as _stats
from .power import EXPECTS as EXPECT  # the comparisons the report can test

DESIGN_KINDS = ("grid", "explicit", "lhs", "sobol", "morris")
SAMPLER_KINDS = ("lhs", "sobol", "morris")
#: what a hypothesis expects of treatment minus control (as sim.analysis.stats reads it)

_TOP_KEYS = {"experiment", "constants", "parameters", "design", "hypothesis"}
_EXPERIMENT_KEYS = {"name", "description", "scenario", "steps", "replicates", "seed",
                    "collect_every", "outcomes", "series", "power", "ensemble"}
_ENSEMBLE_KEYS = {"lhs", "sobol", "posterior", "draws", "seeds", "parameters"}
#: draws of an ensemble from a posterior when the file gives no number
ENSEMBLE_DRAWS = 30
#: global parameters an ensemble over the guessed ranges leaves alone by default: the scales
#: of the scenario's own events (knobs of the design, not mechanisms of the model), and
#: ``breakdown_war``, a structural switch of the truce rule that no shipped scenario turns
ENSEMBLE_EXCLUDED = {"steps", "max_fighters", "intervention_scale", "governance_support",
                     "breakdown_war"}
#: spawn key of the stream that draws an ensemble (LHS, Sobol, posterior)
_DESIGN_KEYS = {"kind", "samples", "levels", "second_order", "scramble"}
_RANGE_KEYS = {"low", "high", "num", "integer"}
_HYPOTHESIS_KEYS = {"id", "statement", "outcome", "control", "treatment", "expect", "min_effect",
                    "note", "also", "ablation", "sd"}
_ALSO_KEYS = {"statement", "outcome", "control", "treatment", "expect", "min_effect", "note",
              "ablation", "sd"}
_ABLATION_KEYS = {"name", "set", "carries", "part"}
#: ``experiment.replicates`` that sizes the replicates by the power of each hypothesis' test
AUTO_REPLICATES = "auto"
#: keys that cannot be constants or varied parameters (they have their own place)
_RESERVED = {"steps": "experiment.steps", "seed": "experiment.seed"}
#: spawn key of the stream that seeds the samplers (LHS, Sobol, Morris)


class ExperimentError(ScenarioError):
    """An experiment file is invalid. The message names the file, the key, the value given and
    what is allowed."""


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------
class SweepError(ExperimentError):
    """A problem with the sweep folder or the sweep's options (exit status 2)."""


@dataclass
class Parameter:
    """A varied parameter: a list of values, or a range ``[low, high]`` for the samplers."""

    key: str
    values: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    integer: bool = False

    def describe(self) -> dict[str, Any]:
        if self.values is not None:
            return {"values": list(self.values)}
        return {"low": self.low, "high": self.high, "integer": self.integer}


@dataclass
class Point:
    """One parameter combination of the design."""

    point_id: int
    key: str                     # 16 hex digits: hash of the values (stable)
    values: dict[str, Any]
    raw: dict[str, float] | None = None  # sampler value before rounding (integer parameters)
    ablation: str | None = None  # an ablation point: "ID:NAME" of the ablation that added it
    base_point: int | None = None  # ... and the design point it switches a mechanism off in


@dataclass
class RunSpec:
    """One run of the sweep: a point, a replicate and its seed."""

    run_id: str
    point_id: int
    replicate: int
    point_key: str
    seed: int
    params: dict[str, Any]
    draw: int | None = None      # with an ensemble: the parameter draw of this run


@dataclass
class Ensemble:
    """Parameter draws for the replicates of every point (``experiment.ensemble``).

    ``kind`` is ``lhs`` (a Latin hypercube over ranges), ``sobol`` (SALib's Sobol sample over
    ranges: the draws are the sample's rows, in its order) or ``posterior`` (particles drawn
    from a calibration's posterior in proportion to their weights). Each draw is run
    ``seeds`` times at every point.
    """

    kind: str
    samples: int                               # N of the sampler, or the draws
    seeds: int
    parameters: dict[str, tuple[float, float, bool]]   # key -> (low, high, integer)
    draws: list[dict[str, Any]]
    keys: list[str]                            # one per draw: hash of its values
    source: str | None = None                  # the posterior's folder
    source_fingerprint: str | None = None
    second_order: bool = False
    log: tuple[str, ...] = ()                  # keys drawn log-uniformly (lhs, sobol)

    def problem(self) -> dict[str, Any]:
        names = list(self.parameters)
        return {"num_vars": len(names), "names": names,
                "bounds": [[self.parameters[k][0], self.parameters[k][1]] for k in names]}

    def describe(self, with_draws: bool = True) -> dict[str, Any]:
        d = {"kind": self.kind, "samples": self.samples, "seeds": self.seeds,
             "n_draws": len(self.draws),
             "parameters": {k: list(v) for k, v in self.parameters.items()},
             "source": self.source, "source_fingerprint": self.source_fingerprint,
             "second_order": self.second_order, "problem": self.problem()}
        if self.log:
            d["log"] = list(self.log)
        if with_draws:
            d["draws"] = [dict(x) for x in self.draws]
            d["keys"] = list(self.keys)
        return d


def ensemble_runs(points: list[tuple[int, str, dict[str, Any]]], ens: dict[str, Any],
                  master: int) -> list[RunSpec]:
    """The runs of an ensemble sweep: for each point, each draw ``d`` and each seed ``s``,
    the run ``d * seeds + s`` with the draw's values (the point's own values win) and the seed
    of the run key, the hash of the point's values and the draw's key: seeds by construction,
    with the draw part of the key."""
    seeds = int(ens["seeds"])
    out = []
    for pid, pkey, values in points:
        for d, (dkey, dv) in enumerate(zip(ens["keys"], ens["draws"])):
            rk = point_key({**values, "#draw": dkey})
            for s in range(seeds):
                out.append(RunSpec(run_id(rk, s), pid, d * seeds + s, pkey,
                                   run_seed(master, rk, s), {**dv, **values}, draw=d))
    return out


@dataclass
class Experiment:
    """A validated experiment, with its design expanded into points."""

    file: str
    sha256: str
    text: str
    name: str
    description: str
    scenario: str                # as written in the file
    scenario_file: str           # the resolved scenario file (absolute path)
    scenario_digest: str         # digest of the scenario with the constants applied
    groups: list[str]
    steps: int
    replicates: int
    seed: int
    collect_every: int
    outcomes: list[str]
    series: list[str]
    constants: dict[str, Any]
    parameters: dict[str, Parameter]
    design: dict[str, Any]
    hypothesis: dict[str, Any] | None
    points: list[Point] = field(default_factory=list)
    scale: float | None = None
    overrides_applied: dict[str, Any] = field(default_factory=dict)
    power: float = _stats.TARGET_POWER       # the power the default replicates are sized for
    replicates_rule: str = "file"            # "power" (sized here), "file" or "--replicates"
    size_plan: list[dict[str, Any]] = field(default_factory=list)
    ensemble: Ensemble | None = None         # parameter draws for the replicates

    @property
    def design_points(self) -> list[Point]:
        """The points of the design (without the ablation points)."""
        return [p for p in self.points if p.ablation is None]

    @property
    def ablation_points(self) -> list[Point]:
        """Points added for the hypotheses' ablations (after the design's, in that order)."""
        return [p for p in self.points if p.ablation is not None]

    def size_notes(self) -> list[str]:
        """How the replicates were chosen and the power each hypothesis' test has at them."""
        if not self.size_plan:
            return []
        how = {"power": "sized by the power of each hypothesis' test (at least "
                        f"{_stats.MIN_PER_CONDITION} runs per condition)",
               "file": "as given in the experiment file",
               "--replicates": "as given by --replicates",
               "ensemble": "the ensemble's draws x seeds per draw"}.get(self.replicates_rule,
                                                             self.replicates_rule)
        lines = [f"replicates: {self.replicates} per point, {how}"]
        for e in self.size_plan:
            n_c = self.replicates * e["points_control"]
            n_t = self.replicates * e["points_treatment"]
            txt = f"  {e['id']}: {n_c} control and {n_t} treatment runs"
            if e.get("power") is not None:
                txt += (f"; power {e['power']:.2f} for min_effect {e['min_effect']:g} at the "
                        f"pilot sd {e['sd']:g} (level {_stats.ALPHA:g}/{e['family']})")
            else:
                txt += "; no pilot sd given, power reported after the runs"
            if min(n_c, n_t) < _stats.MIN_PER_CONDITION:
                txt += f" (fewer than {_stats.MIN_PER_CONDITION} per condition)"
            lines.append(txt)
        return lines

    # -- runs ------------------------------------------------------------------------------------
    @property
    def n_runs(self) -> int:
        return len(self.points) * self.replicates

    def runs(self) -> list[RunSpec]:
        """Every run of the sweep, in design order (point, then replicate)."""
        if self.ensemble is not None:
            return ensemble_runs([(p.point_id, p.key, p.values) for p in self.points],
                                 self.ensemble.describe(), self.seed)
        return [RunSpec(run_id(p.key, r), p.point_id, r, p.key, run_seed(self.seed, p.key, r),
                        dict(p.values))
                for p in self.points for r in range(self.replicates)]

    def problem(self) -> dict[str, Any] | None:
        """The SALib problem of a Sobol or Morris design (None for the others)."""
        if self.design["kind"] not in ("sobol", "morris"):
            return None
        names = list(self.parameters)
        return {"num_vars": len(names), "names": names,
                "bounds": [[self.parameters[k].low, self.parameters[k].high] for k in names]}

    # -- identity ------------------------------------------------------------------------------
    def fingerprint_parts(self) -> dict[str, Any]:
        """What makes two runs with the same point and replicate identical.

        Points and replicates are left out on purpose: a sweep may be extended with more of
        either in the same folder.
        """
        parts = {"scenario_digest": self.scenario_digest,
                 "constants": _jsonable(self.constants), "steps": self.steps, "seed": self.seed,
                 "collect_every": self.collect_every, "series": list(self.series),
                 "outcomes": list(self.outcomes)}
        if self.ensemble is not None:  # the draws (not their number of seeds) make the runs
            e = self.ensemble.describe()
            parts["ensemble"] = _jsonable({k: e[k] for k in ("kind", "samples", "parameters",
                                                             "source_fingerprint", "keys")})
        return parts

    def fingerprint(self) -> str:
        blob = json.dumps(self.fingerprint_parts(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def resolved(self) -> dict[str, Any]:
        """The experiment as recorded in the sweep's manifest."""
        return {
            "name": self.name, "description": self.description, "scenario": self.scenario,
            "scenario_file": self.scenario_file, "scenario_digest": self.scenario_digest,
            "groups": list(self.groups), "steps": self.steps, "replicates": self.replicates,
            "seed": self.seed, "collect_every": self.collect_every, "series": list(self.series),
            "outcomes": list(self.outcomes), "constants": _jsonable(self.constants),
            "parameters": {k: _jsonable(p.describe()) for k, p in self.parameters.items()},
            "design": {**self.design, "points": len(self.design_points)},
            "problem": self.problem(), "points": len(self.points), "runs": self.n_runs,
            "hypothesis": _jsonable(self.hypothesis), "scale": self.scale,
            "overrides": _jsonable(self.overrides_applied),
            "ablation_points": _jsonable([
                {"point_id": p.point_id, "point_key": p.key, "ablation": p.ablation,
                 "base_point": p.base_point, "values": p.values}
                for p in self.ablation_points]),
            "replicates_rule": self.replicates_rule, "power": self.power,
            "size_plan": _jsonable(self.size_plan),
            "ensemble": _jsonable(self.ensemble.describe()) if self.ensemble else None,
        }


# ---------------------------------------------------------------------------------------------
# Seeds and ids
# ---------------------------------------------------------------------------------------------
# ---------------------------------------------------------------------------------------------
# Finding files
# ---------------------------------------------------------------------------------------------
_PACKAGE_DIR = PACKAGE_DIR


def experiment_dirs() -> list[Path]:
    """Folders searched for experiment files given by name."""
    return [Path.cwd() / "experiments", _PACKAGE_DIR.parent / "experiments",
            _PACKAGE_DIR / "_experiments"]


def available_experiments() -> list[str]:
    """Names of the experiment files that can be given by name."""
    return toml_names(experiment_dirs())


def find_experiment_file(name: str | os.PathLike) -> Path:
    """Resolve an experiment name or path to an existing file, or raise ExperimentError."""
    return find_toml(name, experiment_dirs(), "experiment", ExperimentError)


# ---------------------------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------------------------
def load_experiment(source: str | os.PathLike | dict, *, replicates: int | None = None,
                    scale: float | None = None, steps: int | None = None) -> Experiment:
    """Read and validate an experiment file (or a dict with the same layout) and expand its
    design.

    ``replicates`` replaces the file's replicates; ``scale`` multiplies the replicates (unless
    ``replicates`` is given) and the samples of a sampler design (Sobol: rounded to a power of
    two), for full studies (``scale=4``) or quick checks (``scale=0.1``); ``steps`` replaces the
    run length (a quick check of the pipeline).
    """
    file, text, raw = _read_experiment(source)
    sha = hashlib.sha256(text.encode()).hexdigest()
    _unknown(file, "", raw, _TOP_KEYS)
    h = _experiment_header(file, raw, steps)
    ex, base = h["ex"], h["base"]
    groups = base.group_names
    clean_outs = _outcome_list(file, ex, base, h["scen"])
    series = _series_list(file, ex, h["collect"], groups)
    d = _design_table(file, raw)
    checker = _Checker(file, h["scen"], h["scen_path"], h["constants"])
    params = _parameter_tables(file, raw, d["kind"], h["constants"], base, checker)
    reps, applied = _apply_scale(file, d, h["reps"], h["auto"], replicates, scale, steps,
                                 h["n_steps"])
    exp = Experiment(
        file=file, sha256=sha, text=text, name=h["name"], description=h["desc"],
        scenario=h["scen"], scenario_file=str(h["scen_path"]), scenario_digest=base.digest(),
        groups=groups, steps=h["n_steps"], replicates=reps, seed=h["seed"],
        collect_every=h["collect"], outcomes=clean_outs, series=list(series),
        constants=dict(h["constants"]), parameters=params, design=d, hypothesis=None,
        scale=scale, overrides_applied=applied, power=float(h["target"]),
        replicates_rule="--replicates" if replicates is not None else
        ("power" if h["auto"] else "file"))
    return _finish(exp, file, raw, ex, checker, base, h["auto"], replicates, scale)


def _read_experiment(source) -> tuple[str, str, dict[str, Any]]:
    """(file name, text, parsed table) of an experiment file or dict."""
    if isinstance(source, dict):
        check_depth("<experiment>", source, ExperimentError)
        file, text, raw = "<experiment>", json.dumps(source, sort_keys=True, default=str), \
            copy.deepcopy(source)
    else:
        path = find_experiment_file(source)
        file = str(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ExperimentError(file, None, f"cannot read the file: {exc.strerror}") from None
        text = data.decode("utf-8", errors="replace")
        raw = toml_text(file, data, ExperimentError)
        check_depth(file, raw, ExperimentError)
    return file, text, raw


def _experiment_header(file: str, raw: dict[str, Any], steps: int | None) -> dict[str, Any]:
    """The [experiment] table's name, scenario, constants, seed, steps, replicates, power and
    collect_every, checked; with the scenario loaded under the constants (``base``)."""
    ex = _table(file, "experiment", raw.get("experiment"))
    if not ex:
        raise ExperimentError(file, "experiment", "missing", allowed="an [experiment] table with "
                              "at least scenario and outcomes")
    _unknown(file, "experiment.", ex, _EXPERIMENT_KEYS)
    stem = Path(file).stem if file != "<experiment>" else "experiment"
    name = ex.get("name", stem)
    if not valid_name(name):
        raise ExperimentError(file, "experiment.name", "must be a short name", name,
                              NAME_ALLOWED)
    desc = ex.get("description", "")
    if not isinstance(desc, str):
        raise ExperimentError(file, "experiment.description", "must be a string", desc)
    scen = ex.get("scenario")
    if not isinstance(scen, str) or not scen:
        raise ExperimentError(file, "experiment.scenario", "missing or not a string", scen,
                              "a scenario name or a path to a scenario file")
    if file != "<experiment>" and (scen.endswith(".toml") or "/" in scen):
        cand = Path(file).parent / scen
        scen_arg = str(cand) if cand.is_file() else scen
    else:
        scen_arg = scen
    try:
        scen_path = find_scenario_file(scen_arg).resolve()
    except ScenarioError as exc:
        raise ExperimentError(file, "experiment.scenario", "unknown scenario", scen,
                              exc.allowed) from None

    constants = _table(file, "constants", raw.get("constants"))
    for k in constants:
        if k in _RESERVED:
            raise ExperimentError(file, f'constants."{k}"', "cannot be a constant",
                                  allowed=f"set it as {_RESERVED[k]}")
    try:
        base = load_scenario(scen_path, constants or None)
    except ScenarioError as exc:
        key = exc.key or ""
        key = key[len("params."):] if key.startswith("params.") else key
        raise ExperimentError(file, f'constants."{key}"' if key in constants else "constants",
                              f"rejected by scenario {scen}: {_strip(exc)}") from None

    seed = ex.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ExperimentError(file, "experiment.seed", "must be a whole number >= 0", seed,
                              "an integer >= 0 (the master seed)")
    n_steps = ex.get("steps", base.params["steps"])
    n_steps = _int(file, "experiment.steps", n_steps, 1, f"1 to {MAX_STEPS} (weeks)", MAX_STEPS)
    if steps is not None:
        n_steps = _int(file, "--steps", steps, 1, f"1 to {MAX_STEPS} (weeks)", MAX_STEPS)
    reps_raw = ex.get("replicates", AUTO_REPLICATES if raw.get("hypothesis") is not None
                      else 1)
    auto = reps_raw == AUTO_REPLICATES
    reps = 1 if auto else _int(file, "experiment.replicates", reps_raw, 1,
                               f"1 to {MAX_RUNS:,}, or \"{AUTO_REPLICATES}\" (sized by the power "
                               "of the hypotheses' tests; the default with a [hypothesis])",
                               MAX_RUNS)
    target = ex.get("power", _stats.TARGET_POWER)
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not (
            0 < target < 1):
        raise ExperimentError(file, "experiment.power", "must be a number between 0 and 1",
                              target, "the power the default replicates are sized for, e.g. "
                              "0.8")
    collect = _int(file, "experiment.collect_every", ex.get("collect_every", 0), 0,
                   "an integer >= 0 (weeks between kept time-series rows; 0 = none)")
    return {"ex": ex, "name": name, "desc": desc, "scen": scen, "scen_path": scen_path,
            "constants": constants, "base": base, "seed": seed, "n_steps": n_steps,
            "reps": reps, "auto": auto, "target": target, "collect": collect}


def _outcome_list(file: str, ex: dict[str, Any], base, scen: str) -> list[str]:
    """The experiment's outcomes, checked against the scenario's groups and patterns."""
    groups = base.group_names
    outs = ex.get("outcomes")
    if not isinstance(outs, list) or not outs or not all(isinstance(o, str) for o in outs):
        raise ExperimentError(file, "experiment.outcomes", "must be a non-empty list of names",
                              outs, "names from 'militant-sim sweep --list-outcomes', e.g. "
                              '["clash_rate", "final_fighters:GROUP"]')
    clean_outs = []
    pattern_ids = [p.id for p in base.patterns]
    for o in outs:
        if isinstance(o, str) and _outcomes.is_pattern(o):
            pid = _outcomes.pattern_id(o)
            if pid not in pattern_ids:
                raise ExperimentError(file, "experiment.outcomes", "not a pattern of scenario "
                                      f"{scen}", o, ", ".join(
                                          f"pattern:{i}, pattern_miss:{i}" for i in pattern_ids)
                                      or "(the scenario declares no [[patterns]])")
            if o.strip() in clean_outs:
                raise ExperimentError(file, "experiment.outcomes", "listed twice", o)
            clean_outs.append(o.strip())
            continue
        try:
            _outcomes.parse(o, groups)
        except _outcomes.OutcomeError as exc:
            raise ExperimentError(file, "experiment.outcomes", exc.problem, o,
                                  exc.allowed) from None
        if o.strip() in clean_outs:
            raise ExperimentError(file, "experiment.outcomes", "listed twice", o)
        clean_outs.append(o.strip())
    return clean_outs


def _series_list(file: str, ex: dict[str, Any], collect: int, groups: list[str]) -> list[str]:
    """The globs of the steps columns a sweep keeps, checked."""
    series = ex.get("series", ["*"] if collect > 0 else [])
    if not isinstance(series, list) or not all(isinstance(s, str) and s for s in series):
        raise ExperimentError(file, "experiment.series", "must be a list of column patterns",
                              series, 'globs over the steps columns, e.g. ["fighters.*", '
                              '"defect.*"]')
    if series and collect == 0:
        raise ExperimentError(file, "experiment.series", "needs experiment.collect_every > 0",
                              series, "set collect_every (weeks between rows), or drop series")
    columns = steps_columns(groups)
    for s in series:
        if not fnmatch.filter(columns, s):
            raise ExperimentError(file, "experiment.series", "matches no column", s,
                                  "globs over: " + ", ".join(columns[:12]) + ", ...")
    return series


def _design_table(file: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The [design] table, checked: its kind and the options of that kind."""
    design = _table(file, "design", raw.get("design"))
    _unknown(file, "design.", design, _DESIGN_KEYS)
    kind = design.get("kind", "grid")
    if kind not in DESIGN_KINDS:
        raise ExperimentError(file, "design.kind", "unknown design", kind, ", ".join(DESIGN_KINDS))
    d: dict[str, Any] = {"kind": kind}
    if kind in SAMPLER_KINDS:
        if "samples" not in design:
            raise ExperimentError(file, "design.samples", f"missing for design '{kind}'",
                                  allowed={"lhs": "the number of points",
                                           "sobol": "N, a power of two (runs N x (D + 2), or "
                                           "N x (2D + 2) with second_order)",
                                           "morris": "the number of trajectories (N x (D + 1) "
                                           "points)"}[kind])
        n = _int(file, "design.samples", design["samples"], 1, f"1 to {MAX_RUNS:,}", MAX_RUNS)
        if kind == "sobol" and n & (n - 1):
            raise ExperimentError(file, "design.samples", "must be a power of two for Sobol",
                                  n, "2, 4, 8, 16, 32, 64, ...")
        if kind == "lhs" and n < 2:
            raise ExperimentError(file, "design.samples", "too few points", n, "at least 2")
        d["samples"] = n
    elif "samples" in design:
        raise ExperimentError(file, "design.samples", f"not used by design '{kind}'",
                              design["samples"], "only with lhs, sobol or morris")
    if kind == "morris":
        lv = _int(file, "design.levels", design.get("levels", 4), 2, "an even integer >= 2")
        if lv % 2:
            raise ExperimentError(file, "design.levels", "must be even", lv, "4, 6, 8, ...")
        d["levels"] = lv
    elif "levels" in design:
        raise ExperimentError(file, "design.levels", "only for design 'morris'", design["levels"])
    for bkey, kinds, default in (("second_order", ("sobol",), False),
                                 ("scramble", ("sobol", "lhs"), True)):
        if bkey in design:
            if kind not in kinds:
                raise ExperimentError(file, f"design.{bkey}", f"not used by design '{kind}'",
                                      design[bkey], "only with " + " or ".join(kinds))
            if not isinstance(design[bkey], bool):
                raise ExperimentError(file, f"design.{bkey}", "must be true or false",
                                      design[bkey])
        if kind in kinds:
            d[bkey] = design.get(bkey, default)
    return d


def _parameter_tables(file: str, raw: dict[str, Any], kind: str, constants: dict[str, Any],
                      base, checker: _Checker) -> dict[str, Parameter]:
    """The [parameters] tables, lists of values or ranges, checked against the scenario."""
    praw = _table(file, "parameters", raw.get("parameters"))
    params: dict[str, Parameter] = {}
    for key, spec in praw.items():
        where = f'parameters."{key}"'
        if key in _RESERVED:
            raise ExperimentError(file, where, "cannot be varied here",
                                  allowed=f"set {_RESERVED[key]} (one value per experiment)")
        if key in constants:
            raise ExperimentError(file, where, "is also a constant",
                                  allowed="either [constants] or [parameters], not both")
        ptype = param_type(key, base.raw)
        if isinstance(spec, list):
            if kind in SAMPLER_KINDS:
                raise ExperimentError(file, where, f"a list of values cannot be sampled by "
                                      f"design '{kind}'", spec, "a range: { low = A, high = B }")
            if not spec:
                raise ExperimentError(file, where, "empty list", spec, "one or more values")
            values = [_normalise(file, where, v, ptype) for v in spec]
            if kind == "grid" and len({json.dumps(_canonical(v)) for v in values}) != len(values):
                raise ExperimentError(file, where, "a value is listed twice", spec,
                                      "distinct values")
            for v in values:
                checker.check(key, v, where)
            params[key] = Parameter(key, values=values)
        elif isinstance(spec, dict):
            _unknown(file, where + ".", spec, _RANGE_KEYS)
            lo, hi = spec.get("low"), spec.get("high")
            for nm, v in (("low", lo), ("high", hi)):
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise ExperimentError(file, f"{where}.{nm}", "missing or not a number", v,
                                          "a number")
            if not lo < hi:
                raise ExperimentError(file, where, "low must be below high", [lo, hi],
                                      "low < high")
            integer = spec.get("integer", ptype is int)
            if not isinstance(integer, bool):
                raise ExperimentError(file, f"{where}.integer", "must be true or false", integer)
            if ptype is not None and ptype not in (int, float):
                raise ExperimentError(file, where, "a range needs a numeric parameter",
                                      spec, "a list of values")
            if kind == "explicit":
                raise ExperimentError(file, where, "design 'explicit' needs lists of values",
                                      spec, "a list (one value per point)")
            if kind == "grid":
                if "num" not in spec:
                    raise ExperimentError(file, f"{where}.num", "a range in a grid needs num",
                                          allowed="num = number of evenly spaced values (>= 2),"
                                          " or a list of values")
                num = _int(file, f"{where}.num", spec["num"], 2, f"2 to {MAX_RUNS:,}", MAX_RUNS)
                vals = np.linspace(lo, hi, num)
                values = (sorted({int(round(v)) for v in vals}) if integer
                          else [float(v) for v in vals])
                values = [_normalise(file, where, v, ptype) for v in values]
                # the values lie between the first and the last: checking those suffices
                for v in (values if len(values) <= 100 else [values[0], values[-1]]):
                    checker.check(key, v, where)
                params[key] = Parameter(key, values=values)
            else:
                if "num" in spec:
                    raise ExperimentError(file, f"{where}.num", f"not used by design '{kind}'",
                                          spec["num"], "set design.samples instead")
                for v in (lo, hi):
                    checker.check(key, _normalise(file, where, int(round(v)) if integer else
                                                  float(v), ptype), where)
                params[key] = Parameter(key, low=float(lo), high=float(hi), integer=integer)
        else:
            raise ExperimentError(file, where, "must be a list of values or a range table",
                                  spec, "[v1, v2, ...] or { low = A, high = B }")
    if kind in SAMPLER_KINDS and not params:
        raise ExperimentError(file, "parameters", f"design '{kind}' needs ranges to sample",
                              allowed='[parameters."KEY"] low = A, high = B')
    if kind == "explicit":
        lens = {k: len(p.values) for k, p in params.items()}
        if len(set(lens.values())) > 1:
            raise ExperimentError(file, "parameters", "design 'explicit' needs lists of the "
                                  "same length (point i takes the i-th value of each)", lens)
    return params


def _apply_scale(file: str, d: dict[str, Any], reps: int, auto: bool, replicates, scale,
                 steps, n_steps: int) -> tuple[int, dict[str, Any]]:
    """The replicates and the design's samples after ``--scale`` and ``--replicates``, and the
    overrides applied."""
    kind = d["kind"]
    applied: dict[str, Any] = {}
    if scale is not None:
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise ExperimentError(file, "--scale", "must be a number > 0", scale)
        applied["scale"] = scale
        if replicates is None and not auto:
            reps = max(1, math.ceil(reps * scale - 1e-9))
        if kind in SAMPLER_KINDS:
            n = d["samples"] * scale
            if kind == "sobol":
                d["samples"] = int(2 ** max(0, round(math.log2(max(n, 1)))))
            else:
                d["samples"] = max(2, math.ceil(n - 1e-9))
    if replicates is not None:
        reps = _int(file, "--replicates", replicates, 1, f"1 to {MAX_RUNS:,}", MAX_RUNS)
        applied["replicates"] = reps
    if steps is not None:
        applied["steps"] = n_steps
    return reps, applied


def _finish(exp: Experiment, file: str, raw: dict[str, Any], ex: dict[str, Any], checker,
            base, auto: bool, replicates, scale) -> Experiment:
    """The ensemble, the points, the hypothesis and the replicates sized by power."""
    if ex.get("ensemble") is not None:
        exp.ensemble = _ensemble(file, ex["ensemble"], exp, raw, checker, base,
                                 replicates=replicates, reps_given="replicates" in ex,
                                 scale=scale)
        exp.replicates = len(exp.ensemble.draws) * exp.ensemble.seeds
        exp.replicates_rule = "ensemble"
        auto = False
    check_size(exp)
    exp.points = expand(exp)
    exp.hypothesis = _hypothesis(file, raw.get("hypothesis"), exp, checker, base.raw)
    if exp.ensemble is not None:
        # a posterior draw is one joint parameter set: an ablation point overrides the part
        # it switches off (its values win in ensemble_runs); a sampler's ranges must be free
        pts = [p for p in exp.points
               if not (exp.ensemble.kind == "posterior" and p.ablation is not None)]
        taken = {k for p in pts for k in p.values} & set(exp.ensemble.parameters)
        if taken:
            k = sorted(taken)[0]
            raise ExperimentError(file, "experiment.ensemble.parameters", "is also set by the "
                                  "design or an ablation", k, "parameters the experiment "
                                  "leaves alone")
    exp.size_plan = size_plan(exp)
    if auto and replicates is None:
        reps = max([1] + [e["replicates"] for e in exp.size_plan])
        if scale is not None:
            reps = max(1, math.ceil(reps * scale - 1e-9))
        exp.replicates = reps
    _plan_power(exp)
    return exp


def size_plan(exp: Experiment) -> list[dict[str, Any]]:
    """Per hypothesis (the main one and each ``also``): the points each condition pools and
    the replicates per point that give at least ``MIN_PER_CONDITION`` runs per condition and,
    with a pilot ``sd``, the target power for ``min_effect`` at the level alpha / k (k
    hypotheses: the Bonferroni level, the strictest step of Holm's correction)."""
    h = exp.hypothesis
    if not h:
        return []
    items = [(str(h.get("id") or "H"), h)] + [
        (f"{h.get('id') or 'H'}.{chr(ord('a') + i)}", a) for i, a in enumerate(h["also"])]
    k = len(items)
    out = []
    for hid, c in items:
        pc, pt = len(c["control_point_ids"]), len(c["treatment_point_ids"])
        floor = math.ceil(_stats.MIN_PER_CONDITION / min(pc, pt))
        sd = c.get("sd")
        need = None
        if sd is not None:
            need = _stats.replicates_for_power(float(c["min_effect"]), float(sd), pc, pt,
                                               expect=c["expect"], family=k, power=exp.power)
        out.append({"id": hid, "outcome": c["outcome"], "expect": c["expect"],
                    "min_effect": float(c["min_effect"]), "sd": sd, "family": k,
                    "points_control": pc, "points_treatment": pt, "replicates_floor": floor,
                    "replicates_power": need,
                    "replicates": max(floor, need or 0)})
    return out


def _plan_power(exp: Experiment) -> None:
    """The power of each planned test at the replicates chosen (with a pilot sd)."""
    for e in exp.size_plan:
        if e.get("sd") is None:
            e["power"] = None
            continue
        e["power"] = _stats.welch_power(
            e["min_effect"], float(e["sd"]), float(e["sd"]),
            exp.replicates * e["points_control"], exp.replicates * e["points_treatment"],
            expect=e["expect"], family=e["family"])


class _Checker:
    """Checks a parameter value against the scenario (cached)."""

    def __init__(self, file, scen_name, scen_path, constants):
        self.file, self.name, self.path, self.constants = file, scen_name, scen_path, constants
        self.seen: set[tuple[str, str]] = set()

    def check(self, key: str, value: Any, where: str) -> None:
        tag = (key, json.dumps(_canonical(value)))
        if tag in self.seen:
            return
        try:
            load_scenario(self.path, {**self.constants, key: value})
        except ScenarioError as exc:
            raise ExperimentError(self.file, where, f"rejected by scenario {self.name}: "
                                  f"{_strip(exc)}") from None
        self.seen.add(tag)


def _strip(exc: ScenarioError) -> str:
    """A scenario error's message without its leading file name."""
    msg = str(exc)
    prefix = f"{exc.file}: "
    return msg[len(prefix):] if msg.startswith(prefix) else msg


def _hypothesis(file, h, exp: Experiment, checker: _Checker | None = None,
                scenario_raw: dict[str, Any] | None = None) -> dict[str, Any] | None:
    if h is None:
        return None
    h = _table(file, "hypothesis", h)
    _unknown(file, "hypothesis.", h, _HYPOTHESIS_KEYS)
    out = {k: v for k, v in h.items() if k not in ("also", "ablation")}
    for k in ("id", "statement"):
        if k in h and not isinstance(h[k], str):
            raise ExperimentError(file, f"hypothesis.{k}", "must be a string", h[k])
    hid = str(h.get("id") or "H")
    out.update(_contrast(file, "hypothesis", h, exp))
    out["ablation"] = _ablations(file, "hypothesis", h, out, exp, checker, scenario_raw, hid)
    also = h.get("also", [])
    if not isinstance(also, list):
        raise ExperimentError(file, "hypothesis.also", "must be an array of tables", also,
                              "[[hypothesis.also]] outcome = ..., control = ..., ...")
    out["also"] = []
    for i, a in enumerate(also):
        where = f"hypothesis.also[{i}]"
        a = _table(file, where, a)
        _unknown(file, where + ".", a, _ALSO_KEYS)
        entry = {k: v for k, v in a.items() if k != "ablation"}
        entry.update(_contrast(file, where, a, exp))
        entry["ablation"] = _ablations(file, where, a, entry, exp, checker, scenario_raw,
                                       f"{hid}.{chr(ord('a') + i)}")
        out["also"].append(entry)
    return out


def _ablations(file, where, h, contrast: dict[str, Any], exp: Experiment,
               checker: _Checker | None, scenario_raw: dict[str, Any] | None,
               hid: str) -> list[dict[str, Any]]:
    """Check a contrast's ``[[...ablation]]`` tables and add their points to the design.

    Each ablation gives the contrast's control and treatment points again with its ``set``
    applied. An ablated point is keyed, like every point, by the hash of its values (which
    include the ablation's), so its seeds are by construction and the design's points, keys
    and seeds are unchanged; an ablated point equal to a point already in the design is that
    point.
    """
    items = h.get("ablation", [])
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise ExperimentError(file, f"{where}.ablation", "must be an array of tables", items,
                              f'[[{where}.ablation]] name = "...", set = {{ KEY = value }}, '
                              'carries = "..."')
    out, names = [], set()
    compared = set(h.get("control") or {}) | set(h.get("treatment") or {})
    for j, a in enumerate(items):
        aw = f"{where}.ablation[{j}]"
        a = _table(file, aw, a)
        _unknown(file, aw + ".", a, _ABLATION_KEYS)
        name = a.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ExperimentError(file, f"{aw}.name", "missing or not a short name", name,
                                  "letters, digits, '_', '-' and '.', e.g. \"no_incidents\"")
        if name in names:
            raise ExperimentError(file, f"{aw}.name", "listed twice in this hypothesis", name)
        names.add(name)
        carries = a.get("carries", "")
        if not isinstance(carries, str):
            raise ExperimentError(file, f"{aw}.carries", "must be a string", carries,
                                  "the mechanism the ablation switches off, in words")
        part = a.get("part", False)
        if not isinstance(part, bool):
            raise ExperimentError(file, f"{aw}.part", "must be true or false", part,
                                  "true when the ablation cuts one of several chains that each "
                                  "carry the effect")
        spec = a.get("set")
        if not isinstance(spec, dict) or not spec:
            raise ExperimentError(file, f"{aw}.set", "missing or not a table", spec,
                                  "{ KEY = value, ... }: parameters or dotted scenario paths "
                                  "that switch the mechanism off")
        clean: dict[str, Any] = {}
        for k, v in spec.items():
            kw = f'{aw}.set."{k}"'
            if k in _RESERVED:
                raise ExperimentError(file, kw, "cannot be set by an ablation",
                                      allowed=f"{_RESERVED[k]} is one value per experiment")
            if k in compared:
                raise ExperimentError(file, kw, "is what the hypothesis compares", v,
                                      "a parameter of the mechanism, not the contrast's own "
                                      "knob (control and treatment would become the same)")
            ptype = param_type(k, scenario_raw or {}) if scenario_raw is not None else None
            v = _normalise(file, kw, v, ptype)
            if checker is not None:
                checker.check(k, v, kw)
            clean[k] = v
        entry = {"name": name, "set": clean, "carries": carries, "part": part}
        for side in ("control", "treatment"):
            entry[f"{side}_point_ids"] = _ablated_points(exp, contrast[f"{side}_point_ids"],
                                                         clean, f"{hid}:{name}")
        if set(entry["control_point_ids"]) & set(entry["treatment_point_ids"]):
            raise ExperimentError(file, f"{aw}.set", "makes control and treatment the same "
                                  "points", clean, "a setting that leaves the contrast's knob "
                                  "alone")
        out.append(entry)
    return out


def _ablated_points(exp: Experiment, ids: list[int], values: dict[str, Any],
                    label: str) -> list[int]:
    """The ids of the points ``ids`` with ``values`` applied, appending new points."""
    by_key = {p.key: p.point_id for p in exp.points}
    out: list[int] = []
    for pid in ids:
        base = exp.points[pid]
        vals = {**base.values, **values}
        key = point_key(vals)
        if key not in by_key:
            p = Point(len(exp.points), key, vals, None, ablation=label, base_point=pid)
            exp.points.append(p)
            by_key[key] = p.point_id
        if by_key[key] not in out:
            out.append(by_key[key])
    return out


def _contrast(file, where, h, exp: Experiment) -> dict[str, Any]:
    """Check a control/treatment contrast and resolve the points it names."""
    res: dict[str, Any] = {}
    o = h.get("outcome")
    if o is None:
        raise ExperimentError(file, f"{where}.outcome", "missing",
                              allowed="one of experiment.outcomes: " + ", ".join(exp.outcomes))
    if o not in exp.outcomes:
        raise ExperimentError(file, f"{where}.outcome", "not among experiment.outcomes", o,
                              ", ".join(exp.outcomes))
    expect = h.get("expect")
    if expect not in EXPECT:
        raise ExperimentError(file, f"{where}.expect", "missing or unknown", expect,
                              ", ".join(EXPECT))
    unit = _outcome_unit(o, exp.groups)
    allowed = ("the smallest effect of interest: a finite number > 0 in the outcome's units ("
               + unit + ")" + (", the equivalence margin" if expect == "equivalent" else ""))
    if "min_effect" not in h:
        raise ExperimentError(file, f"{where}.min_effect", "missing: every hypothesis states "
                              "the smallest effect of interest", allowed=allowed)
    try:
        _stats.check_min_effect(h["min_effect"])
    except ValueError:
        raise ExperimentError(file, f"{where}.min_effect", "must be a finite number > 0",
                              h["min_effect"], allowed) from None
    if "sd" in h:
        sd = h["sd"]
        if isinstance(sd, bool) or not isinstance(sd, (int, float)) or not math.isfinite(sd) \
                or sd <= 0:
            raise ExperimentError(file, f"{where}.sd", "must be a finite number > 0", sd,
                                  "the outcome's standard deviation within a condition (from a "
                                  f"pilot sweep), in its units ({unit}), to size the replicates")
    if "statement" in h and not isinstance(h["statement"], str):
        raise ExperimentError(file, f"{where}.statement", "must be a string", h["statement"])
    for side in ("control", "treatment"):
        spec = h.get(side)
        if not isinstance(spec, dict) or not spec:
            raise ExperimentError(file, f"{where}.{side}", "missing or not a table", spec,
                                  '{ "KEY" = value, ... } naming varied parameters')
        for k, v in spec.items():
            if k not in exp.parameters:
                raise ExperimentError(file, f'{where}.{side}."{k}"', "not a varied parameter",
                                      v, ", ".join(exp.parameters) or "(none varied)")
        ids = match_points(exp.design_points, spec)
        if not ids:
            raise ExperimentError(file, f"{where}.{side}", "no point of the design has these "
                                  "values", spec, "values that the design contains")
        res[f"{side}_point_ids"] = ids
    if set(res["control_point_ids"]) & set(res["treatment_point_ids"]):
        raise ExperimentError(file, where, "control and treatment share points",
                              {"control": h["control"], "treatment": h["treatment"]},
                              "two different settings")
    return res


def _outcome_unit(name: str, groups: list[str]) -> str:
    try:
        o, _ = _outcomes.parse(name, groups)
        return o.unit
    except Exception:  # noqa: BLE001 - checked elsewhere; only for a message
        return "-"


# ---------------------------------------------------------------------------------------------
# Designs
# ---------------------------------------------------------------------------------------------
def expand(exp: Experiment) -> list[Point]:
    """The points of the design, in design order (SALib's sample order for Sobol and Morris)."""
    kind = exp.design["kind"]
    keys = list(exp.parameters)
    raws: list[dict[str, float] | None]
    if not keys:
        rows: list[dict[str, Any]] = [{}]
        raws = [None]
    elif kind == "grid":
        rows = [dict(zip(keys, combo)) for combo in
                itertools.product(*[exp.parameters[k].values for k in keys])]
        raws = [None] * len(rows)
    elif kind == "explicit":
        rows = [dict(zip(keys, combo)) for combo in
                zip(*[exp.parameters[k].values for k in keys])]
        raws = [None] * len(rows)
    else:
        X = sample_matrix(exp)
        rows, raws = [], []
        for x in X:
            vals, raw = {}, {}
            for k, v in zip(keys, x):
                p = exp.parameters[k]
                raw[k] = float(v)
                vals[k] = int(round(float(v))) if p.integer else float(v)
            rows.append(vals)
            raws.append(raw if any(exp.parameters[k].integer for k in keys) else None)
    seen: dict[str, int] = {}
    points = []
    for i, (vals, raw) in enumerate(zip(rows, raws)):
        base = point_key(vals)
        occ = seen.get(base, 0)
        seen[base] = occ + 1
        points.append(Point(i, point_key(vals, occ), vals, raw))
    return points


def sample_matrix(exp: Experiment) -> np.ndarray:
    """The sampler's matrix of points (rows) over the varied parameters (columns)."""
    kind = exp.design["kind"]
    keys = list(exp.parameters)
    lo = np.array([exp.parameters[k].low for k in keys])
    hi = np.array([exp.parameters[k].high for k in keys])
    n = exp.design["samples"]
    seed = design_seed(exp.seed)
    if kind == "lhs":
        from scipy.stats import qmc

        lhs = qmc.LatinHypercube(d=len(keys), scramble=exp.design.get("scramble", True),
                                 rng=np.random.default_rng(seed))
        return qmc.scale(lhs.random(n), lo, hi)
    problem = exp.problem()
    if kind == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, n, calc_second_order=exp.design["second_order"],
                            scramble=exp.design.get("scramble", True), seed=seed)
    from SALib.sample import morris

    return morris.sample(problem, n, num_levels=exp.design["levels"], seed=seed)


# ---------------------------------------------------------------------------------------------
# Ensembles
# ---------------------------------------------------------------------------------------------
def guessed_parameters() -> dict[str, tuple[float, float, bool]]:
    """The global parameters whose value is a guess (``source = "guess"`` in sim.core.params),
    with their ranges: the default parameters of ``ensemble = { lhs = N }``. Options that are
    off as shipped (a ``neutral`` value, such as ``levy_rate``) are left out with
    ENSEMBLE_EXCLUDED: drawing them would add a mechanism, not vary one; so are their settings
    (``needs``, such as ``supply_ratio``), which change nothing while the option is off."""
    out = {}
    for p in PARAMS.values():
        if (p.source == "guess" and p.kind in (int, float) and p.low is not None
                and p.high is not None and p.name not in ENSEMBLE_EXCLUDED
                and p.neutral is None and p.needs is None):
            out[p.name] = (float(p.low), float(p.high), p.kind is int)
    return out


def _ensemble_params(file, where, spec, exp: Experiment, base
                     ) -> tuple[dict[str, tuple], set[str]]:
    """The parameters an ensemble draws, key -> (low, high, integer), and the keys among them
    drawn log-uniformly (a range given as ``{ low, high, prior = "loguniform" }``)."""
    fixed = set(exp.constants) | set(exp.parameters)
    if spec is None:
        return {k: v for k, v in guessed_parameters().items() if k not in fixed}, set()
    if isinstance(spec, list):
        spec = {k: None for k in spec} if all(isinstance(k, str) for k in spec) else None
    if not isinstance(spec, dict) or not spec:
        raise ExperimentError(file, where, "must be a list of parameters or a table of ranges",
                              spec, '["clash_kappa", ...] or { clash_kappa = [0.0, 0.2] }')
    out = {}
    log: set[str] = set()
    for k, rng in spec.items():
        kw = f'{where}."{k}"'
        if k in _RESERVED or k in ENSEMBLE_EXCLUDED - {"intervention_scale",
                                                        "governance_support"}:
            raise ExperimentError(file, kw, "cannot be drawn", k, "a model parameter")
        if k in fixed:
            raise ExperimentError(file, kw, "is a constant or a varied parameter of the "
                                  "experiment", k, "parameters the experiment leaves alone")
        ptype = param_type(k, base.raw)
        if ptype not in (int, float):
            raise ExperimentError(file, kw, "not a numeric parameter" if ptype else
                                  "unknown parameter", k, "a numeric parameter of sim.core.params "
                                  "or a dotted scenario key of a number")
        lo = hi = None
        if k in PARAMS:
            lo, hi = PARAMS[k].low, PARAMS[k].high
        if isinstance(rng, dict):  # { low = A, high = B, prior = "loguniform" }
            _unknown(file, kw + ".", rng, {"low", "high", "prior"})
            prior = rng.get("prior", "uniform")
            if prior not in ("uniform", "loguniform"):
                raise ExperimentError(file, f"{kw}.prior", "unknown prior", prior,
                                      '"uniform" or "loguniform"')
            if prior == "loguniform":
                log.add(k)
            if ("low" in rng) != ("high" in rng):
                raise ExperimentError(file, kw, "give both low and high, or neither (the "
                                      "range of sim.core.params)", rng,
                                      "{ low = A, high = B, prior = ... } or { prior = ... }")
            rng = [rng["low"], rng["high"]] if "low" in rng else None
        if rng is not None:
            if (not isinstance(rng, list) or len(rng) != 2 or not all(
                    isinstance(x, (int, float)) and not isinstance(x, bool)
                    and math.isfinite(x) for x in rng)):
                raise ExperimentError(file, kw, "must be a range [low, high]", rng,
                                      "two finite numbers, or { low = A, high = B, prior = "
                                      '"uniform" or "loguniform" }')
            lo, hi = float(rng[0]), float(rng[1])
        if lo is None or hi is None:
            raise ExperimentError(file, kw, "needs a range: sim.core.params gives none", k,
                                  "[low, high]")
        if not lo < hi:
            raise ExperimentError(file, kw, "low must be below high", [lo, hi], "low < high")
        if k in log and not lo > 0:
            raise ExperimentError(file, kw, "a log-uniform range must be above zero",
                                  [lo, hi], "0 < low < high")
        out[k] = (float(lo), float(hi), ptype is int)
    return out, log


def find_posterior(file, where, source: str) -> Path:
    """A calibration folder named in an experiment: as given, beside the experiment file,
    or in the project folder."""
    cands = [Path(source)]
    if file != "<experiment>":
        cands += [Path(file).parent / source, Path(file).parent.parent / source]
    cands.append(_PACKAGE_DIR.parent / source)
    for c in cands:
        if (c / "posterior.parquet").is_file():
            return c.resolve()
    raise ExperimentError(file, where, "no calibration posterior there", source,
                          "a folder written by 'militant-sim calibrate' (with posterior.parquet)"
                          ", e.g. \"calibrations/core\"")


def _ensemble(file, spec, exp: Experiment, raw, checker, base, *, replicates, reps_given,
              scale) -> Ensemble:
    where = "experiment.ensemble"
    if isinstance(spec, str):
        spec = {"posterior": spec}
    if not isinstance(spec, dict):
        raise ExperimentError(file, where, "must be a table or a calibration folder", spec,
                              '{ lhs = N }, { sobol = N }, "calibrations/NAME" or { posterior '
                              '= "calibrations/NAME", draws = N }', has_value=True)
    _unknown(file, where + ".", spec, _ENSEMBLE_KEYS)
    kinds = [k for k in ("lhs", "sobol", "posterior") if k in spec]
    if len(kinds) != 1:
        raise ExperimentError(file, where, "give exactly one of lhs, sobol or posterior", spec,
                              '{ lhs = N }, { sobol = N } or { posterior = "calibrations/NAME" '
                              "}")
    kind = kinds[0]
    if reps_given:
        raise ExperimentError(file, "experiment.replicates", "is set by the ensemble",
                              raw["experiment"]["replicates"], "leave it out: each point runs "
                              "every draw ensemble.seeds times")
    seeds = _int(file, f"{where}.seeds", spec.get("seeds", 1), 1,
                 "runs of each draw at each point (default 1)", MAX_RUNS)
    if replicates is not None:  # --replicates: seeds per draw
        seeds = _int(file, "--replicates", replicates, 1, "seeds per draw", MAX_RUNS)
    rng = np.random.default_rng(ensemble_seed(exp.seed))
    if kind == "posterior":
        if "parameters" in spec:
            raise ExperimentError(file, f"{where}.parameters", "not used with a posterior",
                                  spec["parameters"], "the posterior's own parameters")
        ens = _posterior_draws(file, where, spec, exp, base, rng, seeds, scale)
    else:
        ens = _sampled_draws(file, where, spec, kind, exp, checker, base, rng, seeds, scale)
    seen: dict[str, int] = {}
    for d in ens.draws:
        k0 = point_key(d)
        occ = seen.get(k0, 0)
        seen[k0] = occ + 1
        ens.keys.append(point_key(d, occ))
    if len(ens.draws) * seeds > MAX_RUNS:
        raise ExperimentError(file, where, "too many runs per point",
                              f"{len(ens.draws)} draws x {seeds} seeds", f"at most {MAX_RUNS:,}")
    return ens



def _posterior_draws(file, where, spec, exp: Experiment, base, rng, seeds, scale) -> Ensemble:
    """An ensemble of draws from a calibration's posterior (by its weights): each draw a
    particle's values of every parameter the posterior has, less the experiment's constants
    and varied parameters; an ablation point's own values win over the draw (the rest of the
    draw stays the particle's, so design and ablation points share one parameterisation)."""
    src = spec["posterior"]
    if not isinstance(src, str) or not src:
        raise ExperimentError(file, f"{where}.posterior", "must be a folder", src,
                              '"calibrations/NAME"')
    folder = find_posterior(file, f"{where}.posterior", src)
    n = _int(file, f"{where}.draws", spec.get("draws", ENSEMBLE_DRAWS), 1,
             "draws from the posterior", MAX_RUNS)
    if scale is not None:
        n = max(1, math.ceil(n * scale - 1e-9))
    import pandas as pd

    post = pd.read_parquet(folder / "posterior.parquet")
    man = json.loads((folder / "manifest.json").read_text())
    priors = (man.get("calibration") or {}).get("priors") or []
    cols, params = {}, {}
    scen_name = base.name
    for pr in priors:
        if pr.get("scenario") not in (None, scen_name):
            continue
        key, col = pr["key"], pr["name"]
        if key in exp.constants or key in exp.parameters:
            continue  # the experiment sets it
        cols[key] = col
        params[key] = (float(pr["low"]), float(pr["high"]), bool(pr.get("integer")))
    if not cols:
        raise ExperimentError(file, f"{where}.posterior", "the posterior has no parameter "
                              f"this experiment can draw (scenario {scen_name})", src)
    w = post["weight"].to_numpy(dtype=float)
    idx = rng.choice(len(post), size=n, replace=True, p=w / w.sum())
    draws = []
    for i in idx:
        d = {}
        for key, col in cols.items():
            v = float(post[col].iloc[int(i)])
            d[key] = int(round(v)) if params[key][2] else v
        draws.append(d)
    ens = Ensemble("posterior", n, seeds, params, draws, [], str(folder),
                   str(man.get("fingerprint")))
    return ens


def _sampled_draws(file, where, spec, kind, exp: Experiment, checker, base, rng, seeds,
                   scale) -> Ensemble:
    """An ensemble of draws by Latin hypercube or Sobol sampling of parameter ranges."""
    params, log = _ensemble_params(file, f"{where}.parameters", spec.get("parameters"), exp,
                                   base)
    if not params:
        raise ExperimentError(file, f"{where}.parameters", "no parameter left to draw",
                              allowed="parameters the experiment does not fix")
    n = _int(file, f"{where}.{kind}", spec[kind], 1 if kind == "sobol" else 2,
             "the number of draws (lhs) or Sobol's N, a power of two (sobol)", MAX_RUNS)
    if kind == "sobol" and n & (n - 1):
        raise ExperimentError(file, f"{where}.sobol", "must be a power of two", n,
                              "2, 4, 8, 16, ... (N x (D + 2) draws)")
    if scale is not None:
        x = n * scale
        n = (int(2 ** max(0, round(math.log2(max(x, 1))))) if kind == "sobol"
             else max(2, math.ceil(x - 1e-9)))
    if "draws" in spec:
        raise ExperimentError(file, f"{where}.draws", f"not used with {kind}",
                              spec["draws"], f"{kind} = N sets the draws")
    names = list(params)
    # a log-uniform parameter is sampled on log10 of its value (uniform there) and returned
    is_log = np.array([k in log for k in names], dtype=bool)
    lo = np.array([params[k][0] for k in names], dtype=float)
    hi = np.array([params[k][1] for k in names], dtype=float)
    lo[is_log], hi[is_log] = np.log10(lo[is_log]), np.log10(hi[is_log])
    if kind == "lhs":
        from scipy.stats import qmc

        X = qmc.scale(qmc.LatinHypercube(d=len(names), rng=rng).random(n), lo, hi)
    else:
        from SALib.sample import sobol as sobol_sample

        prob = {"num_vars": len(names), "names": names,
                "bounds": [[float(a), float(b)] for a, b in zip(lo, hi)]}
        if (len(names) + 2) * n > MAX_RUNS:
            raise ExperimentError(file, f"{where}.sobol", "too many draws",
                                  f"{n} x ({len(names)} + 2)", f"at most {MAX_RUNS:,}")
        X = sobol_sample.sample(prob, n, calc_second_order=False, scramble=True,
                                seed=ensemble_seed(exp.seed))
    X = np.asarray(X, dtype=float)
    X[:, is_log] = np.clip(10.0 ** X[:, is_log], [params[k][0] for k in names if k in log],
                           [params[k][1] for k in names if k in log])
    draws = []
    for x in X:
        draws.append({k: (int(round(float(v))) if params[k][2] else float(v))
                      for k, v in zip(names, x)})
    for k, (a, b, integer) in params.items():  # the ends must be valid in the scenario
        for v in (a, b):
            checker.check(k, _normalise(file, f'{where}.parameters."{k}"',
                                        int(round(v)) if integer else float(v),
                                        int if integer else float),
                          f'{where}.parameters."{k}"')
    ens = Ensemble(kind, n, seeds, params, draws, [],
                   log=tuple(k for k in names if k in log))
    return ens

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def param_type(key: str, scenario_raw: dict[str, Any]) -> type | None:
    """The type (int, float, str, bool) of a parameter or dotted scenario key, if known."""
    parts = key.split(".")
    if len(parts) == 1:
        p = PARAMS.get(key)
        return p.kind if p else None
    if parts[0] == "groups" and len(parts) == 3:
        p = GROUP_FIELDS.get(parts[2])
        return p.kind if p else None
    if parts[0] in ("map", "zones") and len(parts) == 3 and parts[1] != "procedural":
        p = CELL_FIELDS.get(parts[2])
        return p.kind if p else None
    if parts[0] == "timeline" and len(parts) == 3:
        if parts[2] == "week":
            return int
        for e in scenario_raw.get("timeline", []):
            if isinstance(e, dict) and e.get("id") == parts[1]:
                f = EVENT_KINDS.get(e.get("event"), {}).get(parts[2])
                if f is not None:
                    return {"int": int, "float": float}.get(f.kind, str)
        return None
    return None


def _normalise(file, where, v, ptype):
    """Make a value's type match its parameter's (1 -> 1.0 for a float parameter)."""
    if ptype is float and isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return float(v)
    if ptype is int and isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (dict, list)):
        raise ExperimentError(file, where, "a value must be a number, a string or a boolean", v)
    return v


def _int(file, key, v, low, allowed, high=None):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (
            isinstance(v, float) and not v.is_integer()) or v < low:
        raise ExperimentError(file, key, "must be a whole number" + (f" >= {low}"), v, allowed)
    if high is not None and v > high:
        raise ExperimentError(file, key, "too large", v, allowed)
    return int(v)


#: the most runs (points x replicates) one sweep may have, and the longest run: checked before
#: the design is expanded, so that a mistyped size fails at once instead of exhausting memory
MAX_RUNS = 250_000
MAX_STEPS = int(PARAMS["steps"].high)


def design_points(exp: Experiment) -> int:
    """The number of points the design will have, computed without expanding it."""
    kind, params = exp.design["kind"], exp.parameters
    if not params:
        return 1
    if kind == "grid":
        return math.prod(len(p.values) for p in params.values())
    if kind == "explicit":
        return len(next(iter(params.values())).values)
    n, k = exp.design["samples"], len(params)
    if kind == "sobol":
        return n * (2 * k + 2 if exp.design.get("second_order") else k + 2)
    if kind == "morris":
        return n * (k + 1)
    return n


def check_size(exp: Experiment) -> None:
    """Refuse a design of more than MAX_RUNS runs (before anything is allocated)."""
    points = design_points(exp)
    if points * exp.replicates > MAX_RUNS:
        raise ExperimentError(exp.file, "design" if points > MAX_RUNS else "experiment.replicates",
                              "too many runs", f"{points:,} points x {exp.replicates:,} "
                              f"replicates = {points * exp.replicates:,} runs",
                              f"at most {MAX_RUNS:,} runs in one sweep (split a larger study "
                              "into several experiments)")


def _table(file, key, value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ExperimentError(file, key, "must be a table", value, "a TOML table")
    return value


def _unknown(file, where, given, allowed):
    import difflib

    for k in given:
        if k not in allowed:
            m = difflib.get_close_matches(k, list(allowed), n=2)
            hint = ("did you mean " + " or ".join(m) + "? ") if m else ""
            raise ExperimentError(file, f"{where}{k}", "unknown key",
                                  allowed=hint + "one of: " + ", ".join(sorted(allowed)))
