"""Bad input and faults reported by the people who use the model: each one gives exit status 2
and one message naming the file and the key (no traceback), and nothing is written outside
the chosen folder. Also the command line's listings and its run folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_scenario_errors import VALID, assert_names, error_of, write
from test_sweep_helpers import experiment
from test_sweep_helpers import write as write_experiment

import sim
from sim import cli
from sim.sweeps.design import ExperimentError, load_experiment
from sim.core.scenario import NAME_PATTERN, ScenarioError, load_scenario, scenario_from_dict

MILITANT_SIM = str(Path(sys.executable).parent / "militant-sim")


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_error(capsys, *args, names=()) -> str:
    """Run the command line in this process; it must exit 2 with one line naming ``names``."""
    code, _, err = run_cli(capsys, *args)
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.startswith("militant-sim: error: ")]
    assert len(lines) == 1, err
    others = [ln for ln in err.splitlines() if ln.strip() and ln not in lines]
    assert all(ln.startswith("running ") for ln in others), err  # the progress line of run
    assert "Traceback" not in err
    for n in names:
        assert n in lines[0], f"{n!r} not in {lines[0]!r}"
    return lines[0]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Work in an empty folder: a test can check that nothing was written anywhere else."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


# =============================================================================================
# Crashes that were tracebacks
# =============================================================================================
def test_a_scenario_base_or_raster_that_is_not_utf8(in_tmp, capsys):
    (in_tmp / "x.toml").write_bytes(b'name = "caf\xe9"\n')
    one_error(capsys, "run", "x.toml", names=("x.toml", "not UTF-8", "line 1"))
    (in_tmp / "base1.toml").write_bytes(VALID.replace('name = "mini"', 'name = "b\xe9"')
                                        .encode("latin-1"))
    (in_tmp / "child.toml").write_text('base = "base1"\nname = "child"\n')
    one_error(capsys, "run", "child.toml", names=("base1.toml", "not UTF-8"))
    (in_tmp / "east.txt").write_bytes(b"...\xe9##\n" * 4)
    (in_tmp / "r.toml").write_text(VALID.replace("rect = [3, 0, 5, 3]", 'raster = "east.txt"'))
    one_error(capsys, "run", "r.toml", names=("r.toml", "zones.east.raster", "not UTF-8"))
    assert files_under(in_tmp) == {"x.toml", "base1.toml", "child.toml", "east.txt", "r.toml"}


def test_nesting_five_thousand_deep(in_tmp, capsys):
    deep = "[" * 5000 + "]" * 5000
    (in_tmp / "deep.toml").write_text(f"a = {deep}\n")
    one_error(capsys, "run", "deep.toml", names=("deep.toml", "nested too deeply"))
    (in_tmp / "deep_tables.toml").write_text(VALID + "\n[params.x" + ".y" * 200 + "]\nz = 1\n")
    one_error(capsys, "run", "deep_tables.toml", names=("deep_tables.toml", "nested too deeply"))
    one_error(capsys, "run", "classroom", "--set", f"clash_kappa={deep}",
              names=("clash_kappa",))
    (in_tmp / "deep_exp.toml").write_text(f"[experiment]\nscenario = \"classroom\"\nx = {deep}\n")
    one_error(capsys, "sweep", "deep_exp.toml", "--dry-run", names=("deep_exp.toml", "nested"))
    with pytest.raises(ScenarioError, match="nested too deeply"):
        d: dict = {}
        node = d
        for _ in range(5000):
            node["a"] = {}
            node = node["a"]
        scenario_from_dict({**tiny_world(), "params": d})


def tiny_world() -> dict:
    return {"map": {"width": 3, "height": 3}, "groups": {"A": {"fighters": 1}}}


@pytest.mark.parametrize("key,value,names", [
    ("timeline.barkhane.zone", '["all"]', ("timeline[0].zone", "must be the name of a zone")),
    ("timeline.barkhane.zone", "{ a = 1 }", ("timeline[0].zone",)),
    ("timeline.barkhane.targets", '[["JNIM"]]', ("timeline[0].targets",)),
    ("timeline.barkhane.event", '["intervention"]', ("timeline[0].event", "unknown event")),
    ("timeline.pau_surge.targets", "{ x = 1 }", ("timeline[1].targets",)),
    ("groups.ISGS.zone", '["liptako"]', ("groups.ISGS.zone", "wrong type")),
])
def test_a_list_or_table_where_a_name_is_expected(capsys, key, value, names):
    one_error(capsys, "run", "sahel_2019", "--steps", 1, "--set", f"{key}={value}",
              names=("sahel_2019.toml",) + names)


def test_a_relation_or_set_group_event_naming_lists(tmp_path):
    bad = VALID.replace('groups = ["A", "B"]', 'groups = [["A"], "B"]')
    assert_names(error_of(write(tmp_path, bad)), "relations[0].groups", "two different groups")
    bad = VALID.replace('event = "restriction"\ngroup = "B"',
                        'event = "set_group"\ngroup = ["B"]\nfield = "claim"\nvalue = 0.5')
    bad = bad.replace('zone = "east"\nlevel = 0.5\nuntil = 6', "")
    assert_names(error_of(write(tmp_path, bad, "b2.toml")), "timeline[0].group",
                 "must be the name of a group")


@pytest.mark.parametrize("child_timeline", ["timeline = 3", 'timeline = "soon"',
                                            "timeline = [1, 2]", "[timeline]\nweek = 1",
                                            "relations = 5", "relations = [[1]]"])
def test_a_child_scenario_whose_timeline_is_not_a_list_of_tables(tmp_path, child_timeline):
    write(tmp_path, VALID, "mini.toml")
    child = write(tmp_path, f'base = "mini"\nname = "child"\n{child_timeline}\n', "child.toml")
    key = child_timeline.split()[0].strip("[]")
    err = error_of(child)
    assert_names(err, str(child), key)


@pytest.mark.parametrize("colour", ["notacolour", "#12345", "rgb(1,2,3)", "#GGGGGG"])
def test_a_bad_colour_is_refused_when_the_scenario_is_loaded(tmp_path, colour):
    path = write(tmp_path, VALID.replace("claim = 1.0", f'claim = 1.0\ncolour = "{colour}"'))
    assert_names(error_of(path), str(path), "groups.A.colour", "not a colour", repr(colour))


def test_good_colours_are_accepted(tmp_path):
    for colour in ("darkred", "#E69F00", "#abc", "tab:blue", "C3"):
        path = write(tmp_path, VALID.replace("claim = 1.0", f'claim = 1.0\ncolour = "{colour}"'))
        assert load_scenario(path).groups[0].colour == colour


@pytest.mark.parametrize("where,old,new,key", [
    ("group", "[groups.B]", '[groups."B|C"]', 'groups.B|C'),
    ("group", "[groups.B]", '[groups."B>C"]', 'groups.B>C'),
    ("group", "[groups.B]", '[groups."1st"]', "groups.1st"),
    ("group", "[groups.B]", '[groups."B C"]', "groups.B C"),
    ("group", "[groups.B]", '[groups."' + "B" * 40 + '"]', "groups.BBB"),
    ("zone", "[zones.east]", '[zones."east/west"]', "zones.east/west"),
    ("zone", "[zones.east]", '[zones."e.w"]', "zones.e.w"),
    ("timeline id", "week = 3", 'week = 3\nid = "a.b"', "timeline[0].id"),
    ("scenario name", 'name = "mini"', 'name = "../../x"', "name"),
    ("scenario name", 'name = "mini"', 'name = "/tmp/abs"', "name"),
    ("scenario name", 'name = "mini"', "name = 7", "name"),
    ("scenario name", 'name = "mini"', "name = [\"a\"]", "name"),
])
def test_names_used_in_paths_and_columns_follow_one_pattern(tmp_path, where, old, new, key):
    text = VALID.replace(old, new, 1)
    if where == "group":
        text = text.replace('groups = ["A", "B"]', 'groups = ["A", "A2"]').replace(
            'group = "B"', 'group = "A"')
        text = text.replace("[[relations]]\ngroups = [\"A\", \"A2\"]\nstate = \"rivalry\"\n", "")
    err = error_of(write(tmp_path, text))
    assert_names(err, key)
    if where != "scenario name" or "= 7" not in new and "[" not in new:
        assert NAME_PATTERN in str(err)


def test_run_seed_and_steps_out_of_range(in_tmp, capsys):
    one_error(capsys, "run", "classroom", "--seed", -5, names=("--seed -5",))
    one_error(capsys, "run", "classroom", "--steps", 100_001, names=("--steps", "100,000"))
    one_error(capsys, "run", "classroom", "--steps", 0, names=("--steps",))
    assert files_under(in_tmp) == set()


def test_out_that_is_a_file_under_a_file_or_read_only(in_tmp, capsys, monkeypatch):
    (in_tmp / "afile").write_text("mine")
    one_error(capsys, "run", "classroom", "--out", "afile", names=("--out afile", "not a folder"))
    one_error(capsys, "run", "classroom", "--out", "afile/sub",
              names=("--out afile/sub", "afile is a file"))
    one_error(capsys, "sweep", write_experiment(in_tmp / "e.toml", experiment()), "--out",
              "afile/sub", names=("afile", "--out"))
    (in_tmp / "ro").mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p).name == "ro"
                        else real(p, mode, **kw))
    one_error(capsys, "run", "classroom", "--out", "ro/x", names=("--out ro/x", "cannot write"))
    one_error(capsys, "sweep", "e.toml", "--out", "ro/x", names=("ro", "cannot write"))
    assert (in_tmp / "afile").read_text() == "mine"
    assert files_under(in_tmp) == {"afile", "ro", "e.toml"}


def test_out_that_cannot_be_written_during_the_run(in_tmp, capsys, monkeypatch):
    """A failure to write the outputs (a full disk, say) is one message, not a traceback."""
    from sim.core.record import RunResult

    def full(self, out):
        raise OSError(28, "No space left on device", str(Path(out) / "steps.parquet"))

    monkeypatch.setattr(RunResult, "save", full)
    one_error(capsys, "run", "classroom", "--steps", 2, "--no-dashboard", "--out", "o",
              names=("--out o", "No space left", "steps.parquet"))


def test_manifest_that_is_json_but_not_an_object(in_tmp, capsys):
    f = write_experiment(in_tmp / "e.toml", experiment())
    (in_tmp / "sw").mkdir()
    (in_tmp / "sw" / "manifest.json").write_text("[1, 2, 3]")
    one_error(capsys, "sweep", f, "--out", "sw", names=("manifest.json", "not a sweep manifest"))
    one_error(capsys, "report", "sw", names=("manifest.json", "not a sweep manifest"))
    one_error(capsys, "sweep", f, "--out", "sw", "--dry-run", names=("manifest.json",))


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "0", "1e309"])
def test_scale_must_be_finite_and_positive(in_tmp, capsys, value):
    f = write_experiment(in_tmp / "e.toml", experiment())
    one_error(capsys, "sweep", f, "--scale", value, "--dry-run", names=("--scale",))
    from sim.sweeps.runner import SweepError, run_sweep

    with pytest.raises(SweepError, match="--scale"):
        run_sweep(f, scale=float(value), out=in_tmp / "o", workers=1)
    assert not (in_tmp / "o").exists()


def test_dask_address_that_is_not_an_address(in_tmp, capsys):
    pytest.importorskip("distributed")
    f = write_experiment(in_tmp / "e.toml", experiment())
    one_error(capsys, "sweep", f, "--dask", "not an address", "--out", "o",
              names=("--dask", "cannot reach a Dask scheduler", "not an address"))
    assert not (in_tmp / "o").exists()


def test_report_on_an_unreadable_run_file(in_tmp, capsys):
    assert cli.main(["run", "classroom", "--steps", "3", "--out", "r", "--quiet",
                     "--no-dashboard"]) == 0
    capsys.readouterr()
    data = (in_tmp / "r" / "steps.parquet").read_bytes()
    (in_tmp / "r" / "steps.parquet").write_bytes(data[: len(data) // 2])
    one_error(capsys, "report", "r", names=("steps.parquet", "cannot read"))
    (in_tmp / "r" / "steps.parquet").write_bytes(data)
    (in_tmp / "r" / "summary.json").write_text("[]")
    one_error(capsys, "report", "r", names=("summary.json",))


def test_a_closed_pipe_is_not_a_traceback():
    """``militant-sim scenarios | head -1``: the reader goes away after one line."""
    for cmd in (["scenarios"], ["params"], ["params", "syria_2013"]):
        proc = subprocess.Popen([MILITANT_SIM, *cmd], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read().decode()
        proc.wait(timeout=60)
        assert "Traceback" not in err and "BrokenPipe" not in err, err
        assert proc.returncode in (0, 141), (cmd, proc.returncode, err)


@pytest.mark.parametrize("changes,key", [
    ({"parameters": {"revenge": {"low": 0.0, "high": 1.0, "num": 1e9}}},
     'parameters."revenge".num'),
    ({"parameters": {"revenge": {"low": 0.0, "high": 0.1, "num": 100},
                     "groups.Front.claim": {"low": 0.0, "high": 1.0, "num": 100}},
      "experiment__replicates": 1000}, "experiment.replicates"),
    ({"parameters": {"revenge": {"low": 0.0, "high": 0.1, "num": 1000},
                     "groups.Front.claim": {"low": 0.0, "high": 1.0, "num": 1000}}}, "design"),
    ({"experiment__replicates": 10 ** 9}, "experiment.replicates"),
    ({"design": {"kind": "lhs", "samples": 10 ** 9}, "hypothesis": None,
      "parameters": {"revenge": {"low": 0.0, "high": 0.1}}}, "design.samples"),
    ({"design": {"kind": "sobol", "samples": 2 ** 17}, "hypothesis": None,
      "parameters": {"memory_decay": {"low": 0.0, "high": 0.1},
                     "revenge": {"low": 0.0, "high": 0.1}}}, "design"),
    ({"experiment__steps": 10 ** 12}, "experiment.steps"),
    ({"experiment__steps": 100_001}, "experiment.steps"),
])
def test_huge_designs_are_refused_at_once_even_with_dry_run(in_tmp, capsys, changes, key):
    f = write_experiment(in_tmp / "e.toml", experiment(**changes))
    t0 = time.perf_counter()
    one_error(capsys, "sweep", f, "--dry-run", names=("e.toml", key))
    assert time.perf_counter() - t0 < 20
    assert files_under(in_tmp) == {"e.toml"}


def test_replicates_and_scale_options_are_bounded_too(in_tmp, capsys):
    f = write_experiment(in_tmp / "e.toml", experiment())
    one_error(capsys, "sweep", f, "--replicates", 10 ** 9, "--dry-run", names=("--replicates",))
    one_error(capsys, "sweep", f, "--scale", 1e12, "--dry-run", names=("too many runs",))
    one_error(capsys, "sweep", f, "--steps", 10 ** 9, "--dry-run", names=("--steps",))


# =============================================================================================
# Accepted silently, unclear or wrong
# =============================================================================================
@pytest.mark.parametrize("value", ["[nan, 0.2]", "[0.2, inf]", "[-inf, 0.1]"])
def test_nan_in_procedural_pairs(capsys, value):
    one_error(capsys, "run", "classroom", "--set", f"map.procedural.governance={value}",
              names=("classroom.toml", "map.procedural.governance", "finite"))


def test_nan_in_a_disc(tmp_path):
    path = write(tmp_path, VALID.replace("rect = [3, 0, 5, 3]", "disc = [1, 1, nan]"))
    assert_names(error_of(path), "zones.east.disc", "three numbers")


def test_a_missing_base_names_the_file_that_names_it(tmp_path):
    child = write(tmp_path, 'base = "no_such_base"\nname = "child"\n', "child.toml")
    err = error_of(child)
    assert_names(err, str(child), "base", "unknown scenario", "'no_such_base'", "classroom")


def test_procedural_radius_zero_without_falloff(tmp_path):
    text = VALID.replace("[map.default]", "[map.procedural]\nradius = 0\ngovernance = [0.9, 0.1]"
                         "\n\n[map.default]")
    sc = load_scenario(write(tmp_path, text))
    assert sc.zones["capital"].sum() == 1  # only the cell at the capital point
    assert np.isfinite(sc.cells["governance"]).all()
    err = error_of(write(tmp_path, text.replace("radius = 0", "radius = 0\nfalloff = 0"),
                         "f.toml"))
    assert_names(err, "map.procedural.falloff", "out of range")


def test_experiment_steps_and_run_steps_are_bounded(tmp_path):
    with pytest.raises(ExperimentError, match="experiment.steps"):
        load_experiment(experiment(experiment__steps=10 ** 7))
    with pytest.raises(ExperimentError, match="--steps"):
        load_experiment(experiment(), steps=10 ** 7)
    assert load_experiment(experiment(experiment__steps=100_000)).steps == 100_000


# =============================================================================================
# Writes outside the chosen folder
# =============================================================================================
@pytest.mark.parametrize("name", ["../../x", "/tmp/militant-sim-abs", "a/b", "..", ""])
def test_a_scenario_name_cannot_choose_where_run_writes(in_tmp, capsys, name):
    work = in_tmp / "a" / "b"
    work.mkdir(parents=True)
    os.chdir(work)
    (work / "s.toml").write_text(VALID.replace('name = "mini"', f'name = "{name}"'))
    one_error(capsys, "run", "s.toml", "--steps", 1, names=("s.toml", "name"))
    assert files_under(in_tmp) == {"a", "a/b", "a/b/s.toml"}
    assert not Path("/tmp/militant-sim-abs").exists()


def test_a_file_name_that_looks_like_a_path_part_stays_in_runs(in_tmp, capsys):
    (in_tmp / "..toml").write_text(VALID.replace('name = "mini"\n', ""))
    code, out, _ = run_cli(capsys, "run", "..toml", "--steps", 1, "--quiet", "--no-dashboard")
    assert code == 0
    made = Path(out.strip())
    assert made.resolve().is_relative_to((in_tmp / "runs").resolve())


@pytest.mark.parametrize("name", ["..", ".", "../up", "a/b", "/abs"])
def test_an_experiment_name_cannot_choose_where_a_sweep_writes(in_tmp, capsys, name):
    (in_tmp / "sweeps").mkdir()
    mine = in_tmp / "sweeps" / "notes.tmp"
    mine.write_text("the user's own")
    (in_tmp / ".draft.tmp").write_text("the user's own")
    f = write_experiment(in_tmp / "e.toml", experiment(experiment__name=name))
    one_error(capsys, "sweep", f, "--workers", 1, names=("e.toml", "experiment.name"))
    assert mine.read_text() == "the user's own" and (in_tmp / ".draft.tmp").exists()
    assert files_under(in_tmp) == {"sweeps", "sweeps/notes.tmp", ".draft.tmp", "e.toml"}


def test_clean_temporary_removes_only_the_projects_own_files(tmp_path):
    from sim.common.files import TEMP_PREFIX
    from sim.sweeps.runner import Store

    st = Store(tmp_path)
    st.runs_dir.mkdir()
    users = [tmp_path / "x.tmp", tmp_path / ".x.tmp", st.runs_dir / ".a.json.123.tmp"]
    ours = [tmp_path / f"{TEMP_PREFIX}abc-manifest.json.tmp",
            st.runs_dir / f"{TEMP_PREFIX}def-r.json.tmp"]
    for p in users + ours:
        p.write_text("x")
    assert st.clean_temporary() == 2
    assert all(p.exists() for p in users) and not any(p.exists() for p in ours)


# =============================================================================================
# run: folders named by what differs, the overrides on the dashboard
# =============================================================================================
def test_run_folders_are_named_by_what_differs(in_tmp, capsys):
    base = ["run", "classroom", "--steps", 2, "--seed", 1, "--quiet", "--no-dashboard"]

    def folder(*extra):
        code, out, err = run_cli(capsys, *base, *extra)
        assert code == 0, err
        return Path(out.strip())

    plain = folder()
    kappa = folder("--set", "clash_kappa=0.2")
    claim = folder("--set", "groups.Front.claim=0.5", "--set", "clash_kappa=0.2")
    longer = folder("--steps", 3)
    many = folder(*sum((["--set", f"groups.Front.{k}=0.5"] for k in
                        ("claim", "takfir", "coercion", "propaganda", "momentum")), []))
    assert plain == Path("runs/classroom-seed1-steps2")
    assert len({plain, kappa, claim, longer, many}) == 5
    assert "clash_kappa=0.2" in kappa.name and many.name.split("-")[-1].startswith("set-") \
        or "set-" in many.name
    for d in (plain, kappa, claim, longer, many):
        assert (d / "summary.json").is_file() and d.parent == Path("runs")
    assert sim.RunResult.load(kappa).summary["provenance"]["overrides"] == {"clash_kappa": 0.2}
    assert sim.RunResult.load(plain).summary["provenance"]["overrides"] == {}
    assert folder() == plain  # the same run again: the same folder, rewritten


def test_a_different_run_is_not_written_over_without_force(in_tmp, capsys):
    args = ["run", "classroom", "--steps", 2, "--quiet", "--no-dashboard", "--out", "o"]
    assert run_cli(capsys, *args)[0] == 0
    before = (in_tmp / "o" / "summary.json").read_text()
    one_error(capsys, *args, "--seed", 5, names=("--out o", "different run", "--force"))
    one_error(capsys, *args, "--set", "clash_kappa=0.3", names=("--force",))
    assert (in_tmp / "o" / "summary.json").read_text() == before
    assert run_cli(capsys, *args)[0] == 0  # the same run may be made again
    assert run_cli(capsys, *args, "--seed", 5, "--force")[0] == 0
    assert json.loads((in_tmp / "o" / "summary.json").read_text())["seed"] == 5
    (in_tmp / "mine").mkdir()
    (in_tmp / "mine" / "dashboard.png").write_text("a picture of mine")
    one_error(capsys, "run", "classroom", "--steps", 2, "--out", "mine", names=("--force",))
    assert (in_tmp / "mine" / "dashboard.png").read_text() == "a picture of mine"


def test_the_dashboard_shows_the_overrides(in_tmp, capsys):
    from sim.analysis.charts import _summary_text, dashboard

    res = sim.run("classroom", steps=2, seed=1, overrides={"clash_kappa": 0.2,
                                                             "groups.Front.claim": 0.5})
    text = _summary_text(res)
    assert "clash_kappa=0.2" in text and "groups.Front.claim=0.5" in text
    fig = dashboard(res)
    assert "clash_kappa=0.2" in fig._suptitle.get_text()


# =============================================================================================
# params and scenarios
# =============================================================================================
def test_params_lists_ranges_and_group_and_zone_fields(capsys):
    from sim.core.params import CELL_FIELDS, GROUP_FIELDS, PARAMS

    code, out, _ = run_cli(capsys, "params")
    assert code == 0
    assert "Group fields" in out and "Zone fields" in out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.strip()}
    assert "[0, 10]" in lines["clash_kappa"] and "[1, 100000] int" in lines["steps"]
    for name in list(PARAMS) + list(GROUP_FIELDS) + list(CELL_FIELDS):
        assert any(ln.split()[0] == name for ln in out.splitlines() if ln.strip()), name


def test_params_of_a_scenario_shows_its_values_groups_zones_and_ids(capsys):
    code, out, _ = run_cli(capsys, "params", "sahel_2019")
    assert code == 0
    assert "Scenario sahel_2019" in out
    for word in ("JNIM", "ISGS", "liptako", "central_mali", "barkhane", "pau_surge"):
        assert word in out, word
    one_error(capsys, "params", "no_such_scenario", names=("no_such_scenario", "unknown"))


def test_scenarios_lists_groups_zones_and_timeline_ids(capsys):
    code, out, _ = run_cli(capsys, "scenarios")
    assert code == 0
    for word in ("groups: ISIS, Nusra, Rebels", "zones: all, capital", "timeline ids:",
                 "ceasefire", "leader_strike", "groups: Caliphate, Front"):
        assert word in out, word


# =============================================================================================
# The control rule with control_min = 0, and the bound on fighters
# =============================================================================================
def test_a_group_without_fighters_never_takes_ground_even_with_control_min_0(tiny):
    from sim.core import rules

    m = tiny.build(tiny.world(width=4, height=4, params={"control_min": 0.0, "firm_rate": 0.1,
                                                          "erode_rate": 0.25}))
    tiny.place(m, "B", (0, 0), n=5)
    for _ in range(30):
        tiny.begin_week(m)
        rules.control_and_governance(m)
    owner = m.owner
    assert (owner != 0).all(), "group A has no fighters anywhere and must hold nothing"
    assert owner[tiny.cell_index(m, (0, 0))] == 1
    assert (owner[np.arange(16) != tiny.cell_index(m, (0, 0))] < 0).all()


def test_a_destroyed_group_takes_no_ground_in_a_full_run_with_control_min_0():
    # the first group (the one argmax picks among zeros) has no fighters from the start
    res = sim.run("classroom", steps=30, seed=3, overrides={
        "control_min": 0.0, "groups.Caliphate.fighters": 0,
        "groups.Caliphate.foreign_inflow": 0.0})
    assert not res.steps["alive.Caliphate"].iloc[-1]
    assert (res.steps["territory.Caliphate"].iloc[1:] == 0).all()


def test_max_fighters_stops_a_run_with_a_clear_message(in_tmp, capsys, tiny):
    from sim.core.scenario import LimitError

    m = sim.MilitantModel("classroom", rng=1, overrides={"max_fighters": 310,
                                                         "groups.Caliphate.foreign_inflow": 50})
    with pytest.raises(LimitError) as info:
        m.run(50)
    assert "max_fighters" in str(info.value) and "week" in str(info.value)
    one_error(capsys, "run", "classroom", "--set", "max_fighters=310", "--set",
              "groups.Caliphate.foreign_inflow=50", "--out", "o",
              names=("max_fighters", "stopped at week", "exceed"))
    assert not (in_tmp / "o" / "summary.json").exists()


def test_nan_min_effect_is_refused_by_the_dry_run_and_writes_nothing(in_tmp, capsys):
    """The hypothesis' own checks are in sim.sweeps.design; the sweep refuses any non-finite
    number before it runs or writes anything (it used to pass --dry-run, then crash)."""
    f = write_experiment(in_tmp / "e.toml", experiment(hypothesis__min_effect=float("nan")))
    one_error(capsys, "sweep", f, "--dry-run", names=("e.toml", "hypothesis.min_effect"))
    one_error(capsys, "sweep", f, "--workers", 1, "--out", "o",
              names=("hypothesis.min_effect", "finite"))
    assert files_under(in_tmp) == {"e.toml"}


def test_report_or_animate_into_a_file_is_one_message(in_tmp, capsys):
    assert cli.main(["run", "classroom", "--steps", "2", "--out", "r", "--quiet",
                     "--no-dashboard"]) == 0
    capsys.readouterr()
    (in_tmp / "afile").write_text("mine")
    one_error(capsys, "report", "r", "--out", "afile", names=("afile",))
    one_error(capsys, "animate", "r", "--out", "afile/x.gif", names=("afile",))
    assert (in_tmp / "afile").read_text() == "mine"
