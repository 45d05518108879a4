"""``militant-sim app``: serve the teaching app (sim.app.serve)."""

from __future__ import annotations

from ..core.scenario import load_scenario
import argparse
import importlib.util
from ..app.serve import (DEFAULT_HOST, DEFAULT_PORT, _bind, serve)


def register(sub: argparse._SubParsersAction) -> None:
    from ..app.controls import APP_SCENARIO

    p = sub.add_parser(
        "app", help="serve the teaching app (the model live in a browser)",
        description="Serve the teaching app: the model running live in a web browser, with its "
        "map, charts, monitors and sliders (see docs/TEACHING.md). Open the printed address "
        "in a browser; stop with Ctrl-C.")
    p.add_argument("scenario", nargs="?", default=APP_SCENARIO,
                   help=f"scenario to open (default: {APP_SCENARIO}); another can be picked "
                   "in the app; see 'militant-sim scenarios'")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"address to listen on (default: {DEFAULT_HOST}, this computer only; "
                   "0.0.0.0 lets other computers on the network connect)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port to listen on (default: {DEFAULT_PORT}; 0: any free port)")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed of the first run (default: the scenario's)")
    p.set_defaults(func=cmd_app)


def cmd_app(args: argparse.Namespace) -> int:
    from ..common.errors import UsageError

    if importlib.util.find_spec("solara") is None:
        raise UsageError("the app needs Solara: pip install 'militant-sim[app]'")
    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed {args.seed}: must be a whole number >= 0")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: must be between 0 and 65535")
    load_scenario(args.scenario)  # a bad name or file is reported now, not in the browser
    sock = _bind(args.host, args.port)
    return serve(sock, args.scenario, args.seed)


