"""Sweep throughput: runs per minute, the speed-up from 1 to 2 workers, and the runner's
overhead per run next to the run itself.

Run:  .venv/bin/python benchmarks/bench_sweep.py [--scenario sahel_2019] [--steps N]
                                                 [--runs N] [--workers 1,2] [--dask]

Measures, for one experiment of ``--runs`` runs (points x replicates) of ``--scenario`` for
``--steps`` weeks:

1. **the runs alone**: each run made with ``sim.run`` in this process, one after the other,
   nothing written: the cost of the simulation itself;
2. **the sweep with N workers** for each N of ``--workers`` (1 runs in this process, 2 or
   more in a pool of processes), into a fresh folder: wall time, runs per minute, and the
   speed-up over 1 worker;
3. **overhead per run**: (sweep wall time with 1 worker - time of the runs alone) / runs,
   i.e. what the runner adds per run (outcomes, frames, atomic writes, the tables and the
   manifest), in milliseconds and as a share of a run;
4. with ``--dask``: the same sweep on a local Dask cluster of the largest worker count.

Speed is measured here, never asserted in the tests. Run on an otherwise idle machine: the
speed-up cannot exceed the number of idle cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path


def experiment(scenario: str, steps: int, runs: int) -> dict:
    reps = max(1, runs // 4)
    return {
        "experiment": {"name": "bench", "scenario": scenario, "steps": steps,
                       "replicates": reps, "seed": 1, "collect_every": 4,
                       "series": ["fighters*", "militant_cells"],
                       "outcomes": ["clash_rate", "mean_militant_cells", "truce_share",
                                    "total_fighters"]},
        "parameters": {"clash_kappa": [0.01, 0.02, 0.03, 0.04]},
    }


def bench_runs_alone(exp_dict: dict) -> tuple[float, int]:
    import sim
    from sim.sweeps.design import load_experiment

    exp = load_experiment(exp_dict)
    specs = exp.runs()
    t0 = time.perf_counter()
    for s in specs:
        sim.run(exp.scenario_file, steps=exp.steps, seed=s.seed,
                overrides={**exp.constants, **s.params, "steps": exp.steps})
    return time.perf_counter() - t0, len(specs)


def bench_sweep(exp_dict: dict, workers: int, dask: bool = False) -> dict:
    from sim.sweeps.runner import run_sweep

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = run_sweep(exp_dict, workers=workers, out=Path(tmp) / "sweep",
                        dask="local" if dask else None, progress=False)
        wall = time.perf_counter() - t0
        runs = res.runs
        assert res.complete and (runs["status"] == "ok").all()
        return {"wall": wall, "runs": len(runs), "per_minute": 60.0 * len(runs) / wall,
                "run_seconds": float(runs["wall_seconds"].sum()),
                "engine": res.manifest["sessions"][-1]["engine"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="sahel_2019")
    ap.add_argument("--steps", type=int, default=104, help="weeks per run (default 104)")
    ap.add_argument("--runs", type=int, default=16, help="runs per sweep (a multiple of 4)")
    ap.add_argument("--workers", default="1,2", help="worker counts to compare (default 1,2)")
    ap.add_argument("--dask", action="store_true", help="also on a local Dask cluster")
    args = ap.parse_args()
    counts = [int(x) for x in args.workers.split(",")]
    exp = experiment(args.scenario, args.steps, args.runs)

    import sim  # noqa: F401 - import before timing anything

    print(f"{platform.python_implementation()} {platform.python_version()} on "
          f"{platform.machine()}, {os.cpu_count()} cores; scenario {args.scenario}, "
          f"{args.steps} weeks a run")
    alone, n = bench_runs_alone(exp)
    print(f"runs alone (sim.run, this process): {n} runs in {alone:.1f} s = "
          f"{1000 * alone / n:.0f} ms a run, {60 * n / alone:.1f} runs/min")
    results = {}
    for w in counts:
        r = bench_sweep(exp, w)
        results[w] = r
        speed = f", speed-up x{results[counts[0]]['wall'] / r['wall']:.2f} over {counts[0]}" \
            if w != counts[0] else ""
        print(f"sweep, {w} worker{'s' if w > 1 else ''} ({r['engine']}): {r['runs']} runs in "
              f"{r['wall']:.1f} s = {r['per_minute']:.1f} runs/min{speed}")
    if 1 in results:
        over = (results[1]["wall"] - alone) / n
        print(f"runner overhead per run (1 worker): {1000 * over:.0f} ms "
              f"= {100 * over / (alone / n):.1f}% of a run "
              f"(in-worker run time {1000 * results[1]['run_seconds'] / n:.0f} ms a run)")
    for w in counts:
        if w > 1:
            r = results[w]
            print(f"  {w} workers: wall {r['wall']:.1f} s vs in-worker run time "
                  f"{r['run_seconds']:.1f} s / {w} = {r['run_seconds'] / w:.1f} s "
                  f"(pool start-up, tables, uneven last runs)")
    if args.dask:
        r = bench_sweep(exp, max(counts), dask=True)
        print(f"sweep, {r['engine']}: {r['runs']} runs in {r['wall']:.1f} s = "
              f"{r['per_minute']:.1f} runs/min")


if __name__ == "__main__":
    main()
