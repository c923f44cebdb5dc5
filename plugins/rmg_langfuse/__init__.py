"""Langfuse trace source and score sink (``--source langfuse``, ``--sink langfuse``).

Also a library: ``rmg_langfuse.fetch_pending_traces(score_name=..., since=...,
limit=..., **filters)`` (and ``afetch_pending_traces``) return the traces
that still need a score, as `rmg_core.EvalCase` objects.

httpx and tenacity are imported only when a source or sink is used, so
registering this plugin costs nothing at ``rmg --help``.
"""

from __future__ import annotations

from typing import Any

from rmg_core import hookimpl

__all__ = ["LangfuseSink", "LangfuseSource", "afetch_pending_traces", "fetch_pending_traces"]

_LAZY = {
    "LangfuseSource": "source",
    "LangfuseSink": "sink",
    "fetch_pending_traces": "pending",
    "afetch_pending_traces": "pending",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def register_sources(register):  # type: ignore[no-untyped-def]
    register("langfuse", "rmg_langfuse.source:LangfuseSource")  # imported when a run uses it


@hookimpl
def register_sinks(register):  # type: ignore[no-untyped-def]
    register("langfuse", "rmg_langfuse.sink:LangfuseSink")
