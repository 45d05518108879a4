"""``militant-sim report`` and ``militant-sim animate``: figures, numbers and verdicts.

``report DIR`` reads a run folder (``summary.json``, written by ``militant-sim run``) or a
sweep folder (``manifest.json`` and ``runs.parquet``, written by ``militant-sim sweep``) and
writes, into ``DIR/report/`` (or ``--out``), every chart as PNG and SVG, a self-contained
``report.html`` (charts embedded, with captions and numbers) and ``report.md``. For a sweep with
a ``[hypothesis]``, it prints one verdict line per hypothesis and per ablation
(``docs/REPORTS.md`` defines the rule: Welch tests with Holm's correction across the study, the
power for the stated smallest effect of interest, and what each ablation says about the
mechanism).

``animate RUN_DIR`` writes a GIF (or MP4 with ffmpeg) of the control map with fighters.

From Python: :func:`report` (either kind of folder), :func:`run_report`, :func:`sweep_report`,
:func:`load_sweep`, :func:`evaluate` (the verdicts of a loaded sweep).
"""

from __future__ import annotations

import base64
import functools
import html
import json
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import combinations
from pathlib import Path
from typing import Any

import markupsafe
import numpy as np
import pandas as pd

from ..common.files import atomic_text
from ..common.jsonio import jsonable
from ..common.units import WEEKS_PER_YEAR
from ..core.columns import col_var, parse_col
from . import charts
from . import stats as st
from .verdicts import (  # noqa: F401 - the verdicts are re-exported
    RUN_COLUMNS,
    ReportError,
    Sweep,
    _ensemble_label,
    _outcome_unit,
    _select,
    _short_key,
    _val,
    draw_effects,
    draw_outcomes,
    ensemble_sobol,
    evaluate,
    hypotheses,
    incomplete_note,
    load_sweep,
)

#: charts written per format
DEFAULT_FORMATS = ("png", "svg")
#: at most this many conditions get their own line in sweep charts
MAX_CONDITION_LINES = 6
#: at most this many figures of time series (one per variable) and panels per figure
MAX_SERIES_FIGURES = 8
MAX_SERIES_PANELS = 9
#: at most this many points listed in the per-point outcome table
MAX_TABLE_POINTS = 40
#: fewest clash sizes for a power-law fit
MIN_CLASHES_FOR_FIT = 30



# =============================================================================================
# Document model: sections of text, tables and figures, written as HTML and Markdown
# =============================================================================================
@dataclass
class FigureRef:
    name: str
    title: str
    caption: str
    files: list[Path]

    @property
    def png(self) -> Path:
        return next(f for f in self.files if f.suffix == ".png")


@dataclass
class Section:
    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)  # ("p"|"pre"|"table"|"figure", x)


@dataclass
class Report:
    """What a report wrote: its folder, files, figures and (for sweeps) verdicts."""

    kind: str                     # "run", "sweep" or "calibration"
    source: Path
    out: Path
    html: Path
    markdown: Path
    figures: list[FigureRef]
    verdicts: list[st.Verdict] = field(default_factory=list)
    note: str = ""                #: e.g. how many runs an unfinished sweep has


class _Doc:
    def __init__(self, out: Path, formats: tuple[str, ...]):
        self.out = out
        self.formats = tuple(formats)
        if "png" not in self.formats:
            self.formats = ("png",) + self.formats  # the HTML embeds PNG
        self.sections: list[Section] = []
        self.figures: list[FigureRef] = []

    def section(self, title: str) -> Section:
        s = Section(title)
        self.sections.append(s)
        return s

    def p(self, text: str) -> None:
        self.sections[-1].blocks.append(("p", text))

    def pre(self, text: str) -> None:
        self.sections[-1].blocks.append(("pre", text))

    def verdict(self, v: st.Verdict) -> None:
        """A verdict line (wrapped by the browser in HTML, at 100 columns in Markdown) and the
        attribution of each of its ablations."""
        self.sections[-1].blocks.append(("verdict", v))

    def table(self, df: pd.DataFrame, caption: str = "") -> None:
        self.sections[-1].blocks.append(("table", (df, caption)))

    def figure(self, fig, name: str, title: str, caption: str) -> FigureRef:
        name = _slug(name)
        used = {f.name for f in self.figures}
        base, k = name, 2
        while name in used:
            name, k = f"{base}-{k}", k + 1
        files = charts.save(fig, self.out / name, self.formats)
        ref = FigureRef(name, title, caption, files)
        self.figures.append(ref)
        self.sections[-1].blocks.append(("figure", ref))
        return ref

    # -- writers: the templates of sim/analysis/templates ----------------------------------------
    def write_html(self, path: Path, title: str, subtitle: str) -> Path:
        _atomic_text(path, _render("report.html.j2", self, title, subtitle))
        return path

    def write_markdown(self, path: Path, title: str, subtitle: str) -> Path:
        _atomic_text(path, _render("report.md.j2", self, title, subtitle))
        return path


_TEMPLATES = Path(__file__).resolve().parent / "templates"


@functools.lru_cache(maxsize=1)
def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES), trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",),
                                            default_for_string=False))
    env.filters["inline"] = lambda text: markupsafe.Markup(_inline_html(str(text)))
    env.filters["cell"] = _cell
    env.filters["b64"] = lambda path: base64.b64encode(Path(path).read_bytes()).decode()
    return env


def _render(template: str, doc: _Doc, title: str, subtitle: str) -> str:
    css = (_TEMPLATES / "report.css").read_text(encoding="utf-8")
    text = _environment().get_template(template).render(
        title=title, subtitle=subtitle, sections=doc.sections, css=css)
    return text[:-1] if template.endswith(".md.j2") and text.endswith("\n") else text


def _inline_html(text: str) -> str:
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)
    return re.sub(r"\b(NOT SUPPORTED|SUPPORTED|INCONCLUSIVE|SET BY THE RULES)\b",
                  lambda m: f"<span class=\"verdict-{m.group(1).lower().replace(' ', '-')}\">"
                            f"{m.group(1)}</span>", out)


