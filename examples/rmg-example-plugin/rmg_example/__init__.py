"""rmg-example-plugin: ``regex_match`` and ``json_valid`` graders and a ``sqlite`` sink.

Only the hook implementations live here: they run on every ``rmg`` command,
so they name each component by reference ("module:Class") and rmg imports
it when a run first uses it.
"""

from __future__ import annotations

from rmg_core import hookimpl


@hookimpl
def register_graders(register):  # type: ignore[no-untyped-def]
    register("regex_match", "rmg_example.regex_match:RegexMatchGrader")
    register("json_valid", "rmg_example.json_valid:JsonValidGrader")


@hookimpl
def register_sinks(register):  # type: ignore[no-untyped-def]
    register("sqlite", "rmg_example.sqlite_sink:SqliteSink")
