"""The driver of a run on an executor: cut the source into units, merge what comes back, write once per unit.

The driver (the process ``rmg`` runs in) turns the source into `WorkUnit`\\ s —
partitions when the source offers them, else chunks of cases it reads itself —
and hands them to the `Executor` at most ``max_in_flight`` at a time, so it
never holds the dataset.  Results arrive in completion order.  Each unit id is
merged and written at most once: an engine may run a unit twice (a killed
worker's unit is retried), and the records of the second run are dropped
here.  A unit the engine gave up on is counted with its case count and makes
the exit status non-zero.  Statistics, observers (reports, the CI gate) and
the summary see the same records as in-process, so their output is the same.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Mapping, Optional, Sequence

from rmg_core import (
    CaseError, ChunkObserver, EvalCase, GradingRunner, RmgError, RunSummary, ScoreRecords, ScoreStats, Sink, SinkTally, Source, close_run,
    fewer_collections,
)

from .transport import IdCases, cases_from_rows, ids_of, needed_keys, needs_cases, score_identities
from .units import RunSpec, UnitResult, WorkUnit, chunk_unit, grade_unit, unit_id_of
from .worker_sinks import begin_worker_sinks, commit_worker_sinks

if TYPE_CHECKING:
    from .base import UnitExecutor


async def _units(source: Source, parts: Any, unit_cases: int, summary: RunSummary, held: dict[str, list[EvalCase]],
                 keys: Optional[Sequence[str]], with_ids: bool) -> AsyncIterator[WorkUnit]:
    """The run's units (``parts``: the source's partitions, or None); a unit's cases read here wait in ``held`` until it is merged."""
    if parts is not None:
        index = 0
        if hasattr(parts, "__aiter__"):  # a wrapper reads the head first (`rmg_intake` settles its mapping)
            async for part in parts:  # type: ignore[union-attr]
                yield WorkUnit(unit_id_of(index, part), int(part.get("cases", 0)), partition=part)
                index += 1
            return
        for index, part in enumerate(parts):
            yield WorkUnit(unit_id_of(index, part), int(part.get("cases", 0)), partition=part)
        return
    # A source that cannot partition is read here and shipped in chunks.
    chunk: list[EvalCase] = []
    index = 0
    async for item in source.cases():
        if isinstance(item, CaseError):
            summary.add_bad_case(item)
            continue
        chunk.append(item)
        if len(chunk) >= unit_cases:
            unit = chunk_unit(index, chunk, keys, with_ids)
            held[unit.unit_id] = chunk
            yield unit
            index, chunk = index + 1, []
    if chunk:
        unit = chunk_unit(index, chunk, keys, with_ids)
        held[unit.unit_id] = chunk
        yield unit


