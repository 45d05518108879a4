"""``militant-sim app``: the teaching app, served in a browser.

    militant-sim app [SCENARIO] [--host 127.0.0.1] [--port 8765] [--seed N]

serves the page of :mod:`sim.app.page` (Mesa's SolaraViz with this model's map, charts,
monitors and live sliders) with Solara's web server, prints the address to open, and runs until
Ctrl-C. Everything the page needs is served from this machine (the ``app`` extra installs
``solara-assets``), so it works in a classroom without internet.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time


DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
#: seconds the server waits for open pages to close when stopped
SHUTDOWN_GRACE = 2.0


def _bind(host: str, port: int) -> socket.socket:
    from ..common.errors import UsageError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(f"--host {host}: unknown address ({exc.strerror})") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        if port:
            raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror}); is another app "
                             "running there? Choose another port with --port N, or --port 0 "
                             "for any free port") from None
        raise UsageError(f"cannot listen on {host} ({exc.strerror})") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = socket.gethostname()
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/"


def serve(sock: socket.socket, scenario: str, seed: int | None = None) -> int:
    """Serve the app on a bound socket until Ctrl-C (or SIGTERM)."""
    from .controls import ENV_SCENARIO, ENV_SEED

    # (nothing imported so far loads Solara: its settings are read from the environment set
    # here when uvicorn imports the server below)

    os.environ[ENV_SCENARIO] = scenario
    os.environ[ENV_SEED] = "" if seed is None else str(seed)
    # Solara's settings are read when it is imported: set them first
    os.environ["SOLARA_APP"] = "sim.app.page"
    os.environ.setdefault("SOLARA_MODE", "production")
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "false")  # it would cover a chart
    # a light page whatever the operating system's dark mode (the page also fixes it)
    os.environ["SOLARA_THEME_VARIANT"] = "light"
    os.environ.setdefault("SOLARA_THEME_TITLE", "militant-sim")  # the browser tab's title
    # reacton's faster renderer (it skips the parts of the page that did not change): the page
    # updates in about half the time; REACTON_FAST=0 in the environment turns it off
    os.environ.setdefault("REACTON_FAST", "1")
    host, port = sock.getsockname()[:2]
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = str(host), str(port)
    import warnings

    import uvicorn

    # Solara warns on every page load that its session cookie falls back to samesite=lax over
    # plain http, which is what a local app uses
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")

    config = uvicorn.Config("solara.server.starlette:app", host=str(host), port=port,
                            log_level="warning", timeout_graceful_shutdown=SHUTDOWN_GRACE,
                            lifespan="on")
    server = uvicorn.Server(config)
    url = url_of(sock)

    def announce():
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            print(f"militant-sim app: serving {scenario} at {url}  (press Ctrl-C to stop)",
                  flush=True)

    threading.Thread(target=announce, daemon=True).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    print("militant-sim app: stopped", flush=True)
    _exit_if_threads_linger()
    return 0


def _exit_if_threads_linger(wait: float = 3.0) -> None:
    """A page left playing keeps a worker thread stepping its model; once the server is down
    nothing can stop it, so end the process rather than hang."""
    from .controls import stop_all_models

    stop_all_models()
    deadline = time.monotonic() + wait
    for t in threading.enumerate():
        if t is threading.main_thread() or t.daemon:
            continue
        t.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() and not t.daemon and t is not threading.main_thread()
           for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
