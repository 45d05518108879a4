"""The README's table of hypothesis verdicts, generated from the shipped experiments.

    .venv/bin/python scripts/verdicts_table.py --run sweeps/study --keep --write  # the study
    .venv/bin/python scripts/verdicts_table.py --run sweeps/study --ensemble --keep --write
    .venv/bin/python scripts/verdicts_table.py --run sweeps/study --posterior --keep --write
    .venv/bin/python scripts/verdicts_table.py --run sweeps/ens --ensemble --ensembles-only \
        --keep --write                                      # the ensemble alone, again
    .venv/bin/python scripts/verdicts_table.py studies/verdicts --check         # compare only

It reads (with --run: first runs or resumes) the sweeps of experiments/h1..h6 in the given
folder, evaluates their hypotheses with the same code as ``militant-sim report``, corrects the
p-values across all of them as one study (Holm's correction; ablations as a second family),
and writes the table between the README's ``<!-- verdicts:start -->`` and
``<!-- verdicts:end -->`` markers: verdict, effect with its 95% Welch interval, the smallest
effect of interest, raw and Holm-adjusted p, the power for min_effect at the observed SDs and
what each ablation says about the mechanism; with an ensemble in the folder (``--ensemble``:
each experiment over Latin-hypercube draws of the shared parameters of calibrations/core.toml,
in FOLDER/ensemble/), the share of draws in which each effect has its stated sign and size;
with a posterior ensemble (``--posterior``: each experiment over draws from the posterior of
calibrations/core, in FOLDER/posterior/), the same share over parameter sets that fit the record.
``--keep`` copies the tables the verdicts read into ``studies/verdicts/`` (kept in the repository); ``tests/test_verdicts.py`` checks the
README against them and remakes one run of each experiment to check the kept study is what the
model gives now.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EXPERIMENTS = ["h1_claim", "h2_restriction", "h3_propaganda", "h4_infighting",
               "h5_governance", "h6_leader"]
START, END = "<!-- verdicts:start -->", "<!-- verdicts:end -->"


def run_sweeps(folder: Path, workers: int | None = None, replicates: int | None = None) -> None:
    """Run (or resume) the six experiments into ``folder``; ``replicates`` overrides the files'
    (their default is 30 per condition; a smaller study is a subset of the full one, whose seeds
    are the same, so it can be extended later)."""
    from sim.sweeps.runner import run_sweep

    for name in EXPERIMENTS:
        run_sweep(ROOT / "experiments" / f"{name}.toml", workers=workers, out=folder / name,
                  progress=False, replicates=replicates)


def _num(x: float) -> str:
    if x != x:  # nan
        return "nan"
    a = abs(x)
    digits = 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 0.1 else 3
    out = f"{x:+.{digits}f}"
    return "0" if float(out) == 0 else out


def _p(p: float) -> str:
    if p != p:
        return "–"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}" if p < 0.001 else f"{p:.3f}"


def _contrast(control: dict, treatment: dict) -> str:
    keys = [k for k in treatment if control.get(k) != treatment.get(k)] or list(treatment)
    return "; ".join(f"`{k}` {control.get(k, 'any')} → {treatment.get(k, 'any')}" for k in keys)


def _ablations(v) -> str:
    if not v.ablations:
        return "–"
    word = {"removes": "removed by", "survives": "**survives**",
            "shared": "shared (part of it):", "undetermined": "undecided:",
            "not interpreted": "not interpreted:"}
    return "; ".join(f"{word.get(a.attribution, a.attribution)} `{a.ablation}`"
                     for a in v.ablations)


#: the tables of a sweep folder that the verdicts read, kept in studies/verdicts/NAME/
KEPT = ("manifest.json", "points.parquet", "runs.parquet", "truces.parquet")
STUDY = ROOT / "studies" / "verdicts"
#: the ensemble of the study: each experiment again, each replicate a Latin-hypercube draw of
#: the shared parameters from the priors of the core calibration (a log-uniform prior drawn
#: uniformly on log10 of the value), one seed per draw
ENSEMBLE = "ensemble"
ENSEMBLE_DRAWS = 30
CALIBRATION = ROOT / "calibrations" / "core.toml"
#: the posterior ensemble: each experiment again, each replicate a draw (by weight) from the
#: posterior of the core calibration, one seed per draw
POSTERIOR = "posterior"
POSTERIOR_SOURCE = "calibrations/core"


def ensemble_ranges(experiment: Path) -> dict[str, tuple[float, float, str]]:
    """The shared parameters of ``calibrations/core.toml`` with their priors (low, high and
    ``uniform`` or ``loguniform``), less those the experiment sets itself (its constants,
    varied parameters and ablations)."""
    import tomllib

    cal = tomllib.loads(CALIBRATION.read_text())["parameters"]
    exp = tomllib.loads(experiment.read_text())
    own = set(exp.get("constants", {})) | set(exp.get("parameters", {}))
    hyp = exp.get("hypothesis", {})
    for h in [hyp, *hyp.get("also", [])]:
        for a in h.get("ablation", []):
            own |= set(a.get("set", {}))
    return {k: (float(v["low"]), float(v["high"]), str(v.get("prior", "uniform")))
            for k, v in cal.items() if k not in own}


def _with_ensemble(name: str, folder: Path, line: str, what: str) -> Path:
    """Write experiment ``name`` into ``folder`` with its ``replicates = N`` line replaced by
    the ``ensemble = ...`` line given, and return the new file's path."""
    import re

    src = ROOT / "experiments" / f"{name}.toml"
    text, n = re.subn(r"^replicates = \d+.*$", line, src.read_text(), count=1, flags=re.M)
    if n != 1:
        raise SystemExit(f"{src}: no 'replicates = N' line to replace by the ensemble")
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}.toml"
    out.write_text(f"# The {what} version of experiments/{name}.toml, written by "
                   "scripts/verdicts_table.py\n" + text)
    return out


