"""Bring your own data: any trace shape in, fields mapped, traces chosen; ``rmg inspect``.

A built-in plugin, wired through the hooks a third party uses: a run
observer that wraps the run's source in an `Intake` (shape detection, the
``[source] fields`` / ``--map`` mapping, ``--where``, ``--sample``,
``--limit``; ``--write-not-applicable``) and explains a run that graded
nothing, and the ``rmg inspect`` command (a dry run: what each grader would
receive, and which would not apply).

* `shapes` — the trace shapes rmg recognises (Ragas, DeepEval, OpenAI evals, chat, Langfuse);
* `intake` — the source wrapper: detection, mapping, selection, diagnosis;
* `partitions` — the wrapper cut into parts that workers read, map and filter themselves;
* `observer` — the ``rmg eval`` options;
* `inspect` — ``rmg inspect``.
"""

from __future__ import annotations

from typing import Any, Callable

from rmg_core import hookimpl


@hookimpl
def register_run_observers(register: Callable[[type], None]) -> None:
    """The ``rmg eval`` options that choose and map traces."""
    register("intake", "rmg_intake.observer:IntakeObserver")  # imported when `rmg eval` is parsed


@hookimpl
def register_commands(cli: Any) -> None:
    """``rmg inspect``: a dry run over the first traces."""
    from .inspect import inspect_command

    cli.add_command(inspect_command)
