"""Source -> graders -> aggregators -> sinks, streaming in bounded chunks.

Three stages overlap, joined by queues of two chunks each: reading the next
chunk, grading the current one, and writing the previous one.  Memory is
bounded by a few chunks whatever the number of traces.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections import deque
from typing import Any, Callable, Iterator, Literal, Optional, Sequence

from .cases import CaseError, EvalCase
from .components import Aggregator, Grader, Sink, Source
from .errors import RmgError
from .records import ResultColumns, ScoreColumn, ScoreRecord, ScoreRecords
from .runner import AGGREGATED_PREFIX, GradingRunner, RunResults
from .summary import RunSummary, ScoreStats, SinkTally

_DONE = object()
#: Seconds between two progress calls while a chunk is being graded (a chunk of judge calls can take minutes).
PROGRESS_TICK = 0.5
ProgressFn = Callable[[RunSummary], None]
#: Called with each graded chunk's cases and records, before they are written
#: (statistics, reports).  It runs on the event loop: keep it cheap.
ChunkObserver = Callable[[Sequence[EvalCase], Sequence[ScoreRecord]], None]


def _column(component: Literal["grader", "aggregator"], name: str, obj: Grader | Aggregator) -> ScoreColumn:
    return ScoreColumn(name, component, type(obj).name or type(obj).__name__, str(obj.version), obj.fingerprint())


def records_for(cases: Sequence[EvalCase], results: RunResults, columns: dict[str, ScoreColumn]) -> ScoreRecords:
    """All score records of a graded chunk: each score name's records in turn, one `ScoreRun` of ``len(cases)`` each.

    ``columns`` maps each key of ``results`` (a grader's score name, or
    ``aggregated_<name>``) to the `ScoreColumn` its records are built with.
    """
    ids = [case.id for case in cases], [case.observation_id for case in cases], [case.timestamp for case in cases]
    return ScoreRecords([columns[key].run(ResultColumns.of(column), *ids) for key, column in results.items()])


async def run_evaluation(source: Source, runner: GradingRunner, sinks: Sequence[Sink], *, chunk_size: int = 1000,
                         progress: Optional[ProgressFn] = None, sink_names: Optional[Sequence[str]] = None,
                         observers: Sequence[ChunkObserver] = (), write_not_applicable: bool = True) -> RunSummary:
    """Grade every case ``source`` yields and write the scores to every sink.

    Returns a `RunSummary`; its ``exit_code`` is non-zero when a score could
    not be written, the source failed, or the run was interrupted.  Sinks are
    closed (flushed) on every exit path, including cancellation (Ctrl-C).
    ``write_not_applicable=False`` keeps not-applicable records (kind
    ``"not_applicable"``) from the sinks; they are still counted and observed.
    """
    summary = RunSummary()
    names = list(sink_names or [type(s).name or type(s).__name__ for s in sinks])
    summary.sinks = [SinkTally(n) for n in names]
    columns: dict[str, ScoreColumn] = {}
    for plan_name, grader in runner.graders.items():
        columns[plan_name] = _column("grader", plan_name, grader)
        summary.scores[plan_name] = ScoreStats(plan_name, "grader")
    for agg_name, agg in runner.aggregators.items():
        columns[AGGREGATED_PREFIX + agg_name] = _column("aggregator", agg_name, agg)
        summary.scores[agg_name] = ScoreStats(agg_name, "aggregator")

    # Chunks graded but not yet through every sink, and how many sinks are done with the first:
    # after an interruption each is counted as not written, so graded = written + failed.
    unwritten: deque[Sequence[ScoreRecord]] = deque()
    head_done = [0]
    to_grade: asyncio.Queue[Any] = asyncio.Queue(maxsize=2)
    to_write: asyncio.Queue[Any] = asyncio.Queue(maxsize=2)
    started = time.perf_counter()

    async def read() -> None:
        chunk: list[EvalCase] = []
        try:
            async for item in source.cases():
                if isinstance(item, CaseError):
                    summary.add_bad_case(item)
                    continue
                chunk.append(item)
                summary.read += 1
                if len(chunk) >= chunk_size:
                    await to_grade.put(chunk)
                    chunk = []
            if chunk:
                await to_grade.put(chunk)
        except RmgError as exc:
            # The source failed as a whole: what it did yield is still graded and written.
            summary.fatal = str(exc)
            if chunk:
                await to_grade.put(chunk)
        # Not in a `finally`: once cancelled, nobody reads the queue, and waiting for room would hang.
        await to_grade.put(_DONE)

    async def grade() -> None:
        while (chunk := await to_grade.get()) is not _DONE:
            results = await runner.arun([case.grader_fields() for case in chunk])
            records = records_for(chunk, results, columns)
            for run in records.runs:
                summary.scores[run.column.name].add_run(run)
            for observe in observers:
                observe(chunk, records)
            summary.cases += len(chunk)
            if not write_not_applicable:
                records = records.without("not_applicable")
            unwritten.append(records)
            await to_write.put(records)
        await to_write.put(_DONE)

    async def write() -> None:
        while (records := await to_write.get()) is not _DONE:
            for i, (sink, tally) in enumerate(zip(sinks, summary.sinks)):
                try:
                    tally.add(await sink.write(records))
                except Exception as exc:  # a sink that raises loses nothing silently
                    tally.fail_all(records, f"sink raised {type(exc).__name__}: {exc}")
                head_done[0] = i + 1
            unwritten.popleft()
            head_done[0] = 0
            if progress is not None:
                summary.seconds = time.perf_counter() - started
                progress(summary)

    async def tick() -> None:
        # Progress between chunks too: observers read finer counters (GradingRunner.completed, Source.progress).
        while True:
            await asyncio.sleep(PROGRESS_TICK)
            summary.seconds = time.perf_counter() - started
            progress(summary)  # type: ignore[misc]

    opened: list[tuple[Sink, SinkTally]] = []
    finished = False
    ticker = asyncio.ensure_future(tick()) if progress is not None else None
    try:
        for sink, tally in zip(sinks, summary.sinks):
            await sink.open()
            opened.append((sink, tally))
        tasks = [asyncio.ensure_future(t()) for t in (read, grade, write)]
        try:
            with fewer_collections():
                await asyncio.gather(*tasks)
            finished = True
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
    except asyncio.CancelledError:
        # Ctrl-C: asyncio.run cancels this task once.  Returning (instead of
        # re-raising) lets the caller print what was done and exit non-zero;
        # a second Ctrl-C still stops at once.
        summary.interrupted = True
    except RmgError as exc:
        summary.fatal = str(exc)
    finally:
        if ticker is not None:
            ticker.cancel()
        _count_unwritten(unwritten, head_done[0], summary)
        await close_run(summary, source, opened, finished=finished, started=started)
    return summary


async def close_run(
    summary: RunSummary, source: Source, opened: Sequence[tuple[Sink, SinkTally]], *, finished: bool, started: float,
) -> None:
    """End a run on every exit path, in process or on an executor: say why nothing was graded, close sinks and source.

    A sink closes with `Sink.close` only when the run completed and it lost
    nothing; otherwise with `Sink.close_incomplete`, so an incomplete file
    never replaces a complete one.
    """
    if summary.graded_nothing and finished and not summary.fatal:
        try:
            summary.empty_reason = source.why_empty()
        except Exception:
            pass  # a failed diagnosis must not hide the outcome itself
    for sink, tally in opened:
        complete = finished and not (summary.interrupted or summary.fatal or tally.failed_count)
        try:
            tally.add(await (sink.close() if complete else sink.close_incomplete()))
        except Exception as exc:
            summary.fatal = f"sink {tally.sink} failed to close: {exc}"
    try:
        await source.aclose()
    except Exception:
        pass  # closing a reader cannot lose a score
    summary.seconds = time.perf_counter() - started



_collecting_runs = [0, (0, 0, 0)]  # runs in progress, and the thresholds before the first


@contextlib.contextmanager
def fewer_collections(young: int = 50_000) -> Iterator[None]:
    """Let ``young`` new objects (not 700) pile up before the cyclic garbage collector runs.

    A run allocates millions of short-lived objects (cases, results, records)
    and keeps each chunk's alive a while; with the default threshold the
    collector ran ~900 times per 20,000 traces, re-scanning the chunks in
    flight: a quarter of the run's CPU.  Process-wide, restored when the last
    run in progress ends; cyclic garbage waits for at most ``young`` objects.
    """
    if _collecting_runs[0] == 0:
        _collecting_runs[1] = gc.get_threshold()
        gc.set_threshold(max(young, _collecting_runs[1][0]), *_collecting_runs[1][1:])
    _collecting_runs[0] += 1
    try:
        yield
    finally:
        _collecting_runs[0] -= 1
        if _collecting_runs[0] == 0:
            gc.set_threshold(*_collecting_runs[1])


def _count_unwritten(unwritten: "deque[Sequence[ScoreRecord]]", head_done: int, summary: RunSummary) -> None:
    """Count the scores of chunks a stopped run graded but did not write, as failed writes."""
    why = "the run stopped before this score reached the sink"
    for n, records in enumerate(unwritten):
        for i, tally in enumerate(summary.sinks):
            if n == 0 and i < head_done:
                continue  # this sink had the chunk already
            tally.fail_all(records, why)
    unwritten.clear()
