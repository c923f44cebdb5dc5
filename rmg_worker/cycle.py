"""One worker cycle: read a window of traces, grade what the ledger says is due, write, remember.

The cycle hands `rmg_core.pipeline.run_evaluation` two adapters:

* `DueCases`, a source that reads the plugin source's window (and the failed
  traces whose retry is due), drops what the ledger says is done, samples,
  paces, and stops reading when the worker is asked to stop;
* `LedgerSink`, a sink that writes each chunk to every configured sink and
  then records, in one SQLite transaction, what happened to each score.

A score is recorded as done only after every sink reported it written, so a
crash between the write and the record re-grades it next time: writes are
idempotent (deterministic score ids), so the server still holds it once.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, AsyncIterator, Optional, Sequence

from rmg_core import CaseError, EvalCase, ScoreRecord, Sink, Source, WriteReport
from rmg_kit import sample_fraction

from .ledger import (
    CHANGED,
    NEW,
    RETRY,
    PendingCase,
    RetryPolicy,
    content_hash,
    due_scores,
    grading_reason,
    fails_every_time,
    missing_outcomes,
    outcome_of,
)
from .pacing import Pacer
from .state import WorkerState

#: Cases looked up in the ledger at once.
LOOKUP_BATCH = 256
_END = object()
#: The `CycleStats` counter of each reason a case is graded.
_COUNTERS = {NEW: "new", CHANGED: "changed", RETRY: "retried"}


@dataclass
class CycleStats:
    """What one cycle did; logged as one line and kept as the state's ``last_cycle``."""

    cycle: int = 0
    started: str = ""
    window_start: Optional[str] = None
    window_end: Optional[str] = None
    read: int = 0
    skipped: int = 0
    sampled_out: int = 0
    deferred: int = 0
    bad_cases: int = 0
    new: int = 0
    changed: int = 0
    retried: int = 0
    not_found: int = 0
    graded: int = 0
    scored: int = 0
    failed: int = 0
    dead: int = 0
    #: Grader errors that fail the same way on every attempt (a missing field): recorded once, not retried.
    not_retried: int = 0
    status: str = "ok"
    error: Optional[str] = None
    watermark: Optional[str] = None
    seconds: float = 0.0
    #: Time spent waiting on the source, in the sinks' writes, and in ledger reads and writes.
    #: The stages overlap, so these do not add up to ``seconds``; grading is the rest.
    source_seconds: float = 0.0
    sink_seconds: float = 0.0
    ledger_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("seconds", "source_seconds", "sink_seconds", "ledger_seconds"):
            data[key] = round(data[key], 3)
        return data


