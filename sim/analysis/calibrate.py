"""Calibration of the model to the scenarios' patterns by ABC-SMC (pyABC), and
``militant-sim calibrate``.

A calibration file (``calibrations/*.toml``, docs/CALIBRATION.md) names the scenarios fitted
together, the parameters to fit with their priors (shared by every scenario, or specific to
one), the patterns to fit with weights, the seeds per evaluation, an out-of-sample check and
the algorithm's settings::

    [calibration]
    name = "core"
    seeds = 4                      # seeds per scenario and particle
    seed = 2024                    # master seed: every run's seed is keyed by it

    [parameters]                   # shared by every scenario: uniform priors
    clash_kappa = { low = 0.02, high = 0.3 }
    truce_tolerance = {}           # over its range in sim.core.params

    [scenarios.sahel_2019]         # a scenario fitted, with the patterns it contributes
    patterns = { jnim_isgs_coexistence = 2.0, jnim_isgs_war = 1.0 }   # or "all"
    [scenarios.sahel_2019.parameters]                                  # its own parameters
    "groups.ISGS.tolerance" = { low = 0.3, high = 3.0 }

    [check]                        # patterns not fitted, reported against the posterior
    idlib_2020 = "all"

    [abc]
    particles = 100
    generations = 8

Every particle (a parameter set) is evaluated with :func:`sim.analysis.check.evaluate` on each
scenario for ``seeds`` seeds and summarised with :func:`sim.analysis.check.summarise`; the summary
statistic of a pattern is its *miss*: 0 when the statistic across seeds (median, IQR or share)
lies in the target, else its distance to the nearer bound in target widths (capped at
:data:`MISS_CAP`; an undefined or censored statistic outside the target counts as the cap).
The observed data are all zeros. pyABC's ``AdaptivePNormDistance`` weighs the misses by the
inverse of their root-mean-square over each generation (times the pattern weights), epsilon
is the ``QuantileEpsilon`` of the previous generation's distances, and the history lives in
pyABC's SQLite database (``abc.db``), written at the end of every generation, so a killed
calibration resumes from its last finished generation. The seeds of a particle are drawn
from ``SeedSequence(seed, spawn_key=(key, k))`` with ``key`` the hash of the parameter values
and the scenario, so a particle is reproducible with ``militant-sim run --seed``.

Outputs (the calibration folder, by default ``calibrations/NAME/``): ``posterior.parquet``
(one row per particle of the last generation: parameters, weight, distance, pattern values
and misses), ``generations.parquet`` (epsilon, simulations, acceptance and time per
generation), ``predictive.parquet`` (the posterior-predictive check: fitted and out-of-sample
patterns for draws from the posterior with new seeds), ``manifest.json`` (the resolved
calibration and provenance) and ``abc.db``. ``militant-sim report DIR`` writes the report.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import math
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..common.paths import PACKAGE_DIR
from ..common.jsonio import nonfinite_to_text
from ..core.params import CELL_FIELDS, GROUP_FIELDS, PARAMS
from ..core.patterns import MISS_CAP, miss  # noqa: F401 - a particle's distance
from ..core.scenario import (EVENT_KINDS, ScenarioError, check_depth, find_scenario_file, find_toml,
                       load_scenario, toml_names, toml_text, valid_name, NAME_ALLOWED)

#: the scale functions of the adaptive distance (pyabc.distance names)
SCALES = {"rmsd": "root_mean_square_deviation", "mad": "median_absolute_deviation",
          "std": "standard_deviation"}
PRIORS = ("uniform", "loguniform")
#: defaults of the [abc] table
ABC_DEFAULTS = {"particles": 100, "generations": 8, "epsilon_quantile": 0.5,
                "min_epsilon": 0.0, "min_acceptance": 0.0, "p": 2.0, "scale": "rmsd",
                "max_weight_ratio": 100.0, "max_simulations": 0, "space": "unit"}
#: keys of each table
_TOP_KEYS = {"calibration", "parameters", "scenarios", "check", "abc", "predictive"}
_CAL_KEYS = {"name", "description", "seeds", "seed", "steps"}
_PRIOR_KEYS = {"low", "high", "prior", "integer", "note"}
_SCEN_KEYS = {"patterns", "parameters", "steps"}
_PRED_KEYS = {"draws", "seeds"}
#: the manifest's kind, and what a report looks for
KIND = "calibration"
MANIFEST = "manifest.json"
POSTERIOR = "posterior.parquet"
GENERATIONS = "generations.parquet"
PREDICTIVE = "predictive.parquet"
DB = "abc.db"


class CalibrationError(ScenarioError):
    """A calibration file or option is invalid (one message naming the file, the key, the
    value given and what is allowed; exit status 2)."""


# =============================================================================================
# The calibration file
# =============================================================================================
@dataclass
class Prior:
    """One parameter to fit: an override key (``clash_kappa``, ``groups.ISGS.tolerance``) for
    every scenario (``scenario`` None) or for one, with its prior."""

    key: str
    low: float
    high: float
    prior: str = "uniform"
    integer: bool = False
    scenario: str | None = None
    range_from: str = "file"      #: "file" or "sim.params" (the range in sim.core.params of the parameter)
    note: str = ""

    @property
    def name(self) -> str:
        """The column name: the key, or ``SCENARIO:key`` for a scenario's own parameter."""
        return self.key if self.scenario is None else f"{self.scenario}:{self.key}"

    def density(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        inside = (x >= self.low) & (x <= self.high)
        if self.prior == "loguniform":
            with np.errstate(divide="ignore", invalid="ignore"):
                d = 1.0 / (x * math.log(self.high / self.low))
        else:
            d = np.full_like(x, 1.0 / (self.high - self.low))
        return np.where(inside, d, 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "key": self.key, "scenario": self.scenario,
                "low": self.low, "high": self.high, "prior": self.prior,
                "integer": self.integer, "range_from": self.range_from, "note": self.note}


@dataclass
class FitPattern:
    """A pattern of a scenario, fitted (weight > 0) or checked out of sample."""

    scenario: str
    pattern: Any                 #: a sim.core.patterns.Pattern
    weight: float = 1.0
    fitted: bool = True

    @property
    def name(self) -> str:
        return f"{self.scenario}:{self.pattern.id}"


@dataclass
class Calibration:
    file: str
    sha256: str
    text: str
    name: str
    description: str
    scenarios: list[str]
    scenario_files: dict[str, str]
    priors: list[Prior]
    patterns: list[FitPattern]
    checks: list[FitPattern]
    seeds: int
    seed: int
    steps: dict[str, int]
    abc: dict[str, Any]
    predictive: dict[str, int]
    overrides_applied: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  #: warnings about the sizes chosen

    def fingerprint_parts(self) -> dict[str, Any]:
        """What makes two calibrations the same fit (the stopping rules are left out: a
        calibration may be run on for more generations in the same folder)."""
        # the space enters as its description, which for "log10" is the string older
        # histories were fingerprinted with, so their folders still match their files
        abc = {k: v for k, v in self.abc.items()
               if k not in ("generations", "min_epsilon", "min_acceptance", "max_simulations",
                            "space")}
        return {"scenarios": {s: _digest(self.scenario_files[s]) for s in self.scenarios},
                "priors": [p.to_dict() for p in self.priors],
                "patterns": [(f.name, f.weight) for f in self.patterns],
                "seeds": self.seeds, "seed": self.seed, "steps": self.steps, "abc": abc,
                "prior_space": SPACES[self.abc["space"]]}

    def fingerprint(self) -> str:
        blob = json.dumps(self.fingerprint_parts(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def resolved(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "file": self.file,
                "sha256": self.sha256, "scenarios": list(self.scenarios),
                "scenario_files": dict(self.scenario_files),
                "priors": [p.to_dict() for p in self.priors],
                "patterns": [_pattern_dict(f) for f in self.patterns],
                "checks": [_pattern_dict(f) for f in self.checks],
                "seeds": self.seeds, "seed": self.seed, "steps": dict(self.steps),
                "abc": dict(self.abc), "predictive": dict(self.predictive),
                "overrides": dict(self.overrides_applied),
                "miss_cap": MISS_CAP}


def _pattern_dict(f: FitPattern) -> dict[str, Any]:
    from .check import target_text

    d = f.pattern.to_dict()
    d.update(scenario=f.scenario, name=f.name, weight=f.weight, fitted=f.fitted,
             target=target_text(f.pattern))
    return d


def _digest(path: str) -> str:
    try:
        return load_scenario(path).digest()
    except ScenarioError:  # pragma: no cover - checked when loading
        return ""


_PACKAGE_DIR = PACKAGE_DIR


def calibration_dirs() -> list[Path]:
    """Folders searched for calibration files given by name."""
    return [Path.cwd() / "calibrations", _PACKAGE_DIR.parent / "calibrations",
            _PACKAGE_DIR / "_calibrations"]


def available_calibrations() -> list[str]:
    return toml_names(calibration_dirs())


def _param_range(key: str, raw_scenario: dict[str, Any]) -> tuple[float | None, float | None,
                                                                   type | None]:
    """(low, high, type) of an override key from sim.core.params and the scenario's events."""
    parts = key.split(".")
    if len(parts) == 1:
        p = PARAMS.get(key)
        return (p.low, p.high, p.kind) if p else (None, None, None)
    table = {"groups": GROUP_FIELDS, "zones": CELL_FIELDS, "map": CELL_FIELDS}.get(parts[0])
    if table is not None and len(parts) == 3:
        p = table.get(parts[2])
        return (p.low, p.high, p.kind) if p else (None, None, None)
    if parts[0] == "timeline" and len(parts) == 3:
        for e in raw_scenario.get("timeline", []) or []:
            if isinstance(e, dict) and e.get("id") == parts[1]:
                f = EVENT_KINDS.get(e.get("event"), {}).get(parts[2])
                if f is not None and f.kind in ("int", "float"):
                    return f.low, f.high, int if f.kind == "int" else float
                if parts[2] == "week":
                    return 0, PARAMS["steps"].high, int
    return None, None, None


def _number(file, key, v, allowed="a finite number"):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise CalibrationError(file, key, "must be a finite number", v, allowed, has_value=True)
    return float(v)


def _whole(file, key, v, low, allowed, high=None):
    if isinstance(v, bool) or not isinstance(v, int) or v < low or (high is not None
                                                                      and v > high):
        raise CalibrationError(file, key, f"must be a whole number >= {low}", v, allowed,
                               has_value=True)
    return int(v)


def _unknown(file, where, given, allowed):
    import difflib

    for k in given:
        if k not in allowed:
            m = difflib.get_close_matches(str(k), list(allowed), n=2)
            hint = ("did you mean " + " or ".join(m) + "? ") if m else ""
            raise CalibrationError(file, f"{where}{k}", "unknown key",
                                   allowed=hint + "one of: " + ", ".join(sorted(allowed)))


def _table(file, key, v) -> dict:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise CalibrationError(file, key, "must be a table", v, "a TOML table")
    return v


def find_calibration_file(name: str | os.PathLike) -> Path:
    return find_toml(name, calibration_dirs(), "calibration", CalibrationError)


def load_calibration(source: str | os.PathLike | dict, *, particles: int | None = None,
                     generations: int | None = None, seeds: int | None = None,
                     steps: int | None = None, draws: int | None = None) -> Calibration:
    """Read and validate a calibration file (or a dict with its layout).

    ``particles``, ``generations``, ``seeds``, ``steps`` (weeks of every run) and ``draws``
    (of the posterior-predictive check) replace the file's values: a quick run of the whole
    pipeline at a small size.
    """
    from ..core.patterns import parse_patterns  # noqa: F401 - the scenario's patterns are parsed

    file, raw, text, base_dir = _read_calibration(source)
    sha = hashlib.sha256(text.encode()).hexdigest()
    _unknown(file, "", raw, _TOP_KEYS)
    name, desc, n_seeds, master, steps_all = _calibration_header(file, raw)
    r = _Reader(file, base_dir)
    scenarios, files, patterns, priors, steps_by = _fitted_scenarios(r, raw, steps_all)
    checks = _checks(r, raw, files, patterns, steps_by, steps_all)
    abc = _abc_table(file, raw)
    pred = _predictive_table(file, raw, n_seeds)
    applied, n_seeds, steps_by = _apply_options(abc, pred, n_seeds, steps_by, particles,
                                                generations, seeds, steps, draws)
    notes = []
    spread = [f.name for f in patterns if f.pattern.stat == "iqr"]
    if spread and n_seeds < 2:
        notes.append(f"{len(spread)} fitted pattern(s) are judged on the spread across seeds "
                     f"(stat = \"iqr\": {', '.join(spread)}), which one seed cannot show: "
                     "they are always missed; use at least 2 seeds (--seeds)")
    return Calibration(file=file, sha256=sha, text=text, name=name, description=desc,
                       scenarios=scenarios, scenario_files=files, priors=priors,
                       patterns=patterns, checks=checks, seeds=n_seeds, seed=master,
                       steps=steps_by, abc=abc, predictive=pred, overrides_applied=applied,
                       notes=notes)


def _read_calibration(source) -> tuple[str, dict[str, Any], str, Path]:
    """(file name, parsed table, text, folder for relative scenario paths)."""
    if isinstance(source, dict):
        check_depth("<calibration>", source, CalibrationError)
        file, raw = "<calibration>", source
        text = json.dumps(source, sort_keys=True, default=str)
        base_dir = Path.cwd()
    else:
        path = find_calibration_file(source)
        file = str(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CalibrationError(file, None, f"cannot read the file: {exc.strerror}") from None
        text = data.decode("utf-8", errors="replace")
        raw = toml_text(file, data, CalibrationError)
        check_depth(file, raw, CalibrationError)
        base_dir = path.parent
    return file, raw, text, base_dir


def _calibration_header(file: str, raw: dict[str, Any]) -> tuple:
    """The [calibration] table: name, description, seeds, master seed and steps."""
    cal = _table(file, "calibration", raw.get("calibration"))
    _unknown(file, "calibration.", cal, _CAL_KEYS)
    stem = Path(file).stem if file != "<calibration>" else "calibration"
    name = cal.get("name", stem)
    if not valid_name(name):
        raise CalibrationError(file, "calibration.name", "must be a short name", name,
                               NAME_ALLOWED)
    desc = cal.get("description", "")
    if not isinstance(desc, str):
        raise CalibrationError(file, "calibration.description", "must be a string", desc)
    n_seeds = _whole(file, "calibration.seeds", cal.get("seeds", 4), 1,
                     "seeds per scenario and particle, a whole number >= 1", 10_000)
    master = _whole(file, "calibration.seed", cal.get("seed", 0), 0,
                    "the master seed, a whole number >= 0")
    steps_all = cal.get("steps")
    if steps_all is not None:
        steps_all = _whole(file, "calibration.steps", steps_all, 1,
                           "weeks per run (default: each scenario's steps)",
                           int(PARAMS["steps"].high))
    return name, desc, n_seeds, master, steps_all


class _Reader:
    """The checks of one calibration file that need its name and folder: its scenarios, the
    patterns picked from them and the priors."""

    def __init__(self, file: str, base_dir: Path):
        self.file, self.base_dir = file, base_dir

    def scenario(self, where: str, sname: str):
        file, base_dir = self.file, self.base_dir
        cand = base_dir / sname
        arg = str(cand) if (sname.endswith(".toml") and cand.is_file()) else sname
        try:
            path = find_scenario_file(arg).resolve()
            spec = load_scenario(path)
        except ScenarioError as exc:
            raise CalibrationError(file, where, "unknown or invalid scenario: "
                                   + (exc.allowed or str(exc)), sname) from None
        return path, spec

    def pick(self, where: str, spec, sel, fitted: bool) -> list[FitPattern]:
        file = self.file
        declared = {p.id: p for p in spec.patterns}
        if not declared:
            raise CalibrationError(file, where, "the scenario declares no patterns", spec.name,
                                   "a scenario with [[patterns]] (docs/ODD.md, section 6.9)")
        if sel == "all":
            return [FitPattern(spec.name, p, 1.0, fitted) for p in declared.values()]
        if isinstance(sel, list) and sel and all(isinstance(x, str) for x in sel):
            sel = dict.fromkeys(sel, 1.0)
        if not isinstance(sel, dict) or not sel:
            raise CalibrationError(file, where, "must be \"all\", a list of pattern ids or a "
                                   "table of weights", sel, "\"all\", [\"ID\", ...] or "
                                   "{ ID = weight, ... } with ids: " + ", ".join(declared),
                                   has_value=True)
        out = []
        for pid, w in sel.items():
            if pid not in declared:
                raise CalibrationError(file, f"{where}.{pid}", "not a pattern of scenario "
                                       f"{spec.name}", pid, ", ".join(declared))
            w = _number(file, f"{where}.{pid}", w, "a weight > 0")
            if w <= 0:
                raise CalibrationError(file, f"{where}.{pid}", "must be > 0", w,
                                       "a weight > 0 (leave the pattern out to not fit it)")
            out.append(FitPattern(spec.name, declared[pid], w, fitted))
        return out

    def prior(self, where: str, key: str, spec_raw, scen: str | None, sc_raw) -> Prior:
        file = self.file
        if key in ("steps", "seed", "max_fighters"):
            raise CalibrationError(file, where, "cannot be calibrated", key,
                                   "a model parameter (steps and seeds are set in "
                                   "[calibration])")
        if not isinstance(spec_raw, dict):
            raise CalibrationError(file, where, "must be a table", spec_raw,
                                   "{} (uniform over the range in sim.core.params) or { low = A, "
                                   "high = B, prior = \"uniform\" | \"loguniform\" }",
                                   has_value=True)
        _unknown(file, where + ".", spec_raw, _PRIOR_KEYS)
        lo0, hi0, kind = _param_range(key, sc_raw)
        if kind is None:
            raise CalibrationError(file, where, "unknown parameter", key,
                                   "a parameter of sim.core.params (militant-sim params), "
                                   "groups.GROUP.FIELD, zones.ZONE.FIELD or "
                                   "timeline.ID.FIELD of a number")
        if kind not in (int, float):
            raise CalibrationError(file, where, "is not a number", key, "a numeric parameter")
        lo = spec_raw.get("low", lo0)
        hi = spec_raw.get("high", hi0)
        if lo is None or hi is None:
            raise CalibrationError(file, where, "needs a range: sim.core.params gives none", key,
                                   "low = A, high = B")
        lo = _number(file, f"{where}.low", lo)
        hi = _number(file, f"{where}.high", hi)
        if not lo < hi:
            raise CalibrationError(file, where, "low must be below high", [lo, hi], "low < high")
        if (lo0 is not None and lo < lo0) or (hi0 is not None and hi > hi0):
            raise CalibrationError(file, where, "the prior reaches outside the parameter's "
                                   "range", [lo, hi], f"within [{lo0:g}, {hi0:g}]")
        kind_p = spec_raw.get("prior", "uniform")
        if kind_p not in PRIORS:
            raise CalibrationError(file, f"{where}.prior", "unknown prior", kind_p,
                                   ", ".join(PRIORS))
        if kind_p == "loguniform" and lo <= 0:
            raise CalibrationError(file, f"{where}.low", "a log-uniform prior needs low > 0",
                                   lo, "a number > 0")
        integer = spec_raw.get("integer", kind is int)
        if not isinstance(integer, bool):
            raise CalibrationError(file, f"{where}.integer", "must be true or false", integer)
        note = spec_raw.get("note", "")
        if not isinstance(note, str):
            raise CalibrationError(file, f"{where}.note", "must be a string", note)
        src = "file" if ("low" in spec_raw or "high" in spec_raw) else "sim.params"
        return Prior(key, lo, hi, kind_p, integer, scen, src, note)


def _fitted_scenarios(r: _Reader, raw: dict[str, Any], steps_all) -> tuple:
    """The [scenarios.NAME] tables and [parameters]: the scenarios fitted, their files, the
    patterns fitted, the priors (shared first) and the weeks per scenario."""
    file = r.file
    scen_raw = raw.get("scenarios")
    if not isinstance(scen_raw, dict) or not scen_raw:
        raise CalibrationError(file, "scenarios", "missing or empty", scen_raw,
                               "one [scenarios.NAME] table per scenario fitted, with "
                               "patterns = \"all\" or { ID = weight, ... }", has_value=True)
    scenarios: list[str] = []
    files: dict[str, str] = {}
    specs: dict[str, Any] = {}
    patterns: list[FitPattern] = []
    priors: list[Prior] = []
    own: list[Prior] = []
    steps_by: dict[str, int] = {}
    for sname, body in scen_raw.items():
        where = f"scenarios.{sname}"
        body = _table(file, where, body)
        _unknown(file, where + ".", body, _SCEN_KEYS)
        path, spec = r.scenario(where, sname)
        if spec.name in scenarios:
            raise CalibrationError(file, where, "listed twice", sname)
        scenarios.append(spec.name)
        files[spec.name] = str(path)
        specs[spec.name] = spec
        patterns += r.pick(f"{where}.patterns", spec, body.get("patterns", "all"), True)
        n = body.get("steps", steps_all if steps_all is not None else spec.params["steps"])
        steps_by[spec.name] = _whole(file, f"{where}.steps", n, 1, "weeks per run",
                                     int(PARAMS["steps"].high))
        for key, pr in _table(file, f"{where}.parameters", body.get("parameters")).items():
            own.append(r.prior(f"{where}.parameters.\"{key}\"", key, pr, spec.name, spec.raw))

    for key, pr in _table(file, "parameters", raw.get("parameters")).items():
        where = f"parameters.\"{key}\""
        if key in scen_raw:
            raise CalibrationError(file, where, "is a scenario's name", key,
                                   f"a scenario's own parameters go in [scenarios.{key}."
                                   "parameters]")
        priors.append(r.prior(where, key, pr, None, specs[scenarios[0]].raw))
    priors += own  # shared parameters first, then each scenario's own
    if not priors:
        raise CalibrationError(file, "parameters", "no parameter to fit",
                               allowed="[parameters] KEY = { low = A, high = B } (shared) or "
                               "[scenarios.NAME.parameters] (one scenario's own)")
    shared = {p.key for p in priors if p.scenario is None}
    for p in priors:
        if p.scenario is not None and p.key in shared:
            raise CalibrationError(file, f"scenarios.{p.scenario}.parameters.\"{p.key}\"",
                                   "is also a shared parameter", p.key,
                                   "either [parameters] or the scenario's own, not both")
    # every prior's ends must be accepted by the scenarios it applies to
    for p in priors:
        for s in ([p.scenario] if p.scenario else scenarios):
            for v in (p.low, p.high):
                val = int(round(v)) if p.integer else v
                try:
                    load_scenario(files[s], {p.key: val})
                except ScenarioError as exc:
                    where = (f"parameters.\"{p.key}\"" if p.scenario is None else
                             f"scenarios.{p.scenario}.parameters.\"{p.key}\"")
                    raise CalibrationError(file, where, f"rejected by scenario {s}: "
                                           f"{_strip(exc)}", val) from None
    return scenarios, files, patterns, priors, steps_by


def _checks(r: _Reader, raw: dict[str, Any], files, patterns, steps_by, steps_all
            ) -> list[FitPattern]:
    """The [check] table: the patterns judged out of sample (not fitted)."""
    file = r.file
    # -- out-of-sample check --------------------------------------------------------------------
    checks: list[FitPattern] = []
    for sname, sel in _table(file, "check", raw.get("check")).items():
        where = f"check.{sname}"
        _, spec = r.scenario(where, sname)
        files.setdefault(spec.name, str(find_scenario_file(
            str(r.base_dir / sname) if sname.endswith(".toml") else sname).resolve()))
        got = r.pick(where, spec, sel, False)
        fitted = {f.name for f in patterns}
        for f in got:
            if f.name in fitted:
                raise CalibrationError(file, f"{where}.{f.pattern.id}", "is also fitted",
                                       f.pattern.id, "patterns not used in the fit")
        checks += got
        n = steps_all if steps_all is not None else spec.params["steps"]
        steps_by.setdefault(spec.name, int(n))
    return checks


def _abc_table(file: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The [abc] table: ABC-SMC's settings."""
    abc_raw = _table(file, "abc", raw.get("abc"))
    _unknown(file, "abc.", abc_raw, set(ABC_DEFAULTS))
    abc = dict(ABC_DEFAULTS)
    abc["particles"] = _whole(file, "abc.particles", abc_raw.get("particles", abc["particles"]),
                              2, "particles per generation, >= 2", 1_000_000)
    abc["generations"] = _whole(file, "abc.generations", abc_raw.get("generations",
                                                                     abc["generations"]), 1,
                                "the most generations, >= 1", 10_000)
    q = _number(file, "abc.epsilon_quantile", abc_raw.get("epsilon_quantile", 0.5),
                "a number between 0 and 1")
    if not 0 < q < 1:
        raise CalibrationError(file, "abc.epsilon_quantile", "must lie between 0 and 1", q,
                               "the quantile of the last generation's distances that sets the "
                               "next epsilon, e.g. 0.5")
    abc["epsilon_quantile"] = q
    for k in ("min_epsilon", "max_weight_ratio"):
        v = _number(file, f"abc.{k}", abc_raw.get(k, abc[k]), "a number >= 0")
        if v < 0:
            raise CalibrationError(file, f"abc.{k}", "must be >= 0", v, "a number >= 0")
        abc[k] = v
    ma = _number(file, "abc.min_acceptance", abc_raw.get("min_acceptance", 0.0),
                 "a share in [0, 1)")
    if not 0 <= ma < 1:
        raise CalibrationError(file, "abc.min_acceptance", "must lie in [0, 1)", ma,
                               "stop when a generation's acceptance rate falls below this")
    abc["min_acceptance"] = ma
    p = _number(file, "abc.p", abc_raw.get("p", 2.0), "p >= 1 of the p-norm")
    if p < 1:
        raise CalibrationError(file, "abc.p", "must be >= 1", p, "1 (Manhattan), 2 (Euclid)")
    abc["p"] = p
    sc = abc_raw.get("scale", "rmsd")
    if sc not in SCALES:
        raise CalibrationError(file, "abc.scale", "unknown scale function", sc,
                               ", ".join(SCALES))
    abc["scale"] = sc
    space = abc_raw.get("space", ABC_DEFAULTS["space"])
    if space not in SPACES:
        raise CalibrationError(file, "abc.space", "unknown scale for pyABC's parameters", space,
                               ", ".join(f"{k!r} ({v})" for k, v in SPACES.items()))
    abc["space"] = space
    abc["max_simulations"] = _whole(file, "abc.max_simulations",
                                    abc_raw.get("max_simulations", 0), 0,
                                    "the most particle evaluations in all (0: no limit)")
    return abc


def _predictive_table(file: str, raw: dict[str, Any], n_seeds: int) -> dict[str, Any]:
    """The [predictive] table: draws and seeds of the posterior-predictive check."""
    pred_raw = _table(file, "predictive", raw.get("predictive"))
    _unknown(file, "predictive.", pred_raw, _PRED_KEYS)
    pred = {"draws": _whole(file, "predictive.draws", pred_raw.get("draws", 20), 0,
                            "draws from the posterior for the predictive check (0: none)",
                            100_000),
            "seeds": _whole(file, "predictive.seeds", pred_raw.get("seeds", n_seeds), 1,
                            "seeds per scenario and draw", 10_000)}
    return pred


def _apply_options(abc, pred, n_seeds, steps_by, particles, generations, seeds, steps, draws
                   ) -> tuple[dict[str, Any], int, dict[str, int]]:
    """The command line's replacements of the file's values, checked."""
    applied: dict[str, Any] = {}
    for opt, v, low in (("--particles", particles, 2), ("--generations", generations, 1),
                        ("--seeds", seeds, 1), ("--steps", steps, 1), ("--draws", draws, 0)):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise CalibrationError(opt, None, f"must be a whole number >= {low}", v)
        applied[opt.lstrip("-")] = v
    if particles is not None:
        abc["particles"] = particles
    if generations is not None:
        abc["generations"] = generations
    if seeds is not None:
        n_seeds = seeds
        pred["seeds"] = seeds
    if steps is not None:
        steps_by = {s: steps for s in steps_by}
    if draws is not None:
        pred["draws"] = draws
    return applied, n_seeds, steps_by


def _strip(exc: ScenarioError) -> str:
    msg = str(exc)
    prefix = f"{exc.file}: "
    return msg[len(prefix):] if msg.startswith(prefix) else msg


# =============================================================================================
# The simulator pyABC calls
# =============================================================================================
def particle_seeds(master: int, values: dict[str, float], scenario: str, n: int) -> list[int]:
    """The run seeds of a particle on a scenario: SeedSequence(master, spawn_key=(key, k)),
    ``key`` the hash of the parameter values and the scenario."""
    from ..sweeps.design import point_key, run_seed

    key = point_key({**values, "#scenario": scenario})
    return [run_seed(master, key, k) for k in range(n)]


def overrides_for(priors: list[Prior], values: dict[str, float], scenario: str
                  ) -> dict[str, Any]:
    """The --set overrides a parameter set makes in one scenario."""
    out: dict[str, Any] = {}
    for p in priors:
        if p.scenario is not None and p.scenario != scenario:
            continue
        if p.name not in values:
            continue
        v = float(values[p.name])
        out[p.key] = int(round(v)) if p.integer else v
    return out


class Simulator:
    """The model as pyABC sees it: a parameter set in, summary statistics out (each fitted
    pattern's miss, ``miss:SCENARIO:ID``, and its value, ``value:SCENARIO:ID``).

    Plain data only, so that it pickles for Dask; every call runs its seeds in its own
    process (the sampler parallelises over particles). A run that fails (a parameter set that
    exceeds ``max_fighters``, say) gives the largest misses instead of stopping the
    calibration.
    """

    def __init__(self, cal: Calibration, names: dict[str, str], watch_parent: bool = False):
        self.priors = list(cal.priors)
        self.space = cal.abc["space"]
        self.names = dict(names)              # pyABC's name -> column name
        self.scenarios = list(cal.scenarios)
        self.files = {s: cal.scenario_files[s] for s in cal.scenarios}
        self.patterns = {s: [f.pattern for f in cal.patterns if f.scenario == s]
                         for s in cal.scenarios}
        self.seeds = cal.seeds
        self.seed = cal.seed
        self.steps = dict(cal.steps)
        self.parent = os.getpid() if watch_parent else None
        from ..sweeps.engines import _start_time

        self.parent_start = _start_time(os.getpid()) if watch_parent else None

    def values(self, par) -> dict[str, float]:
        return {self.names[k]: from_abc(p, float(par[k]), self.space)
                for k, p in zip(self.names, self.priors)}

    def __call__(self, par) -> dict[str, float]:
        self._watch()
        values = self.values(par)
        return evaluate_particle(values, self.priors, self.scenarios, self.files,
                                 self.patterns, self.seeds, self.seed, self.steps)

    def _watch(self) -> None:
        """In a worker process forked by the multicore sampler: exit when the calibration's
        main process is gone (killed, say), instead of sampling on for nobody."""
        if self.parent is None or os.getpid() == self.parent:
            return
        global _WATCHING
        if _WATCHING != os.getpid():
            from ..sweeps.engines import _worker_init

            _worker_init(self.parent, self.parent_start)
            _WATCHING = os.getpid()


_WATCHING: int | None = None


_FAILURES_SHOWN: set[str] = set()


def _warn_failed(scenario: str, exc: Exception) -> None:
    """Say on stderr, once per process and kind of error, that a particle's runs failed (they
    count as missing every pattern, so a calibration whose runs all fail still runs on)."""
    what = f"{type(exc).__name__}: {exc}"
    if what in _FAILURES_SHOWN:
        return
    _FAILURES_SHOWN.add(what)
    print(f"militant-sim: warning: a run of {scenario} failed ({what[:300]}); it counts as "
          "missing every pattern", file=sys.stderr, flush=True)


def evaluate_particle(values: dict[str, float], priors: list[Prior], scenarios: list[str],
                      files: dict[str, str], patterns: dict[str, list], seeds: int, seed: int,
                      steps: dict[str, int], *, workers: int = 1,
                      salt: str = "") -> dict[str, float]:
    """Every pattern's value (statistic across seeds) and miss for one parameter set."""
    from .check import evaluate, summarise

    out: dict[str, float] = {}
    failed = 0.0
    for s in scenarios:
        pats = patterns.get(s) or []
        if not pats:
            continue
        ov = overrides_for(priors, values, s)
        sd = particle_seeds(seed, {**values, **({"#salt": salt} if salt else {})}, s, seeds)
        try:
            table = summarise(evaluate(files[s], seeds=sd, overrides=ov, workers=workers,
                                       steps=steps[s], patterns=pats))
            vals = {pid: float(table.loc[pid, "value"]) for pid in table.index}
        except Exception as exc:  # noqa: BLE001 - a failed run misses every pattern
            vals = {p.id: math.nan for p in pats}
            failed = 1.0
            _warn_failed(s, exc)
        for p in pats:
            v = vals[p.id]
            out[f"miss:{s}:{p.id}"] = miss(v, p.low, p.high)
            out[f"value:{s}:{p.id}"] = v
    out["failed"] = failed
    return out


# =============================================================================================
# Running the calibration
# =============================================================================================
def default_out(cal: Calibration) -> Path:
    """``calibrations/NAME`` beside the file (or ``calibrations/NAME`` here)."""
    if cal.file != "<calibration>" and Path(cal.file).parent.name == "calibrations":
        return Path(cal.file).parent / cal.name
    return Path("calibrations") / cal.name


def _pyabc():
    try:
        import pyabc
    except ImportError:
        raise CalibrationError("calibrate", None, "needs the optional 'pyabc' package",
                               allowed="pip install 'militant-sim[calibrate]'") from None
    import logging

    for name in ("ABC", "pyabc"):  # our own progress line replaces pyABC's log
        logging.getLogger(name).setLevel(logging.WARNING)
    return pyabc


def _names(cal: Calibration) -> dict[str, str]:
    """pyABC's parameter names (p00, p01, ...) -> the column names."""
    return {f"p{i:02d}": p.name for i, p in enumerate(cal.priors)}


#: how pyABC sees a parameter (the [abc] setting ``space``). pyABC's transition kernel is a
#: multivariate normal fitted to the particles, and scipy treats its covariance as singular
#: when one eigenvalue is below about 2e-10 of the largest: on the natural scale a range of
#: 0-0.0002 next to one of 0-10 sits at that edge, a proposal then has transition density 0
#: and pyABC stops ("population total weight nan", pyABC issue #614). "unit" maps every
#: parameter onto [0, 1] on the scale its prior is flat on (log10 of the value for a
#: log-uniform prior), so the covariance's eigenvalues are of one size. "log10" is the older
#: scale: natural values, log10 for a log-uniform prior (on the natural scale the weights would
#: carry the prior density 1/x of every log-uniform parameter, and a few particles at small
#: values take all the weight). Each string is part of a calibration's fingerprint: a history
#: is read back only on the scale it was made on.
SPACES = {"unit": "unit interval, log10 for loguniform", "log10": "log10 for loguniform"}


def _prior_distribution(pyabc, cal: Calibration):
    rvs = {}
    for i, p in enumerate(cal.priors):
        key = f"p{i:02d}"
        if cal.abc["space"] == "unit":
            rvs[key] = pyabc.RV("uniform", 0.0, 1.0)
        elif p.prior == "loguniform":
            lo, hi = math.log10(p.low), math.log10(p.high)
            rvs[key] = pyabc.RV("uniform", lo, hi - lo)
        else:
            rvs[key] = pyabc.RV("uniform", p.low, p.high - p.low)
    return pyabc.Distribution(**rvs)


def from_abc(prior: Prior, v: float, space: str) -> float:
    """A parameter's value from pyABC's, on the scale ``space`` (see SPACES)."""
    if space == "unit":
        if prior.prior == "loguniform":
            lo, hi = math.log10(prior.low), math.log10(prior.high)
            return float(10.0 ** (lo + v * (hi - lo)))
        return float(prior.low + v * (prior.high - prior.low))
    return float(10.0 ** v) if prior.prior == "loguniform" else float(v)


def observed(cal: Calibration) -> dict[str, float]:
    """The observed summary statistics: every miss is 0."""
    return {f"miss:{f.name}": 0.0 for f in cal.patterns}


def _distance(pyabc, cal: Calibration):
    from pyabc.distance import scale as scales

    fixed = {f"miss:{f.name}": float(f.weight) for f in cal.patterns}
    ratio = cal.abc["max_weight_ratio"] or None
    return pyabc.AdaptivePNormDistance(
        p=cal.abc["p"], fixed_weights=fixed,
        scale_function=getattr(scales, SCALES[cal.abc["scale"]]),
        max_scale_weight_ratio=ratio)


class _Lock:
    """One calibration process per folder (a lock file with the owner's pid)."""

    def __init__(self, out: Path):
        self.path = out / ".calibration.lock"

    def __enter__(self):
        from ..sweeps.engines import _alive, _start_time

        if self.path.exists():
            try:
                info = json.loads(self.path.read_text())
                pid, start = int(info["pid"]), info.get("start")
            except (OSError, ValueError, KeyError, TypeError):
                pid, start = -1, None
            if pid > 0 and pid != os.getpid() and _alive(pid, start):
                raise CalibrationError(self.path.parent, "--out", "another calibration "
                                       f"(process {pid}) is running in this folder",
                                       allowed="wait for it, or another --out")
        self.path.write_text(json.dumps({"pid": os.getpid(),
                                         "start": _start_time(os.getpid())}))
        return self

    def __exit__(self, *exc):
        with contextlib.suppress(OSError):
            self.path.unlink()


@dataclass
class CalibrationResult:
    out: Path
    complete: bool
    generations: int
    stop: str
    new_generations: int
    wall_seconds: float
    posterior: pd.DataFrame | None = None


def _sampler(pyabc, dask, workers: int | None):
    """pyABC's multicore sampler (local processes), or its Dask sampler."""
    if dask is None:
        from ..sweeps.engines import default_workers

        n = workers or default_workers()
        return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=n), None, \
            f"{n} local process{'es' if n != 1 else ''}", True
    try:
        import distributed
    except ImportError:
        raise CalibrationError("--dask", None, "needs the optional 'distributed' package",
                               allowed="pip install 'militant-sim[cluster]'") from None
    cluster = None
    if isinstance(dask, distributed.Client):
        client, what = dask, f"Dask cluster at {dask.scheduler.address}"
    elif dask == "local":
        import logging

        from ..sweeps.engines import default_workers

        n = workers or default_workers()
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)
        client, what = distributed.Client(cluster), f"local Dask cluster of {n} workers"
    else:
        try:
            client = distributed.Client(str(dask), timeout="20s")
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise CalibrationError("--dask", None, f"cannot reach a Dask scheduler: {exc}",
                                   str(dask), "the address of a running scheduler, e.g. "
                                   "tcp://10.0.0.1:8786") from None
        what = f"Dask cluster at {dask}"
    sampler = pyabc.sampler.DaskDistributedSampler(dask_client=client, batch_size=1)
    return sampler, (client, cluster), what, False


def run_calibration(source: str | os.PathLike | Calibration | dict,
                    out: str | os.PathLike | None = None, *, workers: int | None = None,
                    dask: Any = None, progress: bool = True, command: str | None = None,
                    **sizes) -> CalibrationResult:
    """Run (or resume) a calibration and write its folder.

    Args:
        source: a calibration file, its name, a dict with its layout, or a loaded
            :class:`Calibration`.
        out: the output folder (default :func:`default_out`). When it holds the history of
            the same calibration, the calibration resumes after its last finished generation.
        workers: local processes (pyABC's ``MulticoreEvalParallelSampler``), or Dask workers
            of a local cluster.
        dask: the address of a Dask scheduler, a ``distributed.Client``, or ``"local"``
            (pyABC's ``DaskDistributedSampler``).
        progress: one line per generation on stderr.
        sizes: ``particles``, ``generations``, ``seeds``, ``steps``, ``draws`` (see
            :func:`load_calibration`).
    """
    t_start = time.perf_counter()
    cal = source if isinstance(source, Calibration) else load_calibration(source, **sizes)
    if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
        raise CalibrationError("--workers", None, "must be at least 1", workers)
    pyabc = _pyabc()
    out = Path(out) if out else default_out(cal)
    from ..common.files import check_out_folder

    check_out_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    old = _read_manifest(out)
    db_file = out / DB
    if old is not None and old.get("fingerprint") != cal.fingerprint():
        raise CalibrationError(out, "--out", "holds a different calibration ("
                               + _differences(old.get("fingerprint_parts") or {},
                                              cal.fingerprint_parts()) + ")",
                               allowed="another --out, or delete the folder to start again")
    if old is None and db_file.exists():
        raise CalibrationError(out, "--out", f"has an {DB} but no {MANIFEST}",
                               allowed="another --out, or delete the folder to start again")
    cmd = command or f"run_calibration({cal.file!r}, out={str(out)!r})"
    with _Lock(out):
        return _run_locked(pyabc, cal, out, old, workers, dask, progress, cmd, t_start)


def _run_locked(pyabc, cal, out: Path, old, workers, dask, progress, cmd, t_start):
    db_file = out / DB
    db = f"sqlite:///{db_file.resolve()}"
    session = {"started": _now(), "command": cmd, "host": socket.gethostname(),
               "pid": os.getpid(), "git": _git(), "code_digest": _code_digest()}
    manifest = _new_manifest(cal, old, session)
    _write_json(out / MANIFEST, manifest)

    done = _generations_done(db_file)
    target = cal.abc["generations"]
    new = 0
    stop = _still_stopped(old, cal, done)
    if stop is None:
        sampler, owned, what, watch = _sampler(pyabc, dask, workers)
        session["engine"] = what
        sim = Simulator(cal, _names(cal), watch_parent=watch)
        abc = pyabc.ABCSMC(sim, _prior_distribution(pyabc, cal), _distance(pyabc, cal),
                           population_size=cal.abc["particles"],
                           eps=pyabc.QuantileEpsilon(alpha=cal.abc["epsilon_quantile"]),
                           sampler=sampler)
        try:
            if db_file.exists():
                abc.load(db, int(manifest.get("abc_id") or 1), observed(cal))
            else:
                hist = abc.new(db, observed(cal), meta_info={"calibration": cal.name,
                                                              "fingerprint": cal.fingerprint()})
                manifest["abc_id"] = int(hist.id)
                _write_json(out / MANIFEST, manifest)
            if progress:
                for note in cal.notes:
                    print(f"militant-sim: note: {note}", file=sys.stderr, flush=True)
                print(f"calibrate {cal.name}: {len(cal.priors)} parameters, "
                      f"{len(cal.patterns)} patterns of {len(cal.scenarios)} scenarios, "
                      f"{cal.abc['particles']} particles, {cal.seeds} seeds per scenario; "
                      f"{done} of at most {target} generations done; on {what}",
                      file=sys.stderr, flush=True)
            max_sims = cal.abc["max_simulations"] or np.inf
            t = abc.initialize_components_before_run(
                minimum_epsilon=cal.abc["min_epsilon"], max_nr_populations=target - done,
                min_acceptance_rate=cal.abc["min_acceptance"],
                max_total_nr_simulations=max_sims, max_walltime=None, min_eps_diff=0.0)
            try:
                new, stop = _generations(abc, cal, t, target, max_sims, progress, out,
                                         manifest)
            except AssertionError as exc:
                if "weight" not in str(exc):
                    raise
                kept = _generations_done(db_file)
                raise CalibrationError(
                    cal.file, "abc", f"pyABC could not weight generation {kept + 1} ({exc}): a "
                    "proposed particle's transition density came out as zero, so its weight "
                    "was infinite (pyABC issue #614: the kernel's covariance was singular, as "
                    "when parameters' ranges differ by ten orders of magnitude on abc.space "
                    f"\"log10\", or when one parameter has collapsed); the {kept} "
                    f"generation(s) accepted before it are kept in {db_file}",
                    allowed=f"run again with --generations {kept} to write them out; in a "
                    "fresh --out folder, abc.space = \"unit\" or more particles (--particles)"
                ) from None
        finally:
            _close_owned(owned, dask)
    done, post = _posterior_outputs(cal, out, manifest, db_file, workers, progress)
    wall = time.perf_counter() - t_start
    session.update(ended=_now(), wall_seconds=round(wall, 2), new_generations=new)
    manifest["sessions"][-1] = session
    manifest.update(generations_done=done, stop=stop, complete=bool(stop),
                    finished=_now() if stop else None)
    _write_json(out / MANIFEST, manifest)
    if progress:
        print(f"calibrate {cal.name}: {done} generations ({new} now), stopped by {stop}, in "
              f"{_duration(wall)} -> {out}", file=sys.stderr, flush=True)
    return CalibrationResult(out, bool(stop), done, stop or "", new, wall, post)


def _generations(abc, cal, t: int, target: int, max_sims, progress: bool, out: Path,
                 manifest: dict[str, Any]) -> tuple[int, str | None]:
    """Run ABC-SMC's generations from ``t`` until a stopping rule holds, writing the manifest
    after each: (new generations, why it stopped)."""
    new, stop = 0, None
    while True:
        t0 = time.perf_counter()
        ret = abc.run_generation(t=t)
        if not ret["successful"]:
            stop = "min_acceptance"
            break
        new += 1
        row = _population_row(abc.history, t)
        if progress:
            print(f"generation {t + 1}/{target}: epsilon {row['epsilon']:.4g}, "
                  f"acceptance {row['acceptance']:.3f} ({row['particles']} of "
                  f"{row['samples']} simulations), {row['particles']} particles, "
                  f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        manifest["generations_done"] = t + 1
        _write_json(out / MANIFEST, manifest)
        eps = row["epsilon"]
        if t + 1 >= target:
            stop = "generations"
            break
        if eps <= cal.abc["min_epsilon"]:
            stop = "min_epsilon"
            break
        if ret["acceptance_rate"] < cal.abc["min_acceptance"]:
            stop = "min_acceptance"
            break
        if abc.history.total_nr_simulations >= max_sims:
            stop = "max_simulations"
            break
        if abc.check_terminate(t=t, acceptance_rate=ret["acceptance_rate"]):
            stop = "generations"
            break
        t += 1
    return new, stop


def _close_owned(owned, dask) -> None:
    """Close the Dask client and cluster this calibration started."""
    if owned is not None:
        client, cluster = owned
        if cluster is not None or isinstance(dask, str):  # ours: close it
            with contextlib.suppress(Exception):
                client.close()
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.close()


def _posterior_outputs(cal, out: Path, manifest: dict[str, Any], db_file: Path, workers,
                       progress: bool):
    """The posterior's files and the posterior-predictive check: (generations done,
    posterior or None)."""
    done = _generations_done(db_file)
    post = write_outputs(cal, out, manifest.get("abc_id") or 1) if done else None
    if post is not None and cal.predictive["draws"] > 0:
        if progress:
            print(f"posterior-predictive check: {cal.predictive['draws']} draws x "
                  f"{cal.predictive['seeds']} seeds per scenario", file=sys.stderr, flush=True)
        pred = predictive_check(cal, post, workers=workers)
        _write_parquet(pred, out / PREDICTIVE, {"calibration": cal.name,
                                                 "generation": done, "draws":
                                                 cal.predictive["draws"]})
    elif (out / PREDICTIVE).exists():  # from an earlier posterior: no longer true
        os.unlink(out / PREDICTIVE)
    return done, post


def _still_stopped(old: dict[str, Any] | None, cal: Calibration, done: int) -> str | None:
    """Why a calibration in its folder is finished, or None when it should go on: enough
    generations, or an earlier stop by epsilon, acceptance or simulations whose setting has
    not changed since."""
    if done >= cal.abc["generations"]:
        return "generations"
    prev = (old or {}).get("stop") if done else None
    setting = {"min_epsilon": "min_epsilon", "min_acceptance": "min_acceptance",
               "max_simulations": "max_simulations"}.get(prev or "")
    if setting is None:
        return None
    before = ((old or {}).get("calibration") or {}).get("abc", {}).get(setting)
    return prev if before == cal.abc[setting] else None


def _population_row(history, t: int) -> dict[str, Any]:
    pops = history.get_all_populations()
    r = pops[pops["t"] == t].iloc[-1]
    samples = int(r["samples"])
    particles = int(r["particles"])
    return {"t": t, "epsilon": float(r["epsilon"]), "samples": samples,
            "particles": particles, "acceptance": particles / samples if samples else math.nan}


def _generations_done(db_file: Path) -> int:
    """Generations stored in the history (0 when there is none)."""
    if not db_file.exists():
        return 0
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
        try:
            n = con.execute("SELECT COUNT(*) FROM populations WHERE t >= 0").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0
    return int(n)


def write_outputs(cal: Calibration, out: Path, abc_id: int = 1) -> pd.DataFrame:
    """posterior.parquet (the last generation) and generations.parquet from the history."""
    import pyabc

    hist = pyabc.History(f"sqlite:///{(out / DB).resolve()}")
    hist.id = int(abc_id)
    made_by = history_fingerprint(hist)
    if made_by is None:
        print(f"militant-sim: warning: {out / DB} does not say which calibration made it; its "
              "values are read through this file's priors", file=sys.stderr)
    elif made_by != cal.fingerprint():
        # the history's values are on the scale its own priors set (log10 for a log-uniform
        # prior); converting them with another calibration's priors would give wrong values
        raise CalibrationError(out / DB, "--out", f"was made by another calibration "
                               f"(fingerprint {made_by}, this file's {cal.fingerprint()})",
                               allowed="another --out, or delete the folder to start again")
    t = hist.max_t
    pop = hist.get_population(t=t)
    names = _names(cal)
    rows = []
    for i, part in enumerate(pop.particles):
        r = {"particle": i, "generation": int(t) + 1}
        for (k, col), prior in zip(names.items(), cal.priors):
            r[col] = from_abc(prior, float(part.parameter[k]), cal.abc["space"])
        r["weight"] = float(part.weight)
        r["distance"] = float(part.distance)
        ss = part.sum_stat or {}
        for f in cal.patterns:
            r[f"value:{f.name}"] = float(ss.get(f"value:{f.name}", math.nan))
        for f in cal.patterns:
            r[f"miss:{f.name}"] = float(ss.get(f"miss:{f.name}", math.nan))
        r["failed"] = float(ss.get("failed", 0.0))
        rows.append(r)
    post = pd.DataFrame(rows)
    w = post["weight"].to_numpy()
    post["weight"] = w / w.sum() if w.sum() > 0 else w
    meta = {"calibration": cal.name, "fingerprint": cal.fingerprint(), "generation": int(t) + 1,
            "priors": [p.to_dict() for p in cal.priors]}
    _write_parquet(post, out / POSTERIOR, meta)
    pops = hist.get_all_populations()
    pops = pops[pops["t"] >= 0].copy()
    times = pd.to_datetime(hist.get_all_populations()["population_end_time"])
    secs = times.diff().dt.total_seconds().to_numpy()[1:]
    gen = pd.DataFrame({"generation": pops["t"].astype(int).to_numpy() + 1,
                        "epsilon": pops["epsilon"].astype(float).to_numpy(),
                        "simulations": pops["samples"].astype(int).to_numpy(),
                        "particles": pops["particles"].astype(int).to_numpy()})
    gen["acceptance"] = gen["particles"] / gen["simulations"].where(gen["simulations"] > 0)
    gen["seconds"] = secs[:len(gen)] if len(secs) >= len(gen) else np.nan
    ess = []
    for tt in pops["t"]:
        ww = hist.get_weighted_distances(t=int(tt))["w"].to_numpy()
        ess.append(float(ww.sum() ** 2 / (ww ** 2).sum()) if len(ww) else math.nan)
    gen["ess"] = ess
    _write_parquet(gen, out / GENERATIONS, meta)
    return post


def history_fingerprint(hist) -> str | None:
    """The fingerprint of the calibration that began a pyABC history (kept in its meta
    information), or None for a history without one."""
    import ast

    try:
        info = ast.literal_eval(hist.get_abc().json_parameters or "{}")
    except (ValueError, SyntaxError):
        return None
    fp = info.get("fingerprint") if isinstance(info, dict) else None
    return str(fp) if fp else None


def draw_posterior(post: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` particles drawn with replacement in proportion to their weights."""
    w = post["weight"].to_numpy(dtype=float)
    w = w / w.sum()
    idx = rng.choice(len(post), size=n, replace=True, p=w)
    return post.iloc[idx].reset_index(drop=True)


def predictive_check(cal: Calibration, post: pd.DataFrame, *, workers: int | None = None
                     ) -> pd.DataFrame:
    """Posterior-predictive values of the fitted and the out-of-sample patterns: draws from
    the posterior, each run with new seeds (keyed by the draw and ``#predictive``).

    One row per draw, scenario and pattern: value (the statistic across seeds), miss, holds
    and ``fitted`` (False: an out-of-sample pattern)."""
    rng = np.random.default_rng(np.random.SeedSequence(cal.seed, spawn_key=(0x9D1C7,)))
    draws = draw_posterior(post, cal.predictive["draws"], rng)
    cols = [p.name for p in cal.priors]
    every = cal.patterns + cal.checks
    by_s: dict[str, list] = {}
    for f in every:
        by_s.setdefault(f.scenario, []).append(f.pattern)
    fitted = {f.name for f in cal.patterns}
    scen = list(by_s)
    if workers is None:
        from ..sweeps.engines import default_workers

        workers = default_workers()
    n_workers = max(1, int(workers))
    rows = []
    for d, row in draws.iterrows():
        values = {c: float(row[c]) for c in cols}
        res = evaluate_particle(values, cal.priors, scen, cal.scenario_files, by_s,
                                cal.predictive["seeds"], cal.seed, cal.steps,
                                workers=n_workers, salt=f"predictive-{d}")
        for s, pats in by_s.items():
            for p in pats:
                v = res[f"value:{s}:{p.id}"]
                rows.append({"draw": int(d), "particle": int(row["particle"]), "scenario": s,
                             "pattern": p.id, "value": v,
                             "miss": res[f"miss:{s}:{p.id}"],
                             "holds": bool(res[f"miss:{s}:{p.id}"] == 0),
                             "fitted": f"{s}:{p.id}" in fitted, **values})
    return pd.DataFrame(rows)


# -- files ------------------------------------------------------------------------------------------
def _write_parquet(df: pd.DataFrame, path: Path, meta: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..common.files import atomic_write

    table = pa.Table.from_pandas(df, preserve_index=False)
    md = dict(table.schema.metadata or {})
    md[b"militant_sim"] = json.dumps(meta, default=str).encode()
    table = table.replace_schema_metadata(md)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp), durable=True)


def _write_json(path: Path, data: Any) -> None:
    from ..common.files import atomic_text

    atomic_text(path, json.dumps(nonfinite_to_text(data), indent=2, default=str) + "\n",
                durable=True)


def _read_manifest(out: Path) -> dict[str, Any] | None:
    f = out / MANIFEST
    if not f.is_file():
        return None
    try:
        m = json.loads(f.read_text())
    except (OSError, ValueError) as exc:
        raise CalibrationError(f, None, f"not valid JSON ({exc})",
                               allowed="delete the folder to start again") from None
    if not isinstance(m, dict) or m.get("kind") != KIND:
        raise CalibrationError(out, "--out", "holds something else than a calibration "
                               f"({MANIFEST} of another kind)", allowed="another --out")
    return m


def _new_manifest(cal: Calibration, old: dict[str, Any] | None, session) -> dict[str, Any]:
    from ..sweeps.runner import _versions

    m = dict(old or {})
    m.update(kind=KIND, name=cal.name, fingerprint=cal.fingerprint(),
             fingerprint_parts=cal.fingerprint_parts(), calibration=cal.resolved(),
             provenance={"versions": _versions(), "git": _git(), "code_digest": _code_digest(),
                         "file_sha256": cal.sha256},
             complete=False)
    m.setdefault("created", _now())
    m.setdefault("abc_id", 1)
    m["sessions"] = list((old or {}).get("sessions") or []) + [session]
    return m


def _differences(a: dict[str, Any], b: dict[str, Any]) -> str:
    keys = sorted(k for k in set(a) | set(b)
                  if json.dumps(a.get(k), sort_keys=True, default=str)
                  != json.dumps(b.get(k), sort_keys=True, default=str))
    return "differs in: " + ", ".join(keys) if keys else "differs"


def _git():
    from ..sweeps.runner import _git as g

    return g()


def _code_digest():
    from ..sweeps.runner import code_digest

    return code_digest()


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _duration(s: float) -> str:
    from ..sweeps.runner import _duration as d

    return d(s)


def load_posterior(folder: str | os.PathLike) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A calibration folder's posterior (one row per particle) and its manifest."""
    d = Path(folder)
    m = _read_manifest(d)
    if m is None or not (d / POSTERIOR).is_file():
        raise CalibrationError(d, None, f"not a finished calibration (no {MANIFEST} or "
                               f"{POSTERIOR})", allowed="a folder written by 'militant-sim "
                               "calibrate'")
    return pd.read_parquet(d / POSTERIOR), m


__all__ = ["Calibration", "CalibrationError", "Prior", "Simulator", "evaluate_particle",
           "load_calibration", "load_posterior", "miss", "run_calibration", "write_outputs"]
