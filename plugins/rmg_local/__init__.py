"""Local-file trace source and score sink (JSONL and CSV): the defaults that need no server."""

from __future__ import annotations

from rmg_core import hookimpl


@hookimpl
def register_sources(register):  # type: ignore[no-untyped-def]
    from .source import LocalFileSource

    register(LocalFileSource)


@hookimpl
def register_sinks(register):  # type: ignore[no-untyped-def]
    from .sink import LocalFileSink

    register(LocalFileSink)