def _cell(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return "–" if np.isnan(v) else str(v)
        a = abs(v)
        if a == 0:
            return "0"
        if a >= 1e5 or a < 1e-3:
            return f"{v:.3g}"
        if float(v).is_integer() and a < 1e5:
            return f"{int(v):,}"
        return f"{v:,.3g}" if a < 1 else f"{v:,.2f}"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    return "" if v is None else str(v)


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")
    return s[:90] or "chart"


def _atomic_text(path: Path, text: str) -> None:
    atomic_text(path, text, durable=False)


# =============================================================================================
# Entry points
# =============================================================================================
def kind_of(directory: str | os.PathLike) -> str:
    """``"run"`` or ``"sweep"``: what a folder holds (ReportError when neither)."""
    d = Path(directory)
    if not d.is_dir():
        raise ReportError(f"{d}: no such folder; give a run folder (with summary.json, from "
                          "'militant-sim run') or a sweep folder (with manifest.json, from "
                          "'militant-sim sweep')")
    if (d / "manifest.json").is_file():
        try:
            kind = json.loads((d / "manifest.json").read_text()).get("kind")
        except (OSError, ValueError, AttributeError):
            kind = None
        return "calibration" if kind == "calibration" else "sweep"
    if (d / "summary.json").is_file():
        return "run"
    raise ReportError(f"{d}: neither a finished run (no summary.json) nor a sweep (no "
                      "manifest.json); give a folder written by 'militant-sim run' or "
                      "'militant-sim sweep'")


def report(directory: str | os.PathLike, out: str | os.PathLike | None = None, *,
           weeks: list[int] | None = None, formats: tuple[str, ...] = DEFAULT_FORMATS,
           gof_boot: int = st.GOF_BOOT, adjust: str = st.DEFAULT_ADJUST) -> Report:
    """Write the report of a run or sweep folder; returns what was written."""
    kind = kind_of(directory)
    if kind == "run":
        return run_report(directory, out, weeks=weeks, formats=formats, gof_boot=gof_boot)
    if weeks:
        raise ReportError(f"--weeks applies to a run folder, not to a {kind}")
    if kind == "calibration":
        from .calibration_report import calibration_report

        return calibration_report(directory, out, formats=formats)
    return sweep_report(directory, out, formats=formats, gof_boot=gof_boot, adjust=adjust)


def _out_dir(directory: Path, out: str | os.PathLike | None) -> Path:
    o = Path(out) if out else directory / "report"
    o.mkdir(parents=True, exist_ok=True)
    return o


def _provenance_text(prov: dict[str, Any] | None) -> str:
    if not prov:
        return ""
    parts = []
    versions = prov.get("versions") or {}
    version = prov.get("version") or versions.get("militant-sim")
    if version:
        parts.append(f"militant-sim {version}")
    g = prov.get("git_commit") or prov.get("git")
    if isinstance(g, dict) and g.get("commit"):
        parts.append(f"commit {g['commit'][:10]}" + (" (uncommitted changes)"
                                                      if g.get("dirty") else ""))
    elif isinstance(g, str):
        parts.append(f"commit {g[:10]}")
    mesa = prov.get("mesa") or versions.get("mesa")
    if mesa:
        parts.append(f"Mesa {mesa}")
    return ", ".join(parts)


# =============================================================================================
# Run report
# =============================================================================================
def run_report(directory: str | os.PathLike, out: str | os.PathLike | None = None, *,
               weeks: list[int] | None = None, formats: tuple[str, ...] = DEFAULT_FORMATS,
               gof_boot: int = st.GOF_BOOT) -> Report:
    """The report of one run folder: maps, series, relations, defections, truces, clashes."""
    from ..core.record import RunResult

    d = Path(directory)
    try:
        result = RunResult.load(d)
    except (OSError, ValueError) as exc:  # missing, unreadable or damaged files
        raise ReportError(str(exc)) from None
    o = _out_dir(d, out)
    s = result.summary
    n_weeks = int(result.steps["week"].iloc[-1])
    if weeks:
        bad = [w for w in weeks if not 0 <= w <= n_weeks]
        if bad:
            raise ReportError(f"--weeks {','.join(map(str, weeks))}: week {bad[0]} is outside "
                              f"this run; allowed: 0 to {n_weeks}")
    weeks = sorted(set(weeks)) if weeks else charts.default_map_weeks(n_weeks)
    ta = charts.TimeAxis(n_weeks)
    doc = _Doc(o, formats)

    _run_section(doc, result, ta)
    doc.section("Control of the map")
    fig = charts.control_maps_figure(result, weeks)
    doc.figure(fig, "control_maps", "Control maps",
               "Owner of each cell at " + ", ".join(ta.describe(w) for w in weeks)
               + ": groups in their colours, the state grey, cells held by no one pale; "
               "crosses mark ungoverned cells (low governance and low security), dashed lines "
               "the scenario's zones.")

    doc.section("Time series")
    for what, title, cap in (
            ("fighters", "Fighters", "Fighters per group each week."),
            ("territory", "Territory", "Cells held by each group and by the state each week, "
             "and the number of ungoverned cells (dashed)."),
            ("clashes", "Clashes", "Clashes between groups per week (bars) and their moving "
             "average (line)."),
            ("defections", "Defections", "Fighters joining each group from another group, per "
             "week, as a moving average."),
            ("relations", "Relations", "Relation between each pair of groups over time: "
             "rivalry, truce, war, or ended (one of the pair merged, was absorbed or "
             "destroyed); markers show mergers, pledges, leader deaths and destroyed "
             "groups.")):
        doc.figure(charts.series_figure(result, what), what, title, cap)

    _defections_section(doc, result)
    _run_truces_section(doc, result)
    doc.section("Clash sizes")
    ev = result.events
    sizes = ev.loc[ev["kind"] == "clash", "size"].to_numpy(dtype=float) if len(ev) else \
        np.array([])
    _clash_section(doc, {"this run": sizes}, "this run", gof_boot,
                   seed=int(s.get("seed") or 0) if str(s.get("seed", "0")).isdigit() else 0)

    title = f"Run report: {s.get('scenario')} (seed {s.get('seed')})"
    sub = f"From {d.resolve()}; written {_now()}."
    h = doc.write_html(o / "report.html", title, sub)
    m = doc.write_markdown(o / "report.md", title, sub)
    return Report("run", d, o, h, m, doc.figures)


def _run_section(doc: _Doc, result, ta) -> None:
    """The run: scenario, seed, length, provenance, the groups and the scheduled events."""
    s = result.summary
    n_weeks = int(result.steps["week"].iloc[-1])
    names = result.group_names
    doc.section("The run")
    doc.p(f"Scenario `{s.get('scenario')}`, seed {s.get('seed')}, {n_weeks} weeks"
          + (f" ({n_weeks / WEEKS_PER_YEAR:.1f} years)" if n_weeks >= 104 else "") + ". "
          + (f"Made with {_provenance_text(s.get('provenance'))}." if s.get("provenance")
             else ""))
    rows = []
    for n in names:
        g = s["groups"][n]
        rows.append({"group": n, "fighters at start": g.get("initial_fighters"),
                     "at end": g.get("final_fighters"),
                     "peak": g.get("peak_fighters"), "peak week": g.get("peak_fighters_week"),
                     "peak territory (cells)": g.get("peak_territory"),
                     "peak territory week": g.get("peak_territory_week"),
                     "recruits": g.get("recruits"),
                     "killed (state, clashes, strikes)":
                         f"{g.get('deaths_state', 0):,}, {g.get('deaths_clash', 0):,}, "
                         f"{g.get('deaths_strike', 0):,}",
                     "deserted": g.get("desertions"), "defected in": g.get("defected_in"),
                     "defected out": g.get("defected_out"),
                     "exists at end": g.get("exists_at_end", True)})
    doc.table(pd.DataFrame(rows), "Groups over the run")
    marks = charts._timeline_marks(result)
    if marks:
        doc.p("Scheduled events (dotted lines in the time series): "
              + "; ".join(f"{i} {ta.describe(w)}: {lab}" for i, (w, lab) in
                          enumerate(marks, 1)) + ".")


def _defections_section(doc: _Doc, result) -> None:
    """Defection flows and net defections per pair."""
    s = result.summary
    doc.section("Defections")
    mat = result.defection_matrix()
    doc.figure(charts.defection_matrix_figure(result), "defection_matrix",
               "Defection flows", "Fighters who left the row's group for the column's group, "
               "summed over the run.")
    net = s.get("net_defections", {})
    if net:
        doc.table(pd.DataFrame([{"pair": k.replace("|", " – "),
                                 **{kk: vv for kk, vv in v.items()}} for k, v in net.items()]),
                  "Net defections per pair (per 1,000: of the pair's mean strength)")
    else:
        doc.table(mat.reset_index(), "Defections, from (rows) to (columns)")


def _run_truces_section(doc: _Doc, result) -> None:
    """Every truce of the run and how truces end."""
    s = result.summary
    doc.section("Truces")
    truces = s.get("truces") or []
    if truces:
        tdf = pd.DataFrame(truces)
        keep = [c for c in ("pair", "start", "end", "duration", "censored", "ended_by")
                if c in tdf]
        doc.table(tdf[keep], "Every truce of the run (a censored truce was still holding at "
                  "the end: its duration is a lower bound; a start before week 0 means it was "
                  "made before the run began: it is left-truncated)")
        cif = st.truce_competing_risks(tdf)
        doc.figure(_cif_figure({"all pairs": cif}), "truce_endings", "How truces end",
                   _cif_caption())
        doc.table(_cif_table({"all pairs": cif}), "Truce endings as competing risks")
        share = s.get("share_of_time_in_truce", {})
        if share:
            doc.p("Share of weeks in truce: " + ", ".join(
                f"{k.replace('|', ' – ')} {v:.0%}" for k, v in share.items()) + ".")
    else:
        doc.p("No truce was made in this run.")


def _cif_caption() -> str:
    return ("Cumulative incidence (Aalen-Johansen) of the three ways a truce ends, by its age: "
            "it breaks down (into war or rivalry), it ends in a union (a merger or a "
            "pledge), or a side is destroyed. They are competing risks: a truce that merged "
            "can no longer break down, so each curve is the share of all truces that ended "
            "that way by that age, and the three add up to the share that ended at all. Truces "
            "still holding when their run ended are censored; truces made before week 0 are "
            "left-truncated: they enter the risk set only at the age they had reached at week "
            "0. When every truce of a condition was made before week 0, its curves start at the "
            "youngest of those ages and are conditional on a truce reaching it.")


_CAUSE_TITLES = {"breakdown": "broke down (war or rivalry)",
                 "merger": "ended in a merger or pledge",
                 "destruction": "ended as a side was destroyed"}


def _cif_figure(curves: dict[str, st.CumulativeIncidence],
                styles: dict[str, Any] | None = None):
    """One panel per way of ending: the cumulative incidence against truce age, per
    condition."""
    with charts.style():
        fig = charts.new_figure((10.5, 3.9))
        axes = fig.subplots(1, len(st.CAUSE_ORDER), sharey=True)
        names = list(curves)
        for ax, cause in zip(axes, st.CAUSE_ORDER):
            for i, name in enumerate(names):
                ci = curves[name]
                if ci.n == 0:
                    continue
                sty = charts.condition_style(i, len(names), name, styles)
                t, f = ci.steps(cause)
                ax.step(t, f, where="post", label=name, **{"lw": 1.6, **sty})
            ax.set_title(_CAUSE_TITLES[cause], fontsize=10)
            ax.set_xlabel("truce age (weeks)")
            ax.set_xlim(left=0)
            ax.set_ylim(0, 1.02)
        axes[0].set_ylabel("cumulative incidence\n(share of truces)")
        handles, labels = axes[0].get_legend_handles_labels()
        if handles and len(names) > 1:
            fig.legend(handles, labels, loc="lower center", ncol=min(3, len(handles)),
                       fontsize=8, bbox_to_anchor=(0.5, 0.0))
            rows = math.ceil(len(handles) / 3)
            fig.tight_layout(rect=(0, 0.07 * rows + 0.02, 1, 1))
        elif not handles:
            axes[1].text(0.5, 0.5, "no truces", transform=axes[1].transAxes, ha="center",
                         va="center", color="#666666")
            fig.tight_layout()
        else:
            fig.tight_layout()
    return fig


def _cif_table(curves: dict[str, st.CumulativeIncidence]) -> pd.DataFrame:
    rows = []
    for lab, ci in curves.items():
        r = {"condition": lab, "truces": ci.n, "left-truncated": ci.n_truncated,
             "observed from age (weeks)": ci.origin,
             "still holding (censored)": int(ci.censored.sum())}
        for cause in st.CAUSE_ORDER:
            r[f"{cause}s"] = ci.n_events(cause)
        for cause in st.CAUSE_ORDER:
            r[f"{cause} by 1 year"] = ci.at(cause, 52)
            r[f"{cause} by 2 years"] = ci.at(cause, 104)
        r["median weeks to breakdown"] = ci.median("breakdown")
        rows.append(r)
    return pd.DataFrame(rows)


def _clash_section(doc: _Doc, samples: dict[str, np.ndarray], pooled_label: str,
                   gof_boot: int, seed: int = 0,
                   styles: dict[str, Any] | None = None) -> st.PowerLawFit | None:
    """Clash sizes: the CCDF, the Clauset-Shalizi-Newman fit of the pooled sample (with its
    goodness of fit by ``gof_boot`` bootstraps) and fits per condition."""
    pooled = samples[pooled_label]
    pos = pooled[np.isfinite(pooled) & (pooled > 0)]
    if len(pos) < MIN_CLASHES_FOR_FIT:
        doc.p(f"{len(pooled):,} clashes, {len(pos):,} with casualties: too few (under "
              f"{MIN_CLASHES_FOR_FIT}) to fit a tail exponent.")
        if len(pos):
            doc.figure(charts.ccdf_figure(samples), "clash_sizes_ccdf", "Clash sizes",
                       "Complementary cumulative distribution of clash sizes (casualties on "
                       "both sides, fighters), log-log.")
        return None
    try:
        fit = st.fit_power_law(pos)
    except ValueError as exc:
        doc.p(f"No power-law tail could be fitted to the clash sizes ({exc}).")
        return None
    if gof_boot > 0:
        fit = st.power_law_gof(pos, fit, np.random.default_rng(np.random.SeedSequence(
            [seed, 0xC1A5])), n_boot=gof_boot)
    if len(samples) > 1:
        styles = {**(styles or {}), pooled_label: {"color": "#222222", "lw": 2.0}}
    doc.figure(charts.ccdf_figure(samples, fit, styles=styles), "clash_sizes_ccdf",
               "Clash sizes",
               "Complementary cumulative distribution P(size >= x) of clash sizes (casualties "
               "on both sides, in fighters), log-log, with the power law fitted to the tail of "
               f"{pooled_label} (dashed): {fit.describe()}. Clauset, Shalizi and Newman (2009) "
               "with the powerlaw package: x_min by the Kolmogorov-Smirnov distance, alpha by "
               "maximum likelihood, likelihood ratios R against a lognormal and an exponential "
               "tail (R > 0 favours the power law).")
    gof_note = ("" if gof_boot > 0 else " The goodness of fit was not computed (--gof 0).")
    doc.p(f"**Clash sizes ({pooled_label}): {fit.conclusion}.**{gof_note}")
    distinct = len(np.unique(pos[pos >= fit.xmin]))
    if distinct < 5:
        doc.p(f"Caution: the fitted tail spans only {distinct} distinct clash sizes; its "
              "exponent is poorly constrained.")

    def lr(r, p):
        return f"{r:+.2f} (p {p:.2f})" if np.isfinite(r) and np.isfinite(p) else "–"

    def row(lab, x, f):
        return {"sample": lab, "clashes": len(x), "with casualties": f.n,
                "alpha ± s.e.": f"{f.alpha:.2f} ± {f.sigma:.2f}", "x_min": f.xmin,
                "tail size": f.n_tail, "decades": f.decades, "KS distance": f.ks,
                "goodness-of-fit p": f.p_value, "R vs lognormal": lr(f.lr_lognormal,
                                                                     f.p_lognormal),
                "R vs exponential": lr(f.lr_exponential, f.p_exponential),
                "verdict": f.verdict}

    rows = [row(pooled_label, pooled, fit)]
    for lab, x in samples.items():
        if lab == pooled_label:
            continue
        xp = x[np.isfinite(x) & (x > 0)]
        if len(xp) >= MIN_CLASHES_FOR_FIT:
            try:
                rows.append(row(lab, x, st.fit_power_law(xp)))
            except ValueError:
                continue
    doc.table(pd.DataFrame(rows), "Power-law tail fits of clash sizes (decades: log10 of the "
              "largest size over x_min; a tail spanning less than about two decades cannot be "
              "called a power law; goodness of fit for the pooled sample only)")
    return fit


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

def _conditions(sweep: Sweep, verdicts) -> dict[str, list[int]]:
    """Lines of the sweep charts: each point when there are few, else the hypothesis' control
    and treatment, else every run pooled."""
    pts = sweep.points()
    if 1 < len(pts) <= MAX_CONDITION_LINES:
        return {sweep.point_label(int(p)): [int(p)] for p in pts["point_id"]}
    hs = hypotheses(sweep)
    if hs:
        h = hs[0]
        c = sorted(set(_select(sweep, h, "control")["point_id"].unique().tolist())
                   - set(sweep.ablation_points))
        t = sorted(set(_select(sweep, h, "treatment")["point_id"].unique().tolist())
                   - set(sweep.ablation_points))
        if c and t:
            return {"control: " + _spec_label(h.get("control")): c,
                    "treatment: " + _spec_label(h.get("treatment")): t}
    return {"all runs": sorted(pts["point_id"].tolist())}


_LINESTYLES = ["-", "--", ":", "-."]


def _condition_styles(sweep: Sweep, conditions: dict[str, list[int]]) -> dict[str, Any] | None:
    """With one line per point of a grid over two or more parameters: colour by the first
    parameter's value (ordered, cividis) and line style by the second's, so lines are told
    apart without relying on colour alone."""
    import matplotlib

    if len(sweep.params) < 2 or not all(len(ids) == 1 for ids in conditions.values()):
        return None
    pts = sweep.points().set_index("point_id")
    p1, p2 = sweep.params[:2]
    v1 = sorted(pts[p1].unique(), key=str) if not charts._is_numeric(pts[p1]) else \
        sorted(pts[p1].unique())
    v2 = sorted(pts[p2].unique(), key=str) if not charts._is_numeric(pts[p2]) else \
        sorted(pts[p2].unique())
    if len(v2) > len(_LINESTYLES):
        return None
    cmap = matplotlib.colormaps[charts.CONDITION_CMAP]
    out = {}
    for lab, (pid,) in conditions.items():
        i, j = v1.index(pts.loc[pid, p1]), v2.index(pts.loc[pid, p2])
        out[lab] = {"color": cmap(i / max(1, len(v1) - 1) * 0.9), "ls": _LINESTYLES[j]}
    return out


def _spec_label(spec: dict | None) -> str:
    return ", ".join(f"{_short_key(k)}={_val(v)}" for k, v in (spec or {}).items())


# -- the sweep report ---------------------------------------------------------------------------
def sweep_report(directory: str | os.PathLike, out: str | os.PathLike | None = None, *,
                 formats: tuple[str, ...] = DEFAULT_FORMATS, gof_boot: int = st.GOF_BOOT,
                 n_boot: int = st.N_BOOT, adjust: str = st.DEFAULT_ADJUST) -> Report:
    """The report of a sweep folder: verdicts (with ablations), outcomes against parameters,
    heatmaps, series bands, truce endings, clash-size tails and sensitivity indices."""
    sweep = load_sweep(directory)
    d = sweep.path
    o = _out_dir(d, out)
    doc = _Doc(o, formats)
    exp = sweep.experiment
    name = exp.get("name") or d.name
    verdicts = evaluate(sweep, n_boot=n_boot, adjust=adjust)

    _experiment_section(doc, sweep)

    # -- verdicts ------------------------------------------------------------------------------
    if verdicts:
        doc.section("Hypotheses")
        _hypotheses_section(doc, sweep, verdicts, adjust)

    _outcomes_section(doc, sweep)

    _heatmap_section(doc, sweep)

    conditions = _conditions(sweep, verdicts)
    styles = _condition_styles(sweep, conditions)

    # -- time series ---------------------------------------------------------------------------
    if sweep.series is not None and len(sweep.series):
        doc.section("Time series")
        _series_section(doc, sweep, conditions, styles)

    _truce_section(doc, sweep, conditions, styles)

    _clash_sizes_section(doc, sweep, conditions, styles, gof_boot)

    # -- sensitivity ---------------------------------------------------------------------------
    if sweep.design in ("sobol", "morris"):
        doc.section("Sensitivity indices")
        _sensitivity_section(doc, sweep)
    if sweep.ensemble is not None and sweep.ensemble.get("kind") == "sobol":
        doc.section("Sensitivity over the ensemble (Sobol)")
        _ensemble_sobol_section(doc, sweep, verdicts)

    _failures_section(doc, sweep)

    title = f"Sweep report: {name}"
    sub = f"From {d.resolve()}; written {_now()}."
    h = doc.write_html(o / "report.html", title, sub)
    m = doc.write_markdown(o / "report.md", title, sub)
    _atomic_text(o / "verdicts.json", json.dumps([v.as_dict() for v, _, _ in verdicts],
                                                 indent=2, default=jsonable))
    note = ("the sweep is not complete: " + incomplete_note(sweep.manifest)
            if sweep.manifest.get("complete") is False else "")
    return Report("sweep", d, o, h, m, doc.figures, [v for v, _, _ in verdicts], note)


def _experiment_section(doc: _Doc, sweep: Sweep) -> None:
    """The experiment: its scenario, design, runs, provenance, parameters and constants."""
    exp = sweep.experiment
    # -- overview ------------------------------------------------------------------------------
    doc.section("The experiment")
    if exp.get("description"):
        doc.p(str(exp["description"]))
    n_pts = sweep.runs["point_id"].nunique() if len(sweep.runs) else 0
    doc.p(f"Scenario `{exp.get('scenario', '?')}`, {exp.get('steps', '?')} weeks per run, "
          f"design `{sweep.design}`, {n_pts} points, {exp.get('replicates', '?')} "
          f"replicate{'' if exp.get('replicates') == 1 else 's'} per point, "
          f"master seed {exp.get('seed', '?')}: {len(sweep.runs):,} runs finished"
          + (f", {len(sweep.failed):,} failed" if len(sweep.failed) else "")
          + (f"; and {len(sweep.all_runs) - len(sweep.runs):,} runs of "
             f"{len(sweep.ablation_points)} ablation points (the hypotheses' control and "
             "treatment with a mechanism switched off)"
             if sweep.ablation_points and sweep.all_runs is not None else "") + ".")
    if sweep.manifest.get("complete") is False:
        doc.p("**This sweep is not complete**: " + incomplete_note(sweep.manifest)
              + "; the numbers below use the runs that have.")
    prov = sweep.manifest.get("provenance") or {}
    if prov:
        doc.p(f"Made with {_provenance_text(prov)}." if _provenance_text(prov) else "")
    prows = []
    for k, spec in (exp.get("parameters") or {}).items():
        if isinstance(spec, dict) and "values" in spec:
            desc = ", ".join(_val(v) for v in spec["values"])
        elif isinstance(spec, dict):
            desc = f"{spec.get('low')} to {spec.get('high')}" + (" (integers)"
                                                                  if spec.get("integer") else "")
        else:
            desc = str(spec)
        prows.append({"varied parameter": k, "values": desc})
    if prows:
        doc.table(pd.DataFrame(prows), "Varied parameters")
    ens = sweep.ensemble
    if ens is not None:
        doc.p(f"**Ensemble**: every point runs each of {ens.get('n_draws')} parameter draws "
              f"({_ensemble_label(ens)}) {ens.get('seeds', 1)} time"
              f"{'s' if ens.get('seeds', 1) != 1 else ''}; the draw is part of each run's key "
              "(docs/CALIBRATION.md).")
        logs = set(ens.get("log") or [])
        doc.table(pd.DataFrame([{"drawn parameter": k, "low": v[0], "high": v[1],
                                 "integer": bool(v[2]) if len(v) > 2 else False,
                                 "drawn": ("from the posterior" if ens.get("kind") == "posterior"
                                           else "uniformly on log10" if k in logs
                                           else "uniformly")}
                                for k, v in (ens.get("parameters") or {}).items()]),
                  "Parameters drawn for the replicates" + (
                      " (ranges of the calibration's priors)" if ens.get("kind") == "posterior"
                      else ""))
    consts = exp.get("constants") or {}
    if consts:
        doc.table(pd.DataFrame([{"constant": k, "value": _val(v)} for k, v in consts.items()]),
                  "Constants (applied to every run)")


def _outcomes_section(doc: _Doc, sweep: Sweep) -> None:
    """Each outcome over all runs, per point and against the varied parameters."""
    # -- outcomes ------------------------------------------------------------------------------
    doc.section("Outcomes")
    summary_rows = []
    for oc in sweep.outcomes:
        m, lo, hi, n = st.mean_ci(sweep.runs[oc])
        unit, meaning = _outcome_unit(oc)
        summary_rows.append({"outcome": oc, "unit": unit, "meaning": meaning, "mean": m,
                             "95% CI low": lo, "95% CI high": hi, "runs": n,
                             "undefined (nan)": int(sweep.runs[oc].isna().sum())})
    if summary_rows:
        doc.table(pd.DataFrame(summary_rows), "Outcomes over all finished runs of the design"
                  + (" (the ablation points' runs are left out)" if sweep.ablation_points
                     else ""))
    allr = sweep.all_runs if sweep.all_runs is not None else sweep.runs
    pts = (allr[["point_id"] + sweep.params].drop_duplicates("point_id").sort_values("point_id")
           .reset_index(drop=True)) if len(allr) else sweep.points()
    if sweep.params and len(pts) <= MAX_TABLE_POINTS:
        rows = []
        for pid in pts["point_id"]:
            sub = allr[allr["point_id"] == pid]
            r = {"point": int(pid), **{_short_key(p): sub[p].iloc[0] for p in sweep.params}}
            if sweep.ablation_points:
                r["ablation"] = (f"**{sweep.ablation_points[int(pid)]}**"
                                 if int(pid) in sweep.ablation_points else "")
            r["runs"] = len(sub)
            for oc in sweep.outcomes:
                m, lo, hi, _ = st.mean_ci(sub[oc])
                r[oc] = (f"{charts._short(m)} [{charts._short(lo)}, {charts._short(hi)}]"
                         if np.isfinite(lo) else charts._short(m))
            rows.append(r)
        doc.table(pd.DataFrame(rows), "Mean of each outcome per point, with its 95% CI"
                  + ("; points marked in the ablation column are the hypotheses' control and "
                     "treatment with a mechanism switched off (HYPOTHESIS:ABLATION)"
                     if sweep.ablation_points else ""))
    if sweep.params:
        for oc in sweep.outcomes:
            if sweep.runs[oc].notna().sum() == 0:
                doc.p(f"`{oc}` is undefined in every run; no chart.")
                continue
            unit, meaning = _outcome_unit(oc)
            doc.figure(charts.outcome_vs_parameters_figure(sweep.runs, oc, sweep.params,
                                                           unit=unit),
                       f"outcome_{oc}", f"{oc} against the varied parameters",
                       (f"{meaning}. " if meaning else "")
                       + "Each dot is a run; the line is the mean over replicates at each "
                       "value (averaged over the other varied parameters) with its 95% "
                       "confidence band (t interval).")


def _heatmap_section(doc: _Doc, sweep: Sweep) -> None:
    """Maps of each outcome over two varied parameters of a grid."""
    # -- 2-D heatmaps ----------------------------------------------------------------------------
    grid_params = [p for p in sweep.params if sweep.runs[p].nunique() <= 12]
    if sweep.design in ("grid", "explicit") and len(grid_params) >= 2:
        doc.section("Two-parameter maps")
        for px, py in list(combinations(grid_params, 2))[:3]:
            for oc in sweep.outcomes:
                if sweep.runs[oc].notna().sum() == 0:
                    continue
                unit, _ = _outcome_unit(oc)
                doc.figure(charts.heatmap_figure(sweep.runs, oc, px, py, unit=unit),
                           f"heatmap_{oc}_{px}_{py}", f"{oc} over {px} and {py}",
                           "Mean over replicates (and over any other varied parameter) in "
                           "each cell; n is the number of runs.")


def _truce_section(doc: _Doc, sweep: Sweep, conditions: dict[str, list[int]],
                   styles: dict[str, Any] | None) -> None:
    """How truces end, per condition."""
    # -- truces --------------------------------------------------------------------------------
    doc.section("Truce endings")
    tr = sweep.truces
    if tr is not None and len(tr):
        curves = {}
        if len(conditions) > 1:
            for lab, ids in conditions.items():
                curves[lab] = st.truce_competing_risks(tr[tr["point_id"].isin(ids)])
        curves["all runs"] = st.truce_competing_risks(tr)
        shown = {k: c for k, c in curves.items() if k != "all runs"} or curves
        doc.figure(_cif_figure(shown, styles=styles), "truce_endings", "How truces end",
                   _cif_caption())
        doc.table(_cif_table(curves), "Truce endings per condition (counts, and the "
                  "cumulative incidence of each way of ending by one and two years of age: "
                  "undefined below the age from which the condition's truces were observed; "
                  "median: nan when fewer than half break down)")
    else:
        doc.p("No truce was made in any run" + ("" if tr is not None else
                                                " (no truces.parquet in the folder)") + ".")


def _clash_sizes_section(doc: _Doc, sweep: Sweep, conditions: dict[str, list[int]],
                         styles: dict[str, Any] | None, gof_boot: int) -> None:
    """The clash-size tails, pooled and per condition."""
    # -- clash sizes ---------------------------------------------------------------------------
    doc.section("Clash sizes")
    cl = sweep.clashes
    if cl is not None and len(cl):
        samples = {"all runs": cl["size"].to_numpy(dtype=float)}
        if len(conditions) > 1:
            for lab, ids in conditions.items():
                samples[lab] = cl.loc[cl["point_id"].isin(ids), "size"].to_numpy(dtype=float)
        _clash_section(doc, samples, "all runs", gof_boot, seed=sweep.seed,
                       styles=styles)
    else:
        doc.p("No clash in any run" + ("" if cl is not None else
                                       " (no clashes.parquet in the folder)") + ".")


def _failures_section(doc: _Doc, sweep: Sweep) -> None:
    """The failed runs, if any."""
    # -- failures ------------------------------------------------------------------------------
    fails = sweep.manifest.get("failures") or []
    if len(sweep.failed) or fails:
        doc.section("Failed runs")
        doc.p(f"{max(len(sweep.failed), len(fails))} runs failed; their tracebacks are in "
              "manifest.json and runs/*.failed.json.")
        if len(sweep.failed):
            cols = [c for c in ("run_id", "point_id", "replicate", "seed", *sweep.params)
                    if c in sweep.failed]
            doc.table(sweep.failed[cols].head(50), "Failed runs (first 50)")


def _hypotheses_section(doc: _Doc, sweep: Sweep, verdicts, adjust: str) -> None:
    adj = {"holm": "Holm's", "bh": "Benjamini-Hochberg's", "none": "no"}.get(adjust, adjust)
    k = max((v.family_size for v, _, _ in verdicts), default=1)
    doc.p("Effect = mean of the outcome under treatment minus under control, over "
          "replicates, with its 95% Welch t interval. Each hypothesis states its smallest "
          "effect of interest (min_effect). **Supported**: Welch's test shows the effect goes "
          "the stated way and it is not shown smaller than min_effect; **not supported**: the "
          "effect is shown smaller than min_effect (which includes an effect shown to go the "
          "other way, or equivalent to none); **inconclusive**: neither is shown; **set by "
          "the rules**: the outcome is constant within both conditions, so there is nothing to "
          "test. Equivalence hypotheses (\"does not change\") are supported when the two "
          f"one-sided tests show the effect within +-min_effect. {adj.capitalize()} "
          f"correction across the {k} hypotheses of this experiment (and, separately, across "
          "their ablations); raw and adjusted p-values are both shown. The power is that of "
          "the test for min_effect at the observed standard deviations. The rule is in "
          "docs/REPORTS.md.")
    for v, c, t in verdicts:
        if v.statement:
            doc.p(f"**{v.id}.** {v.statement}")
        doc.verdict(v)
        unit, _ = _outcome_unit(v.outcome)
        if len(c) or len(t):
            abl = [a for a in v.ablations if np.isfinite(a.effect)]
            doc.figure(_hypothesis_figure(c, t, v, unit=unit), f"hypothesis_{v.id}",
                       f"{v.id}: control against treatment",
                       f"{v.outcome}{f' ({unit})' if unit and unit != '-' else ''} in each "
                       f"replicate under control ({_spec_label(v.control)}) and treatment "
                       f"({_spec_label(v.treatment)}), means with 95% t intervals (left); the "
                       "effect with its 95% Welch interval against 0 and min_effect (right)"
                       + (", and the effect under each ablation" if abl else "") + ".")
    rows = []
    for v, _, _ in verdicts:
        for x in [v] + list(v.ablations):
            rows.append({
                "id": x.id if not x.ablation else f"{v.id} ablation **{x.ablation}**",
                "outcome": x.outcome, "expect": x.expect, "min effect": x.min_effect,
                "effect": x.effect, "95% CI": (f"{st._fmt(x.ci_low, True)} to "
                                               f"{st._fmt(x.ci_high, True)}"
                                               if np.isfinite(x.ci_low) else "–"),
                "p": x.p_value, f"p ({adjust})": x.p_adjusted,
                "p refute": x.p_refute, f"p refute ({adjust})": x.p_refute_adjusted,
                "power": x.power, "verdict": x.verdict.upper(),
                "attribution": x.attribution or ""})
    doc.table(pd.DataFrame(rows), "Verdicts (p: the test that would support the hypothesis; "
              "p refute: the test that would refute it, the effect smaller than min_effect or, "
              "for equivalence, beyond it; power: of the support test for min_effect at the "
              "observed SDs; ablation rows are the same contrast with a mechanism switched off)")
    rows = []
    for v, _, _ in verdicts:
        for x in [v] + list(v.ablations):
            rows.append({
                "id": x.id if not x.ablation else f"{v.id} ablation **{x.ablation}**",
                "n control": x.n_control, "n treatment": x.n_treatment,
                "undefined": x.dropped, "control mean": x.mean_control,
                "treatment mean": x.mean_treatment, "control SD": x.sd_control,
                "treatment SD": x.sd_treatment, "Welch t": x.statistic, "df": x.df,
                "BCa 95% CI": (f"{st._fmt(x.bca_low, True)} to {st._fmt(x.bca_high, True)}"
                               if np.isfinite(x.bca_low) else "–"),
                "Mann-Whitney p": x.mw_p,
                "runs per condition for power 0.8": x.replicates_needed})
    doc.table(pd.DataFrame(rows), "The numbers behind the verdicts (the BCa bootstrap interval "
              "and the Mann-Whitney test are reported as checks; they do not enter the rule)")
    ens = [(v, v.ensemble) for v, _, _ in verdicts if v.ensemble]
    if ens:
        doc.p("**Over the ensemble of parameter draws.** The verdict above pools every run. "
              "Each draw's effect is the mean of the outcome over that draw's treatment runs "
              "minus over its control runs; the share is of the draws whose effect has the "
              "stated sign and size (at least min_effect the stated way; for equivalence, "
              "within +-min_effect), with its 95% Wilson interval. Each draw's effect carries "
              "the noise of its few runs as well as the parameters' effect.")
        for v, _ in ens:
            doc.pre(f"{v.id}: {v.ensemble_text()}")
        doc.table(pd.DataFrame([{
            "id": v.id, "outcome": v.outcome, "expect": v.expect, "min effect": v.min_effect,
            "pooled verdict": v.verdict.upper(), "draws": e["n"],
            "share meeting it": e["share"], "95% low (Wilson)": e["low"],
            "95% high (Wilson)": e["high"], "effect median": e["effect_median"],
            "effect 5%": e["effect_q05"], "effect 95%": e["effect_q95"]} for v, e in ens]),
            "Verdicts over the ensemble: pooled, and the share of parameter draws in which the "
            "effect has the stated sign and size")


def _hypothesis_figure(control: np.ndarray, treatment: np.ndarray, v: st.Verdict, *,
                       unit: str = ""):
    """The replicate values under control and treatment (dots), their means with 95% t
    intervals, and the effect (and the effect under each ablation) with its Welch interval
    against 0 and the smallest effect of interest."""
    c = np.asarray(control, dtype=float)
    t = np.asarray(treatment, dtype=float)
    rows = [("effect", v)] + [(f"ablation {a.ablation}", a) for a in v.ablations]
    with charts.style():
        fig = charts.new_figure((9.5, 3.4 + 0.25 * max(0, len(rows) - 2)))
        ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1.0]})
        jitter = np.random.default_rng(0)
        for i, (vals, col) in enumerate(((c, "#999999"), (t, "#0072B2"))):
            x = vals[np.isfinite(vals)]
            ax.scatter(i + jitter.uniform(-0.1, 0.1, len(x)), x, s=14, color=col, alpha=0.6,
                       lw=0)
            m, lo, hi, _ = st.mean_ci(x)
            if np.isfinite(m):
                ax.errorbar(i + 0.25, m, yerr=[[m - lo], [hi - m]] if np.isfinite(lo) else None,
                            marker="D", color="black", capsize=4, ms=5)
        ax.set_xticks([0, 1], [f"control\n(n = {v.n_control})",
                               f"treatment\n(n = {v.n_treatment})"])
        ax.set_xlim(-0.5, 1.6)
        ax.set_ylabel(charts.outcome_label(v.outcome, unit))
        ax.set_title("Replicates, mean and 95% CI")
        lims = [0.0]
        for j, (lab, x) in enumerate(rows):
            y = -j
            if not np.isfinite(x.effect):
                continue
            err = ([[x.effect - x.ci_low], [x.ci_high - x.effect]]
                   if np.isfinite(x.ci_low) else None)
            colour = ("#a3122a" if x.attribution == "survives" else
                      "black" if j == 0 else "#555555")
            bx.errorbar([x.effect], [y], xerr=err, marker="o" if j == 0 else "s",
                        color=colour, capsize=5, ms=7 if j == 0 else 5, lw=2 if j == 0 else 1.4)
            lims += [x.effect] + ([x.ci_low, x.ci_high] if np.isfinite(x.ci_low) else [])
        bx.axvline(0, color="#444444", lw=1)
        m = v.min_effect
        if np.isfinite(m) and m > 0:
            sides = {"greater": [m], "less": [-m]}.get(v.expect, [-m, m])
            for sd in sides:
                bx.axvline(sd, color="#D55E00", ls="--", lw=1.2)
            lims += sides
            bx.plot([], [], color="#D55E00", ls="--",
                    label=f"smallest effect of interest ({st._fmt(m)})")
            bx.legend(loc="upper center", bbox_to_anchor=(0.5, -0.32), fontsize=8)
        lims = [x for x in lims if np.isfinite(x)]
        lo_, hi_ = min(lims), max(lims)
        pad = 0.15 * (hi_ - lo_ or 1.0)
        bx.set_xlim(lo_ - pad, hi_ + pad)
        bx.set_yticks([-j for j in range(len(rows))], [lab for lab, _ in rows], fontsize=8)
        bx.set_ylim(-len(rows) + 0.4, 0.6)
        bx.set_xlabel("treatment − control" + (f" ({unit})" if unit and unit != "-" else ""))
        bx.set_title(f"Effect, 95% Welch CI: {v.verdict}")
        bx.grid(axis="y", visible=False)
        fig.suptitle(f"{v.id}: {v.outcome}", x=0.01, ha="left", fontweight="bold")
        fig.tight_layout()
    return fig


