"""The progress bar of ``GradingRunner(show_progress=True)``: rich, on stderr, gone when done."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, TypeVar

T = TypeVar("T")


async def with_progress(runner: Any, total: int, work: Awaitable[T]) -> T:
    """Await ``work`` while a bar shows ``runner.completed`` (grader results so far) against ``total``."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    start, future = runner.completed, asyncio.ensure_future(work)
    columns = (TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("grading", total=total)
        while not future.done():
            progress.update(task, completed=runner.completed - start)
            await asyncio.wait({future}, timeout=0.1)
        progress.update(task, completed=runner.completed - start)
    return future.result()
