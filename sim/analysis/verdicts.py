"""Verdicts on a sweep's hypotheses: a sweep folder read into memory (:func:`load_sweep`), its
hypotheses (the main one and each ``also`` contrast), the runs of each side (matched by
:func:`sim.sweeps.keys.match`), the verdicts (:func:`evaluate`) and, for an ensemble, the
effects per parameter draw and their Sobol indices."""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.palette import group_colours
from ..sweeps.keys import match
from . import stats as st


class ReportError(ValueError):
    """A folder or option the report cannot use (reported in one line, exit status 2)."""


# =============================================================================================
# Sweeps
# =============================================================================================
#: columns of runs.parquet that are neither parameters nor outcomes
RUN_COLUMNS = {"run_id", "point_id", "replicate", "seed", "status", "wall_seconds", "point_key",
               "error", "draw"}


@dataclass
class Sweep:
    """A sweep folder read into memory.

    ``runs`` (and the frames) hold the finished runs of the design's points; the runs of the
    points added for the hypotheses' ablations are in ``all_runs`` too, and
    ``ablation_points`` names them (point id -> "ID:NAME").
    """

    path: Path
    manifest: dict[str, Any]
    experiment: dict[str, Any]
    runs: pd.DataFrame              #: finished runs (status ok) of the design's points
    failed: pd.DataFrame            #: failed runs
    params: list[str]
    outcomes: list[str]
    series: pd.DataFrame | None = None
    truces: pd.DataFrame | None = None
    clashes: pd.DataFrame | None = None
    all_runs: pd.DataFrame | None = None   #: with the ablation points' runs
    ablation_points: dict[int, str] = field(default_factory=dict)
    #: points.parquet: every point of the design with its values (and ``sample:KEY`` columns)
    design_points: pd.DataFrame | None = None

    @property
    def design(self) -> str:
        d = self.experiment.get("design") or {}
        return d.get("kind", "grid") if isinstance(d, dict) else str(d)

    @property
    def ensemble(self) -> dict[str, Any] | None:
        """The parameter draws of an ensemble sweep (kind, parameters, draws), or None."""
        e = self.experiment.get("ensemble")
        return e if isinstance(e, dict) and e else None

    @property
    def seed(self) -> int:
        try:
            return int(self.experiment.get("seed", 0))
        except (TypeError, ValueError):
            return 0

    def points(self) -> pd.DataFrame:
        """One row per point: point_id and the parameter values."""
        cols = ["point_id"] + self.params
        return (self.runs[cols].drop_duplicates("point_id").sort_values("point_id")
                .reset_index(drop=True))

    def point_label(self, pid: int) -> str:
        row = self.points().set_index("point_id").loc[pid]
        return ", ".join(f"{_short_key(p)}={_val(row[p])}" for p in self.params) or "all runs"


def _short_key(key: str) -> str:
    parts = key.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else key