def _morris_sample(sweep: Sweep, names: list[str], per_point) -> np.ndarray:
    """The Morris sample matrix in point order: the sampler's values before any rounding of
    integer parameters (points.parquet ``sample:KEY``) when the folder has them."""
    if sweep.design_points is not None:
        pts = sweep.design_points.sort_values("point_id")
        pts = pts[pts["point_id"].isin(per_point.groups.keys())]
        cols = [f"sample:{k}" if f"sample:{k}" in pts else k for k in names]
        if all(c in pts for c in cols):
            return pts[cols].to_numpy(dtype=float)
    return per_point[names].first().to_numpy(dtype=float)


_SERIES_ORDER = ["fighters", "territory", "defect", "defect_in", "defect_out", "relation",
                 "clashes", "hostility", "recruits", "militant_cells", "ungoverned"]


def _series_section(doc: _Doc, sweep: Sweep, conditions: dict[str, list[int]],
                    styles: dict[str, Any] | None = None) -> None:
    s = sweep.series
    cols = [c for c in s.columns if c not in ("run_id", "point_id", "replicate", "week", "year")]
    by_var: dict[str, list[str]] = {}
    for c in cols:
        by_var.setdefault(col_var(c) if parse_col(c).kind != "model" else "model", []).append(c)
    order = sorted(by_var, key=lambda v: (_SERIES_ORDER.index(v) if v in _SERIES_ORDER
                                          else len(_SERIES_ORDER), v))
    shown = order[:MAX_SERIES_FIGURES]
    s = s.copy()
    for v in shown:
        vcols = by_var[v][:MAX_SERIES_PANELS]
        ylabel = ""
        if v == "relation":
            for c in vcols:
                s[c] = (s[c] == 1).astype(float)
            ylabel = "share of runs in truce"
        cap = ("Mean over replicates with its 95% confidence band (t interval), per "
               "condition; one panel per column.")
        if v == "relation":
            cap = ("Share of runs in which each pair is in truce, per condition, with its 95% "
                   "band.")
        if len(by_var[v]) > len(vcols):
            cap += f" (first {len(vcols)} of {len(by_var[v])} columns)"
        doc.figure(charts.series_bands_figure(s, vcols, conditions, ylabel=ylabel,
                                              title=f"{v}: mean over replicates",
                                              styles=styles,
                                              clip=(0.0, 1.0) if v == "relation" else None),
                   f"series_{v}", f"Time series: {v}", cap)
    if len(order) > len(shown):
        doc.p("Not charted (kept in series.parquet): " + ", ".join(order[len(shown):]) + ".")


