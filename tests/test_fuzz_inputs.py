"""Fuzzing the inputs: a few hundred generated bad scenarios, experiments and command lines.

Every case breaks one key of a valid input with a value that cannot be right for it (a wrong
type, a list or table where a name is expected, NaN, infinity, out of range, a bad name, deep
nesting, bytes that are not UTF-8). Each must end in a ScenarioError (ExperimentError is one)
or, on the command line, exit status 2 with one message naming the key: never another
exception. The loaders and ``cli.main`` run in this process (fast); a handful of cases run
the real command.
"""

from __future__ import annotations

import copy
import math
import random
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from test_scenario_errors import VALID
from test_sweep_helpers import experiment, to_toml

from sim import cli
from sim.sweeps.design import ExperimentError, load_experiment
from sim.core.params import CELL_FIELDS, GROUP_FIELDS, PARAMS
from sim.core.scenario import ScenarioError, load_scenario, scenario_from_dict

MILITANT_SIM = str(Path(sys.executable).parent / "militant-sim")
NAN, INF = float("nan"), float("inf")
DEEP = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
#: wrong types for anything that is not a string
NOT_A_NUMBER = ["x", [1], {"a": 1}, True, DEEP]
#: wrong values for a name (of a zone, group, event, relation state)
NOT_A_NAME = [1, 2.5, True, ["x"], {"a": "b"}, [], DEEP]


def bad_numbers(p) -> list[Any]:
    """Values a numeric parameter must refuse."""
    out: list[Any] = [NAN, INF, -INF] + NOT_A_NUMBER
    if p.low is not None:
        out.append(p.low - 1 if p.kind is int else p.low - abs(p.low) * 0.5 - 0.5)
    if p.high is not None:
        out += [p.high * 10 + 1, 1e300]
    if p.kind is int:
        out.append((p.low or 0) + 0.5)
    return out


def key_text(path: tuple) -> str:
    """How the loader names a key: groups.A.claim, timeline[0].level, relations[0].groups."""
    s = ""
    for part in path:
        s += f"[{part}]" if isinstance(part, int) else (f".{part}" if s else str(part))
    return s


