"""``militant-sim report`` and ``militant-sim animate``: reports of run and sweep folders."""

from __future__ import annotations

from pathlib import Path
from ..analysis import charts
from ..analysis import stats as st
import argparse
import sys
from ..analysis.report import (DEFAULT_FORMATS, ReportError, kind_of, report)


# =============================================================================================
# Command line
# =============================================================================================
def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="charts, numbers and hypothesis verdicts of a run or a sweep",
        description="Write PNG and SVG charts, report.html (self-contained) and report.md for "
        "a run folder (from 'militant-sim run') or a sweep folder (from 'militant-sim sweep'). "
        "For a sweep with a hypothesis, print one verdict line per hypothesis "
        "(rule: docs/REPORTS.md).")
    p.add_argument("dir", metavar="DIR", help="a run folder or a sweep folder")
    p.add_argument("--out", default=None, help="output folder (default: DIR/report)")
    p.add_argument("--weeks", default=None, metavar="W1,W2,...",
                   help="weeks of the control maps of a run report (default: start, one "
                   "third, two thirds, end)")
    p.add_argument("--format", default=",".join(DEFAULT_FORMATS), metavar="png,svg",
                   help="chart file formats (default: png,svg; PNG is always written)")
    p.add_argument("--gof", type=int, default=st.GOF_BOOT, metavar="N",
                   help="bootstrap N synthetic data sets for the goodness-of-fit p-value of the "
                   f"clash-size power law (default {st.GOF_BOOT}; 0: off)")
    p.add_argument("--adjust", default=st.DEFAULT_ADJUST, choices=st.ADJUST_METHODS,
                   help="correction for multiple comparisons across the experiment's "
                   f"hypotheses: holm (family-wise error; default), bh (false discovery rate) "
                   "or none")
    p.add_argument("--quiet", action="store_true", help="print only the verdict lines")
    p.set_defaults(func=cmd_report)

    a = sub.add_parser(
        "animate", help="GIF (or MP4) of a run's control map with fighters, week by week",
        description="Write an animation of the control map with each group's fighters (dots "
        "sized by their number) beside the fighter counts, week by week.")
    a.add_argument("dir", metavar="RUN_DIR", help="a run folder (from 'militant-sim run')")
    a.add_argument("--out", default=None,
                   help="output file, .gif or .mp4 (MP4 needs ffmpeg); default: "
                   "RUN_DIR/animation.gif")
    a.add_argument("--fps", type=int, default=8, help="frames per second (default 8)")
    a.add_argument("--every", type=int, default=None, metavar="WEEKS",
                   help="weeks between frames (default: every kept week, at most 300 frames)")
    a.add_argument("--dpi", type=int, default=90, help="resolution (default 90: 900x486)")
    a.set_defaults(func=cmd_animate)


def _usage(msg: str):
    from ..common.errors import UsageError

    return UsageError(msg)


def parse_weeks(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        weeks = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise _usage(f"--weeks {text!r}: expected whole numbers separated by commas, for "
                     "example --weeks 0,52,104") from None
    if not weeks:
        raise _usage(f"--weeks {text!r}: no week given")
    return weeks


def cmd_report(args: argparse.Namespace) -> int:
    formats = tuple(f.strip().lower() for f in args.format.split(",") if f.strip())
    bad = [f for f in formats if f not in ("png", "svg", "pdf")]
    if bad:
        raise _usage(f"--format {args.format!r}: unknown format {bad[0]!r}; allowed: png, svg, "
                     "pdf")
    if args.gof < 0:
        raise _usage(f"--gof {args.gof}: must be 0 or more")
    try:
        rep = report(args.dir, args.out, weeks=parse_weeks(args.weeks), formats=formats,
                     gof_boot=args.gof, adjust=args.adjust)
    except ReportError as exc:
        raise _usage(str(exc)) from None
    for v in rep.verdicts:
        print(v.text())
    if rep.kind == "sweep" and rep.note:
        print(f"militant-sim: note: {rep.note}", file=sys.stderr)
    if not args.quiet:
        print(f"{rep.kind} report: {rep.html} ({len(rep.figures)} charts; also report.md, PNG "
              f"and SVG files in {rep.out}/)")
    return 0


def cmd_animate(args: argparse.Namespace) -> int:
    from ..core.record import RunResult

    d = Path(args.dir)
    try:
        kind = kind_of(d)
    except ReportError as exc:
        raise _usage(str(exc)) from None
    if kind != "run":
        raise _usage(f"{d}: a sweep folder; animate a run folder (from 'militant-sim run')")
    if args.fps < 1:
        raise _usage(f"--fps {args.fps}: must be at least 1")
    if args.every is not None and args.every < 1:
        raise _usage(f"--every {args.every}: must be at least 1 week")
    if args.dpi < 20:
        raise _usage(f"--dpi {args.dpi}: must be at least 20")
    out = Path(args.out) if args.out else d / "animation.gif"
    if out.suffix.lower() not in (".gif", ".mp4"):
        raise _usage(f"--out {out}: must end in .gif or .mp4")
    try:
        result = RunResult.load(d)
        path = charts.animate(result, out, fps=args.fps, every=args.every, dpi=args.dpi)
    except (ValueError, RuntimeError) as exc:
        raise _usage(f"{d}: {exc}") from None
    print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    from .main import main

    sys.exit(main(["report", *sys.argv[1:]]))
