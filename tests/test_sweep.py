"""The sweep runner: storage, resume after SIGKILL, identical results on every engine.

Every sweep here is the classroom world for a few weeks (see test_sweep_helpers.BASE).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from test_sweep_helpers import comparable, experiment, sorted_frame, write

from sim import cli
from sim.sweeps.design import load_experiment
from sim.sweeps.runner import (
    Store,
    SweepError,
    SweepResult,
    atomic_write,
    execute,
    make_task,
    run_sweep,
)

ROOT = Path(__file__).resolve().parent.parent
MILITANT_SIM = str(Path(sys.executable).parent / "militant-sim")


def _frames_equal(a: SweepResult, b: SweepResult) -> None:
    pd.testing.assert_frame_equal(comparable(a.runs), comparable(b.runs))
    for name in ("series", "truces", "clashes"):
        pd.testing.assert_frame_equal(sorted_frame(getattr(a, name)),
                                      sorted_frame(getattr(b, name)))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The base experiment swept in this process, uninterrupted."""
    out = tmp_path_factory.mktemp("ref") / "sweep"
    return run_sweep(experiment(), workers=1, out=out, progress=False)


# ---------------------------------------------------------------------------------------------
# The folder
# ---------------------------------------------------------------------------------------------
def test_sweep_folder_layout(reference):
    out = reference.out
    exp = load_experiment(experiment())
    assert reference.complete and reference.manifest["complete"] is True
    runs = reference.runs
    keys = list(exp.parameters)
    assert list(runs.columns) == (["run_id", "point_id", "replicate", "seed"] + keys
                                  + exp.outcomes + ["status", "wall_seconds"])
    assert len(runs) == exp.n_runs and runs["run_id"].is_unique
    assert (runs["status"] == "ok").all() and (runs["wall_seconds"] > 0).all()
    assert list(runs["point_id"]) == sorted(runs["point_id"])
    # each run is a JSON file, with its frames beside it
    for r in exp.runs():
        rec = json.loads((out / "runs" / f"{r.run_id}.json").read_text())
        assert rec["seed"] == r.seed and rec["params"] == r.params
        assert set(rec["outcomes"]) == set(exp.outcomes)
        assert (out / "runs" / f"{r.run_id}.series.parquet").is_file()
    row = runs.set_index("run_id").loc[exp.runs()[3].run_id]
    assert row["seed"] == exp.runs()[3].seed
    assert row["groups.Front.propaganda"] == exp.runs()[3].params["groups.Front.propaganda"]
    # series: the kept columns every collect_every weeks, and the last week
    s = reference.series
    assert {"run_id", "point_id", "replicate", "week", "fighters.Caliphate",
            "militant_cells"} <= set(s.columns)
    assert sorted(s["week"].unique()) == [0, 2, 4, 6]
    assert not any(c.startswith("territory.") for c in s.columns)
    assert list(reference.truces.columns) == ["run_id", "point_id", "replicate", "pair", "start",
                                              "end", "duration", "censored", "ended_by"]
    assert list(reference.clashes.columns) == ["run_id", "point_id", "replicate", "week", "size"]
    # the tables say they are complete
    meta = json.loads(pq.read_schema(out / "runs.parquet").metadata[b"militant_sim"])
    assert meta["complete"] is True and meta["missing"] == 0
    # the manifest: provenance, the resolved experiment, the hypothesis' points
    m = reference.manifest
    assert m["experiment"]["design"]["kind"] == "grid" and m["experiment"]["problem"] is None
    assert m["experiment"]["hypothesis"]["control_point_ids"] == [0, 1]
    assert m["experiment"]["hypothesis"]["treatment_point_ids"] == [2, 3]
    assert m["experiment"]["seed"] == 11 and m["experiment"]["replicates"] == 2
    assert m["provenance"]["versions"]["mesa"] and "git" in m["provenance"]
    assert len(m["experiment_file"]["sha256"]) == 64
    assert m["runs"] == {"total": 8, "ok": 8, "failed": 0, "missing": 0}
    assert m["timings"]["count"] == 8 and m["sessions"][0]["runs_ok"] == 8
    pts = reference.points
    assert list(pts["point_id"]) == [0, 1, 2, 3] and "point_key" in pts


