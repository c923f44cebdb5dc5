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
    future = tmp_path / "future.json"
    future.write_text('{"schema": "rmg-summary/9", "scores": {}}')
    out = CliRunner().invoke(build_cli(test_host), ["compare", str(future), str(future)], obj=test_host)
    assert out.exit_code == 2 and f"{future}: summary schema 'rmg-summary/9' is not one this rmg reads" in out.stderr


def paired_run(host: Any, tmp_path: Path, name: str, *extra: str) -> Path:
    traces = tmp_path / "p.jsonl"
    if not traces.exists():
        traces.write_text("".join(json.dumps({"id": f"t{i}", "output": "x" * (i % 10), "expected": "x" * (i % 4)}) + "\n" for i in range(120)))
    summary = tmp_path / f"{name}.json"
    out = CliRunner().invoke(build_cli(host), [
        "eval", str(traces), "-g", "exact", "-g", "length", "-o", str(tmp_path / f"{name}.jsonl"), "--wide", str(tmp_path / f"{name}.csv"),
        "-q", "--summary-json", str(summary), *extra,
    ], obj=host)
    assert out.exit_code == 0, out.output
    return summary


def compare(host: Any, *args: str) -> Any:
    return CliRunner().invoke(build_cli(host), ["compare", *args], obj=host)


def test_paired_compare_of_a_run_with_itself_and_with_only_its_output_changed(tmp_path: Path, test_host: Any) -> None:
    from rmg_reporting.paired import SAME

    a = paired_run(test_host, tmp_path, "a")
    moved = paired_run(test_host, tmp_path, "moved")  # the same run, written elsewhere
    for other in (a, moved):
        data = json.loads(compare(test_host, str(a), str(other), "--json").stdout)
        assert data["paired"] is True and data["settings_changed"] == [] and data["ignored"] == ["sinks"]
        for s in data["scores"]:
            assert s["pairs"] > 0 and s["diff"] == 0.0 and s["diff"] is not None and s["verdict"] == SAME
            assert s["improved"] == s["worsened"] == 0 and s["top"] == []
    text = compare(test_host, str(a), str(moved)).stdout
    assert "no setting that can change a score differs (ignored: sinks)" in text


def test_paired_compare_names_the_changed_setting_and_the_traces_that_moved(tmp_path: Path, test_host: Any) -> None:
    a = paired_run(test_host, tmp_path, "a")
    b = paired_run(test_host, tmp_path, "b", "-s", "graders.length.scale=50", "-s", "source.limit=100")
    out = compare(test_host, str(a), str(b), "--html", str(tmp_path / "c.html"), "--fail-if-worse")
    assert out.exit_code == 0, out.output  # a smaller scale raises every length score: better, not worse
    assert "grader length: scale 100.0 -> 50.0" in out.stdout and "source: limit null -> 100" in out.stdout
    data = json.loads(compare(test_host, str(a), str(b), "--json").stdout)
    assert [(c["component"], c["setting"], c["a"], c["b"]) for c in data["settings_changed"]] == [
        ("source", "limit", None, 100), ("grader length", "scale", 100.0, 50.0)]
    by = {s["score"]: s for s in data["scores"]}
    length = by["length"]
    values = [(i % 10) / 100 for i in range(100)]  # len/100 in A; len/50 in B, on the 100 traces both have
    assert length["pairs"] == 100 and length["diff"] == pytest.approx(sum(values) / 100)
    assert length["verdict"] == BETTER and length["worsened"] == 0 and length["improved"] == sum(v > 0 for v in values)
    assert length["sign_p"] == pytest.approx(2 * 0.5 ** length["improved"])
    top = length["top"][0]
    assert top["a"] == 0.09 and top["b"] == 0.18 and top["texts_a"]["prediction"] == "x" * 9
    assert by["exact"]["verdict"] == "no change"
    assert data["traces_only_in_a"] == 20 and data["traces_only_in_b"] == 0 and "t100" in data["examples_only_in_a"]
    page = (tmp_path / "c.html").read_text()
    assert "script-src 'none'" in page and "<script" not in page and "scale" in page
    worse = compare(test_host, str(b), str(a), "--fail-if-worse")
    assert worse.exit_code == 3 and "worse in B: length [--fail-if-worse]" in worse.stderr


def test_paired_compare_of_scores_files_and_errors(tmp_path: Path, test_host: Any) -> None:
    from rmg_reporting.paired import sign_test

    a = paired_run(test_host, tmp_path, "a")
    data = json.loads(compare(test_host, str(tmp_path / "a.jsonl"), str(a), "--json").stdout)
    assert data["paired"] and data["settings_changed"] == [] and all(s["diff"] == 0.0 for s in data["scores"])
    not_scores = tmp_path / "x.jsonl"
    not_scores.write_text('{"id": "t1"}\n')
    out = compare(test_host, str(not_scores), str(a))
    assert out.exit_code == 2 and "not a scores file (rows need trace_id and name)" in out.stderr
    assert sign_test(5, 5) == 1.0 and sign_test(0, 0) is None and sign_test(0, 10) == pytest.approx(2 / 1024)
