"""The ``militant-sim run`` command: its outputs, its message, and no complete-looking output
when a run fails."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from pandas.testing import assert_frame_equal

import sim
from sim import cli
from sim.core import rules
from sim.core.record import RunResult

OUTPUTS = ("steps.parquet", "events.parquet", "maps.npz", "summary.json", "dashboard.png")


def _militant_sim() -> list[str]:
    exe = Path(sys.executable).with_name("militant-sim")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "sim.cli"]


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "classroom-out"
    proc = subprocess.run(_militant_sim() + ["run", "classroom", "--steps", "20", "--seed", "1",
                                             "--out", str(out)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return proc, out


def test_run_writes_the_outputs_and_says_where(cli_run):
    proc, out = cli_run
    assert proc.returncode == 0, proc.stderr
    for name in OUTPUTS:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert str(out) in proc.stdout
    assert "Traceback" not in proc.stderr
    # stderr is not a terminal here: no progress bar
    assert "%|" not in proc.stderr and "\r" not in proc.stderr


def test_run_outputs_are_the_run_asked_for(cli_run):
    _, out = cli_run
    res = RunResult.load(out)
    assert res.summary["scenario"] == "classroom"
    assert res.summary["weeks"] == 20 and res.summary["seed"] == 1
    assert res.steps["week"].tolist() == list(range(21))
    prov = res.summary["provenance"]
    assert prov["seed"] == 1 and prov["version"] == sim.__version__
    assert prov["params"]["steps"] > 0 and "clash_kappa" in prov["params"]
    assert "git_commit" in prov
    # the command and the Python API give the same run
    api = sim.run("classroom", steps=20, seed=1)
    assert_frame_equal(res.steps, api.steps)
    assert_frame_equal(res.events, api.events)
    assert json.loads((out / "summary.json").read_text())["final_fighters"] == \
        api.summary["final_fighters"]


def test_dashboard_is_a_real_figure(cli_run):
    _, out = cli_run
    w, h = _png_size(out / "dashboard.png")
    assert w >= 800 and h >= 500, (w, h)


def test_run_in_process_prints_where_the_outputs_are(tmp_path, capsys):
    out = tmp_path / "quiet"
    assert cli.main(["run", "classroom", "--steps", "3", "--seed", "2", "--out", str(out),
                     "--quiet", "--no-dashboard"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == str(out)
    assert (out / "summary.json").is_file() and not (out / "dashboard.png").exists()


def test_set_overrides_reach_the_model(tmp_path):
    out = tmp_path / "set"
    assert cli.main(["run", "classroom", "--steps", "2", "--seed", "2", "--out", str(out),
                     "--no-dashboard", "--quiet", "--set", "clash_kappa=0.5",
                     "--set", "groups.Caliphate.claim=0.25"]) == 0
    res = RunResult.load(out)
    assert res.summary["provenance"]["params"]["clash_kappa"] == 0.5
    assert res.steps["claim.Caliphate"].iloc[0] == 0.25


def _fail_at_week(monkeypatch, week, rule="operate"):
    real = getattr(rules, rule)

    def broken(m):
        if m.week == week:
            raise RuntimeError(f"simulated failure at week {week}")
        return real(m)

    monkeypatch.setattr(rules, rule, broken)


def test_run_failing_midway_leaves_no_summary(tmp_path, monkeypatch):
    out = tmp_path / "broken"
    _fail_at_week(monkeypatch, 5)
    with pytest.raises(RuntimeError, match="week 5"):
        cli.main(["run", "classroom", "--steps", "20", "--seed", "1", "--out", str(out)])
    assert not (out / "summary.json").exists()


def test_rerun_failing_midway_does_not_leave_a_new_looking_summary(tmp_path, monkeypatch):
    out = tmp_path / "again"
    assert cli.main(["run", "classroom", "--steps", "3", "--seed", "1", "--out", str(out),
                     "--no-dashboard", "--quiet"]) == 0
    old = (out / "summary.json").read_text()
    _fail_at_week(monkeypatch, 2)
    with pytest.raises(RuntimeError):
        cli.main(["run", "classroom", "--steps", "10", "--seed", "9", "--out", str(out),
                  "--no-dashboard", "--quiet", "--force"])
    # either no summary, or the earlier complete run untouched: never the failed run's
    summary = out / "summary.json"
    assert not summary.exists() or summary.read_text() == old


def test_dashboard_failure_leaves_no_summary(tmp_path, monkeypatch):
    """summary.json marks a complete output folder, dashboard included: if drawing the
    dashboard fails, the folder must not look complete."""
    import sim.analysis.charts

    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure while drawing")

    monkeypatch.setattr(sim.analysis.charts, "dashboard", broken)
    out = tmp_path / "nodash"
    with pytest.raises(RuntimeError, match="drawing"):
        cli.main(["run", "classroom", "--steps", "3", "--seed", "1", "--out", str(out)])
    assert not (out / "summary.json").exists()


def test_run_animate_writes_an_animated_gif(tmp_path):
    from PIL import Image

    out = tmp_path / "anim"
    assert cli.main(["run", "classroom", "--steps", "6", "--seed", "1", "--out", str(out),
                     "--quiet", "--no-dashboard", "--animate"]) == 0
    with Image.open(out / "animation.gif") as gif:
        assert gif.n_frames >= 6  # one frame a week at least for a short run
        first = gif.convert("RGB").getcolors(1 << 16)
    assert first is not None and len(first) > 5  # a drawn map, not a blank frame


def test_a_run_says_when_the_kernels_are_about_to_be_compiled(monkeypatch, capsys):
    from sim.cli.main import note_compiling
    from sim.core import kernels

    monkeypatch.setattr(kernels, "uncached", lambda: ["move"])
    note_compiling()
    assert "compiling the model's kernels" in capsys.readouterr().err
    note_compiling(quiet=True)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(kernels, "uncached", lambda: [])
    note_compiling()
    assert capsys.readouterr().err == ""


def test_the_kernels_every_run_calls_are_found_uncached_in_an_empty_cache(tmp_path):
    # a week compiles (or loads) each of them; an empty cache holds none of them
    m = sim.MilitantModel("classroom", rng=1)
    m.step()
    from sim.core import kernels

    assert all(getattr(kernels, name).signatures for name in kernels.EVERY_RUN)
    code = "from sim.core import kernels; print(','.join(kernels.uncached()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}, check=True)
    assert out.stdout.strip().split(",") == list(kernels.EVERY_RUN)
