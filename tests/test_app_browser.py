"""The teaching app in a real browser: ``militant-sim app`` served on 127.0.0.1, opened in
headless Chromium (Debian's ``chromium`` package, driven by Playwright for Python), Step and
Play pressed; the week counter, the map image and a chart must change. A screenshot is saved
in ``test-artifacts/``.

Skipped, with the reason, only when Chromium or Playwright is not installed
(``apt-get install chromium``; ``pip install -e ".[test]"``). Playwright's own browser
download is never used.

Run as a script, the same set-up takes the screenshots of ``docs/TEACHING.md``::

    .venv/bin/python tests/test_app_browser.py --screenshots docs/img
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = (os.environ.get("MILITANT_SIM_CHROMIUM") or shutil.which("chromium")
            or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: every wait of the test is bounded by this (seconds)
TIMEOUT = 60
ARTIFACTS = ROOT / "test-artifacts"


def _why_not() -> str | None:
    if not Path(CHROMIUM).is_file():
        return f"Chromium not installed at {CHROMIUM} (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python not installed (pip install -e '.[test]')"
    return None


# ---------------------------------------------------------------------------------------------
# the server and the browser
# ---------------------------------------------------------------------------------------------
@contextmanager
def app_server(*args: str):
    """``militant-sim app ARGS --port 0`` in a subprocess; yields its URL; always stops it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "app", *args, "--host",
                             "127.0.0.1", "--port", "0"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    found = threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line)
            if "http://" in line:
                found.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not found.wait(TIMEOUT):
            raise AssertionError("the app did not print its address in time:\n" + "".join(lines))
        url = re.search(r"http://\S+", next(ln for ln in lines if "http://" in ln)).group(0)
        assert url.startswith("http://127.0.0.1:")
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # what Ctrl-C does
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


@contextmanager
def browser(width: int = 1600, height: int = 1000):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height})
        ctx.set_default_timeout(TIMEOUT * 1000)
        try:
            yield ctx.new_page()
        finally:
            ctx.close()


def open_app(page, url: str) -> None:
    page.goto(url, timeout=TIMEOUT * 1000)
    page.wait_for_selector(".ms-week")
    page.wait_for_selector(".ms-map img, img.ms-map")
    page.wait_for_selector(".ms-chart-fighters canvas")


def shown_week(page) -> int:
    return int(re.search(r"Week (\d+)", page.inner_text(".ms-week")).group(1))


def wait_week(page, at_least: int) -> None:
    page.wait_for_function(
        "n => { const m = /Week (\\d+)/.exec(document.querySelector('.ms-week').innerText);"
        " return m && parseInt(m[1]) >= n; }", arg=at_least)


def map_image(page):
    return page.locator("img.ms-map, .ms-map img").first


def chart(page, name: str):
    return page.locator(f".ms-chart-{name}").first


def button(page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def play(page) -> None:
    button(page, "\u25b6").click()


def pause(page) -> None:
    button(page, "\u275a\u275a").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('button')].some("
        "b => b.innerText.trim().toUpperCase() === 'STEP' && !b.disabled)")


def settle(page) -> None:
    """Wait until the charts show the week the counter shows."""
    page.wait_for_function(
        "() => { const m = /Week (\\d+)/.exec(document.querySelector('.ms-week').innerText);"
        " return m && [...document.querySelectorAll('.ms-chart')].every("
        "c => c.getAttribute('data-week') === m[1]); }")
    page.wait_for_timeout(300)  # the charts draw on the next animation frame


# ---------------------------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------------------------
@pytest.mark.browser
def test_app_in_a_browser_steps_plays_and_redraws():
    why = _why_not()
    if why:
        pytest.skip(why)
    ARTIFACTS.mkdir(exist_ok=True)
    with app_server("classroom", "--seed", "1") as url, browser() as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        open_app(page, url)
        assert shown_week(page) == 0
        settle(page)
        map0, src0 = map_image(page).screenshot(), map_image(page).get_attribute("src")
        chart0 = chart(page, "fighters").screenshot()

        button(page, "Step").click()
        wait_week(page, 1)
        assert shown_week(page) == 1
        settle(page)
        assert chart(page, "fighters").get_attribute("data-week") == "1"
        assert map_image(page).get_attribute("src") != src0  # a new picture came

        play(page)
        wait_week(page, 8)
        pause(page)
        settle(page)
        week = shown_week(page)
        assert week >= 8
        for name in ("fighters", "territory", "violence", "relations"):
            assert chart(page, name).get_attribute("data-week") == str(week)
        assert map_image(page).screenshot() != map0          # the map changed ...
        assert chart(page, "fighters").screenshot() != chart0  # ... and a chart was redrawn
        page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=True)
        assert not errors, errors


# ---------------------------------------------------------------------------------------------
# the guide's screenshots
# ---------------------------------------------------------------------------------------------
def _small_png(src: Path, dst: Path) -> None:
    from PIL import Image

    im = Image.open(src).convert("RGB")
    im.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
        dst, optimize=True)


def take_screenshots(out: Path) -> list[Path]:
    """The screenshots of docs/TEACHING.md, from the real app (classroom, seed 1)."""
    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with app_server("classroom", "--seed", "1") as url, browser(1600, 1000) as page:
        open_app(page, url)
        settle(page)
        with tempfile.TemporaryDirectory() as tmp:
            def shot(name, full=False, locator=None):
                raw = Path(tmp) / name
                (locator or page).screenshot(path=str(raw), **({"full_page": True} if full
                                                                else {}))
                _small_png(raw, out / name)
                shots.append(out / name)

            shot("app-start.png")
            play(page)
            wait_week(page, 104)
            pause(page)
            settle(page)
            shot("app-two-years.png", full=True)
            shot("app-live-controls.png", locator=page.locator(".ms-live").first)
    return shots


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="take the screenshots of docs/TEACHING.md")
    ap.add_argument("--screenshots", default=str(ROOT / "docs" / "img"), metavar="DIR")
    a = ap.parse_args()
    why = _why_not()
    if why:
        sys.exit(why)
    for p in take_screenshots(Path(a.screenshots)):
        print(p, p.stat().st_size // 1024, "KiB")
