"""What the forkserver of a sweep's worker pool imports before it forks the workers
(:class:`sim.sweeps.engines._PoolEngine`): the runner and the model, and the model's compiled
kernels loaded from numba's cache (compiled, on a fresh install) by a few weeks of a small
run with every rule at work, so that each worker process starts with them in memory instead
of loading them on its first run.

Importing this module never raises: a warm-up that fails leaves the kernels to load on first
use, as they would without it.
"""

from __future__ import annotations

from . import runner  # noqa: F401 - imported for the workers
from ..core import model as _model

#: syria_2013 with the strikes and the first ground offensive from week 0, so that the
#: warm-up weeks call every kernel a run calls
WARM_OVERRIDES = {"timeline.coalition.week": 0, "timeline.russia.week": 0,
                  "timeline.sdf_kobani.week": 0}
WARM_WEEKS = 3


def warm() -> bool:
    """Run the warm-up; whether it ran to the end."""
    try:
        m = _model.MilitantModel("syria_2013", rng=0, overrides=WARM_OVERRIDES)
        m.run(WARM_WEEKS, progress=False)
    except Exception:  # noqa: BLE001 - a warm-up is an optimisation, never an error
        return False
    return True


warm()
