"""Sweeps: experiment designs (:mod:`.design`), run keys and seeds (:mod:`.keys`), what a run
measures (:mod:`.outcomes`), engines (:mod:`.engines`), storage of a sweep folder
(:mod:`.storage`) and the runner (:mod:`.runner`). Imports the model, never the analysis."""
