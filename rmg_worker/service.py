"""The worker loop: a cycle every ``interval`` (or once), clean shutdown on SIGINT/SIGTERM.

Each cycle reads the window ``[watermark - overlap, now - settle)``: the
overlap catches traces that arrived late or changed after they were read
(the ledger keeps it from grading anything twice); the settle delay leaves
traces alone while their output may still arrive.  The watermark moves to
the window's end only when the whole window was read, so an outage (the
source failing for minutes) loses nothing: the next cycle reads it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional, TextIO

from rmg_core import Components, Executor, RunContext, printable, run_evaluation

from .cycle import CycleStats, DueCases, LedgerSink
from .durations import format_duration
from .durations import iso_utc as _iso
from .ledger import RetryPolicy, score_plan
from .pacing import Pacer
from .settings import WorkerSettings
from .state import WorkerState

#: Weight of the newest cycle in the arrival-rate estimate ``rmg worker status`` shows.
_RATE_WEIGHT = 0.3
#: Seconds between two prunings of the ledger (``retain``).
_PRUNE_EVERY = 3600.0


class CycleLog:
    """One line per event on a stream: readable text, or JSON objects (``--log-format json``)."""

    def __init__(self, stream: TextIO = sys.stderr, fmt: str = "text", quiet: bool = False) -> None:
        self.stream, self.fmt, self.quiet = stream, fmt, quiet

    def event(self, event: str, message: str, important: bool = False, **fields: Any) -> None:
        """Write one line; with ``quiet``, only errors, failed cycles and the final line."""
        if self.quiet and not important and event not in ("error", "stopped"):
            return
        if self.fmt == "json":
            line = json.dumps({"time": _iso(datetime.now(timezone.utc)), "event": event, **fields}, default=str)
        else:
            line = printable(f"rmg worker: {message}")  # error texts come from trace data
        self.stream.write(line + "\n")
        self.stream.flush()

    def cycle(self, stats: CycleStats) -> None:
        s = stats
        graded = f"graded {s.graded} (new {s.new}, changed {s.changed}, retried {s.retried})"
        scores = f"scores {s.scored} ok, {s.failed} failed, {s.dead} dead"
        extra = "".join(
            f", {label} {value}" for label, value in (
                ("sampled out", s.sampled_out), ("too young", s.deferred), ("bad traces", s.bad_cases),
                ("not found", s.not_found), ("not retried (fail every time)", s.not_retried),
            ) if value
        )
        window = f"window {s.window_start or 'start'} .. {s.window_end}" if s.window_end else "whole source"
        text = (f"cycle {s.cycle} {s.status}: read {s.read}, skipped {s.skipped}, {graded}, {scores}{extra}; "
                f"{window}; {s.seconds:.2f}s (source {s.source_seconds:.2f}s, sinks {s.sink_seconds:.2f}s, "
                f"ledger {s.ledger_seconds:.2f}s)")
        if s.error:
            text += f"; {s.error}"
        elif s.errors:
            more = s.failed + s.dead - 1
            text += f"; e.g. {s.errors[0]}" + (f" (and {more} more; see rmg worker status)" if more > 0 else "")
        trouble = s.status == "failed" or s.failed > 0 or s.dead > 0
        self.event("cycle", text, important=trouble, **{k: v for k, v in s.as_dict().items() if k != "errors" or v})


class Worker:
    """Runs cycles over one config with one state file.  `run` returns the exit status."""

    def __init__(
        self, components: Components, settings: WorkerSettings, state: WorkerState, *, chunk_size: int,
        log: CycleLog, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        executor: Optional[Executor] = None, run: Optional[RunContext] = None,
    ) -> None:
        self.c, self.settings, self.state, self.log, self.clock = components, settings, state, log, clock
        #: Where each cycle's cases are graded (``--executor``, ``--workers``); ``None``: in this process.
        #: ``run`` is the context it needs (host and config), whose components each cycle replaces.
        self.executor, self.run_context = executor, run
        if executor is not None and run is None:
            raise ValueError("a Worker with an executor needs the RunContext of its config")
        self.chunk_size = chunk_size
        self.plan = score_plan(components.graders, components.aggregators)
        self.policy = RetryPolicy(settings.max_attempts, settings.retry_backoff, settings.retry_backoff_max)
        self.ledger_sink = LedgerSink(components.sinks, components.sink_names, state=state, plan=self.plan, policy=self.policy)
        self.pacer = Pacer(settings.max_traces_per_minute) if settings.max_traces_per_minute else None
        if self.pacer is not None:
            # A chunk fills at the paced rate: keep it to ~10 s of traces so scores keep flowing.
            self.chunk_size = max(1, min(chunk_size, settings.max_traces_per_minute // 6))  # type: ignore[operator]
        self.stop = asyncio.Event()
        self.signals = 0
        self.cycles = 0
        cycles = state.last_cycle()
        if cycles:
            self.cycles = int(cycles.get("cycle", 0))

    # -- signals ---------------------------------------------------------------------------
    def _on_signal(self, signum: int) -> None:
        self.signals += 1
        name = signal.Signals(signum).name
        if self.signals == 1:
            self.log.event("stopping", f"{name}: finishing in-flight work, then saving state "
                           f"(send it again to exit at once)", signal=name)
            self.stop.set()
        else:
            self.log.event("stopped", f"{name} again: exiting now; the ledger keeps every committed chunk",
                           signal=name, exit_code=128 + signum)
            # SQLite rolls an open transaction back on the next open: nothing half-written survives.
            os._exit(128 + signum)

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self._on_signal, signum)
            except NotImplementedError:  # Windows event loops: a plain handler that hands over to the loop
                signal.signal(signum, lambda s, _frame: loop.call_soon_threadsafe(self._on_signal, s))

    # -- the loop --------------------------------------------------------------------------
    async def run(self, once: bool = False) -> int:
        """Cycle until stopped (or once).  0 on a clean stop; with ``once``, 1 if the cycle failed or a score was not written."""
        # The engine starts once (a local Ray cluster takes 20-40 s) and serves every cycle; its own set-up
        # may take over signals, so the worker's handlers are installed after it.
        async with (self.executor.held() if self.executor is not None else contextlib.nullcontext()):
            return await self._run(once)

    async def _run(self, once: bool) -> int:
        self.install_signal_handlers()
        where = f", grading on executor {type(self.executor).name!r}" if self.executor is not None else ""
        self.log.event("started", f"started: state {self.state.path}, every {format_duration(self.settings.interval)}, "
                       f"scores {', '.join(self.plan)}{where}", state=str(self.state.path), interval=self.settings.interval,
                       scores=list(self.plan), once=once, executor=type(self.executor).name if self.executor else None)
        exit_code = 0
        try:
            while not self.stop.is_set():
                started = time.monotonic()
                stats = await self.cycle()
                if once:
                    # A signal-stopped cycle is a clean stop (0); a failed cycle or an unwritten score is not.
                    exit_code = 1 if (stats.status == "failed" or stats.failed or stats.dead) else 0
                    break
                wait = max(0.0, self.settings.interval - (time.monotonic() - started))
                try:
                    await asyncio.wait_for(self.stop.wait(), timeout=wait)
                except asyncio.TimeoutError:
                    pass
        finally:
            problem = await self.ledger_sink.shutdown()
            if problem:
                self.log.event("error", problem, error=problem)
                exit_code = exit_code or 1
            self.log.event("stopped", f"stopped after {self.cycles} cycle(s); watermark {_iso(self.state.watermark) or 'none'}",
                           cycles=self.cycles, watermark=_iso(self.state.watermark), exit_code=exit_code)
        return exit_code

    def window(self) -> tuple[Optional[datetime], datetime]:
        """``[watermark - overlap, now - settle)``; before any watermark, ``now - lookback`` is the start."""
        now = self.clock()
        end = now - timedelta(seconds=self.settings.settle)
        watermark = self.state.watermark
        if watermark is None:
            start = now - timedelta(seconds=self.settings.lookback)
        else:
            start = watermark - timedelta(seconds=self.settings.overlap)
        return min(start, end), end

    async def cycle(self) -> CycleStats:
        """One cycle; never raises for a source, sink or grader failure (it is logged, and retried next cycle)."""
        self.cycles += 1
        t0 = time.perf_counter()
        stats = CycleStats(cycle=self.cycles, started=_iso(self.clock()) or "")
        start, end = self.window()
        old_watermark = self.state.watermark
        try:
            due = self._due_cases(start, end, stats)
            summary = await self._grade(due)
            # Scores that could not be written are in the ledger (and stats) as failed;
            # what is left here is a failure of the source or of opening a sink.
            error = summary.fatal
        except Exception as exc:  # one bad cycle never stops the worker
            error = f"{type(exc).__name__}: {exc}"
        if error:
            stats.status, stats.error = "failed", error
        elif not due.complete:
            stats.status = "stopped"
        else:
            if due.hold is not None and due.hold < end:
                # A trace not finished yet: the next window must still reach it (never moving back).
                end = max(due.hold, old_watermark) if old_watermark is not None else due.hold
            self.state.set_watermark(end)
            self._update_rate(old_watermark, end, stats)
            if stats.window_end is not None:
                self._prune(start)
        stats.watermark = _iso(self.state.watermark)
        stats.seconds = time.perf_counter() - t0
        self.state.set_meta("last_cycle", json.dumps(stats.as_dict()))
        if stats.status == "ok":
            self.state.set_meta("last_ok_cycle", json.dumps(stats.as_dict()))
        self.log.cycle(stats)
        return stats

    async def _grade(self, due: DueCases) -> Any:
        """Grade the cycle's due cases and write them through the ledger sink, here or on the executor.

        On an executor, the window is still read here (the ledger, on this
        machine, says which traces are due); the due cases go out in work
        units, the records come back, and the ledger sink writes each unit's
        records once and records them, as in process.
        """
        if self.executor is None:
            return await run_evaluation(due, self.c.runner, [self.ledger_sink], chunk_size=self.chunk_size, sink_names=["worker"])
        assert self.run_context is not None
        components = dataclasses.replace(self.c, source=due, sinks=[self.ledger_sink], sink_names=["worker"])
        return await self.executor.run(dataclasses.replace(self.run_context, components=components))

    def _due_cases(self, start: Optional[datetime], end: datetime, stats: CycleStats) -> DueCases:
        """The cycle's source: the window (or the whole source), after the failed traces due for a retry."""
        windowed = self.c.source.windowed(start, end)
        retry_source, retry_ids = None, []
        if windowed is not None:
            stats.window_start, stats.window_end = _iso(start), _iso(end)
            # Failed traces older than the window are fetched by id; younger ones are in the window anyway.
            retry_ids = self.state.due_retries(time.time(), start.timestamp() if start else None, self.settings.retry_batch)
            retry_source = self.c.source.only(retry_ids) if retry_ids else None
            if retry_ids and retry_source is None:
                # The source cannot look traces up by id: reach back to the oldest due retry instead
                # (the ledger skips everything in between that is done).
                oldest = self.state.oldest_due_time(time.time())
                if oldest is not None and (start is None or oldest < start.timestamp()):
                    reach = datetime.fromtimestamp(oldest, timezone.utc)
                    windowed = self.c.source.windowed(reach, end) or windowed
                    stats.window_start = _iso(reach)
        self.ledger_sink.start_cycle(stats)
        return DueCases(
            [windowed if windowed is not None else self.c.source], state=self.state, plan=self.plan,
            pending=self.ledger_sink.pending, stats=stats, stop=self.stop,
            window_end=end, sample_rate=self.settings.sample_rate, pacer=self.pacer, policy=self.policy,
            aggregators=list(self.c.aggregators), retry_ids=retry_ids if retry_source is not None else (), retry_source=retry_source,
            hold_limit=end - timedelta(seconds=self.settings.lookback),
        )

    def _prune(self, window_start: Optional[datetime]) -> None:
        """Forget rows older than ``retain`` (and than the window), at most once an hour.

        Only for a windowed source: a source read whole every cycle would
        hand the forgotten traces back, and they would be graded again.
        """
        if not self.settings.retain or window_start is None:
            return
        last = float(self.state.get_meta("last_prune") or 0)
        if time.time() - last < _PRUNE_EVERY:
            return
        before = min(time.time() - self.settings.retain, window_start.timestamp())
        pruned = self.state.prune(before)
        self.state.set_meta("last_prune", repr(time.time()))
        if pruned:
            self.log.event("pruned", f"forgot {pruned} ledger row(s) of traces older than "
                           f"{format_duration(self.settings.retain)}", rows=pruned)

    def _update_rate(self, old: Optional[datetime], new: datetime, stats: CycleStats) -> None:
        """Traces per second arriving, smoothed over cycles: what the backlog estimate multiplies."""
        if old is None or new <= old:
            return
        rate = (stats.new) / (new - old).total_seconds()
        previous = self.state.get_meta("arrival_rate")
        if previous is not None:
            rate = _RATE_WEIGHT * rate + (1 - _RATE_WEIGHT) * float(previous)
        self.state.set_meta("arrival_rate", repr(rate))