def _sensitivity_section(doc: _Doc, sweep: Sweep) -> None:
    exp = sweep.experiment
    problem = exp.get("problem") or (exp.get("design") or {}).get("problem")
    if not problem:
        ps = exp.get("parameters") or {}
        problem = {"num_vars": len(ps), "names": list(ps),
                   "bounds": [[v.get("low"), v.get("high")] for v in ps.values()]}
    design = exp.get("design") or {}
    names = list(problem["names"])
    runs = sweep.runs.sort_values("point_id")
    n_expected = design.get("points") or exp.get("points")
    per_point = runs.groupby("point_id")
    got = per_point.ngroups
    if n_expected and got != n_expected:
        doc.p(f"Sensitivity indices need every point of the design: {got} of {n_expected} "
              "points have finished runs.")
        return
    seed = sweep.seed
    rows = []
    for oc in sweep.outcomes:
        y = per_point[oc].mean().to_numpy(dtype=float)
        try:
            if sweep.design == "sobol":
                idx = st.sobol_indices(problem, y, design.get("second_order"), seed=seed)
                doc.figure(charts.sobol_figure(idx, oc), f"sobol_{oc}", f"Sobol indices: {oc}",
                           "First-order (S1: the share of the outcome's variance due to the "
                           "parameter alone) and total-order (ST: including its interactions) "
                           "indices with 95% bootstrap intervals (SALib), of the outcome "
                           "averaged over replicates at each sample point.")
                for r in idx.itertuples(index=False):
                    rows.append({"outcome": oc, "parameter": r.parameter, "S1": r.S1,
                                 "S1 ±": r.S1_conf, "ST": r.ST, "ST ±": r.ST_conf})
            else:
                X = _morris_sample(sweep, names, per_point)
                idx = st.morris_indices(problem, X, y, num_levels=int(design.get("levels", 4)),
                                        seed=seed)
                doc.figure(charts.morris_figure(idx, oc), f"morris_{oc}",
                           f"Morris screening: {oc}",
                           "mu*: mean absolute elementary effect (how much the parameter "
                           "matters), with its 95% bootstrap interval; sigma: their spread "
                           "(non-linearity or interactions). SALib, outcome averaged over "
                           "replicates at each point.")
                for r in idx.itertuples(index=False):
                    rows.append({"outcome": oc, "parameter": r.parameter, "mu*": r.mu_star,
                                 "mu* ±": r.mu_star_conf, "mu": r.mu, "sigma": r.sigma})
        except (ValueError, ZeroDivisionError) as exc:
            doc.p(f"`{oc}`: no sensitivity indices ({exc}).")
    if rows:
        doc.table(pd.DataFrame(rows), "Sensitivity indices")


