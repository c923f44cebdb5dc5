"""`rmg compare A.json B.json`: per-score change of the mean, its interval, and the verdict."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rmg_core.cli import build_cli
from rmg_reporting.compare import BETTER, NO_CHANGE, UNKNOWN, WORSE, compare_scores, compare_summaries


def score(n: int, mean: float, std: float, **extra: Any) -> dict[str, Any]:
    return {"scored": n, "errors": 0, "mean": mean, "std": std, "ci_low": mean - 0.01, "ci_high": mean + 0.01, **extra}


def test_welch_interval_and_verdicts() -> None:
    change = compare_scores("s", score(100, 0.60, 0.2), score(400, 0.70, 0.3))
    se = math.sqrt(0.2**2 / 100 + 0.3**2 / 400)
    assert change.diff == pytest.approx(0.10)
    assert change.low == pytest.approx(0.10 - 1.959963984540054 * se)
    assert change.high == pytest.approx(0.10 + 1.959963984540054 * se)
    assert change.verdict == BETTER
    assert compare_scores("s", score(400, 0.70, 0.3), score(100, 0.60, 0.2)).verdict == WORSE
    assert compare_scores("s", score(20, 0.60, 0.3), score(20, 0.62, 0.3)).verdict == NO_CHANGE
    assert compare_scores("s", score(1, 0.6, None), score(20, 0.62, 0.3)).verdict == UNKNOWN  # type: ignore[arg-type]
    assert compare_scores("s", {"scored": 0, "mean": None}, score(20, 0.62, 0.3)).verdict == UNKNOWN


def test_scores_in_only_one_run_and_configuration_change() -> None:
    a = {"config_fingerprint": "aaaa", "cases": 10, "scores": {"x": score(10, 0.5, 0.1), "old": score(10, 0.5, 0.1)}}
    b = {"config_fingerprint": "bbbb", "cases": 10, "scores": {"x": score(10, 0.5, 0.1), "new": score(10, 0.5, 0.1)}}
    comp = compare_summaries(a, b)
    assert [c.score for c in comp.changes] == ["x"] and comp.only_in_a == ["old"] and comp.only_in_b == ["new"]
    assert comp.same_config is False


def write_run(host: Any, tmp_path: Path, name: str, scale: int) -> Path:
    traces = tmp_path / "t.jsonl"
    if not traces.exists():
        traces.write_text("".join(json.dumps({"id": f"t{i}", "output": "x" * (i % 10), "expected": "x" * (i % 4)}) + "\n" for i in range(200)))
    summary = tmp_path / f"{name}.json"
    out = CliRunner().invoke(build_cli(host), ["eval", str(traces), "-g", "exact", "-g", "length", "-s", f"graders.length.scale={scale}", "-q", "--summary-json", str(summary)], obj=host)
    assert out.exit_code == 0, out.output
    return summary


def test_compare_command_text_and_json(tmp_path: Path, test_host: Any) -> None:
    a, b = write_run(test_host, tmp_path, "a", 20), write_run(test_host, tmp_path, "b", 10)
    out = CliRunner().invoke(build_cli(test_host), ["compare", str(a), str(b)], obj=test_host)
    assert out.exit_code == 0, out.output
    lines = {line.split()[0]: line for line in out.stdout.splitlines()[3:] if line.startswith("  ") and not line.startswith("  score")}
    assert lines["length"].rstrip().endswith("BETTER")  # a smaller scale: every length score doubles
    assert lines["exact"].rstrip().endswith("no clear change")  # same traces, same grader
    assert "the configurations differ" in out.stdout and "Welch normal approximation" in out.stdout
    data = json.loads(CliRunner().invoke(build_cli(test_host), ["compare", str(a), str(b), "--json"], obj=test_host).stdout)
    by_score = {s["score"]: s for s in data["scores"]}
    a_doc, b_doc = json.loads(a.read_text()), json.loads(b.read_text())
    assert by_score["length"]["diff"] == pytest.approx(b_doc["scores"]["length"]["mean"] - a_doc["scores"]["length"]["mean"])
    assert by_score["length"]["verdict"] == BETTER and by_score["exact"]["diff"] == 0.0
    assert data["same_config"] is False and data["a"]["path"] == str(a)
    same = json.loads(CliRunner().invoke(build_cli(test_host), ["compare", str(a), str(a), "--json"], obj=test_host).stdout)
    assert same["same_config"] is True and {s["verdict"] for s in same["scores"]} == {NO_CHANGE}


def test_compare_errors_name_the_file(tmp_path: Path, test_host: Any) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"cases": 3}')
    out = CliRunner().invoke(build_cli(test_host), ["compare", str(bad), str(tmp_path / "missing.json")], obj=test_host)
    assert out.exit_code == 2 and f"{bad}: not an rmg summary" in out.stderr
    out = CliRunner().invoke(build_cli(test_host), ["compare", str(tmp_path / "missing.json"), str(bad)], obj=test_host)
    assert out.exit_code == 2 and "missing.json: no such file" in out.stderr
