"""The model class under Mesa's own ``batch_run`` (people's existing scripts keep working)."""

from __future__ import annotations

import multiprocessing

import mesa
import pytest

from sim import MilitantModel


@pytest.fixture(autouse=True)
def _keep_start_method():
    """mesa.batch_run sets the global start method to "spawn"; put it back for other tests."""
    old = multiprocessing.get_start_method(allow_none=True)
    yield
    multiprocessing.set_start_method(old, force=True)


def _batch(model_cls, rng, **params):
    return mesa.batch_run(model_cls, parameters={"scenario": "classroom", **params}, rng=rng,
                          max_steps=5, number_processes=1, display_progress=False)


def test_batch_run_gives_one_row_per_run_and_respects_rng():
    rows = _batch(MilitantModel, [1, 2], clash_kappa=[0.01, 0.05])
    assert len(rows) == 4
    assert {r["clash_kappa"] for r in rows} == {0.01, 0.05}
    assert all(r["Step"] == 5 and r["scenario"] == "classroom" for r in rows)
    # the same rng gives the same run; another rng another run
    again = _batch(MilitantModel, [1], clash_kappa=[0.01])
    first = next(r for r in rows if r["iteration"] == 0 and r["clash_kappa"] == 0.01)
    assert again[0]["fighters"] == first["fighters"]
    by_rng = {r["iteration"]: r["fighters.Caliphate"] for r in rows if r["clash_kappa"] == 0.01}
    other = {r["iteration"]: r["fighters"] for r in rows if r["clash_kappa"] == 0.01}
    assert by_rng[0] != by_rng[1] or other[0] != other[1]
    # dotted scenario keys pass through batch_run's keyword arguments too
    claims = _batch(MilitantModel, [3], **{"groups.Caliphate.claim": [0.0, 1.0]})
    assert len(claims) == 2


def test_batch_run_rows_do_not_depend_on_what_else_is_in_the_batch():
    rows = _batch(MilitantModel, [1, 2])
    assert len(rows) == 2 and all(r["Step"] == 5 for r in rows)
    a = _batch(MilitantModel, [1])
    assert {k: v for k, v in a[0].items() if k != "RunId"} == {
        k: v for k, v in rows[0].items() if k != "RunId"}
