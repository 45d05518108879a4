"""Model speed: fighter-steps per second, against the naive Mesa idiom, and how it scales.

Run:  .venv/bin/python benchmarks/bench_model.py [--quick] [--repeats R] [--sizes 1000,...]

Prints, on one core:

1. **compile**: the first run on a fresh install, which compiles the numba kernels of
   ``sim/core/kernels.py``, against a later process that loads them from the cache (each in a
   fresh process, the first with an empty ``NUMBA_CACHE_DIR``);
2. **default**: the default scenario (``syria_2013``, 520 weeks) once warm, best of R;
3. **large**: the all-rules world (syria_2013 on an 80 x 60 map, coalition and Russian
   strikes from week 0, a ceasefire restricting Nusra in the north-west, recruitment high
   enough to hold about 20,000 fighters) timed over weeks in which every rule fires
   (recruits, moves, attacks, state fire, strikes, clashes, unit events, defections,
   desertions; the counts of the timed weeks are printed), interleaved with the naive Mesa idiom
   (``benchmarks/mesa_idiom.py``: one Python ``step()`` per agent on a Mesa grid) at the same
   number of fighters, and the ratio of the two measured in this run;
4. **scaling**: fighter-steps per second at 1,000, 20,000, 100,000 and 1,000,000 fighters
   (each in its own process, with its peak memory), and a linear fit of time per week.

Speed is measured here, never asserted in the tests. The figures are wall-clock times, best
of R repeats, with the process's CPU time beside them (on a shared machine the CPU time is
the steadier of the two); run it when the machine is quiet.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

#: syria_2013 on a larger map with every rule at work from week 0: coalition and Russian strikes
#: (at half strength) and (in large_model) a ceasefire restricting Nusra in the north-west
LARGE = {"map.width": 80, "map.height": 60, "groups.ISIS.foreign_inflow": 0.0,
         "timeline.coalition.week": 0, "timeline.russia.week": 0,
         "intervention_scale": 0.5, "max_fighters": 100_000_000}
#: recruitment at 20,000 fighters: five times the baseline rate, so that the fighters hold
#: steady; scaled with the number of fighters
CANDIDATE_RATE_20K = 1e-4
WARMUP = 3


def large_overrides(total: int) -> dict:
    """The large world with ``total`` fighters split 0.3 : 0.3 : 0.4 among ISIS, Nusra and
    the rebels, recruitment scaled to hold them."""
    ov = dict(LARGE, candidate_rate=CANDIDATE_RATE_20K * total / 20_000)
    for name, share in (("ISIS", 0.3), ("Nusra", 0.3), ("Rebels", 0.4)):
        ov[f"groups.{name}.fighters"] = int(total * share)
    return ov


def large_model(total: int, seed: int = 1):
    import sim

    model = sim.MilitantModel("syria_2013", rng=seed, overrides=large_overrides(total))
    model.set_restriction("Nusra", "north_west", 0.6)
    return model


def _timed_weeks(model, weeks: int, count, after=None) -> dict:
    """Mean ``count(model)`` and wall and CPU seconds per ``model.step()`` over ``weeks``
    weeks; ``after(model)`` runs after each step, outside the timing."""
    n = 0
    dt = cpu = 0.0
    for _ in range(weeks):
        n += count(model)
        t0, c0 = time.perf_counter(), time.process_time()
        model.step()
        dt += time.perf_counter() - t0
        cpu += time.process_time() - c0
        if after is not None:
            after(model)
    return {"fighters": n / weeks, "sec": dt / weeks, "cpu": cpu / weeks}


def time_steps(model, weeks: int, warmup: int = WARMUP) -> dict:
    """Mean fighters and seconds per week over ``weeks`` weeks after a warm-up, with what
    the rules did in those weeks."""
    for _ in range(warmup):
        model.step()
    fired = dict.fromkeys(["recruits", "attacks", "deaths_state", "deaths_strike",
                           "clashes", "deaths_clash", "defections", "desertions"], 0)

    def tally(m) -> None:
        t = m.tally
        fired["recruits"] += int(t.recruits.sum())
        fired["attacks"] += int(t.ops.sum())
        fired["deaths_state"] += int(t.deaths_state.sum())
        fired["deaths_strike"] += int(t.deaths_strike.sum())
        fired["clashes"] += int(t.clashes.sum() // 2)
        fired["deaths_clash"] += int(t.deaths_clash.sum())
        fired["defections"] += int(t.defections.sum())
        fired["desertions"] += int(t.desertions.sum())

    out = _timed_weeks(model, weeks, lambda m: len(m.fighters), tally)
    return {**out, "fired": fired}


def time_mesa_idiom(fighters: int, weeks: int = 3) -> dict:
    from mesa_idiom import NaiveModel

    return _timed_weeks(NaiveModel(fighters=int(fighters)), weeks, lambda m: len(m.agents))


def weeks_for(total: int) -> int:
    return max(5, min(40, int(4e5 / total)))


def warm_up() -> None:
    """Load every compiled kernel in this process (a small world with clashes), so that the
    timings measure the model, not the loading of the kernels."""
    large_model(2000).run(3, progress=False)


def one_size(total: int, repeats: int) -> dict:
    """Time the large world at ``total`` fighters (best of ``repeats``); peak memory."""
    warm_up()
    best = None
    for r in range(repeats):
        model = large_model(total)
        res = time_steps(model, weeks_for(total))
        if best is None or res["fighters"] / res["sec"] > best["fighters"] / best["sec"]:
            best = res
        del model
    best["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return best


def in_subprocess(args: list[str], env: dict | None = None) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def first_run() -> dict:
    """Seconds to import the model, build the default scenario and run one week."""
    t0 = time.perf_counter()
    import sim

    t1 = time.perf_counter()
    m = sim.MilitantModel(sim.DEFAULT_SCENARIO, rng=1)
    for _ in range(3):
        m.step()
    t2 = time.perf_counter()
    return {"import": t1 - t0, "first_weeks": t2 - t1}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip compile timing and 1M")
    ap.add_argument("--repeats", type=int, default=3, help="repeats, the best is kept")
    ap.add_argument("--sizes", default="1000,20000,100000,1000000")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--first-run", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.repeats)))
        return
    if args.first_run:
        print(json.dumps(first_run()))
        return

    import numba

    import sim

    print(f"militant-sim {sim.__version__}, Python {platform.python_version()}, numpy "
          f"{np.__version__}, numba {numba.__version__}, {os.cpu_count()} cores, "
          f"{platform.processor() or platform.machine()}")

    if not args.quick:
        with tempfile.TemporaryDirectory() as cache:
            cold = in_subprocess(["--first-run"], {"NUMBA_CACHE_DIR": cache})
            warm = in_subprocess(["--first-run"], {"NUMBA_CACHE_DIR": cache})
        print(f"\n[compile] first run on a fresh install (import, build {sim.DEFAULT_SCENARIO}, "
              f"3 weeks): {cold['import'] + cold['first_weeks']:.2f} s; with the kernels "
              f"cached: {warm['import'] + warm['first_weeks']:.2f} s; compile time "
              f"{cold['first_weeks'] - warm['first_weeks']:.2f} s")

    warm_up()
    times, cpus = [], []
    for _ in range(args.repeats):
        model = sim.MilitantModel(sim.DEFAULT_SCENARIO, rng=1)
        t0, c0 = time.perf_counter(), time.process_time()
        result = model.run(progress=False)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    dt = min(times)
    fs = result.steps["fighters"].iloc[1:].sum()
    print(f"\n[default] {sim.DEFAULT_SCENARIO}, {model.week} weeks, warm: {dt:.2f} s "
          f"(CPU {min(cpus):.2f} s; best of {args.repeats}; {fs / dt / 1e6:.2f} M "
          f"fighter-steps/s at a mean of {fs / model.week:.0f} fighters; target < 0.3 s)")

    ours, theirs = [], []
    for _ in range(args.repeats):  # interleaved, so that both see the same machine
        ours.append(time_steps(large_model(20_000), 20))
        theirs.append(time_mesa_idiom(ours[-1]["fighters"]))
    o = max(ours, key=lambda r: r["fighters"] / r["sec"])
    t = max(theirs, key=lambda r: r["fighters"] / r["sec"])
    fo, ft = o["fighters"] / o["sec"], t["fighters"] / t["sec"]
    print(f"\n[large] 80 x 60 map, every rule firing, 20 weeks: mean {o['fighters']:.0f} "
          f"fighters, {o['sec'] * 1e3:.2f} ms/week (CPU {o['cpu'] * 1e3:.2f}), "
          f"{fo / 1e6:.2f} M fighter-steps/s (target 10 M)")
    print("        in those weeks: " + ", ".join(f"{k} {v}" for k, v in o["fired"].items()))
    print(f"        naive Mesa idiom, same run: mean {t['fighters']:.0f} agents, "
          f"{t['sec'] * 1e3:.0f} ms/week (CPU {t['cpu'] * 1e3:.0f}), {ft / 1e6:.3f} M "
          f"agent-steps/s")
    print(f"        ratio: x{fo / ft:.0f} (target x100)")

    sizes = [int(s) for s in args.sizes.split(",")]
    if args.quick:
        sizes = [s for s in sizes if s < 1_000_000]
    print("\n[scaling] fighters (mean)  weeks  ms/week (CPU)  M fighter-steps/s  peak memory"
          "  clashes/week  killed in clashes/week")
    xs, ys = [], []
    for total in sizes:
        r = in_subprocess(["--one", str(total), "--repeats", str(args.repeats)])
        xs.append(r["fighters"])
        ys.append(r["sec"] * 1e3)
        print(f"          {r['fighters']:15,.0f}  {weeks_for(total):5d}  {r['sec'] * 1e3:7.1f} "
              f"({r['cpu'] * 1e3:5.1f})  {r['fighters'] / r['sec'] / 1e6:17.2f}  "
              f"{r['peak_rss_mb']:8.0f} MB  {r['fired']['clashes'] / weeks_for(total):12.0f}  "
              f"{r['fired']['deaths_clash'] / weeks_for(total):22.0f}")
    for upto in sorted({max(sizes), 100_000}):
        pts = [(x, y) for x, y, n in zip(xs, ys, sizes) if n <= upto]
        if len(pts) < 2:
            continue
        x, y = np.array(pts).T
        slope, intercept = np.polyfit(x, y, 1)
        r2 = 1 - ((y - np.polyval([slope, intercept], x)) ** 2).sum() / ((y - y.mean()) ** 2).sum()
        print(f"linear fit up to {upto:,} fighters: ms/week = {intercept:.2f} + "
              f"{slope * 1e3:.3f} per 1,000 fighters (R^2 = {r2:.4f})")


if __name__ == "__main__":
    main()
