"""A Langfuse project's traces cut into time windows, so many workers read it at once.

Each part is a window ``[start, end)`` of the configured ``from_timestamp`` /
``to_timestamp`` range (``to`` defaults to now, fixed when the parts are
made), rebuilt on a worker with `LangfuseSource.windowed`: it cursor-paginates
its own window.  Windows are an hour long — many more than workers for a day
of traces, so fast windows absorb busy ones.  A source with a ``limit`` (a
count across the whole range) or a list of trace ids is read by the driver.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterator, Optional

if TYPE_CHECKING:
    from .source import LangfuseSource

#: The length of one part.
WINDOW = timedelta(hours=1)


def time_windows(source: "LangfuseSource", target_cases: int) -> Optional[Iterator[dict[str, Any]]]:
    """One part per `WINDOW` of the configured range, oldest first; ``None`` when the range is open at the start."""
    s = source.settings
    if s.from_timestamp is None or s.limit is not None or getattr(source, "_only", None) is not None:
        return None
    end = s.to_timestamp or datetime.now(timezone.utc)

    def parts() -> Iterator[dict[str, Any]]:
        start = s.from_timestamp
        while start < end:
            stop = min(start + WINDOW, end)
            yield {"start": start.isoformat(), "end": stop.isoformat()}
            start = stop

    return parts()


def window(source: "LangfuseSource", spec: dict[str, Any]) -> "LangfuseSource":
    """The source narrowed to one part's window."""
    return source.windowed(datetime.fromisoformat(spec["start"]), datetime.fromisoformat(spec["end"]))
