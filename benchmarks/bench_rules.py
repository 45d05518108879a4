"""Where a run's time goes: the time of each rule of the week, summed over a run.

    .venv/bin/python benchmarks/bench_rules.py                    # syria_2013, 520 weeks
    .venv/bin/python benchmarks/bench_rules.py sahel_2019 --repeats 5

Each rule the model's ``step`` calls (``sim.core.rules``), and the clash pass inside
``interact`` (``_fight``), is wrapped in a wall-clock timer for the run; the table gives each
rule's total over the run, in the run of the repeats whose total was the least, after one
warm-up run (the kernels compiled and cached). The wrappers add about a microsecond a call.
Run it on each of two commits, alternately, to compare them on a busy machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: the rules of a week in the order ``MilitantModel.step`` calls them, and the clash pass
RULES = ("timeline", "mobilise", "socialise", "move", "operate", "interact", "_fight",
         "defect_and_desert", "relations", "control_and_governance",
         "state_and_outside_forces")


def measure(scenario: str, steps: int, seed: int, repeats: int) -> tuple[dict, float, float]:
    """(seconds by rule, total wall seconds, process CPU seconds) of the fastest repeat."""
    import sim
    from sim.core import rules

    spent = dict.fromkeys(RULES, 0.0)

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t
        return wrapper

    originals = {name: getattr(rules, name) for name in RULES}
    for name, fn in originals.items():
        setattr(rules, name, timed(name, fn))
    try:
        best = None
        for r in range(repeats + 1):          # the first is the warm-up
            for name in spent:
                spent[name] = 0.0
            wall, cpu = time.perf_counter(), time.process_time()
            m = sim.MilitantModel(scenario, rng=seed)
            for _ in range(steps):
                m.step()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if r and (best is None or wall < best[1]):
                best = (dict(spent), wall, cpu)
    finally:
        for name, fn in originals.items():
            setattr(rules, name, fn)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="syria_2013")
    ap.add_argument("--steps", type=int, default=520)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs; the fastest is kept")
    a = ap.parse_args(argv)
    if a.steps < 1 or a.repeats < 1:
        ap.error("--steps and --repeats must be at least 1")
    spent, wall, cpu = measure(a.scenario, a.steps, a.seed, a.repeats)
    print(f"{a.scenario}, {a.steps} weeks, seed {a.seed}: {wall:.3f} s wall, {cpu:.3f} s CPU "
          f"(fastest of {a.repeats})")
    print(f"{'rule':<26}{'ms':>10}{'share':>8}")
    for name in RULES:
        note = "  (inside interact)" if name == "_fight" else ""
        print(f"{name:<26}{1000 * spent[name]:>10.1f}{spent[name] / wall:>8.1%}{note}")
    rest = wall - sum(v for k, v in spent.items() if k != "_fight")
    print(f"{'rest of the step':<26}{1000 * rest:>10.1f}{rest / wall:>8.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
