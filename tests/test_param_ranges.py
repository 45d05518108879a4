"""Short runs with every parameter drawn across its declared range: each either finishes or
stops at the fighter bound with a clear message, and only existing actors hold ground."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.core.params import PARAMS
from sim.core.scenario import LimitError

N_RUNS = 40
WEEKS = 12


def _draw(rng: np.random.Generator) -> dict:
    out = {}
    for name, p in PARAMS.items():
        if name in ("steps", "max_fighters") or p.kind not in (int, float):
            continue
        lo, hi = p.low, p.high
        # half the draws at the ends of the range (0 is allowed for control_min, say)
        u = rng.choice([0.0, 1.0]) if rng.random() < 0.3 else rng.random()
        v = lo + u * (hi - lo)
        out[name] = int(round(v)) if p.kind is int else float(v)
    out["control_min"] = 0.0 if rng.random() < 0.5 else out["control_min"]
    return out


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("block", range(4))
def test_runs_across_every_declared_range(block):
    rng = np.random.default_rng([20240601, block])
    stopped = 0
    for k in range(N_RUNS // 4):
        overrides = {**_draw(rng), "max_fighters": 40_000}
        model = sim.MilitantModel("classroom", rng=int(rng.integers(1 << 30)),
                                  overrides=overrides)
        try:
            res = model.run(WEEKS, progress=False)
        except LimitError as exc:
            assert "max_fighters" in str(exc) and "stopped at week" in str(exc)
            assert len(model.fighters) > 40_000
            stopped += 1
            res = model.results()
        steps = res.steps
        for g in model.group_names:
            gone = ~steps[f"alive.{g}"].to_numpy()
            terr = steps[f"territory.{g}"].to_numpy()
            assert (terr[gone] == 0).all(), (k, g, overrides)
        # no cell is held by a group without a single fighter in it, at the end
        if model.p.control_min == 0.0:
            presence = model.presence()
            for g in range(model.n_groups):
                held = model.owner == g
                if model.group_alive[g] and presence[g].sum() == 0:
                    assert not held.any(), (k, overrides)
    assert stopped <= N_RUNS // 4
