"""Judging a scenario's patterns over seeds: run the seeds (a process pool kept between calls),
summarise each pattern's statistic across them and say whether it holds (``militant-sim check``).

Python API (also used by calibration)::

    from sim.analysis import check
    values = check.evaluate("sahel_2019", seeds=20, overrides={"clash_kappa": 0.05})
    table = check.summarise(values)          # one row per pattern: median, IQR, share, holds
    print(check.format_table(table))

``evaluate`` runs the seeds on all local cores; each worker runs the model and computes the
measures itself, so only one number per pattern comes back.
"""

from __future__ import annotations

from collections.abc import Sequence
from ..core.scenario import Scale
from ..core.scenario import Scenario
from ..core.scenario import ScenarioError
from typing import Any
import atexit
import math
import multiprocessing
import numpy as np
import os
import pandas as pd
import sys
import time
from ..core.patterns import Pattern, _plain, measure_all


# =============================================================================================
# Statistics across seeds
# =============================================================================================
_BIG = 1e300


def quantile(values: np.ndarray, q: float) -> float:
    """Quantile of the non-nan values, linear interpolation; ``inf`` values (censored) count as
    larger than any other, and a quantile that falls among them is ``inf``."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if not len(v):
        return math.nan
    x = float(np.quantile(np.clip(v, -_BIG, _BIG), q))
    return math.inf if x > _BIG / 1e10 else -math.inf if x < -_BIG / 1e10 else x


#: resamples of the seeds behind ``held_resampled``
RESAMPLES = 1000


def _stat_rows(x: np.ndarray, stat: str) -> np.ndarray:
    """The pattern's statistic of each row of ``x`` (resamples x seeds), inf as in quantile."""
    if stat in ("mean", "share"):
        return x.mean(1)
    c = np.clip(x, -_BIG, _BIG)
    if stat == "median":
        out = np.quantile(c, 0.5, axis=1)
    else:  # iqr
        out = np.quantile(c, 0.75, axis=1) - np.quantile(c, 0.25, axis=1)
    return np.where(out > _BIG / 1e10, math.inf, np.where(out < -_BIG / 1e10, -math.inf, out))


def statistics(values: Sequence[float], pattern: Pattern) -> dict[str, Any]:
    """The across-seed figures of one pattern and whether it holds.

    Besides the statistic the pattern is judged on: ``in_target``, the share of seeds whose own
    value lies in the target (for a median or a mean; a pattern met by its median while few
    seeds are in range describes no single history well), and ``held_resampled``, the share of
    ``RESAMPLES`` bootstrap resamples of the seeds (a fixed generator) in which the pattern
    still holds: near 1 it is robust to the seeds drawn, near 0.5 it sits on the edge.
    """
    v = np.asarray(values, dtype=np.float64)
    ok = v[~np.isnan(v)]
    q25, med, q75 = (quantile(ok, q) for q in (0.25, 0.5, 0.75))
    iqr = q75 - q25 if len(ok) else math.nan
    share = float(ok.mean()) if pattern.spec.boolean and len(ok) else math.nan
    mean = float(ok.mean()) if len(ok) else math.nan
    value = {"median": med, "mean": mean, "iqr": iqr, "share": share}[pattern.stat]
    holds = bool(len(ok) > 0 and not math.isnan(value) and pattern.low <= value <= pattern.high)
    in_target = (float(((ok >= pattern.low) & (ok <= pattern.high)).mean())
                 if len(ok) and pattern.stat in ("median", "mean") else math.nan)
    if len(ok) and not (pattern.stat == "share" and not pattern.spec.boolean):
        rng = np.random.default_rng(0)
        boot = _stat_rows(ok[rng.integers(0, len(ok), (RESAMPLES, len(ok)))], pattern.stat)
        held = float(((boot >= pattern.low) & (boot <= pattern.high)).mean())
    else:
        held = math.nan
    return {"value": value, "median": med, "q25": q25, "q75": q75, "iqr": iqr, "mean": mean,
            "share": share, "n": int(len(ok)), "censored": int(np.isinf(ok).sum()),
            "seeds": int(len(v)), "holds": holds, "in_target": in_target,
            "held_resampled": held}


