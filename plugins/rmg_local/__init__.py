"""Local-file trace source and score sink (JSONL and CSV): the defaults that need no server."""

from __future__ import annotations

from rmg_core import hookimpl


@hookimpl
def register_sources(register):  # type: ignore[no-untyped-def]
    register("local", "rmg_local.source:LocalFileSource")  # imported when a run uses it


@hookimpl
def register_sinks(register):  # type: ignore[no-untyped-def]
    register("local", "rmg_local.sink:LocalFileSink")
