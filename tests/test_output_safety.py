"""Outputs are never torn or half-replaced, and a stopped run accounts for every graded score."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any, AsyncIterator, Sequence

import pytest

from rmg_core import (
    EvalCase, Grader, GraderResult, GraderScore, GradingRunner, ScoreRecord, Sink, Source, SourceError,
    WriteReport,
)
from rmg_kit import spreadsheet_safe
from rmg_core.pipeline import run_evaluation
from rmg_local.sink import LocalFileSink
from rmg_local.source import LocalFileSource
from tests.conftest import Length


def write_traces(path: Path, n: int, **extra: Any) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            handle.write(json.dumps({"id": f"t{i}", "input": "q", "output": "x" * (i % 5), **extra}) + "\n")


class FailingAfter(Source):
    """Yields ``n`` cases, then fails as a whole (a server gone mid-listing)."""

    name = "failing_after"

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    async def cases(self) -> AsyncIterator[EvalCase]:
        for i in range(self.n):
            yield EvalCase(id=f"t{i}", prediction="xx")
        raise SourceError("the trace server went away")


def test_csv_cells_that_would_run_as_formulas_are_neutralised(tmp_path: Path) -> None:
    traces, out = tmp_path / "t.jsonl", tmp_path / "scores.csv"
    rows = ["=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx", "-42", "plain"]
    with traces.open("w") as handle:
        for i, trace_id in enumerate(rows):
            handle.write(json.dumps({"id": trace_id, "input": "q", "output": "x" * i}) + "\n")
    asyncio.run(run_evaluation(LocalFileSource(path=str(traces)), GradingRunner({"length": Length(scale=-4)}),
                               [LocalFileSink(path=str(out))]))
    with out.open(newline="") as handle:
        ids = [row["trace_id"] for row in csv.DictReader(handle)]
    assert ids == ["'" + r for r in rows[:6]] + ["-42", "plain"]
    assert spreadsheet_safe(-0.5) == -0.5 and spreadsheet_safe("-0.5") == "-0.5" and spreadsheet_safe("1e5") == "1e5"


def test_a_failed_run_leaves_the_previous_file_and_keeps_a_partial(tmp_path: Path) -> None:
    out = tmp_path / "scores.jsonl"
    out.write_text("previous run\n")
    summary = asyncio.run(run_evaluation(FailingAfter(7), GradingRunner({"length": Length()}),
                                         [LocalFileSink(path=str(out))], chunk_size=3))
    assert summary.fatal and summary.exit_code == 1
    assert out.read_text() == "previous run\n"
    partial = tmp_path / "scores.jsonl.partial"
    written = summary.sinks[0].report.written
    assert written > 0 and len(partial.read_text().splitlines()) == written
    assert "left as it was; the scores written are in" in summary.render() and "scores.jsonl.partial" in summary.render()
    assert summary.as_dict()["sinks"][0]["notes"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_complete_run_replaces_the_file_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    traces, out = tmp_path / "t.jsonl", tmp_path / "scores.jsonl"
    write_traces(traces, 5)
    out.write_text("previous run\n")
    summary = asyncio.run(run_evaluation(LocalFileSource(path=str(traces)), GradingRunner({"length": Length()}),
                                         [LocalFileSink(path=str(out))]))
    assert summary.exit_code == 0 and len(out.read_text().splitlines()) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.jsonl", "t.jsonl"]


def test_an_interrupted_run_reconciles_graded_and_written(tmp_path: Path) -> None:
    """Cancelled mid-run: every score of every graded trace is either written or counted as not written."""
    traces = tmp_path / "t.jsonl"
    write_traces(traces, 200)

    class SlowSink(Sink):
        name = "slow"

        async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
            await asyncio.sleep(0.05)
            return WriteReport(written=len(records))

    out = tmp_path / "scores.jsonl"

    async def main() -> Any:
        task = asyncio.ensure_future(run_evaluation(
            LocalFileSource(path=str(traces)), GradingRunner({"length": Length()}),
            [LocalFileSink(path=str(out)), SlowSink()], chunk_size=5))
        await asyncio.sleep(0.2)
        task.cancel()
        return await task

    summary = asyncio.run(main())
    assert summary.interrupted and summary.exit_code == 1
    graded_scores = summary.cases  # one grader: one score per case
    assert 0 < summary.sinks[1].report.written < graded_scores
    for tally in summary.sinks:
        assert tally.report.written + tally.failed_count == graded_scores, tally.sink
    assert summary.sinks[1].failed_count > 0
    assert "the run stopped before this score reached the sink" in summary.render()
    assert not out.exists() and (tmp_path / "scores.jsonl.partial").exists()


def test_cancelling_with_full_queues_does_not_hang(tmp_path: Path) -> None:
    """Ctrl-C while the reader waits for room and the grader is busy: the run stops, it does not hang."""
    traces = tmp_path / "t.jsonl"
    write_traces(traces, 20)

    class Sleepy(Grader):
        name = "sleepy"
        required_fields = ("prediction",)

        async def aevaluate(self, prediction: Any) -> GraderResult:
            await asyncio.sleep(30)
            return GraderScore(score=1.0)

    async def main() -> Any:
        task = asyncio.ensure_future(run_evaluation(
            LocalFileSource(path=str(traces)), GradingRunner({"sleepy": Sleepy()}), [], chunk_size=1))
        await asyncio.sleep(1.5)  # the reader has filled the queue and waits; the grader sleeps
        task.cancel()
        return await asyncio.wait_for(task, 10)

    summary = asyncio.run(main())
    assert summary.interrupted and summary.exit_code == 1
