"""The report of a calibration folder (``militant-sim report calibrations/NAME``).

Sections: the calibration (scenarios, priors, patterns and weights, provenance); epsilon and
acceptance by generation; the posterior marginals with the prior beside them; the pairs of
parameters; each fitted pattern's target against its posterior-predictive band; the
out-of-sample patterns against theirs. Figures through :mod:`sim.analysis.charts`; the document model
of :mod:`sim.analysis.report`.
"""

from __future__ import annotations

import json
import math
import os
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..common.files import atomic_text
from . import calibrate as cb
from . import charts

#: pairs charted at most (the first parameters)
MAX_PAIR_PARAMS = 6


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """Quantile of ``x`` with weights ``w`` (the weighted empirical distribution, linear
    interpolation between mid-points)."""
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    x, w = x[ok], w[ok]
    if not len(x):
        return math.nan
    o = np.argsort(x)
    x, w = x[o], w[o]
    c = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q, c, x))


def _priors(manifest: dict[str, Any]) -> list[cb.Prior]:
    out = []
    for d in (manifest.get("calibration") or {}).get("priors") or []:
        out.append(cb.Prior(d["key"], float(d["low"]), float(d["high"]),
                            d.get("prior", "uniform"), bool(d.get("integer")),
                            d.get("scenario"), d.get("range_from", "file"),
                            d.get("note", "")))
    return out


def marginals_figure(post: pd.DataFrame, priors: list[cb.Prior]) -> Figure:
    """A weighted histogram of each parameter's posterior with the prior density (per decade
    for a log-uniform prior, where it is flat)."""
    n = len(priors)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(4.2 * cols, 2.9 * rows))
    w = post["weight"].to_numpy(dtype=float)
    for i, p in enumerate(priors):
        ax = fig.add_subplot(rows, cols, i + 1)
        x = post[p.name].to_numpy(dtype=float)
        log = p.prior == "loguniform"
        # a log-uniform prior is shown per decade (where it is flat), a uniform one per unit
        edges = (np.geomspace(p.low, p.high, 21) if log else np.linspace(p.low, p.high, 21))
        h, _ = np.histogram(np.clip(x, p.low, p.high), bins=edges, weights=w)
        widths = np.diff(np.log10(edges)) if log else np.diff(edges)
        dens = h / (w.sum() * widths) if w.sum() > 0 else h
        ax.bar(edges[:-1], dens, width=np.diff(edges), align="edge", color="#0072B2",
               alpha=0.75, label="posterior")
        prior = 1.0 / (math.log10(p.high / p.low) if log else (p.high - p.low))
        ax.plot([p.low, p.high], [prior, prior], color="#D55E00", lw=1.8, ls="--",
                label="prior")
        if log:
            _log_axis(ax.xaxis)
        ax.set_xlim(p.low, p.high)
        ax.set_ylabel("density per decade" if log else "density", fontsize=8)
        ax.set_title(p.name, fontsize=9)
        ax.tick_params(labelsize=8)
        if i == 0:
            ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def _log_axis(axis) -> None:
    """A log scale with plain major labels and no minor labels (which crowd a short range)."""
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter

    axis.axes.set_xscale("log") if axis is axis.axes.xaxis else axis.axes.set_yscale("log")
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(LogFormatterSciNotation(labelOnlyBase=False))
    axis.set_minor_formatter(NullFormatter())


