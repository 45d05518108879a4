"""Analysis: statistics (:mod:`.stats`), verdicts on hypotheses (:mod:`.verdicts`), pattern
checks over seeds (:mod:`.check`), calibration (:mod:`.calibrate`), charts (:mod:`.charts`)
and reports (:mod:`.report`). Imports the model and the sweeps, never the app or the cli."""
