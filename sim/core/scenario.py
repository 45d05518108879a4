"""Scenario files: loading, inheritance, overrides and validation.

A scenario is a TOML file in ``scenarios/``. It says only what differs from the baseline
(``sim.core.params``): parameter overrides, the map (zones), the groups, the initial relations
and a timeline of events. A scenario may name another as its ``base``: tables are merged key
by key, the ``timeline`` of the child is appended to the base's, and ``relations`` are merged
pair by pair.

Every problem is reported as a :class:`ScenarioError` naming the file, the key, the value
given and what is allowed.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..common.jsonio import jsonable  # noqa: F401 (re-exported)
from ..common.paths import PACKAGE_DIR
from ..common.units import WEEKS_PER_CALENDAR_YEAR, WEEKS_PER_MONTH  # noqa: F401
from .enums import TimelineKind
from .palette import GROUP_PALETTE, STATE_COLOUR, group_colour  # noqa: F401 (re-exported)
from .params import CELL_FIELDS, GROUP_FIELDS, PARAMS, Param

#: group colours and the state's colour come from the project's one palette (sim.core.palette)
PALETTE = GROUP_PALETTE
MAX_GROUPS = len(PALETTE)

#: the one pattern for every name used in file paths, column names and --set keys: scenario
#: and experiment names, group and zone names, timeline ids (docs/ODD.md, section 6.1)
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,31}$"
NAME_RE = re.compile(NAME_PATTERN)
NAME_ALLOWED = ("a letter, then up to 31 letters, digits, '_' or '-' (pattern "
                + NAME_PATTERN + ")")
#: deepest nesting of arrays and tables accepted in a scenario (a guard against files that
#: would exhaust the stack, not a limit any real scenario reaches)
MAX_DEPTH = 32


def valid_name(name: Any) -> bool:
    """Whether ``name`` matches :data:`NAME_PATTERN`."""
    return isinstance(name, str) and NAME_RE.fullmatch(name) is not None

_PACKAGE_DIR = PACKAGE_DIR


def scenario_dirs() -> list[Path]:
    """Folders searched for scenario files by name, first match wins."""
    dirs = []
    env = os.environ.get("MILITANT_SIM_SCENARIOS")
    if env:
        dirs.append(Path(env))
    dirs += [Path.cwd() / "scenarios", _PACKAGE_DIR.parent / "scenarios",
             _PACKAGE_DIR / "_scenarios"]
    return dirs


def toml_names(dirs: list[Path]) -> list[str]:
    """Names (file stems) of the TOML files in ``dirs``."""
    names: set[str] = set()
    for d in dirs:
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.toml"))
    return sorted(names)


def find_toml(name: str | os.PathLike, dirs: list[Path], what: str,
              error: type[ScenarioError]) -> Path:
    """Resolve a name (searched in ``dirs``, first match wins) or a path to an existing TOML
    file; otherwise raise ``error`` listing the names that exist (``what``: "scenario" ...)."""
    p = Path(name)
    if p.is_file():
        return p
    known = ", ".join(toml_names(dirs))
    if p.suffix == ".toml" or os.sep in str(name):
        raise error(p, None, f"no such {what} file",
                    allowed="a path to a .toml file, or one of: " + (known or "(none found)"))
    for d in dirs:
        f = d / f"{name}.toml"
        if f.is_file():
            return f
    raise error(str(name), None, f"unknown {what}", allowed=known or f"(no {what} files found)")


def available_scenarios() -> list[str]:
    """Names of the scenario files that can be loaded by name."""
    return toml_names(scenario_dirs())


DEFAULT_SCENARIO = "syria_2013"


class ScenarioError(ValueError):
    """A scenario (or an override of one) is invalid. The message is meant for people."""

    def __init__(self, file: str | os.PathLike | None, key: str | None, problem: str,
                 value: Any = None, allowed: str | None = None, *, has_value: bool = False):
        self.file = str(file) if file is not None else "<scenario>"
        self.key = key
        self.value = value
        self.allowed = allowed
        parts = [f"{self.file}"]
        if key:
            parts[0] += f": {key}"
        msg = parts[0] + f": {problem}"
        if has_value or value is not None:
            msg += f" (given: {value!r})"
        if allowed:
            msg += f"; allowed: {allowed}"
        super().__init__(msg)


class LimitError(ScenarioError):
    """A run went beyond a bound of the model (``max_fighters``) and was stopped."""


# ---------------------------------------------------------------------------------------------
# Timeline event kinds and their fields: (type, required, default, low, high, meaning)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    kind: str  # "zone", "group", "groups", "float", "int", "str", "field"
    required: bool = True
    default: Any = None
    low: float | None = None
    high: float | None = None
    meaning: str = ""


EVENT_KINDS: dict[str, dict[str, Field]] = {
    "intervention": {
        "zone": Field("zone", meaning="where the outside force strikes"),
        "targets": Field("groups", meaning="groups it targets"),
        "strength": Field("float", False, 1.0, 0.0, 1000.0, "strike strength (units)"),
        "until": Field("int", False, None, 0, 1_000_000, "week it ends (default: never)"),
    },
    "restriction": {
        "group": Field("group", meaning="the restricted group"),
        "zone": Field("zone", meaning="where its operations are restricted"),
        "level": Field("float", False, 0.8, 0.0, 1.0, "share of offensive operations forbidden"),
        "until": Field("int", False, None, 0, 1_000_000, "week it is lifted (default: never)"),
    },
    "leader_killed": {
        "group": Field("group", meaning="whose leader is killed"),
    },
    "governance_programme": {
        "zone": Field("zone", meaning="where governance and security forces are supported"),
        "target": Field("float", False, 0.8, 0.0, 1.0, "governance the programme builds toward"),
        "rate": Field("float", False, 0.02, 0.0, 1.0, "weekly share of the gap closed"),
        "security": Field("float", False, 5.0, 0.0, 1e5, "security capacity added per cell"),
        "until": Field("int", False, None, 0, 1_000_000, "week it ends (default: never)"),
    },
    "ground_offensive": {
        "zone": Field("zone", meaning="where ground forces allied to the state advance"),
        "targets": Field("groups", meaning="groups whose cells they contest"),
        "strength": Field("float", False, 200.0, 0.0, 1e6,
                          "fighter-equivalents committed (spread over the front)"),
        "axes": Field("int", False, 0, 0, 1000,
                      "axes it advances along (0: spread evenly over the whole front)"),
        "until": Field("int", False, None, 0, 1_000_000, "week it ends (default: never)"),
    },
    "set_group": {
        "group": Field("group", meaning="the group to change"),
        "field": Field("field", meaning="one of claim, propaganda, takfir, coercion, "
                       "foreign_inflow, momentum"),
        "value": Field("float", True, None, 0.0, 10_000.0, "the new value (range of the field)"),
    },
}
SETTABLE_GROUP_FIELDS = ("claim", "propaganda", "takfir", "coercion", "foreign_inflow",
                         "momentum")

RELATION_NAMES = ("rivalry", "truce", "war")

_TOP_KEYS = {"name", "description", "base", "sources", "seed", "params", "map", "zones",
             "groups", "relations", "timeline", "scale", "patterns"}
_SCALE_KEYS = {"fighters_per_agent", "km2_per_cell", "week0"}
_MAP_KEYS = {"width", "height", "default", "procedural"}
_PROCEDURAL_KEYS = {"capital", "radius", "falloff"} | set(CELL_FIELDS)
_ZONE_KEYS = {"rect", "disc", "raster", "description"} | set(CELL_FIELDS)


@dataclass(frozen=True)
class Scale:
    """What the model's units stand for (``[scale]``): real fighters per agent, km2 per cell,
    and the calendar date of week 0 (``None``: the scenario has no calendar)."""

    fighters_per_agent: float = 1.0
    km2_per_cell: float = 1.0
    week0: datetime.date | None = None

    def date(self, week: float) -> datetime.date | None:
        """The calendar date of a (whole) week, or None without ``week0`` or for a week that is
        not finite."""
        if self.week0 is None or week is None or not math.isfinite(float(week)):
            return None
        return self.week0 + datetime.timedelta(days=7 * int(round(float(week))))

    def iso(self, week: float) -> str | None:
        d = self.date(week)
        return d.isoformat() if d is not None else None

    def week_of(self, day: datetime.date) -> int:
        """The week a calendar date falls in (rounded to the nearest week); needs ``week0``."""
        if self.week0 is None:
            raise ValueError("this scenario has no [scale] week0")
        return int(round((day - self.week0).days / 7.0))

    def to_dict(self) -> dict[str, Any]:
        return {"fighters_per_agent": self.fighters_per_agent, "km2_per_cell": self.km2_per_cell,
                "week0": self.week0.isoformat() if self.week0 else None}


@dataclass
class Event:
    """One scheduled timeline event."""

    week: int
    kind: TimelineKind
    args: dict[str, Any]
    #: the scenario's ``note`` for the event (plain words for people), "" if none
    note: str = ""
    #: the scenario's ``id`` for the event, "" if none
    id: str = ""

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.args.items() if v is not None)
        return f"{self.kind}({args})"


@dataclass
class GroupSpec:
    """A militant group as the scenario defines it."""

    name: str
    colour: str
    takfir: float
    coercion: float
    claim: float
    propaganda: float
    claim_persistence: float
    cohesion: float
    tolerance: float
    fighters: int
    zone: str
    momentum: float
    foreign_inflow: float = 0.0
    administration: float = 0.0


@dataclass
class Scenario:
    """A validated, fully resolved scenario."""

    name: str
    description: str
    file: str
    params: dict[str, Any]
    width: int
    height: int
    cells: dict[str, np.ndarray]  # each of shape (width * height,), index c = y * width + x
    zones: dict[str, np.ndarray]  # boolean masks, same shape
    groups: list[GroupSpec]
    relations: dict[tuple[int, int], dict[str, Any]]
    timeline: list[Event]
    seed: int = 0
    raw: dict[str, Any] = field(default_factory=dict)
    scale: Scale = field(default_factory=Scale)
    #: the record the scenario should reproduce (``sim.core.patterns.Pattern``, ``[[patterns]]``)
    patterns: list[Any] = field(default_factory=list)
    #: the ``--set`` overrides applied to the scenario file (shown in outputs)
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def n_cells(self) -> int:
        return self.width * self.height

    @property
    def group_names(self) -> list[str]:
        return [g.name for g in self.groups]

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain data (for provenance in outputs)."""
        return json.loads(json.dumps(self.raw, default=jsonable))

    def digest(self) -> str:
        """A short hash of the resolved scenario (without its ``patterns``, which change no run,
        so that editing a target does not make a sweep folder refuse to resume, and without the
        options at their neutral value, which change no run either: adding an option to the
        model leaves the digests of the scenarios that do not use it as they were; so are the
        settings of such an option, which change no run while it is off)."""
        from .params import PARAMS

        raw = {k: v for k, v in self.raw.items() if k != "patterns"}
        params = raw.get("params")
        if isinstance(params, dict):  # options at their neutral value: as if absent

            def off(name: str) -> bool:
                p = PARAMS.get(name)
                return (p is not None and p.neutral is not None
                        and params.get(name, p.default) == p.neutral)

            raw["params"] = {k: v for k, v in params.items()
                             if not (off(k) or (k in PARAMS and PARAMS[k].needs is not None
                                                and off(PARAMS[k].needs)))}
        blob = json.dumps(raw, sort_keys=True, default=jsonable).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------
