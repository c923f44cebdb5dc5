"""`rmg eval --fail-under` / `--gate-on`, and the `--summary-json` document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from rmg_core import Grader, GraderError, GraderResult, GraderScore, Settings, hookimpl, load_plugins
from rmg_core.cli import build_cli
from rmg_core.errors import RmgError
from rmg_reporting.gate import Threshold, evaluate_gate, parse_thresholds
from rmg_reporting.stats import describe
from tests.conftest import TestPlugin, run_rmg

QUIET_ENV = {"RMG_DISABLE_PLUGINS": "broken_import,bad_hook,bad_signature"}


def traces(path: Path, n: int = 20, with_expected: bool = True) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            row: dict[str, Any] = {"id": f"t{i}", "input": "q", "output": "yes" if i % 2 else "no"}
            if with_expected:
                row["expected"] = "yes"
            handle.write(json.dumps(row) + "\n")
    return path


def invoke(host: Any, *args: str) -> Any:
    return CliRunner().invoke(build_cli(host), ["eval", *args], obj=host)


def test_gate_passes(tmp_path: Path, test_host: Any) -> None:
    t = traces(tmp_path / "t.jsonl")
    out = invoke(test_host, str(t), "-g", "exact", "-g", "length", "-a", "mean", "--fail-under", "exact=0.5", "--fail-under", "mean=0.2")
    assert out.exit_code == 0, out.output
    assert "gate passed: exact mean 0.5000 >= 0.5 (20 scored, 0 errors)" in out.stderr
    assert "gate passed: mean mean" in out.stderr


def test_gate_fails_with_exit_3_and_says_score_threshold_and_actual(tmp_path: Path, test_host: Any) -> None:
    t = traces(tmp_path / "t.jsonl")
    out = invoke(test_host, str(t), "-g", "exact", "-g", "length", "--fail-under", "exact=0.75", "--fail-under", "length=0.01", "-q")
    assert out.exit_code == 3, out.output
    assert "gate FAILED: exact mean 0.5000 < 0.75 (20 scored, 0 errors) [--fail-under exact=0.75]" in out.stderr
    assert "gate passed: length" in out.stderr  # every threshold is reported, even with -q


def test_gate_on_the_lower_bound_is_stricter_than_on_the_mean(tmp_path: Path, test_host: Any) -> None:
    t = traces(tmp_path / "t.jsonl")
    assert invoke(test_host, str(t), "-g", "exact", "--fail-under", "exact=0.45").exit_code == 0
    out = invoke(test_host, str(t), "-g", "exact", "--fail-under", "exact=0.45", "--gate-on", "lower-bound")
    assert out.exit_code == 3
    assert "gate FAILED: exact 95% lower bound of the mean 0.2" in out.stderr or "gate FAILED: exact 95% lower bound of the mean 0.3" in out.stderr


class AlwaysFails(Grader):
    """Every result a real error (a judge refusing every call), never not applicable."""

    name = "fails"
    required_fields = ("prediction",)

    def evaluate_batch(self, items):  # type: ignore[no-untyped-def]
        return [GraderError(error="judge refused the call") for _ in items]


class FailsPlugin:
    @hookimpl
    def register_graders(self, register):  # type: ignore[no-untyped-def]
        register(AlwaysFails)


def test_errors_only_score_fails_its_gate_clearly(tmp_path: Path) -> None:
    host = load_plugins(environ=QUIET_ENV, plugins=[("test", TestPlugin()), ("fails", FailsPlugin())])
    t = traces(tmp_path / "t.jsonl", with_expected=False)
    out = invoke(host, str(t), "-g", "fails", "-g", "exact", "-g", "length", "--fail-under", "fails=0.1", "--summary-json", str(tmp_path / "s.json"))
    # Every result of 'fails' is an error: that failure (5) outranks the gate's (3).
    assert out.exit_code == 5
    assert "gate FAILED: fails has no successful values (20 errors, 0 skipped): nothing to compare with 0.1" in out.stderr
    payload = json.loads((tmp_path / "s.json").read_text())
    assert payload["exit_code"] == 5 and payload["gate"]["passed"] is False
    assert payload["gate"]["checks"][0] == {
        "score": "fails", "threshold": 0.1, "on": "mean", "actual": None, "passed": False, "metric": "mean",
        "message": payload["gate"]["checks"][0]["message"],
    }
    assert payload["scores"]["fails"]["mean"] is None and payload["scores"]["fails"]["errors"] == 20
    # Traces with no expected answer are not applicable to 'exact': counted apart, not errors.
    assert payload["scores"]["exact"]["errors"] == 0 and payload["scores"]["exact"]["not_applicable"] == 20


@pytest.mark.parametrize(
    "flag, message",
    [
        ("overal=0.7", "--fail-under names 'overal', which this run does not score; valid scores: exact, length, mean"),
        ("exact", "expected SCORE=THRESHOLD"),
        ("exact=high", "'high' is not a number"),
        ("exact=nan", "finite number"),
    ],
)
def test_bad_thresholds_are_usage_errors_before_anything_runs(tmp_path: Path, test_host: Any, flag: str, message: str) -> None:
    t = traces(tmp_path / "t.jsonl")
    out = invoke(test_host, str(t), "-g", "exact", "-g", "length", "-a", "mean", "-o", str(tmp_path / "s.jsonl"), "--fail-under", flag)
    assert out.exit_code == 2 and message in out.stderr, out.stderr
    assert not (tmp_path / "s.jsonl").exists()


def test_unwritable_report_path_is_a_usage_error(tmp_path: Path, test_host: Any) -> None:
    t = traces(tmp_path / "t.jsonl")
    out = invoke(test_host, str(t), "-g", "exact", "--report", str(tmp_path / "missing" / "r.html"))
    assert out.exit_code == 2 and "does not exist" in out.stderr


def test_a_write_failure_outranks_a_missed_threshold(tmp_path: Path, test_host: Any) -> None:
    t = traces(tmp_path / "t.jsonl")
    out = invoke(test_host, str(t), "-g", "exact", "-o", str(tmp_path / "no" / "dir" / "s.jsonl"), "--fail-under", "exact=0.9")
    assert out.exit_code == 1 and "cannot write" in out.stderr and "gate FAILED: exact" in out.stderr


def test_gate_units() -> None:
    assert parse_thresholds(["a=0.5", " b = 1 "]) == [Threshold("a", 0.5), Threshold("b", 1.0)]
    with pytest.raises(RmgError, match="given twice"):
        parse_thresholds(["a=0.5", "a=0.6"])
    stats = {"a": describe([0.5, 0.7]), "one": describe([0.9])}
    result = evaluate_gate([Threshold("a", 0.6), Threshold("one", 0.5)], stats, "lower-bound")
    assert [c.passed for c in result.checks] == [False, False]
    assert "needs at least 2" in result.checks[1].message
    assert evaluate_gate([Threshold("a", 0.6)], stats).passed  # mean 0.6 >= 0.6: at the threshold passes


class SecretSettings(Settings):
    api_key: SecretStr = SecretStr("")
    level: int = 1


class SecretGrader(Grader):
    name = "secretive"
    required_fields = ("prediction",)
    Settings = SecretSettings

    def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> list[GraderResult]:
        return [GraderScore(score=0.5) for _ in items]


class SecretPlugin:
    @hookimpl
    def register_graders(self, register):  # type: ignore[no-untyped-def]
        register(SecretGrader)


def test_summary_json_has_statistics_fingerprint_plugins_timings_and_no_secret(tmp_path: Path) -> None:
    host = load_plugins(environ=QUIET_ENV, plugins=[("test", TestPlugin()), ("secret", SecretPlugin())])
    t = traces(tmp_path / "t.jsonl")
    common = [str(t), "-g", "exact", "-g", "secretive", "-a", "mean", "-s", "graders.secretive.api_key=sk-very-secret-1234"]
    out = invoke(host, *common, "-o", str(tmp_path / "s.jsonl"), "--summary-json", str(tmp_path / "a.json"), "--report", str(tmp_path / "r.html"))
    assert out.exit_code == 0, out.output
    text = (tmp_path / "a.json").read_text()
    assert "sk-very-secret-1234" not in text and "sk-very-secret-1234" not in (tmp_path / "r.html").read_text()
    doc = json.loads(text)
    assert doc["schema"] == "rmg-summary/2" and len(doc["run_fingerprint"]) == 16
    exact = doc["scores"]["exact"]
    for key in ("scored", "errors", "skipped", "mean", "std", "min", "p10", "p50", "p90", "max", "ci_low", "ci_high", "ci_method"):
        assert key in exact, key
    assert exact["scored"] == 20 and exact["mean"] == 0.5
    components = {(c["kind"], c["name"]): c for c in doc["components"]}
    assert components[("grader", "exact")]["plugin"] == "test"
    assert components[("source", "local")]["distribution"] == "rmg" and components[("source", "local")]["version"]
    assert {"started_at", "finished_at", "seconds", "statistics_seconds"} <= set(doc["timings"])
    assert doc["counts"]["written"] == 60 and doc["counts"]["failed_writes"] == 0 and doc["exit_code"] == 0
    # Same configuration, different output file: same fingerprint; a changed setting: a new one.
    invoke(host, *common, "-o", str(tmp_path / "other.jsonl"), "--summary-json", str(tmp_path / "b.json"))
    invoke(host, *common, "-o", str(tmp_path / "s.jsonl"), "-s", "graders.secretive.level=2", "--summary-json", str(tmp_path / "c.json"))
    fingerprints = [json.loads((tmp_path / f"{n}.json").read_text())["run_fingerprint"] for n in "abc"]
    assert fingerprints[0] == fingerprints[1] != fingerprints[2]
    # The secret itself is not part of the fingerprint: changing only it changes nothing.
    invoke(host, *common[:-1], "graders.secretive.api_key=another", "-o", str(tmp_path / "s.jsonl"), "--summary-json", str(tmp_path / "d.json"))
    assert json.loads((tmp_path / "d.json").read_text())["run_fingerprint"] == fingerprints[0]


def test_console_script_gate_exit_status(tmp_path: Path) -> None:
    # The installed `rmg` in a subprocess, with a built-in grader.
    t = traces(tmp_path / "t.jsonl")
    ok = run_rmg("eval", str(t), "-g", "similarity", "--fail-under", "similarity=0.4", env=QUIET_ENV)
    assert ok.returncode == 0, ok.stderr
    assert "gate passed: similarity mean" in ok.stderr
    bad = run_rmg("eval", str(t), "-g", "similarity", "--fail-under", "similarity=0.99", "-q", env=QUIET_ENV)
    assert bad.returncode == 3, bad.stderr
    assert "gate FAILED: similarity mean" in bad.stderr and "< 0.99" in bad.stderr


def test_statistics_are_skipped_only_when_nobody_reads_them(tmp_path: Path, test_host: Any, monkeypatch: Any) -> None:
    import rmg_reporting.collector as collector

    described: list[str] = []
    real = collector.describe
    monkeypatch.setattr(collector, "describe", lambda values, **kw: described.append("x") or real(values, **kw))
    t, out = traces(tmp_path / "t.jsonl"), str(tmp_path / "s.jsonl")
    assert invoke(test_host, str(t), "-g", "exact", "-o", out, "-q").exit_code == 0 and described == []
    for shown in ([], ["-q", "--summary-json", str(tmp_path / "s.json")], ["-q", "--fail-under", "exact=0.1"]):
        described.clear()
        result = invoke(test_host, str(t), "-g", "exact", "-o", out, *shown)
        assert result.exit_code == 0 and described, shown
    assert json.loads((tmp_path / "s.json").read_text())["scores"]["exact"]["ci_method"].startswith("percentile bootstrap")
    # A quiet run that fails prints its summary, statistics included.
    described.clear()
    host = load_plugins(environ=QUIET_ENV, plugins=[("test", TestPlugin()), ("fails", FailsPlugin())])
    result = invoke(host, str(t), "-g", "fails", "-g", "exact", "-o", out, "-q")
    assert result.exit_code == 5 and described and "95% CI" in result.stderr