class DueCases(Source):
    """The cases of this cycle that need grading, read from one or more plugin sources in turn."""

    name = "worker"

    def __init__(
        self, sources: Sequence[Source], *, state: WorkerState, plan: dict[str, str], pending: dict[str, PendingCase],
        stats: CycleStats, stop: asyncio.Event, window_end: Optional[datetime], sample_rate: float,
        pacer: Optional[Pacer], policy: RetryPolicy, aggregators: Sequence[str] = (),
        retry_ids: Sequence[str] = (), retry_source: Optional[Source] = None,
        hold_limit: Optional[datetime] = None,
    ) -> None:
        super().__init__()
        self.sources = list(sources)
        self.state, self.plan, self.pending, self.stats = state, plan, pending, stats
        self.stop, self.window_end, self.sample_rate, self.pacer = stop, window_end, sample_rate, pacer
        self.policy = policy
        self.aggregators = frozenset(aggregators)
        self.retry_ids = list(retry_ids)
        self.retry_source = retry_source
        #: True once every source was read to its end (the watermark may move).
        self.complete = False
        #: Traces that started after ``hold_limit`` and are not settled hold the watermark back;
        #: an older one that still runs is graded as it is (it must not hold the worker forever).
        self.hold_limit = hold_limit
        #: The start time of the earliest trace left for a later cycle because it is not settled.
        self.hold: Optional[datetime] = None

    async def cases(self) -> AsyncIterator[EvalCase | CaseError]:
        if self.retry_source is not None and self.retry_ids:
            seen: set[str] = set()
            async for item in self._due(self.retry_source, seen):
                yield item
            if self.stop.is_set():
                return
            self._missing(set(self.retry_ids) - seen)
        for source in self.sources:
            async for item in self._due(source, None):
                yield item
            if self.stop.is_set():
                return
        self.complete = True

    async def aclose(self) -> None:
        for source in [*([self.retry_source] if self.retry_source else []), *self.sources]:
            try:
                await source.aclose()
            except Exception:
                pass  # closing a reader cannot lose a score

    def _missing(self, ids: set[str]) -> None:
        """Failed traces the source no longer returns: count an attempt, so they end up dead, not forever retried."""
        if not ids:
            return
        rows = self.state.lookup(sorted(ids))
        policy, now = self.policy, time.time()
        outcomes = []
        for trace_id in sorted(ids):
            pending = PendingCase(content="", rows=rows.get(trace_id, {}), trace_time=None)
            outcomes += missing_outcomes(trace_id, self.plan, pending,
                                         "the source no longer returns this trace (deleted, or outside its filters)",
                                         policy, now)
        self.stats.not_found += len(ids)
        self.state.record(outcomes)

    async def _due(self, source: Source, seen: Optional[set[str]]) -> AsyncIterator[EvalCase | CaseError]:
        async for batch in self._batches(source):
            cases = [c for c in batch if isinstance(c, EvalCase)]
            for bad in batch:
                if isinstance(bad, CaseError):
                    self.stats.bad_cases += 1
                    yield bad
            if seen is not None:
                seen.update(c.id for c in cases)
            kept: dict[str, EvalCase] = {}
            for case in cases:
                self.stats.read += 1
                if self.sample_rate < 1 and sample_fraction(case.id) >= self.sample_rate:
                    self.stats.sampled_out += 1
                elif self.window_end is not None and case.timestamp is not None and case.timestamp >= self.window_end:
                    self.stats.deferred += 1  # too young: its output may still change
                elif self._unsettled(case):
                    self.stats.deferred += 1  # still running, or ended less than `settle` ago
                    assert case.timestamp is not None
                    self.hold = case.timestamp if self.hold is None else min(self.hold, case.timestamp)
                elif case.id in self.pending or case.id in kept:
                    self.stats.skipped += 1  # listed twice in one cycle; already on its way
                else:
                    kept[case.id] = case
            t0 = time.perf_counter()
            rows = self.state.lookup(list(kept)) if kept else {}
            self.stats.ledger_seconds += time.perf_counter() - t0
            now = time.time()
            for case in kept.values():
                content = content_hash(case)
                prior = rows.get(case.id, {})
                due = due_scores(self.plan, content, prior, now, self.aggregators)
                if not due:
                    self.stats.skipped += 1
                    continue
                reason = grading_reason(self.plan, content, prior)
                if self.pacer is not None and not await self.pacer.take(self.stop):
                    return
                if self.stop.is_set():
                    return
                counter = _COUNTERS[reason]
                setattr(self.stats, counter, getattr(self.stats, counter) + 1)
                trace_time = case.timestamp.timestamp() if case.timestamp is not None else None
                self.pending[case.id] = PendingCase(content, prior, trace_time, due)
                yield case
            if self.stop.is_set():
                return

    def _unsettled(self, case: EvalCase) -> bool:
        """The source says the trace runs, or its end is younger than `settle` (``window_end``), and it may wait."""
        if self.window_end is None or case.timestamp is None:
            return False
        if not case.running and (case.ended_at is None or case.ended_at < self.window_end):
            return False
        return self.hold_limit is None or case.timestamp >= self.hold_limit

    async def _batches(self, source: Source) -> AsyncIterator[list[Any]]:
        """The source's items in groups, read by a pump task so a stop request never waits on the network."""
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=LOOKUP_BATCH * 2)

        async def pump() -> None:
            try:
                async for item in source.cases():
                    await queue.put(item)
            except BaseException as exc:  # handed over and raised in the consumer
                await queue.put(exc)
                return
            await queue.put(_END)

        task = asyncio.ensure_future(pump())
        stopping = asyncio.ensure_future(self.stop.wait())
        try:
            while True:
                if queue.empty():
                    waited = time.perf_counter()
                    getter = asyncio.ensure_future(queue.get())
                    await asyncio.wait({getter, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    self.stats.source_seconds += time.perf_counter() - waited
                    if not getter.done():
                        getter.cancel()
                        return
                    first = getter.result()
                else:
                    first = queue.get_nowait()
                batch: list[Any] = []
                item = first
                while True:
                    if item is _END:
                        if batch:
                            yield batch
                        return
                    if isinstance(item, asyncio.CancelledError):
                        return
                    if isinstance(item, BaseException):
                        if batch:
                            yield batch
                        raise item
                    batch.append(item)
                    if len(batch) >= LOOKUP_BATCH or queue.empty():
                        break
                    item = queue.get_nowait()
                yield batch
                if self.stop.is_set():
                    return
        finally:
            stopping.cancel()
            task.cancel()
            await asyncio.gather(task, stopping, return_exceptions=True)


class LedgerSink(Sink):
    """Writes each chunk to every configured sink, then records each score's outcome in the ledger.

    The configured sinks are opened on the first chunk there is to write and
    stay open across cycles (one connection pool, no per-cycle credential
    check), so a cycle with nothing new costs the sinks nothing; `shutdown`
    closes them.  A sink that cannot be opened (server down) fails its
    chunk's scores, which are retried with backoff like any failed write.
    """

    name = "worker"

    def __init__(
        self, sinks: Sequence[Sink], names: Sequence[str], *, state: WorkerState, plan: dict[str, str],
        policy: RetryPolicy,
    ) -> None:
        super().__init__()
        self.sinks, self.names = list(sinks), list(names)
        self.state, self.plan, self.policy = state, plan, policy
        self.pending: dict[str, PendingCase] = {}
        self.stats = CycleStats()
        #: The configured sinks opened so far, in order; all open once it holds every one.
        self._opened: list[Sink] = []

    def start_cycle(self, stats: CycleStats) -> None:
        self.stats = stats
        self.pending.clear()

    async def open(self) -> None:
        """Nothing yet: the configured sinks open on the first write."""

    async def _open_sinks(self) -> None:
        for sink in self.sinks[len(self._opened):]:
            await sink.open()
            self._opened.append(sink)

    async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
        started = time.perf_counter()
        try:
            return await self._write(records)
        finally:
            self.stats.sink_seconds += time.perf_counter() - started

    async def _write(self, graded: Sequence[ScoreRecord]) -> WriteReport:
        # A case re-graded for one score leaves its other, unchanged scores alone.
        records = [r for r in graded if (p := self.pending.get(r.trace_id)) is not None and r.name in p.due]
        done = {r.trace_id for r in graded}
        try:
            return await self._write_due(records)
        finally:
            self.stats.graded += len(done)
            for trace_id in done:
                self.pending.pop(trace_id, None)

    async def _write_due(self, records: Sequence[ScoreRecord]) -> WriteReport:
        if not records:
            return WriteReport()
        failures: dict[str, str] = {}
        if len(self._opened) < len(self.sinks):
            try:
                await self._open_sinks()
            except Exception as exc:
                message = f"could not open sink {self.names[len(self._opened)]}: {exc}"
                return self._remember(records, {r.score_id: message for r in records})
        for sink, name in zip(self.sinks, self.names):
            try:
                report = await sink.write(records)
            except Exception as exc:  # a sink that raises loses nothing silently
                message = f"sink {name} raised {type(exc).__name__}: {exc}"
                for record in records:
                    failures.setdefault(record.score_id, message)
                continue
            for failure in report.failed:
                failures.setdefault(failure.score_id, f"sink {name}: {failure.message}")
        return self._remember(records, failures)

    def _remember(self, records: Sequence[ScoreRecord], failures: dict[str, str]) -> WriteReport:
        now = time.time()
        outcomes = []
        report = WriteReport()
        # An aggregate that failed only because its inputs fail every time fails every time too;
        # one that lost an input to a transient grader error is retried with that grader.
        transient = {r.trace_id for r in records if r.is_error and r.component == "grader" and not fails_every_time(r)}
        for record in records:
            pending = self.pending.get(record.trace_id)
            if pending is None:  # pragma: no cover - every graded case passed through DueCases
                continue
            permanent = (record.is_error or record.is_not_applicable) and (
                fails_every_time(record) or (record.component == "aggregator" and record.trace_id not in transient)
            )
            outcome = outcome_of(record, failures.get(record.score_id), self.plan, pending, self.policy, now, permanent)
            outcomes.append(outcome)
            if outcome.status == "scored":
                self.stats.scored += 1
                report.written += 1
            elif permanent and record.score_id not in failures:
                self.stats.not_retried += 1
                if len(self.stats.errors) < 5 and outcome.last_error:
                    self.stats.errors.append(f"{record.trace_id} {record.name}: {outcome.last_error}")
            else:
                if outcome.status == "dead":
                    self.stats.dead += 1
                else:
                    self.stats.failed += 1
                if len(self.stats.errors) < 5 and outcome.last_error:
                    self.stats.errors.append(f"{record.trace_id} {record.name}: {outcome.last_error}")
        t0 = time.perf_counter()
        self.state.record(outcomes)
        self.stats.ledger_seconds += time.perf_counter() - t0
        return report

    async def close(self) -> WriteReport:
        # The configured sinks stay open for the next cycle; `shutdown` closes them.
        return WriteReport()

    async def shutdown(self) -> Optional[str]:
        """Close (flush) the configured sinks; the first problem, if any."""
        problem = None
        opened, self._opened = self._opened, []
        for sink, name in zip(opened, self.names):
            try:
                report = await sink.close()
                if report.failed:
                    problem = problem or f"sink {name} could not flush {len(report.failed)} score(s) on close"
            except Exception as exc:
                problem = problem or f"sink {name} failed to close: {exc}"
        return problem

