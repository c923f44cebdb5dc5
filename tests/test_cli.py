"""The `rmg` console script, run as a real subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE, ROOT, run_rmg

from tests.broken_plugins import BROKEN

QUIET_ENV = {"RMG_DISABLE_PLUGINS": ",".join(BROKEN)}


def test_version() -> None:
    out = run_rmg("--version")
    assert out.returncode == 0 and out.stdout.startswith("rmg, version ")


def test_plugins_json_lists_every_builtin_through_its_entry_point() -> None:
    out = run_rmg("plugins", "--json", env=QUIET_ENV)
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    plugins = {p["name"]: p for p in payload["plugins"]}
    for name in ("local", "similarity", "relevance", "weighted_sum", "langfuse"):
        assert plugins[name]["distribution"] == "rmg" and plugins[name]["module"] == f"rmg_{name}"
    components = payload["components"]  # other installed plugins may add more
    assert {k: components["grader"][k] for k in ("relevance", "similarity")} == {"relevance": "relevance", "similarity": "similarity"}
    assert components["aggregator"]["weighted_sum"] == "weighted_sum"
    assert {k: components["source"][k] for k in ("langfuse", "local")} == {"langfuse": "langfuse", "local": "local"}
    assert {k: components["sink"][k] for k in ("langfuse", "local")} == {"langfuse": "langfuse", "local": "local"}
    assert payload["warnings"] == [] and out.stderr == ""


@pytest.mark.parametrize("args", [("--help",), ("plugins",), ("eval", "--help")])
def test_broken_plugins_warn_by_name_and_commands_still_work(args: tuple[str, ...], broken_plugins_env: dict[str, str]) -> None:
    out = run_rmg(*args, env=broken_plugins_env)
    assert out.returncode == 0, out.stderr
    for name in BROKEN:
        assert f"plugin '{name}' from rmg-{name.replace('_', '-')} 0.0.1 skipped" in out.stderr


def test_eval_works_with_broken_plugins_installed(tmp_path: Path, broken_plugins_env: dict[str, str]) -> None:
    traces = tmp_path / "t.jsonl"
    traces.write_text('{"id": "a", "input": "what is the refund window", "output": "the refund window is 30 days"}\n')
    out = run_rmg("eval", str(traces), "-g", "relevance", "-o", str(tmp_path / "s.jsonl"), env=broken_plugins_env)
    assert out.returncode == 0, out.stderr
    assert "plugin 'bad_hook'" in out.stderr and "1 trace graded" in out.stderr


def test_strict_plugins_makes_a_broken_plugin_an_error(broken_plugins_env: dict[str, str]) -> None:
    out = run_rmg("plugins", env={**broken_plugins_env, "RMG_STRICT_PLUGINS": "1"})
    assert out.returncode == 2 and "rmg: error: RMG_STRICT_PLUGINS is set and 3 plugin problem(s)" in out.stderr
    # Every broken plugin is named, not only the first.
    assert all(f"plugin '{name}'" in out.stderr for name in ("broken_import", "bad_hook", "bad_signature"))


def test_disable_plugins_hides_a_builtin() -> None:
    out = run_rmg("plugins", "--json", env={"RMG_DISABLE_PLUGINS": ",".join(BROKEN + ("relevance",))})
    assert "relevance" not in json.loads(out.stdout)["components"]["grader"]
    out = run_rmg("eval", str(EXAMPLE), "-g", "relevance", env={"RMG_DISABLE_PLUGINS": "relevance"})
    assert out.returncode == 2 and "unknown grader 'relevance'; installed graders: " in out.stderr
    assert "similarity" in out.stderr.split("installed graders:")[1]


def test_plugin_selection_names_the_variable_that_hid_a_plugin() -> None:
    out = run_rmg("eval", str(EXAMPLE), "-g", "similarity", env={"RMG_LOAD_PLUGINS": "local,reporting"})
    assert out.returncode == 2 and "unknown grader 'similarity'" in out.stderr
    assert "RMG_LOAD_PLUGINS=local,reporting left out plugin(s)" in out.stderr and "similarity" in out.stderr.split("left out")[1]
    # An option of a hidden plugin's: click's usage error says what hid it.
    out = run_rmg("eval", str(EXAMPLE), "-g", "similarity", "--report", "r.html", env={"RMG_DISABLE_PLUGINS": "reporting"})
    assert out.returncode == 2 and "No such option '--report'" in out.stderr and "RMG_DISABLE_PLUGINS=reporting left out" in out.stderr
    listing = run_rmg("plugins", env={"RMG_DISABLE_PLUGINS": "relevance"})
    assert "relevance        DISABLED: RMG_DISABLE_PLUGINS=relevance" in listing.stdout
    assert [p["name"] for p in json.loads(run_rmg("plugins", "--json", env={"RMG_DISABLE_PLUGINS": "relevance"}).stdout)["disabled"]] == ["relevance"]


def test_a_fresh_environment_starts_without_warnings() -> None:
    """README's commands install no broken plugin: `rmg --help` prints help and nothing else."""
    out = run_rmg("--help")
    assert out.returncode == 0 and out.stderr == ""


