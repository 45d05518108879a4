"""``militant-sim check``: judge a scenario's patterns over seeds."""

from __future__ import annotations

import argparse
import json
from ..common.files import atomic_text
from ..analysis.check import (evaluate, format_table, fragile_line, hold_line, summarise,
                              to_json)


# =============================================================================================
# militant-sim check
# =============================================================================================
def register(sub: argparse._SubParsersAction) -> None:
    from ..core.scenario import DEFAULT_SCENARIO

    p = sub.add_parser(
        "check", help="run a scenario for several seeds and check the patterns of the record",
        description="Run SCENARIO for several seeds and judge each of its [[patterns]]: the "
        "statistic across seeds (median, IQR or share) must lie in the pattern's target. "
        "Exit status 0 when every pattern holds, 1 when one fails, 2 on bad input.")
    p.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO,
                   help=f"scenario name or TOML path (default: {DEFAULT_SCENARIO})")
    p.add_argument("--seeds", type=int, default=10, help="number of seeds (default: 10)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes (default: all local cores; 1: this process)")
    p.add_argument("--steps", type=int, default=None, help="weeks per run (default: scenario's)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", dest="sets",
                   help="override a parameter or scenario value (repeatable)")
    p.add_argument("--json", metavar="FILE", default=None,
                   help="also write the table and every seed's values as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .main import UsageError, note_compiling, parse_sets

    for name, v in (("--seeds", args.seeds), ("--workers", args.workers), ("--steps", args.steps)):
        if v is not None and v < 1:
            raise UsageError(f"{name} {v}: must be at least 1")
    overrides = parse_sets(args.sets)
    note_compiling(args.quiet)
    values = evaluate(args.scenario, seeds=args.seeds, overrides=overrides,
                      workers=args.workers, steps=args.steps, progress=not args.quiet)
    table = summarise(values)
    a = values.attrs
    held = int(table["holds"].sum())
    print(f"{a['scenario']}: {len(values)} seeds x {a['steps']} weeks, {a['workers']} "
          f"worker{'s' if a['workers'] != 1 else ''}, {a['wall_seconds']:.0f} s"
          + (f"; overrides: {', '.join(f'{k}={v}' for k, v in overrides.items())}"
             if overrides else ""))
    print(format_table(table, a["patterns"], a["scale"]))
    print(f"{held} of {len(table)} patterns hold")
    print(hold_line(table))
    fragile = fragile_line(table)
    if fragile:
        print(fragile)
    if args.json:
        out = Path(args.json)
        if out.parent and not out.parent.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
        atomic_text(out, json.dumps(to_json(values, table), indent=2, allow_nan=False,
                                    default=str) + "\n")
    return 0 if held == len(table) else 1
