"""Sweep faults: a plain script, SIGKILL of the main process (no worker left behind, nothing
lost), damaged run files detected and redone, reports of unfinished sweeps, kept series that
sum flows, workers that cannot start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest
from test_sweep_helpers import comparable, experiment, sorted_frame, write

import sim
from sim.sweeps.runner import Store, SweepError, SweepResult, SweepWarning, run_frames, run_sweep

MILITANT_SIM = str(Path(sys.executable).parent / "militant-sim")
ROOT = Path(__file__).resolve().parent.parent


def _frames_equal(a: SweepResult, b: SweepResult) -> None:
    pd.testing.assert_frame_equal(comparable(a.runs), comparable(b.runs))
    for name in ("series", "truces", "clashes"):
        pd.testing.assert_frame_equal(sorted_frame(getattr(a, name)),
                                      sorted_frame(getattr(b, name)))


def _session_processes(sid: int) -> list[tuple[int, str]]:
    """Living processes of a session (Linux /proc): (pid, command line)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            state, session = fields[0], int(fields[3])
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        if session == sid and state != "Z":
            out.append((int(d.name), cmd))
    return out


def _wait_gone(sid: int, seconds: float = 20.0) -> list[tuple[int, str]]:
    deadline = time.monotonic() + seconds
    left = _session_processes(sid)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _session_processes(sid)
    return left


#: how many times the SIGKILL test kills the sweep (MILITANT_SIM_SIGKILLS=20 for the long check)
SIGKILLS = int(os.environ.get("MILITANT_SIM_SIGKILLS", "3"))
#: replicates of the slow experiment: enough runs for every kill to find the sweep running
SLOW_REPLICATES = max(3, SIGKILLS)


def _slow_experiment() -> dict:
    # 6 points x 3 replicates = 18 runs of 20 weeks (more with more kills): long enough to be
    # killed in the middle
    return experiment(experiment__steps=20, experiment__replicates=SLOW_REPLICATES,
                      parameters={"groups.Caliphate.claim": [0.0, 0.5, 1.0],
                                  "groups.Front.propaganda": [0.2, 0.6]})


# ---------------------------------------------------------------------------------------------
# A plain script
# ---------------------------------------------------------------------------------------------
def test_run_sweep_from_a_plain_script_without_a_main_guard(tmp_path):
    """Workers used to import the script, call run_sweep again, fail on the folder's lock and
    get every run recorded as failed ('out of memory?'), with exit status 0."""
    write(tmp_path / "e.toml", experiment())
    script = tmp_path / "plain.py"
    script.write_text(
        "from sim.sweeps.runner import run_sweep\n"
        "res = run_sweep('e.toml', workers=2, out='out')\n"
        "print(res.summary)\n"
        "print('STATUS', res.runs['status'].tolist().count('ok'), "
        "int(res.runs['clash_rate'].isna().sum()))\n")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "STATUS 8 0" in proc.stdout, proc.stdout + proc.stderr
    assert "8/8 runs ok, 0 failed" in proc.stdout
    assert not list((tmp_path / "out" / "runs").glob("*.failed.json"))
    assert "another sweep is writing" not in proc.stderr


