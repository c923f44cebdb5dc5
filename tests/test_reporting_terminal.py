"""The progress display and the end-of-run summary, on a terminal and off it."""

from __future__ import annotations

import io

import pytest

from rmg_core import GraderError, GraderScore, record_from_result
from rmg_reporting.gate import Threshold, evaluate_gate
from rmg_reporting.stats import describe
from rmg_reporting.terminal import ProgressDisplay, print_summary
from rmg_core.summary import RunSummary, ScoreStats, SinkTally


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def summary() -> RunSummary:
    s = RunSummary(cases=4, seconds=2.0)
    s.scores["quality"] = ScoreStats("quality")
    for i, result in enumerate([GraderScore(score=0.2), GraderScore(score=0.6), GraderScore(score=1.0), GraderError(error="judge timed out")]):
        s.scores["quality"].add(record_from_result(result, trace_id=f"t{i}", name="quality", timestamp=None))
    s.sinks = [SinkTally("local(out.jsonl)")]
    s.attach_statistics({"quality": describe([0.2, 0.6, 1.0], errors=1).as_dict()})
    return s


def test_plain_summary_when_not_a_terminal() -> None:
    s = summary()
    gate = evaluate_gate([Threshold("quality", 0.7)], {"quality": describe([0.2, 0.6, 1.0], errors=1)})
    out = io.StringIO()
    print_summary(s, gate, out)
    text = out.getvalue()
    assert "\x1b[" not in text  # no colour codes in logs
    assert "95% CI of mean" in text and "std" in text
    row = next(line for line in text.splitlines() if line.strip().startswith("quality "))
    assert row.split()[:5] == ["quality", "3", "1", "0", "0.600"]  # scored, errors, n/a, mean
    assert "quality error x1: judge timed out" in text
    assert "gate FAILED: quality mean 0.6000 < 0.7" in text


def test_rich_table_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    out = FakeTerminal()
    print_summary(summary(), None, out)
    text = out.getvalue()
    for column in ("scored", "errors", "skipped", "mean", "std", "min", "p10", "p50", "p90", "max", "95% CI of mean"):
        assert column in text
    assert "rmg eval: 4 traces graded" in text and "judge timed out" in text


def test_a_narrow_terminal_gets_fewer_columns_not_cut_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = FakeTerminal()
    print_summary(summary(), None, out)
    text = out.getvalue()
    assert "p90" not in text and "…" not in text
    assert "0.600" in text and "[0.200, 1.000]" in text


def test_progress_display_shows_counts_and_rate_then_goes_away() -> None:
    out = FakeTerminal()
    progress = ProgressDisplay(out, delay=0.0)
    progress(summary())
    progress.close()
    text = out.getvalue()
    assert "4 traces" in text and "2/s" in text and "1 grader errors" in text


def test_progress_display_stays_silent_on_short_runs() -> None:
    out = FakeTerminal()
    progress = ProgressDisplay(out, delay=60.0)
    progress(summary())
    progress.close()
    assert out.getvalue() == ""