def test_a_run_reproduces_from_its_seed(reference):
    """The seed in the run table is the model's rng: the same run made alone gives the same
    outcomes (this is what `militant-sim run --seed S --set ...` does)."""
    import sim
    from sim.sweeps import outcomes

    exp = load_experiment(experiment())
    row = reference.runs.iloc[5]
    overrides = {**exp.constants, **{k: row[k] for k in exp.parameters}}
    result = sim.run("classroom", steps=exp.steps, seed=int(row["seed"]), overrides=overrides)
    for o in exp.outcomes:
        v = outcomes.compute(o, result)
        assert (np.isnan(v) and np.isnan(row[o])) or v == row[o]


def test_python_api_frames_and_by_point(reference):
    res = SweepResult.load(reference.out)
    bp = res.by_point()
    assert len(bp) == 4 and "clash_rate.mean" in bp and (bp["clash_rate.count"] == 2).all()
    mean0 = res.runs[res.runs["point_id"] == 0]["final_fighters:Caliphate"].mean()
    assert bp.loc[bp["point_id"] == 0, "final_fighters:Caliphate.mean"].item() == mean0


# ---------------------------------------------------------------------------------------------
# Same results whatever the engine
# ---------------------------------------------------------------------------------------------
def test_identical_tables_with_1_and_2_workers_and_dask(tmp_path, reference):
    two = run_sweep(experiment(), workers=2, out=tmp_path / "w2", progress=False)
    assert "local processes" in two.manifest["sessions"][-1]["engine"]
    _frames_equal(reference, two)
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dk = run_sweep(experiment(), out=tmp_path / "dask", dask=client, progress=False)
    assert "Dask" in dk.manifest["sessions"][-1]["engine"]
    _frames_equal(reference, dk)


def test_adding_points_and_replicates_keeps_existing_runs(tmp_path, reference):
    bigger = experiment(parameters={"groups.Caliphate.claim": [0.0, 0.5, 1.0],
                                    "groups.Front.propaganda": [0.2, 0.6]})
    res = run_sweep(bigger, workers=1, out=tmp_path / "big", replicates=3, progress=False)
    big = res.runs.set_index("run_id")
    small = reference.runs.set_index("run_id")
    common = big.loc[small.index]
    pd.testing.assert_frame_equal(
        common.drop(columns=["wall_seconds", "point_id"]),
        small.drop(columns=["wall_seconds", "point_id"]))
    assert len(big) == 18


def test_resume_in_the_same_folder_runs_only_what_is_new(tmp_path):
    out = tmp_path / "grow"
    first = run_sweep(experiment(), workers=1, out=out, progress=False)
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")}
    again = run_sweep(experiment(), workers=1, out=out, progress=False)
    assert again.new_runs == 0 and again.skipped == 8 and again.complete
    more = run_sweep(experiment(), workers=1, out=out, replicates=3, progress=False)
    assert more.new_runs == 4 and more.complete and len(more.runs) == 12
    for name, t in stamps.items():
        assert (out / "runs" / name).stat().st_mtime_ns == t, "finished runs are not redone"
    assert len(more.manifest["sessions"]) == 3
    pd.testing.assert_frame_equal(
        comparable(first.runs),
        comparable(more.runs[more.runs["replicate"] < 2]))


def test_folder_of_another_experiment_is_refused(tmp_path, reference):
    with pytest.raises(SweepError, match="steps: 6 -> 7"):
        run_sweep(experiment(experiment__steps=7), workers=1, out=reference.out,
                  progress=False)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SweepError, match="not a sweep folder"):
        run_sweep(experiment(), workers=1, out=tmp_path, progress=False)


