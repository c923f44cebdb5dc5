"""The bounded in-flight loop every engine needs: submit units while fewer than N run, hand each back as it finishes.

An engine's ``map_unordered`` gives `in_completion_order` how to submit one
unit to it (a future, plus whatever the engine needs to cancel or retry that
submission), and optionally when to resubmit a failed unit (the ``processes``
executor restarts a broken pool) and how to cancel one still running on exit.
The loop takes the next unit only when a slot is free, so the driver never
holds the dataset, and yields results in completion order (waiting in
submission order would leave cores idle behind a slow unit).
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterable, AsyncIterator, Awaitable, Callable, Optional

from .base import UnitOutcome

#: ``submit(unit, attempt) -> (awaitable result, handle)``; ``attempt`` counts from 0.
Submit = Callable[[Any, int], tuple[Awaitable[Any], Any]]


def _never(unit: Any, error: BaseException, attempt: int, handle: Any) -> bool:
    return False


def _keep(error: BaseException) -> BaseException:
    return error


def _nothing(handle: Any) -> None:
    return None


async def in_completion_order(
    units: AsyncIterable[Any],
    max_in_flight: int,
    submit: Submit,
    *,
    retry: Callable[[Any, BaseException, int, Any], bool] = _never,
    unwrap: Callable[[BaseException], BaseException] = _keep,
    cancel: Callable[[Any], None] = _nothing,
) -> AsyncIterator[UnitOutcome]:
    """Every unit's `UnitOutcome`, at most ``max_in_flight`` submitted at a time, as each finishes.

    ``retry(unit, error, attempt, handle)`` returning True submits the unit
    again (attempt + 1) instead of yielding the error; ``unwrap`` turns an
    engine's wrapper exception into the unit's own.  On exit (the driver
    stopped early: Ctrl-C, a fatal error) every unit still pending is
    cancelled, and ``cancel(handle)`` tells the engine.
    """
    pending: dict[asyncio.Future[Any], tuple[Any, int, Any]] = {}

    def start(unit: Any, attempt: int) -> None:
        awaitable, handle = submit(unit, attempt)
        pending[asyncio.ensure_future(awaitable)] = (unit, attempt, handle)

    source = units.__aiter__()
    exhausted = False

    async def fill() -> None:
        nonlocal exhausted
        while not exhausted and len(pending) < max_in_flight:
            try:
                unit = await source.__anext__()
            except StopAsyncIteration:
                exhausted = True
                return
            start(unit, 0)

    try:
        await fill()
        while pending:
            finished, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            outcomes = []
            for future in finished:
                unit, attempt, handle = pending.pop(future)
                error = future.exception()
                if error is None:
                    outcomes.append(UnitOutcome(unit, future.result()))
                elif retry(unit, error, attempt, handle):
                    start(unit, attempt + 1)
                else:
                    outcomes.append(UnitOutcome(unit, error=unwrap(error)))
            # Submit the next units before handing these over: the caller merges each (a good part of a
            # second for a big unit), and a worker that finishes meanwhile must find one waiting, not idle.
            failed: Optional[BaseException] = None
            try:
                await fill()
            except Exception as exc:  # the source failed: what finished is still handed over first
                failed = exc
            for outcome in outcomes:
                yield outcome
            if failed is not None:
                raise failed
    finally:
        for future, (_, _, handle) in pending.items():
            future.cancel()
            cancel(handle)