def test_workers_that_cannot_start_are_one_error_and_poison_nothing(tmp_path, monkeypatch):
    import sim.sweeps.engines as engines

    monkeypatch.setattr(engines, "PROBE_SECONDS", 1e-9)  # the first worker never "starts"
    with pytest.raises(SweepError, match="worker processes could not start"):
        run_sweep(experiment(), workers=2, out=tmp_path / "o", progress=False)
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------------------------------
# SIGKILL of the main process
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_sigkill_of_the_main_process_leaves_no_worker_and_loses_nothing(tmp_path):
    f = write(tmp_path / "slow.toml", _slow_experiment())
    out = tmp_path / "killed"
    cmd = [MILITANT_SIM, "sweep", str(f), "--out", str(out), "--workers", "2"]
    kept: dict[str, int] = {}
    for kill in range(SIGKILLS):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True, cwd=tmp_path)
        try:
            before = len(list((out / "runs").glob("*.json"))) if (out / "runs").is_dir() else 0
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and proc.poll() is None:
                n = len(list((out / "runs").glob("*.json"))) if (out / "runs").is_dir() else 0
                if n >= before + 2 and len(_session_processes(proc.pid)) >= 3:
                    break
                time.sleep(0.05)
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert len(_session_processes(proc.pid)) >= 3  # main, forkserver, workers
            os.kill(proc.pid, signal.SIGKILL)  # the main process only, not its group
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        left = _wait_gone(proc.pid)
        for pid, _ in left:  # clean up before failing (only the processes of this session)
            os.kill(pid, signal.SIGKILL)
        assert not left, f"processes left behind after kill {kill + 1}: {left}"
        for p in (out / "runs").glob("*.json"):
            kept.setdefault(p.name, p.stat().st_mtime_ns)
    # finished runs are never lost nor redone, and the sweep resumes to the end
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr
    n_runs = 6 * SLOW_REPLICATES
    assert f"{n_runs}/{n_runs} runs ok" in res.stdout
    for name, stamp in kept.items():
        assert (out / "runs" / name).stat().st_mtime_ns == stamp, f"{name} was redone"
    resumed = SweepResult.load(out)
    assert resumed.complete and len(resumed.runs) == n_runs and resumed.runs["run_id"].is_unique
    clean = run_sweep(_slow_experiment(), workers=1, out=tmp_path / "clean", progress=False)
    _frames_equal(clean, resumed)


