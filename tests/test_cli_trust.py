"""`rmg eval` never destroys data, never says "done" when it did nothing, and shows trace text safely."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rmg_core import Grader, GraderResult, hookimpl, load_plugins
from rmg_core.cli import _PrintableFormatter, build_cli
from rmg_worker.status import render_status
from tests.conftest import EXAMPLE, ROOT
from tests.fake_openai import FakeOpenAI, Slow

QUIET_ENV = {"RMG_DISABLE_PLUGINS": "broken_import,bad_hook,bad_signature"}
KEY = "sk-test-trust-1"


def traces(path: Path, n: int = 3, **extra: object) -> Path:
    path.write_text("".join(json.dumps({"id": f"t{i}", "input": "q", "output": "x", "expected": "x", **extra}) + "\n"
                            for i in range(n)))
    return path


def invoke(host, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(build_cli(host), ["eval", *args], obj=host)


# -- output safety ------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["same", "symlink", "report", "summary", "wide", "two-sinks", "report-and-sink"])
def test_an_output_on_an_input_or_another_output_is_refused_before_anything_opens(test_host, tmp_path: Path, how: str) -> None:
    source = traces(tmp_path / "t.jsonl")
    before = source.read_bytes()
    (tmp_path / "link.jsonl").symlink_to(source)
    args = {
        "same": ["-o", str(source)],
        "symlink": ["-o", str(tmp_path / "link.jsonl")],
        "report": ["--report", str(tmp_path / "link.jsonl")],
        "summary": ["--summary-json", str(source)],
        "wide": ["--wide", str(tmp_path / "link.jsonl")],
        "two-sinks": ["-o", str(tmp_path / "s.jsonl"), "-o", f"{tmp_path}/./s.jsonl"],
        "report-and-sink": ["-o", str(tmp_path / "s.jsonl"), "--report", str(tmp_path / "s.jsonl")],
    }[how]
    result = invoke(test_host, str(source), "-g", "exact", *args)
    assert result.exit_code == 2, result.output
    assert "are the same file" in result.stderr and "give " in result.stderr
    if how in ("same", "symlink", "report", "summary", "wide"):
        assert f"the input {source}" in result.stderr and "destroy what is read" in result.stderr
    assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.jsonl", "t.jsonl"]  # nothing was opened


def test_the_config_file_is_an_input_too(test_host, tmp_path: Path) -> None:
    config = tmp_path / "eval.toml"
    config.write_text(f"[source]\nplugin = 'local'\npath = '{traces(tmp_path / 't.jsonl')}'\n[graders.exact]\nplugin = 'exact'\n")
    result = invoke(test_host, "-c", str(config), "--report", str(config))
    assert result.exit_code == 2 and f"the config file {config}" in result.stderr
    assert config.read_text().startswith("[source]")


def test_a_full_disk_summary_is_a_clear_error_naming_the_path(test_host, tmp_path: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    result = invoke(test_host, str(traces(tmp_path / "t.jsonl")), "-g", "exact", "-q", "--summary-json", "/dev/full")
    assert result.exit_code == 1
    assert "cannot write '/dev/full': No space left on device" in result.stderr and "None" not in result.stderr


@pytest.mark.integration
def test_a_full_disk_leaves_the_old_scores_and_keeps_a_partial(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes the kernel refuse writes past 64 KiB (EFBIG), as a full disk would (ENOSPC)."""
    out, report = tmp_path / "scores.jsonl", tmp_path / "report.html"
    out.write_text("previous run\n")
    report.write_text("previous report")
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))\n"
        "from rmg_core.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "eval", str(EXAMPLE), "-g", "similarity", "-q", "-o", str(out), "--report", str(report)],
        capture_output=True, text=True, env={**os.environ, **QUIET_ENV}, cwd=ROOT, timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert out.read_text() == "previous run\n"
    assert report.read_text() == "previous report" or report.read_text().rstrip().endswith("</html>")  # never torn
    assert f"cannot write {str(out)!r}: File too large" in done.stderr
    assert "scores.jsonl.partial" in done.stderr and (tmp_path / "scores.jsonl.partial").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# -- honest outcomes -------------------------------------------------------------------------
@pytest.mark.parametrize("content", ["", "not json\n"])
def test_a_run_that_graded_nothing_exits_4_and_says_why(test_host, tmp_path: Path, content: str) -> None:
    source = tmp_path / "t.jsonl"
    source.write_text(content)
    summary = tmp_path / "s.json"
    result = invoke(test_host, str(source), "-g", "exact", "--summary-json", str(summary), "--report", str(tmp_path / "r.html"))
    assert result.exit_code == 4, result.output
    assert "NOTHING GRADED: " in result.stderr
    assert ("unreadable" if content else "yielded no trace") in result.stderr
    assert json.loads(summary.read_text())["exit_code"] == 4
    assert "complete</span>" not in (tmp_path / "r.html").read_text()


