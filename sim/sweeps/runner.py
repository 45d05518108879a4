"""The experiment runner: ``militant-sim sweep`` and :func:`run_sweep`.

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
import json
import math
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as _cf_wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .design import Experiment, ExperimentError, RunSpec, load_experiment
from ..common.files import atomic_json as atomic_json_file
from ..common.jsonio import jsonable
from ..common.jsonio import nan_to_none as _clean_nan
from ..common.files import atomic_write, remove_temporary

FORMAT = "militant-sim sweep 1"
#: frames a run may keep beside its JSON file
FRAMES = ("series", "truces", "clashes")
#: weeks run by the trial that times a run for --dry-run
TRIAL_WEEKS = 52
#: a run whose worker process died is tried this many times before it is recorded as failed
POOL_ATTEMPTS = 2


class SweepError(ExperimentError):
    """A problem with the sweep folder or the sweep's options (exit status 2)."""


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
# Atomic files
# =============================================================================================
def atomic_json(path: Path, data: Any) -> None:
    atomic_json_file(path, data, default=jsonable)


# =============================================================================================
# The sweep folder
# =============================================================================================
class Store:
    """The files of one sweep folder (see the module docstring and docs/SWEEPS.md)."""

    def __init__(self, out: str | os.PathLike):
        self.out = Path(out)
        self.runs_dir = self.out / "runs"
        self.manifest_path = self.out / "manifest.json"
        self._lock_fh = None

    # -- state ---------------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.is_file():
            return None
        try:
            m = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError) as exc:
            raise SweepError(self.manifest_path, None, f"cannot read the manifest: {exc}") from None
        if not isinstance(m, dict):
            raise SweepError(self.manifest_path, None, "not a sweep manifest (a JSON object "
                             "was expected)", type(m).__name__,
                             "the manifest.json written by 'militant-sim sweep'; use another "
                             "--out")
        return m

    def status(self) -> tuple[set[str], set[str]]:
        """Run ids finished (a JSON file whose tables are all there and match their
        checksums) and failed (a readable .failed.json file and no good JSON file). A run whose
        files are damaged or missing is neither: it is made again (see :meth:`damaged`)."""
        done, failed = set(), set()
        self._damaged = {}
        if not self.runs_dir.is_dir():
            return done, failed
        for name in os.listdir(self.runs_dir):
            if name.startswith("."):
                continue
            if name.endswith(".failed.json"):
                rid = name[: -len(".failed.json")]
                why = self._check(rid, failed=True)
                if why is None:
                    failed.add(rid)
                else:
                    self._damaged[rid] = why
            elif name.endswith(".json"):
                rid = name[: -len(".json")]
                why = self._check(rid)
                if why is None:
                    done.add(rid)
                else:
                    self._damaged[rid] = why
        for rid in done:
            self._damaged.pop(rid, None)
        return done, failed - done

    def damaged(self) -> dict[str, str]:
        """Runs found damaged by the last :meth:`status`: ``{run_id: what is wrong}``."""
        if not hasattr(self, "_damaged"):
            self.status()
        return dict(self._damaged)

    def _check(self, rid: str, failed: bool = False) -> str | None:
        """What is wrong with a run's files (None: nothing). Cached while they do not change."""
        main = self.runs_dir / (f"{rid}.failed.json" if failed else f"{rid}.json")
        cache = self.__dict__.setdefault("_checked", {})
        try:
            st = main.stat()
        except OSError:
            return "its record vanished"
        sig = (failed, st.st_mtime_ns, st.st_size)
        hit = cache.get(rid)
        if hit is not None and hit[0] == sig:
            return hit[1]
        why = _check_record(self.runs_dir, rid, main, failed)
        cache[rid] = (sig, why)
        return why

    def check_folder(self) -> None:
        """Refuse a folder that exists and holds something other than a sweep."""
        parent = self.out
        while not parent.exists() and parent.parent != parent:
            parent = parent.parent
        if parent != self.out and not parent.is_dir():
            raise SweepError(self.out, "--out", f"{parent} is a file, not a folder", str(self.out),
                             "a folder")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise SweepError(self.out, "--out", f"cannot write into {parent} (read-only or no "
                             "permission)", str(self.out), "a folder you can write to")
        if not self.out.exists():
            return
        if not self.out.is_dir():
            raise SweepError(self.out, "--out", "exists and is not a folder", str(self.out))
        if self.manifest_path.is_file():
            return
        others = [p.name for p in self.out.iterdir() if p.name not in ("runs", ".lock")]
        if others:
            raise SweepError(self.out, "--out", "the folder exists and is not a sweep folder "
                             "(no manifest.json)", sorted(others)[:5],
                             "a new folder, or a folder made by 'militant-sim sweep'")

    # -- lock ----------------------------------------------------------------------------------
    def lock(self) -> None:
        """Hold an exclusive lock on the folder while the sweep runs (released by the kernel
        if the process dies, even by SIGKILL)."""
        self.out.mkdir(parents=True, exist_ok=True)
        self.runs_dir.mkdir(exist_ok=True)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no lock
            return
        fh = open(self.out / ".lock", "a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            who = fh.read().strip()
            fh.close()
            raise SweepError(self.out, "--out", "another sweep is writing into this folder",
                             who or None, "wait for it to finish, or use another --out") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        fh.flush()
        self._lock_fh = fh

    def unlock(self) -> None:
        if self._lock_fh is not None:
            with contextlib.suppress(OSError):
                self._lock_fh.close()
            self._lock_fh = None

    def clean_temporary(self) -> int:
        """Remove temporary files left by a sweep that was killed while writing (only the
        project's own, named with sim.common.files.TEMP_PREFIX)."""
        return sum(remove_temporary(d) for d in (self.out, self.runs_dir))

    # -- one run -------------------------------------------------------------------------------
    def save(self, rec: dict[str, Any]) -> None:
        """Write a run's record: its frames first, then its JSON file (the completion mark)."""
        rid = rec["run_id"]
        frames = rec.pop("frames", None) or {}
        if rec["status"] != "ok":
            atomic_json(self.runs_dir / f"{rid}.failed.json", _clean_nan(rec))
            return
        files, sums = [], {}
        for name in FRAMES:
            path = self.runs_dir / f"{rid}.{name}.parquet"
            df = frames.get(name)
            if df is None or (name != "series" and not len(df)):
                path.unlink(missing_ok=True)
                continue
            atomic_write(path, lambda p, df=df: df.to_parquet(p, index=False))
            files.append(name)
            sums[name] = _sha256(path)
        rec["files"] = files
        rec["checksums"] = sums  # checked on resume: a damaged table makes the run again
        atomic_json(self.runs_dir / f"{rid}.json", _clean_nan(rec))
        (self.runs_dir / f"{rid}.failed.json").unlink(missing_ok=True)

    def record(self, rid: str) -> dict[str, Any] | None:
        for name in (f"{rid}.json", f"{rid}.failed.json"):
            p = self.runs_dir / name
            if p.is_file():
                try:
                    return json.loads(p.read_text())
                except (OSError, ValueError):
                    return None
        return None

    # -- consolidated tables -------------------------------------------------------------------
    def consolidate(self, exp: Experiment, complete: bool = False,
                    into: Path | None = None) -> dict[str, Any]:
        """Rebuild runs.parquet, series.parquet, truces.parquet and clashes.parquet from runs/
        (into the sweep folder, or the folder ``into``).

        Returns the counts, the run-time summary and the failures (for the manifest).
        """
        into = Path(into) if into is not None else self.out
        import pyarrow as pa

        specs = exp.runs()
        keys = list(exp.parameters)
        ens = _ensemble_of(exp)
        ekeys = [k for k in (ens or {}).get("parameters") or {} if k not in keys]
        rows, failures, times = [], [], []
        ok_frames: list[tuple[RunSpec, list[str]]] = []
        done, failed = self.status()
        for s in specs:
            if s.run_id not in done and s.run_id not in failed:
                continue  # not made yet, or damaged (made again)
            rec = self.record(s.run_id)
            if rec is None:
                continue
            row = {"run_id": s.run_id, "point_id": s.point_id, "replicate": s.replicate,
                   "seed": s.seed}
            row.update({k: s.params[k] for k in keys})
            if ens is not None:
                row["draw"] = s.draw
                row.update({k: s.params.get(k) for k in ekeys})
            outs = rec.get("outcomes") or {}
            for o in exp.outcomes:
                v = outs.get(o)
                row[o] = np.nan if v is None else float(v)
            row["status"] = rec.get("status", "failed")
            total = (rec.get("timings") or {}).get("total")
            row["wall_seconds"] = np.nan if total is None else float(total)
            rows.append(row)
            if row["status"] == "ok":
                times.append(row["wall_seconds"])
                ok_frames.append((s, rec.get("files", [])))
            else:
                failures.append({"run_id": s.run_id, "point_id": s.point_id,
                                 "replicate": s.replicate, "seed": s.seed, "params": s.params,
                                 "error": rec.get("error"), "traceback": rec.get("traceback"),
                                 "worker": rec.get("worker")})
        columns = (["run_id", "point_id", "replicate", "seed"] + keys
                   + (["draw"] + ekeys if ens is not None else []) + list(exp.outcomes)
                   + ["status", "wall_seconds"])
        df = pd.DataFrame(rows, columns=columns)
        if ens is not None:
            df["draw"] = df["draw"].astype(np.int64)
        df = df.astype({"run_id": str, "point_id": np.int64, "replicate": np.int64,
                        "seed": np.int64, "status": str, "wall_seconds": np.float64})
        for o in exp.outcomes:
            df[o] = df[o].astype(np.float64)
        n_ok = int((df["status"] == "ok").sum())
        counts = {"total": len(specs), "ok": n_ok, "failed": len(df) - n_ok,
                  "missing": len(specs) - len(df)}
        meta = {"complete": bool(complete), **counts, "experiment": exp.name}
        self._write_table(into / "runs.parquet", pa.Table.from_pandas(df, preserve_index=False),
                          meta)

        # frames, streamed run by run (never all in memory)
        for name in FRAMES:
            self._stream_frames(name, ok_frames, exp, meta, into)
        timings = _timing_summary(times)
        return {"counts": counts, "timings": timings, "failures": failures}

    def _stream_frames(self, name, ok_frames, exp: Experiment, meta, into: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        target = into / f"{name}.parquet"
        if name == "series" and exp.collect_every == 0:
            target.unlink(missing_ok=True)
            return
        empty = {"series": {"week": pa.int64()},
                 "truces": {"pair": pa.string(), "start": pa.int64(), "end": pa.int64(),
                            "duration": pa.int64(), "censored": pa.bool_(),
                            "ended_by": pa.string()},
                 "clashes": {"week": pa.int64(), "size": pa.float64()}}[name]

        def write(tmp):
            writer = None
            schema = None
            for s, files in ok_frames:
                if name not in files:
                    continue
                try:
                    t = pq.read_table(self.runs_dir / f"{s.run_id}.{name}.parquet")
                except (OSError, pa.ArrowException):  # damaged since it was checked
                    continue
                t = t.replace_schema_metadata(None)
                n = t.num_rows
                t = t.add_column(0, "replicate", pa.array(np.full(n, s.replicate, np.int64)))
                t = t.add_column(0, "point_id", pa.array(np.full(n, s.point_id, np.int64)))
                t = t.add_column(0, "run_id", pa.array([s.run_id] * n, pa.string()))
                if writer is None:
                    schema = _unify_schema(t.schema)
                    schema = schema.with_metadata({b"militant_sim": json.dumps(meta).encode()})
                    writer = pq.ParquetWriter(tmp, schema)
                t = _conform(t, schema)
                writer.write_table(t)
            if writer is None:
                fields = [pa.field("run_id", pa.string()), pa.field("point_id", pa.int64()),
                          pa.field("replicate", pa.int64())]
                fields += [pa.field(k, v) for k, v in empty.items()]
                schema = pa.schema(fields, metadata={b"militant_sim": json.dumps(meta).encode()})
                pq.write_table(schema.empty_table(), tmp)
            else:
                writer.close()

        atomic_write(target, write)

    def _write_table(self, path: Path, table, meta: dict[str, Any]) -> None:
        import pyarrow.parquet as pq

        md = dict(table.schema.metadata or {})
        md[b"militant_sim"] = json.dumps(meta).encode()
        table = table.replace_schema_metadata(md)
        atomic_write(path, lambda p: pq.write_table(table, p))

    def write_points(self, exp: Experiment) -> None:
        import pyarrow as pa

        rows = []
        for p in exp.points:
            row = {"point_id": p.point_id, "point_key": p.key, **p.values}
            if exp.ablation_points:  # which points an ablation added ("" for the design's)
                row["ablation"] = p.ablation or ""
            if p.raw:
                row.update({f"sample:{k}": v for k, v in p.raw.items()})
            rows.append(row)
        df = pd.DataFrame(rows)
        df["point_id"] = df["point_id"].astype(np.int64)
        self._write_table(self.out / "points.parquet", pa.Table.from_pandas(df, preserve_index=False),
                          {"experiment": exp.name, "points": len(exp.points)})


def _ensemble_of(exp) -> dict[str, Any] | None:
    """An experiment's (or a folder's design view's) ensemble as plain data, or None."""
    e = getattr(exp, "ensemble", None)
    if e is None:
        return None
    return e if isinstance(e, dict) else e.describe()


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_record(runs_dir: Path, rid: str, main: Path, failed: bool) -> str | None:
    """What is wrong with a run's record and its tables, or None."""
    try:
        rec = json.loads(main.read_text())
    except (OSError, ValueError):
        return f"{main.name} is not readable JSON"
    if not isinstance(rec, dict) or rec.get("run_id") not in (None, rid):
        return f"{main.name} is not a run record"
    if failed:
        return None
    if rec.get("status") != "ok" or not isinstance(rec.get("outcomes"), dict):
        return f"{main.name} is not a finished run"
    sums = rec.get("checksums")
    for name in rec.get("files") or []:
        path = runs_dir / f"{rid}.{name}.parquet"
        if not path.is_file():
            return f"{path.name} is missing"
        if isinstance(sums, dict) and name in sums:
            try:
                if _sha256(path) != sums[name]:
                    return f"{path.name} does not match its checksum"
            except OSError:
                return f"{path.name} is not readable"
        else:  # a run made before checksums were kept: its table must at least be whole
            import pyarrow.parquet as pq

            try:
                pq.read_metadata(path)
            except Exception:  # noqa: BLE001 - any error reading it means it is damaged
                return f"{path.name} is not a whole Parquet file"
    return None


def _unify_schema(schema):
    """Store integer-looking columns of the first run's frame as they are; null columns as
    strings (a column that is empty in one run may be filled in the next)."""
    import pyarrow as pa

    fields = []
    for f in schema:
        t = f.type
        if pa.types.is_null(t):
            t = pa.string()
        fields.append(pa.field(f.name, t))
    return pa.schema(fields)


def _conform(table, schema):
    import pyarrow as pa

    cols = []
    for f in schema:
        if f.name in table.column_names:
            c = table.column(f.name)
            if not c.type.equals(f.type):
                c = c.cast(f.type, safe=False)
            cols.append(c)
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _timing_summary(times: list[float]) -> dict[str, Any]:
    t = np.asarray([x for x in times if x == x], dtype=float)
    if not len(t):
        return {"count": 0}
    return {"count": int(len(t)), "total_seconds": round(float(t.sum()), 3),
            "mean_seconds": round(float(t.mean()), 4),
            "median_seconds": round(float(np.median(t)), 4),
            "min_seconds": round(float(t.min()), 4), "max_seconds": round(float(t.max()), 4),
            "p95_seconds": round(float(np.percentile(t, 95)), 4)}


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


class _SerialEngine:
    """Runs in this process, one at a time (one worker)."""

    name = "this process"

    def __init__(self):
        self.workers = 1

    def window(self) -> int:
        return 1

    def submit(self, task) -> Future:
        f: Future = Future()
        f.set_result(execute(task))
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
            # workers fork from a server that has already imported the model
            ctx.set_forkserver_preload(["sim.sweeps.runner", "sim.core.model"])
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


# =============================================================================================
# The sweep
# =============================================================================================
@dataclass
class SweepResult:
    """A sweep folder and its tables as pandas frames (read when first used)."""

    out: Path
    summary: str = ""
    new_runs: int = 0
    new_failures: int = 0
    skipped: int = 0
    wall_seconds: float = 0.0
    _manifest: dict[str, Any] | None = field(default=None, repr=False)

    @classmethod
    def load(cls, out: str | os.PathLike) -> SweepResult:
        out = Path(out)
        if not (out / "manifest.json").is_file():
            raise SweepError(out, None, "not a sweep folder (no manifest.json)")
        return cls(out)

    @property
    def manifest(self) -> dict[str, Any]:
        if self._manifest is None:
            self._manifest = Store(self.out).manifest()
        return self._manifest

    @property
    def complete(self) -> bool:
        return bool(self.manifest.get("complete"))

    @cached_property
    def tables(self) -> dict[str, pd.DataFrame | None]:
        """The folder's tables, read by :func:`read_tables` (the one reader of a sweep
        folder)."""
        return read_tables(self.out, self.manifest)[0]

    def _table(self, name: str) -> pd.DataFrame:
        df = self.tables.get(name)
        if df is None:
            raise FileNotFoundError(f"{self.out / (name + '.parquet')}: no such table")
        return df

    @property
    def runs(self) -> pd.DataFrame:
        """One row per run: run_id, point_id, replicate, seed, parameters, outcomes, status,
        wall_seconds."""
        return self._table("runs")

    @property
    def series(self) -> pd.DataFrame | None:
        return self.tables.get("series")

    @property
    def truces(self) -> pd.DataFrame:
        return self._table("truces")

    @property
    def clashes(self) -> pd.DataFrame:
        return self._table("clashes")

    @property
    def points(self) -> pd.DataFrame:
        return self._table("points")

    def by_point(self) -> pd.DataFrame:
        """Mean, standard deviation and count of each outcome per point (successful runs)."""
        exp = self.manifest["experiment"]
        keys = list(exp["parameters"])
        ok = self.runs[self.runs["status"] == "ok"]
        g = ok.groupby("point_id")[exp["outcomes"]].agg(["mean", "std", "count"])
        g.columns = [f"{a}.{b}" for a, b in g.columns]
        pts = self.points.set_index("point_id")[keys] if keys else self.points.set_index("point_id")[[]]
        return pts.join(g, how="left").reset_index()


class _DesignView:
    """The design of a sweep folder as recorded in its manifest and points.parquet: enough
    for :meth:`Store.consolidate` (runs, parameters, outcomes, collect_every, name)."""

    def __init__(self, out: Path, manifest: dict[str, Any]):
        e = manifest.get("experiment")
        if not isinstance(e, dict):
            raise SweepError(out / "manifest.json", "experiment", "missing from the manifest")
        self.name = str(e.get("name") or out.name)
        self.outcomes = list(e.get("outcomes") or [])
        self.parameters = dict.fromkeys(e.get("parameters") or {})
        self.collect_every = int(e.get("collect_every") or 0)
        self.replicates = int(e.get("replicates") or 1)
        self.seed = int(e.get("seed") or 0)
        self.ensemble = e.get("ensemble") or None
        try:
            self.points = pd.read_parquet(out / "points.parquet")
        except (OSError, ValueError) as exc:
            raise SweepError(out / "points.parquet", None, f"cannot read the design: {exc}") \
                from None

    def runs(self) -> list[RunSpec]:
        from .design import ensemble_runs, run_id, run_seed

        keys = list(self.parameters)
        out = []
        if self.ensemble is not None:
            pts = []
            for row in self.points.sort_values("point_id").to_dict("records"):
                pts.append((int(row["point_id"]), str(row["point_key"]),
                            {k: (v.item() if isinstance(v, np.generic) else v)
                             for k, v in row.items() if k in keys}))
            return ensemble_runs(pts, self.ensemble, self.seed)
        for row in self.points.sort_values("point_id").to_dict("records"):
            params = {k: (v.item() if isinstance(v, np.generic) else v)
                      for k, v in row.items() if k in keys}
            key = str(row["point_key"])
            for r in range(self.replicates):
                out.append(RunSpec(run_id(key, r), int(row["point_id"]), r, key,
                                   run_seed(self.seed, key, r), params))
        return out


def read_tables(out: str | os.PathLike,
                manifest: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A sweep folder's tables as they are on disk now: ``({"runs", "series", "truces",
    "clashes", "points": DataFrame or None}, counts)``; the one reader of a sweep folder (of
    :class:`SweepResult` and of the report).

    When the folder's tables are older than its run files (an unfinished or killed sweep, or
    one still running), they are rebuilt from ``runs/`` in a temporary folder (the sweep
    folder itself is not changed), so a table is never older than the runs it sums up.
    ``counts`` = ``{"total", "ok", "failed", "missing", "rebuilt"}``.
    """
    import shutil

    out = Path(out)
    store = Store(out)
    manifest = manifest if manifest is not None else store.manifest()
    if manifest is None:
        raise SweepError(out, None, "not a sweep folder (no manifest.json)")
    runs_table = out / "runs.parquet"
    newest = 0
    if store.runs_dir.is_dir():
        with os.scandir(store.runs_dir) as it:
            for entry in it:
                if not entry.name.startswith("."):
                    with contextlib.suppress(OSError):
                        newest = max(newest, entry.stat().st_mtime_ns)
    fresh = runs_table.is_file() and runs_table.stat().st_mtime_ns >= newest
    src, tmp = out, None
    counts = None
    if fresh:
        import pyarrow.parquet as pq

        try:
            meta = pq.read_schema(runs_table).metadata or {}
            counts = json.loads(meta.get(b"militant_sim", b"{}"))
        except Exception:  # noqa: BLE001 - unreadable: rebuilt below
            fresh = False
    if not fresh and (out / "points.parquet").is_file():
        view = _DesignView(out, manifest)
        tmp = Path(tempfile.mkdtemp(prefix="militant-sim-report-"))
        counts = Store(out).consolidate(view, complete=False, into=tmp)["counts"]
        src = tmp
    try:
        tables: dict[str, Any] = {}
        for name in ("runs",) + FRAMES:
            f = src / f"{name}.parquet"
            try:
                tables[name] = pd.read_parquet(f) if f.is_file() else None
            except (OSError, ValueError) as exc:
                raise SweepError(f, None, f"cannot read the table: {exc}") from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    f = out / "points.parquet"
    try:
        tables["points"] = pd.read_parquet(f) if f.is_file() else None
    except (OSError, ValueError) as exc:
        raise SweepError(f, None, f"cannot read the table: {exc}") from None
    counts = {k: counts.get(k) for k in ("total", "ok", "failed", "missing")} if counts else {}
    counts["rebuilt"] = tmp is not None
    return tables, counts


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
    done, failed = store.status()
    damaged = store.damaged()
    if damaged:
        import warnings

        listed = "; ".join(f"{rid}: {why}" for rid, why in sorted(damaged.items())[:5])
        more = f"; and {len(damaged) - 5} more" if len(damaged) > 5 else ""
        warnings.warn(f"{store.out}: {len(damaged)} finished run(s) have damaged or missing "
                      f"files and are made again ({listed}{more})", SweepWarning, stacklevel=3)
        for rid in damaged:  # their records go; the runs are made again below
            for suffix in (".json", ".failed.json"):
                with contextlib.suppress(OSError):
                    os.unlink(store.runs_dir / f"{rid}{suffix}")
        done, failed = store.status()
    todo = _todo(exp, store, retry_failed)
    n_skip_ok = sum(1 for s in specs if s.run_id in done)
    n_skip_failed = sum(1 for s in specs if s.run_id in failed and not retry_failed)

    session = {"started": _now(), "command": cmd, "host": socket.gethostname(),
               "pid": os.getpid(), "git": _git(), "code_digest": code_digest(),
               "runs_to_do": len(todo), "retry_failed": bool(retry_failed),
               "damaged_runs": [{"run_id": rid, "problem": why}
                                for rid, why in sorted(damaged.items())]}
    before = [x.get("code_digest") for x in (old or {}).get("sessions", [])
              if x.get("code_digest")]
    if before and before[-1] != session["code_digest"] and (done or failed):
        import warnings

        warnings.warn(f"{store.out}: the model's code has changed since the runs already in "
                      "this folder were made; new runs may not be comparable with them (use "
                      "another --out to start afresh)", SweepWarning, stacklevel=3)
    manifest = _new_manifest(exp, old, session)
    atomic_json(store.manifest_path, manifest)          # complete: false, first
    store.write_points(exp)
    store.consolidate(exp)                              # tables match runs/ (partial)

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

    where = str(store.out)
    rate = 60.0 * (new_ok + new_failed) / wall if wall > 0 else 0.0
    line = (f"{exp.name}: {counts['ok']}/{counts['total']} runs ok, {counts['failed']} failed"
            f" ({new_ok + new_failed} run now, {n_skip_ok + n_skip_failed} already done) in "
            f"{_duration(wall)}"
            + (f" on {session['engine']}, {rate:.1f} runs/min" if 'engine' in session else "")
            + f" -> {where}")
    if interrupted:
        line = (f"{exp.name}: interrupted; {counts['ok'] + counts['failed']} of "
                f"{counts['total']} runs kept in {where}; run the same command again to resume")
    if counts["failed"]:
        line += " (see manifest.json 'failures'; --retry-failed redoes them)"
    res = SweepResult(store.out, summary=line, new_runs=new_ok, new_failures=new_failed,
                      skipped=n_skip_ok + n_skip_failed, wall_seconds=wall, _manifest=manifest)
    res.runs  # the run table as it is now (the other tables are read when first used)
    if interrupted:
        raise SweepInterrupted(line, res)
    return res


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
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # pragma: no cover
        return None


def _restore_sigterm(old) -> None:
    if old is not None and threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGTERM, old)