def ensemble_experiment(name: str, folder: Path) -> Path:
    """Write the ensemble version of experiment ``name`` into ``folder`` and return its path:
    the file with ``replicates`` replaced by an ``ensemble`` of ENSEMBLE_DRAWS draws."""
    ranges = ensemble_ranges(ROOT / "experiments" / f"{name}.toml")
    params = ", ".join(f'{k} = {{ low = {lo!r}, high = {hi!r}, prior = "{prior}" }}'
                       for k, (lo, hi, prior) in ranges.items())
    line = f"ensemble = {{ lhs = {ENSEMBLE_DRAWS}, parameters = {{ {params} }} }}"
    return _with_ensemble(name, folder, line, "ensemble")


def posterior_experiment(name: str, folder: Path, source: str = POSTERIOR_SOURCE) -> Path:
    """Write the posterior-ensemble version of experiment ``name`` into ``folder`` and return
    its path: ``replicates`` replaced by ENSEMBLE_DRAWS draws from the posterior in ``source``
    (every parameter the posterior has and the experiment does not vary; an ablation point's
    own values win over a draw)."""
    line = f'ensemble = {{ posterior = "{source}", draws = {ENSEMBLE_DRAWS} }}'
    return _with_ensemble(name, folder, line, "posterior-ensemble")


def run_ensembles(folder: Path, workers: int | None = None, kind: str = ENSEMBLE) -> None:
    """Run (or resume) the ensemble version (``kind``: ENSEMBLE, Latin-hypercube draws, or
    POSTERIOR, draws from the core posterior) of the six experiments into ``folder/kind``."""
    from sim.sweeps.runner import run_sweep

    write = ensemble_experiment if kind == ENSEMBLE else posterior_experiment
    for name in EXPERIMENTS:
        path = write(name, folder / kind)
        run_sweep(path, workers=workers, out=folder / kind / name, progress=False)


def keep(folder: Path, into: Path = STUDY) -> None:
    """Copy the tables the verdicts read from each sweep of ``folder`` into ``into`` (the study
    kept in the repository; its run files and series stay behind)."""
    import shutil

    for name in EXPERIMENTS:
        for sub in (Path(name), Path(ENSEMBLE) / name, Path(POSTERIOR) / name):
            if not (folder / sub).is_dir():
                continue
            (into / sub).mkdir(parents=True, exist_ok=True)
            for f in KEPT:
                if (folder / sub / f).is_file():
                    shutil.copy2(folder / sub / f, into / sub / f)


def verdicts(folder: Path, adjust: str = "holm") -> list:
    """Every hypothesis of the six sweeps, corrected as one study: Holm's correction (or
    ``adjust``) across all of them, and across all their ablations."""
    from sim.analysis.report import evaluate, load_sweep
    from sim.analysis.stats import adjust_study

    vs = [v for name in EXPERIMENTS for v, _, _ in evaluate(load_sweep(folder / name),
                                                             adjust=None)]
    return adjust_study(vs, adjust)


def ensemble_shares(folder: Path, kind: str = ENSEMBLE) -> dict[str, str]:
    """Per hypothesis id, the share of the ensemble's parameter draws (``kind``: ENSEMBLE or
    POSTERIOR) in which the effect has the stated sign and size, with its Wilson interval
    ("87% (70-95%) of 30"); empty when the study has no such ensemble."""
    from sim.analysis.report import evaluate, load_sweep

    if not all((folder / kind / n / "runs.parquet").is_file() for n in EXPERIMENTS):
        return {}
    out = {}
    for name in EXPERIMENTS:
        for v, _, _ in evaluate(load_sweep(folder / kind / name), adjust=None):
            e = v.ensemble
            if e and e.get("n"):
                out[v.id] = (f"{100 * e['share']:.0f}% ({100 * e['low']:.0f}–"
                             f"{100 * e['high']:.0f}%) of {e['n']}")
            else:
                out[v.id] = "–"
    return out