@pytest.mark.integration
def test_a_wrong_judge_key_fails_the_run_and_stops_asking(test_host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    source = traces(tmp_path / "t.jsonl", 18)
    with source.open("a") as handle:  # two empty answers score 0 without asking the judge: 18 of 20 are errors
        handle.write("".join(json.dumps({"id": f"e{i}", "input": "q", "output": ""}) + "\n" for i in range(2)))
    with FakeOpenAI(api_key=KEY) as server:
        result = invoke(
            test_host, str(source), "-g", "relevance", "-o", str(tmp_path / "s.jsonl"),
            "-s", "graders.relevance.backend=llm", "-s", "graders.relevance.model=m",
            "-s", f"graders.relevance.base_url={server.base_url}", "-s", "graders.relevance.max_in_flight=1",
            "-s", "graders.relevance.cache=false", "--max-concurrency", "1",
        )
        assert server.requests == 3  # not one per trace
    assert result.exit_code == 5, result.output
    assert "FAILED: score 'relevance': its grader gave up: relevance judge at" in result.stderr
    assert "refused the API key 3 times in a row" in result.stderr
    assert "sk-wrong" not in result.stderr


@pytest.mark.integration
def test_sigterm_is_handled_like_ctrl_c(tmp_path: Path) -> None:
    out, summary = tmp_path / "scores.jsonl", tmp_path / "s.json"
    with FakeOpenAI(api_key=KEY, default=Slow(delay=0.3)) as server:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("rmg")), "eval", str(traces(tmp_path / "t.jsonl", 40)), "-g", "relevance",
             "-o", str(out), "--summary-json", str(summary), "--chunk-size", "2", "--max-concurrency", "1",
             "-s", "graders.relevance.backend=llm", "-s", "graders.relevance.model=m",
             "-s", f"graders.relevance.base_url={server.base_url}", "-s", "graders.relevance.cache=false"],
            stderr=subprocess.PIPE, text=True, env={**os.environ, **QUIET_ENV, "OPENAI_API_KEY": KEY},
        )
        deadline = time.monotonic() + 60
        while server.requests < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "INTERRUPTED" in err and "scores.jsonl.partial" in err
    data = json.loads(summary.read_text())
    assert data["interrupted"] is True and 0 < data["cases"] < 40
    sink = data["sinks"][0]
    assert sink["written"] + sink["failed"] == data["cases"]  # graded = written + not written
    assert not out.exists() and (tmp_path / "scores.jsonl.partial").exists()


# -- safe to show --------------------------------------------------------------------------
class Echo(Grader):
    """Fails with the prediction in its message, as a careless third-party grader might."""

    name = "echo"
    required_fields = ("prediction",)

    async def aevaluate(self, prediction: Any) -> GraderResult:
        raise ValueError(f"cannot grade {prediction}")


class EchoPlugin:
    @hookimpl
    def register_graders(self, register):  # type: ignore[no-untyped-def]
        register(Echo)


def test_escape_sequences_from_trace_text_never_reach_the_terminal(tmp_path: Path) -> None:
    host = load_plugins(environ=QUIET_ENV, plugins=[("echo", EchoPlugin())])
    hostile = "\x1b]0;owned\x07\x1b[2J\n  sink local: 999 written"
    source = tmp_path / "t.jsonl"
    source.write_text(json.dumps({"id": "t\x1b[31m", "input": "q", "output": hostile}) + "\n")
    result = invoke(host, str(source), "-g", "echo")
    assert "cannot grade" in result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "\\x1b]0;owned\\x07" in result.stderr
    assert not any(line.startswith("  sink local: 999") for line in result.stderr.splitlines())


def test_worker_status_and_logs_escape_trace_text() -> None:
    status = {
        "state": "s.sqlite3", "running": False, "owner": None, "windowed": True, "watermark": None,
        "unread_seconds": None, "arrival_rate_per_minute": None, "backlog_estimate": None, "retries_due": 0,
        "counts": {"traces": 1, "scored": 0, "failed": 1, "dead": 0}, "last_cycle": None, "last_ok_cycle": None,
        "problems": [{"status": "failed", "trace_id": "t\x1b[31m", "score": "s", "attempts": 1, "next_attempt": None,
                      "last_error": "boom\x1b]0;x\x07\nforged line"}],
    }
    text = render_status(status)
    assert "\x1b" not in text and "\\x1b[31m" in text and "\\nforged line" in text
    record = logging.LogRecord("rmg", logging.WARNING, __file__, 1, "trace %s failed", ("\x1b[2J",), None)
    assert _PrintableFormatter("%(message)s").format(record) == "trace \\x1b[2J failed"


def test_every_result_an_error_fails_the_run() -> None:
    from rmg_core import RunSummary, ScoreStats
    from rmg_core.summary import EXIT_ALL_ERRORS

    summary = RunSummary(cases=2, scores={"judge": ScoreStats("judge", errors=2, error_messages={"HTTP 403": 2})})
    assert summary.exit_code == EXIT_ALL_ERRORS and summary.failed_scores == ["judge"]
    assert "FAILED: score 'judge': every result is an error (2)" in summary.render()
    summary.scores["judge"].scored = 1
    assert summary.exit_code == 0


def test_breakdown_labels_from_trace_metadata_are_escaped() -> None:
    import io

    from rmg_core import RunSummary, ScoreStats
    from rmg_reporting.terminal import print_summary

    stream = io.StringIO()
    breakdowns = [{"field": "metadata.app", "small_group": 5,
                   "groups": [{"group": "a\x1b]0;x\x07", "cases": 1, "scores": {"s": {"mean": 0.5}}}]}]
    print_summary(RunSummary(cases=1, scores={"s": ScoreStats("s", scored=1, total=0.5)}), None, stream, breakdowns)
    assert "\x1b" not in stream.getvalue() and "a\\x1b]0;x" in stream.getvalue()
