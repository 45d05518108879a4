"""The ``militant-sim`` command.

Subcommands register themselves: each module in ``SUBCOMMANDS`` defines
``register(subparsers)``, which adds its parser and sets ``func`` (a callable taking the parsed
arguments and returning an exit status). Bad input (a scenario or experiment error) prints one
clear message and exits with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from . import __version__
from .scenario import DEFAULT_SCENARIO, ScenarioError, available_scenarios, parse_value

#: modules that add subcommands, in the order they are listed in --help
SUBCOMMANDS = ["sim.cli", "sim.patterns", "sim.sweep", "sim.report", "sim.app", "sim.epstein"]


class UsageError(ValueError):
    """A problem with the user's input, reported without a traceback (exit status 2)."""


def parse_sets(items: list[str] | None) -> dict[str, object]:
    """``["a=1", "groups.X.claim=0"]`` -> ``{"a": 1, "groups.X.claim": 0}``."""
    out: dict[str, object] = {}
    for item in items or []:
        if "=" not in item:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE, for example "
                             "--set clash_kappa=0.05 or --set groups.ISIS.claim=0")
        k, v = item.split("=", 1)
        out[k.strip()] = parse_value(v.strip())
    return out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run one scenario and write its data and dashboard",
                       description="Run one scenario; write steps.parquet, events.parquet, "
                       "maps.npz, summary.json and dashboard.png into --out.")
    p.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO,
                   help=f"scenario name or TOML path (default: {DEFAULT_SCENARIO}); "
                   "see 'militant-sim scenarios'")
    p.add_argument("--steps", type=int, default=None, help="weeks to run (default: scenario's)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: scenario's)")
    p.add_argument("--out", default=None, help="output folder (default: runs/SCENARIO-seedS)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", dest="sets",
                   help="override a parameter or scenario value (repeatable)")
    p.add_argument("--no-dashboard", action="store_true", help="skip dashboard.png")
    p.add_argument("--animate", action="store_true",
                   help="also write animation.gif (the control map week by week)")
    p.add_argument("--quiet", action="store_true", help="print only the output folder")
    p.set_defaults(func=cmd_run)

    s = sub.add_parser("scenarios", help="list the scenarios")
    s.set_defaults(func=cmd_scenarios)

    q = sub.add_parser("params", help="list every parameter with its default, unit and source")
    q.set_defaults(func=cmd_params)


def cmd_run(args: argparse.Namespace) -> int:
    from .model import MilitantModel

    if args.steps is not None and args.steps < 1:
        raise UsageError(f"--steps {args.steps}: must be at least 1")
    overrides = parse_sets(args.sets)
    model = MilitantModel(args.scenario, rng=args.seed, overrides=overrides)
    steps = model.p.steps if args.steps is None else args.steps
    seed = model.seed
    out = Path(args.out) if args.out else Path("runs") / f"{model.spec.name}-seed{seed}"
    if not args.quiet:
        print(f"running {model.spec.name}: {steps} weeks, seed {seed}, "
              f"{len(model.fighters)} fighters at start", file=sys.stderr)
    result = model.run(steps)
    # the dashboard first: summary.json, written last by save(), marks a complete folder
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").unlink(missing_ok=True)
    if not args.no_dashboard:
        from .charts import dashboard

        dashboard(result, out / "dashboard.png")
    if args.animate:
        from .charts import animate

        animate(result, out / "animation.gif")
    result.save(out)
    if args.quiet:
        print(out)
        return 0
    s = result.summary
    print(f"done in {s['provenance']['wall_seconds']:.1f} s; final fighters: "
          + ", ".join(f"{k} {v}" for k, v in s["final_fighters"].items()))
    print(f"outputs in {out}/: steps.parquet events.parquet maps.npz summary.json"
          + ("" if args.no_dashboard else " dashboard.png")
          + (" animation.gif" if args.animate else ""))
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    from .scenario import load_scenario

    for name in available_scenarios():
        try:
            sc = load_scenario(name)
            print(f"{name:22s} {sc.description}")
        except ScenarioError as exc:
            print(f"{name:22s} (invalid: {exc})")
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    from .params import PARAMS

    for p in PARAMS.values():
        print(f"{p.name:26s} {p.default!s:>8} {p.unit:12s} {p.meaning}  [{p.source}]")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="militant-sim",
        description="Agent-based model of competition among militant groups.")
    parser.add_argument("--version", action="version", version=f"militant-sim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = sys.modules[__name__] if name == __name__ else importlib.import_module(name)
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ScenarioError, UsageError) as exc:
        print(f"militant-sim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("militant-sim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