# ---------------------------------------------------------------------------------------------
# Damaged run files
# ---------------------------------------------------------------------------------------------
def test_a_truncated_deleted_or_damaged_run_file_is_detected_and_redone(tmp_path):
    exp = experiment(experiment__replicates=1)
    out = tmp_path / "sw"
    first = run_sweep(exp, workers=1, out=out, progress=False)
    ids = sorted(first.runs["run_id"])
    runs = out / "runs"
    rec = json.loads((runs / f"{ids[0]}.json").read_text())
    assert set(rec["checksums"]) == set(rec["files"]) and len(rec["checksums"]["series"]) == 64
    stamps = {i: (runs / f"{i}.json").stat().st_mtime_ns for i in ids}
    # truncate a series file, delete another, flip one byte of a third, cut a JSON file short
    data = (runs / f"{ids[0]}.series.parquet").read_bytes()
    (runs / f"{ids[0]}.series.parquet").write_bytes(data[: len(data) // 2])
    (runs / f"{ids[1]}.series.parquet").unlink()
    data = bytearray((runs / f"{ids[2]}.series.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (runs / f"{ids[2]}.series.parquet").write_bytes(bytes(data))
    text = (runs / f"{ids[3]}.json").read_text()
    (runs / f"{ids[3]}.json").write_text(text[: len(text) // 2])

    store = Store(out)
    done, _ = store.status()
    assert done == set()  # all four are damaged
    assert set(store.damaged()) == set(ids)
    assert "missing" in store.damaged()[ids[1]] and "checksum" in store.damaged()[ids[2]]
    with pytest.warns(SweepWarning, match="4 finished run.*damaged or missing"):
        again = run_sweep(exp, workers=1, out=out, progress=False)
    assert again.complete and again.new_runs == 4
    assert {d["run_id"] for d in again.manifest["sessions"][-1]["damaged_runs"]} == set(ids)
    _frames_equal(first, again)
    for i in ids:
        assert (runs / f"{i}.json").stat().st_mtime_ns != stamps[i]
    # nothing damaged now: a resume makes nothing
    with warnings.catch_warnings():
        warnings.simplefilter("error", SweepWarning)
        third = run_sweep(exp, workers=1, out=out, progress=False)
    assert third.new_runs == 0


def test_a_run_made_before_checksums_is_checked_by_reading_its_tables(tmp_path):
    exp = experiment(experiment__replicates=1)
    out = tmp_path / "old"
    run_sweep(exp, workers=1, out=out, progress=False)
    runs = out / "runs"
    rid = sorted(p.name[:-5] for p in runs.glob("*-r000.json"))[0]
    rec = json.loads((runs / f"{rid}.json").read_text())
    del rec["checksums"]
    (runs / f"{rid}.json").write_text(json.dumps(rec))
    assert rid in Store(out).status()[0]  # whole: still a finished run
    data = (runs / f"{rid}.series.parquet").read_bytes()
    (runs / f"{rid}.series.parquet").write_bytes(data[:-20])
    store = Store(out)
    assert rid not in store.status()[0] and "whole Parquet" in store.damaged()[rid]


# ---------------------------------------------------------------------------------------------
# Reports of unfinished sweeps
# ---------------------------------------------------------------------------------------------
def test_report_on_an_unfinished_sweep_reads_the_runs_on_disk(tmp_path, capsys):
    """A sweep killed after its tables were last rebuilt: the report must use the runs that
    are on disk, say how many of how many, and never show the older table."""
    from sim import cli
    from sim.sweeps.design import load_experiment
    from sim.analysis.report import load_sweep

    exp = experiment(experiment__replicates=2)
    out = tmp_path / "sw"
    run_sweep(exp, workers=1, out=out, progress=False)
    runs = out / "runs"
    aside = tmp_path / "aside"
    aside.mkdir()
    ids = sorted(p.name[:-5] for p in runs.glob("*.json"))
    assert len(ids) == 8
    for rid in ids[:5]:  # the state when the last session started: 3 runs done
        for p in runs.glob(f"{rid}*"):
            p.rename(aside / p.name)
    store = Store(out)
    store.consolidate(load_experiment(exp))
    m = json.loads((out / "manifest.json").read_text())
    m["complete"] = False
    (out / "manifest.json").write_text(json.dumps(m))
    time.sleep(0.01)
    for p in aside.iterdir():  # then 3 more finished (2 never did) before the kill
        if p.name.split(".")[0] in ids[:3]:
            p.rename(runs / p.name)
            os.utime(runs / p.name)
    assert len(pd.read_parquet(out / "runs.parquet")) == 3  # the stale table

    sw = load_sweep(out)
    assert len(sw.runs) == 6 and set(sw.runs["run_id"]) == set(ids[:3]) | set(ids[5:])
    assert sw.series["run_id"].nunique() == 6
    assert sw.manifest["runs_on_disk"]["total"] == 8
    assert len(pd.read_parquet(out / "runs.parquet")) == 3  # the folder itself is untouched
    assert cli.main(["report", str(out), "--format", "png"]) == 0
    captured = capsys.readouterr()
    assert "6 of 8 runs have finished" in captured.err
    assert "6 of 8 runs have finished" in (out / "report" / "report.md").read_text()


# ---------------------------------------------------------------------------------------------
# Kept series: flows summed, stocks sampled
# ---------------------------------------------------------------------------------------------
def test_kept_series_sum_flows_over_each_period_and_sample_stocks():
    res = sim.run("idlib_2020", steps=42, seed=1)
    steps = res.steps
    s = run_frames(res, ["defect.*", "fighters.*", "recruits.*", "clashes", "relation.*"],
                   4)["series"]
    assert s["week"].tolist() == list(range(0, 41, 4)) + [42]
    for col in ("defect.HaD>ISIS", "defect.ISIS>HaD", "recruits.ISIS", "clashes"):
        assert s[col].sum() == steps[col].sum(), col
        assert s[col].dtype == steps[col].dtype
    # week 8 holds weeks 5 to 8; week 42 holds weeks 41 and 42
    assert s.set_index("week").loc[8, "recruits.ISIS"] == steps.loc[5:8, "recruits.ISIS"].sum()
    assert s.set_index("week").loc[42, "recruits.ISIS"] == \
        steps.loc[41:42, "recruits.ISIS"].sum()
    kept = steps.set_index("week").loc[s["week"]]
    for col in ("fighters.ISIS", "relation.HaD|ISIS"):  # stocks: the value at that week
        assert (s[col].to_numpy() == kept[col].to_numpy()).all(), col


def test_kept_series_of_a_sweep_give_the_true_totals(tmp_path):
    exp = experiment(experiment__steps=9, experiment__collect_every=4, experiment__replicates=1,
                     experiment__series=["recruits.*", "fighters.*"])
    res = run_sweep(exp, workers=1, out=tmp_path / "sw", progress=False)
    row = res.runs.iloc[0]
    overrides = {"clash_kappa": 0.05, "groups.Caliphate.claim": row["groups.Caliphate.claim"],
                 "groups.Front.propaganda": row["groups.Front.propaganda"]}
    full = sim.run("classroom", steps=9, seed=int(row["seed"]), overrides=overrides).steps
    ser = res.series[res.series["run_id"] == row["run_id"]]
    assert ser["week"].tolist() == [0, 4, 8, 9]
    assert ser["recruits.Caliphate"].sum() == full["recruits.Caliphate"].sum()