def find_scenario_file(name: str | os.PathLike) -> Path:
    """Resolve a scenario name or path to an existing file, or raise ScenarioError."""
    return find_toml(name, scenario_dirs(), "scenario", ScenarioError)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(path, None, f"cannot read the file: {exc.strerror}") from None
    raw = toml_text(path, data, ScenarioError)
    check_depth(path, raw, ScenarioError)
    return raw


def toml_text(file, data: bytes, error: type[ScenarioError] = ScenarioError) -> dict[str, Any]:
    """Parse the bytes of a TOML file, as UTF-8; every problem is one ``error``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(file, None, f"not UTF-8 text (byte {data[exc.start]:#04x} on line {line})",
                    allowed="a TOML file saved as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(file, None, f"not valid TOML: {exc}") from None
    except RecursionError:
        raise error(file, None, "not valid TOML: arrays or tables nested too deeply",
                    allowed=f"at most {MAX_DEPTH} levels") from None


def check_depth(file, raw: Any, error: type[ScenarioError] = ScenarioError,
                limit: int = MAX_DEPTH) -> None:
    """Refuse arrays and tables nested deeper than ``limit`` (checked without recursion)."""
    stack: list[tuple[Any, str, int]] = [(raw, "", 0)]
    while stack:
        node, key, depth = stack.pop()
        if depth > limit:
            raise error(file, key or None, "nested too deeply", allowed=f"at most {limit} "
                        "levels of arrays and tables")
        if isinstance(node, dict):
            stack.extend((v, f"{key}.{k}" if key else str(k), depth + 1) for k, v in node.items())
        elif isinstance(node, (list, tuple)):
            stack.extend((v, f"{key}[{i}]", depth + 1) for i, v in enumerate(node))


def _merge(base: dict, child: dict) -> dict:
    """Deep-merge child into a copy of base (tables by key, timeline appended)."""
    out = copy.deepcopy(base)
    for k, v in child.items():
        if k in ("timeline", "relations") and not (
                isinstance(v, list) and isinstance(out.get(k, []), list)):
            out[k] = copy.deepcopy(v)  # not an array: validate() says so
        elif k == "timeline":
            out[k] = list(out.get(k, [])) + list(v)
        elif k == "patterns" and isinstance(v, list):
            # merged by id (a child's entry changes or adds one); `patterns = []` drops them all
            if not v:
                out[k] = []
                continue
            pats = {p.get("id", i) if isinstance(p, dict) else i: p
                    for i, p in enumerate(out.get(k, []))}
            for i, p in enumerate(v):
                key = p.get("id", f"#{i}") if isinstance(p, dict) else f"#{i}"
                old = pats.get(key)
                pats[key] = {**old, **p} if isinstance(old, dict) and isinstance(p, dict) \
                    else copy.deepcopy(p)
            out[k] = list(pats.values())
        elif k == "relations":
            rel = {_pair_key(r): r for r in out.get(k, []) if isinstance(r, dict)}
            for r in v:
                key = _pair_key(r) if isinstance(r, dict) else id(r)
                rel[key] = {**rel.get(key, {}), **r} if isinstance(r, dict) else r
            out[k] = list(rel.values())
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _pair_key(r: dict) -> Any:
    """The key under which a relation's pair is merged (its two names, in either order)."""
    g = r.get("groups")
    if isinstance(g, list) and all(isinstance(x, str) for x in g):
        return tuple(sorted(g))
    return id(r)  # not a pair of names: kept apart, validate() says so


