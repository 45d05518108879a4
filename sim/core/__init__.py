"""The model: the schedule (:mod:`.model`), the submodels (:mod:`.rules`), the parameter table
(:mod:`.params`), scenarios (:mod:`.scenario`), the state tables (:mod:`.fighters`), the
record of a run (:mod:`.record`, named columns in :mod:`.columns`) and the scenario patterns
(:mod:`.patterns`). It imports nothing from the tooling (sweeps, analysis, app, cli)."""
