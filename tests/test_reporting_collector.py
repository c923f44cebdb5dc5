"""The run collector (statistics, worst cases, grouped errors) and the configuration fingerprint."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pytest

from rmg_core import EvalCase, GraderRank, GraderResult, GraderScore, GradingRunner, Grader, record_from_result
from rmg_core.pipeline import run_evaluation
from rmg_reporting.collector import RunCollector, truncate
from rmg_reporting.metadata import run_fingerprint, run_info
from rmg_local.sink import LocalFileSink
from rmg_local.source import LocalFileSource
from tests.conftest import ExactMatch, Length, Mean


class ListRank(Grader):
    """A listwise rank: not a number, so it is skipped by the statistics."""

    name = "listrank"
    required_fields = ("prediction",)

    def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> list[GraderResult]:
        return [GraderRank(rank=[2, 1]) for _ in items]


def write_traces(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            row: dict[str, Any] = {
                "id": f"t{i}",
                "input": [{"role": "system", "content": "be brief"}, {"role": "user", "content": f"question {i}"}],
                "output": "x" * (i % 7),
            }
            if i % 3:
                row["expected"] = "x" * (i % 7)
            handle.write(json.dumps(row) + "\n")


def run(tmp_path: Path, n: int, worst: int = 5, chunk_size: int = 8) -> tuple[Any, RunCollector]:
    traces = tmp_path / "t.jsonl"
    write_traces(traces, n)
    collector = RunCollector(worst=worst)
    runner = GradingRunner({"exact": ExactMatch(), "length": Length(scale=10), "listrank": ListRank()}, aggregators=[Mean()])
    summary = asyncio.run(run_evaluation(
        LocalFileSource(path=str(traces)), runner, [LocalFileSink(path=str(tmp_path / "s.jsonl"))],
        chunk_size=chunk_size, observers=[collector],
    ))
    return summary, collector


def test_counts_agree_with_the_run_summary_and_values_with_the_scores_written(tmp_path: Path) -> None:
    summary, collector = run(tmp_path, 60)
    described = collector.describe()
    rows = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    for name in ("exact", "length", "mean"):
        assert described[name].scored == summary.scores[name].scored
        assert described[name].errors == summary.scores[name].errors
        written = np.array([r["value"] for r in rows if r["name"] == name and r["kind"] == "score"])
        assert described[name].mean == pytest.approx(written.mean())
        assert described[name].std == pytest.approx(written.std(ddof=1))
    # No reference: not applicable (counted apart, neither an error nor a skipped value), never 0.
    assert described["exact"].errors == 0 and described["exact"].scored == 40 and described["exact"].skipped == 0
    assert collector.scores["exact"].not_applicable == 20 and summary.scores["exact"].not_applicable == 20
    assert described["listrank"].scored == 0 and described["listrank"].skipped == 60
    assert described["length"].skipped == 0


def test_worst_cases_are_the_lowest_values_earliest_first_with_reduced_text(tmp_path: Path) -> None:
    _, collector = run(tmp_path, 60, worst=5)
    worst = collector.scores["length"].worst_cases()
    # length = (i % 7) / 10: value 0 at i = 0, 7, 14, ... ; the five earliest are kept.
    assert [w.trace_id for w in worst] == ["t0", "t7", "t14", "t21", "t28"]
    assert all(w.value == 0.0 for w in worst)
    assert worst[0].input == "question 0"  # the last user message of the chat, not the system prompt
    exact = collector.scores["exact"].worst_cases()
    assert [w.value for w in exact] == sorted(w.value for w in exact) and exact[0].reason == "exact match"


def test_worst_case_heap_stays_bounded_and_keeps_the_true_minimum() -> None:
    rng = np.random.default_rng(0)
    values = rng.random(20_000)
    collector = RunCollector(worst=10)
    for start in range(0, len(values), 1000):
        cases = [EvalCase(id=f"c{i}", output="o") for i in range(start, start + 1000)]
        records = [
            record_from_result(GraderScore(score=float(values[c])), trace_id=f"c{c}", name="s", timestamp=None)
            for c in range(start, start + 1000)
        ]
        collector(cases, records)
        assert len(collector.scores["s"]._heap) <= 10
    expected = [f"c{i}" for i in np.argsort(values, kind="stable")[:10]]
    assert [w.trace_id for w in collector.scores["s"].worst_cases()] == expected
    assert len(collector.scores["s"].values) == 20_000


def test_errors_are_grouped_by_message_with_example_traces_and_bounded() -> None:
    from rmg_core import GraderError
    from rmg_reporting import collector as module

    collector = RunCollector()
    cases = [EvalCase(id=f"c{i}") for i in range(200)]
    records = [
        record_from_result(GraderError(error=f"boom {i % 3}" if i < 100 else f"unique {i}"), trace_id=f"c{i}", name="g", timestamp=None)
        for i in range(200)
    ]
    collector(cases, records)
    score = collector.scores["g"]
    groups = score.grouped_errors()
    assert score.errors == 200
    assert [(g.message, g.count) for g in groups[:3]] == [("boom 0", 34), ("boom 1", 33), ("boom 2", 33)]
    assert groups[0].trace_ids == ["c0", "c3", "c6"]
    assert len(groups) == module.KEEP_ERROR_MESSAGES
    assert sum(g.count for g in groups) + score.other_errors == 200


def test_truncate() -> None:
    assert truncate("abc", 5) == "abc"
    assert truncate("a" * 10, 4) == "aaaa… [6 more characters]"


def test_run_fingerprint_changes_with_settings_not_with_where_scores_go(tmp_path: Path) -> None:
    traces = tmp_path / "t.jsonl"
    write_traces(traces, 1)
    source = LocalFileSource(path=str(traces))

    def fp(scale: float, out: str, fields: Any = None) -> str:
        return run_fingerprint(source, {"length": Length(scale=scale)}, {"mean": Mean()}, [LocalFileSink(path=str(tmp_path / out))], {"length": fields})

    assert fp(10, "a.jsonl") == fp(10, "b.jsonl")
    assert fp(10, "a.jsonl") != fp(20, "a.jsonl")
    assert fp(10, "a.jsonl") != fp(10, "a.jsonl", {"prediction": "expected"})
    info = run_info(None, source, {"length": Length()}, {"mean": Mean()}, [])
    assert [(c.kind, c.name) for c in info.components] == [("source", "local"), ("grader", "length"), ("aggregator", "mean")]
