"""Run results people can read and act on: statistics, CI gate, HTML report, run comparison.

* `stats` — per-score description (mean, sample std, percentiles, bootstrap CI);
* `collector` — the pipeline observer that gathers values, worst cases and errors;
* `metadata` — the configuration fingerprint and the plugins a run used;
* `gate` — ``--fail-under SCORE=THRESHOLD`` checks;
* `terminal` — the progress line and the end-of-run table;
* `html` — the self-contained ``--report`` file;
* `compare` — ``rmg compare a.json b.json``.

Nothing here imports numpy or rich at module level: they are imported inside
the functions that run at the end of a run, so ``rmg --help`` stays fast.
"""
