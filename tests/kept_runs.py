"""A kept run made again: the helper of the tests that check a kept study is what the model
gives now."""

from __future__ import annotations

import math


def assert_remade(exp, spec, kept, label: str) -> None:
    """Make run ``spec`` of ``exp`` again from its seed: every outcome as in ``kept`` (the
    kept runs table, indexed by run id)."""
    from sim.sweeps.runner import execute, make_task

    rec = execute(make_task(exp, spec))
    assert rec["status"] == "ok", rec.get("error")
    for outcome, value in rec["outcomes"].items():
        old = kept.loc[spec.run_id, outcome]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            assert old is None or (isinstance(old, float) and math.isnan(old)), outcome
        else:
            assert old == value, (f"{label} {spec.run_id}: {outcome} was {old} in the kept "
                                  f"study and is {value} now; run the study again")