def summarise(values: pd.DataFrame, patterns: Sequence[Pattern] | None = None) -> pd.DataFrame:
    """One row per pattern (index: pattern id) from :func:`evaluate`'s frame.

    Columns: ``description``, ``measure`` (the call), ``stat``, ``unit``, ``low``, ``high``,
    ``value`` (the statistic the pattern is judged on), ``median``, ``q25``, ``q75``, ``iqr``,
    ``mean``, ``share`` (yes/no measures), ``n`` (seeds with a value), ``censored`` (seeds where
    the event had not happened by the end: ``inf``), ``seeds``, ``holds``, ``in_target`` and
    ``held_resampled`` (see :func:`statistics`), ``source``.
    ``patterns`` defaults to those :func:`evaluate` stored in ``values.attrs``.
    """
    if patterns is None:
        patterns = values.attrs.get("patterns")
        if patterns is None:
            raise ValueError("summarise: give the patterns (values has none in .attrs)")
    rows = []
    for p in patterns:
        col = values[p.id] if p.id in values else pd.Series(dtype=float)
        rows.append({"id": p.id, "description": p.description, "measure": p.call(),
                     "stat": p.stat, "unit": p.unit, "low": p.low, "high": p.high,
                     **statistics(col.to_numpy(np.float64), p), "source": p.source,
                     "tuned": p.tuned})
    out = pd.DataFrame(rows).set_index("id")
    out.attrs = {k: v for k, v in values.attrs.items() if k != "patterns"}
    return out


# =============================================================================================
# Running the seeds
# =============================================================================================
def seed_list(master: int, n: int) -> list[int]:
    """``n`` run seeds from ``numpy.random.SeedSequence(master).spawn(n)``, as integers that
    ``militant-sim run SCENARIO --seed S`` reproduces; more seeds never change the first ones."""
    if n < 1:
        raise ValueError("at least one seed")
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1))
            for c in np.random.SeedSequence(int(master)).spawn(int(n))]


def _run_one(task: tuple) -> tuple[int, dict[str, float], float]:
    """One seed in a worker: run the model, return only the measures."""
    spec, seed, steps, patterns = task
    from ..core.model import MilitantModel

    t0 = time.perf_counter()
    model = MilitantModel(spec, rng=seed)
    result = model.run(steps, progress=False)
    values = measure_all(patterns, result, spec.scale)
    return seed, values, time.perf_counter() - t0


_POOL: Any = None
_POOL_WORKERS = 0


def close_pool(kill: bool = False) -> None:
    """Shut down the worker processes that :func:`evaluate` keeps between calls (``kill``:
    without waiting for runs in progress)."""
    global _POOL, _POOL_WORKERS
    pool, _POOL, _POOL_WORKERS = _POOL, None, 0
    if pool is None:
        return
    if kill:
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            try:
                proc.kill()
            except Exception:  # noqa: BLE001 - already gone
                pass
    else:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(close_pool)


def _pool(workers: int):
    global _POOL, _POOL_WORKERS
    if _POOL is None or _POOL_WORKERS != workers:
        from concurrent.futures import ProcessPoolExecutor

        from ..sweeps.engines import _start_time, _worker_init, start_method

        close_pool()
        ctx = multiprocessing.get_context(start_method())
        if ctx.get_start_method() == "forkserver":
            ctx.set_forkserver_preload(["sim.analysis.check", "sim.core.model"])
        # workers exit when this process dies (as a sweep's do), so a killed check or
        # calibration leaves nothing behind
        _POOL = ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                    initializer=_worker_init,
                                    initargs=(os.getpid(), _start_time(os.getpid())))
        _POOL_WORKERS = workers
    return _POOL


class _Progress:
    """Finished seeds on stderr: one line at most every few seconds, and the last."""

    def __init__(self, label: str, total: int, on: bool):
        self.label, self.total, self.on = label, total, on
        self.t0 = self.last = time.perf_counter()
        self.done = 0

    def tick(self) -> None:
        self.done += 1
        now = time.perf_counter()
        if self.on and (now - self.last >= 3.0 or self.done == self.total):
            self.last = now
            print(f"{self.label}: {self.done}/{self.total} seeds ({now - self.t0:.0f} s)",
                  file=sys.stderr, flush=True)


