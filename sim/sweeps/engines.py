"""Engines: where the runs of a sweep execute (in this process, a pool of local worker
processes, or a Dask cluster), and the one run a worker makes (:func:`execute`: build the
model, run it, compute the outcomes and keep the frames)."""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import socket
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as _cf_wait
from multiprocessing.context import SpawnProcess as _SpawnProcess
from typing import Any

import numpy as np
import pandas as pd

from .design import Experiment, RunSpec, SweepError

#: a run whose worker process died is tried this many times before it is recorded as failed
POOL_ATTEMPTS = 2


# =============================================================================================
# One run (executed in a worker)
# =============================================================================================
def make_task(exp: Experiment, spec: RunSpec) -> dict[str, Any]:
    """Everything a worker needs to make one run (plain data, cheap to send)."""
    return {"run_id": spec.run_id, "point_id": spec.point_id, "replicate": spec.replicate,
            "point_key": spec.point_key, "seed": spec.seed, "params": spec.params,
            "scenario_file": exp.scenario_file, "constants": exp.constants, "steps": exp.steps,
            "outcomes": exp.outcomes, "series": exp.series, "collect_every": exp.collect_every}


def execute(task: dict[str, Any]) -> dict[str, Any]:
    """Make one run and return its record: outcomes, timings and the frames to keep.

    Never raises for a problem of the run itself: a run that fails returns ``status =
    "failed"`` with the error and its traceback.
    """
    t0 = time.perf_counter()
    rec: dict[str, Any] = {k: task[k] for k in ("run_id", "point_id", "replicate", "point_key",
                                                "seed", "params")}
    rec["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    try:
        from ..core.model import MilitantModel
        from .outcomes import compute_all

        overrides = {**task["constants"], **task["params"], "steps": task["steps"]}
        model = MilitantModel(task["scenario_file"], rng=task["seed"], overrides=overrides)
        t1 = time.perf_counter()
        result = model.run(task["steps"], progress=False)
        t2 = time.perf_counter()
        from .outcomes import compute_patterns, is_pattern

        pats = [o for o in task["outcomes"] if is_pattern(o)]
        outs = compute_all([o for o in task["outcomes"] if not is_pattern(o)], result)
        if pats:
            outs.update(compute_patterns(pats, result, model.spec))
        outs = {o: outs[o] for o in task["outcomes"]}
        frames = run_frames(result, task["series"], task["collect_every"])
        t3 = time.perf_counter()
        rec.update(status="ok", outcomes={k: _finite_or_none(v) for k, v in outs.items()},
                   weeks=int(result.steps["week"].iloc[-1]),
                   timings={"build": round(t1 - t0, 4), "run": round(t2 - t1, 4),
                            "outcomes": round(t3 - t2, 4), "total": round(t3 - t0, 4)},
                   frames=frames)
    except Exception as exc:  # noqa: BLE001 - a failed run is data, not a crash of the sweep
        rec.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                   traceback=traceback.format_exc(),
                   timings={"total": round(time.perf_counter() - t0, 4)})
    return rec


def run_frames(result, series: list[str], collect_every: int) -> dict[str, pd.DataFrame]:
    """The per-run tables a sweep keeps: time series, truce spells and clash events."""
    import fnmatch

    from ..core.record import is_flow

    out: dict[str, pd.DataFrame] = {}
    steps = result.steps
    if collect_every > 0 and series:
        cols = [c for c in steps.columns if c != "week"
                and any(fnmatch.fnmatchcase(c, s) for s in series)]
        weeks = steps["week"].to_numpy()
        keep = (weeks % collect_every == 0)
        keep[-1] = True
        kept = steps.loc[keep, ["week"] + cols].reset_index(drop=True)
        # stocks are sampled at the kept weeks; flows are summed over the weeks since the
        # previous kept row (week 0 keeps its own), so their totals are those of the run
        flows = [c for c in cols if is_flow(c)]
        if flows:
            period = np.cumsum(keep) - keep  # rows up to and including a kept row share its id
            sums = steps[flows].groupby(period).sum()
            for c in flows:
                kept[c] = sums[c].to_numpy().astype(steps[c].dtype)
        out["series"] = kept
    tr = pd.DataFrame(result.summary.get("truces", []),
                      columns=["pair", "start", "end", "duration", "censored", "ended_by"])
    out["truces"] = pd.DataFrame({
        "pair": tr["pair"].astype(str), "start": tr["start"].astype(np.int64),
        "end": pd.array(tr["end"].tolist(), dtype="Int64"),
        "duration": tr["duration"].astype(np.int64), "censored": tr["censored"].astype(bool),
        "ended_by": tr["ended_by"].astype(object)})
    ev = result.events
    cl = ev[ev["kind"] == "clash"] if len(ev) else ev
    out["clashes"] = pd.DataFrame({"week": cl["week"].to_numpy(np.int64) if len(cl) else
                                   np.zeros(0, np.int64),
                                   "size": cl["size"].to_numpy(np.float64) if len(cl) else
                                   np.zeros(0, np.float64)})
    return out