def _val(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{v:.4g}"
    return str(v)


def load_sweep(directory: str | os.PathLike) -> Sweep:
    """Read a sweep folder (manifest.json, runs.parquet and the optional tables)."""
    d = Path(directory)
    mf = d / "manifest.json"
    if not mf.is_file():
        raise ReportError(f"{d}: no manifest.json; not a sweep folder")
    try:
        manifest = json.loads(mf.read_text())
    except (OSError, ValueError) as exc:
        raise ReportError(f"{mf}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise ReportError(f"{mf}: not a sweep manifest (a JSON object was expected, not "
                          f"{type(manifest).__name__})")
    exp = manifest.get("experiment") if isinstance(manifest.get("experiment"), dict) else None
    exp = exp or manifest.get("resolved") or manifest
    from ..sweeps.storage import SweepError, read_tables

    try:  # the runs on disk now: tables older than the run files are rebuilt (in memory)
        tables, counts = read_tables(d, manifest)
    except SweepError as exc:
        raise ReportError(str(exc)) from None
    manifest = {**manifest, "runs_on_disk": counts}
    runs = tables.get("runs")
    if runs is None:
        raise ReportError(f"{d}: no runs.parquet yet; the sweep has not finished (resume it "
                          "with 'militant-sim sweep' on the same folder)")
    status = runs["status"] if "status" in runs else pd.Series("ok", index=runs.index)
    all_ok = runs[status == "ok"].reset_index(drop=True)
    failed = runs[status != "ok"].reset_index(drop=True)
    abl = {int(a["point_id"]): str(a.get("ablation") or "ablation")
           for a in (exp.get("ablation_points") or []) if "point_id" in a}
    ok = all_ok[~all_ok["point_id"].isin(list(abl))].reset_index(drop=True) if abl else all_ok
    params = list((exp.get("parameters") or {}).keys())
    outcomes = list(exp.get("outcomes") or [])
    if not outcomes:
        outcomes = [c for c in runs.columns if c not in RUN_COLUMNS and c not in params]
    params = [p for p in params if p in runs.columns]
    outcomes = [o for o in outcomes if o in runs.columns]

    def opt(name: str) -> pd.DataFrame | None:
        df = tables.get(name.removesuffix(".parquet"))
        if df is None:
            return None
        if "run_id" in df and len(ok):
            df = df[df["run_id"].isin(ok["run_id"])]
        return df.reset_index(drop=True)

    return Sweep(path=d, manifest=manifest, experiment=exp, runs=ok, failed=failed,
                 params=params, outcomes=outcomes, series=opt("series.parquet"),
                 truces=opt("truces.parquet"), clashes=opt("clashes.parquet"),
                 all_runs=all_ok, ablation_points=abl, design_points=tables.get("points"))


def incomplete_note(manifest: dict[str, Any]) -> str:
    """How many of the design's runs an unfinished sweep has on disk."""
    c = manifest.get("runs_on_disk") or manifest.get("runs") or {}
    if not c.get("total"):
        return "some runs have not finished"
    made = (c.get("ok") or 0) + (c.get("failed") or 0)
    return (f"{made:,} of {c['total']:,} runs have finished ({c.get('failed') or 0:,} failed), "
            "read from its runs/ folder")


def _outcome_unit(name: str) -> tuple[str, str]:
    """(unit, meaning) of an outcome from the registry, when it is known."""
    try:
        from ..sweeps.outcomes import parse

        o, _ = parse(name)
        return o.unit, o.meaning
    except Exception:  # an outcome this version does not know: no unit
        return "", ""


def _group_colours(sweep: Sweep) -> dict[str, str]:
    exp = sweep.experiment
    try:
        from ..core.scenario import load_scenario

        sc = load_scenario(exp.get("scenario_file") or exp.get("scenario"))
        return {g.name: g.colour for g in sc.groups}
    except Exception:  # the scenario file may have moved: fall back to palette order
        return group_colours(exp.get("groups") or [])


# -- hypotheses ---------------------------------------------------------------------------------
def hypotheses(sweep: Sweep) -> list[dict[str, Any]]:
    """The experiment's hypotheses as a flat list: the main one and each ``also`` contrast."""
    h = sweep.experiment.get("hypothesis") or sweep.manifest.get("hypothesis")
    if not h:
        return []
    items = h if isinstance(h, list) else [h]
    out = []
    for k, item in enumerate(items):
        hid = str(item.get("id") or (f"H{k + 1}" if len(items) > 1 else "H"))
        main = {kk: vv for kk, vv in item.items() if kk != "also"}
        main["id"] = hid
        out.append(main)
        for i, a in enumerate(item.get("also") or []):
            sub = dict(a)
            sub["id"] = str(a.get("id") or f"{hid}.{chr(ord('a') + i)}")
            sub.setdefault("statement", a.get("note", ""))
            out.append(sub)
    return out


def _select(sweep: Sweep, h: dict[str, Any], side: str) -> pd.DataFrame:
    ids = h.get(f"{side}_point_ids")
    runs = sweep.runs
    if ids is not None and (ids or h.get("_ablation")):
        allr = sweep.all_runs if sweep.all_runs is not None else runs
        return allr[allr["point_id"].isin(ids)]
    spec = h.get(side) or {}
    for k in spec:
        if k not in runs:
            raise ReportError(f"hypothesis {h.get('id')}: {side} names {k!r}, which is not a "
                              f"column of runs.parquet; varied parameters: "
                              f"{', '.join(sweep.params) or '(none)'}")
    mask = match(runs, spec)
    return runs[mask]


def _evaluate_one(sweep: Sweep, h: dict[str, Any], hid: str, n_boot: int
                  ) -> tuple[st.Verdict, np.ndarray, np.ndarray]:
    outcome = h.get("outcome", "")
    expect = h.get("expect", "greater")
    rng = np.random.default_rng(np.random.SeedSequence(
        [sweep.seed, zlib.crc32(hid.encode())]))
    base = dict(id=hid, outcome=outcome, expect=expect, verdict=st.INCONCLUSIVE,
                statement=h.get("statement", ""))
    c = t = np.array([])
    if outcome not in sweep.runs:
        v = st.Verdict(**base, reason=f"outcome {outcome!r} is not in runs.parquet")
    else:
        c = _select(sweep, h, "control")[outcome].to_numpy(dtype=float)
        t = _select(sweep, h, "treatment")[outcome].to_numpy(dtype=float)
        try:
            v = st.evaluate_hypothesis(c, t, expect=expect, min_effect=h.get("min_effect"),
                                       rng=rng, hypothesis_id=hid, outcome=outcome,
                                       statement=h.get("statement", ""), n_boot=n_boot)
        except ValueError as exc:
            v = st.Verdict(**base, reason=f"{exc}; state it in the experiment file",
                           error=f"{exc}; state it in the experiment file")
            me = h.get("min_effect")
            if isinstance(me, (int, float)) and not isinstance(me, bool):
                v.min_effect = v.smallest_effect = float(me)
    v.control = dict(h.get("control") or {})
    v.treatment = dict(h.get("treatment") or {})
    return v, c, t


def evaluate(sweep: Sweep, n_boot: int = st.N_BOOT, adjust: str | None = st.DEFAULT_ADJUST
             ) -> list[tuple[st.Verdict, np.ndarray, np.ndarray]]:
    """Verdicts of every hypothesis of a sweep: (verdict, control values, treatment values).

    Each verdict carries the verdicts of its ablated contrasts (``v.ablations``: the same
    comparison on the ablation's points). ``adjust`` (``"holm"``, ``"bh"`` or ``"none"``)
    corrects the p-values across the sweep's hypotheses (and, separately, across their
    ablations) and states each ablation's attribution; ``None`` leaves every verdict as if it
    were alone, for a correction across several sweeps (:func:`sim.analysis.stats.adjust_study`).
    The BCa bootstrap of hypothesis ``id`` draws from SeedSequence([master seed, crc32(id)]),
    so a report is reproducible.
    """
    out = []
    for h in hypotheses(sweep):
        hid = h["id"]
        v, c, t = _evaluate_one(sweep, h, hid, n_boot)
        if sweep.ensemble is not None and "draw" in sweep.runs:
            eff = draw_effects(sweep, h)
            ens = sweep.ensemble
            me = v.min_effect if np.isfinite(v.min_effect) else float(h.get("min_effect") or 0)
            v.ensemble = st.ensemble_share(eff.to_numpy(), v.expect, me, kind=_ensemble_label(ens),
                                           runs_per_draw=int(ens.get("seeds") or 1))
        for a in h.get("ablation") or []:
            ah = {**h, "control_point_ids": a.get("control_point_ids") or [],
                  "treatment_point_ids": a.get("treatment_point_ids") or [], "_ablation": True}
            av, _, _ = _evaluate_one(sweep, ah, f"{hid}~{a.get('name')}", n_boot)
            av.ablation = str(a.get("name"))
            av.carries = str(a.get("carries") or "")
            av.part = bool(a.get("part", False))
            av.ablation_set = dict(a.get("set") or {})
            v.ablations.append(av)
        out.append((v, c, t))
    if adjust is not None:
        st.adjust_study([v for v, _, _ in out], adjust)
    return out


def _ensemble_label(ens: dict[str, Any]) -> str:
    k = ens.get("kind")
    if k == "posterior":
        return f"{ens.get('n_draws')} draws from the posterior in {ens.get('source')}"
    if k == "sobol":
        return f"Sobol sample of N = {ens.get('samples')} over {len(ens.get('parameters') or {})} parameters"
    return f"Latin hypercube of {ens.get('samples')} draws over {len(ens.get('parameters') or {})} parameters"


def draw_effects(sweep: Sweep, h: dict[str, Any]) -> pd.Series:
    """One effect per parameter draw of an ensemble sweep: the mean of the outcome over the
    draw's treatment runs minus over its control runs (nan where either has none defined);
    indexed by draw, every draw of the ensemble."""
    n = int((sweep.ensemble or {}).get("n_draws") or 0)
    idx = pd.Index(range(n), name="draw")
    o = h.get("outcome", "")
    if o not in sweep.runs:
        return pd.Series(np.nan, index=idx)
    c = _select(sweep, h, "control").groupby("draw")[o].mean()
    t = _select(sweep, h, "treatment").groupby("draw")[o].mean()
    return (t.reindex(idx) - c.reindex(idx)).astype(float)


def draw_outcomes(sweep: Sweep, outcome: str) -> pd.Series:
    """One value per parameter draw: the outcome's mean over the draw's runs at the first
    hypothesis' control points (at every design point when there is no hypothesis)."""
    n = int((sweep.ensemble or {}).get("n_draws") or 0)
    idx = pd.Index(range(n), name="draw")
    hs = hypotheses(sweep)
    runs = _select(sweep, hs[0], "control") if hs else sweep.runs
    return runs.groupby("draw")[outcome].mean().reindex(idx).astype(float)


# -- conditions for sweep charts -----------------------------------------------------------------
def ensemble_sobol(sweep: Sweep, verdicts=None) -> pd.DataFrame:
    """Sobol indices (SALib) over the draws of a ``sobol`` ensemble: of each outcome (its mean
    over a draw's control runs, see :func:`draw_outcomes`) and of each hypothesis' effect
    (:func:`draw_effects`). One row per target and parameter: S1, ST and their 95% interval
    half-widths; ``error`` says why a target has none (an undefined value at some draw)."""
    ens = sweep.ensemble or {}
    problem = ens.get("problem") or {}
    targets: list[tuple[str, pd.Series]] = [
        (f"outcome {o}", draw_outcomes(sweep, o)) for o in sweep.outcomes]
    targets += [(f"effect of {h['id']} ({h.get('outcome')})", draw_effects(sweep, h))
                for h in hypotheses(sweep)]
    rows = []
    for name, y in targets:
        try:
            idx = st.sobol_indices(problem, y.to_numpy(), bool(ens.get("second_order")),
                                   seed=sweep.seed)
        except (ValueError, ZeroDivisionError) as exc:
            rows.append({"target": name, "parameter": "", "S1": np.nan, "S1_conf": np.nan,
                         "ST": np.nan, "ST_conf": np.nan, "error": str(exc)})
            continue
        for r in idx.itertuples(index=False):
            rows.append({"target": name, "parameter": r.parameter, "S1": r.S1,
                         "S1_conf": r.S1_conf, "ST": r.ST, "ST_conf": r.ST_conf, "error": ""})
    return pd.DataFrame(rows)
