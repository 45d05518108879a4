"""The ``militant-sim`` command.

Subcommands register themselves: each module in ``SUBCOMMANDS`` defines
``register(subparsers)``, which adds its parser and sets ``func`` (a callable taking the parsed
arguments and returning an exit status). Bad input (a scenario or experiment error) prints one
clear message and exits with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import re
import sys
from pathlib import Path

from ..common.errors import UsageError
from ..common.files import check_out_folder
from ..common.version import __version__
from ..core.scenario import DEFAULT_SCENARIO, ScenarioError, available_scenarios, parse_value

#: modules that add subcommands, in the order they are listed in --help
SUBCOMMANDS = ["sim.cli.main", "sim.cli.check", "sim.cli.sweep", "sim.cli.report",
               "sim.cli.calibrate", "sim.cli.app", "sim.cli.epstein"]


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


def note_compiling(quiet: bool = False) -> None:
    """Say so on stderr when the model's kernels are about to be compiled (the first run on
    a fresh install or after an upgrade), so that a silent minute is not taken for a hang."""
    if quiet:
        return
    from ..core import kernels

    if kernels.uncached():
        print("militant-sim: first run of this version on this machine: compiling the model's "
              "kernels (once: 20 s to a minute or two; numba keeps them for later runs)",
              file=sys.stderr)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run one scenario and write its data and dashboard",
                       description="Run one scenario; write steps.parquet, events.parquet, "
                       "maps.npz, summary.json and dashboard.png into --out.")
    p.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO,
                   help=f"scenario name or TOML path (default: {DEFAULT_SCENARIO}); "
                   "see 'militant-sim scenarios'")
    p.add_argument("--steps", type=int, default=None, help="weeks to run (default: scenario's)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: scenario's)")
    p.add_argument("--out", default=None, help="output folder (default: runs/SCENARIO-seedS, "
                   "plus the steps and --set overrides when given)")
    p.add_argument("--force", action="store_true",
                   help="replace a different run already in --out")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", dest="sets",
                   help="override a parameter or scenario value (repeatable)")
    p.add_argument("--no-dashboard", action="store_true", help="skip dashboard.png")
    p.add_argument("--animate", action="store_true",
                   help="also write animation.gif (the control map week by week)")
    p.add_argument("--quiet", action="store_true", help="print only the output folder")
    p.set_defaults(func=cmd_run)

    s = sub.add_parser("scenarios", help="list the scenarios with their groups, zones and "
                       "timeline ids")
    s.set_defaults(func=cmd_scenarios)

    q = sub.add_parser("params", help="list every parameter, group field and zone field with "
                       "its default, range, unit and source",
                       description="List the global parameters, the group fields and the zone "
                       "fields with their defaults, ranges, units and sources; with a "
                       "SCENARIO, its values, groups, zones and timeline ids (the keys of "
                       "--set).")
    q.add_argument("scenario", nargs="?", default=None,
                   help="show this scenario's values (a name or a TOML path)")
    q.set_defaults(func=cmd_params)


#: what ``run`` writes into its folder (a folder holding any of these holds a run)
RUN_FILES = ("steps.parquet", "events.parquet", "maps.npz", "summary.json", "dashboard.png",
             "animation.gif")


def default_run_folder(name: str, seed, steps: int | None, overrides: dict) -> Path:
    """``runs/NAME-seedS``, then ``-stepsN`` when the steps were given and ``-KEY=VALUE...``
    (or ``-set-HASH`` when long) for the overrides: different runs get different folders."""
    safe = re.sub(r"[^A-Za-z0-9_.=+-]", "_", str(name)).lstrip(".") or "run"
    parts = [f"{safe}-seed{seed}"]
    if steps is not None:
        parts.append(f"steps{steps}")
    if overrides:
        text = ",".join(f"{k}={json.dumps(v, sort_keys=True)}" for k, v in
                        sorted(overrides.items()))
        slug = re.sub(r"[^A-Za-z0-9_.=+-]+", "_", text.replace('"', "")).strip("_")
        if len(slug) > 60 or not slug:
            slug = "set-" + hashlib.sha256(text.encode()).hexdigest()[:10]
        parts.append(slug)
    return Path("runs") / "-".join(parts)


def _same_run(out: Path, model, steps: int) -> bool | None:
    """Whether ``out`` already holds this very run (None: it holds no run files)."""
    if not any((out / f).exists() for f in RUN_FILES):
        return None
    try:
        prov = json.loads((out / "summary.json").read_text()).get("provenance", {})
    except (OSError, ValueError, AttributeError):
        return False
    return (isinstance(prov, dict) and prov.get("scenario_digest") == model.spec.digest()
            and prov.get("seed") == model.seed and prov.get("weeks") == steps)


def cmd_run(args: argparse.Namespace) -> int:
    from ..core.model import MilitantModel
    from ..core.params import PARAMS

    hi = int(PARAMS["steps"].high)
    if args.steps is not None and not 1 <= args.steps <= hi:
        raise UsageError(f"--steps {args.steps}: out of range; allowed: 1 to {hi:,} weeks")
    if args.seed is not None and not 0 <= args.seed < 2 ** 63:
        raise UsageError(f"--seed {args.seed}: must be a whole number from 0 to 2**63 - 1")
    overrides = parse_sets(args.sets)
    if args.out:
        check_out_folder(Path(args.out))
    model = MilitantModel(args.scenario, rng=args.seed, overrides=overrides)
    steps = model.p.steps if args.steps is None else args.steps
    seed = model.seed
    out = Path(args.out) if args.out else default_run_folder(model.spec.name, seed, args.steps,
                                                            overrides)
    check_out_folder(out)
    if not args.force and _same_run(out, model, steps) is False:
        raise UsageError(f"--out {out}: already holds a different run (other scenario, "
                         "overrides, seed or steps); give another --out, or --force to "
                         "replace it")
    if not args.quiet:
        print(f"running {model.spec.name}: {steps} weeks, seed {seed}, "
              f"{len(model.fighters)} fighters at start", file=sys.stderr)
    note_compiling(args.quiet)
    result = model.run(steps)
    # the dashboard first: summary.json, written last by save(), marks a complete folder
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").unlink(missing_ok=True)
        if not args.no_dashboard:
            from ..analysis.charts import dashboard

            dashboard(result, out / "dashboard.png")
        if args.animate:
            from ..analysis.charts import animate

            animate(result, out / "animation.gif")
        result.save(out)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write "
                         f"{exc.filename or 'the outputs'}: {exc.strerror or exc}") from None
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
    from ..core.scenario import load_scenario

    for name in available_scenarios():
        try:
            sc = load_scenario(name)
        except ScenarioError as exc:
            print(f"{name:22s} (invalid: {exc})")
            continue
        print(f"{name:22s} {sc.description}")
        print(f"{'':22s}   groups: " + ", ".join(sc.group_names))
        print(f"{'':22s}   zones: " + ", ".join(sc.zones))
        ids = [e.get("id") for e in sc.raw.get("timeline", []) if isinstance(e, dict)
               and e.get("id")]
        print(f"{'':22s}   timeline ids: " + (", ".join(ids) or "(none)"))
    return 0


def _range(p) -> str:
    if p.kind is str:
        return "text"
    if p.kind is bool:
        return "true/false"
    lo = "-inf" if p.low is None else f"{p.low:g}"
    hi = "inf" if p.high is None else f"{p.high:g}"
    return f"[{lo}, {hi}]" + (" int" if p.kind is int else "")


def _value(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return '""' if v == "" else str(v)


def cmd_params(args: argparse.Namespace) -> int:
    from ..core.params import CELL_FIELDS, GROUP_FIELDS, PARAMS
    from ..core.scenario import load_scenario

    sc = load_scenario(args.scenario) if args.scenario else None
    head = f"{'name':26s} {'default':>9} {'range':18s} {'unit':12s} meaning  [source]"
    if sc is not None:
        print(f"Scenario {sc.name} ({sc.file})")
        print()
        head = f"{'name':26s} {'value':>9} {'range':18s} {'unit':12s} meaning  [source]"
    print("Global parameters (--set NAME=VALUE; a value the scenario changes is marked *)")
    print(head)
    for p in PARAMS.values():
        v = sc.params[p.name] if sc is not None else p.default
        mark = "*" if sc is not None and v != p.default else " "
        print(f"{p.name:26s} {_value(v):>8}{mark} {_range(p):18s} {p.unit:12s} {p.meaning}  "
              f"[{p.source}]")
    print()
    print("Group fields ([groups.NAME] in a scenario file; --set groups.NAME.FIELD=VALUE)")
    print(f"{'field':26s} {'default':>9} {'range':18s} {'unit':12s} meaning")
    for p in GROUP_FIELDS.values():
        print(f"{p.name:26s} {_value(p.default):>9} {_range(p):18s} {p.unit:12s} {p.meaning}")
    if sc is not None:
        print()
        names = list(GROUP_FIELDS)
        print(f"{'group':12s} " + " ".join(f"{n[:10]:>10}" for n in names))
        for g in sc.groups:
            print(f"{g.name:12s} " + " ".join(f"{_value(getattr(g, n))[:10]:>10}"
                                              for n in names))
    print()
    print("Zone fields ([map.default] and [zones.NAME]; --set zones.NAME.FIELD=VALUE or "
          "map.default.FIELD=VALUE)")
    print(f"{'field':26s} {'default':>9} {'range':18s} {'unit':12s} meaning")
    for p in CELL_FIELDS.values():
        print(f"{p.name:26s} {_value(p.default):>9} {_range(p):18s} {p.unit:12s} {p.meaning}")
    if sc is not None:
        print()
        print(f"{'zone':16s} {'cells':>6} " + " ".join(f"{n[:10]:>10}" for n in CELL_FIELDS))
        for z, mask in sc.zones.items():
            means = [float(sc.cells[n][mask].mean()) for n in CELL_FIELDS]
            print(f"{z:16s} {int(mask.sum()):>6} " + " ".join(f"{v:>10.4g}" for v in means))
        print("(zone fields: mean over the zone's cells)")
        print()
        print("Timeline (--set timeline.ID.FIELD=VALUE for an event with an id)")
        events = [e for e in sc.raw.get("timeline", []) if isinstance(e, dict)]
        for e in sorted(events, key=lambda e: e.get("week", 0)):
            fields = ", ".join(f"{k}={_value(v)}" for k, v in e.items()
                               if k not in ("id", "week", "event", "note"))
            print(f"  {str(e.get('id') or '-'):16s} week {e.get('week', '?'):>5}  "
                  f"{e.get('event')}({fields})")
        if not events:
            print("  (no timeline events)")
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
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not as a traceback at exit
        return status
    except (ScenarioError, UsageError) as exc:
        print(f"militant-sim: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (``militant-sim scenarios | head -1``): stop quietly, as Unix
        # tools do, without a traceback when Python flushes stdout at exit
        _silence_stdout()
        return 141
    except OSError as exc:  # a file or folder that cannot be read or written
        where = f" {exc.filename}" if exc.filename else ""
        print(f"militant-sim: error: cannot read or write{where}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("militant-sim: interrupted", file=sys.stderr)
        return 130


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