async def run_on_executor(
    executor: "UnitExecutor",
    spec: RunSpec,
    source: Source,
    runner: GradingRunner,
    sinks: Sequence[Sink],
    *,
    unit_cases: int = 5000,
    max_in_flight: Optional[int] = None,
    progress: Optional[Callable[[RunSummary], None]] = None,
    sink_names: Optional[Sequence[str]] = None,
    observers: Sequence[ChunkObserver] = (),
    write_not_applicable: bool = True,
    graders: Optional[Mapping[str, tuple[Any, Any]]] = None,
    own_executor: bool = True,
) -> RunSummary:
    """Grade every case of ``source`` through ``executor`` and write each unit's records once.

    Like `run_evaluation`, it returns a `RunSummary` whose ``exit_code`` is
    non-zero when a score was not written, a unit was lost, the source failed
    or the run was interrupted; sinks and the executor are closed on every exit
    path, Ctrl-C included.  With ``spec.sinks_on_workers`` the sinks write on
    the workers (each must declare ``runs_on_workers``) and only their
    reports are merged here.  ``write_not_applicable`` and the runner's
    hint style reach the workers, so the records are those `run_evaluation`
    writes.  ``graders`` (``name -> (grader, fields)``, as `Components` has
    them) lets a chunk read here carry only the fields its graders read.
    With ``own_executor=False`` the caller has opened the executor
    (`UnitExecutor.held`) and closes it.
    """
    spec = replace(spec, hints=runner.hints, write_not_applicable=write_not_applicable,
                   return_cases=spec.return_cases and any(needs_cases(observe) for observe in observers))
    keys = needed_keys(graders) if graders is not None else None
    held: dict[str, list[EvalCase]] = {}  # cases of units in flight that were read here, for the observers
    summary = RunSummary()
    names = list(sink_names or [type(s).name or type(s).__name__ for s in sinks])
    summary.sinks = [SinkTally(n) for n in names]
    for plan_name in runner.graders:
        summary.scores[plan_name] = ScoreStats(plan_name, "grader")
    for agg_name in runner.aggregators:
        summary.scores[agg_name] = ScoreStats(agg_name, "aggregator")
    started = time.perf_counter()
    done: set[str] = set()
    opened: list[tuple[Sink, SinkTally]] = []
    executor_open = finished = False
    lost: list[str] = []  # units the engine gave up on: nothing of them was written
    lost_cases, counted = 0, "cases"
    taken: list[tuple[str, int, list[int]]] = []  # (unit id, cases, written per sink) when sinks write on the workers
    try:
        if spec.sinks_on_workers:
            await begin_worker_sinks(sinks, names)
        else:
            for sink, tally in zip(sinks, summary.sinks):
                await sink.open()
                opened.append((sink, tally))
        if own_executor:  # else the caller holds it open across runs (rmg worker's cycles)
            executor_open = True  # closed on every exit path, even if opening was cut short (Ctrl-C)
            await executor.open()
        parts = source.partitions(unit_cases)
        # A partition is a few numbers: four per slot keep every worker fed while the driver merges a unit (it
        # submits more only between merges).  Cases read here are held until merged: two per slot.
        window = max_in_flight or (2 if parts is None else 4) * max(1, executor.slots())
        # Units running at once share a service's limit (rmg_kit.share_of); queued ones use none of it.
        spec = replace(spec, copies=min(window, max(1, executor.slots())))
        units = _units(source, parts, unit_cases, summary, held, keys, spec.sinks_on_workers)
        # As in process: each unit's results are unpickled (on the engine's thread) and its records built
        # here, a few hundred thousand objects the collector would otherwise rescan hundreds of times.
        with fewer_collections():
            async for outcome in executor.map_unordered(grade_unit, spec, units, max_in_flight=window):
                unit: WorkUnit = outcome.unit
                cases = held.pop(unit.unit_id, None)
                if outcome.error is not None:
                    if isinstance(outcome.error, RmgError):  # a version mismatch, a bad config: every unit would fail alike
                        raise RmgError(str(outcome.error))
                    lost_cases += unit.cases
                    # A part of the input counts its traces, before --where/--sample: not cases graded.
                    counted = "cases" if unit.partition is None else "traces"
                    lost.append(f"unit {unit.unit_id} ({unit.cases} {counted}): {type(outcome.error).__name__}: "
                                f"{_first_line(outcome.error)}")
                    continue
                result: UnitResult = outcome.result
                if result.unit_id in done:
                    continue  # a unit run twice by the engine: its records were written the first time
                done.add(result.unit_id)
                if spec.sinks_on_workers:
                    taken.append((result.unit_id, result.cases, [report.written for report in result.reports]))
                await _merge(result, cases, summary, sinks, observers, spec.sinks_on_workers, write_not_applicable)
                if result.source_stats:  # what the workers' sources counted (traces filtered out...), for why_empty
                    add_stats = getattr(source, "add_partition_stats", None)
                    if add_stats is not None:
                        add_stats(result.source_stats)
                if progress is not None:
                    summary.seconds = time.perf_counter() - started
                    progress(summary)
        finished = True
    except BaseException as exc:
        if isinstance(exc, RmgError):
            summary.fatal = str(exc)
        elif _is_cancel(exc):
            summary.interrupted = True
        else:
            raise
    finally:
        if lost and not summary.fatal:
            # Sinks on the workers may have written part of a lost unit before its worker died.
            what = ("lost: their scores were not all written (sinks on the workers may have written some before the worker "
                    "died; a re-run writes each score once)" if spec.sinks_on_workers else "lost and not written")
            summary.fatal = (f"{len(lost)} work units ({lost_cases} {counted}) were {what}; run again to grade them: "
                             + "; ".join(lost[:20]))
        if executor_open:
            try:
                await executor.close()
            except Exception as exc:  # a cluster that fails to stop cannot lose a written score
                summary.fatal = summary.fatal or f"executor {type(executor).name!r} failed to close: {exc}"
        if spec.sinks_on_workers and executor_open:
            await commit_worker_sinks(sinks, summary, taken, score_identities(runner), finished=finished)
        await close_run(summary, source, opened, finished=finished, started=started)
    return summary


def _is_cancel(exc: BaseException) -> bool:
    import asyncio

    return isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


async def _merge(result: UnitResult, cases: Optional[list[EvalCase]], summary: RunSummary, sinks: Sequence[Sink],
                 observers: Sequence[ChunkObserver], on_workers: bool, write_not_applicable: bool) -> None:
    """Count, observe and write one unit's records, built here from its results' columns and its cases' ids.

    ``cases``: the unit's cases when they were read here (else the worker sent
    their ids, and their fields when observers want them).
    """
    summary.cases += result.cases
    summary.bad_cases += result.bad_cases - len(result.bad_case_examples)
    for problem in result.bad_case_examples:
        summary.add_bad_case(problem)
    if result.fatal:
        summary.fatal = summary.fatal or result.fatal
    records = ScoreRecords()
    seen: list[EvalCase] = []
    only_ids = IdCases()  # cases no observer reads beyond their ids: built only if one does
    start = 0
    for chunk in result.chunks:
        if cases is not None:
            chunk_cases = cases[start:start + chunk.size]
            ids: Sequence[Sequence[Any]] = ids_of(chunk_cases)
            seen += chunk_cases
        else:
            assert chunk.ids is not None  # a worker that read the cases sends their ids
            ids = chunk.ids
            if chunk.rows is not None:
                seen += cases_from_rows(chunk.rows)
            else:
                only_ids.extend(ids)
        start += chunk.size
        for run in chunk.records(result.identities, ids).runs:
            summary.scores[run.column.name].add_run(run)
            records.runs.append(run)
    for observe in observers:
        observe(seen if seen or not only_ids else only_ids, records)
    if on_workers:
        for tally, report in zip(summary.sinks, result.reports):
            tally.add(report)
        return
    if not write_not_applicable:  # counted and observed, not written: as `run_evaluation` does
        records = records.without("not_applicable")
    for sink, tally in zip(sinks, summary.sinks):
        try:
            tally.add(await sink.write(records))
        except Exception as exc:  # a sink that raises loses nothing silently
            tally.fail_all(records, f"sink raised {type(exc).__name__}: {exc}")
