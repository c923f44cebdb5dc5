"""Source -> graders -> aggregators -> sinks, streaming in bounded chunks.

Three stages overlap, joined by queues of two chunks each: reading the next
chunk, grading the current one, and writing the previous one.  Memory is
bounded by a few chunks whatever the number of traces.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from .cases import CaseError, EvalCase
from .components import Aggregator, Grader, Sink, Source
from .errors import RmgError
from .records import ScoreRecord, record_from_result
from .runner import AGGREGATED_PREFIX, GradingRunner, RunResults
from .summary import RunSummary, ScoreStats, SinkTally

_DONE = object()
ProgressFn = Callable[[RunSummary], None]
#: Called with each graded chunk's cases and records, before they are written
#: (statistics, reports).  It runs on the event loop: keep it cheap.
ChunkObserver = Callable[[Sequence[EvalCase], Sequence[ScoreRecord]], None]


@dataclass
class _Identity:
    component: str
    plugin: str
    version: str
    fingerprint: str


def _identity(component: str, obj: Grader | Aggregator) -> _Identity:
    return _Identity(component, type(obj).name or type(obj).__name__, str(obj.version), obj.fingerprint())


def records_for(cases: Sequence[EvalCase], results: RunResults, identities: dict[str, _Identity]) -> list[ScoreRecord]:
    """All score records of a graded chunk: each case's grader scores, then its aggregates."""
    out: list[ScoreRecord] = []
    for key, column in results.items():
        is_agg = key.startswith(AGGREGATED_PREFIX)
        name = key[len(AGGREGATED_PREFIX):] if is_agg else key
        ident = identities[key]
        for case, result in zip(cases, column):
            out.append(
                record_from_result(
                    result,
                    trace_id=case.id,
                    name=name,
                    timestamp=case.timestamp,
                    observation_id=case.observation_id,
                    component=ident.component,  # type: ignore[arg-type]
                    plugin=ident.plugin,
                    version=ident.version,
                    fingerprint=ident.fingerprint,
                )
            )
    return out


async def run_evaluation(
    source: Source,
    runner: GradingRunner,
    sinks: Sequence[Sink],
    *,
    chunk_size: int = 1000,
    progress: Optional[ProgressFn] = None,
    sink_names: Optional[Sequence[str]] = None,
    observers: Sequence[ChunkObserver] = (),
) -> RunSummary:
    """Grade every case ``source`` yields and write the scores to every sink.

    Returns a `RunSummary`; its ``exit_code`` is non-zero when a score could
    not be written, the source failed, or the run was interrupted.  Sinks are
    closed (flushed) on every exit path, including cancellation (Ctrl-C).
    """
    summary = RunSummary()
    names = list(sink_names or [type(s).name or type(s).__name__ for s in sinks])
    summary.sinks = [SinkTally(n) for n in names]
    identities: dict[str, _Identity] = {}
    for plan_name, grader in runner.graders.items():
        identities[plan_name] = _identity("grader", grader)
        summary.scores[plan_name] = ScoreStats(plan_name, "grader")
    for agg_name, agg in runner.aggregators.items():
        identities[AGGREGATED_PREFIX + agg_name] = _identity("aggregator", agg)
        summary.scores[agg_name] = ScoreStats(agg_name, "aggregator")

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
                if len(chunk) >= chunk_size:
                    await to_grade.put(chunk)
                    chunk = []
            if chunk:
                await to_grade.put(chunk)
        finally:
            await to_grade.put(_DONE)

    async def grade() -> None:
        try:
            while (chunk := await to_grade.get()) is not _DONE:
                results = await runner.arun([case.grader_fields() for case in chunk])
                records = records_for(chunk, results, identities)
                for record in records:
                    summary.scores[record.name].add(record)
                for observe in observers:
                    observe(chunk, records)
                summary.cases += len(chunk)
                await to_write.put(records)
        finally:
            await to_write.put(_DONE)

    async def write() -> None:
        while (records := await to_write.get()) is not _DONE:
            for sink, tally in zip(sinks, summary.sinks):
                try:
                    tally.add(await sink.write(records))
                except Exception as exc:  # a sink that raises loses nothing silently
                    tally.fail_all(records, f"sink raised {type(exc).__name__}: {exc}")
            if progress is not None:
                summary.seconds = time.perf_counter() - started
                progress(summary)

    opened: list[tuple[Sink, SinkTally]] = []
    try:
        for sink, tally in zip(sinks, summary.sinks):
            await sink.open()
            opened.append((sink, tally))
        tasks = [asyncio.ensure_future(t()) for t in (read, grade, write)]
        try:
            await asyncio.gather(*tasks)
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
        for sink, tally in opened:
            try:
                tally.add(await sink.close())
            except Exception as exc:
                summary.fatal = f"sink {tally.sink} failed to close: {exc}"
        try:
            await source.aclose()
        except Exception:
            pass  # closing a reader cannot lose a score
        summary.seconds = time.perf_counter() - started
    return summary

