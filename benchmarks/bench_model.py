"""Model speed: fighter-steps per second, and how time per step grows with fighters.

Run:  .venv/bin/python benchmarks/bench_model.py [--weeks N] [--quick]

Reports (1) the default scenario run for its full length, (2) a large world (syria_2013 on an
80 x 60 map with about 20,000 fighters, every rule at work: recruitment, movement, attacks,
clashes, defection, desertion, truce and war, control, outside strikes on two zones and a
ceasefire restricting one group) and (3) time per step at 5,000 to
40,000 fighters with a linear fit. Speed is measured here, never asserted in the tests. Run on
an otherwise idle machine: the model uses one core.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

import sim

#: syria_2013 on a larger map with every rule at work from week 0: coalition and Russian strikes,
#: and (in large_model) a ceasefire restricting Nusra in the north-west
LARGE = {"map.width": 80, "map.height": 60, "groups.ISIS.foreign_inflow": 0.0,
         "timeline.coalition.week": 0, "timeline.russia.week": 0}


def large_overrides(total: int) -> dict:
    """syria_2013 on a larger map, its 1.5 : 2.5 : 7 split of fighters scaled to ``total``."""
    ov = dict(LARGE)
    for name, share in (("ISIS", 0.3), ("Nusra", 0.3), ("Rebels", 0.4)):
        ov[f"groups.{name}.fighters"] = int(total * share)
    return ov


def large_model(total: int) -> sim.MilitantModel:
    model = sim.MilitantModel("syria_2013", rng=1, overrides=large_overrides(total))
    model.set_restriction("Nusra", "north_west", 0.6)
    return model


def time_steps(model: sim.MilitantModel, weeks: int, warmup: int = 3) -> tuple[float, float]:
    """Mean fighters and seconds per step over ``weeks`` steps after a warm-up."""
    for _ in range(warmup):
        model.step()
    fighters = 0
    t0 = time.perf_counter()
    for _ in range(weeks):
        fighters += len(model.fighters)
        model.step()
    dt = time.perf_counter() - t0
    return fighters / weeks, dt / weeks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weeks", type=int, default=40, help="weeks timed per measurement")
    ap.add_argument("--quick", action="store_true", help="skip the full default run")
    args = ap.parse_args()
    print(f"militant-sim {sim.__version__}, Python {platform.python_version()}, "
          f"numpy {np.__version__}, {platform.processor() or platform.machine()}")

    if not args.quick:
        model = sim.MilitantModel(sim.DEFAULT_SCENARIO, rng=1)
        t0 = time.perf_counter()
        result = model.run()
        dt = time.perf_counter() - t0
        fs = result.steps["fighters"].iloc[1:].sum()
        print(f"\n[default] {sim.DEFAULT_SCENARIO}, {model.week} weeks: {dt:.2f} s, "
              f"{fs / dt / 1e6:.2f} M fighter-steps/s (mean {fs / model.week:.0f} fighters)")

    model = large_model(20_000)
    n, sec = time_steps(model, args.weeks)
    print(f"\n[large] 80 x 60 map, all rules at work: {n:.0f} fighters, {sec * 1e3:.1f} ms/step, "
          f"{n / sec / 1e6:.2f} M fighter-steps/s (target: 2 M at 20,000 fighters)")

    print("\n[scaling] fighters  ms/step  M fighter-steps/s")
    xs, ys = [], []
    for total in (5_000, 10_000, 20_000, 40_000):
        model = large_model(total)
        n, sec = time_steps(model, max(10, args.weeks // 2))
        xs.append(n)
        ys.append(sec * 1e3)
        print(f"          {n:8.0f}  {sec * 1e3:7.1f}  {n / sec / 1e6:6.2f}")
    slope, intercept = np.polyfit(xs, ys, 1)
    pred = np.polyval([slope, intercept], xs)
    r2 = 1 - ((np.array(ys) - pred) ** 2).sum() / ((np.array(ys) - np.mean(ys)) ** 2).sum()
    print(f"linear fit: ms/step = {intercept:.2f} + {slope * 1e3:.3f} per 1,000 fighters "
          f"(R^2 = {r2:.3f})")


if __name__ == "__main__":
    main()
