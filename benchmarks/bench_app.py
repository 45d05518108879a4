"""Speed of the teaching app: weeks computed and drawn per second.

Run:  .venv/bin/python benchmarks/bench_app.py [--scenario classroom] [--weeks N]
                                               [--browser SECONDS]

Measures, over a whole run of the scenario (classroom: 260 weeks):

1. **model + drawing**: each week, ``model.step()`` and everything the app draws for it (the
   map as a PNG, the five chart options with a faded previous run behind them, the monitors),
   without Solara;
2. **model + drawing + page**: the same through the real page: the app's ``Page`` rendered
   in-process by Solara (with ``REACTON_FAST=1``, as ``militant-sim app`` sets it), each week
   ``model.step()`` then Mesa's ``force_update()``, which
   re-renders every view and updates its widgets (all the server does per week except sending
   the changes over the websocket);
3. with ``--browser SECONDS``: end to end, the app served on 127.0.0.1, opened in headless
   Chromium (``/usr/bin/chromium``) at 1280 x 720, Play pressed, and the week counter the
   browser shows read over that many seconds. This includes the pause between weeks (50 ms by
   default) and the browser's own drawing, and it shares the machine's cores with the server,
   so it is the slowest and noisiest of the three.

The classroom target is at least 5 weeks per second. Speed is measured here, never asserted
in the tests. Run on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import platform
import time


def bench_drawing(scenario: str, weeks: int) -> dict:
    from sim.app.controls import AppModel
    from sim.app.render import render_all, snapshot

    before = AppModel(scenario)
    for _ in range(min(weeks, before.p.steps)):
        before.step()
    previous = snapshot(before)  # drawn faded behind the run, as after Reset
    model = AppModel(scenario)
    weeks = min(weeks, model.p.steps)
    t_step = t_draw = 0.0
    render_all(model, previous)  # the painter's geometry is made once per model
    for _ in range(weeks):
        t0 = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        render_all(model, previous)
        t2 = time.perf_counter()
        t_step += t1 - t0
        t_draw += t2 - t1
    return {"weeks": weeks, "step_ms": 1e3 * t_step / weeks, "draw_ms": 1e3 * t_draw / weeks,
            "weeks_per_s": weeks / (t_step + t_draw), "fighters": len(model.fighters)}


def bench_page(scenario: str, weeks: int) -> dict:
    import os

    import solara
    from mesa.visualization.utils import force_update

    from sim.app import controls as app_controls
    from sim.app import page as app_page

    os.environ[app_page.ENV_SCENARIO] = scenario
    os.environ.setdefault("REACTON_FAST", "1")  # as `militant-sim app` runs the page
    before = set(app_controls._MODELS)
    box, rc = solara.render(app_page.Page(), handle_error=False)
    model = next(m for m in app_controls._MODELS if m not in before)
    weeks = min(weeks, model.p.steps)
    t_step = t_render = 0.0
    for _ in range(weeks):
        t0 = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        force_update()
        t2 = time.perf_counter()
        t_step += t1 - t0
        t_render += t2 - t1
    rc.close()
    return {"weeks": weeks, "step_ms": 1e3 * t_step / weeks, "render_ms": 1e3 * t_render / weeks,
            "weeks_per_s": weeks / (t_step + t_render)}


def bench_browser(scenario: str, seconds: float) -> dict:
    import re
    import subprocess
    import sys
    import tempfile

    from playwright.sync_api import sync_playwright

    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "app", scenario, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://\S+", line).group(0)
        with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
            ctx = pw.chromium.launch_persistent_context(
                profile, executable_path="/usr/bin/chromium", headless=True,
                viewport={"width": 1280, "height": 720},
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                      "--no-first-run", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync"])
            page = ctx.new_page()
            page.goto(url)
            page.wait_for_selector(".ms-week", timeout=60_000)

            def shown_week() -> int:
                return int(re.search(r"Week (\d+)", page.inner_text(".ms-week")).group(1))

            page.get_by_role("button", name="\u25b6").click()
            page.wait_for_function(
                "() => /Week [1-9]/.test(document.querySelector('.ms-week').innerText)",
                timeout=60_000)
            w0, t0 = shown_week(), time.perf_counter()
            time.sleep(seconds)
            w1, t1 = shown_week(), time.perf_counter()
            ctx.close()
        return {"weeks": w1 - w0, "seconds": t1 - t0, "weeks_per_s": (w1 - w0) / (t1 - t0)}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", default="classroom")
    ap.add_argument("--weeks", type=int, default=100_000,
                    help="weeks to time (default: the scenario's whole run)")
    ap.add_argument("--browser", type=float, default=0.0, metavar="SECONDS",
                    help="also measure end to end in headless Chromium for this long")
    args = ap.parse_args()
    print(f"{platform.python_implementation()} {platform.python_version()}, "
          f"{platform.machine()}, scenario {args.scenario}")
    d = bench_drawing(args.scenario, args.weeks)
    print(f"model + drawing:        {d['weeks_per_s']:6.1f} weeks/s  (step {d['step_ms']:.1f} ms, "
          f"map + charts + monitors {d['draw_ms']:.1f} ms per week; {d['weeks']} weeks, "
          f"{d['fighters']} fighters at the end)")
    p = bench_page(args.scenario, args.weeks)
    print(f"model + drawing + page: {p['weeks_per_s']:6.1f} weeks/s  (step {p['step_ms']:.1f} ms, "
          f"page update {p['render_ms']:.1f} ms per week)")
    if args.browser > 0:
        b = bench_browser(args.scenario, args.browser)
        print(f"browser, end to end:    {b['weeks_per_s']:6.1f} weeks/s  ({b['weeks']} weeks shown "
              f"in {b['seconds']:.1f} s, pause between weeks at its default)")


if __name__ == "__main__":
    main()