def scenario_cases() -> list[tuple[str, tuple, Any, str]]:
    """(case id, path, bad value, key the message must name)."""
    cases: list[tuple[tuple, Any, str | None]] = []
    rng = random.Random(20240601)
    params = rng.sample(sorted(n for n, p in PARAMS.items() if p.kind in (int, float)), 12)
    for name in params + ["steps", "clash_kappa", "max_fighters"]:
        for v in bad_numbers(PARAMS[name]):
            cases.append((("params", name), v, None))
    for name, p in GROUP_FIELDS.items():
        if p.kind in (int, float):
            for v in bad_numbers(p):
                cases.append((("groups", "A", name), v, None))
    for v in NOT_A_NAME[:-1] + ["west", "no zone"]:
        cases.append((("groups", "A", "zone"), v, None))
    for v in [1, ["red"], {"r": 1}, "notacolour", "#12", "rgb(0,0,0)"]:
        cases.append((("groups", "A", "colour"), v, None))
    for name, p in CELL_FIELDS.items():
        for v in bad_numbers(p)[:7]:
            cases.append((("map", "default", name), v, None))
            cases.append((("zones", "east", name), v, None))
    for v in [0, 1001, 2.5, "x", True, [6], NAN]:
        cases.append((("map", "width"), v, None))
        cases.append((("map", "height"), v, None))
    for v in [[1, 2, 3], [0, 0, 9, 9], [3, 0, 2, 3], "x", [1.5, 0, 2, 2], [True, 0, 1, 1],
              [NAN, 0, 1, 1], {"a": 1}]:
        cases.append((("zones", "east", "rect"), v, None))
    for v in [[1, 1], [1, 1, -1], [NAN, 1, 1], [1, INF, 1], "x", [1, 1, "r"]]:
        cases.append((("zones", "south", "disc"), v, None))
    for v in [1, ["a.txt"], "missing.txt", ""]:
        cases.append((("zones", "south", "raster"), v, None))
    for v in [[NAN, 0.2], [0.2, INF], [0.1], [0.1, 0.2, 0.3], "x", [0.1, "y"], [2.0, 0.1]]:
        cases.append((("map", "procedural", "governance"), v, None))
    for v in [[NAN, 1], [1], "centre", [1, 2, 3], [-5, 1]]:
        cases.append((("map", "procedural", "capital"), v, None))
    for v in [-1, NAN, "x", [1], 1e9]:
        cases.append((("map", "procedural", "radius"), v, None))
        cases.append((("map", "procedural", "falloff"), v, None))
    for v in ["A", ["A"], ["A", "A"], ["A", "Z"], [1, 2], [["A"], "B"], {"a": 1}, ["A", None]]:
        if v is not None and None not in (v if isinstance(v, list) else []):
            cases.append((("relations", 0, "groups"), v, None))
    for v in ["alliance", 1, ["truce"], {"s": 1}]:
        cases.append((("relations", 0, "state"), v, None))
    for v in [NAN, 2.0, -1.0, "x"]:
        cases.append((("relations", 0, "hostility"), v, None))
    for v in ["nope", 1, ["restriction"], {"a": 1}, True]:
        cases.append((("timeline", 0, "event"), v, None))
    for v in [-1, 1.5, "x", True, NAN, [3]]:
        cases.append((("timeline", 0, "week"), v, None))
    for v in [2, 3, -1, 1.5, "x", NAN]:
        cases.append((("timeline", 0, "until"), v, None))
    for v in NOT_A_NAME[:-1] + ["Z"]:
        cases.append((("timeline", 0, "group"), v, None))
    for v in NOT_A_NAME[:-1] + ["south"]:
        cases.append((("timeline", 0, "zone"), v, None))
    for v in bad_numbers(PARAMS["clash_kappa"])[:6]:  # level is in [0, 1]
        cases.append((("timeline", 0, "level"), v, None))
    for v in [1, ["x"], "a.b", "a b", "9lives", "x" * 40]:
        cases.append((("timeline", 0, "id"), v, None))
    for v in [1, ["mini"], "../../x", "/abs/x", "a/b", "", "..", "caf\u00e9", "x" * 40]:
        cases.append((("name",), v, None))
    for v in [-1, 1.5, "x", 2 ** 64, True]:
        cases.append((("seed",), v, None))
    for v in [1, ["d"], {"a": 1}]:
        cases.append((("description",), v, None))
    for top, v in [("params", 1), ("map", "x"), ("groups", []), ("zones", 3),
                   ("timeline", {"a": 1}), ("relations", "x"), ("timeline", [1]),
                   ("relations", [[1]]), ("groups", {}), ("map", DEEP),
                   ("params", {"x" + "y" * 3: {"deeper": DEEP}})]:
        cases.append(((top,), v, top))
    # unknown keys and bad names of groups and zones
    for path in [("colour_scheme",), ("params", "clash_kapa"), ("groups", "A", "takfeer"),
                 ("map", "default", "governence"), ("zones", "east", "securty"),
                 ("map", "procedural", "centre"), ("relations", 0, "with"),
                 ("timeline", 0, "levle"), ("map", "depth")]:
        cases.append((path, 1, None))
    out = []
    for i, (path, v, key) in enumerate(cases):
        out.append((f"{i:03d}-{key_text(path)}", path, v, key or key_text(path)))
    for gname in ["B|C", "B>C", "1st", "B C", "state", "all", "", "x" * 40, "A.B"]:
        out.append((f"group-name-{gname[:8]}", ("groups", gname), {"fighters": 5},
                    f"groups.{gname}"))
    for zname in ["east/west", "e.w", "9z", "", "a|b"]:
        out.append((f"zone-name-{zname}", ("zones", zname), {"rect": [0, 0, 1, 1]},
                    f"zones.{zname}"))
    return out


def set_path(raw: dict, path: tuple, value: Any) -> dict:
    raw = copy.deepcopy(raw)
    node = raw
    for part in path[:-1]:
        if isinstance(part, str) and part not in node:
            node[part] = {}
        node = node[part]
    node[path[-1]] = copy.deepcopy(value)
    return raw


BASE_SCENARIO = tomllib.loads(VALID)
SCENARIO_CASES = scenario_cases()


def assert_names_key(exc: BaseException, key: str) -> None:
    assert isinstance(exc, ScenarioError), f"{type(exc).__name__}: {exc}"
    msg = str(exc)
    assert "\n" not in msg, msg
    assert key in msg, f"{key!r} not named in: {msg}"