def test_bundled_example_end_to_end(tmp_path: Path) -> None:
    scores = tmp_path / "scores.jsonl"
    out = run_rmg("eval", str(EXAMPLE), "-g", "similarity", "-g", "relevance", "-a", "weighted_sum", "-o", str(scores),
                  "--summary-json", str(tmp_path / "summary.json"), "--write-not-applicable", env=QUIET_ENV)
    assert out.returncode == 0, out.stderr
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in scores.read_text(encoding="utf-8").splitlines()]
    summary = json.loads((tmp_path / "summary.json").read_text())
    graded = summary["cases"]
    assert graded + summary["bad_cases"] == len([l for l in lines if l.strip()])
    assert len(rows) == 3 * graded and len({r["score_id"] for r in rows}) == len(rows)
    by_name = {n: [r for r in rows if r["name"] == n] for n in ("similarity", "relevance", "weighted_sum")}
    assert all(len(v) == graded for v in by_name.values())
    # Traces without an expected output (or with a null output) are *not applicable* to similarity, never 0.0.
    sim_na = [r for r in by_name["similarity"] if r["kind"] == "not_applicable"]
    assert sim_na and all(r["value"] is None for r in sim_na)
    assert all("'reference'" in r["error"] or "'prediction'" in r["error"] for r in sim_na)
    assert sum("'reference'" in r["error"] for r in sim_na) >= 100
    assert summary["scores"]["similarity"]["not_applicable"] == len(sim_na)
    assert summary["scores"]["similarity"]["errors"] == 0 and summary["counts"]["grader_errors"] == 0
    assert all(0.0 <= r["value"] <= 1.0 for r in by_name["weighted_sum"] if r["kind"] == "score")
    assert "similarity" in out.stderr and "weighted_sum" in out.stderr and f"{graded} traces graded" in out.stderr
    # The summary shows them in their own column, not as errors.
    head = next(line for line in out.stderr.splitlines() if line.strip().startswith("score"))
    row = next(line for line in out.stderr.splitlines() if line.strip().startswith("similarity "))
    cells = dict(zip(head.split()[1:], row.split()[1:]))
    assert cells["n/a"] == str(len(sim_na)) and cells["errors"] == "0"
    # Without --write-not-applicable they are counted but not written.
    again = run_rmg("eval", str(EXAMPLE), "-g", "similarity", "-g", "relevance", "-a", "weighted_sum", "-o", str(scores), env=QUIET_ENV)
    assert again.returncode == 0, again.stderr
    kept = [json.loads(line) for line in scores.read_text(encoding="utf-8").splitlines()]
    assert not [r for r in kept if r["kind"] == "not_applicable"]
    assert len(kept) == len(rows) - summary["counts"]["not_applicable"]


def test_eval_reports_bad_lines_and_continues(tmp_path: Path) -> None:
    traces = tmp_path / "t.jsonl"
    traces.write_text('{"id": "a", "input": "q", "output": "a"}\n{oops\n{"id": "b", "input": "q", "output": "b"}\n')
    out = run_rmg("eval", str(traces), "-g", "relevance", "-o", "-", env=QUIET_ENV)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 2  # JSONL on stdout, summary on stderr
    assert f"{traces}:2: invalid JSON" in out.stderr and "1 trace skipped as unreadable" in out.stderr


def test_config_file_form(tmp_path: Path) -> None:
    config = tmp_path / "eval.toml"
    config.write_text(f"""
[source]
plugin = "local"
path = "{EXAMPLE}"
limit = 20
[graders.relevance]
plugin = "relevance"
[aggregators.overall]
plugin = "weighted_sum"
[[sinks]]
plugin = "local"
path = "{tmp_path / 'out.csv'}"
""")
    out = run_rmg("eval", "-c", str(config), env=QUIET_ENV)
    assert out.returncode == 0, out.stderr
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 1 + 2 * 20


@pytest.mark.parametrize(
    "args, message",
    [
        (("eval", "nope.jsonl", "-g", "relevance"), "no such file 'nope.jsonl'"),
        (("eval", str(EXAMPLE), "-g", "relevance", "-s", "graders.relevance.bakend=llm"), "unknown setting 'bakend'"),
        (("eval", str(EXAMPLE)), "no graders"),
        (("eval", str(EXAMPLE), "-g", "relevance", "-a", "weighted_sum", "-s", "aggregators.weighted_sum.weights={relevnce=1}"), "relevnce"),
    ],
)
def test_usage_errors_exit_2_and_say_what_to_fix(args: tuple[str, ...], message: str) -> None:
    out = run_rmg(*args, env=QUIET_ENV)
    assert out.returncode == 2 and message in out.stderr, out.stderr


def test_unwritable_output_fails_clearly(tmp_path: Path) -> None:
    out = run_rmg("eval", str(EXAMPLE), "-g", "relevance", "-o", str(tmp_path / "no" / "dir" / "s.jsonl"), env=QUIET_ENV)
    assert out.returncode == 1 and "cannot write" in out.stderr
