"""militant-sim: an agent-based model of competition among militant groups, on Mesa.

Quick use::

    import sim
    result = sim.run("sahel_2019", steps=520, seed=1)
    result.steps       # per-week series (pandas)
    result.events      # clashes, truces, wars, mergers, leader deaths, timeline events
    result.summary     # truce durations, peak territory, net defections, provenance
"""

from __future__ import annotations

from .common.version import __version__  # noqa: E402

from .core.model import MilitantModel  # noqa: E402
from .core.record import RunResult  # noqa: E402
from .core.scenario import (  # noqa: E402
    DEFAULT_SCENARIO,
    Scenario,
    ScenarioError,
    available_scenarios,
    load_scenario,
)


def run(scenario="syria_2013", steps: int | None = None, seed=None, overrides=None,
        progress: bool | None = False) -> RunResult:
    """Build a model of ``scenario`` with ``seed``, run ``steps`` weeks, return the results
    (``steps`` sets the parameter ``steps``, the run's length: the summary's ``weeks`` and its
    provenance's ``params["steps"]`` agree)."""
    model = MilitantModel(scenario, rng=seed, overrides=overrides)
    return model.run(steps, progress=progress)


__all__ = ["MilitantModel", "RunResult", "Scenario", "ScenarioError", "load_scenario",
           "available_scenarios", "run", "DEFAULT_SCENARIO", "__version__"]