def _finite_or_none(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def _failed_record(task: dict[str, Any], error: str, tb: str = "") -> dict[str, Any]:
    rec = {k: task[k] for k in ("run_id", "point_id", "replicate", "point_key", "seed",
                                "params")}
    rec.update(status="failed", error=error, traceback=tb, timings={"total": None},
               worker=None)
    return rec


# =============================================================================================
# Engines: where the runs execute
# =============================================================================================
def default_workers() -> int:
    """All local cores (those this process may use)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def start_method() -> str:
    """A start method that is safe with threads and in Jupyter: forkserver where it exists
    (Linux), else spawn. ``MILITANT_SIM_START_METHOD`` overrides it."""
    env = os.environ.get("MILITANT_SIM_START_METHOD")
    if env:
        return env
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


#: set by the sweep's SIGTERM handler: a run in this process that the signal interrupted must
#: not be recorded as failed, whatever exception the interrupted code turned it into (a library
#: that catches BaseException and raises its own error, for example)
TERMINATING = threading.Event()


class _SerialEngine:
    """Runs in this process, one at a time (one worker)."""

    name = "this process"

    def __init__(self):
        self.workers = 1

    def window(self) -> int:
        return 1

    def submit(self, task) -> Future:
        f: Future = Future()
        rec = execute(task)
        if TERMINATING.is_set():  # interrupted during the run: an interruption, not a failure
            raise KeyboardInterrupt
        f.set_result(rec)
        return f

    def wait(self, futures):
        return list(futures)

    def close(self, kill: bool = False) -> None:
        pass


class _PoolEngine:
    """A pool of local processes started with a safe start method."""

    def __init__(self, workers: int):
        self.workers = workers
        self.method = start_method()
        self.name = f"{workers} local processes ({self.method})"
        self._start()

    def _start(self) -> None:
        ctx = multiprocessing.get_context(self.method)
        if self.method == "forkserver":
            # workers fork from a server that has already imported the model and loaded its
            # compiled kernels (sim.sweeps.preload)
            ctx.set_forkserver_preload(["sim.sweeps.preload"])
        self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=_WorkerContext(ctx),
                                        initializer=_worker_init,
                                        initargs=(os.getpid(), _start_time(os.getpid())))
        # one trivial task: a pool whose workers cannot start is an error of the sweep, found
        # before any run is sent (not a failure recorded for every run)
        try:
            self.pool.submit(os.getpid).result(timeout=PROBE_SECONDS)
        except Exception as exc:  # noqa: BLE001 - BrokenProcessPool, a timeout
            self.close(kill=True)
            raise SweepError("--workers", None, "the worker processes could not start "
                             f"({type(exc).__name__}: {exc})", allowed="--workers 1 runs in "
                             "this process; see the messages above for the cause") from None

    def restart(self) -> None:
        self.close(kill=True)
        self._start()

    def window(self) -> int:
        return 2 * self.workers

    def submit(self, task) -> Future:
        return self.pool.submit(execute, task)

    def wait(self, futures):
        return _cf_wait(futures, return_when=FIRST_COMPLETED).done

    def close(self, kill: bool = False) -> None:
        if kill:
            procs = list(getattr(self.pool, "_processes", {}).values())
            self.pool.shutdown(wait=False, cancel_futures=True)
            for p in procs:
                with contextlib.suppress(Exception):
                    p.kill()
        else:
            self.pool.shutdown(wait=True)


class _WorkerContext:
    """A multiprocessing context whose worker processes do not import the parent's
    ``__main__``: the runs need only :func:`execute`, and a script that calls
    :func:`run_sweep` at its top level (without ``if __name__ == "__main__":``) must not be run
    again in every worker."""

    def __init__(self, ctx):
        self._ctx = ctx

    def __getattr__(self, name):
        return getattr(self._ctx, name)

    def Process(self, *args, **kwargs):  # noqa: N802 - the multiprocessing name
        cls = _WORKER_PROCESS.get(self._ctx.get_start_method())
        return cls(*args, **kwargs) if cls is not None else self._ctx.Process(*args, **kwargs)


_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _main_not_inherited():
    """Start a process without telling it to import the parent's __main__ module."""
    from multiprocessing import spawn

    with _MAIN_LOCK:
        real = spawn.get_preparation_data

        def prep(name):
            d = real(name)
            d.pop("init_main_from_path", None)
            d.pop("init_main_from_name", None)
            return d

        spawn.get_preparation_data = prep
        try:
            yield
        finally:
            spawn.get_preparation_data = real


from multiprocessing.context import SpawnProcess as _SpawnProcess  # noqa: E402


class _SpawnWorker(_SpawnProcess):
    @staticmethod
    def _Popen(process_obj):  # noqa: N802 - the multiprocessing name
        with _main_not_inherited():
            return _SpawnProcess._Popen(process_obj)


_WORKER_PROCESS: dict[str, type] = {"spawn": _SpawnWorker}
try:
    from multiprocessing.context import ForkServerProcess as _ForkServerProcess

    class _ForkServerWorker(_ForkServerProcess):
        @staticmethod
        def _Popen(process_obj):  # noqa: N802 - the multiprocessing name
            with _main_not_inherited():
                return _ForkServerProcess._Popen(process_obj)

    _WORKER_PROCESS["forkserver"] = _ForkServerWorker
except ImportError:  # pragma: no cover - Windows has no forkserver
    pass

#: seconds a worker waits between checks that the sweep's main process is still alive
WATCH_SECONDS = 0.5
#: seconds allowed for the first worker process to start
PROBE_SECONDS = 300


def _start_time(pid: int) -> str | None:
    """A process's start time (Linux: field 22 of /proc/PID/stat), to tell it from a later
    process that reuses its id; None where unknown."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the id now belongs to another user's process
        return False
    except OSError:  # pragma: no cover - no way to tell: assume alive
        return True
    return start is None or _start_time(pid) in (None, start)


def _worker_init(parent: int, start: str | None) -> None:
    """In each worker process: exit as soon as the sweep's main process is gone (killed with
    SIGKILL, say), instead of waiting forever for runs that will never come. With the
    workers gone, the forkserver and the resource tracker exit too."""
    if os.name == "nt":  # pragma: no cover - os.kill(pid, 0) would end the parent there
        return

    def watch():
        while True:
            time.sleep(WATCH_SECONDS)
            if not _alive(parent, start):
                os._exit(70)

    threading.Thread(target=watch, name="militant-sim-watchdog", daemon=True).start()


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise SweepError("--dask", None, "needs the optional 'distributed' package",
                         allowed="pip install 'militant-sim[cluster]'") from None
    return distributed


class _DaskEngine:
    """Runs on a Dask ``distributed`` cluster: an existing scheduler, a Client, or a local
    cluster started here."""

    def __init__(self, dask: Any, workers: int | None):
        distributed = _import_distributed()
        self._wait = distributed.wait
        self.cluster = None
        self.own = True
        if isinstance(dask, distributed.Client):
            self.client, self.own = dask, False
            self.name = f"Dask cluster at {dask.scheduler.address}"
        elif dask == "local":
            import logging

            n = workers or default_workers()
            self.cluster = distributed.LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                silence_logs=logging.ERROR)
            self.client = distributed.Client(self.cluster)
            self.name = f"local Dask cluster of {n} workers"
        else:
            try:
                self.client = distributed.Client(str(dask), timeout="20s")
            except (OSError, TimeoutError, ValueError, TypeError) as exc:
                raise SweepError("--dask", None, f"cannot reach a Dask scheduler: {exc}",
                                 str(dask), "the address of a running scheduler, e.g. "
                                 "tcp://10.0.0.1:8786") from None
            self.name = f"Dask cluster at {dask}"
        self.workers = max(1, sum(self.client.nthreads().values()))

    def window(self) -> int:
        try:
            n = sum(self.client.nthreads().values())
        except Exception:  # noqa: BLE001
            n = self.workers
        return max(2, 2 * n)

    def submit(self, task):
        return self.client.submit(execute, task, pure=False, key=f"run-{task['run_id']}-"
                                  f"{os.urandom(4).hex()}")

    def wait(self, futures):
        return self._wait(futures, return_when="FIRST_COMPLETED").done

    def close(self, kill: bool = False) -> None:
        if self.own:
            with contextlib.suppress(Exception):
                self.client.close()
            if self.cluster is not None:
                with contextlib.suppress(Exception):
                    self.cluster.close()