def _ensemble_sobol_section(doc: _Doc, sweep: Sweep, verdicts) -> None:
    tab = ensemble_sobol(sweep, verdicts)
    doc.p("First-order (S1: the share of the variance due to the parameter alone) and total "
          "(ST: with its interactions) Sobol indices over the ensemble's draws (SALib's "
          "`sobol` sample and analysis), with 95% bootstrap intervals (+-), of each outcome "
          "(mean over the draw's control runs) and of each hypothesis' effect (treatment minus "
          "control at the draw).")
    for target, sub in tab.groupby("target", sort=False):
        if sub["error"].iloc[0]:
            doc.p(f"{target}: no indices ({sub['error'].iloc[0]}).")
            continue
        idx = sub[["parameter", "S1", "S1_conf", "ST", "ST_conf"]].reset_index(drop=True)
        doc.figure(charts.sobol_figure(idx, target), f"ensemble_sobol_{target}",
                   f"Sobol indices: {target}", "S1 and ST with 95% bootstrap intervals.")
    ok = tab[tab["error"] == ""]
    if len(ok):
        doc.table(ok.drop(columns="error").rename(columns={"S1_conf": "S1 ±",
                                                           "ST_conf": "ST ±"}),
                  "Sobol indices over the ensemble")
    _atomic_text(doc.out / "ensemble_sobol.json",
                 json.dumps(tab.to_dict("records"), indent=2, default=jsonable))