def _load_raw(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    raw = _read_toml(path)
    if not isinstance(raw, dict):
        raise ScenarioError(path, None, "a scenario file must be a TOML table")
    base = raw.get("base")
    if base is not None:
        if not isinstance(base, str) or not base:
            raise ScenarioError(path, "base", "must be the name of another scenario", base,
                                "a scenario name or a .toml file next to this one")
        base_path = path.parent / f"{base}.toml" if not base.endswith(".toml") else path.parent / base
        if not base_path.is_file():
            try:
                base_path = find_scenario_file(base)
            except ScenarioError as exc:
                raise ScenarioError(path, "base", "unknown scenario", base,
                                    exc.allowed) from None
        if base_path.resolve() in seen:
            raise ScenarioError(path, "base", "scenarios inherit from each other in a loop", base)
        parent = _load_raw(base_path, seen + (path.resolve(),))
        child = {k: v for k, v in raw.items() if k != "base"}
        parent.pop("name", None)
        parent.pop("description", None)
        merged = _merge(parent, child)
        merged.setdefault("_base", base)
        return merged
    return raw


def parse_value(text: str) -> Any:
    """Parse the value of a ``--set key=value`` as TOML (numbers, booleans, strings, lists)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any] | None,
                    file: str = "<overrides>") -> dict[str, Any]:
    """Apply ``key=value`` overrides to a raw scenario dict.

    A plain key (``clash_kappa``) is a global parameter; a dotted key walks the scenario's
    tables (``groups.ISIS.claim``, ``map.default.governance``, ``zones.east.security``);
    ``timeline.ID.FIELD`` sets a field of the timeline event(s) with ``id = "ID"``.
    """
    if not overrides:
        return raw
    raw = copy.deepcopy(raw)
    for key, value in overrides.items():
        check_depth(file, value, ScenarioError)
        parts = str(key).split(".")
        if len(parts) == 1:
            if key not in PARAMS:
                raise ScenarioError(file, key, "unknown parameter",
                                    allowed=_close_matches(key, PARAMS)
                                    or "a parameter name (see docs/ODD.md) or a dotted path "
                                    "such as groups.NAME.claim")
            raw.setdefault("params", {})[key] = value
            continue
        node = raw
        if parts[0] == "patterns" and len(parts) == 3:
            pats = [e for e in raw.get("patterns", []) if isinstance(e, dict)
                    and e.get("id") == parts[1]]
            if not pats:
                ids = [e.get("id") for e in raw.get("patterns", []) if isinstance(e, dict)]
                raise ScenarioError(file, key, "no pattern has this id", parts[1],
                                    ", ".join(map(str, ids)) or "(this scenario declares no "
                                    "pattern)")
            for e in pats:
                e[parts[2]] = value
            continue
        if parts[0] == "timeline" and len(parts) == 3:
            events = [e for e in raw.get("timeline", []) if isinstance(e, dict)
                      and e.get("id") == parts[1]]
            if not events:
                ids = [e.get("id") for e in raw.get("timeline", []) if isinstance(e, dict)
                       and e.get("id")]
                raise ScenarioError(file, key, "no timeline event has this id", parts[1],
                                    ", ".join(map(str, ids))
                                    or "(this scenario names no timeline event)")
            for e in events:
                e[parts[2]] = value
            continue
        for i, p in enumerate(parts[:-1]):
            nxt = node.get(p)
            prefix = ".".join(parts[: i + 1])
            if nxt is None and prefix in ("params", "map", "map.default", "map.procedural",
                                          "scale"):
                nxt = node[p] = {}  # a known table the scenario leaves at its defaults
            if not isinstance(nxt, dict):
                where = ".".join(parts[: i + 1])
                have = sorted(k for k, v in node.items() if isinstance(v, dict))
                raise ScenarioError(file, key, f"'{where}' is not a table of this scenario",
                                    allowed=", ".join(have) or None)
            node = nxt
        node[parts[-1]] = value
    return raw


def _close_matches(word: str, options) -> str | None:
    import difflib

    m = difflib.get_close_matches(word, list(options), n=3)
    return ("did you mean " + " or ".join(m) + "?") if m else None


def load_scenario(name: str | os.PathLike | Scenario = DEFAULT_SCENARIO,
                  overrides: dict[str, Any] | None = None) -> Scenario:
    """Load, merge, override and validate a scenario.

    ``name`` is a scenario name (``"sahel_2019"``), a path to a TOML file, or an already
    loaded :class:`Scenario` (then only the overrides are applied).
    """
    if isinstance(name, Scenario):
        if not overrides:
            return name
        raw = apply_overrides(name.raw, overrides)
        sc = validate(raw, name.file)
        sc.overrides = {**name.overrides, **overrides}
        return sc
    path = find_scenario_file(name)
    raw = _load_raw(path)
    raw.setdefault("name", path.stem)
    raw = apply_overrides(raw, overrides)
    sc = validate(raw, str(path), base_dir=path.parent)
    sc.overrides = dict(overrides or {})
    return sc


def scenario_from_dict(raw: dict[str, Any], overrides: dict[str, Any] | None = None,
                       file: str = "<dict>") -> Scenario:
    """Build a scenario from a dict with the same layout as a scenario file."""
    check_depth(file, raw, ScenarioError)
    raw = copy.deepcopy(raw)
    if "base" in raw:
        base = raw.pop("base")
        if not isinstance(base, str) or not base:
            raise ScenarioError(file, "base", "must be the name of another scenario", base)
        raw = _merge(_load_raw(find_scenario_file(base)), raw)
    sc = validate(apply_overrides(raw, overrides), file)
    sc.overrides = dict(overrides or {})
    return sc


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------
def _check_value(file, key, value, spec: Param):
    """Validate one value against its Param spec; return the cleaned value."""
    kind = spec.kind
    if kind is str:
        if not isinstance(value, str):
            raise ScenarioError(file, key, "wrong type", value, "a string")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ScenarioError(file, key, "wrong type", value, "true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(file, key, "wrong type", value, spec.allowed(), has_value=True)
    if kind is int:
        if isinstance(value, float):
            if not value.is_integer():
                raise ScenarioError(file, key, "must be a whole number", value, spec.allowed())
            value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise ScenarioError(file, key, "must be a finite number", value, spec.allowed())
    if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
        raise ScenarioError(file, key, "out of range", value, spec.allowed())
    return value


def _unknown(file, where, given, allowed):
    for k in given:
        if k not in allowed:
            hint = _close_matches(str(k), allowed)
            raise ScenarioError(file, f"{where}{k}", "unknown key",
                                allowed=(hint + " " if hint else "") + "one of: "
                                + ", ".join(sorted(allowed)))


def _table(file, key, value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ScenarioError(file, key, "must be a table", value, "a TOML table")
    return value


def _pair(file, key, value, lo, hi, kind=int):
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise ScenarioError(file, key, "must be a pair of numbers", value, "[a, b]")
    if not all(math.isfinite(v) for v in value):
        raise ScenarioError(file, key, "must be finite numbers", value,
                            f"[a, b] with values in [{lo}, {hi}]")
    if kind is int and not all(float(v).is_integer() for v in value):
        raise ScenarioError(file, key, "must be whole numbers", value, "[a, b]")
    out = [kind(v) for v in value]
    for v in out:
        if v < lo or v > hi:
            raise ScenarioError(file, key, "out of range", value, f"values in [{lo}, {hi}]")
    return out


def validate(raw: dict[str, Any], file: str = "<scenario>", base_dir: Path | None = None) -> Scenario:
    """Check every key and value of a raw scenario dict and build a :class:`Scenario`."""
    check_depth(file, raw, ScenarioError)
    raw = copy.deepcopy(raw)
    base_info = raw.pop("_base", None)
    _unknown(file, "", raw, _TOP_KEYS)
    sname = raw.get("name", Path(file).stem)
    # a name taken from the file's own name is always accepted; one written in the file
    # must match NAME_PATTERN (it names output folders)
    if sname != Path(file).stem and not valid_name(sname):
        raise ScenarioError(file, "name", "not a valid scenario name" if isinstance(sname, str)
                            else "must be a string", sname, NAME_ALLOWED)

    # -- params ------------------------------------------------------------------------------
    params = {n: p.default for n, p in PARAMS.items()}
    for k, v in _table(file, "params", raw.get("params")).items():
        if k not in PARAMS:
            hint = _close_matches(k, PARAMS)
            raise ScenarioError(file, f"params.{k}", "unknown parameter",
                                allowed=hint or "a parameter listed in docs/ODD.md")
        params[k] = _check_value(file, f"params.{k}", v, PARAMS[k])

    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 63:
        raise ScenarioError(file, "seed", "must be a non-negative integer", seed,
                            "an integer in [0, 2**63)")

    # -- map ---------------------------------------------------------------------------------
    mp = _table(file, "map", raw.get("map"))
    _unknown(file, "map.", mp, _MAP_KEYS)
    W = mp.get("width", 30)
    H = mp.get("height", 30)
    for k, v in (("map.width", W), ("map.height", H)):
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1000:
            raise ScenarioError(file, k, "must be a whole number of cells", v, "1 to 1000")
    C = W * H
    xs = np.tile(np.arange(W), H)
    ys = np.repeat(np.arange(H), W)

    cells: dict[str, np.ndarray] = {}
    default = _table(file, "map.default", mp.get("default"))
    _unknown(file, "map.default.", default, CELL_FIELDS)
    for name, spec in CELL_FIELDS.items():
        v = _check_value(file, f"map.default.{name}", default.get(name, spec.default), spec)
        cells[name] = np.full(C, float(v))

    zones: dict[str, np.ndarray] = {"all": np.ones(C, bool)}
    proc = mp.get("procedural")
    if proc is not None:
        proc = _table(file, "map.procedural", proc)
        _unknown(file, "map.procedural.", proc, _PROCEDURAL_KEYS)
        cx, cy = _pair(file, "map.procedural.capital", proc.get("capital", [W // 2, H // 2]),
                       0, max(W, H), float)
        radius = proc.get("radius", max(1.0, min(W, H) / 8))
        radius = _check_value(file, "map.procedural.radius", radius,
                              Param("radius", 1.0, "", low=0.0, high=1e4))
        falloff = _check_value(file, "map.procedural.falloff",
                               proc.get("falloff", radius if radius > 0 else 1.0),
                               Param("falloff", 1.0, "", low=1e-3, high=1e4))
        d = np.hypot(xs - cx, ys - cy)
        t = 1.0 - np.exp(-np.maximum(0.0, d - radius) / falloff)  # 0 in the capital, -> 1 far
        for name, spec in CELL_FIELDS.items():
            if name in proc:
                lo_hi = _pair(file, f"map.procedural.{name}", proc[name],
                              spec.low, spec.high, float)
                cells[name] = lo_hi[0] + (lo_hi[1] - lo_hi[0]) * t
        zones["capital"] = d <= radius

    for zname, z in _table(file, "zones", raw.get("zones")).items():
        zkey = f"zones.{zname}"
        if not valid_name(zname):
            raise ScenarioError(file, zkey, "not a valid zone name", zname, NAME_ALLOWED)
        z = _table(file, zkey, z)
        _unknown(file, zkey + ".", z, _ZONE_KEYS)
        shapes = [s for s in ("rect", "disc", "raster") if s in z]
        if len(shapes) != 1:
            raise ScenarioError(file, zkey, "a zone needs exactly one shape", shapes or None,
                                "one of rect = [x0, y0, x1, y1], disc = [x, y, r], raster = FILE")
        shape = shapes[0]
        if shape == "rect":
            r = z["rect"]
            if (not isinstance(r, list) or len(r) != 4
                    or not all(isinstance(v, int) and not isinstance(v, bool) for v in r)):
                raise ScenarioError(file, f"{zkey}.rect", "must be four whole numbers", r,
                                    "[x0, y0, x1, y1], corners included, inside the map")
            x0, y0, x1, y1 = r
            if not (0 <= x0 <= x1 < W and 0 <= y0 <= y1 < H):
                raise ScenarioError(file, f"{zkey}.rect", "outside the map or empty", r,
                                    f"0 <= x0 <= x1 < {W} and 0 <= y0 <= y1 < {H}")
            mask = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
        elif shape == "disc":
            dsc = z["disc"]
            if (not isinstance(dsc, list) or len(dsc) != 3
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                               and math.isfinite(v) for v in dsc)
                    or dsc[2] < 0):
                raise ScenarioError(file, f"{zkey}.disc", "must be three numbers", dsc,
                                    "[x, y, radius] with radius >= 0")
            mask = np.hypot(xs - dsc[0], ys - dsc[1]) <= dsc[2]
        else:
            mask = _read_raster(file, f"{zkey}.raster", z["raster"], W, H, base_dir)
        if not mask.any():
            raise ScenarioError(file, zkey, "the zone has no cell inside the map", z.get(shape),
                                f"a shape overlapping the {W}x{H} map")
        zones[zname] = mask
        for name, spec in CELL_FIELDS.items():
            if name in z:
                cells[name][mask] = float(_check_value(file, f"{zkey}.{name}", z[name], spec))

    cells["population"] = np.round(cells["population"])

    # -- groups ------------------------------------------------------------------------------
    graw = _table(file, "groups", raw.get("groups"))
    if not graw:
        raise ScenarioError(file, "groups", "a scenario needs at least one group",
                            allowed="[groups.NAME] tables")
    if len(graw) > MAX_GROUPS:
        raise ScenarioError(file, "groups", "too many groups", len(graw), f"at most {MAX_GROUPS}")
    groups: list[GroupSpec] = []
    for i, (gname, g) in enumerate(graw.items()):
        gkey = f"groups.{gname}"
        if gname in ("state", "none", "all"):
            raise ScenarioError(file, gkey, "reserved name", gname, "any other name")
        if not valid_name(gname):
            raise ScenarioError(file, gkey, "not a valid group name", gname, NAME_ALLOWED)
        g = _table(file, gkey, g)
        _unknown(file, gkey + ".", g, GROUP_FIELDS)
        vals = {n: _check_value(file, f"{gkey}.{n}", g.get(n, s.default), s)
                for n, s in GROUP_FIELDS.items()}
        if not vals["colour"]:
            vals["colour"] = group_colour(i)
        elif not _is_colour(vals["colour"]):
            raise ScenarioError(file, f"{gkey}.colour", "not a colour", vals["colour"],
                                "a colour name or hex code matplotlib knows, e.g. \"#E69F00\" "
                                "or \"darkred\"")
        if vals["zone"] and vals["zone"] not in zones:
            raise ScenarioError(file, f"{gkey}.zone", "unknown zone", vals["zone"],
                                ", ".join(zones))
        groups.append(GroupSpec(name=gname, **vals))
    names = [g.name for g in groups]
    index = {n: i for i, n in enumerate(names)}

    # -- relations ---------------------------------------------------------------------------
    relations: dict[tuple[int, int], dict[str, Any]] = {}
    rel_raw = raw.get("relations", [])
    if not isinstance(rel_raw, list):
        raise ScenarioError(file, "relations", "must be an array of tables", rel_raw,
                            "[[relations]] groups = [A, B], state = ...")
    for k, r in enumerate(rel_raw):
        rkey = f"relations[{k}]"
        r = _table(file, rkey, r)
        _unknown(file, rkey + ".", r, {"groups", "state", "hostility", "since"})
        pair = r.get("groups")
        if (not isinstance(pair, list) or len(pair) != 2 or pair[0] == pair[1]
                or not all(isinstance(x, str) for x in pair)):
            raise ScenarioError(file, f"{rkey}.groups", "must name two different groups", pair,
                                "[A, B] with A and B in " + ", ".join(names))
        for gname in pair:
            if gname not in index:
                raise ScenarioError(file, f"{rkey}.groups", "unknown group", gname,
                                    ", ".join(names))
        state = r.get("state", "rivalry")
        if not isinstance(state, str) or state not in RELATION_NAMES:
            raise ScenarioError(file, f"{rkey}.state", "unknown relation state", state,
                                ", ".join(RELATION_NAMES))
        entry: dict[str, Any] = {"state": state}
        if "hostility" in r:
            entry["hostility"] = _check_value(file, f"{rkey}.hostility", r["hostility"],
                                              Param("hostility", 0.5, "", low=0.0, high=1.0))
        if "since" in r:
            entry["since"] = _check_value(file, f"{rkey}.since", r["since"],
                                          Param("since", 0, "", low=-100000, high=0, kind=int))
        a, b = sorted((index[pair[0]], index[pair[1]]))
        relations[(a, b)] = entry

    # -- timeline ----------------------------------------------------------------------------
    timeline: list[Event] = []
    tl = raw.get("timeline", [])
    if not isinstance(tl, list):
        raise ScenarioError(file, "timeline", "must be an array of tables", tl,
                            "[[timeline]] week = N, event = KIND, ...")
    for k, e in enumerate(tl):
        ekey = f"timeline[{k}]"
        e = _table(file, ekey, e)
        kind = e.get("event")
        if not isinstance(kind, str) or kind not in EVENT_KINDS:
            raise ScenarioError(file, f"{ekey}.event", "unknown event", kind,
                                ", ".join(EVENT_KINDS))
        spec = EVENT_KINDS[kind]
        _unknown(file, ekey + ".", e, set(spec) | {"week", "event", "note", "id"})
        if "id" in e and not valid_name(e["id"]):
            raise ScenarioError(file, f"{ekey}.id", "not a valid timeline id", e["id"],
                                NAME_ALLOWED)
        week = e.get("week")
        if isinstance(week, bool) or not isinstance(week, int) or week < 0:
            raise ScenarioError(file, f"{ekey}.week", "must be a whole week >= 0", week,
                                "an integer >= 0")
        args: dict[str, Any] = {}
        for fname, f in spec.items():
            fk = f"{ekey}.{fname}"
            if fname not in e:
                if f.required:
                    raise ScenarioError(file, fk, f"missing for event '{kind}'",
                                        allowed=f.meaning)
                args[fname] = f.default
                continue
            v = e[fname]
            if f.kind == "zone":
                if not isinstance(v, str) or v not in zones:
                    raise ScenarioError(file, fk, "unknown zone" if isinstance(v, str)
                                        else "must be the name of a zone", v, ", ".join(zones))
            elif f.kind == "group":
                if not isinstance(v, str) or v not in index:
                    raise ScenarioError(file, fk, "unknown group" if isinstance(v, str)
                                        else "must be the name of a group", v, ", ".join(names))
            elif f.kind == "groups":
                if isinstance(v, str):
                    v = [v]
                if (not isinstance(v, list) or not v
                        or any(not isinstance(x, str) or x not in index for x in v)):
                    raise ScenarioError(file, fk, "must list known groups", v,
                                        "a list of: " + ", ".join(names))
            elif f.kind == "field":
                if not isinstance(v, str) or v not in SETTABLE_GROUP_FIELDS:
                    raise ScenarioError(file, fk, "cannot be set by an event", v,
                                        ", ".join(SETTABLE_GROUP_FIELDS))
            else:
                v = _check_value(file, fk, v, Param(fname, f.default, f.meaning, low=f.low,
                                                    high=f.high,
                                                    kind=int if f.kind == "int" else float))
            args[fname] = v
        if kind == "set_group":
            _check_value(file, f"{ekey}.value", args["value"], GROUP_FIELDS[args["field"]])
        if args.get("until") is not None and args["until"] <= week:
            raise ScenarioError(file, f"{ekey}.until", "must come after the event's week",
                                args["until"], f"a week > {week}")
        note = e.get("note", "")
        if not isinstance(note, str):
            raise ScenarioError(file, f"{ekey}.note", "must be a string", note,
                                "free text in quotes")
        timeline.append(Event(week, TimelineKind(kind), args, note.strip(),
                              str(e.get("id", ""))))
    timeline.sort(key=lambda ev: ev.week)

    # -- scale and patterns (sim.core.patterns holds the measures) ----------------------------------
    scale = _scale(file, raw.get("scale"))
    from .patterns import parse_patterns

    patterns = parse_patterns(file, raw.get("patterns", []), names, scale)

    desc = raw.get("description", "")
    if not isinstance(desc, str):
        raise ScenarioError(file, "description", "must be a string", desc)
    resolved = dict(raw)
    resolved["params"] = params
    if base_info:
        resolved["base"] = base_info
    return Scenario(name=str(sname), description=desc, file=str(file),
                    params=params, width=W, height=H, cells=cells, zones=zones, groups=groups,
                    relations=relations, timeline=timeline, seed=seed, raw=resolved,
                    scale=scale, patterns=patterns)


def parse_date(file, key: str, value: Any) -> datetime.date:
    """A calendar date: a TOML date (``2013-04-01``) or an ISO string (``"2013-04-01"``)."""
    if isinstance(value, datetime.datetime):
        raise ScenarioError(file, key, "must be a date without a time", value.isoformat(),
                            "a date such as 2013-04-01")
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ScenarioError(file, key, "not a calendar date", value,
                        "a date such as 2013-04-01 (TOML date or \"YYYY-MM-DD\")",
                        has_value=True)


def _scale(file, value) -> Scale:
    """Validate ``[scale]``: every key optional (fighters_per_agent 1, km2_per_cell 1, no week0)."""
    sc = _table(file, "scale", value)
    _unknown(file, "scale.", sc, _SCALE_KEYS)
    nums = {}
    for k, meaning in (("fighters_per_agent", "real fighters one agent stands for"),
                       ("km2_per_cell", "square kilometres one cell stands for")):
        v = sc.get(k, 1.0)
        if (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
                or not 0 < v <= 1e7):
            raise ScenarioError(file, f"scale.{k}", "must be a positive number", v,
                                f"a number in (0, 1e7]: {meaning}", has_value=True)
        nums[k] = float(v)
    week0 = parse_date(file, "scale.week0", sc["week0"]) if "week0" in sc else None
    return Scale(week0=week0, **nums)


def _read_raster(file, key, value, W, H, base_dir: Path | None) -> np.ndarray:
    """A raster zone: a text file of H lines of W characters, '.' or '0' outside, else inside.

    The first line is the top row (y = H - 1), as on a printed map.
    """
    if not isinstance(value, str):
        raise ScenarioError(file, key, "must be a file name", value, "a text file path")
    p = Path(value)
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    if not p.is_file():
        raise ScenarioError(file, key, "raster file not found", str(p))
    try:
        if p.stat().st_size > 4 * (W + 2) * H + 4096:
            raise ScenarioError(file, key, f"raster file {p} is far larger than the map",
                                allowed=f"{H} lines of {W} characters")
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(file, key, f"raster file {p} is not UTF-8 text (byte "
                            f"{exc.object[exc.start]:#04x})",
                            allowed=f"{H} lines of {W} characters") from None
    except OSError as exc:
        raise ScenarioError(file, key, f"cannot read raster file {p}: {exc.strerror}") from None
    lines = [ln.rstrip("\n") for ln in text.splitlines() if ln.strip()]
    if len(lines) != H or any(len(ln) != W for ln in lines):
        raise ScenarioError(file, key, "raster size does not match the map",
                            f"{len(lines)} lines of {sorted({len(ln) for ln in lines})} chars",
                            f"{H} lines of {W} characters")
    grid = np.array([[ch not in ".0" for ch in ln] for ln in lines])[::-1]  # row 0 = y 0
    return grid.reshape(-1)


def _is_colour(value: str) -> bool:
    """Whether matplotlib can draw with this colour (checked at load, not after the run);
    without matplotlib (the model installed without the tooling), a '#RRGGBB' colour."""
    try:
        from matplotlib.colors import is_color_like
    except ImportError:
        return re.fullmatch(r"#[0-9A-Fa-f]{6}", str(value)) is not None

    try:
        return bool(is_color_like(value))
    except Exception:  # noqa: BLE001 - anything matplotlib cannot parse is not a colour
        return False