def test_there_are_a_few_hundred_cases():
    assert len(SCENARIO_CASES) >= 300


@pytest.mark.parametrize("part", range(4))
def test_bad_scenarios_from_dicts_are_scenario_errors_naming_the_key(part):
    problems = []
    for cid, path, value, key in SCENARIO_CASES[part::4]:
        raw = set_path(BASE_SCENARIO, path, value)
        try:
            scenario_from_dict(raw, file="fuzz.toml")
        except ScenarioError as exc:
            if key not in str(exc) or "\n" in str(exc):
                problems.append(f"{cid}: the message does not name {key!r}: {exc}")
        except Exception as exc:  # noqa: BLE001 - the point of the test
            problems.append(f"{cid}: {type(exc).__name__}: {exc}")
        else:
            problems.append(f"{cid}: accepted {value!r}")
    assert not problems, "\n".join(problems[:40])


def _toml_value(v: Any) -> str | None:
    """A TOML literal of v (None if TOML cannot write it)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        items = [_toml_value(x) for x in v]
        return None if None in items else "[" + ", ".join(items) + "]"
    if isinstance(v, dict):
        items = [(k, _toml_value(x)) for k, x in v.items()]
        if any(x is None for _, x in items):
            return None
        return "{ " + ", ".join(f'"{k}" = {x}' for k, x in items) + " }"
    return None


def test_bad_scenario_files_are_scenario_errors_naming_the_file_and_key(tmp_path):
    """The same cases written as TOML files (the path the command line takes)."""
    problems, n = [], 0
    for cid, path, value, key in SCENARIO_CASES[::3]:
        raw = set_path(BASE_SCENARIO, path, value)
        text = _toml_value(raw)
        if text is None or isinstance(value, dict) and path[0] in ("groups", "zones"):
            continue
        f = tmp_path / "fuzz.toml"
        # one inline table per top-level key: valid TOML whatever the nesting
        lines = [f'"{k}" = {_toml_value(v)}' for k, v in raw.items()]
        if any(x.endswith("= None") for x in lines):
            continue
        f.write_text("\n".join(lines) + "\n")
        n += 1
        try:
            load_scenario(f)
        except ScenarioError as exc:
            if key not in str(exc) or str(f) not in str(exc):
                problems.append(f"{cid}: the message does not name {f} and {key!r}: {exc}")
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{cid}: {type(exc).__name__}: {exc}")
        else:
            problems.append(f"{cid}: accepted {value!r}")
    assert n >= 80
    assert not problems, "\n".join(problems[:40])


@pytest.mark.parametrize("raw_bytes,what", [
    (b'name = "caf\xe9"\n', "not UTF-8"),
    (b"\xff\xfe" + 'name = "x"\n'.encode("utf-16-le"), "not UTF-8"),
    (b"a = " + b"[" * 3000 + b"]" * 3000 + b"\n", "nested too deeply"),
    (b"a = " + b"{ b = " * 40 + b"1" + b" }" * 40 + b"\n", "nested too deeply"),
    (b"[params\nx = 1\n", "not valid TOML"),
    (b"\x00\x01\x02", "not valid TOML"),
    (b'name = "x"\nname = "y"\n', "not valid TOML"),
])
def test_bad_bytes_in_a_scenario_file(tmp_path, raw_bytes, what):
    f = tmp_path / "b.toml"
    f.write_bytes(raw_bytes)
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert str(f) in str(info.value) and what in str(info.value)


# ---------------------------------------------------------------------------------------------
# Experiments
# ---------------------------------------------------------------------------------------------
def experiment_cases() -> list[tuple[str, dict, str]]:
    cases: list[tuple[dict, str]] = []
    for v in [1, ["x"], "..", ".", "a/b", "/abs", "", "x" * 40, "9x", DEEP]:
        cases.append(({"experiment__name": v}, "experiment.name"))
    for v in [1, ["classroom"], "", "no_such_scenario", "nowhere/x.toml", {"a": 1}]:
        cases.append(({"experiment__scenario": v}, "experiment.scenario"))
    for k in ("steps", "replicates", "collect_every"):
        for v in [-1, 1.5, "x", True, NAN, INF, 10 ** 12, [1]]:
            if k == "collect_every" and v == 10 ** 12:
                continue
            cases.append(({f"experiment__{k}": v}, f"experiment.{k}"))
    for v in [-1, 1.5, "x", True, NAN]:
        cases.append(({"experiment__seed": v}, "experiment.seed"))
    for v in [[], "clash_rate", [1], ["clash_rat"], ["final_fighters"], ["final_fighters:Nope"],
              ["clash_rate", "clash_rate"], [["clash_rate"]], [""], ["truce_share:A"]]:
        cases.append(({"experiment__outcomes": v}, "experiment.outcomes"))
    for v in ["fighters.*", [1], ["nomatch.*"], [""], [["a"]]]:
        cases.append(({"experiment__series": v}, "experiment.series"))
    cases.append(({"experiment__unknown": 1}, "experiment.unknown"))
    cases.append(({"surprise": {"a": 1}}, "surprise"))
    for v in [NAN, INF, -1.0, 1e9, "x", [0.1], {"a": 1}, True]:
        cases.append(({"constants": {"clash_kappa": v}}, 'constants."clash_kappa"'))
    for key in ["no_such_param", "groups.Nope.claim", "timeline.nope.level", "zones.x.y",
                "groups.Front|X.claim", "map.default.depth"]:
        cases.append(({"constants": {key: 0.1}}, "constants"))
    cases.append(({"constants": {"steps": 10}}, 'constants."steps"'))
    cases.append(({"constants": 5}, "constants"))
    pk = "groups.Front.propaganda"
    for v in ["x", 5, [], [[0.1]], [{"a": 1}], [NAN], [INF], [0.1, 0.1], [2.0], [True]]:
        cases.append(({"parameters": {pk: v}}, f'parameters."{pk}"'))
    for spec in [{"low": 0.0}, {"low": NAN, "high": 1.0, "num": 3}, {"low": 1.0, "high": 0.0,
                                                                   "num": 3},
                 {"low": 0.0, "high": 1.0, "num": 1}, {"low": 0.0, "high": 1.0, "num": 1e9},
                 {"low": 0.0, "high": 1.0, "num": "x"}, {"low": 0.0, "high": 1.0, "num": 3,
                                                         "integer": "yes"},
                 {"low": 0.0, "high": 1.0, "num": 3, "step": 1}, {"low": 0.0, "high": 2.0,
                                                                  "num": 3},
                 {"low": "a", "high": 1.0, "num": 3}, {"low": 0.0, "high": INF, "num": 3}]:
        cases.append(({"parameters": {pk: spec}}, f'parameters."{pk}"'))
    cases.append(({"parameters": {"steps": [1, 2]}}, 'parameters."steps"'))
    cases.append(({"parameters": {"clash_kappa": [0.1]}}, 'parameters."clash_kappa"'))
    cases.append(({"parameters": {"no_such": [1, 2]}}, 'parameters."no_such"'))
    for v in [{"kind": "fractal"}, {"kind": ["grid"]}, {"kind": 1}, {"kind": "grid",
                                                                      "samples": 4},
              {"kind": "lhs"}, {"kind": "lhs", "samples": 1}, {"kind": "sobol", "samples": 3},
              {"kind": "sobol", "samples": 2 ** 40}, {"kind": "morris", "samples": 4,
                                                       "levels": 3},
              {"kind": "lhs", "samples": 4, "scramble": "yes"}, {"kind": "grid", "extra": 1},
              {"kind": "grid", "second_order": True}]:
        cases.append(({"design": v}, "design"))
    for k, v in [("outcome", "clash_count"), ("outcome", ["clash_rate"]), ("expect", "bigger"),
                 ("expect", ["greater"]), ("control", {"nope": 1}), ("control", "x"),
                 ("control", {pk: 0.99}), ("treatment", {}), ("min_effect", -1),
                 ("min_effect", "big"), ("id", 5), ("statement", ["s"]), ("also", 3),
                 ("also", [5]), ("unknown", 1)]:
        cases.append(({f"hypothesis__{k}": v}, "hypothesis"))
    return [(f"{i:03d}-{key}", ch, key) for i, (ch, key) in enumerate(cases)]


EXPERIMENT_CASES = experiment_cases()


def test_there_are_many_experiment_cases():
    assert len(EXPERIMENT_CASES) >= 120


@pytest.mark.parametrize("part", range(3))
def test_bad_experiments_are_experiment_errors_naming_the_key(part):
    problems = []
    for cid, changes, key in EXPERIMENT_CASES[part::3]:
        try:
            load_experiment(experiment(**changes))
        except ExperimentError as exc:
            if key not in str(exc) or "\n" in str(exc):
                problems.append(f"{cid}: the message does not name {key!r}: {exc}")
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{cid}: {type(exc).__name__}: {exc}")
        else:
            problems.append(f"{cid}: accepted {changes!r}")
    assert not problems, "\n".join(problems[:40])


def test_bad_experiment_files_through_the_command_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    problems = []
    for cid, changes, key in EXPERIMENT_CASES[::4]:
        d = experiment(**changes)
        try:
            text = to_toml(d)
            tomllib.loads(text)
        except (TypeError, tomllib.TOMLDecodeError):
            continue  # a value TOML cannot hold (the dict cases cover it)
        f = tmp_path / "fuzz.toml"
        f.write_text(text)
        code = cli.main(["sweep", str(f), "--dry-run"])
        err = capsys.readouterr().err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        if code != 2 or len(lines) != 1 or key not in err or "Traceback" in err:
            problems.append(f"{cid}: exit {code}: {err.strip()[:300]}")
    assert not problems, "\n".join(problems[:40])
    assert not (tmp_path / "sweeps").exists()


# ---------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------
def cli_cases() -> list[tuple[list[str], str]]:
    """(arguments, text the one error line must contain)."""
    cases = [
        (["run", "classroom", "--seed", "-5"], "--seed"),
        (["run", "classroom", "--steps", "0"], "--steps"),
        (["run", "classroom", "--steps", "100001"], "--steps"),
        (["run", "no_such_scenario"], "no_such_scenario"),
        (["run", "nowhere/x.toml"], "nowhere/x.toml"),
        (["run", "classroom", "--set", "noequals"], "--set"),
        (["run", "classroom", "--set", "clash_kapa=1"], "clash_kapa"),
        (["run", "classroom", "--set", "groups.Nope.claim=1"], "groups.Nope.claim"),
        (["run", "classroom", "--set", "timeline.nope.level=1"], "timeline.nope.level"),
        (["run", "classroom", "--set", "groups.Front=1"], "groups.Front"),
        (["run", "classroom", "--set", "map.default=3"], "map.default"),
        (["run", "classroom", "--set", "=1"], "error"),
        (["run", "classroom", "--set", "...=1"], "..."),
        (["run", "classroom", "--out", "afile"], "--out afile"),
        (["run", "classroom", "--out", "afile/x"], "afile"),
        (["params", "no_such_scenario"], "no_such_scenario"),
        (["sweep"], "name an experiment"),
        (["sweep", "no_such_experiment"], "no_such_experiment"),
        (["sweep", "e.toml", "--workers", "0"], "--workers"),
        (["sweep", "e.toml", "--replicates", "0"], "--replicates"),
        (["sweep", "e.toml", "--replicates", "1000000000", "--dry-run"], "--replicates"),
        (["sweep", "e.toml", "--steps", "0"], "--steps"),
        (["sweep", "e.toml", "--steps", "1000000000", "--dry-run"], "--steps"),
        (["sweep", "e.toml", "--scale", "inf", "--dry-run"], "--scale"),
        (["sweep", "e.toml", "--scale", "nan", "--dry-run"], "--scale"),
        (["sweep", "e.toml", "--scale", "-2", "--dry-run"], "--scale"),
        (["sweep", "e.toml", "--scale", "1e12", "--dry-run"], "too many runs"),
        (["sweep", "e.toml", "--out", "afile", "--dry-run"], "afile"),
        (["sweep", "e.toml", "--out", "afile/x", "--dry-run"], "afile"),
        (["sweep", "e.toml", "--out", "notsweep", "--dry-run"], "not a sweep folder"),
        (["sweep", "e.toml", "--out", "badmanifest", "--dry-run"], "manifest.json"),
        (["report", "no_such_folder"], "no_such_folder"),
        (["report", "afile"], "afile"),
        (["report", "notsweep"], "notsweep"),
        (["report", "badmanifest"], "manifest.json"),
        (["report", "notsweep", "--weeks", "a,b"], "--weeks"),
        (["report", "notsweep", "--format", "gif"], "--format"),
        (["report", "notsweep", "--gof", "-1"], "--gof"),
        (["animate", "no_such_folder"], "no_such_folder"),
    ]
    for key, value in [("clash_kappa", "nan"), ("clash_kappa", "inf"), ("clash_kappa", "[1]"),
                       ("clash_kappa", "{a=1}"), ("clash_kappa", "true"), ("vision", "1.5"),
                       ("steps", "0"), ("max_fighters", "0"),
                       ("groups.Front.claim", "2"), ("groups.Front.colour", "notacolour"),
                       ("groups.Front.colour", "1"), ("groups.Front.zone", '["east"]'),
                       ("groups.Front.zone", "nowhere"), ("zones.east.governance", "nan"),
                       ("zones.east.rect", "[0, 0]"), ("map.width", "0"),
                       ("map.procedural.governance", "[nan, 0.2]"),
                       ("map.procedural.capital", "[1]"), ("map.procedural.radius", "-1"),
                       ("map.default.population", "1.5"), ("seed", "-1"), ("name", '"../x"'),
                       ("name", "[1]"), ("description", "3")]:
        cases.append((["run", "classroom", "--set", f"{key}={value}"], key))
    for key, value in [("timeline.barkhane.zone", '["all"]'),
                       ("timeline.barkhane.targets", "[1]"),
                       ("timeline.barkhane.strength", "nan"),
                       ("timeline.barkhane.week", "-1"), ("timeline.pau_surge.until", "1"),
                       ("timeline.barkhane.event", "[1]"), ("groups.JNIM.zone", "{a=1}")]:
        cases.append((["run", "sahel_2019", "--set", f"{key}={value}"], key.split(".")[0]))
    return cases


@pytest.fixture
def cli_folder(tmp_path, monkeypatch):
    from test_sweep_helpers import write

    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("a file")
    (tmp_path / "notsweep").mkdir()
    (tmp_path / "notsweep" / "x.txt").write_text("something")
    (tmp_path / "badmanifest").mkdir()
    (tmp_path / "badmanifest" / "manifest.json").write_text('"a string"')
    write(tmp_path / "e.toml", experiment())
    return tmp_path


def test_bad_command_lines_exit_2_with_one_message(cli_folder, capsys):
    before = sorted(str(p) for p in cli_folder.rglob("*"))
    problems = []
    for args, must in cli_cases():
        try:
            code = cli.main(args)
        except SystemExit as exc:  # argparse's own usage errors
            code = exc.code
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{args}: {type(exc).__name__}: {exc}")
            continue
        err = capsys.readouterr().err
        errors = [ln for ln in err.splitlines() if "error" in ln]
        if code != 2 or len(errors) != 1 or must not in errors[0] or "Traceback" in err:
            problems.append(f"{args}: exit {code}: {err.strip()[:300]}")
    assert not problems, "\n".join(problems)
    assert sorted(str(p) for p in cli_folder.rglob("*")) == before, "something was written"


def test_argparse_errors_are_exit_2_too(capsys):
    for args in (["run", "--steps", "many"], ["run", "--seed", "1.5"], ["sweep", "--workers",
                                                                         "two"],
                 ["nosuchcommand"], ["run", "--bogus"], ["sweep", "--scale", "big"]):
        with pytest.raises(SystemExit) as info:
            cli.main(args)
        assert info.value.code == 2
        assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("setup,args,must", [
    ("nonutf8", ["run", "x.toml"], "not UTF-8"),
    ("deep", ["run", "classroom", "--set", "clash_kappa=" + "[" * 5000 + "]" * 5000],
     "clash_kappa"),
    ("badmanifest", ["report", "badmanifest"], "manifest.json"),
    ("none", ["run", "sahel_2019", "--set", 'timeline.barkhane.zone=["all"]'],
     "timeline[0].zone"),
    ("none", ["sweep", "e.toml", "--dask", "not an address", "--out", "o"], "--dask"),
])
def test_a_handful_through_the_real_command(cli_folder, setup, args, must):
    if setup == "nonutf8":
        (cli_folder / "x.toml").write_bytes(b'name = "caf\xe9"\n')
    if "--dask" in args:
        pytest.importorskip("distributed")
    proc = subprocess.run([MILITANT_SIM, *args], capture_output=True, text=True, timeout=120,
                          cwd=cli_folder)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and must in proc.stderr
    assert len([ln for ln in proc.stderr.splitlines() if "error" in ln]) == 1, proc.stderr
