"""Storage of a sweep folder: the run files as they finish (one JSON record and its frames per
run, each written atomically), the manifest, the consolidated tables, and the one reader of a
folder (:func:`read_tables`, behind :class:`SweepResult` and the report). See docs/SWEEPS.md."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..common.files import atomic_json as atomic_json_file, atomic_write, remove_temporary
from ..common.jsonio import jsonable, nan_to_none as _clean_nan
from .design import Experiment, RunSpec, SweepError


FORMAT = "militant-sim sweep 1"
#: frames a run may keep beside its JSON file
FRAMES = ("series", "truces", "clashes")
#: the tables of a sweep folder
TABLES = ("runs",) + FRAMES + ("points",)


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
        """The folder's tables read so far (each by :func:`read_tables`, the one reader of a
        sweep folder, when first used)."""
        return {}

    def _get(self, name: str) -> pd.DataFrame | None:
        if name not in self.tables:
            self.tables.update(read_tables(self.out, self.manifest, names=(name,))[0])
        return self.tables.get(name)

    def _table(self, name: str) -> pd.DataFrame:
        df = self._get(name)
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
        return self._get("series")

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


def read_tables(out: str | os.PathLike, manifest: dict[str, Any] | None = None,
                names: tuple[str, ...] = TABLES) -> tuple[dict[str, Any], dict[str, Any]]:
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
        for name in (n for n in names if n != "points"):
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
        if "points" in names:
            tables["points"] = pd.read_parquet(f) if f.is_file() else None
    except (OSError, ValueError) as exc:
        raise SweepError(f, None, f"cannot read the table: {exc}") from None
    counts = {k: counts.get(k) for k in ("total", "ok", "failed", "missing")} if counts else {}
    counts["rebuilt"] = tmp is not None
    return tables, counts
