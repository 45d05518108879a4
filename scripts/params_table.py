"""Generate the tables of docs/ODD.md from the code, so the documentation cannot drift.

Each generated block sits in docs/ODD.md between marker comments::

    <!-- params:start -->        global parameters (sim.core.params.PARAMS, via table_markdown())
    <!-- group-fields:start -->  attributes of a group in a scenario file (GROUP_FIELDS)
    <!-- cell-fields:start -->   attributes of a map zone in a scenario file (CELL_FIELDS)
    <!-- events:start -->        timeline event kinds and their fields (sim.core.scenario.EVENT_KINDS)

each closed by the matching ``<!-- NAME:end -->``.

Usage::

    .venv/bin/python scripts/params_table.py            # print the blocks
    .venv/bin/python scripts/params_table.py --write    # rewrite them in docs/ODD.md
    .venv/bin/python scripts/params_table.py --check    # exit 1 if docs/ODD.md is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ODD = ROOT / "docs" / "ODD.md"
REGENERATE = ".venv/bin/python scripts/params_table.py --write"


def _cell(text: object) -> str:
    """A table cell: pipes escaped, no line breaks."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _num(x) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e12 else f"{x:g}"


def _range(low, high) -> str:
    if low is None and high is None:
        return ""
    lo = "-inf" if low is None else _num(low)
    hi = "inf" if high is None else _num(high)
    return f"[{lo}, {hi}]"


def _default(value) -> str:
    if isinstance(value, str):
        return f'`"{value}"`'
    if value is None:
        return "(none)"
    return str(value)


def fields_table(fields) -> str:
    """A Markdown table of scenario fields (GROUP_FIELDS or CELL_FIELDS)."""
    rows = ["| key | default | unit | range | meaning | source |", "|---|---|---|---|---|---|"]
    for p in fields.values():
        rng = "a string" if p.kind is str else _range(p.low, p.high)
        if p.kind is int and rng:
            rng += ", whole"
        rows.append(f"| `{p.name}` | {_default(p.default)} | {_cell(p.unit)} | {rng} | "
                    f"{_cell(p.meaning)} | {_cell(p.source)} |")
    return "\n".join(rows)


_FIELD_TYPES = {"zone": "zone name", "group": "group name", "groups": "list of group names",
                "field": "group field name", "float": "number", "int": "whole number",
                "str": "string"}


def events_table() -> str:
    """A Markdown table of the timeline event kinds and their fields."""
    from sim.core.scenario import EVENT_KINDS

    rows = ["| event | field | type | required | default | range | meaning |",
            "|---|---|---|---|---|---|---|"]
    for kind, fields in EVENT_KINDS.items():
        for name, f in fields.items():
            kind_name = "whole week" if name == "until" else _FIELD_TYPES.get(f.kind, f.kind)
            rows.append(f"| `{kind}` | `{name}` | {kind_name} | "
                        f"{'yes' if f.required else 'no'} | "
                        f"{'' if f.required else _default(f.default)} | "
                        f"{_range(f.low, f.high)} | {_cell(f.meaning)} |")
    return "\n".join(rows)


def blocks() -> dict[str, str]:
    """Every generated block, by marker name."""
    from sim.core.params import CELL_FIELDS, GROUP_FIELDS, table_markdown

    return {"params": table_markdown(), "group-fields": fields_table(GROUP_FIELDS),
            "cell-fields": fields_table(CELL_FIELDS), "events": events_table()}


def _pattern(name: str) -> re.Pattern:
    n = re.escape(name)
    return re.compile(rf"(<!-- {n}:start -->\n)(.*?)\n?(<!-- {n}:end -->)", re.S)


def extract(text: str, name: str) -> str | None:
    """The content of block ``name`` in ``text`` (None if its markers are missing)."""
    m = _pattern(name).search(text)
    return None if m is None else m.group(2)


def render(text: str) -> str:
    """``text`` with every generated block replaced by its current content."""
    for name, content in blocks().items():
        pat = _pattern(name)
        if not pat.search(text):
            raise SystemExit(f"{ODD}: markers <!-- {name}:start --> / <!-- {name}:end --> "
                             "not found")
        text = pat.sub(lambda m: m.group(1) + content + "\n" + m.group(3), text, count=1)
    return text


def stale_blocks(text: str) -> list[str]:
    """Names of the blocks whose content in ``text`` differs from what the code generates."""
    return [name for name, content in blocks().items() if extract(text, name) != content]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the blocks in docs/ODD.md")
    mode.add_argument("--check", action="store_true",
                      help="exit 1 if docs/ODD.md differs from the code")
    ap.add_argument("--file", type=Path, default=ODD, help="the document (default: docs/ODD.md)")
    args = ap.parse_args(argv)
    if not (args.write or args.check):
        for name, content in blocks().items():
            print(f"<!-- {name}:start -->\n{content}\n<!-- {name}:end -->\n")
        return 0
    text = args.file.read_text(encoding="utf-8")
    if args.check:
        stale = stale_blocks(text)
        if stale:
            print(f"{args.file}: out of date: {', '.join(stale)}; run {REGENERATE}",
                  file=sys.stderr)
            return 1
        print(f"{args.file}: generated tables are up to date")
        return 0
    new = render(text)
    if new != text:
        args.file.write_text(new, encoding="utf-8")
        print(f"{args.file}: tables regenerated")
    else:
        print(f"{args.file}: already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
