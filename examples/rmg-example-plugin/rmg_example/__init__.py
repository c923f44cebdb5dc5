"""rmg-example-plugin: ``regex_match`` and ``json_valid`` graders and a ``sqlite`` sink.

Only the hook implementations live here: they run on every ``rmg`` command,
so the component modules are imported inside them.
"""

from __future__ import annotations

from rmg_core import hookimpl


@hookimpl
def register_graders(register):  # type: ignore[no-untyped-def]
    from .json_valid import JsonValidGrader
    from .regex_match import RegexMatchGrader

    register(RegexMatchGrader)
    register(JsonValidGrader)


@hookimpl
def register_sinks(register):  # type: ignore[no-untyped-def]
    from .sqlite_sink import SqliteSink

    register(SqliteSink)
