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


def test_the_datacollectors_table_is_the_recorders_columns_at_each_collection():
    m = MilitantModel("classroom", rng=3)
    for _ in range(6):
        m.step()
    m.datacollector.collect(m)  # a collection between weeks: the state of the last week
    df = m.datacollector.get_model_vars_dataframe()
    steps = m.results().steps
    cols = ["fighters", "militant_cells", "ungoverned"] + [
        f"{v}.{g}" for g in m.group_names for v in ("fighters", "territory")]
    assert list(df.columns) == cols
    assert len(df) == 8 and m.datacollector._collection_steps[-2:] == [6, 6]
    weeks = list(range(7)) + [6]
    for c in cols:
        assert df[c].tolist() == steps[c].iloc[weeks].tolist(), c
        assert all(type(v) is int for v in m.datacollector.model_vars[c])
    assert steps["fighters"].iloc[6] == len(m.fighters)
