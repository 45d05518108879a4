"""``militant-sim calibrate``: fit parameters to a scenario's patterns (docs/CALIBRATION.md)."""

from __future__ import annotations

import argparse
import sys
from ..analysis.calibrate import (load_calibration, run_calibration)


# =============================================================================================
# militant-sim calibrate
# =============================================================================================
def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate", help="fit parameters to the scenarios' patterns by ABC-SMC (pyABC)",
        description="Fit the parameters a calibration file names to the patterns of its "
        "scenarios by ABC-SMC (pyABC: adaptive p-norm distance, quantile epsilon), on local "
        "processes or a Dask cluster. The history is kept in OUT/abc.db: run the same command "
        "again to resume after a crash or kill. Writes posterior.parquet, generations.parquet, "
        "predictive.parquet and manifest.json; 'militant-sim report OUT' charts them.")
    p.add_argument("file", metavar="CALIBRATION", help="a calibration file (calibrations/*.toml)"
                   " or its name")
    p.add_argument("--out", default=None, help="output folder (default: calibrations/NAME)")
    p.add_argument("--workers", type=int, default=None,
                   help="local processes (default: all local cores)")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run on a Dask cluster: a scheduler address, or 'local'")
    p.add_argument("--particles", type=int, default=None, help="particles per generation")
    p.add_argument("--generations", type=int, default=None, help="the most generations")
    p.add_argument("--seeds", type=int, default=None, help="seeds per scenario and particle")
    p.add_argument("--steps", type=int, default=None, help="weeks per run (every scenario)")
    p.add_argument("--draws", type=int, default=None,
                   help="draws of the posterior-predictive check (0: none)")
    p.add_argument("--dry-run", action="store_true",
                   help="check the file and print what would run, without running")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from ..common.errors import UsageError

    for name in ("workers", "particles", "generations", "seeds", "steps"):
        v = getattr(args, name)
        if v is not None and v < (2 if name == "particles" else 1):
            raise UsageError(f"--{name} {v}: must be at least {2 if name == 'particles' else 1}")
    if args.draws is not None and args.draws < 0:
        raise UsageError(f"--draws {args.draws}: must be 0 or more")
    cal = load_calibration(args.file, particles=args.particles, generations=args.generations,
                           seeds=args.seeds, steps=args.steps, draws=args.draws)
    if args.dry_run:
        runs = len(cal.scenarios) * cal.seeds
        print(f"{cal.name}: {len(cal.priors)} parameters, {len(cal.patterns)} fitted and "
              f"{len(cal.checks)} out-of-sample patterns; {cal.abc['particles']} particles x "
              f"at most {cal.abc['generations']} generations; each particle is {runs} runs "
              f"({cal.seeds} seeds x {len(cal.scenarios)} scenarios: "
              + ", ".join(f"{s} {cal.steps[s]} weeks" for s in cal.scenarios) + ")")
        for pr in cal.priors:
            print(f"  {pr.name}: {pr.prior} [{pr.low:g}, {pr.high:g}]"
                  + (" (range of sim.params)" if pr.range_from == "sim.params" else ""))
        for f in cal.patterns:
            print(f"  fit {f.name} (weight {f.weight:g})")
        for f in cal.checks:
            print(f"  check {f.name}")
        for note in cal.notes:
            print(f"note: {note}")
        return 0
    cmdline = "militant-sim calibrate " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else None
    from .main import note_compiling

    note_compiling(args.quiet)
    res = run_calibration(cal, args.out, workers=args.workers, dask=args.dask,
                          progress=not args.quiet, command=cmdline)
    print(f"{cal.name}: {res.generations} generations, stopped by {res.stop} -> {res.out} "
          f"(militant-sim report {res.out})")
    return 0
