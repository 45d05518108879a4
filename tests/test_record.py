"""The README's account of how the shipped scenarios fare against the record is what
``militant-sim check NAME --seeds 30`` gives now."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("syria_2013", "sahel_2019", "idlib_2020")


def record_text() -> str:
    """The paragraph, made from 30-seed checks of each scenario."""
    from sim.analysis.check import evaluate, summarise

    parts = []
    for name in SCENARIOS:
        table = summarise(evaluate(name, seeds=30))
        fails = [str(i) for i, r in table.iterrows() if not r["holds"]]   # index: pattern id
        txt = f"`{name}` holds {len(table) - len(fails)} of {len(table)}"
        if fails:
            txt += " (fails " + ", ".join(f"`{f}`" for f in fails) + ")"
        parts.append(txt)
    return "; ".join(parts)


@pytest.mark.slow
def test_the_readme_says_how_the_scenarios_fare_against_the_record():
    from sim.analysis.check import close_pool

    readme = (ROOT / "README.md").read_text()
    kept = readme.split("<!-- record:start -->")[1].split("<!-- record:end -->")[0]
    try:
        now = record_text()
    finally:
        close_pool()
    assert kept == now, f"README.md: replace the record paragraph by:\n{now}"