def table(folder: Path, adjust: str = "holm") -> str:
    """The Markdown table of every hypothesis and contrast of the sweeps in ``folder``."""
    name = {"holm": "Holm", "bh": "BH", "none": "adj."}[adjust]
    shares = ensemble_shares(folder)
    post = ensemble_shares(folder, POSTERIOR)
    rows = [f"| id | outcome | contrast (control → treatment) | effect, 95% CI | min effect "
            f"| p | p ({name}) | power | ablations | verdict |"
            + (" share of prior draws |" if shares else "")
            + (" share of posterior draws |" if post else ""),
            "|---|---|---|---|---|---|---|---|---|---|" + ("---|" if shares else "")
            + ("---|" if post else "")]
    for v in verdicts(folder, adjust):
        kind = " (equivalence)" if v.expect == "equivalent" else ""
        outcome = v.outcome.replace("|", "\\|")  # a pair name inside a table cell
        power = f"{v.power:.2f}" if v.power == v.power else "–"
        rows.append(f"| {v.id} | `{outcome}`{kind} | {_contrast(v.control, v.treatment)} "
                    f"| {_num(v.effect)} ({_num(v.ci_low)} to {_num(v.ci_high)}) "
                    f"| {_num(v.min_effect).lstrip('+')} | {_p(v.p_value)} "
                    f"| {_p(v.p_adjusted)} | {power} | {_ablations(v)} | {v.verdict} |"
                    + (f" {shares.get(v.id, '–')} |" if shares else "")
                    + (f" {post.get(v.id, '–')} |" if post else ""))
    return "\n".join(rows)


def readme_table(text: str | None = None) -> str:
    text = README.read_text() if text is None else text
    if START not in text or END not in text:
        raise SystemExit(f"{README}: the markers {START} and {END} are missing")
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default=str(ROOT / "sweeps"),
                    help="the folder holding one sweep folder per experiment")
    ap.add_argument("--run", action="store_true", help="run (or resume) the sweeps first")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--replicates", type=int, default=None,
                    help="replicates per point (default: each experiment's own, 30)")
    ap.add_argument("--ensemble", action="store_true",
                    help=f"with --run, also run each experiment over {ENSEMBLE_DRAWS} "
                    "Latin-hypercube draws of the shared parameters (the priors of "
                    "calibrations/core.toml) into FOLDER/ensemble")
    ap.add_argument("--ensembles-only", action="store_true",
                    help="with --run, run only the ensembles asked for (--ensemble, "
                    "--posterior), not the experiments themselves; with --keep, the kept "
                    "experiments are read with the new ensembles")
    ap.add_argument("--posterior", action="store_true",
                    help=f"with --run, also run each experiment over {ENSEMBLE_DRAWS} draws "
                    f"from the posterior of {POSTERIOR_SOURCE} into FOLDER/{POSTERIOR}")
    ap.add_argument("--keep", action="store_true",
                    help=f"copy the sweeps' tables into {STUDY.relative_to(ROOT)}/ and read "
                    "the verdicts from there")
    what = ap.add_mutually_exclusive_group()
    what.add_argument("--write", action="store_true", help="rewrite the README's table")
    what.add_argument("--check", action="store_true", help="exit 1 if the README differs")
    args = ap.parse_args(argv)
    folder = Path(args.folder)
    if args.ensembles_only and not (args.run and (args.ensemble or args.posterior)):
        ap.error("--ensembles-only needs --run and --ensemble or --posterior")
    if args.run:
        if not args.ensembles_only:
            run_sweeps(folder, args.workers, args.replicates)
        if args.ensemble:
            run_ensembles(folder, args.workers)
        if args.posterior:
            run_ensembles(folder, args.workers, POSTERIOR)
    if args.keep:
        keep(folder)
        folder = STUDY
    new = table(folder)
    if args.write:
        text = README.read_text()
        head, rest = text.split(START, 1)
        README.write_text(head + START + "\n" + new + "\n" + END + rest.split(END, 1)[1])
        print(f"{README}: verdicts table written")
        return 0
    if args.check:
        if readme_table() != new:
            print("README's verdicts differ from the experiments; update with\n"
                  "  .venv/bin/python scripts/verdicts_table.py --run sweeps --write",
                  file=sys.stderr)
            return 1
        print("README's verdicts match the experiments")
        return 0
    print(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
