"""Determinism: the same scenario and seed give identical frames; another seed does not; the
model owns its randomness (no global random state is read or written)."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import sim
from sim.core.model import MilitantModel

WEEKS = 30


def _run(seed, weeks=WEEKS, scenario="classroom"):
    return MilitantModel(scenario, rng=seed).run(weeks, progress=False)


@pytest.fixture(scope="module")
def run_seed_5():
    return _run(5)


def test_same_seed_identical_frames(run_seed_5):
    again = _run(5)
    assert_frame_equal(run_seed_5.steps, again.steps)
    assert_frame_equal(run_seed_5.events, again.events)
    np.testing.assert_array_equal(run_seed_5.maps["control"], again.maps["control"])
    a = {k: v for k, v in run_seed_5.summary.items() if k != "provenance"}
    b = {k: v for k, v in again.summary.items() if k != "provenance"}
    assert a == b


def test_different_seed_different_frames(run_seed_5):
    other = _run(6)
    assert not run_seed_5.steps.equals(other.steps)
    # not only somewhere: the paths of the fighters differ, and so does the map
    assert (run_seed_5.steps["fighters"] != other.steps["fighters"]).any()
    assert not np.array_equal(run_seed_5.maps["control"], other.maps["control"])
    # the classroom starts in a truce: 30 weeks can pass without any event in either run
    if len(run_seed_5.events) or len(other.events):
        assert not run_seed_5.events.equals(other.events)


def test_seed_sequence_as_rng():
    a = MilitantModel("classroom", rng=np.random.SeedSequence(42)).run(15, progress=False)
    b = MilitantModel("classroom", rng=np.random.SeedSequence(42)).run(15, progress=False)
    c = MilitantModel("classroom", rng=np.random.SeedSequence(43)).run(15, progress=False)
    assert_frame_equal(a.steps, b.steps)
    assert_frame_equal(a.events, b.events)
    assert not a.steps.equals(c.steps)
    assert a.summary["seed"] == {"entropy": "42", "spawn_key": []}
    # spawned children (as an experiment runner derives replicate seeds) differ from each other
    kids = np.random.SeedSequence(42).spawn(2)
    d = MilitantModel("classroom", rng=kids[0]).run(15, progress=False)
    e = MilitantModel("classroom", rng=kids[1]).run(15, progress=False)
    assert not d.steps.equals(e.steps)


def test_default_seed_is_the_scenarios():
    m1, m2 = MilitantModel("classroom"), MilitantModel("classroom")
    assert m1.seed == m2.seed == m1.spec.seed
    for _ in range(10):
        m1.step()
        m2.step()
    assert_frame_equal(m1.results().steps, m2.results().steps)


def test_sim_run_matches_the_model(run_seed_5):
    res = sim.run("classroom", steps=WEEKS, seed=5)
    assert_frame_equal(res.steps, run_seed_5.steps)
    assert_frame_equal(res.events, run_seed_5.events)


def test_no_global_random_state_is_used(run_seed_5):
    np.random.seed(123)
    random.seed(123)
    np_state = np.random.get_state()
    py_state = random.getstate()
    res = _run(5)
    # the model neither read nor advanced the global generators ...
    assert random.getstate() == py_state
    after = np.random.get_state()
    assert after[0] == np_state[0] and (after[1] == np_state[1]).all() and after[2:] == np_state[2:]
    # ... and reseeding them changes nothing
    np.random.seed(999)
    random.seed(999)
    assert_frame_equal(res.steps, run_seed_5.steps)


def test_interleaved_models_do_not_share_randomness(run_seed_5):
    a, b = MilitantModel("classroom", rng=5), MilitantModel("classroom", rng=6)
    for _ in range(WEEKS):
        a.step()
        b.step()
    assert_frame_equal(a.results().steps, run_seed_5.steps)


def test_saved_run_reloads_identically(run_seed_5, tmp_path):
    run_seed_5.save(tmp_path)
    back = sim.RunResult.load(tmp_path)
    assert_frame_equal(back.steps, run_seed_5.steps)
    assert_frame_equal(back.events, run_seed_5.events)
    np.testing.assert_array_equal(back.maps["control"], run_seed_5.maps["control"])
    assert back.summary["final_fighters"] == run_seed_5.summary["final_fighters"]
    assert isinstance(back.steps, pd.DataFrame)
