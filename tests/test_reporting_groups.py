"""Breakdowns (--group-by), pass thresholds (--threshold), the pass-rate gate and the failure sample."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rmg_core import ConfigError, EvalCase, GraderScore, RmgError, record_from_result
from rmg_core.cli import build_cli
from rmg_reporting.sample import FAILING, FailureSampler
from rmg_reporting.settings import MISSING_GROUP, group_value, report_settings
from rmg_reporting.stats import pass_rate, wilson_interval


def traces(path: Path, n: int = 90) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            app = "tiny" if i >= n - 3 else ("a" if i % 2 else "b")
            row: dict[str, Any] = {"id": f"t{i}", "input": "q", "output": "x" * (i % 10), "metadata": {"app": app, "n": i % 3}}
            if i % 2:
                row["expected"] = "x" * (i % 10)
            handle.write(json.dumps(row) + "\n")
    return path


def invoke(host: Any, *args: str) -> Any:
    return CliRunner().invoke(build_cli(host), ["eval", *args], obj=host)


def test_breakdowns_and_pass_rates_in_summary_json_and_terminal(tmp_path: Path, test_host: Any) -> None:
    t = traces(tmp_path / "t.jsonl")
    out = invoke(test_host, str(t), "-g", "length", "-g", "exact", "--group-by", "metadata.app", "--group-by", "metadata.missing",
                 "--threshold", "length=0.05", "--summary-json", str(tmp_path / "s.json"))
    assert out.exit_code == 0, out.output
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["report"]["group_by"] == ["metadata.app", "metadata.missing"] and doc["report"]["thresholds"] == {"length": 0.05}
    length = doc["scores"]["length"]
    values = [(i % 10) / 100 for i in range(90)]  # Length() is len/100
    assert length["passed"] == sum(v >= 0.05 for v in values) and length["pass_rate"] == pytest.approx(length["passed"] / 90)
    assert length["pass_rate_ci_low"] < length["pass_rate"] < length["pass_rate_ci_high"]
    by_app, by_missing = doc["breakdowns"]
    groups = {g["group"]: g for g in by_app["groups"]}
    assert set(groups) == {"a", "b", "tiny"} and sum(g["cases"] for g in groups.values()) == 90
    assert groups["tiny"]["small"] and groups["tiny"]["scores"]["length"]["small"] and not groups["a"]["small"]
    # The exact grader does not apply to any "b" trace (no expected output): counted per group, never averaged.
    assert groups["b"]["scores"]["exact"]["scored"] == 0 and groups["b"]["scores"]["exact"]["errors"] == 0
    assert groups["b"]["scores"]["exact"]["not_applicable"] == groups["b"]["cases"]
    assert groups["a"]["scores"]["exact"]["mean"] == 1.0
    a_values = [(i % 10) / 100 for i in range(87) if i % 2]
    assert groups["a"]["scores"]["length"]["mean"] == pytest.approx(sum(a_values) / len(a_values))
    assert groups["a"]["scores"]["length"]["pass_rate"] == pytest.approx(sum(v >= 0.05 for v in a_values) / len(a_values))
    assert [g["group"] for g in by_missing["groups"]] == [MISSING_GROUP]
    assert "length: pass rate" in out.stderr and "by metadata.app (3 groups" in out.stderr
    assert "tiny" in out.stderr and " *" in out.stderr  # the small group is shown, and marked


def test_report_table_in_config_and_pass_rate_gate(tmp_path: Path, test_host: Any) -> None:
    t = traces(tmp_path / "t.jsonl")
    config = tmp_path / "eval.toml"
    config.write_text(f'[source]\nplugin = "local"\npath = "{t}"\n[graders.length]\nplugin = "length"\n'
                      '[report]\ngroup_by = ["metadata.app"]\nthresholds = { length = 0.05 }\n')
    out = invoke(test_host, "-c", str(config), "--fail-under", "length:pass_rate=0.9", "--summary-json", str(tmp_path / "s.json"))
    assert out.exit_code == 3, out.output
    assert "gate FAILED: length pass rate 0.5000 < 0.9 (45 of 90 scored reached 0.05, 0 errors) [--fail-under length:pass_rate=0.9]" in out.stderr
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["gate"]["checks"][0]["metric"] == "pass_rate" and doc["breakdowns"][0]["field"] == "metadata.app"
    # The command line overrides the file's threshold.
    assert invoke(test_host, "-c", str(config), "--threshold", "length=0.01", "--fail-under", "length:pass_rate=0.85", "-q").exit_code == 0


@pytest.mark.parametrize("args, message", [
    (["--fail-under", "length:pass_rate=0.5"], "length has no pass threshold; add --threshold length=VALUE"),
    (["--threshold", "lenght=0.5"], "--threshold names 'lenght', which this run does not score; valid scores: length"),
    (["--threshold", "length=high"], "'high' is not a number"),
    (["--group-by", "app"], "a breakdown is a metadata field written metadata.KEY"),
    (["--fail-under", "length:p90=0.5"], "'p90' is not a metric"),
    (["--threshold", "length=0.5", "--fail-under", "length:pass_rate=2"], "a pass rate is between 0 and 1"),
])
def test_bad_options_are_usage_errors_that_say_the_fix(tmp_path: Path, test_host: Any, args: list[str], message: str) -> None:
    out = invoke(test_host, str(traces(tmp_path / "t.jsonl", 4)), "-g", "length", *args)
    assert out.exit_code == 2 and message in out.stderr, out.stderr


def test_report_settings_validation() -> None:
    with pytest.raises(ConfigError, match=r"eval.toml \[report\]: unknown setting\(s\) group; valid settings: group_by"):
        report_settings({"group": ["metadata.app"]}, "eval.toml")
    with pytest.raises(ConfigError, match="small_group must be a whole number"):
        report_settings({"small_group": 0}, "eval.toml")
    with pytest.raises(ConfigError, match="thresholds relevance: the threshold must be a finite number"):
        report_settings({"thresholds": {"relevance": "high"}}, "eval.toml")
    with pytest.raises(RmgError, match="expected SCORE=VALUE"):
        report_settings({}, "x", thresholds=["relevance"])
    s = report_settings({"group_by": "metadata.app", "small_group": 5}, "x", group_by=["metadata.app", "metadata.model"])
    assert s.group_by == ["metadata.app", "metadata.model"] and s.small_group == 5


def test_group_labels_are_printable_bounded_lines() -> None:
    case = EvalCase(id="t", metadata={"app": "\x1b[31mred\x1b[0m\nnext " + "y" * 200, "flag": True, "nested": {"k": 3}})
    label = group_value(case, "metadata.app")
    assert "\x1b" not in label and "\n" not in label and len(label) <= 81
    assert group_value(case, "metadata.flag") == "true" and group_value(case, "metadata.nested.k") == "3"
    assert group_value(case, "metadata.none") == MISSING_GROUP


def test_pass_rate_and_wilson_interval() -> None:
    rate = pass_rate([0.1, 0.5, 0.9, 1.0], 0.5)
    assert (rate.passed, rate.scored, rate.rate) == (3, 4, 0.75)
    low, high = wilson_interval(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12) and 0.25 < high < 0.35  # a proportion of 0 still has an upper bound
    assert pass_rate([], 0.5).rate is None


def test_failure_sample_spans_score_levels_not_the_lowest_ties() -> None:
    """Half the values tie at 0: the sample still shows every level of failure, the same way each run."""
    def sample() -> list[Any]:
        sampler = FailureSampler()
        for start in range(0, 20_000, 1000):
            cases = [EvalCase(id=f"t{i}", input="q", output="a") for i in range(start, start + 1000)]
            records = [
                record_from_result(GraderScore(score=0.0 if i % 2 else (i % 100) / 100), trace_id=f"t{i}", name="s", timestamp=None)
                for i in range(start, start + 1000)
            ]
            sampler(cases, records)
        return sampler.sample("s", 0.5, None)

    picked = sample()
    failing = [c for c in picked if c.status == "failing"]
    borderline = [c for c in picked if c.status == "borderline"]
    assert len(failing) == FAILING and all(c.value < 0.5 for c in failing)
    assert {int(c.value * 10) for c in failing} == {0, 1, 2, 3, 4}  # every stratum below the threshold
    assert sum(c.value == 0.0 for c in failing) < FAILING / 2  # not the 12,000 tied zeros
    assert borderline and all(0.5 <= c.value < 0.6 for c in borderline)
    assert [c.trace_id for c in sample()] == [c.trace_id for c in picked]  # seeded: reproducible
