"""Run observers: what watches an ``rmg eval`` run besides the sinks (reports, gates, progress).

An observer is registered like a component (hook ``register_run_observers``)
but is not configured by name: each one adds its own options to ``rmg eval``
and decides from their values whether it takes part in a run.  The built-in
reporting package is one; a third party's dashboard uploader would be another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any, ClassVar, Mapping, Optional, Sequence

if TYPE_CHECKING:
    import click

    from .cases import EvalCase
    from .config import Components, EvalConfig
    from .plugin_manager import PluginHost
    from .records import ScoreRecord
    from .summary import RunSummary


@dataclass
class RunContext:
    """What an observer may know about the run it watches."""

    host: "PluginHost"
    config: "EvalConfig"
    components: "Components"
    #: ``-q``: print nothing but errors.
    quiet: bool = False
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


class RunObserver:
    """Watches one run: sees every graded chunk, then writes, checks or prints what it must.

    Every method has a default that does nothing, so an observer overrides
    only what it needs.  Methods run on the event loop (``observe``,
    ``progress``) or after it (``finish``, ``present``): keep them cheap or
    do the work at the end.
    """

    #: The name shown by ``rmg plugins``; unique among observers.
    name: ClassVar[str] = ""
    #: Options this observer adds to ``rmg eval`` (``click.Option`` objects).
    options: ClassVar[Sequence["click.Parameter"]] = ()

    @classmethod
    def for_run(cls, options: Mapping[str, Any], run: RunContext) -> Optional["RunObserver"]:
        """An observer for this run, from the parsed values of ``rmg eval``'s options; ``None`` to stay out.

        Raise `ConfigError` for a bad option value: the run has not started.
        """
        return cls()

    def output_paths(self) -> Mapping[str, str]:
        """Files this observer will write, by the option that named them (``{"--report": "r.html"}``)."""
        return {}

    def observe(self, cases: Sequence["EvalCase"], records: Sequence["ScoreRecord"]) -> None:
        """Called with each graded chunk's cases and records, before they are written."""

    def needs_cases(self) -> bool:
        """Whether `observe` reads more of the cases than their ids; if not, an executor whose workers read the
        traces need not send them back (``observe`` then gets cases holding only their ids).  Default: it
        does, if it overrides ``observe``."""
        return type(self).observe is not RunObserver.observe

    def progress(self, summary: "RunSummary") -> None:
        """Called after each chunk is written, with the summary so far."""

    def finish(self, summary: "RunSummary", run: RunContext) -> int:
        """Called once the sinks are closed; return the exit status this observer asks for (0: none).

        ``1`` means something it had to write was not written; other values
        are the observer's own (the built-in CI gate uses 3).
        """
        return 0

    def present(self, summary: "RunSummary", stream: IO[str]) -> bool:
        """Print the end-of-run summary to ``stream`` and return True, or return False to leave it to others."""
        return False

    def close(self) -> None:
        """Release what the observer holds (a live display); called on every exit path."""


def worst_exit(codes: Sequence[int]) -> int:
    """One exit status from several: an incomplete run (1) outranks the rest, then the highest."""
    codes = [c for c in codes if c]
    return (1 if 1 in codes else max(codes)) if codes else 0