def test_a_locked_folder_is_refused(tmp_path):
    holder = Store(tmp_path / "locked")
    holder.lock()
    try:
        with pytest.raises(SweepError, match="another sweep is writing"):
            run_sweep(experiment(), workers=1, out=tmp_path / "locked", progress=False)
    finally:
        holder.unlock()


# ---------------------------------------------------------------------------------------------
# Failures
# ---------------------------------------------------------------------------------------------
def test_failed_runs_are_recorded_and_retried(tmp_path, monkeypatch):
    import sim.core.model

    real_run = sim.core.model.MilitantModel.run

    def flaky(self, steps=None, progress=None):
        if self.claim[0] == 1.0:
            raise RuntimeError("boom in the model")
        return real_run(self, steps, progress)

    monkeypatch.setattr(sim.core.model.MilitantModel, "run", flaky)
    out = tmp_path / "fail"
    res = run_sweep(experiment(), workers=1, out=out, progress=False)
    runs = res.runs
    assert (runs["status"] == "failed").sum() == 4 and (runs["status"] == "ok").sum() == 4
    assert runs.loc[runs["status"] == "failed", "clash_rate"].isna().all()
    assert res.complete, "every run finished, some with a failure"
    m = res.manifest
    assert len(m["failures"]) == 4 and "boom in the model" in m["failures"][0]["traceback"]
    assert m["failures"][0]["params"]["groups.Caliphate.claim"] == 1.0
    failed_files = list((out / "runs").glob("*.failed.json"))
    assert len(failed_files) == 4
    # without --retry-failed the failures stay; with it they are redone
    again = run_sweep(experiment(), workers=1, out=out, progress=False)
    assert again.new_runs == 0 and again.new_failures == 0
    monkeypatch.setattr(sim.core.model.MilitantModel, "run", real_run)
    fixed = run_sweep(experiment(), workers=1, out=out, retry_failed=True, progress=False)
    assert fixed.new_runs == 4 and (fixed.runs["status"] == "ok").all()
    assert not list((out / "runs").glob("*.failed.json"))
    assert fixed.manifest["failures"] == []


def test_execute_returns_a_failed_record_instead_of_raising():
    exp = load_experiment(experiment())
    task = make_task(exp, exp.runs()[0])
    task["scenario_file"] = "/nonexistent/scenario.toml"
    rec = execute(task)
    assert rec["status"] == "failed" and "no such scenario file" in rec["error"]
    assert "Traceback" in rec["traceback"]


def test_atomic_write_leaves_nothing_when_the_writer_dies(tmp_path):
    target = tmp_path / "x.json"

    def dies(p):
        Path(p).write_text('{"half":')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, dies)
    assert list(tmp_path.iterdir()) == []
    atomic_write(target, lambda p: Path(p).write_text("{}"))
    assert target.read_text() == "{}" and len(list(tmp_path.iterdir())) == 1


# ---------------------------------------------------------------------------------------------
# Killed with SIGKILL, resumed: every run once, results as if never interrupted
# ---------------------------------------------------------------------------------------------
def _slow_experiment():
    # 10 points x 3 replicates = 30 runs of 20 weeks: long enough to be killed in the middle
    return experiment(experiment__steps=20, experiment__replicates=3,
                      parameters={"groups.Caliphate.claim": [0.0, 0.25, 0.5, 0.75, 1.0],
                                  "groups.Front.propaganda": [0.2, 0.6]})


