"""How many copies of a run's components work at once, so a budget they share is divided, not multiplied.

In one process every component exists once.  On an executor, each work unit
builds its own source partition and (with ``sinks = "workers"``) its own
sinks, and as many units run at once as the executor has slots: a Langfuse
client allowed 16 requests in flight would be allowed 16 per unit.  The unit
driver (``rmg_executors``) runs every unit inside `concurrent_copies_of`, and
a component whose limit belongs to a remote service (an API's rate limit)
takes `share_of` it.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

_copies: ContextVar[int] = ContextVar("rmg_concurrent_copies", default=1)


def concurrent_copies() -> int:
    """How many copies of this component may be working at the same time (1 outside an executor's unit)."""
    return _copies.get()


def share_of(limit: int) -> int:
    """This copy's part of ``limit`` (requests in flight a service allows all copies together), at least 1.

    Rounded down, so the copies together never exceed ``limit`` unless there
    are more copies than ``limit`` (each still needs one request to work).
    """
    return max(1, limit // concurrent_copies())


@contextmanager
def concurrent_copies_of(copies: int) -> Iterator[None]:
    """Within this block (and the tasks it starts), components are one of ``copies`` working at once."""
    token = _copies.set(max(1, int(copies)))
    try:
        yield
    finally:
        _copies.reset(token)
