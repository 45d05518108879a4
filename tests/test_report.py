"""``militant-sim report`` and ``animate`` on a small real run and on synthetic sweep folders
built here by the layout of docs/SWEEPS.md (so these tests do not need a sweep to run)."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pandas as pd
import pytest

import sim
from sim.analysis import report as rp
from sim.analysis import stats as st
from sim.cli import main

CLAIM = "groups.Caliphate.claim"
KAPPA = "clash_kappa"
OUT_EFFECT = "net_defections_per_1000:Front>Caliphate"
OUT_NULL = "truce_share:Caliphate|Front"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    sim.run("classroom", steps=30, seed=5).save(d)
    return d


def embedded_charts(html_text: str) -> set[str]:
    return set(re.findall(r'data-chart="([^"]+)"', html_text))


def assert_embeds_every_chart(rep: rp.Report) -> str:
    text = rep.html.read_text()
    assert embedded_charts(text) == {f.name for f in rep.figures}
    for f in rep.figures:
        assert f.png.is_file() and f.png.stat().st_size > 5000
        b64 = base64.b64encode(f.png.read_bytes()).decode()
        assert b64[:200] in text, f"{f.name} is not embedded"
    md = rep.markdown.read_text()
    for f in rep.figures:
        assert f"]({f.png.name})" in md
    return text


# ---------------------------------------------------------------------------------------------
# run reports
# ---------------------------------------------------------------------------------------------
def test_run_report_embeds_every_chart(run_dir):
    rep = rp.report(run_dir, weeks=[0, 15, 30])
    assert rep.kind == "run" and rep.out == run_dir / "report"
    text = assert_embeds_every_chart(rep)
    names = {f.name for f in rep.figures}
    assert {"control_maps", "fighters", "territory", "clashes", "defections", "relations",
            "defection_matrix"} <= names
    for f in rep.figures:
        assert f.png.with_suffix(".svg").is_file()
    assert "week 15" in text and "classroom" in text


def test_report_command_for_a_run(run_dir, tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["report", str(run_dir), "--out", str(out), "--format", "png"]) == 0
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    assert not list(out.glob("*.svg"))
    assert "run report" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--weeks", "0,99"], "outside this run"),
    (["--weeks", "zero"], "whole numbers"),
    (["--format", "gif"], "unknown format"),
])
def test_report_bad_options_exit_2(run_dir, tmp_path, capsys, args, message):
    assert main(["report", str(run_dir), "--out", str(tmp_path / "r"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_report_of_a_folder_that_is_neither(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "neither a finished run" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_animate_command(run_dir, tmp_path, capsys):
    out = tmp_path / "a.gif"
    assert main(["animate", str(run_dir), "--out", str(out), "--every", "10", "--dpi", "40"]) == 0
    assert out.is_file() and out.read_bytes()[:3] == b"GIF"
    assert main(["animate", str(run_dir), "--out", str(tmp_path / "a.avi")]) == 2
    assert ".gif or .mp4" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# synthetic sweeps
# ---------------------------------------------------------------------------------------------
#: the ablations of H9 in make_sweep(ablations=True): the first removes the effect, the second
#: leaves it (a bug the report must flag)
ABLATIONS = [("no_drive", {"defect_epsilon": 0.0}, "defection drives it", 0.0),
             ("no_tension", {"tension_decay": 0.0}, "tension carries it", 1.0)]


def make_sweep(path, *, replicates=8, effect=12.0, seed=7, hypothesis=True, frames=True,
               ablations=False, min_effect=5.0):
    """A grid sweep over the claim (3 values) and clash_kappa (2 values) in which the first
    outcome rises with the claim by ``effect`` (from claim 0 to 1) and the second does not.

    With ``ablations``, H9 has the two ABLATIONS: points 6 to 13 are the control and treatment
    points again with each ablation's set applied; under the first the effect is gone, under
    the second it is as large as without the ablation."""
    rng = np.random.default_rng(seed)
    claims, kappas = [0.0, 0.5, 1.0], [0.01, 0.05]
    points = [(c, k, None, 1.0) for c in claims for k in kappas]
    abl_points, abl_ids = [], {}
    if ablations:
        for name, _, _, keep in ABLATIONS:
            for side, cv in (("control", 0.0), ("treatment", 1.0)):
                for k in kappas:
                    abl_ids.setdefault((name, side), []).append(len(points))
                    abl_points.append({"point_id": len(points), "ablation": f"H9:{name}",
                                       "base_point": points.index((cv, k, None, 1.0))})
                    points.append((cv, k, name, keep))
    rows, series, truces, clashes = [], [], [], []
    for pid, (c, k, abl, keep) in enumerate(points):
        for r in range(replicates):
            rid = f"{pid:016x}-r{r:03d}"
            rows.append({"run_id": rid, "point_id": pid, "replicate": r, "seed": 1000 + r,
                         CLAIM: c, KAPPA: k,
                         OUT_EFFECT: keep * effect * c + rng.normal(0, 2.0),
                         OUT_NULL: 0.3 + rng.normal(0, 0.05),
                         "status": "ok", "wall_seconds": 1.0})
            weeks = np.arange(0, 105, 4)
            series.append(pd.DataFrame({
                "run_id": rid, "point_id": pid, "replicate": r, "week": weeks,
                "fighters.Caliphate": 150 + weeks * (1 + c) + rng.normal(0, 5, len(weeks)),
                "fighters.Front": 150 + weeks * 2 + rng.normal(0, 5, len(weeks)),
                "relation.Caliphate|Front": (weeks > 50).astype(int)}))
            d = rng.exponential(30) + 1
            truces.append({"run_id": rid, "point_id": pid, "replicate": r,
                           "pair": "Caliphate|Front", "start": 10, "end": int(10 + d),
                           "duration": int(round(d)), "censored": bool(d > 80),
                           "ended_by": "" if d > 80 else "war"})
            sizes = st.sample_power_law(rng, 2.5, 1, 40, discrete=True)
            clashes.append(pd.DataFrame({"run_id": rid, "point_id": pid, "replicate": r,
                                         "week": rng.integers(0, 104, 40), "size": sizes}))
    runs = pd.DataFrame(rows)
    # one failed run, which the report lists and leaves out
    runs.loc[len(runs)] = {**rows[0], "run_id": "ffff-r999", "replicate": 999,
                           OUT_EFFECT: np.nan, OUT_NULL: np.nan, "status": "failed"}
    hyp = None
    if hypothesis:
        hyp = {"id": "H9", "statement": "The claim drives defections to the claimant.",
               "outcome": OUT_EFFECT, "control": {CLAIM: 0.0}, "treatment": {CLAIM: 1.0},
               "expect": "greater",
               **({"min_effect": min_effect} if min_effect is not None else {}),
               "control_point_ids": [i for i, p in enumerate(points)
                                     if p[0] == 0.0 and p[2] is None],
               "treatment_point_ids": [i for i, p in enumerate(points)
                                       if p[0] == 1.0 and p[2] is None],
               "ablation": [{"name": name, "set": st_, "carries": carries,
                             "control_point_ids": abl_ids[(name, "control")],
                             "treatment_point_ids": abl_ids[(name, "treatment")]}
                            for name, st_, carries, _ in ABLATIONS] if ablations else [],
               "also": [{"statement": "The claim does not change truces.",
                         "outcome": OUT_NULL, "control": {CLAIM: 0.0},
                         "treatment": {CLAIM: 1.0}, "expect": "greater",
                         "min_effect": 0.1}]}
    manifest = {
        "format": "militant-sim sweep 1", "complete": True, "name": "synthetic",
        "experiment": {
            "name": "synthetic", "description": "A synthetic sweep with a known answer.",
            "scenario": "classroom", "groups": ["Caliphate", "Front"], "steps": 104,
            "replicates": replicates, "seed": seed, "collect_every": 4,
            "outcomes": [OUT_EFFECT, OUT_NULL], "constants": {"defect_epsilon": 0.01},
            "parameters": {CLAIM: {"values": claims}, KAPPA: {"values": kappas}},
            "design": {"kind": "grid", "points": 6}, "problem": None,
            "points": len(points), "hypothesis": hyp, "ablation_points": abl_points},
        "provenance": {"versions": {"militant-sim": sim.__version__}, "git": None},
        "failures": [{"run_id": "ffff-r999", "error": "synthetic failure"}],
    }
    path.mkdir(parents=True, exist_ok=True)
    (path / "manifest.json").write_text(json.dumps(manifest))
    runs.to_parquet(path / "runs.parquet", index=False)
    if frames:
        pd.concat(series).to_parquet(path / "series.parquet", index=False)
        pd.DataFrame(truces).to_parquet(path / "truces.parquet", index=False)
        pd.concat(clashes).to_parquet(path / "clashes.parquet", index=False)
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A synthetic sweep reported once through the command line: (folder, stdout)."""
    import contextlib
    import io

    d = make_sweep(tmp_path_factory.mktemp("sweep") / "sw")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["report", str(d), "--format", "png"]) == 0
    return d, buf.getvalue()