def test_sigkill_then_resume_gives_every_run_once_and_identical_results(tmp_path):
    f = write(tmp_path / "slow.toml", _slow_experiment())
    out = tmp_path / "killed"
    cmd = [MILITANT_SIM, "sweep", str(f), "--out", str(out), "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, cwd=tmp_path)
    deadline = time.monotonic() + 180
    done = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            done = len([p for p in (out / "runs").glob("*.json")]) if (out / "runs").is_dir() \
                else 0
            if done >= 5:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # nothing reads as complete
    m = json.loads((out / "manifest.json").read_text())
    assert m["complete"] is False
    if (out / "runs.parquet").is_file():
        meta = json.loads(pq.read_schema(out / "runs.parquet").metadata[b"militant_sim"])
        assert meta["complete"] is False
    finished = sorted(p.name for p in (out / "runs").glob("*.json"))
    assert 5 <= len(finished) < 30
    for p in (out / "runs").glob("*.json"):       # every run file that exists is whole
        rec = json.loads(p.read_text())
        assert rec["status"] == "ok" and len(rec["outcomes"]) == 5
    for p in (out / "runs").glob("*.parquet"):
        pq.read_table(p)
    stamps = {n: (out / "runs" / n).stat().st_mtime_ns for n in finished}

    # resume with the same command
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "30/30 runs ok" in res.stdout
    assert not list(out.rglob(".*.tmp")), "temporary files are cleaned up"
    for n, t in stamps.items():
        assert (out / "runs" / n).stat().st_mtime_ns == t, "finished runs are not redone"
    resumed = SweepResult.load(out)
    assert resumed.complete
    runs = resumed.runs
    assert len(runs) == 30 and runs["run_id"].is_unique
    assert len(list((out / "runs").glob("*.json"))) == 30
    sessions = resumed.manifest["sessions"]
    assert len(sessions) == 2 and sessions[1]["runs_to_do"] == 30 - len(finished)

    # the same sweep, never interrupted, in this process
    clean = run_sweep(_slow_experiment(), workers=1, out=tmp_path / "clean", progress=False)
    _frames_equal(clean, resumed)


def test_command_line_dry_run_and_summary(tmp_path, capsys):
    f = write(tmp_path / "e.toml", experiment())
    out = tmp_path / "cli"
    assert cli.main(["sweep", str(f), "--out", str(out), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "4 points (grid) x 2 replicates = 8 runs of 6 weeks" in text
    assert "8 to run" in text and "estimated time" in text
    assert not out.exists(), "a dry run writes nothing"
    assert cli.main(["sweep", str(f), "--out", str(out), "--workers", "1"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.count("\n") == 0 and "8/8 runs ok, 0 failed" in line
    assert cli.main(["sweep", str(f), "--out", str(out), "--dry-run",
                     "--replicates", "3"]) == 0
    text = capsys.readouterr().out
    assert "8 done" in text and "4 to run" in text and "finished runs" in text
    assert cli.main(["sweep", "--list-outcomes"]) == 0
    assert "net_defections_per_1000:A>B" in capsys.readouterr().out


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path):
    f = write(tmp_path / "e.toml", experiment(experiment__replicates=1))
    res = subprocess.run([MILITANT_SIM, "sweep", str(f), "--out", str(tmp_path / "o"),
                          "--workers", "1"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0
    assert res.stderr == "" and "it/s" not in res.stderr and "run/s" not in res.stderr
    assert res.stdout.count("\n") == 1


def test_sigterm_is_an_orderly_interruption(tmp_path):
    """A scheduler's SIGTERM (the end of a job's time) keeps what finished and rebuilds the
    tables from it; the sweep is not marked complete."""
    f = write(tmp_path / "slow.toml", _slow_experiment())
    out = tmp_path / "term"
    proc = subprocess.Popen([MILITANT_SIM, "sweep", str(f), "--out", str(out), "--workers", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "runs").is_dir() and len(list((out / "runs").glob("*.json"))) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep ended before it could be stopped"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "run the same command again" in err
    res = SweepResult.load(out)
    assert not res.complete and res.manifest["sessions"][-1]["interrupted"] is True
    kept = len(list((out / "runs").glob("*.json")))
    assert len(res.runs) == kept >= 2 and (res.runs["status"] == "ok").all()
    meta = json.loads(pq.read_schema(out / "runs.parquet").metadata[b"militant_sim"])
    assert meta["complete"] is False and meta["missing"] == 30 - kept


def test_a_run_the_signal_interrupts_is_not_recorded_as_failed(tmp_path, monkeypatch):
    """SIGTERM raised inside a run that some library turns into its own error (it catches
    BaseException): with one worker the sweep stops as interrupted and records no failure."""
    import sim.sweeps.engines as engines
    from sim.sweeps.runner import SweepInterrupted

    real = engines.execute
    calls = []

    def execute(task):
        calls.append(task)
        if len(calls) == 2:  # the handler fired inside the run, whose code caught it
            engines.TERMINATING.set()
            return {**real(task), "status": "failed", "error": "RuntimeError: interrupted"}
        return real(task)

    monkeypatch.setattr(engines, "execute", execute)
    out = tmp_path / "sig"
    with pytest.raises(SweepInterrupted):
        run_sweep(experiment(experiment__replicates=2), workers=1, out=out, progress=False)
    engines.TERMINATING.clear()
    res = SweepResult.load(out)
    assert len(calls) == 2 and len(res.runs) == 1 and (res.runs["status"] == "ok").all()
    assert not res.complete


def test_resuming_after_the_model_code_changed_warns(tmp_path, monkeypatch):
    import sim.sweeps.runner as sweep
    from sim.sweeps.runner import SweepWarning

    out = tmp_path / "code"
    first = run_sweep(experiment(experiment__replicates=1), workers=1, out=out, progress=False)
    assert first.manifest["provenance"]["code_digest"] == sweep.code_digest()
    with pytest.warns(SweepWarning, match="code has changed"):
        monkeypatch.setattr(sweep, "code_digest", lambda: "0" * 16)
        run_sweep(experiment(), workers=1, out=out, progress=False)


def test_a_dead_worker_process_costs_only_its_runs():
    """When a worker process dies (the pool breaks), the runs in flight are tried again in a
    new pool; a run that kills its worker every time is recorded as failed, the others are not."""
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from sim.sweeps.runner import _drive

    class FakePool:
        def __init__(self):
            self.restarts = 0
            self.tries = {}
            self.broken = False

        def window(self):
            return 3

        def submit(self, task):
            rid = task["run_id"]
            self.tries[rid] = self.tries.get(rid, 0) + 1
            f = Future()
            if rid == "bad" or self.broken:
                self.broken = True
                f.set_exception(BrokenProcessPool("a child process terminated abruptly"))
            else:
                f.set_result({"run_id": rid, "status": "ok"})
            return f

        def wait(self, futures):
            return list(futures)

        def restart(self):
            self.restarts += 1
            self.broken = False

    tasks = [{"run_id": r, "point_id": 0, "replicate": 0, "point_key": "k", "seed": 1,
              "params": {}} for r in ("a", "bad", "b", "c", "d")]
    pool = FakePool()
    recs = {r["run_id"]: r for r in _drive(pool, tasks)}
    assert set(recs) == {"a", "bad", "b", "c", "d"}
    assert recs["bad"]["status"] == "failed" and "worker process died" in recs["bad"]["error"]
    assert all(recs[r]["status"] == "ok" for r in "abcd")
    assert pool.tries["bad"] == 2 and pool.restarts == 2


def test_a_sweep_with_worker_processes_runs_in_jupyter(tmp_path):
    """Notebooks have no importable __main__; worker processes must still start and work."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            "from test_sweep_helpers import experiment\n"
            "from sim.sweeps.runner import run_sweep\n"
            f"res = run_sweep(experiment(), workers=2, out={str(tmp_path / 'nb')!r})\n"
            "print(len(res.runs), res.complete, res.manifest['sessions'][-1]['engine'])")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    out = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "8 True 2 local processes" in out, nb.cells[0].outputs
