"""The progress bar of ``GradingRunner(show_progress=True)``: rich, on stderr, gone when done."""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Optional


@contextlib.contextmanager
def progress_bar(show: bool, total: int) -> Iterator[Optional[Callable[[int], None]]]:
    """Yield ``advance(n)`` counting grader evaluations (cases x graders), or None when not ``show``."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("grading", total=total)
        yield lambda n: progress.advance(task, n)
