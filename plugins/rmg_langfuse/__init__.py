"""Langfuse trace source and score sink (``--source langfuse``, ``--sink langfuse``).

Also a library: ``rmg_langfuse.fetch_pending_traces(score_name=..., since=...,
limit=..., **filters)`` (and ``afetch_pending_traces``) return the traces
that still need a score, as `rmg_core.EvalCase` objects.

httpx and tenacity are imported only when a source or sink is used, so
registering this plugin costs nothing at ``rmg --help``.
"""

from __future__ import annotations


from rmg_core import hookimpl
from rmg_kit import lazy_attributes

__all__ = ["LangfuseSink", "LangfuseSource", "afetch_pending_traces", "fetch_pending_traces"]

_LAZY = {
    "LangfuseSource": "source",
    "LangfuseSink": "sink",
    "fetch_pending_traces": "pending",
    "afetch_pending_traces": "pending",
}


# Imported on first use: `rmg --help` must not import the component (nor pydantic).
__getattr__ = lazy_attributes(__name__, _LAZY)


@hookimpl
def register_sources(register):  # type: ignore[no-untyped-def]
    register("langfuse", "rmg_langfuse.source:LangfuseSource")  # imported when a run uses it


@hookimpl
def register_sinks(register):  # type: ignore[no-untyped-def]
    register("langfuse", "rmg_langfuse.sink:LangfuseSink")
