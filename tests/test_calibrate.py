"""militant-sim calibrate: a tiny ABC-SMC calibration (two parameters, a handful of particles,
two generations of one-year runs of the classroom world), its outputs and report, resuming
(after more generations are asked for, and after SIGKILL), a local Dask cluster, an ensemble
drawn from its posterior, and bad calibration files."""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis import calibrate as cb
from sim.analysis.calibrate import CalibrationError, load_calibration, miss, run_calibration

pytest.importorskip("pyabc")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "calibration"
TINY = DATA / "tiny.toml"
MILITANT_SIM = str(Path(sys.executable).parent / "militant-sim")


def _generations(db: Path) -> int:
    """Accepted generations in a history being written; 0 while pyABC has not yet made its
    tables (the file exists before they do)."""
    try:
        return len(_populations(db))
    except (pd.errors.DatabaseError, sqlite3.OperationalError):
        return 0


def _populations(db: Path) -> pd.DataFrame:
    con = sqlite3.connect(db)
    try:
        return pd.read_sql("SELECT t, epsilon, nr_samples FROM populations WHERE t >= 0 "
                           "ORDER BY t", con)
    finally:
        con.close()


def _particles(db: Path, t: int) -> pd.DataFrame:
    """The parameters of generation t's particles, as stored in pyABC's history."""
    con = sqlite3.connect(db)
    try:
        return pd.read_sql(
            "SELECT particles.w, parameters.name, parameters.value FROM parameters "
            "JOIN particles ON parameters.particle_id = particles.id "
            "JOIN models ON particles.model_id = models.id "
            "JOIN populations ON models.population_id = populations.id "
            f"WHERE populations.t = {t} ORDER BY particles.id, parameters.name", con)
    finally:
        con.close()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny calibration, run once: 8 particles, 2 generations, 52 weeks, 1 seed."""
    out = tmp_path_factory.mktemp("cal") / "tiny"
    res = run_calibration(TINY, out, workers=2, progress=False, particles=8, generations=2,
                          draws=3)
    return res


# ---------------------------------------------------------------------------------------------
# The miss of a pattern
# ---------------------------------------------------------------------------------------------
def test_miss_is_zero_inside_the_target_and_counts_target_widths_outside():
    assert miss(5, 3, 12) == 0.0 and miss(3, 3, 12) == 0.0
    assert miss(21, 3, 12) == pytest.approx(1.0)       # one width above
    assert miss(1.5, 3, 12) == pytest.approx(1 / 6)
    assert miss(0, 1, math.inf) == pytest.approx(1.0)  # half open: width max(|1|, 1)
    assert miss(100, -math.inf, 50) == pytest.approx(1.0)
    assert miss(math.inf, 1, math.inf) == 0.0          # never: within an open-ended target
    assert miss(math.inf, 30, 52) == cb.MISS_CAP       # never, where a week was expected
    assert miss(math.nan, 0, 1) == cb.MISS_CAP         # undefined
    assert miss(1e9, 0, 1) == cb.MISS_CAP              # capped


def test_particle_seeds_are_by_construction():
    a = cb.particle_seeds(7, {"clash_kappa": 0.1}, "tiny_world", 3)
    assert a == cb.particle_seeds(7, {"clash_kappa": 0.1}, "tiny_world", 3)
    assert a[:2] == cb.particle_seeds(7, {"clash_kappa": 0.1}, "tiny_world", 2)
    assert a != cb.particle_seeds(7, {"clash_kappa": 0.2}, "tiny_world", 3)
    assert a != cb.particle_seeds(7, {"clash_kappa": 0.1}, "other", 3)
    assert a != cb.particle_seeds(8, {"clash_kappa": 0.1}, "tiny_world", 3)


# ---------------------------------------------------------------------------------------------
# A tiny calibration: outputs, report, resuming
# ---------------------------------------------------------------------------------------------
def test_tiny_calibration_writes_the_posterior_and_its_history(tiny):
    out = tiny.out
    assert tiny.complete and tiny.generations == 2 and tiny.stop == "generations"
    post = pd.read_parquet(out / "posterior.parquet")
    assert len(post) == 8
    assert post["weight"].sum() == pytest.approx(1.0)
    for col in ("clash_kappa", "desert_rate", "weight", "distance",
                "value:tiny_world:clashes_year1", "value:tiny_world:front_fighters",
                "miss:tiny_world:clashes_year1", "miss:tiny_world:front_fighters"):
        assert col in post, col
    assert post["clash_kappa"].between(0, 1).all()
    assert post["desert_rate"].between(0.001, 0.1).all()
    # pyABC sees every parameter on [0, 1] (abc.space "unit"), on the scale its prior is flat
    # on: log10 of the value for a log-uniform prior (here [0.001, 0.1], so 10 ** (2u - 3))
    hist = _particles(out / "abc.db", 1)
    u = hist.loc[hist["name"] == "p01", "value"].to_numpy()
    assert ((u >= 0) & (u <= 1)).all()
    assert np.allclose(np.sort(10.0 ** (2 * u - 3)), np.sort(post["desert_rate"].to_numpy()))
    kappa = hist.loc[hist["name"] == "p00", "value"].to_numpy()  # uniform on [0, 1]: as it is
    assert np.allclose(np.sort(kappa), np.sort(post["clash_kappa"].to_numpy()))
    assert (post["distance"] >= 0).all()
    # a particle's miss is what its value makes of the target
    m = [miss(v, 3, 12) for v in post["value:tiny_world:clashes_year1"]]
    assert np.allclose(post["miss:tiny_world:clashes_year1"], m)
    gen = pd.read_parquet(out / "generations.parquet")
    assert list(gen["generation"]) == [1, 2]
    assert (gen["particles"] == 8).all() and (gen["simulations"] >= 8).all()
    assert np.allclose(gen["acceptance"], gen["particles"] / gen["simulations"])
    # the distance is adaptive (its scales are estimated again each generation), so epsilon
    # is on another scale in each and need not fall; and the multicore sampler accepts the
    # particles that finish first, so the values differ from run to run
    assert (np.isfinite(gen["epsilon"]) & (gen["epsilon"] > 0)).all()
    pops = _populations(out / "abc.db")
    assert list(pops["t"]) == [0, 1]
    assert np.allclose(pops["epsilon"], gen["epsilon"])
    pred = pd.read_parquet(out / "predictive.parquet")
    assert set(pred["pattern"]) == {"clashes_year1", "front_fighters", "rivals_fight"}
    assert pred["draw"].nunique() == 3
    assert not pred.loc[pred["pattern"] == "rivals_fight", "fitted"].any()
    man = json.loads((out / "manifest.json").read_text())
    assert man["kind"] == "calibration" and man["complete"] and man["generations_done"] == 2
    assert man["provenance"]["versions"]["militant-sim"]
    assert [p["name"] for p in man["calibration"]["priors"]] == ["clash_kappa", "desert_rate"]


def test_a_particle_is_reproducible_from_its_values(tiny):
    """Evaluating a posterior particle again gives the values stored with it."""
    cal = load_calibration(TINY)
    post = pd.read_parquet(tiny.out / "posterior.parquet")
    row = post.iloc[0]
    values = {"clash_kappa": float(row["clash_kappa"]), "desert_rate": float(row["desert_rate"])}
    by_s = {"tiny_world": [f.pattern for f in cal.patterns]}
    got = cb.evaluate_particle(values, cal.priors, ["tiny_world"], cal.scenario_files, by_s,
                               cal.seeds, cal.seed, cal.steps)
    for k in ("value:tiny_world:clashes_year1", "value:tiny_world:front_fighters"):
        assert got[k] == row[k]


def test_report_shows_posterior_prior_generations_and_pattern_fits(tiny, tmp_path):
    from sim.analysis.report import report

    rep = report(tiny.out, tmp_path / "rep", formats=("png",))
    assert rep.kind == "calibration"
    names = {f.name for f in rep.figures}
    assert {"generations", "marginals", "pairs", "pattern_fits", "out_of_sample"} <= names
    md = rep.markdown.read_text()
    for text in ("Posterior marginals and priors", "Epsilon and acceptance by generation",
                 "tiny_world:clashes_year1", "3 to 12 clashes", "Out-of-sample",
                 "tiny_world:rivals_fight", "posterior median", "holds in"):
        assert text in md, text
    fits = json.loads((tmp_path / "rep" / "fits.json").read_text())
    assert [r["pattern"] for r in fits["fitted"]] == ["tiny_world:clashes_year1",
                                                      "tiny_world:front_fighters"]


def test_the_report_warns_of_a_posterior_on_few_particles_and_of_failed_draws():
    from sim.analysis.calibration_report import ess_warning, failed_draws_warning

    gen = pd.DataFrame({"particles": [48, 48], "ess": [48.0, 2.6]})
    assert "2.6 of 48 particles" in ess_warning(gen)
    assert ess_warning(gen.assign(ess=[48.0, 30.0])) == ""
    pred = pd.DataFrame({"draw": [0, 0, 0, 1, 1, 1], "scenario": ["a", "a", "b"] * 2,
                         "value": [1.0, 2.0, np.nan, np.nan, np.nan, 3.0]})
    assert "2 of 4 predictive runs" in failed_draws_warning(pred)
    assert failed_draws_warning(pred.fillna(0.0)) == ""


def test_a_failed_particle_misses_every_pattern_and_says_why(capsys):
    cal = load_calibration(TINY)
    by_s = {"tiny_world": [f.pattern for f in cal.patterns]}
    bad = {"clash_kappa": -1.0, "desert_rate": 0.01}  # outside clash_kappa's range
    got = cb.evaluate_particle(bad, cal.priors, ["tiny_world"], cal.scenario_files, by_s,
                               cal.seeds, cal.seed, cal.steps)
    assert got["failed"] == 1.0
    assert got["miss:tiny_world:clashes_year1"] == cb.MISS_CAP
    err = capsys.readouterr().err
    assert "a run of tiny_world failed" in err and "clash_kappa" in err


def test_more_generations_resume_the_same_history(tiny, tmp_path):
    import shutil

    out = tmp_path / "more"
    shutil.copytree(tiny.out, out)
    before = _populations(out / "abc.db")
    first = _particles(out / "abc.db", 0)
    res = run_calibration(TINY, out, workers=2, progress=False, particles=8, generations=3,
                          draws=0)
    assert res.generations == 3 and res.new_generations == 1
    after = _populations(out / "abc.db")
    pd.testing.assert_frame_equal(after.iloc[:2].reset_index(drop=True), before)
    pd.testing.assert_frame_equal(_particles(out / "abc.db", 0), first)
    assert not (out / "predictive.parquet").exists()  # the old check was of another posterior
    # a finished calibration run again does nothing more
    again = run_calibration(TINY, out, workers=2, progress=False, particles=8, generations=3,
                            draws=0)
    assert again.new_generations == 0 and again.generations == 3


def test_a_folder_of_another_calibration_is_refused(tiny, tmp_path):
    import shutil

    out = tmp_path / "other"
    shutil.copytree(tiny.out, out)
    with pytest.raises(CalibrationError, match="holds a different calibration.*seeds"):
        run_calibration(TINY, out, workers=1, progress=False, particles=8, seeds=2)


def test_a_history_is_converted_only_by_the_calibration_that_made_it(tiny, tmp_path):
    """write_outputs reads the history's values back through the priors (log10 for a
    log-uniform one): with a history of another calibration it refuses instead of writing
    wrong values."""
    import dataclasses
    import shutil

    import pyabc

    out = tmp_path / "hist"
    shutil.copytree(tiny.out, out)
    cal = load_calibration(TINY, particles=8, generations=2, draws=3)
    hist = pyabc.History(f"sqlite:///{(out / cb.DB).resolve()}")
    hist.id = 1
    assert cb.history_fingerprint(hist) == cal.fingerprint()
    post = cb.write_outputs(cal, out, 1)
    pd.testing.assert_frame_equal(post, pd.read_parquet(tiny.out / cb.POSTERIOR),
                                  check_exact=True)
    other = dataclasses.replace(cal, seeds=cal.seeds + 1)
    with pytest.raises(CalibrationError, match="made by another calibration"):
        cb.write_outputs(other, out, 1)


def test_an_ensemble_drawn_from_the_posterior(tiny, tmp_path):
    """ensemble = "FOLDER": each replicate's parameters are a particle drawn from the
    posterior (the draw is part of the run's key)."""
    from sim.sweeps.design import load_experiment
    from sim.analysis.report import report
    from sim.sweeps.runner import run_sweep

    exp = {"experiment": {"name": "post_ens", "scenario": str(DATA / "tiny_world.toml"),
                          "steps": 26, "seed": 3, "outcomes": ["clash_rate"],
                          "ensemble": {"posterior": str(tiny.out), "draws": 4}},
           "parameters": {"groups.Caliphate.propaganda": [0.2, 0.9]},
           "hypothesis": {"id": "HP", "outcome": "clash_rate", "expect": "greater",
                          "min_effect": 0.5,
                          "control": {"groups.Caliphate.propaganda": 0.2},
                          "treatment": {"groups.Caliphate.propaganda": 0.9}}}
    e = load_experiment(exp)
    assert e.ensemble.kind == "posterior" and len(e.ensemble.draws) == 4
    assert e.replicates == 4 and e.n_runs == 8
    post = pd.read_parquet(tiny.out / "posterior.parquet")
    for d in e.ensemble.draws:  # every draw is a particle of the posterior
        assert ((post["clash_kappa"] - d["clash_kappa"]).abs() < 1e-12).any()
    res = run_sweep(exp, workers=1, out=tmp_path / "sw", progress=False)
    assert res.complete
    runs = res.runs
    assert sorted(runs["draw"].unique()) == [0, 1, 2, 3]
    rep = report(tmp_path / "sw", tmp_path / "rep", formats=("png",), gof_boot=0)
    assert rep.verdicts[0].ensemble["n"] == 4
    assert "draws from the posterior" in rep.verdicts[0].text()


# ---------------------------------------------------------------------------------------------
# SIGKILL and resume; a local Dask cluster
# ---------------------------------------------------------------------------------------------
def _session_processes(sid: int) -> list[tuple[int, str]]:
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            out.append((int(d.name), cmd))
    return out


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_sigkill_mid_generation_loses_no_accepted_generation(tmp_path):
    out = tmp_path / "killed"
    cmd = [MILITANT_SIM, "calibrate", str(TINY), "--out", str(out), "--workers", "2",
           "--particles", "8", "--generations", "3", "--draws", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / "abc.db").exists() and _generations(out / "abc.db") >= 1 \
                    and len(_session_processes(proc.pid)) >= 3:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the calibration ended before it could be killed"
        time.sleep(1.0)  # well into generation 2
        os.kill(proc.pid, signal.SIGKILL)  # the main process only
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 20
    left = _session_processes(proc.pid)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _session_processes(proc.pid)
    for pid, _ in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left behind: {left}"
    kept = _populations(out / "abc.db")
    assert 1 <= len(kept) < 3
    gen1 = _particles(out / "abc.db", 0)
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr
    assert f"{len(kept)} of at most 3 generations done" in res.stderr
    after = _populations(out / "abc.db")
    assert list(after["t"]) == [0, 1, 2]
    pd.testing.assert_frame_equal(after.iloc[:len(kept)].reset_index(drop=True), kept)
    pd.testing.assert_frame_equal(_particles(out / "abc.db", 0), gen1)
    assert len(pd.read_parquet(out / "posterior.parquet")) == 8


@pytest.mark.slow
def test_a_local_dask_cluster_calibrates_as_local_processes_do(tmp_path):
    pytest.importorskip("distributed")
    res = run_calibration(TINY, tmp_path / "dask", dask="local", workers=2, progress=False,
                          particles=4, generations=2, draws=0)
    assert res.complete and res.generations == 2
    man = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert man["sessions"][-1]["engine"] == "local Dask cluster of 2 workers"
    post = pd.read_parquet(tmp_path / "dask" / "posterior.parquet")
    assert len(post) == 4 and post["weight"].sum() == pytest.approx(1.0)
    assert list(pd.read_parquet(tmp_path / "dask" / "generations.parquet")["generation"]) == [1, 2]


# ---------------------------------------------------------------------------------------------
# Bad calibration files: one message naming the file, the key, the value and what is allowed
# ---------------------------------------------------------------------------------------------
def _base() -> dict:
    return {"calibration": {"name": "bad", "seeds": 1, "steps": 52},
            "parameters": {"clash_kappa": {"low": 0.0, "high": 1.0}},
            "scenarios": {"classroom": {"patterns": "all"}}}


def _with(path: str, value) -> dict:
    d = _base()
    keys = path.split("/")
    cur = d
    for k in keys[:-1]:
        cur = cur.setdefault(k, {})
    if value is _DEL:
        del cur[keys[-1]]
    else:
        cur[keys[-1]] = value
    return d


_DEL = object()
BAD = [
    (_with("calibration/seedz", 1), "calibration.seedz: unknown key; allowed: did you mean seed or seeds?"),
    (_with("calibration/seeds", 0), "calibration.seeds: must be a whole number >= 1"),
    (_with("calibration/name", "no spaces"), "calibration.name: must be a short name"),
    (_with("scenarios", _DEL), "scenarios: missing or empty"),
    (_with("scenarios/nowhere", {}), "scenarios.nowhere: unknown or invalid scenario"),
    (_with("scenarios/classroom/patterns", {"rivals_fihgt": 1}),
     "scenarios.classroom.patterns.rivals_fihgt: not a pattern of scenario classroom"),
    (_with("scenarios/classroom/patterns", {"rivals_fight": -1}),
     "scenarios.classroom.patterns.rivals_fight: must be > 0"),
    (_with("scenarios/classroom/patterns", 3), "scenarios.classroom.patterns: must be \"all\""),
    (_with("parameters/clash_kapa", {}), "parameters.\"clash_kapa\": unknown parameter"),
    (_with("parameters/clash_kappa", {"low": 0.5, "high": 0.1}), "low must be below high"),
    (_with("parameters/clash_kappa", {"low": -1.0, "high": 0.1}),
     "the prior reaches outside the parameter's range (given: [-1.0, 0.1]); allowed: within "
     "[0, 10]"),
    (_with("parameters/clash_kappa", {"prior": "normal"}),
     "parameters.\"clash_kappa\".prior: unknown prior (given: 'normal'); allowed: uniform, "
     "loguniform"),
    (_with("parameters/clash_kappa", {"prior": "loguniform", "low": 0.0, "high": 1.0}),
     "a log-uniform prior needs low > 0"),
    (_with("parameters/clash_kappa", 0.1), "parameters.\"clash_kappa\": must be a table"),
    (_with("parameters/steps", {}), "parameters.\"steps\": cannot be calibrated"),
    (_with("parameters", {}), "parameters: no parameter to fit"),
    (_with("scenarios/classroom/parameters", {"clash_kappa": {}}), "is also a shared parameter"),
    (_with("scenarios/classroom/parameters", {"groups.Nobody.claim": {}}),
     "rejected by scenario classroom"),
    (_with("abc/particles", 1), "abc.particles: must be a whole number >= 2"),
    (_with("abc/epsilon_quantile", 1.5), "abc.epsilon_quantile: must lie between 0 and 1"),
    (_with("abc/scale", "iqr"), "abc.scale: unknown scale function (given: 'iqr'); allowed: "
                                "rmsd, mad, std"),
    (_with("abc/p", 0.5), "abc.p: must be >= 1"),
    (_with("abc/space", "natural"), "abc.space: unknown scale for pyABC's parameters (given: "
                                    "'natural'); allowed: 'unit'"),
    (_with("abc/population", 5), "abc.population: unknown key"),
    (_with("check/classroom", ["rivals_fight"]), "check.classroom.rivals_fight: is also fitted"),
    (_with("predictive/draws", -1), "predictive.draws: must be a whole number >= 0"),
    (_with("extra", {}), "extra: unknown key"),
]


@pytest.mark.parametrize("data,message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_calibration_files_name_the_key_the_value_and_what_is_allowed(data, message):
    with pytest.raises(CalibrationError) as err:
        load_calibration(data)
    assert message in str(err.value), str(err.value)
    assert str(err.value).startswith("<calibration>: ")


def test_a_bad_file_on_the_command_line_is_one_message_and_exit_2(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("[calibration]\nseeds = 2\n[parameters]\nclash_kappa = { low = 0.0, high = "
                 "20.0 }\n[scenarios.classroom]\npatterns = \"all\"\n")
    res = subprocess.run([MILITANT_SIM, "calibrate", str(f), "--dry-run"], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"militant-sim: error: {f}: parameters.\"clash_kappa\": the "
                               "prior reaches outside the parameter's range")
    f.write_text("[calibration\n")
    res = subprocess.run([MILITANT_SIM, "calibrate", str(f)], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 2 and str(f) in res.stderr and "Traceback" not in res.stderr
    res = subprocess.run([MILITANT_SIM, "calibrate", "no_such_calibration"], capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 2 and "no_such_calibration" in res.stderr


def test_the_shipped_calibration_parses_and_dry_runs():
    cal = load_calibration(ROOT / "calibrations" / "core.toml")
    assert cal.name == "core" and set(cal.scenarios) == {"syria_2013", "sahel_2019"}
    assert cal.checks and {f.scenario for f in cal.checks} == {"idlib_2020"}
    assert cal.fingerprint() == load_calibration("core").fingerprint()
    res = subprocess.run([MILITANT_SIM, "calibrate", "core", "--dry-run"], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert "syria_2013" in res.stdout and "check idlib_2020:had_to_isis" in res.stdout


@pytest.mark.parametrize("name, scenarios", [("syria_territory", {"syria_2013"}),
                                             ("crowding_clashes", {"syria_2013", "sahel_2019"}),
                                             ("crowding_wide", {"syria_2013", "sahel_2019"})])
def test_a_kept_calibration_is_what_its_file_and_the_model_give_now(name, scenarios):
    """calibrations/NAME/ (kept in the repository: syria_territory, crowding_clashes and
    crowding_wide, docs/ODD.md section 10, items 6 and 10) was made from the file as it is, and
    its heaviest particle, evaluated again from its values on each scenario, gives its stored
    values."""
    folder = ROOT / "calibrations" / name
    cal = load_calibration(ROOT / "calibrations" / f"{name}.toml")
    man = json.loads((folder / "manifest.json").read_text())
    assert man["complete"] and man["fingerprint"] == cal.fingerprint(), (
        "the kept calibration is of another file or scenario; run "
        f"`militant-sim calibrate calibrations/{name}.toml` again")
    assert set(cal.scenarios) == scenarios
    post = pd.read_parquet(folder / "posterior.parquet")
    row = post.sort_values("weight").iloc[-1]
    values = {p.name: float(row[p.name]) for p in cal.priors}
    by_s = {s: [f.pattern for f in cal.patterns if f.scenario == s] for s in cal.scenarios}
    got = cb.evaluate_particle(values, cal.priors, list(cal.scenarios), cal.scenario_files,
                               by_s, cal.seeds, cal.seed, cal.steps)
    for f in cal.patterns:
        k = f"value:{f.name}"
        assert got[k] == row[k] or (math.isnan(got[k]) and math.isnan(row[k])), k


def test_the_two_scales_pyabc_may_see_give_the_same_values_and_fingerprints_differ():
    cal = load_calibration(TINY)
    kappa, desert = cal.priors          # uniform [0, 1]; log-uniform [0.001, 0.1]
    assert cb.from_abc(desert, 0.5, "unit") == pytest.approx(0.01)   # the geometric middle
    assert cb.from_abc(desert, 0.0, "unit") == pytest.approx(0.001)
    assert cb.from_abc(desert, -2.0, "log10") == pytest.approx(0.01)
    assert cb.from_abc(kappa, 0.25, "unit") == cb.from_abc(kappa, 0.25, "log10") == 0.25
    old = load_calibration(_with("abc/space", "log10"))
    assert old.fingerprint() != cal.fingerprint()   # a history is read on the scale it was made


def test_on_the_unit_scale_pyabc_kernel_is_not_singular_where_on_the_natural_it_is():
    """pyABC issue #614 as calibrations/crowding_clashes.toml met it: accepted particles with
    levy_rate within [0, 0.0001] next to w_crowd over [0, 10] make the covariance of pyABC's
    kernel singular to scipy on the natural scale, so many of the kernel's own proposals have
    density 0 (an infinite weight); on [0, 1] each all have a density."""
    from pyabc.transition import MultivariateNormalTransition

    cal = load_calibration(ROOT / "calibrations" / "crowding_clashes.toml")
    names = [p.name for p in cal.priors]
    assert names[0] == "w_crowd" and names[-1] == "levy_rate"
    rng = np.random.default_rng(7)
    n = 48
    natural = {}
    for p in cal.priors:
        hi = 0.0001 if p.name == "levy_rate" else p.high
        lo = p.low
        if p.prior == "loguniform":
            natural[p.name] = 10.0 ** rng.uniform(np.log10(lo), np.log10(hi), n)
        else:
            natural[p.name] = rng.uniform(lo, hi, n)
    zeros = {}
    for space in ("log10", "unit"):
        seen = pd.DataFrame({f"p{i:02d}": _to_space(p, natural[p.name], space)
                             for i, p in enumerate(cal.priors)})
        kernel = MultivariateNormalTransition()
        kernel.fit(seen, np.full(n, 1.0 / n))
        draws = seen.to_numpy() + rng.multivariate_normal(np.zeros(len(names)), kernel.cov, n)
        zeros[space] = int(sum(kernel.pdf(pd.Series(d, index=seen.columns)) == 0
                               for d in draws))
    # one proposal of density 0 is enough to stop a generation; here about half are
    assert zeros["log10"] >= n // 4 and zeros["unit"] == 0, zeros


def _to_space(p, x, space):
    v = np.log10(x) if p.prior == "loguniform" else np.asarray(x, dtype=float)
    if space == "log10":
        return v
    lo, hi = (np.log10(p.low), np.log10(p.high)) if p.prior == "loguniform" else (p.low, p.high)
    return (v - lo) / (hi - lo)


def test_an_earlier_stop_holds_only_while_its_setting_is_unchanged():
    cal = load_calibration(TINY)
    old = {"stop": "min_acceptance", "calibration": {"abc": dict(cal.abc)}}
    assert cb._still_stopped(old, cal, 1) == "min_acceptance"
    old["calibration"]["abc"]["min_acceptance"] = 0.5  # asked for less now: go on
    assert cb._still_stopped(old, cal, 1) is None
    assert cb._still_stopped(None, cal, 0) is None
    assert cb._still_stopped(None, cal, cal.abc["generations"]) == "generations"


def test_a_generation_pyabc_cannot_weight_is_a_clear_error_that_keeps_the_history(tmp_path,
                                                                                   monkeypatch):
    """pyABC raises an AssertionError when a proposed particle's transition density is zero
    (its weight infinite, pyABC issue #614); the calibration says so, names the generations
    kept and how to write them out, instead of a traceback."""
    def fail(*args, **kwargs):
        raise AssertionError("The population total weight nan is not normalized.")

    monkeypatch.setattr(cb, "_generations", fail)
    with pytest.raises(cb.CalibrationError) as err:
        run_calibration(TINY, tmp_path / "out", workers=1, progress=False, particles=4,
                        generations=2, seeds=1)
    text = str(err.value)
    assert "pyABC could not weight generation 1" in text and "--generations 0" in text
    assert (tmp_path / "out" / "abc.db").is_file()
