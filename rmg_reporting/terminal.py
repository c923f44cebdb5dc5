"""What ``rmg eval`` shows on a terminal: a live progress line and the end-of-run table.

Both use rich when standard error is a terminal; otherwise there is no
progress display and the table is plain text (logs and CI stay readable).
rich is imported only when it is used.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import IO, Any, Mapping, Optional, Sequence

from rmg_core import RunSummary, printable

from .gate import GateResult


def is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


@dataclass
class ProgressState:
    """Where a run is: traces done, the estimated total (None when unknown), rate and time left."""

    done: int
    total: Optional[int]
    rate: float
    eta: Optional[float]
    errors: int
    seconds: float

    def line(self) -> str:
        """``12,000/50,000 traces (24%), 740/s, ETA 51s, 3 grader errors`` (the plain-text progress line)."""
        if self.total:
            text = f"{self.done:,}/{self.total:,} traces ({min(1.0, self.done / self.total):.0%})"
        else:
            text = f"{self.done:,} traces"
        text += f", {self.rate:,.0f}/s"
        if self.eta is not None:
            text += f", ETA {_duration(self.eta)}"
        return text + f", {self.errors:,} grader errors, {_duration(self.seconds)} elapsed"


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class ProgressTracker:
    """Turns the run's counters into a `ProgressState`.

    Traces done come from the runner's per-result tick (`GradingRunner.completed`
    divided by the graders per case), so they move during a chunk, not only
    after it.  The total is estimated from the source's `Source.progress`
    (a local file: bytes read of its size): traces read so far divided by the
    fraction read; exact once the source has been read to its end.
    """

    def __init__(self, runner: Any = None, source: Any = None) -> None:
        self.runner, self.source = runner, source
        self.per_case = max(1, len(getattr(runner, "grader_names", ()) or ())) if runner is not None else 1

    def state(self, summary: RunSummary) -> ProgressState:
        done = summary.cases
        if self.runner is not None:
            done = max(done, min(summary.read, int(getattr(self.runner, "completed", 0)) // self.per_case))
        total: Optional[int] = None
        hint = None
        if self.source is not None:
            try:
                hint = self.source.progress()
            except Exception:  # a display must never break a run
                hint = None
        if hint is not None:
            read, size = hint
            if size > 0 and read >= size:
                total = summary.read
            elif size > 0 and read > 0 and summary.read:
                total = max(summary.read, int(round(summary.read * size / read)))
        rate = done / summary.seconds if summary.seconds > 0 else 0.0
        eta = (max(0, total - done) / rate) if total is not None and rate > 0 else None
        errors = sum(s.errors for s in summary.scores.values())
        return ProgressState(done, total, rate, eta, errors, summary.seconds)


class ProgressDisplay:
    """A live progress bar on a terminal: traces done of the total, percentage, rate, ETA, errors.

    It appears only once a run has lasted ``delay`` seconds, so short runs
    print nothing but their summary.  Without a known total the bar pulses.
    Call `close` when the run ends.
    """

    def __init__(self, stream: Optional[IO[str]] = None, delay: float = 0.5, tracker: Optional[ProgressTracker] = None) -> None:
        self.stream = stream or sys.stderr
        self.delay = delay
        self.tracker = tracker or ProgressTracker()
        self._started = time.monotonic()
        self._progress: Any = None
        self._task: Any = None

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]rmg eval[/bold]"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=Console(file=self.stream),
            transient=True,  # the summary table replaces it
        )
        self._progress.start()
        self._task = self._progress.add_task("grading", total=None, detail="")

    def __call__(self, summary: RunSummary) -> None:
        if self._progress is None:
            if time.monotonic() - self._started < self.delay:
                return
            self._start()
        state = self.tracker.state(summary)
        if state.total:
            detail = f"{state.done:,}/{state.total:,} traces {min(1.0, state.done / state.total):.0%}"
        else:
            detail = f"{state.done:,} traces"
        detail += f"  {state.rate:,.0f}/s"
        if state.eta is not None:
            detail += f"  ETA {_duration(state.eta)}"
        detail += f"  {state.errors:,} grader errors"
        if summary.bad_cases:
            detail += f"  {summary.bad_cases:,} unreadable"
        if summary.failed_writes:
            detail += f"  [red]{summary.failed_writes:,} not written[/red]"
        self._progress.update(self._task, total=state.total, completed=state.done, detail=detail)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class PlainProgress:
    """Progress for logs (stderr not a terminal): one plain line every ``every`` seconds."""

    def __init__(self, stream: Optional[IO[str]] = None, every: float = 10.0, tracker: Optional[ProgressTracker] = None) -> None:
        self.stream = stream or sys.stderr
        self.every = every
        self.tracker = tracker or ProgressTracker()
        self._last = time.monotonic()

    def __call__(self, summary: RunSummary) -> None:
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        print(f"rmg eval: {self.tracker.state(summary).line()}", file=self.stream, flush=True)

    def close(self) -> None:
        pass


def _fmt(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_rich_summary(summary: RunSummary, gate: Optional[GateResult], stream: IO[str], extra: Sequence[str] = ()) -> None:
    """The summary as a rich table (for a terminal), then the rest of the summary and the gate."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(file=stream, highlight=False)
    rest = summary.render(scores=False).splitlines()
    console.print(escape(rest[0]))
    # Every statistic needs ~125 columns; a narrower terminal gets the essential
    # ones rather than numbers cut to "0.3…".
    if console.width >= 125:
        columns = ("scored", "errors", "n/a", "skipped", "mean", "std", "min", "p10", "p50", "p90", "max")
    elif console.width >= 100:
        columns = ("scored", "errors", "n/a", "mean", "std", "min", "p50", "max")
    else:
        columns = ("scored", "errors", "n/a", "mean", "std", "p50")
    table = Table(show_edge=False, header_style="bold", pad_edge=False, box=None, padding=(0, 1))
    table.add_column("score", style="bold")
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("95% CI of mean", justify="right", no_wrap=True)
    for stats in summary.scores.values():
        d = stats.distribution or {}
        ci = f"[{d['ci_low']:.3f}, {d['ci_high']:.3f}]" if d.get("ci_low") is not None else "-"
        cells = {
            "scored": str(stats.scored),
            "errors": f"[red]{stats.errors}[/red]" if stats.errors else "0",
            # Not applicable is a property of the data, not a failure: neutral, never red.
            "n/a": f"[dim]{stats.not_applicable}[/dim]" if stats.not_applicable else "0",
            "skipped": str(stats.skipped),
            "mean": _fmt(stats.mean),
            **{key: _fmt(d.get(key)) for key in ("std", "min", "p10", "p50", "p90", "max")},
        }
        table.add_row(escape(stats.name), *(cells[c] for c in columns), ci)
    if summary.scores:
        console.print(table)
        for stats in summary.scores.values():
            for message, count in list(stats.error_messages.items())[:3]:
                console.print(f"  [red]{escape(printable(stats.name))} error x{count}:[/red] {escape(printable(message))}")
            for message, count in list(stats.not_applicable_messages.items())[:2]:
                console.print(f"  [dim]{escape(printable(stats.name))} not applicable x{count}:[/dim] {escape(printable(message))}")
    for line in [*extra, *rest[1:]]:
        console.print(escape(line))
    if gate is not None and gate.checks:
        for check in gate.checks:
            mark = "[green]gate passed:[/green]" if check.passed else "[bold red]gate FAILED:[/bold red]"
            console.print(f"{mark} {escape(check.message)}")


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.1%}"


