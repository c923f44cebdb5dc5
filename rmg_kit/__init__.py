"""The plugin author's kit: conformance checks, pytest fixtures, ``rmg plugins new``, and helpers.

The helpers are what rmg's own plugins use and the core does not: atomic
output files (`atomic_write`), HTTP with bounded responses and Retry-After
(`bounded_request`), credential-free URLs (`redact_url`), spreadsheet-safe
cells (`spreadsheet_safe`), deterministic sampling (`sample_fraction`), and
an on-disk cache of paid answers (`SqliteCache`, `cache_key`), and a
service's limit shared by the units an executor runs at once (`share_of`).

A built-in plugin: ``rmg plugins new`` reaches ``rmg`` through
``register_commands``; the pytest fixtures through the ``pytest11`` entry
point (`rmg_kit.pytest_plugin`).  Quick start, in a plugin's tests::

    from rmg_kit import check_grader
    from my_plugin.grader import MyGrader

    def test_conformance():
        check_grader(MyGrader, cases=[{"prediction": "a", "reference": "a"}])

Everything is imported on first use, so loading this plugin at every
``rmg`` start costs nothing.
"""

from __future__ import annotations

from typing import Any

from rmg_core import hookimpl

from .lazy import lazy_attributes

#: Public name -> the module of this package that defines it (imported on first use).
_EXPORTS = {
    "lazy_attributes": "lazy",
    "ConformanceError": "conformance", "ConformanceReport": "conformance", "HOSTILE_VALUES": "conformance",
    "check_aggregator": "aggregator_checks", "check_grader": "grader_checks", "check_sink": "sink_checks",
    "sample_records": "sink_checks",
    # Helpers for plugins that write files, call HTTP services or sample traces.
    "AtomicFile": "atomic", "atomic_write": "atomic", "partial_path": "atomic",
    "ResponseTooLarge": "http", "bounded_request": "http", "parse_retry_after": "http",
    "check_url_has_no_credentials": "urls", "redact_url": "urls", "url_credentials_problem": "urls",
    "sample_fraction": "sampling", "spreadsheet_safe": "spreadsheet",
    "SqliteCache": "sqlite_cache", "cache_key": "sqlite_cache",
    # A service's limit shared by the copies of a component an executor runs at once.
    "concurrent_copies": "sharing", "concurrent_copies_of": "sharing", "share_of": "sharing",
}


__getattr__ = lazy_attributes(__name__, _EXPORTS)


@hookimpl
def register_commands(cli: Any) -> None:
    from .scaffold import new_plugin_command

    cli.commands["plugins"].add_command(new_plugin_command)


__all__ = [*_EXPORTS]
