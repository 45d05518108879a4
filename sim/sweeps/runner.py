"""The experiment runner: :func:`run_sweep` (``militant-sim sweep``), :func:`plan` and
:func:`estimate`; the engines are in :mod:`.engines`, the folder's files in :mod:`.storage`.

A sweep runs every point of an experiment's design (``experiments/*.toml``, see
:mod:`sim.sweeps.design`) for each replicate, on local processes, in this process, or on a Dask
``distributed`` cluster, and writes into one folder (``docs/SWEEPS.md`` describes it):

* ``runs/<run_id>.json`` for each finished run (its parameters, seed, outcomes and timings),
  with ``runs/<run_id>.series.parquet``, ``.truces.parquet`` and ``.clashes.parquet`` beside it,
  and ``runs/<run_id>.failed.json`` (with the traceback) for a run that raised;
* ``runs.parquet``, ``series.parquet``, ``truces.parquet``, ``clashes.parquet`` and
  ``points.parquet``: consolidated tables rebuilt from ``runs/``;
* ``manifest.json``: provenance, the resolved experiment and a ``complete`` flag.

Crash safety: every file is written under a temporary name, flushed to disk and renamed into
place, so a file that exists is complete. A run's JSON file is written last, as the mark that
the run finished; nothing waits in memory for the end of the sweep. The manifest says
``complete: true`` only after the last run has been written and the tables rebuilt. Running the
same command again resumes: finished runs are skipped, runs that were in flight are redone, and
failed runs are redone with ``--retry-failed``.

Determinism: a run's seed is a function of the master seed, its point's parameter values and
its replicate number (:func:`sim.sweeps.design.run_seed`), and each run is independent, so the
tables are identical whatever the number of workers or the engine.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
import traceback
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..common.files import atomic_write, remove_temporary  # noqa: F401 (re-exported)
from ..common.jsonio import nan_to_none as _clean_nan
from .design import Experiment, ExperimentError, RunSpec, SweepError, load_experiment  # noqa: F401
from .engines import (  # noqa: F401 - the engines and the one run are re-exported
    POOL_ATTEMPTS,
    PROBE_SECONDS,
    TERMINATING,
    _alive,
    _DaskEngine,
    _failed_record,
    _import_distributed,
    _PoolEngine,
    _SerialEngine,
    _start_time,
    _worker_init,
    default_workers,
    execute,
    make_task,
    run_frames,
    start_method,
)
from .storage import (  # noqa: F401 - the folder's storage is re-exported
    FORMAT,
    FRAMES,
    Store,
    SweepResult,
    atomic_json,
    read_tables,
)

#: weeks run by the trial that times a run for --dry-run
TRIAL_WEEKS = 52


# =============================================================================================
# The sweep
# =============================================================================================
def plan(exp: Experiment, out: str | os.PathLike | None = None) -> dict[str, Any]:
    """How many runs the sweep has, how many are already in ``out``, and how many remain."""
    check_finite(exp)
    out = Path(out) if out else default_out(exp)
    store = Store(out)
    store.check_folder()  # the same checks as a real sweep: a dry run tells of a bad --out
    store.manifest()
    done, failed = store.status() if out.is_dir() else (set(), set())
    ids = [s.run_id for s in exp.runs()]
    n_done = sum(1 for r in ids if r in done)
    n_failed = sum(1 for r in ids if r in failed)
    return {"out": str(out), "points": len(exp.points), "replicates": exp.replicates,
            "runs": len(ids), "done": n_done, "failed": n_failed,
            "todo": len(ids) - n_done - n_failed, "outside_design": len(done - set(ids))}


def check_finite(exp: Experiment) -> None:
    """Refuse an experiment holding NaN or infinity anywhere in what the manifest records
    (a ``hypothesis.min_effect = nan``, say): it could not be written, and means nothing."""
    stack: list[tuple[Any, str]] = [(exp.resolved(), "")]
    while stack:
        node, key = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            raise SweepError(exp.file, key or None, "must be a finite number", node)
        if isinstance(node, dict):
            stack.extend((v, f"{key}.{k}" if key else str(k)) for k, v in node.items())
        elif isinstance(node, (list, tuple)):
            stack.extend((v, f"{key}[{i}]") for i, v in enumerate(node))


def default_out(exp: Experiment) -> Path:
    """``sweeps/NAME``; a name that would point elsewhere (``..``, a path) is refused."""
    from ..core.scenario import NAME_ALLOWED, valid_name

    if not valid_name(exp.name):
        raise SweepError(exp.file, "experiment.name", "cannot name the sweep folder", exp.name,
                         NAME_ALLOWED + ", or give --out")
    return Path("sweeps") / exp.name


def trial_seconds(exp: Experiment, weeks: int = TRIAL_WEEKS) -> dict[str, float]:
    """Time the build and the first weeks of one run (the design's first point) in this
    process, and extrapolate to a whole run."""
    from ..core.model import MilitantModel

    spec = exp.runs()[0]
    overrides = {**exp.constants, **spec.params, "steps": exp.steps}
    t0 = time.perf_counter()
    model = MilitantModel(exp.scenario_file, rng=spec.seed, overrides=overrides)
    t1 = time.perf_counter()
    k = min(weeks, exp.steps)
    for _ in range(k):
        model.step()
    t2 = time.perf_counter()
    per_week = (t2 - t1) / k
    return {"build": t1 - t0, "weeks": k, "per_week": per_week,
            "per_run": (t1 - t0) + per_week * exp.steps}


def estimate(exp: Experiment, out: str | os.PathLike | None = None,
             workers: int | None = None) -> dict[str, Any]:
    """The plan of a sweep with an estimate of its duration.

    The time per run is the mean of the runs already in ``out`` if there are any, else it is
    extrapolated from a short trial run in this process.
    """
    p = plan(exp, out)
    workers = workers or default_workers()
    per_run, source = None, ""
    if p["done"]:
        store = Store(p["out"])
        done, _ = store.status()
        times = []
        for s in exp.runs():
            if s.run_id in done:
                rec = store.record(s.run_id) or {}
                t = (rec.get("timings") or {}).get("total")
                if t:
                    times.append(t)
            if len(times) >= 50:
                break
        if times:
            per_run, source = float(np.mean(times)), f"mean of {len(times)} finished runs"
    if per_run is None and p["todo"]:
        t = trial_seconds(exp)
        per_run = t["per_run"]
        source = (f"a {t['weeks']}-week trial run ({t['build']:.2f} s to build, "
                  f"{1000 * t['per_week']:.1f} ms a week)")
    eff = max(1, min(workers, p["todo"]))
    total = (p["todo"] / eff) * per_run if per_run else 0.0
    return {**p, "workers": workers, "per_run_seconds": per_run, "source": source,
            "estimate_seconds": total}


def run_sweep(experiment: str | os.PathLike | Experiment | dict, workers: int | None = None,
              out: str | os.PathLike | None = None, dask: Any = None, *,
              dask_local: bool = False, replicates: int | None = None,
              scale: float | None = None, steps: int | None = None,
              retry_failed: bool = False, progress: bool | None = None,
              command: str | None = None) -> SweepResult:
    """Run (or resume) a sweep and return its tables.

    Args:
        experiment: an experiment file, its name (``"h2_restriction"``), a dict with the same
            layout, or a loaded :class:`~sim.sweeps.design.Experiment`.
        workers: local processes (default: all local cores; 1 runs in this process).
        out: the sweep folder (default: ``sweeps/NAME``). If it holds runs of the same
            experiment, the sweep resumes.
        dask: the address of a Dask scheduler (``"tcp://host:8786"``), a
            ``distributed.Client``, or ``"local"`` to start a local cluster.
        dask_local: same as ``dask="local"``.
        replicates, scale, steps: overrides (see :func:`sim.sweeps.design.load_experiment`).
        retry_failed: redo the runs that failed before.
        progress: show a progress bar (default: only when stderr is a terminal).

    Works from scripts and notebooks (worker processes are started with ``forkserver`` or
    ``spawn``; from a script, put the call under ``if __name__ == "__main__":``).
    """
    t_start = time.perf_counter()
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise SweepError("run_sweep", None, "called while a worker process was starting (it "
                         "imported the main script, which calls run_sweep at its top level)",
                         allowed='put the call under if __name__ == "__main__":')
    if scale is not None and not (isinstance(scale, (int, float)) and not isinstance(scale, bool)
                                  and math.isfinite(scale) and scale > 0):
        raise SweepError("--scale", None, "must be a finite number > 0", scale)
    if isinstance(experiment, Experiment):
        exp = experiment
    else:
        exp = load_experiment(experiment, replicates=replicates, scale=scale, steps=steps)
    if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
        raise SweepError("--workers", None, "must be at least 1", workers)
    if dask_local:
        dask = "local"
    check_finite(exp)
    out = Path(out) if out else default_out(exp)
    store = Store(out)
    store.check_folder()
    old = store.manifest()
    if old is not None and old.get("fingerprint") != exp.fingerprint():
        raise SweepError(out, "--out", "holds runs of a different experiment setup ("
                         + _differences(old.get("fingerprint_parts", {}),
                                        exp.fingerprint_parts()) + ")",
                         allowed="another --out, or delete the folder to start again")
    if progress is None:
        progress = _stderr_is_tty()
    cmd = command or f"run_sweep({exp.file!r}, workers={workers!r}, out={str(out)!r})"

    # connect to the engine before touching the folder: a wrong --dask address writes nothing
    todo = _todo(exp, store, retry_failed)
    engine = _make_engine(dask, workers, len(todo)) if todo else None
    try:
        store.lock()
        try:
            return _run_locked(exp, store, old, engine, retry_failed, progress, cmd, t_start)
        finally:
            store.unlock()
    finally:
        if engine is not None:
            engine.close()


def _todo(exp: Experiment, store: Store, retry_failed: bool) -> list[RunSpec]:
    done, failed = store.status()
    return [s for s in exp.runs() if s.run_id not in done
            and (retry_failed or s.run_id not in failed)]


def _make_engine(dask, workers, n_runs: int):
    if dask is not None:
        return _DaskEngine(dask, workers)
    n = workers or default_workers()
    if n == 1 or n_runs == 1:
        return _SerialEngine()
    return _PoolEngine(min(n, n_runs))


def _run_locked(exp, store: Store, old, engine, retry_failed, progress, cmd,
                t_start) -> SweepResult:
    store.clean_temporary()
    specs = exp.runs()
    done, failed, damaged = _drop_damaged(store)
    todo = _todo(exp, store, retry_failed)
    n_skip_ok = sum(1 for s in specs if s.run_id in done)
    n_skip_failed = sum(1 for s in specs if s.run_id in failed and not retry_failed)
    session = _session(store, old, cmd, todo, retry_failed, damaged, done or failed)
    manifest = _new_manifest(exp, old, session)
    atomic_json(store.manifest_path, manifest)          # complete: false, first
    store.write_points(exp)
    store.consolidate(exp)                              # tables match runs/ (partial)
    new_ok, new_failed, interrupted = _run_todo(exp, store, engine, todo, progress, session,
                                                n_skip_failed)
    done, failed = store.status()
    complete = not interrupted and all(s.run_id in done or s.run_id in failed for s in specs)
    info = store.consolidate(exp, complete=complete)
    counts = info["counts"]
    wall = time.perf_counter() - t_start
    session.update(ended=_now(), wall_seconds=round(wall, 3), runs_ok=new_ok,
                   runs_failed=new_failed, interrupted=interrupted,
                   runs_per_minute=round(60.0 * (new_ok + new_failed) / wall, 2) if wall > 0
                   else None)
    manifest["sessions"][-1] = session
    manifest.update(runs=counts, timings=info["timings"], failures=info["failures"],
                    runs_outside_design=len(done - {s.run_id for s in specs}))
    if complete:
        manifest.update(complete=True, finished=_now())
    atomic_json(store.manifest_path, _clean_nan(manifest))
    line = _summary_line(exp, store, counts, session, new_ok + new_failed,
                         n_skip_ok + n_skip_failed, wall, interrupted)
    res = SweepResult(store.out, summary=line, new_runs=new_ok, new_failures=new_failed,
                      skipped=n_skip_ok + n_skip_failed, wall_seconds=wall, _manifest=manifest)
    res.runs  # the run table as it is now (the other tables are read when first used)
    if interrupted:
        raise SweepInterrupted(line, res)
    return res


def _drop_damaged(store: Store) -> tuple[set[str], set[str], dict[str, str]]:
    """The finished and failed runs of the folder, after dropping the records of finished
    runs whose files are damaged or missing (they are made again), and those damaged runs."""
    done, failed = store.status()
    damaged = store.damaged()
    if damaged:
        import warnings

        listed = "; ".join(f"{rid}: {why}" for rid, why in sorted(damaged.items())[:5])
        more = f"; and {len(damaged) - 5} more" if len(damaged) > 5 else ""
        warnings.warn(f"{store.out}: {len(damaged)} finished run(s) have damaged or missing "
                      f"files and are made again ({listed}{more})", SweepWarning, stacklevel=4)
        for rid in damaged:  # their records go; the runs are made again below
            for suffix in (".json", ".failed.json"):
                with contextlib.suppress(OSError):
                    os.unlink(store.runs_dir / f"{rid}{suffix}")
        done, failed = store.status()
    return done, failed, damaged


def _session(store: Store, old, cmd, todo, retry_failed, damaged, has_runs) -> dict[str, Any]:
    """This session's entry of the manifest; warns when the model's code changed since the
    runs already in the folder were made."""
    session = {"started": _now(), "command": cmd, "host": socket.gethostname(),
               "pid": os.getpid(), "git": _git(), "code_digest": code_digest(),
               "runs_to_do": len(todo), "retry_failed": bool(retry_failed),
               "damaged_runs": [{"run_id": rid, "problem": why}
                                for rid, why in sorted(damaged.items())]}
    before = [x.get("code_digest") for x in (old or {}).get("sessions", [])
              if x.get("code_digest")]
    if before and before[-1] != session["code_digest"] and has_runs:
        import warnings

        warnings.warn(f"{store.out}: the model's code has changed since the runs already in "
                      "this folder were made; new runs may not be comparable with them (use "
                      "another --out to start afresh)", SweepWarning, stacklevel=4)
    return session


def _run_todo(exp, store: Store, engine, todo, progress, session, n_skip_failed
              ) -> tuple[int, int, bool]:
    """Make the runs still to do, saving each as it finishes: (new ok, new failed,
    interrupted)."""
    bar = None
    new_ok = new_failed = 0
    interrupted = False
    old_term = _install_sigterm()
    try:
        if todo:
            if engine is None:  # the folder changed since the plan was made
                engine = _make_engine(None, 1, len(todo))
            session["engine"] = engine.name
            session["workers"] = engine.workers
            if progress:
                from tqdm import tqdm

                bar = tqdm(total=len(todo), desc=exp.name, unit="run", file=sys.stderr,
                           dynamic_ncols=True, smoothing=0.1)
                bar.set_postfix(failed=0)
            tasks = [make_task(exp, s) for s in todo]
            for rec in _drive(engine, tasks):
                store.save(rec)
                if rec["status"] == "ok":
                    new_ok += 1
                else:
                    new_failed += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(failed=new_failed + n_skip_failed, refresh=False)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if bar is not None:
            bar.close()
        if engine is not None and interrupted:
            engine.close(kill=True)
        _restore_sigterm(old_term)
    return new_ok, new_failed, interrupted


def _summary_line(exp, store: Store, counts, session, n_new, n_skipped, wall,
                  interrupted) -> str:
    """The one line a sweep prints at the end."""
    where = str(store.out)
    rate = 60.0 * n_new / wall if wall > 0 else 0.0
    line = (f"{exp.name}: {counts['ok']}/{counts['total']} runs ok, {counts['failed']} failed"
            f" ({n_new} run now, {n_skipped} already done) in "
            f"{_duration(wall)}"
            + (f" on {session['engine']}, {rate:.1f} runs/min" if 'engine' in session else "")
            + f" -> {where}")
    if interrupted:
        line = (f"{exp.name}: interrupted; {counts['ok'] + counts['failed']} of "
                f"{counts['total']} runs kept in {where}; run the same command again to resume")
    if counts["failed"]:
        line += " (see manifest.json 'failures'; --retry-failed redoes them)"
    return line


class SweepInterrupted(KeyboardInterrupt):
    """The sweep was interrupted (Ctrl-C or SIGTERM); what finished is kept."""

    def __init__(self, message: str, result: SweepResult):
        super().__init__(message)
        self.result = result


def _drive(engine, tasks: list[dict[str, Any]]):
    """Submit tasks with at most ``engine.window()`` in flight; yield each run's record as it
    finishes. A run whose worker process died is retried once in a fresh pool."""
    queue = list(reversed(tasks))
    attempts: dict[str, int] = {}
    pending: dict[Any, dict[str, Any]] = {}

    def fill():
        while queue and len(pending) < engine.window():
            task = queue.pop()
            attempts[task["run_id"]] = attempts.get(task["run_id"], 0) + 1
            pending[engine.submit(task)] = task

    fill()
    while pending:
        finished = engine.wait(list(pending))
        broken = []
        for f in finished:
            task = pending.pop(f)
            try:
                rec = f.result()
            except BrokenProcessPool:
                broken.append(task)
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. a Dask worker lost
                yield _failed_record(task, f"{type(exc).__name__}: {exc}",
                                     traceback.format_exc())
                continue
            yield rec
        if broken:
            # a worker died: every run in flight is lost with the pool; start a new pool and
            # try them again (at most POOL_ATTEMPTS times in all)
            broken += list(pending.values())
            pending.clear()
            for task in broken:
                if attempts[task["run_id"]] < POOL_ATTEMPTS:
                    queue.append(task)
                else:
                    yield _failed_record(task, "the worker process died while making this run "
                                         "(out of memory?)")
            engine.restart()
        fill()


def _new_manifest(exp: Experiment, old: dict[str, Any] | None, session) -> dict[str, Any]:
    sessions = list((old or {}).get("sessions", [])) + [session]
    return {
        "format": FORMAT,
        "complete": False,
        "name": exp.name,
        "created": (old or {}).get("created", session["started"]),
        "finished": None,
        "experiment": exp.resolved(),
        "experiment_file": {"path": str(Path(exp.file).resolve()) if exp.file != "<experiment>"
                            else exp.file, "sha256": exp.sha256, "text": exp.text},
        "fingerprint": exp.fingerprint(),
        "fingerprint_parts": exp.fingerprint_parts(),
        "provenance": {"versions": _versions(), "git": session["git"],
                       "code_digest": session["code_digest"],
                       "command": session["command"], "cwd": os.getcwd(),
                       "host": session["host"], "platform": sys.platform,
                       "python": sys.version.split()[0]},
        "sessions": sessions,
        "runs": (old or {}).get("runs"),
        "timings": (old or {}).get("timings"),
        "failures": (old or {}).get("failures", []),
    }


def _differences(a: dict[str, Any], b: dict[str, Any]) -> str:
    diff = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    if not diff:
        return "different version of the folder layout"
    parts = []
    for k in diff:
        va, vb = a.get(k), b.get(k)
        if isinstance(va, (int, float, str)) and isinstance(vb, (int, float, str)):
            parts.append(f"{k}: {va} -> {vb}")
        else:
            parts.append(f"{k} changed")
    return "; ".join(parts)


def _versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for dist in ("militant-sim", "mesa", "numpy", "pandas", "pyarrow", "scipy", "SALib", "tqdm",
                 "distributed"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


#: the modules whose code makes a run's results (their digest is kept with each session)
MODEL_MODULES = ("sim.core.model", "sim.core.rules", "sim.core.fighters", "sim.core.record", "sim.core.params",
                 "sim.core.scenario", "sim.core.space", "sim.core.enums", "sim.sweeps.outcomes")


def code_digest() -> str:
    """A short hash of the source of the modules that make a run (see MODEL_MODULES)."""
    import hashlib
    import importlib.util

    h = hashlib.sha256()
    for name in MODEL_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin or not os.path.isfile(spec.origin):
            continue
        h.update(name.encode())
        h.update(Path(spec.origin).read_bytes())
    return h.hexdigest()[:16]


class SweepWarning(UserWarning):
    """Something the user should know about a sweep that does not stop it."""


def _git() -> dict[str, Any] | None:
    from ..core.record import git_commit

    return git_commit()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _duration(s: float) -> str:
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m} min {sec:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _install_sigterm():
    """Turn SIGTERM (a scheduler's time limit, ``kill``) into an orderly interruption."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        TERMINATING.set()
        raise KeyboardInterrupt

    TERMINATING.clear()
    try:
        return signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # pragma: no cover
        return None


def _restore_sigterm(old) -> None:
    if old is not None and threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGTERM, old)