def test_sweep_report_finds_the_known_effect(built):
    d, out = built
    lines = [l for l in out.splitlines() if l.startswith("H9")]
    assert len(lines) == 2
    assert lines[0].startswith("H9: SUPPORTED")
    assert lines[1].startswith("H9.a: NOT SUPPORTED")
    text = (d / "report" / "report.html").read_text()
    assert 'H9: <span class="verdict-supported">SUPPORTED</span>' in text
    assert 'class="verdict-not-supported">NOT SUPPORTED' in text  # the verdict table
    charts_in = embedded_charts(text)
    assert {"hypothesis_H9", "hypothesis_H9_a", "truce_endings", "clash_sizes_ccdf",
            "series_fighters", "series_relation"} <= charts_in
    assert any(c.startswith("heatmap_") for c in charts_in)
    assert any(c.startswith("outcome_") for c in charts_in)
    assert "Failed runs" in text and "synthetic failure" not in text


def test_sweep_report_embeds_every_chart(built):
    d, _ = built
    html = (d / "report" / "report.html").read_text()
    pngs = sorted((d / "report").glob("*.png"))
    assert embedded_charts(html) == {p.stem for p in pngs}
    for p in pngs:
        assert base64.b64encode(p.read_bytes()).decode()[:200] in html
    md = (d / "report" / "report.md").read_text()
    assert all(f"]({p.name})" in md for p in pngs)