def pairs_figure(post: pd.DataFrame, priors: list[cb.Prior]) -> Figure:
    """Particles of each pair of parameters, sized by weight, over the prior's box."""
    ps = priors[:MAX_PAIR_PARAMS]
    pairs = list(combinations(range(len(ps)), 2))
    cols = min(3, len(pairs))
    rows = math.ceil(len(pairs) / cols)
    fig = Figure(figsize=(4.0 * cols, 3.4 * rows))
    w = post["weight"].to_numpy(dtype=float)
    size = 12 + 240 * w / (w.max() if w.max() > 0 else 1)
    for k, (i, j) in enumerate(pairs):
        a, b = ps[i], ps[j]
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.scatter(post[a.name], post[b.name], s=size, alpha=0.5, color="#0072B2",
                   edgecolor="none")
        ax.set_xlim(a.low, a.high)
        ax.set_ylim(b.low, b.high)
        if a.prior == "loguniform":
            _log_axis(ax.xaxis)
        if b.prior == "loguniform":
            _log_axis(ax.yaxis)
        ax.set_xlabel(a.name, fontsize=8)
        ax.set_ylabel(b.name, fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def generations_figure(gen: pd.DataFrame) -> Figure:
    fig = Figure(figsize=(9, 3.2))
    ax1 = fig.add_subplot(1, 2, 1)
    ax1.plot(gen["generation"], gen["epsilon"], marker="o", color="#0072B2")
    ax1.set_xlabel("generation")
    ax1.set_ylabel("epsilon (distance accepted)")
    ax1.set_yscale("log" if (gen["epsilon"] > 0).all() and len(gen) > 1 else "linear")
    ax2 = fig.add_subplot(1, 2, 2)
    ax2.plot(gen["generation"], gen["acceptance"], marker="o", color="#D55E00")
    ax2.set_xlabel("generation")
    ax2.set_ylabel("acceptance rate")
    ax2.set_ylim(0, 1.02)
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(charts.MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def band_table(values: pd.DataFrame, patterns: list[dict[str, Any]], *,
               weights: bool) -> pd.DataFrame:
    """One row per pattern: the target and the posterior-predictive median and 90% band of
    its statistic, and the share of draws in which it holds."""
    rows = []
    for p in patterns:
        name = p["name"]
        sub = values[values["name"] == name]
        x = sub["value"].to_numpy(dtype=float)
        w = sub["w"].to_numpy(dtype=float) if weights else np.ones(len(sub))
        fin = np.isfinite(x)
        lo, med, hi = (weighted_quantile(np.where(fin, x, np.nan), w, q)
                       for q in (0.05, 0.5, 0.95))
        held = sub["holds"].to_numpy(dtype=bool)
        share = float((w * held).sum() / w.sum()) if len(sub) and w.sum() > 0 else math.nan
        rows.append({"pattern": name, "target": p.get("target", ""), "stat": p.get("stat"),
                     "unit": p.get("unit"), "median": med, "5%": lo, "95%": hi,
                     "holds in": share, "draws": int(len(sub)),
                     "undefined or never": int((~fin).sum()),
                     "weight": p.get("weight") if p.get("fitted") else "-"})
    return pd.DataFrame(rows)


def bands_figure(table: pd.DataFrame, patterns: list[dict[str, Any]], title: str) -> Figure:
    """Each pattern's target (shaded) and its posterior-predictive band (line: 5 to 95%, dot:
    median), one panel per pattern in its own units."""
    n = len(table)
    fig = Figure(figsize=(8.5, 0.9 + 0.75 * n))
    by = {p["name"]: p for p in patterns}
    for i, r in enumerate(table.to_dict("records")):
        ax = fig.add_subplot(n, 1, i + 1)
        p = by[r["pattern"]]
        lo = _num(p.get("low"), -math.inf)
        hi = _num(p.get("high"), math.inf)
        med, b_lo, b_hi = (float(r[k]) for k in ("median", "5%", "95%"))
        vals = [v for v in (med, b_lo, b_hi, lo, hi) if math.isfinite(v)]
        if not vals:
            vals = [0.0, 1.0]
        span = (max(vals) - min(vals)) or max(1.0, abs(max(vals)))
        xmin, xmax = min(vals) - 0.15 * span, max(vals) + 0.15 * span
        ax.axvspan(max(lo, xmin), min(hi, xmax), color="#009E73", alpha=0.25,
                   label="target")
        if math.isfinite(b_lo) and math.isfinite(b_hi):
            ax.plot([b_lo, b_hi], [0, 0], color="#0072B2", lw=3, label="90% band")
        if math.isfinite(med):
            ax.plot([med], [0], "o", color="#0072B2", ms=7, label="median")
        ax.set_xlim(xmin, xmax)
        ax.set_yticks([])
        ax.set_ylabel(r["pattern"], rotation=0, ha="right", va="center", fontsize=8)
        ax.tick_params(labelsize=7)
        if i == 0:
            ax.set_title(title, fontsize=10)
            ax.legend(fontsize=7, ncol=3, frameon=False, loc="upper right")
    fig.tight_layout()
    return fig


def _num(v, default: float) -> float:
    if v is None:
        return default
    if isinstance(v, str):
        return math.inf if v == "inf" else -math.inf if v == "-inf" else default
    return float(v)


def calibration_report(directory: str | os.PathLike, out: str | os.PathLike | None = None, *,
                       formats: tuple[str, ...] = ("png", "svg")):
    """Write report.html and report.md of a calibration folder; returns a
    :class:`sim.analysis.report.Report`."""
    from .report import Report, ReportError, _Doc, _now, _out_dir

    d = Path(directory)
    try:
        post, m = cb.load_posterior(d)
    except cb.CalibrationError as exc:
        raise ReportError(str(exc)) from None
    o = _out_dir(d, out)
    doc = _Doc(o, formats)
    cal = m.get("calibration") or {}
    priors = _priors(m)
    fitted = cal.get("patterns") or []
    checks = cal.get("checks") or []

    _calibration_section(doc, m, cal, priors, fitted, post)

    gen_file = d / cb.GENERATIONS
    if gen_file.is_file():
        gen = pd.read_parquet(gen_file)
        doc.section("Generations")
        doc.figure(generations_figure(gen), "generations", "Epsilon and acceptance by "
                   "generation", "The distance threshold of each generation (left) and the "
                   "share of simulated particles accepted (right).")
        doc.table(gen, "Generations: epsilon, particle evaluations, particles, acceptance, "
                  "wall time and effective sample size of the weights")
        warn = ess_warning(gen)
        if warn:
            doc.p(warn)

    doc.section("Posterior")
    doc.figure(marginals_figure(post, priors), "marginals", "Posterior marginals and priors",
               "Weighted histogram of each parameter over the last generation's particles "
               "(blue), and the prior density (dashed).")
    if len(priors) >= 2:
        doc.figure(pairs_figure(post, priors), "pairs", "Pairs of parameters",
                   "Particles of the last generation, sized by weight, over the prior's range.")

    tab, src, pred_file = _fits_section(doc, d, post, fitted, checks)
    title = f"Calibration report: {cal.get('name') or d.name}"
    sub = f"From {d.resolve()}; written {_now()}."
    h = doc.write_html(o / "report.html", title, sub)
    md = doc.write_markdown(o / "report.md", title, sub)
    atomic_text(o / "fits.json", json.dumps(
        {"fitted": tab.to_dict("records"),
         "checks": (band_table(src, checks, weights=False).to_dict("records")
                    if checks and pred_file.is_file() else [])}, indent=2, default=str))
    note = "" if m.get("complete") else "the calibration has not finished"
    return Report("calibration", d, o, h, md, doc.figures, [], note)


#: below this share of the particles, the last generation's effective sample size is flagged
ESS_SHARE = 0.2


def ess_warning(gen: pd.DataFrame) -> str:
    """A warning when the last generation's weights rest on few particles (its effective
    sample size below ESS_SHARE of the particles), else ''."""
    if "ess" not in gen or gen.empty:
        return ""
    last = gen.iloc[-1]
    ess, n = float(last["ess"]), float(last["particles"])
    if not (math.isfinite(ess) and n > 0) or ess >= ESS_SHARE * n:
        return ""
    return (f"**Warning:** the last generation's effective sample size is {ess:.1f} of "
            f"{n:.0f} particles: the posterior rests on a few particles, and its quantiles, "
            "bands and draws are those of these few. More particles per generation (or fewer "
            "parameters) are needed before it is read as a distribution.")


def failed_draws_warning(pred: pd.DataFrame) -> str:
    """A warning when predictive draws failed (no value for any pattern of a scenario)."""
    if pred.empty or "value" not in pred:
        return ""
    by = pred.groupby(["draw", "scenario"])["value"].apply(lambda v: bool(v.isna().all()))
    bad = int(by.sum())
    if not bad:
        return ""
    return (f"**Warning:** {bad} of {len(by)} predictive runs (draw and scenario) failed and "
            "count as missing every pattern; see the calibration's log.")


def heaviest_particle(post: pd.DataFrame) -> pd.Series | None:
    """The particle of the largest weight, or None when no single particle has it (tied
    weights, as in a first generation, or no particles)."""
    if not len(post) or "weight" not in post:
        return None
    w = post["weight"].to_numpy(dtype=float)
    top = np.flatnonzero(w == w.max())
    return post.iloc[int(top[0])] if len(top) == 1 else None


def patterns_held(post: pd.DataFrame) -> pd.Series:
    """How many of the fitted patterns each particle holds at the calibration's own seeds
    (its ``miss:`` columns that are 0), indexed as ``post``."""
    return (post[[c for c in post.columns if c.startswith("miss:")]] == 0).sum(axis=1)


def draws_note(pred: pd.DataFrame, post: pd.DataFrame) -> str:
    """How many distinct particles the predictive draws are, and how many of them are the
    heaviest particle (draws are made by weight, with replacement), or '' without draws."""
    if pred.empty or "particle" not in pred or "draw" not in pred:
        return ""
    by_draw = pred.drop_duplicates("draw")
    n, k = len(by_draw), int(by_draw["particle"].nunique())
    top = heaviest_particle(post)
    txt = f"The {n} draws are {k} distinct particles"
    if top is not None and "particle" in post:
        m = int((by_draw["particle"] == top["particle"]).sum())
        txt += (f"; {m} of them are the heaviest particle (weight "
                f"{float(top['weight']):.2f})")
    return txt + ": the band is that of these particles and of the runs' seeds."


def calibration_facts(directory: str | os.PathLike) -> dict[str, Any]:
    """The numbers a text about a kept calibration folder quotes, computed from its files:

    ``particles``, ``ess`` (last generation), ``evaluations`` (particle evaluations in the
    generations, without pyABC's first sample that sets the distance's scales),
    ``generations``, ``top_weights`` (weights, heaviest first), ``params`` (per parameter:
    weighted ``q05``, ``median``, ``q95``, ``heaviest`` value), and, with a predictive check,
    ``draws``, ``distinct`` (particles among them), ``heaviest_draws`` and ``patterns`` (per
    ``scenario:pattern``: ``holds`` count, ``median``, ``q05``, ``q95`` over the draws).
    """
    d = Path(directory)
    post, m = cb.load_posterior(d)
    post = post.reset_index(drop=True)
    gen = pd.read_parquet(d / cb.GENERATIONS)
    w = post["weight"].to_numpy(dtype=float)
    top = heaviest_particle(post)
    if top is None:
        raise cb.CalibrationError(d / cb.POSTERIOR, None, "no single heaviest particle (tied "
                                  "weights): its figures would be arbitrary")
    facts: dict[str, Any] = {
        "particles": int(gen["particles"].iloc[-1]), "ess": float(gen["ess"].iloc[-1]),
        "generations": int(len(gen)), "evaluations": int(gen["simulations"].sum()),
        "top_weights": sorted((float(x) for x in w / w.sum()), reverse=True),
        "params": {p.name: {"q05": weighted_quantile(post[p.name], w, .05),
                            "median": weighted_quantile(post[p.name], w, .5),
                            "q95": weighted_quantile(post[p.name], w, .95),
                            "heaviest": float(top[p.name])} for p in _priors(m)}}
    pred_file = d / cb.PREDICTIVE
    if pred_file.is_file():
        pred = pd.read_parquet(pred_file)
        by_draw = pred.drop_duplicates("draw")
        facts.update(draws=int(len(by_draw)), distinct=int(by_draw["particle"].nunique()),
                     heaviest_draws=int((by_draw["particle"] == top["particle"]).sum()))
        pred["name"] = pred["scenario"] + ":" + pred["pattern"]
        pred["w"] = 1.0
        cal = m.get("calibration") or {}
        tab = band_table(pred, (cal.get("patterns") or []) + (cal.get("checks") or []),
                         weights=False)
        facts["patterns"] = {r["pattern"]: {"holds": int(round(r["holds in"] * r["draws"])),
                                            "median": r["median"], "q05": r["5%"],
                                            "q95": r["95%"]}
                             for r in tab.to_dict("records")}
    return facts


def _calibration_section(doc, m: dict[str, Any], cal: dict[str, Any], priors, fitted,
                         post: pd.DataFrame) -> None:
    """The calibration: its settings, provenance, parameters and fitted patterns."""
    from .report import _provenance_text

    doc.section("The calibration")
    if cal.get("description"):
        doc.p(str(cal["description"]))
    abc = cal.get("abc") or {}
    doc.p(f"ABC-SMC (pyABC) of {len(priors)} parameters against {len(fitted)} patterns of "
          f"the scenarios {', '.join(f'`{s}`' for s in cal.get('scenarios') or [])}: "
          f"{abc.get('particles')} particles per generation, {cal.get('seeds')} seeds per "
          f"scenario and particle, weeks per run "
          + ", ".join(f"{s} {n}" for s, n in (cal.get("steps") or {}).items())
          + f"; {m.get('generations_done')} generations"
          + (f", stopped by {m.get('stop')}" if m.get("stop") else
             " (**not finished**: run the same command again to resume)") + ". Distance: "
          f"adaptive {abc.get('p')}-norm of the pattern misses (scale `{abc.get('scale')}`, "
          f"times the pattern weights); epsilon: the {abc.get('epsilon_quantile')} quantile of "
          "the previous generation's distances. Master seed " + str(cal.get("seed")) + ".")
    prov = m.get("provenance") or {}
    txt = _provenance_text({**prov, "git_commit": (prov.get("git") or {}).get("commit")
                            if isinstance(prov.get("git"), dict) else prov.get("git")})
    if txt:
        doc.p(f"Made with {txt}.")
    doc.table(pd.DataFrame([{"parameter": p.name, "prior": p.prior, "low": p.low,
                             "high": p.high, "range from": p.range_from,
                             "posterior mean": _wmean(post[p.name], post["weight"]),
                             "posterior 5%": weighted_quantile(post[p.name], post["weight"], .05),
                             "posterior median": weighted_quantile(post[p.name],
                                                                   post["weight"], .5),
                             "posterior 95%": weighted_quantile(post[p.name], post["weight"],
                                                                .95)}
                            for p in priors]),
              "Parameters: prior and posterior (weighted particles of the last generation)")
    doc.table(pd.DataFrame([{"pattern": f["name"], "description": f.get("description"),
                             "target": f.get("target"), "weight": f.get("weight"),
                             "source": f.get("source")} for f in fitted]),
              "Patterns fitted")


def _fits_section(doc, d: Path, post: pd.DataFrame, fitted, checks):
    """Each pattern's target against its posterior-predictive band (fitted and out of
    sample): (the fitted patterns' table, the values it came from, the predictive file)."""
    pred_file = d / cb.PREDICTIVE
    doc.section("Pattern fits")
    if pred_file.is_file():
        pred = pd.read_parquet(pred_file)
        pred["name"] = pred["scenario"] + ":" + pred["pattern"]
        pred["w"] = 1.0
        src, weights = pred, False
        how = (f"{pred['draw'].nunique()} draws from the posterior, each run with new seeds "
               "(the posterior-predictive distribution of each pattern's statistic)")
    else:
        rows = []
        for f in fitted:
            for r in post.itertuples(index=False):
                v = getattr(r, "_asdict")()
                rows.append({"name": f["name"], "value": v[f"value:{f['name']}"],
                             "holds": v[f"miss:{f['name']}"] == 0, "w": v["weight"]})
        src, weights = pd.DataFrame(rows), True
        how = ("the accepted particles' own simulations, weighted (no predictive check in "
               "the folder)")
    tab = band_table(src, fitted, weights=weights)
    doc.p(f"Each pattern's target against its band over {how}: median and 5% to 95%.")
    if pred_file.is_file():
        warn = failed_draws_warning(src)
        if warn:
            doc.p(warn)
        note = draws_note(src, post)
        if note:
            doc.p(note)
    doc.figure(bands_figure(tab, fitted, "Fitted patterns"), "pattern_fits",
               "Fitted patterns: target and posterior-predictive band",
               "Shaded: the target; line: 5% to 95% of the pattern's statistic across draws; "
               "dot: the median.")
    doc.table(tab, "Fitted patterns: target and posterior-predictive band")
    if checks:
        doc.section("Out-of-sample check")
        if pred_file.is_file():
            t2 = band_table(src, checks, weights=False)
            doc.p("Patterns not used in the fit, at the same draws from the posterior.")
            doc.figure(bands_figure(t2, checks, "Out-of-sample patterns"), "out_of_sample",
                       "Out-of-sample patterns: target and posterior-predictive band",
                       "Shaded: the target; line: 5% to 95% across draws; dot: the median.")
            doc.table(t2, "Out-of-sample patterns against the posterior")
        else:
            doc.p("No predictive check in the folder (calibrate with --draws > 0).")
    return tab, src, pred_file


def _wmean(x: pd.Series, w: pd.Series) -> float:
    x = x.to_numpy(dtype=float)
    w = w.to_numpy(dtype=float)
    return float((x * w).sum() / w.sum()) if w.sum() > 0 else math.nan