def evaluate(scenario: str | Scenario, seeds: int | Sequence[int] = 10,
             overrides: dict[str, Any] | None = None, workers: int | None = None,
             steps: int | None = None, *, patterns: Sequence[Pattern] | None = None,
             progress: bool = False) -> pd.DataFrame:
    """Run a scenario for several seeds and measure its patterns in each run.

    Args:
        scenario: a scenario name, a TOML path or a loaded :class:`~sim.core.scenario.Scenario`.
        seeds: how many seeds (drawn by :func:`seed_list` from the scenario's ``seed``), or
            an explicit list of integer seeds.
        overrides: ``{key: value}`` as ``--set`` (parameters, dotted scenario paths), applied
            before validation; bad ones raise :class:`~sim.core.scenario.ScenarioError`.
        workers: processes to use (default: every local core; 1 runs in this process).
        steps: weeks per run (default: the scenario's ``steps``). A window of weeks past the
            end gives nan.
        patterns: judge these instead of the scenario's own ``[[patterns]]``.
        progress: report finished seeds on stderr.

    Returns:
        one row per seed (index ``seed``), one column per pattern id: the measure of that run
        (``inf``: the event had not happened by the end; ``nan``: undefined or not observed).
        ``.attrs`` keeps ``scenario``, ``steps``, ``overrides``, ``patterns`` (the
        :class:`Pattern` objects, for :func:`summarise`), ``workers`` and ``wall_seconds``.

    Identical inputs give identical frames, whatever ``workers``. The worker processes are
    kept for the next call with the same ``workers`` (so that a calibration loop pays their
    start-up once); :func:`close_pool` ends them, as does the end of the program. From a
    script, call it under ``if __name__ == "__main__":`` (worker processes import the main
    module); otherwise the seeds run in this process, with a warning.
    """
    from ..core.scenario import load_scenario

    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # a worker process is starting and re-running a script that calls evaluate() outside
        # `if __name__ == "__main__":`; stop it quietly: the parent then runs the seeds itself
        raise SystemExit(3)
    spec = load_scenario(scenario, overrides)
    pats = list(spec.patterns if patterns is None else patterns)
    if not pats:
        raise ScenarioError(spec.file, "patterns", "the scenario declares no patterns to check",
                            allowed="[[patterns]] entries (docs/ODD.md, section 6.9)")
    seed_values = (seed_list(spec.seed, seeds) if isinstance(seeds, (int, np.integer))
                   else [int(s) for s in seeds])
    if not seed_values:
        raise ValueError("evaluate: no seeds")
    n_steps = int(spec.params["steps"] if steps is None else steps)
    if n_steps < 1:
        raise ValueError("evaluate: steps must be at least 1")
    if workers is None:
        from ..sweeps.engines import default_workers

        workers = default_workers()
    workers = max(1, min(int(workers), len(seed_values)))
    if multiprocessing.parent_process() is not None:
        workers = 1  # already in a worker: no pools inside pools
    tasks = [(spec, s, n_steps, pats) for s in seed_values]
    bar = _Progress(f"check {spec.name}", len(tasks), progress)
    t0 = time.perf_counter()
    results = _run_seeds(tasks, workers, bar)
    df = pd.DataFrame([results[s] for s in seed_values], columns=[p.id for p in pats],
                      index=pd.Index(seed_values, name="seed"), dtype=np.float64)
    df.attrs = {"scenario": spec.name, "file": spec.file, "steps": n_steps,
                "overrides": dict(overrides or {}), "patterns": pats, "workers": workers,
                "scale": spec.scale, "wall_seconds": round(time.perf_counter() - t0, 2)}
    return df