def test_sweep_effect_size(tmp_path):
    sw = rp.load_sweep(make_sweep(tmp_path / "sw"))
    v = {x.id: x for x, _, _ in rp.evaluate(sw, n_boot=2000)}
    assert v["H9"].effect == pytest.approx(12.0, abs=2.5)
    assert v["H9"].n_control == v["H9"].n_treatment == 16  # 2 kappa values x 8 replicates


def test_verdicts_are_reproducible(tmp_path):
    sw = rp.load_sweep(make_sweep(tmp_path / "sw"))
    a = [v.line() for v, _, _ in rp.evaluate(sw, n_boot=2000)]
    b = [v.line() for v, _, _ in rp.evaluate(sw, n_boot=2000)]
    assert a == b


def test_no_effect_is_refuted(tmp_path):
    # 60 runs per condition, SD 2, min_effect 5: the rule can say "not supported" (the old
    # rule could only say "not supported or inconclusive" here)
    sw = rp.load_sweep(make_sweep(tmp_path / "sw", effect=0.0, replicates=30))
    verdicts = {v.id: v for v, _, _ in rp.evaluate(sw, n_boot=2000)}
    assert verdicts["H9"].verdict == st.NOT_SUPPORTED
    assert verdicts["H9"].p_refute_adjusted < 0.05 <= verdicts["H9"].p_adjusted


def test_too_few_replicates_is_inconclusive(tmp_path):
    sw = rp.load_sweep(make_sweep(tmp_path / "sw", replicates=1))
    verdicts = {v.id: v for v, _, _ in rp.evaluate(sw, n_boot=1000)}
    assert verdicts["H9"].verdict == st.INCONCLUSIVE  # 2 values per condition


def test_hypothesis_matched_by_values_without_point_ids(tmp_path):
    d = make_sweep(tmp_path / "sw")
    m = json.loads((d / "manifest.json").read_text())
    del m["experiment"]["hypothesis"]["control_point_ids"]
    del m["experiment"]["hypothesis"]["treatment_point_ids"]
    (d / "manifest.json").write_text(json.dumps(m))
    v = rp.evaluate(rp.load_sweep(d), n_boot=1000)[0][0]
    assert v.verdict == st.SUPPORTED and v.n_control == 16


