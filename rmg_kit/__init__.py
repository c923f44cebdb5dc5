"""The plugin author's kit: conformance checks, pytest fixtures, and ``rmg plugins new``.

A built-in plugin: ``rmg plugins new`` reaches ``rmg`` through
``register_commands``; the pytest fixtures through the ``pytest11`` entry
point (`rmg_kit.pytest_plugin`).  Quick start, in a plugin's tests::

    from rmg_kit import check_grader
    from my_plugin.grader import MyGrader

    def test_conformance():
        check_grader(MyGrader, cases=[{"prediction": "a", "reference": "a"}])

The checks are imported on first use, so loading this plugin at every
``rmg`` start costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

from rmg_core import hookimpl

#: Public name -> the module of this package that defines it (imported on first use).
_CHECKS = {
    "ConformanceError": "conformance", "ConformanceReport": "conformance", "HOSTILE_VALUES": "conformance",
    "check_aggregator": "aggregator_checks", "check_grader": "grader_checks", "check_sink": "sink_checks",
    "sample_records": "sink_checks",
}


def __getattr__(name: str) -> Any:
    if name in _CHECKS:
        module = importlib.import_module(f"{__name__}.{_CHECKS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def register_commands(cli: Any) -> None:
    from .scaffold import new_plugin_command

    cli.commands["plugins"].add_command(new_plugin_command)


__all__ = [*_CHECKS]
