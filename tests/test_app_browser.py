"""The teaching app in a real browser, walking the 45-minute lesson of ``docs/TEACHING.md``.

``militant-sim app`` is served on 127.0.0.1 and opened in headless Chromium (Debian's
``chromium`` package, driven by Playwright for Python) at 1280 x 720, the size of a classroom
projector, with the operating system's dark mode switched on. The test checks that the
controls and the charts the lesson uses are on screen without scrolling and that the page stays
light, then does what the lesson tells the teacher to do (Reset, move a slider, "stop at week",
Play), downloads the run's series with the page's own CSV button after each step, and asserts
what the lesson says the class will see (the claims of :mod:`sim.app.lesson`), and that the browser
ran exactly the model the lesson describes (the same numbers as :func:`sim.app.lesson.run_step`).
It also saves the map, the dashboard and a chart as PNG, and opens the Guide tab.

Skipped, with the reason, only when Chromium or Playwright is not installed
(``apt-get install chromium``; ``pip install -e ".[test]"``). Playwright's own browser
download is never used.

Run as a script, the same walk takes the screenshots of ``docs/TEACHING.md``::

    .venv/bin/python tests/test_app_browser.py --screenshots docs/img
"""

from __future__ import annotations

import math
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
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from sim.app import lesson  # noqa: E402

