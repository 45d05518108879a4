"""``militant-sim epstein``: one run of the docking mode (sim.analysis.epstein), summarised."""

from __future__ import annotations

import argparse
from ..analysis.epstein import (BURN_IN, run_mesa, run_project, series_summary)


def register(sub: argparse._SubParsersAction) -> None:
    """``militant-sim epstein``: one run of the docking mode, summarised."""
    p = sub.add_parser("epstein", help="Epstein's civil violence with the project's "
                       "mobilisation rule (docking): one run's active series, summarised",
                       description="Run the docking mode (sim.analysis.epstein) and print the summary "
                       "of its active-citizen series; --mesa also runs Mesa's example. The "
                       "docking over many seeds: python -m sim.analysis.epstein.")
    p.add_argument("--steps", type=int, default=400, help="steps to run (default 400)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--mesa", action="store_true",
                   help="also run Mesa's bundled example with this seed (about 0.04 s a step), "
                   "and start the project's run from its initial agents")
    p.set_defaults(func=cmd_epstein)


def cmd_epstein(args: argparse.Namespace) -> int:
    if args.steps <= BURN_IN + 1:
        from ..common.errors import UsageError

        raise UsageError(f"--steps {args.steps}: must be more than {BURN_IN + 1}")
    models = [("project's rule (sim.analysis.epstein)",
               lambda seed, steps: run_project(seed, steps, paired=args.mesa))]
    if args.mesa:
        models.append(("Mesa's example", run_mesa))
    for name, run in models:
        active, n = run(args.seed, args.steps)
        print(f"{name}, seed {args.seed}: " + series_summary(active, n))
    return 0


