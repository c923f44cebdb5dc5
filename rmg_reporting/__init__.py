"""Run results people can read and act on: statistics, CI gate, HTML report, run comparison.

A built-in plugin, wired through the same hooks a third party uses: a run
observer (``--report``, ``--summary-json``, ``--fail-under``, the progress
display and summary table) and the ``rmg compare`` command.

* `stats` — per-score description (mean, sample std, percentiles, bootstrap CI);
* `collector` — gathers values, worst cases and errors from each chunk;
* `metadata` — the run fingerprint and the plugins a run used;
* `gate` — ``--fail-under SCORE=THRESHOLD`` checks;
* `terminal` — the progress line and the end-of-run table;
* `html` — the self-contained ``--report`` file;
* `compare` — ``rmg compare a.json b.json``.

Nothing here imports numpy or rich at module level, so ``rmg --help`` stays fast.
"""

from __future__ import annotations

from typing import Any, Callable

from rmg_core import hookimpl


@hookimpl
def register_run_observers(register: Callable[[type], None]) -> None:
    register("reporting", "rmg_reporting.observer:ReportingObserver")  # imported when `rmg eval` is parsed


@hookimpl
def register_commands(cli: Any) -> None:
    from .commands import compare_command

    cli.add_command(compare_command)