CHROMIUM = (os.environ.get("MILITANT_SIM_CHROMIUM") or shutil.which("chromium")
            or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: every wait of the test is bounded by this (seconds)
TIMEOUT = 120
ARTIFACTS = ROOT / "test-artifacts"
#: the projector
WIDTH, HEIGHT = 1280, 720


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
def browser(width: int = WIDTH, height: int = HEIGHT, dark: bool = True):
    """A headless Chromium page; ``dark``: the operating system asks for dark mode."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height}, accept_downloads=True,
            color_scheme="dark" if dark else "light")
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
    wait_paused(page)


def wait_paused(page) -> None:
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


def set_stop(page, week: int | None) -> None:
    box = page.locator(".ms-stop input").first
    box.fill("" if week is None else str(week))
    page.wait_for_timeout(150)


def play_to(page, week: int | None) -> None:
    """What the lesson says: type the week into "stop at week" and press Play."""
    set_stop(page, week)
    play(page)
    if week is not None:
        wait_week(page, week)
        wait_paused(page)
    else:  # to the end of the run: Play is disabled there
        page.wait_for_function(
            "() => [...document.querySelectorAll('button')].some("
            "b => b.innerText.trim() === '\u25b6' && b.disabled)")
    settle(page)


def knob_label(page, key: str) -> str:
    return page.inner_text(f".ms-knob-{key} .ms-knob-label")


def slider_to(page, key: str, end: str) -> None:
    """Move a slider to its left (``Home``) or right (``End``) end, as a teacher drags it."""
    before = knob_label(page, key)
    thumb = page.locator(f".ms-knob-{key} [role=slider]").first
    thumb.focus()
    thumb.press(end)
    page.wait_for_function(
        "([k, b]) => document.querySelector(`.ms-knob-${k} .ms-knob-label`).innerText !== b",
        arg=[key, before])
    page.wait_for_timeout(200)


def reset(page) -> None:
    button(page, "Reset").click()
    page.wait_for_function(
        "() => /Week 0 /.test(document.querySelector('.ms-week').innerText)")
    settle(page)


def download(page, selector: str, into: Path) -> Path:
    with page.expect_download(timeout=TIMEOUT * 1000) as d:
        page.locator(selector).first.click()
    path = into / d.value.suggested_filename
    d.value.save_as(path)
    return path


def series_now(page, into: Path) -> lesson.Series:
    """The run so far, from the page's own "data CSV" button."""
    return lesson.Series.of_csv(download(page, ".ms-csv", into).read_text())


def monitors_text(page) -> str:
    return page.inner_text(".ms-monitors")


def in_view(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return (box is not None and box["x"] >= 0 and box["y"] >= 0
            and box["x"] + box["width"] <= WIDTH + 0.5 and box["y"] + box["height"] <= HEIGHT + 0.5)


# ---------------------------------------------------------------------------------------------
# the lesson
# ---------------------------------------------------------------------------------------------
def _check(step: str, got: lesson.Series, first: lesson.Series | None,
           expected: dict) -> dict:
    m = lesson.measure(step, got, first)
    failed = [c for c, ok in lesson.claims(step, m).items() if not ok]
    assert not failed, (step, failed, m)
    # the browser ran exactly the lesson's model (same seed, same changes at the same weeks;
    # the CSV carries ten significant digits)
    want = expected[step]["measures"]
    assert set(m) == set(want)
    for k, v in m.items():
        same = (math.isclose(v, want[k], rel_tol=1e-7, abs_tol=1e-9)
                if isinstance(v, float) else v == want[k])
        assert same, (step, k, v, want[k])
    return m


def walk_lesson(page, url: str, work: Path, shots: Path | None = None) -> dict:
    """Do what the lesson tells the teacher to do, and check what it says the class sees.
    ``shots``: save the guide's screenshots there. Returns the measures of each step."""
    expected = lesson.lesson(lesson.SEED)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def shot(name, locator=None):
        if shots is None:
            return
        raw = work / name
        (locator or page).screenshot(path=str(raw))
        _small_png(raw, shots / name)

    open_app(page, url)
    assert shown_week(page) == 0
    assert f"classroom, seed {lesson.SEED}" in page.inner_text(".ms-week")
    settle(page)

    # -- the page at 1280 x 720: every control and chart of the lesson without scrolling ------
    for sel in (".ms-map", ".ms-monitors", ".ms-stop input", ".ms-keep", ".ms-knob-claim",
                ".ms-knob-propaganda", ".ms-knob-restriction", ".ms-knob-governance_support",
                ".ms-knob-clash_kappa", ".ms-speed", ".ms-render", ".ms-pick-scenario",
                ".ms-seed", ".ms-csv", ".ms-map-png", ".ms-dashboard-png", ".ms-tabs",
                *(f".ms-chart-{n}" for n in ("relations", "territory", "violence", "fighters",
                                              "defections"))):
        assert in_view(page, sel), f"{sel} is not on screen at {WIDTH} x {HEIGHT}"
    assert page.evaluate("() => document.documentElement.scrollHeight") <= HEIGHT
    assert page.evaluate("() => { const s = document.querySelector('.ms-side');"
                         " return s.scrollHeight <= s.clientHeight; }")
    for b in ("Reset", "\u25b6", "Step"):
        assert in_view(page, f"button:has-text('{b}')")
    # a light page although the operating system asks for dark mode; chart text stays dark
    assert page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches")
    assert page.evaluate("() => getComputedStyle(document.querySelector('.ms-app'))"
                         ".backgroundColor") == "rgb(255, 255, 255)"
    assert page.locator(".v-application.theme--dark").count() == 0
    assert page.locator(".v-application.theme--light").count() >= 1
    from PIL import Image

    png = work / "fighters-chart.png"
    chart(page, "fighters").screenshot(path=str(png))
    import numpy as np

    assert np.median(np.asarray(Image.open(png).convert("L"))) > 200  # a white ground
    # the speed sliders show their values
    assert re.search(r"pause between weeks: \d+ ms", page.inner_text(".ms-speed"))
    assert re.search(r"weeks per picture: \d+", page.inner_text(".ms-render"))
    # plain words: the next scheduled event is the classroom's note, not code
    assert "The government and its partners start a programme" in monitors_text(page)
    assert "governance_programme(" not in page.inner_text("body")
    shot("app-start.png")
    shot("app-live-controls.png", page.locator(".ms-side").first)

    slider_to(page, "play", "Home")  # pause between weeks: as short as it goes

    # -- 1. infighting and ungoverned space: the first run ---------------------------------------
    play_to(page, lesson.FIRST_PAUSE)
    assert shown_week(page) == lesson.FIRST_PAUSE
    s = series_now(page, work)
    brk = expected["first"]["measures"]["truce_broken_week"]
    assert f"war since week {brk}" in monitors_text(page).replace("\n", " ")
    assert lesson.first_week(s[f"relation.{lesson.PAIR}"], lesson.Relation.WAR) == brk
    shot("lesson-1-infighting.png")
    play_to(page, None)  # on to the end
    assert shown_week(page) == 260
    first = series_now(page, work)
    _check("first", first, None, expected)
    shot("lesson-1-end.png")

    # -- 2. the claim -----------------------------------------------------------------------------
    page.get_by_text("keep the faded run when I press Reset").click()
    assert page.locator(".ms-keep input").first.is_checked()
    reset(page)
    assert "Faded on the charts" in monitors_text(page)
    slider_to(page, "claim", "Home")
    assert knob_label(page, "claim") == "claim of Caliphate: 0"
    play_to(page, lesson.CLAIM_END)
    assert "truce since week 0" in monitors_text(page).replace("\n", " ")
    _check("claim", series_now(page, work), first, expected)
    shot("lesson-2-claim.png")

    # -- 3. propaganda ----------------------------------------------------------------------------
    reset(page)
    play_to(page, lesson.PROPAGANDA_OFF)
    slider_to(page, "propaganda", "Home")
    assert knob_label(page, "propaganda") == "propaganda of Caliphate: 0"
    play_to(page, lesson.PROPAGANDA_ON)
    slider_to(page, "propaganda", "End")
    assert knob_label(page, "propaganda") == "propaganda of Caliphate: 1"
    play_to(page, lesson.PROPAGANDA_END)
    assert (f"week {lesson.PROPAGANDA_OFF}: propaganda of Caliphate \u2192 0"
            in monitors_text(page))
    _check("propaganda", series_now(page, work), first, expected)
    shot("lesson-3-propaganda.png")

    # -- 4. defections, not cooperation -----------------------------------------------------------
    reset(page)
    play_to(page, lesson.RESTRICT_AT)
    assert page.inner_text(".ms-pick-restricted").find("Front") >= 0
    assert page.inner_text(".ms-pick-zone").find("all") >= 0
    slider_to(page, "restriction", "End")
    assert knob_label(page, "restriction") == "restriction of Front in the whole map: 1"
    play_to(page, lesson.RESTRICT_END)
    _check("restriction", series_now(page, work), first, expected)
    shot("lesson-4-defections.png")

    # -- 5. closing the vacuum --------------------------------------------------------------------
    reset(page)
    slider_to(page, "governance_support", "Home")
    assert knob_label(page, "governance_support") == "governance support: 0"
    play_to(page, None)
    _check("governance", series_now(page, work), first, expected)
    # the faded run kept since step 2 is still the first run
    assert "no slider moved" in monitors_text(page) and "weeks 0-260" in monitors_text(page)
    shot("lesson-5-governance.png")

    # -- the exports: the map, the dashboard, one chart, as PNG ---------------------------------
    for sel in (".ms-map-png", ".ms-dashboard-png"):
        p = download(page, sel, work)
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000, sel
    box = chart(page, "territory").bounding_box()
    with page.expect_download(timeout=TIMEOUT * 1000) as d:
        page.mouse.click(box["x"] + box["width"] - 11, box["y"] + 7)  # the chart's save icon
    p = work / "territory-chart.png"
    d.value.save_as(p)
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # -- the Guide tab ----------------------------------------------------------------------------
    page.get_by_role("button", name="Guide").click()
    page.wait_for_selector(".ms-guide")
    guide = page.inner_text(".ms-guide")
    assert "A 45-MINUTE LESSON" in guide and "THINGS TO TRY" in guide
    shot("app-guide.png")
    page.get_by_role("button", name="Model").click()
    page.wait_for_selector(".ms-chart-fighters canvas")

    # -- Step redraws the map and the charts ------------------------------------------------------
    reset(page)
    src0 = map_image(page).get_attribute("src")
    chart0 = chart(page, "fighters").screenshot()
    button(page, "Step").click()
    wait_week(page, 1)
    settle(page)
    assert shown_week(page) == 1
    for name in ("fighters", "territory", "violence", "defections", "relations"):
        assert chart(page, name).get_attribute("data-week") == "1"
    assert map_image(page).get_attribute("src") != src0
    assert chart(page, "fighters").screenshot() != chart0
    assert not errors, errors
    return expected


@pytest.mark.browser
def test_the_lesson_in_a_browser_at_1280x720():
    why = _why_not()
    if why:
        pytest.skip(why)
    ARTIFACTS.mkdir(exist_ok=True)
    with app_server("classroom") as url, browser() as page, \
            tempfile.TemporaryDirectory() as work:
        try:
            walk_lesson(page, url, Path(work))
        finally:
            page.screenshot(path=str(ARTIFACTS / "app.png"))


# ---------------------------------------------------------------------------------------------
# the guide's screenshots
# ---------------------------------------------------------------------------------------------
def _small_png(src: Path, dst: Path) -> None:
    from PIL import Image

    dst.parent.mkdir(parents=True, exist_ok=True)
    im = Image.open(src).convert("RGB")
    im.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
        dst, optimize=True)


def take_screenshots(out: Path) -> list[Path]:
    """The screenshots of docs/TEACHING.md: the lesson walked in the real app at 1280 x 720."""
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.glob("*.png"))
    with app_server("classroom") as url, browser() as page, \
            tempfile.TemporaryDirectory() as work:
        walk_lesson(page, url, Path(work), shots=out)
    return sorted(set(out.glob("*.png")) - before | {p for p in out.glob("*.png")})


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="walk the lesson in the app and take the "
                                 "screenshots of docs/TEACHING.md")
    ap.add_argument("--screenshots", default=str(ROOT / "docs" / "img"), metavar="DIR")
    a = ap.parse_args()
    why = _why_not()
    if why:
        sys.exit(why)
    for p in take_screenshots(Path(a.screenshots)):
        print(p, p.stat().st_size // 1024, "KiB")
