"""The local JSONL/CSV source and sink, and the source -> runner -> sink pipeline."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Sequence

import pytest

from rmg_core import ConfigError, EvalCase, GradingRunner, ScoreRecord, Sink, WriteFailure, WriteReport, score_id
from rmg_core.pipeline import run_evaluation
from rmg_local.sink import LocalFileSink
from rmg_local.source import LocalFileSource
from tests.conftest import ExactMatch, Length, Mean


def collect(source: LocalFileSource) -> list[Any]:
    async def go() -> list[Any]:
        return [item async for item in source.cases()]

    return asyncio.run(go())


def test_jsonl_source_reports_bad_lines_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"id": "a", "input": "q", "output": "x", "expected": "x"}\n'
        "\n"
        "{not json\n"
        '{"input": "no id"}\n'
        '{"id": "b", "input": [{"role": "user", "content": "q"}], "output": null}\n',
        encoding="utf-8",
    )
    items = collect(LocalFileSource(path=str(path)))
    assert [type(i).__name__ for i in items] == ["EvalCase", "CaseError", "CaseError", "EvalCase"]
    assert str(items[1]).startswith(f"{path}:3: invalid JSON")
    assert str(items[2]).startswith(f"{path}:4") and "id" in str(items[2])


def test_csv_source(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('id,input,output,expected,metadata\n1,q,a,a,"{""k"": 1}"\n2,q,b,,\n', encoding="utf-8")
    cases = collect(LocalFileSource(path=str(path)))
    assert [c.id for c in cases] == ["1", "2"] and cases[0].metadata == {"k": 1} and cases[1].expected is None


def test_source_setting_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        LocalFileSource(path=str(tmp_path / "missing.jsonl"))
    with pytest.raises(ConfigError, match="is a directory"):
        LocalFileSource(path=str(tmp_path))
    # No telling extension (a .txt, /dev/fd/63 from <(...)): the first bytes say the format.
    (tmp_path / "t.txt").write_text('{"id": "a", "output": "x"}\n')
    assert [c.id for c in collect(LocalFileSource(path=str(tmp_path / "t.txt")))] == ["a"]
    with pytest.raises(ConfigError, match="unknown setting 'paht'.*valid settings: format, limit, max_trace_bytes, path"):
        LocalFileSource(paht="x")


def write_traces(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            row = {"id": f"t{i}", "input": "q", "output": "x" * (i % 5), "timestamp": "2026-05-01T00:00:00Z"}
            if i % 2 == 0:
                row["expected"] = "x" * (i % 5)
            handle.write(json.dumps(row) + "\n")


def test_pipeline_writes_every_score_once_with_deterministic_ids(tmp_path: Path) -> None:
    traces, out = tmp_path / "t.jsonl", tmp_path / "scores.jsonl"
    write_traces(traces, 25)
    runner = GradingRunner({"exact": ExactMatch(), "length": Length(scale=4)}, aggregators=[Mean()])
    summary = asyncio.run(run_evaluation(LocalFileSource(path=str(traces)), runner, [LocalFileSink(path=str(out))], chunk_size=4))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert summary.cases == 25 and summary.exit_code == 0 and len(rows) == 75
    assert len({r["score_id"] for r in rows}) == 75
    exact = {r["trace_id"]: r for r in rows if r["name"] == "exact"}
    # No expected output: not applicable (its own kind, neither a score nor an error), never 0.0.
    assert exact["t1"]["value"] is None and exact["t1"]["kind"] == "not_applicable" and "reference" in exact["t1"]["error"]
    assert exact["t2"]["value"] == 1.0 and exact["t2"]["score_id"] == score_id("t2", "exact")
    assert exact["t2"]["metadata"]["grader"] == "exact" and exact["t2"]["timestamp"].startswith("2026-05-01")
    assert summary.scores["exact"].not_applicable == 12 and summary.scores["exact"].errors == 0
    assert summary.scores["exact"].scored == 13
    # A re-run replaces the file: the same ids, no duplicates.
    asyncio.run(run_evaluation(LocalFileSource(path=str(traces)), runner, [LocalFileSink(path=str(out))], chunk_size=7))
    assert sorted(json.loads(l)["score_id"] for l in out.read_text().splitlines()) == sorted(r["score_id"] for r in rows)


class HalfFailingSink(Sink):
    name = "half"

    async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
        report = WriteReport()
        for i, record in enumerate(records):
            if i % 2:
                report.failed.append(WriteFailure.of(record, "server said 500"))
            else:
                report.written += 1
        return report


class RaisingSink(Sink):
    name = "raising"

    async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
        raise ConnectionError("gone")


def test_failed_writes_are_counted_reported_and_fail_the_run(tmp_path: Path) -> None:
    traces = tmp_path / "t.jsonl"
    write_traces(traces, 10)
    runner = GradingRunner({"length": Length()})
    summary = asyncio.run(run_evaluation(LocalFileSource(path=str(traces)), runner, [HalfFailingSink(), RaisingSink()]))
    assert summary.sinks[0].failed_count == 5 and summary.sinks[0].report.written == 5
    assert summary.sinks[1].failed_count == 10
    assert summary.exit_code == 1
    text = summary.render()
    assert "5 FAILED" in text and "server said 500" in text and "ConnectionError: gone" in text


def test_sink_is_closed_when_the_run_is_cancelled(tmp_path: Path) -> None:
    traces = tmp_path / "t.jsonl"
    write_traces(traces, 50)
    closed = []
    wrote: list[int] = []

    class SlowSink(Sink):
        name = "slow"

        async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
            await asyncio.sleep(0.05)
            wrote.append(len(records))
            return WriteReport(written=len(records))

        async def close(self) -> WriteReport:
            closed.append(True)
            return WriteReport()

    async def main() -> Any:
        task = asyncio.ensure_future(
            run_evaluation(LocalFileSource(path=str(traces)), GradingRunner({"length": Length()}), [SlowSink()], chunk_size=5)
        )
        while not wrote:  # cancelled mid-run, after a first write (however slow the machine)
            await asyncio.sleep(0.01)
        task.cancel()
        return await task

    summary = asyncio.run(main())
    assert closed == [True] and summary.interrupted and summary.exit_code == 1
    assert 0 < summary.sinks[0].report.written < 150


def test_eval_case_timestamp_kept_for_records() -> None:
    case = EvalCase(id="x", timestamp="2026-01-01T00:00:00+02:00")  # type: ignore[arg-type]
    assert case.timestamp.utcoffset().total_seconds() == 7200