def pass_rate_lines(summary: RunSummary) -> list[str]:
    """One line per score with a pass threshold: the pass rate, its interval and the counts."""
    lines = []
    for stats in summary.scores.values():
        d = stats.distribution or {}
        if "threshold" not in d:
            continue
        ci = f" [{_pct(d['pass_rate_ci_low'])}, {_pct(d['pass_rate_ci_high'])}]" if d.get("pass_rate_ci_low") is not None else ""
        lines.append(f"  {stats.name}: pass rate {_pct(d.get('pass_rate'))}{ci} "
                     f"({d.get('passed', 0)} of {stats.scored} scored at or above {d['threshold']:g})")
    return lines


def breakdown_lines(breakdowns: Sequence[Mapping[str, Any]], limit: int = 20) -> list[str]:
    """Each breakdown as a plain table: per group its cases, and per score the mean [95% CI] and pass rate."""
    lines: list[str] = []
    for breakdown in breakdowns:
        groups = breakdown.get("groups") or []
        names: list[str] = []
        for group in groups:
            names += [n for n in group["scores"] if n not in names]
        if not groups:
            continue
        small = breakdown.get("small_group", 0)
        lines.append(f"  by {breakdown['field']} ({len(groups)} groups; * = fewer than {small} scored cases, too few to act on):")
        width = min(32, max(6, *(len(g["group"]) for g in groups))) + 2
        head = f"    {'group':<{width}}{'cases':>8}"
        for name in names:
            head += f"  {name + ' mean [95% CI]':<28}{'pass':>7}"
        lines.append(head)
        for group in groups[:limit]:
            label = group["group"] if len(group["group"]) <= width - 2 else group["group"][: width - 3] + "…"
            row = f"    {label:<{width}}{group['cases']:>8}"
            for name in names:
                cell = group["scores"].get(name) or {}
                mean = cell.get("mean")
                text = "-" if mean is None else f"{mean:.3f}"
                if cell.get("ci_low") is not None:
                    text += f" [{cell['ci_low']:.3f}, {cell['ci_high']:.3f}]"
                if cell.get("small"):
                    text += " *"
                row += f"  {text:<28}{_pct(cell.get('pass_rate')) if 'pass_rate' in cell else '':>7}"
            lines.append(row)
        if len(groups) > limit:
            lines.append(f"    … {len(groups) - limit} more groups in --summary-json / --report")
    return lines


def print_summary(
    summary: RunSummary, gate: Optional[GateResult], stream: Optional[IO[str]] = None,
    breakdowns: Sequence[Mapping[str, Any]] = (), usage: Sequence[str] = (),
) -> None:
    """Print the end-of-run summary: a rich table on a terminal, plain text elsewhere; then pass rates, breakdowns, usage."""
    stream = stream or sys.stderr
    # Group labels are trace metadata: their control characters are shown escaped, never sent raw.
    extra = [printable(line) for line in pass_rate_lines(summary) + breakdown_lines(breakdowns) + list(usage)]
    if is_terminal(stream):
        print_rich_summary(summary, gate, stream, extra)
        return
    text = summary.render()
    if extra:
        text += "\n" + "\n".join(extra)
    if gate is not None and gate.checks:
        text += "\n" + gate.render()
    print(text, file=stream, flush=True)