def test_sweep_without_hypothesis_has_no_verdicts(tmp_path, capsys):
    d = make_sweep(tmp_path / "sw", hypothesis=False, frames=False)
    assert main(["report", str(d), "--format", "png", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    text = (d / "report" / "report.html").read_text()
    assert "no truces.parquet" in text and "Hypotheses" not in text


def test_sobol_sweep_gets_sensitivity_charts(tmp_path):
    from SALib.sample import sobol

    problem = {"num_vars": 3, "names": ["clash_kappa", "defect_epsilon", "desert_rate"],
               "bounds": [[0, 1], [0, 1], [0, 1]]}
    X = sobol.sample(problem, 32, calc_second_order=False, seed=1)
    y = 4 * X[:, 0] + 2 * X[:, 1]
    runs = pd.DataFrame(X, columns=problem["names"])
    runs.insert(0, "point_id", np.arange(len(X)))
    runs.insert(0, "run_id", [f"p{i}-r000" for i in range(len(X))])
    runs["replicate"], runs["seed"], runs["clash_rate"] = 0, 1, y
    runs["status"], runs["wall_seconds"] = "ok", 1.0
    d = tmp_path / "sobol"
    d.mkdir()
    runs.to_parquet(d / "runs.parquet", index=False)
    (d / "manifest.json").write_text(json.dumps({"complete": True, "experiment": {
        "name": "sobol_test", "scenario": "classroom", "replicates": 1, "seed": 3,
        "outcomes": ["clash_rate"],
        "parameters": {k: {"low": 0, "high": 1} for k in problem["names"]},
        "design": {"kind": "sobol", "samples": 32, "second_order": False,
                   "points": len(X)}, "problem": problem}}))
    rep = rp.report(d, formats=("png",))
    assert "sobol_clash_rate" in {f.name for f in rep.figures}
    md = rep.markdown.read_text()
    row = next(l for l in md.splitlines() if l.startswith("| clash_rate | clash_kappa"))
    s1 = float(row.split("|")[3])
    assert s1 == pytest.approx(0.8, abs=0.15)


# ---------------------------------------------------------------------------------------------
# ablations, multiple comparisons, constant outcomes, print layout
# ---------------------------------------------------------------------------------------------
def test_ablations_attribute_the_mechanism_and_flag_a_surviving_effect(tmp_path, capsys):
    d = make_sweep(tmp_path / "sw", ablations=True, replicates=10)
    sw = rp.load_sweep(d)
    assert set(sw.ablation_points) == set(range(6, 14))
    assert sw.runs["point_id"].max() == 5  # the design's runs; ablation runs kept apart
    v = {x.id: x for x, _, _ in rp.evaluate(sw, n_boot=500)}["H9"]
    assert v.verdict == st.SUPPORTED
    ab = {a.ablation: a for a in v.ablations}
    assert ab["no_drive"].verdict == st.NOT_SUPPORTED
    assert ab["no_drive"].attribution == "removes"
    assert "ablation removes it" in ab["no_drive"].attribution_text
    assert ab["no_tension"].verdict == st.SUPPORTED
    assert ab["no_tension"].attribution == "survives"
    assert "bug in the model or the experiment" in ab["no_tension"].attribution_text
    # the ablated contrasts use only the ablation points
    assert ab["no_drive"].n_control == ab["no_drive"].n_treatment == 20
    assert main(["report", str(d), "--format", "png", "--quiet", "--gof", "0"]) == 0
    out = capsys.readouterr().out
    assert "ablation no_drive: the effect disappears when 'no_drive'" in " ".join(out.split())
    assert all(len(line) <= 100 for line in out.splitlines()), "verdict lines wrap"
    text = (d / "report" / "report.html").read_text()
    assert '<li class="warn">' in text and "survives ablation" in text
    # ablation points appear in the per-point table, marked
    md = (d / "report" / "report.md").read_text()
    assert "**H9:no_drive**" in md and "**H9:no_tension**" in md
    assert "H9 ablation **no_tension**" in md


def test_holm_correction_across_the_hypotheses_of_a_sweep(tmp_path):
    sw = rp.load_sweep(make_sweep(tmp_path / "sw"))
    raw = {v.id: v for v, _, _ in rp.evaluate(sw, n_boot=0, adjust="none")}
    holm = {v.id: v for v, _, _ in rp.evaluate(sw, n_boot=0)}
    ps = sorted((raw[k].p_value, k) for k in raw)
    # Holm on two p-values: the smaller is doubled, the larger kept (but not below the first)
    (p1, k1), (p2, k2) = ps
    assert holm[k1].p_adjusted == pytest.approx(min(1, 2 * p1))
    assert holm[k2].p_adjusted == pytest.approx(max(min(1, 2 * p1), p2))
    assert all(v.family_size == 2 and v.adjust_method == "holm" for v in holm.values())
    assert "Holm p" in holm["H9"].line()


def test_constant_outcomes_are_set_by_the_rules_not_supported(tmp_path):
    d = make_sweep(tmp_path / "sw")
    runs = pd.read_parquet(d / "runs.parquet")
    runs[OUT_EFFECT] = np.where(runs[CLAIM] == 1.0, 1.0, 0.0)   # decided by the rules
    runs.to_parquet(d / "runs.parquet", index=False)
    v = rp.evaluate(rp.load_sweep(d), n_boot=0)[0][0]
    assert v.verdict == st.SET_BY_RULES and v.effect == 1.0
    assert "not a statistical result" in v.reason and not np.isfinite(v.p_value)
    assert v.family_size == 1  # no test, so not part of the family


def test_missing_min_effect_is_named(tmp_path):
    d = make_sweep(tmp_path / "sw", min_effect=None)
    v = rp.evaluate(rp.load_sweep(d), n_boot=0)[0][0]
    assert v.verdict == st.INCONCLUSIVE and "min_effect is required" in v.reason


def test_report_prints_on_a4(built):
    d, _ = built
    text = (d / "report" / "report.html").read_text()
    assert "@media print" in text and "size:A4" in text
    assert 'class="verdict"' in text and "pre-wrap" in text


def test_clash_fit_states_decades_and_a_verdict(built):
    d, _ = built
    md = (d / "report" / "report.md").read_text()
    header = next(ln for ln in md.splitlines() if ln.startswith("| sample |"))
    assert "| decades |" in header and "| R vs lognormal |" in header
    assert "Clash sizes (all runs):" in md
    assert "goodness-of-fit p" in md