def _run_seeds(tasks: list[tuple], workers: int, bar) -> dict[int, dict[str, float]]:
    """Run the seeds' tasks on the pool (``workers`` > 1), and in this process those the pool
    did not finish: ``{seed: {pattern id: value}}``."""
    results: dict[int, dict[str, float]] = {}
    if workers > 1:
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        futures = []
        try:
            futures = [_pool(workers).submit(_run_one, t) for t in tasks]
            for f in as_completed(futures):
                seed, vals, _ = f.result()
                results[seed] = vals
                bar.tick()
        except BrokenProcessPool:
            close_pool(kill=True)
            print("militant-sim: warning: the worker processes stopped (from a script, call "
                  "sim.analysis.check.evaluate under `if __name__ == \"__main__\":`); running the "
                  "remaining seeds in this process", file=sys.stderr)
        except BaseException as exc:  # a run that raised, or an interrupt: stop the others
            for f in futures:
                f.cancel()
            if not isinstance(exc, Exception):
                close_pool(kill=True)
            raise
    for t in tasks:
        if t[1] not in results:
            seed, vals, _ = _run_one(t)
            results[seed] = vals
            bar.tick()
    return results


# =============================================================================================
# Presentation
# =============================================================================================
def fmt(x: float, unit: str, scale: Scale | None = None, dates: bool = True) -> str:
    """A value in its unit, for people: weeks with their date, fractions as percentages."""
    if x is None or math.isnan(x):
        return "-"
    if math.isinf(x):
        return "never" if unit == "week" and x > 0 else ("inf" if x > 0 else "-inf")
    if unit == "week":
        d = scale.iso(x) if (scale is not None and dates) else None
        return f"{x:.0f}" + (f" ({d})" if d else "")
    if unit in ("fraction", "share"):
        pct = 100 * x
        return f"{pct:.0f}%" if abs(pct - round(pct)) < 0.05 or abs(pct) >= 9.95 else f"{pct:.1f}%"
    if unit in ("fighters", "km2", "clashes"):
        return f"{x:,.0f}"
    if unit == "yes/no":
        return f"{x:.2f}"
    return f"{x:.2f}" if abs(x) < 100 else f"{x:,.0f}"


def target_text(p: Pattern, scale: Scale | None = None) -> str:
    u = p.unit
    stat = {"median": "", "mean": "mean ", "iqr": "IQR ", "share": "share "}[p.stat]
    unit = "" if u in ("fraction", "share", "week", "yes/no") else f" {u}"
    dates = p.stat != "iqr"
    if u == "week":
        unit = " week(s)" if p.stat == "iqr" else ""
        stat += "" if p.stat == "iqr" else "week "
    lo, hi = (fmt(v, u, scale, dates) if u in ("week", "fraction", "share") else
              "-" if math.isnan(v) else f"{v:,g}" for v in (p.low, p.high))
    if math.isinf(p.low) and math.isinf(p.high):
        return stat + "any"
    if math.isinf(p.high):
        return f"{stat}>= {lo}{unit}"
    if math.isinf(p.low):
        return f"{stat}<= {hi}{unit}"
    return f"{stat}{lo} to {hi}{unit}"


def format_table(summary: pd.DataFrame, patterns: Sequence[Pattern] | None = None,
                 scale: Scale | None = None) -> str:
    """The table ``militant-sim check`` prints, from :func:`summarise`'s frame."""
    scale = scale or summary.attrs.get("scale")
    by_id = {p.id: p for p in (patterns or [])}
    head = ["pattern", "target", "model", "median [q25, q75]", "share", "n", "in target",
            "resampled", "holds", "description"]
    rows = []
    for pid, r in summary.iterrows():
        p = by_id.get(pid)
        u = r["unit"]
        if p is None:  # a summary without the Pattern objects: rebuild what the table needs
            p = Pattern(str(pid), r["description"], "", {}, r["low"], r["high"], r["stat"],
                        r["source"])
        if r["stat"] == "share":
            model = fmt(r["share"], "share")
            spread = "-"
            share = model
        else:
            dates = r["stat"] != "iqr"
            model = fmt(r["value"], u, scale, dates)
            if r["stat"] == "iqr" and u == "week" and model not in ("-", "never"):
                model += " week(s)"
            spread = (f"{fmt(r['median'], u, scale, False)} [{fmt(r['q25'], u, scale, False)}, "
                      f"{fmt(r['q75'], u, scale, False)}]")
            share = "-"
        n = f"{r['n']}/{r['seeds']}" + (f" ({r['censored']} never)" if r["censored"] else "")
        inside = r.get("in_target", math.nan)
        inside = "-" if inside != inside else f"{round(inside * r['n'])}/{r['n']}"
        held = r.get("held_resampled", math.nan)
        held = "-" if held != held else f"{100 * held:.0f}%"
        rows.append([str(pid), target_text(p, scale) if p.measure else
                     _target_plain(r), model, spread, share, n, inside, held,
                     ("yes" if r["holds"] else "NO") + (" (tuned)" if r.get("tuned") else ""),
                     r["description"]])
    widths = [max(len(head[i]), *(len(row[i]) for row in rows)) for i in range(len(head) - 1)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)) + "  " + head[-1]]
    lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(head[-1]))
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
    return "\n".join(lines)


