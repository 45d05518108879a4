"""Sweeps: experiment designs (:mod:`.design`), run keys, seeds and point matching
(:mod:`.keys`), the power analysis that sizes replicates (:mod:`.power`), what a run measures
(:mod:`.outcomes`), engines and the one run of a worker (:mod:`.engines`), storage of a sweep
folder (:mod:`.storage`) and the runner (:mod:`.runner`). Imports the model, never the
analysis.

From Python: ``sim.sweeps.run_sweep("experiments/h2_restriction.toml")`` (the runner is
imported when first used, so that ``import sim.sweeps`` stays light)."""

from __future__ import annotations

from typing import Any


def run_sweep(*args: Any, **kw: Any):
    """:func:`sim.sweeps.runner.run_sweep`."""
    from .runner import run_sweep as run

    return run(*args, **kw)
