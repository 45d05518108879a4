"""Bad input: every scenario problem is one clear ScenarioError naming the file, the key, the
value given and what is allowed; the command line prints it on one line and exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim import cli
from sim.core.scenario import ScenarioError, load_scenario, scenario_from_dict

VALID = """\
name = "mini"
description = "A valid little scenario; each test breaks one thing."
seed = 1

[params]
steps = 10
clash_kappa = 0.05

[map]
width = 6
height = 4

[map.default]
population = 1000
governance = 0.4

[zones.east]
rect = [3, 0, 5, 3]
security = 1.0

[groups.A]
takfir = 0.8
claim = 1.0
fighters = 20
zone = "east"

[groups.B]
fighters = 20

[[relations]]
groups = ["A", "B"]
state = "rivalry"

[[timeline]]
week = 3
event = "restriction"
group = "B"
zone = "east"
level = 0.5
until = 6
"""


def write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path_or_name, overrides=None) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path_or_name, overrides)
    return info.value


def assert_names(err: ScenarioError, *parts: str) -> None:
    msg = str(err)
    assert "\n" not in msg, msg
    for part in parts:
        assert part in msg, f"{part!r} not in the message: {msg}"


def test_the_valid_scenario_loads(tmp_path):
    sc = load_scenario(write(tmp_path, VALID, "mini.toml"))
    assert sc.group_names == ["A", "B"] and sc.width == 6 and sc.params["clash_kappa"] == 0.05
    assert sc.zones["east"].sum() == 12 and len(sc.timeline) == 1


# -- unknown keys -----------------------------------------------------------------------------
@pytest.mark.parametrize("old,new,key,hint", [
    ('name = "mini"', 'name = "mini"\ncolour_scheme = "dark"', "colour_scheme", "timeline"),
    ("clash_kappa = 0.05", "clash_kapa = 0.05", "params.clash_kapa", "clash_kappa"),
    ("takfir = 0.8", "takfeer = 0.8", "groups.A.takfeer", "takfir"),
    ("governance = 0.4", "governence = 0.4", "map.default.governence", "governance"),
    ("security = 1.0", "securty = 1.0", "zones.east.securty", "security"),
    ("level = 0.5", "levle = 0.5", "timeline[0].levle", "level"),
])
def test_unknown_key(tmp_path, old, new, key, hint):
    path = write(tmp_path, VALID.replace(old, new, 1))
    err = error_of(path)
    assert_names(err, str(path), key, "unknown", "allowed", hint)
    assert err.key == key and err.file == str(path)


# -- wrong types and values out of range -------------------------------------------------------
@pytest.mark.parametrize("old,new,key,given,allowed", [
    ("claim = 1.0", 'claim = "high"', "groups.A.claim", "'high'", "a number in [0, 1]"),
    ("fighters = 20\nzone", "fighters = 2.5\nzone", "groups.A.fighters", "2.5", "integer"),
    ("clash_kappa = 0.05", "clash_kappa = true", "params.clash_kappa", "True", "[0, 10]"),
    ("clash_kappa = 0.05", "clash_kappa = 50.0", "params.clash_kappa", "50.0", "[0, 10]"),
    ("claim = 1.0", "claim = 1.5", "groups.A.claim", "1.5", "[0, 1]"),
    ("governance = 0.4", "governance = -0.1", "map.default.governance", "-0.1", "[0, 1]"),
    ("steps = 10", "steps = 0", "params.steps", "0", "an integer in [1, 100000]"),
    ("level = 0.5", "level = 2.0", "timeline[0].level", "2.0", "[0, 1]"),
    ("seed = 1", "seed = -3", "seed", "-3", "integer"),
    ("width = 6", "width = 0", "map.width", "0", "1 to 1000"),
])
def test_wrong_type_or_out_of_range(tmp_path, old, new, key, given, allowed):
    path = write(tmp_path, VALID.replace(old, new, 1))
    err = error_of(path)
    assert_names(err, str(path), key, f"given: {given}", allowed)


# -- an inconsistent map -------------------------------------------------------------------------
def test_zone_outside_the_map(tmp_path):
    path = write(tmp_path, VALID.replace("rect = [3, 0, 5, 3]", "rect = [3, 0, 9, 3]"))
    assert_names(error_of(path), str(path), "zones.east.rect", "outside the map",
                 "[3, 0, 9, 3]", "x1 < 6")


def test_unknown_zone_for_a_group(tmp_path):
    path = write(tmp_path, VALID.replace('zone = "east"', 'zone = "west"', 1))
    assert_names(error_of(path), str(path), "groups.A.zone", "unknown zone", "'west'", "east")


def test_raster_size_mismatch(tmp_path):
    (tmp_path / "east.txt").write_text("...###\n...###\n...###\n")     # 3 rows, map has 4
    path = write(tmp_path, VALID.replace("rect = [3, 0, 5, 3]", 'raster = "east.txt"'))
    assert_names(error_of(path), str(path), "zones.east.raster", "does not match",
                 "4 lines of 6 characters")


def test_raster_file_missing(tmp_path):
    path = write(tmp_path, VALID.replace("rect = [3, 0, 5, 3]", 'raster = "nowhere.txt"'))
    assert_names(error_of(path), str(path), "zones.east.raster", "not found", "nowhere.txt")


def test_raster_of_the_right_size_loads(tmp_path):
    (tmp_path / "east.txt").write_text("...###\n...###\n...###\n...###\n")
    sc = load_scenario(write(tmp_path, VALID.replace("rect = [3, 0, 5, 3]",
                                                     'raster = "east.txt"')))
    assert sc.zones["east"].sum() == 12


def test_zone_with_two_shapes(tmp_path):
    path = write(tmp_path, VALID.replace("rect = [3, 0, 5, 3]",
                                         "rect = [3, 0, 5, 3]\ndisc = [1, 1, 1]"))
    assert_names(error_of(path), str(path), "zones.east", "exactly one shape")


# -- unknown groups and zones in relations and the timeline --------------------------------------
def test_unknown_group_in_relations(tmp_path):
    path = write(tmp_path, VALID.replace('groups = ["A", "B"]', 'groups = ["A", "C"]'))
    assert_names(error_of(path), str(path), "relations[0].groups", "unknown group", "'C'",
                 "A, B")


def test_unknown_relation_state(tmp_path):
    path = write(tmp_path, VALID.replace('state = "rivalry"', 'state = "alliance"'))
    assert_names(error_of(path), str(path), "relations[0].state", "'alliance'",
                 "rivalry, truce, war")


def test_unknown_group_in_timeline(tmp_path):
    path = write(tmp_path, VALID.replace('group = "B"', 'group = "Z"'))
    assert_names(error_of(path), str(path), "timeline[0].group", "unknown group", "'Z'", "A, B")


def test_unknown_zone_in_timeline(tmp_path):
    path = write(tmp_path, VALID.replace('zone = "east"\nlevel', 'zone = "south"\nlevel'))
    assert_names(error_of(path), str(path), "timeline[0].zone", "unknown zone", "'south'",
                 "east")


def test_unknown_timeline_event(tmp_path):
    path = write(tmp_path, VALID.replace('event = "restriction"', 'event = "ceasefire"'))
    assert_names(error_of(path), str(path), "timeline[0].event", "'ceasefire'", "restriction",
                 "intervention")


def test_until_before_the_event(tmp_path):
    path = write(tmp_path, VALID.replace("until = 6", "until = 2"))
    assert_names(error_of(path), str(path), "timeline[0].until", "2", "a week > 3")


# -- files -------------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    missing = tmp_path / "nowhere.toml"
    err = error_of(missing)
    assert_names(err, str(missing), "no such scenario file", "classroom")


def test_unknown_scenario_name():
    assert_names(error_of("atlantis_2031"), "atlantis_2031", "unknown scenario", "classroom")


def test_not_toml(tmp_path):
    path = write(tmp_path, VALID + "\nthis is not toml\n")
    assert_names(error_of(path), str(path), "not valid TOML")


def test_bad_overrides_name_the_key_and_value():
    assert_names(error_of("classroom", {"clash_kapa": 0.1}), "clash_kapa",
                 "unknown parameter", "clash_kappa")
    assert_names(error_of("classroom", {"groups.Nobody.claim": 0.0}), "groups.Nobody.claim",
                 "not a table", "Caliphate")
    assert_names(error_of("classroom", {"clash_kappa": 99.0}), "classroom.toml",
                 "params.clash_kappa", "99.0", "[0, 10]")


def test_scenario_from_dict_names_its_file():
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"groups": {"A": {"claim": 2.0}}}, file="my-dict")
    assert_names(info.value, "my-dict", "groups.A.claim", "2.0", "[0, 1]")


# -- the command line ----------------------------------------------------------------------------
def _militant_sim() -> list[str]:
    exe = Path(sys.executable).with_name("militant-sim")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "sim.cli"]


def test_cli_bad_scenario_exits_2_with_one_line(tmp_path):
    path = write(tmp_path, VALID.replace("claim = 1.0", "claim = 7.0"))
    proc = subprocess.run(_militant_sim() + ["run", str(path), "--steps", "2",
                                             "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert str(path) in lines[0] and "groups.A.claim" in lines[0] and "7.0" in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv,needle", [
    (["run", "classroom", "--steps", "2", "--set", "clash_kapa=0.1"], "clash_kapa"),
    (["run", "classroom", "--steps", "2", "--set", "clash_kappa=50"], "clash_kappa"),
    (["run", "classroom", "--steps", "2", "--set", "groups.Caliphate.claim=high"], "claim"),
    (["run", "classroom", "--steps", "2", "--set", "clash_kappa"], "KEY=VALUE"),
    (["run", "atlantis_2031", "--steps", "2"], "atlantis_2031"),
    (["run", "classroom", "--steps", "0"], "--steps"),
])
def test_cli_bad_input_exits_2_in_process(tmp_path, capsys, argv, needle):
    status = cli.main(argv + ["--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("militant-sim: error:"), err
    assert needle in lines[0]
    assert not (tmp_path / "out" / "summary.json").exists()