def hold_line(summary: pd.DataFrame) -> str:
    """How the patterns nothing was tuned to fare: those are the tests of the model; a
    pattern something was tuned to (its ``tuned`` key) says only that the tuning worked."""
    tuned = summary["tuned"].fillna("").astype(bool) if "tuned" in summary else \
        pd.Series(False, index=summary.index)
    tests = summary[~tuned]
    names = ", ".join(summary.index[tuned]) or "none"
    return (f"of the {len(tests)} patterns nothing was tuned to, {int(tests['holds'].sum())} "
            f"hold; tuned to: {names}")


#: a pattern that holds with fewer of its seeds in the target, or in fewer bootstrap resamples
#: of the seeds, holds by its statistic alone
FRAGILE_IN_TARGET = 0.25
FRAGILE_RESAMPLED = 0.8


def fragile_line(summary: pd.DataFrame) -> str:
    """The patterns that hold only by their statistic: fewer than FRAGILE_IN_TARGET of the
    seeds in the target (a median between two modes) or held in fewer than FRAGILE_RESAMPLED
    of the bootstrap resamples of the seeds (a median on a bound); '' when there are none."""
    names = []
    for pid, r in summary.iterrows():
        if not r["holds"]:
            continue
        inside, held = r.get("in_target", math.nan), r.get("held_resampled", math.nan)
        why = []
        if inside == inside and inside < FRAGILE_IN_TARGET:
            why.append(f"{round(inside * r['n'])}/{r['n']} seeds in the target")
        if held == held and held < FRAGILE_RESAMPLED:
            why.append(f"holds in {100 * held:.0f}% of resamples")
        if why:
            names.append(f"{pid} ({', '.join(why)})")
    if not names:
        return ""
    return ("holds by its statistic alone (few seeds in the target, or on the edge across "
            "resamples of the seeds): " + "; ".join(names))


def _target_plain(r) -> str:
    return f"{r['stat']} in [{r['low']:g}, {r['high']:g}]"


def to_json(values: pd.DataFrame, summary: pd.DataFrame) -> dict[str, Any]:
    """The check as plain JSON data (nan as null, infinities as "inf")."""
    pats = {p.id: p for p in values.attrs.get("patterns", [])}
    scale = values.attrs.get("scale")
    out_rows = []
    for pid, r in summary.iterrows():
        row = pats[pid].to_dict() if pid in pats else {"id": pid}
        row.update({k: (_plain(r[k]) if isinstance(r[k], (float, int, np.number))
                        and not isinstance(r[k], (bool, np.bool_)) else
                        bool(r[k]) if isinstance(r[k], (bool, np.bool_)) else r[k])
                    for k in ("value", "median", "q25", "q75", "iqr", "mean", "share", "n",
                              "censored", "seeds", "holds", "in_target", "held_resampled")})
        out_rows.append(row)
    return {"scenario": values.attrs.get("scenario"), "file": values.attrs.get("file"),
            "steps": values.attrs.get("steps"), "overrides": values.attrs.get("overrides"),
            "scale": scale.to_dict() if scale is not None else None,
            "seeds": [int(s) for s in values.index], "workers": values.attrs.get("workers"),
            "wall_seconds": values.attrs.get("wall_seconds"),
            "all_hold": bool(summary["holds"].all()), "patterns": out_rows,
            "values": {c: [_plain(v) for v in values[c]] for c in values.columns}}


__all__ = ["close_pool", "evaluate", "fmt", "format_table", "quantile", "seed_list",
           "statistics", "summarise", "target_text", "to_json"]
