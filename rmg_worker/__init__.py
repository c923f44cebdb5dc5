"""``rmg worker``: continuous evaluation, each trace graded exactly once across restarts.

`service.Worker` runs cycles; `cycle` holds one cycle's adapters; `state`
is the SQLite watermark and ledger; `ledger` decides what is due and what a
grading left behind.

A built-in plugin: its commands reach ``rmg`` through ``register_commands``,
as a third party's would.
"""

from __future__ import annotations

from typing import Any

from rmg_core import hookimpl


@hookimpl
def register_commands(cli: Any) -> None:
    from .command import worker_command

    cli.add_command(worker_command)
