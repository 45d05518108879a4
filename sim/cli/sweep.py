"""``militant-sim sweep``: run an experiment's design (see docs/SWEEPS.md)."""

from __future__ import annotations

import argparse
import math
import shlex
import sys

from ..sweeps.design import Experiment, load_experiment
from ..sweeps.engines import _import_distributed
from ..sweeps.runner import SweepInterrupted, SweepWarning, _duration, estimate, run_sweep


# =============================================================================================
# Command line
# =============================================================================================
def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep", help="run an experiment: parameter points x replicates, resumable",
        description="Run every point of an experiment's design for each replicate, in "
        "parallel, writing each finished run at once into the sweep folder (see "
        "docs/SWEEPS.md). Running the same command again resumes an interrupted sweep.")
    p.add_argument("experiment", nargs="?",
                   help="experiment file, or the name of one in experiments/ (e.g. h2_restriction)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes (default: all local cores; 1 = in this process)")
    p.add_argument("--out", default=None, metavar="DIR", help="sweep folder (default: sweeps/NAME)")
    p.add_argument("--replicates", type=int, default=None, metavar="N",
                   help="replicates per point (replaces the file's)")
    p.add_argument("--scale", type=float, default=None, metavar="X",
                   help="multiply the replicates and sampler samples, e.g. 4 for a full study")
    p.add_argument("--steps", type=int, default=None, metavar="N",
                   help="weeks per run (replaces the file's; for a quick check of the pipeline)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the number of runs and an estimate of the time, run nothing")
    p.add_argument("--retry-failed", action="store_true", help="redo runs that failed before")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--dask", metavar="ADDRESS", default=None,
                   help="send the runs to a running Dask scheduler (needs the 'cluster' extra)")
    g.add_argument("--dask-local", action="store_true",
                   help="start a local Dask cluster of --workers processes")
    p.add_argument("--list-outcomes", action="store_true",
                   help="list the outcomes an experiment can name, and exit")
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    from ..common.errors import UsageError

    if args.list_outcomes:
        from ..sweeps.outcomes import OUTCOMES

        for o in OUTCOMES.values():
            print(f"{o.usage():44s} {o.unit:20s} {o.meaning}")
        return 0
    if not args.experiment:
        from ..sweeps.design import available_experiments

        raise UsageError("sweep: name an experiment file; shipped experiments: "
                         + (", ".join(available_experiments()) or "(none found)"))
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: must be at least 1")
    if args.replicates is not None and args.replicates < 1:
        raise UsageError(f"--replicates {args.replicates}: must be at least 1")
    if args.scale is not None and not (math.isfinite(args.scale) and args.scale > 0):
        raise UsageError(f"--scale {args.scale}: must be a finite number > 0")
    if args.steps is not None and args.steps < 1:
        raise UsageError(f"--steps {args.steps}: must be at least 1")
    exp = load_experiment(args.experiment, replicates=args.replicates, scale=args.scale,
                          steps=args.steps)
    if args.dry_run:
        return _print_dry_run(exp, args)
    if args.dask is not None or args.dask_local:
        _import_distributed()
    cmd = shlex.join(["militant-sim"] + sys.argv[1:]) if sys.argv else "militant-sim sweep"
    import warnings

    def show(message, category, *rest, **kw):
        print(f"militant-sim: warning: {message}", file=sys.stderr)

    from .main import note_compiling

    note_compiling()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", SweepWarning)
            warnings.showwarning = show
            res = run_sweep(exp, workers=args.workers, out=args.out, dask=args.dask,
                            dask_local=args.dask_local, retry_failed=args.retry_failed,
                            command=cmd)
    except SweepInterrupted as exc:
        print(str(exc), file=sys.stderr)
        return 130
    print(res.summary)
    return 0 if res.complete and not res.new_failures else 1


def _print_dry_run(exp: Experiment, args) -> int:
    est = estimate(exp, args.out, None if (args.dask or args.dask_local) else args.workers)
    if args.dask_local and args.workers:
        est = estimate(exp, args.out, args.workers)
    d = exp.design
    size = f"{len(exp.points)} points"
    if d["kind"] in ("lhs", "sobol", "morris"):
        size += f" ({d['kind']}, samples {d['samples']})"
    else:
        size += f" ({d['kind']})"
    if exp.ablation_points:
        size += f" incl. {len(exp.ablation_points)} for ablations"
    print(f"{exp.name}: scenario {exp.scenario}, {size} x {exp.replicates} replicates = "
          f"{est['runs']} runs of {exp.steps} weeks")
    ens = getattr(exp, "ensemble", None)
    if ens is not None:
        src = f" from {ens.source}" if ens.source else ""
        print(f"ensemble: {len(ens.draws)} {ens.kind} draws{src} x {ens.seeds} seed"
              f"{'s' if ens.seeds != 1 else ''} per draw, over {len(ens.parameters)} "
              f"parameters: " + ", ".join(
                  f"{k} [{lo:g}, {hi:g}]" for k, (lo, hi, _) in list(ens.parameters.items())[:8])
              + (", ..." if len(ens.parameters) > 8 else ""))
    for line in exp.size_notes():
        print(line)
    print(f"folder {est['out']}: {est['done']} done, {est['failed']} failed"
          + ("" if not est["failed"] else " (redone with --retry-failed)")
          + f", {est['todo']} to run")
    if est["todo"]:
        print(f"estimated time: about {_duration(est['estimate_seconds'])} with "
              f"{min(est['workers'], est['todo'])} workers ({est['per_run_seconds']:.2f} s a "
              f"run, from {est['source']}; runs whose groups grow take longer)")
    return 0
