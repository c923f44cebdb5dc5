"""`rmg worker` end to end: the real console script over a local JSONL file, scores appended to a local file.

The graders are the built-in ``similarity`` (needs the trace's ``expected``,
so a trace without one is a grader error) and ``relevance`` (lexical).  Every
test keeps its traces, scores and SQLite state in its own ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Optional

import pytest

from rmg_kit import sample_fraction
from tests.conftest import run_rmg

ENV = {"RMG_DISABLE_PLUGINS": "broken_import,bad_hook,bad_signature"}
RMG = Path(sys.executable).with_name("rmg")


# -- helpers -----------------------------------------------------------------------------------
def trace(trace_id: str, output: Optional[str] = None, expected: Optional[str] = "30 days", **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"id": trace_id, "input": f"what is the refund window for {trace_id}",
                           "output": output if output is not None else f"the refund window for {trace_id} is 30 days"}
    if expected is not None:
        row["expected"] = expected
    return {**row, **extra}


def write_traces(path: Path, rows: Iterable[dict[str, Any]], append: bool = False) -> None:
    with path.open("a" if append else "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


def write_config(tmp: Path, worker: str = "", sink_path: Optional[Path] = None, name: str = "eval.toml") -> Path:
    config = tmp / name
    config.write_text(
        f"""
[source]
plugin = "local"
path = {json.dumps(str(tmp / "traces.jsonl"))}

[graders.sim]
plugin = "similarity"

[graders.rel]
plugin = "relevance"

[[sinks]]
plugin = "local"
path = {json.dumps(str(sink_path or tmp / "scores.jsonl"))}
mode = "append"

[worker]
state = {json.dumps(str(tmp / "state.sqlite3"))}
{worker}
""",
        encoding="utf-8",
    )
    return config


def worker(tmp: Path, *args: str, config: Optional[Path] = None) -> subprocess.CompletedProcess:
    """``rmg worker -c eval.toml --once ARGS`` in ``tmp``."""
    return run_rmg("worker", "-c", str(config or tmp / "eval.toml"), "--once", *args, env=ENV, cwd=tmp, timeout=60)


def status(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return run_rmg("worker", "status", "--state", str(tmp / "state.sqlite3"), *args, env=ENV, cwd=tmp, timeout=60)


def status_json(tmp: Path) -> dict[str, Any]:
    out = status(tmp, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def scores(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def pairs(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((r["trace_id"], r["name"]) for r in rows)


def cycle_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if re.match(r"rmg worker: cycle \d+ ", line)]
    assert len(lines) == 1, stderr
    return lines[0]


class Running:
    """A ``rmg worker`` subprocess whose stderr is collected line by line as it arrives."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.proc = subprocess.Popen([str(RMG), "worker", *args], cwd=cwd, env={**os.environ, **ENV},
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if re.search(pattern, line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"no line matching {pattern!r} in: {self.lines}")
                self._changed.wait(min(left, 0.1))

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# -- exactly once ------------------------------------------------------------------------------
def test_each_trace_is_graded_once_a_rerun_grades_nothing_and_new_traces_only_are_graded_later(tmp_path: Path) -> None:
    """The ledger makes a second run a no-op (the scores file is byte for byte unchanged) and grades only added traces."""
    write_traces(tmp_path / "traces.jsonl", [trace(f"t{i}") for i in range(5)])
    write_config(tmp_path)
    out = worker(tmp_path)
    assert out.returncode == 0, out.stderr
    assert "graded 5 (new 5, changed 0, retried 0), scores 10 ok, 0 failed, 0 dead" in cycle_line(out.stderr)
    first = scores(tmp_path / "scores.jsonl")
    assert pairs(first) == sorted((f"t{i}", n) for i in range(5) for n in ("sim", "rel"))
    assert all(r["kind"] == "score" and r["error"] is None for r in first)
    written = (tmp_path / "scores.jsonl").read_bytes()

    out = worker(tmp_path)
    assert out.returncode == 0, out.stderr
    assert "read 5, skipped 5, graded 0 (new 0, changed 0, retried 0)" in cycle_line(out.stderr)
    assert (tmp_path / "scores.jsonl").read_bytes() == written

    write_traces(tmp_path / "traces.jsonl", [trace(f"n{i}") for i in range(3)], append=True)
    out = worker(tmp_path)
    assert out.returncode == 0, out.stderr
    assert "read 8, skipped 5, graded 3 (new 3, changed 0, retried 0), scores 6 ok" in cycle_line(out.stderr)
    rows = scores(tmp_path / "scores.jsonl")
    assert pairs(rows) == sorted([*pairs(first), *((f"n{i}", n) for i in range(3) for n in ("sim", "rel"))])
    assert len(set(pairs(rows))) == len(rows), "no score written twice"
    assert status_json(tmp_path)["counts"] == {"traces": 8, "scored": 16, "failed": 0, "dead": 0}


def test_changing_a_grader_setting_regrades_every_trace_once(tmp_path: Path) -> None:
    """A new grader fingerprint makes every trace 'changed'; the same override on the next run grades nothing."""
    write_traces(tmp_path / "traces.jsonl", [trace(f"t{i}") for i in range(4)])
    write_config(tmp_path)
    assert worker(tmp_path).returncode == 0
    before = scores(tmp_path / "scores.jsonl")

    out = worker(tmp_path, "-s", "graders.sim.algorithm=token_f1")
    assert out.returncode == 0, out.stderr
    assert "graded 4 (new 0, changed 4, retried 0)" in cycle_line(out.stderr)
    added = scores(tmp_path / "scores.jsonl")[len(before):]
    old_fp = {r["metadata"]["config_fingerprint"] for r in before if r["name"] == "sim"}
    new_fp = {r["metadata"]["config_fingerprint"] for r in added if r["name"] == "sim"}
    assert len(old_fp) == len(new_fp) == 1 and old_fp != new_fp
    assert sorted(r["trace_id"] for r in added if r["name"] == "sim") == [f"t{i}" for i in range(4)]

    out = worker(tmp_path, "-s", "graders.sim.algorithm=token_f1")
    assert out.returncode == 0 and "graded 0 (new 0, changed 0, retried 0)" in cycle_line(out.stderr)


def test_a_trace_whose_output_changed_is_regraded_and_the_others_are_not(tmp_path: Path) -> None:
    """The ledger keeps a hash of what the graders saw: a rewritten output is graded again, alone."""
    rows = [trace(f"t{i}") for i in range(4)]
    write_traces(tmp_path / "traces.jsonl", rows)
    write_config(tmp_path)
    assert worker(tmp_path).returncode == 0
    count = len(scores(tmp_path / "scores.jsonl"))

    rows[2] = trace("t2", output="no idea, sorry")
    write_traces(tmp_path / "traces.jsonl", rows)
    out = worker(tmp_path)
    assert out.returncode == 0, out.stderr
    assert "read 4, skipped 3, graded 1 (new 0, changed 1, retried 0), scores 2 ok" in cycle_line(out.stderr)
    added = scores(tmp_path / "scores.jsonl")[count:]
    assert pairs(added) == [("t2", "rel"), ("t2", "sim")]


def test_a_trace_younger_than_settle_waits_for_a_later_cycle(tmp_path: Path) -> None:
    """``settle`` leaves a trace alone while its output may still change, even for a source with no time filter."""
    now = datetime.now(timezone.utc).isoformat()
    write_traces(tmp_path / "traces.jsonl", [trace("old", timestamp="2024-01-01T00:00:00Z"), trace("fresh", timestamp=now)])
    write_config(tmp_path)
    out = worker(tmp_path)
    assert out.returncode == 0 and "graded 1 (new 1" in cycle_line(out.stderr) and "too young 1" in out.stderr
    assert {r["trace_id"] for r in scores(tmp_path / "scores.jsonl")} == {"old"}
    out = worker(tmp_path, "-s", "worker.settle=0s")
    assert out.returncode == 0 and "graded 1 (new 1" in cycle_line(out.stderr)
    assert {r["trace_id"] for r in scores(tmp_path / "scores.jsonl")} == {"old", "fresh"}


# -- failures, retries, dead -------------------------------------------------------------------
def test_a_grader_error_that_fails_every_time_is_recorded_once_and_not_retried(tmp_path: Path) -> None:
    """A trace without a reference fails 'sim' the same way on every attempt: recorded once, never retried (issue 12)."""
    write_traces(tmp_path / "traces.jsonl", [trace("good"), trace("noref", expected=None)])
    write_config(tmp_path, worker='retry_backoff = "0s"')
    out = worker(tmp_path)
    assert out.returncode == 0, out.stderr
    line = cycle_line(out.stderr)
    assert "graded 2 (new 2, changed 0, retried 0), scores 3 ok, 0 failed, 0 dead" in line
    assert "not retried (fail every time) 1" in line
    out = worker(tmp_path)
    assert out.returncode == 0, out.stderr
    assert "skipped 2, graded 0 (new 0, changed 0, retried 0)" in cycle_line(out.stderr)
    st = status_json(tmp_path)
    assert st["counts"] == {"traces": 2, "scored": 3, "failed": 0, "dead": 1} and st["retries_due"] == 0
    [problem] = st["problems"]
    assert (problem["trace_id"], problem["score"], problem["status"], problem["attempts"]) == ("noref", "sim", "dead", 1)
    assert problem["last_error"].startswith("not retried") and "needs field 'reference'" in problem["last_error"]
    # The reference arrives: the trace changed, so it is graded again, and now scores.
    write_traces(tmp_path / "traces.jsonl", [trace("good"), trace("noref")])
    out = worker(tmp_path)
    assert out.returncode == 0 and "graded 1 (new 0, changed 1, retried 0)" in cycle_line(out.stderr)
    assert status_json(tmp_path)["counts"] == {"traces": 2, "scored": 4, "failed": 0, "dead": 0}


def test_a_failed_write_is_retried_when_due_then_dead_after_max_attempts(tmp_path: Path) -> None:
    """Attempt 1 fails, attempt 2 (due at once with a zero backoff) reaches max_attempts=2: dead, never tried again.

    The retry settings come from ``-s worker.KEY=VALUE`` overrides, which work like the [worker] table.
    """
    write_traces(tmp_path / "traces.jsonl", [trace("a")])
    write_config(tmp_path, sink_path=tmp_path / "no-such-dir" / "scores.jsonl")
    flags = ("-s", "worker.retry_backoff=0s", "-s", "worker.max_attempts=2")
    out = worker(tmp_path, *flags)
    assert out.returncode == 1 and "scores 0 ok, 2 failed, 0 dead" in cycle_line(out.stderr)
    out = worker(tmp_path, *flags)
    assert out.returncode == 1, out.stderr
    assert "graded 1 (new 0, changed 0, retried 1)" in cycle_line(out.stderr) and "0 failed, 2 dead" in cycle_line(out.stderr)
    out = worker(tmp_path, *flags)
    assert out.returncode == 0, "a dead score is not retried, so this cycle left nothing undone"
    assert "graded 0 (new 0, changed 0, retried 0)" in cycle_line(out.stderr)

    text = status(tmp_path)
    assert text.returncode == 0, text.stderr
    assert "scores 0 scored, 0 failed (to retry), 2 dead" in text.stdout
    assert re.search(r"dead\s+a sim \(attempt 2\): .*could not open sink local", text.stdout)
    st = status_json(tmp_path)
    assert st["counts"] == {"traces": 1, "scored": 0, "failed": 0, "dead": 2}
    assert st["running"] is False and st["last_cycle"]["cycle"] == 3


def test_a_retry_writes_only_the_score_that_failed(tmp_path: Path) -> None:
    write_traces(tmp_path / "traces.jsonl", [trace("noref", expected=None)])
    write_config(tmp_path, worker="retry_backoff = \"0s\"")
    assert worker(tmp_path).returncode == 0
    assert worker(tmp_path).returncode == 0
    rel_rows = [r for r in scores(tmp_path / "scores.jsonl") if r["name"] == "rel"]
    assert len(rel_rows) == 1, f"the 'rel' score of 'noref' was written {len(rel_rows)} times"


def test_a_sink_that_cannot_write_fails_the_scores_and_names_the_sink(tmp_path: Path) -> None:
    """No score is recorded as done unless the sink wrote it; the failure is in the JSON log and in status."""
    write_traces(tmp_path / "traces.jsonl", [trace("a"), trace("b")])
    missing = tmp_path / "no-such-dir" / "scores.jsonl"
    write_config(tmp_path, sink_path=missing)
    out = worker(tmp_path, "--log-format", "json")
    assert out.returncode == 1, out.stderr
    [cycle] = [e for e in map(json.loads, out.stderr.splitlines()) if e["event"] == "cycle"]
    assert (cycle["scored"], cycle["failed"], cycle["dead"]) == (0, 4, 0)
    assert cycle["errors"] and all(f"could not open sink local({missing})" in e for e in cycle["errors"])
    st = status_json(tmp_path)
    assert st["counts"] == {"traces": 2, "scored": 0, "failed": 4, "dead": 0}
    assert all("could not open sink local(" in p["last_error"] and "No such file or directory" in p["last_error"]
               for p in st["problems"])


def test_the_text_log_names_the_sink_that_cannot_write(tmp_path: Path) -> None:
    write_traces(tmp_path / "traces.jsonl", [trace("a"), trace("b")])
    write_config(tmp_path, sink_path=tmp_path / "no-such-dir" / "scores.jsonl")
    out = worker(tmp_path)
    assert out.returncode == 1
    assert "could not open sink local(" in out.stderr, out.stderr


# -- sampling and logging ----------------------------------------------------------------------
def test_sample_rate_grades_the_same_half_on_two_fresh_states(tmp_path: Path) -> None:
    """The sample is a hash of the trace id: stable across runs and states, about the rate asked for."""
    ids = [f"trace-{i}" for i in range(40)]
    write_traces(tmp_path / "traces.jsonl", [trace(t) for t in ids])
    config = write_config(tmp_path, worker="sample_rate = 0.5")
    graded = []
    for n in (1, 2):
        out = run_rmg("worker", "-c", str(config), "--once", "--state", str(tmp_path / f"state{n}.sqlite3"),
                      "-s", f"sinks.0.path={tmp_path / f's{n}.jsonl'}", env=ENV, cwd=tmp_path, timeout=60)
        assert out.returncode == 0, out.stderr
        graded.append({r["trace_id"] for r in scores(tmp_path / f"s{n}.jsonl")})
        assert f"sampled out {40 - len(graded[-1])}" in out.stderr
    assert graded[0] == graded[1] == {t for t in ids if sample_fraction(t) < 0.5}
    assert 10 <= len(graded[0]) <= 30


def test_json_log_is_one_object_per_line_with_the_cycle_counts(tmp_path: Path) -> None:
    write_traces(tmp_path / "traces.jsonl", [trace("a"), trace("b"), trace("c", expected=None)])
    write_config(tmp_path)
    out = worker(tmp_path, "--log-format", "json")
    assert out.returncode == 0, "a grader error that fails every time is recorded, not a failed write"
    events = [json.loads(line) for line in out.stderr.splitlines()]  # every line is JSON
    assert [e["event"] for e in events] == ["started", "cycle", "stopped"]
    cycle = events[1]
    keys = ("cycle", "read", "graded", "new", "scored", "failed", "dead", "not_retried", "status")
    assert {k: cycle[k] for k in keys} == {
        "cycle": 1, "read": 3, "graded": 3, "new": 3, "scored": 5, "failed": 0, "dead": 0, "not_retried": 1,
        "status": "ok",
    }
    assert "needs field 'reference'" in cycle["errors"][0]
    assert events[0]["once"] is True and events[0]["scores"] == ["sim", "rel"]
    assert events[2]["exit_code"] == 0 and all("time" in e for e in events)


# -- one worker per state, signals -------------------------------------------------------------
def test_a_second_worker_on_the_same_state_refuses_to_start_and_sigterm_stops_the_first_cleanly(tmp_path: Path) -> None:
    write_traces(tmp_path / "traces.jsonl", [trace("a"), trace("b")])
    config = write_config(tmp_path)
    first = Running("-c", str(config), "--interval", "1h", cwd=tmp_path)
    try:
        first.wait_for(r"^rmg worker: cycle 1 ok: .*graded 2")
        second = worker(tmp_path)
        assert second.returncode == 2, second.stderr
        assert "in use by another rmg worker" in second.stderr and f"(pid {first.proc.pid} on " in second.stderr
        assert "cycle" not in second.stderr, "the second worker graded nothing"

        shown = status(tmp_path)
        assert shown.returncode == 0 and f"worker:     running (pid {first.proc.pid}" in shown.stdout

        assert first.stop(signal.SIGTERM) == 0
    finally:
        first.kill()
    assert any(line.startswith("rmg worker: SIGTERM: finishing in-flight work") for line in first.lines)
    assert first.lines[-1].startswith("rmg worker: stopped after 1 cycle(s)")
    assert len(scores(tmp_path / "scores.jsonl")) == 4
    assert status_json(tmp_path)["running"] is False
    again = worker(tmp_path)  # the lock went with the first worker
    assert again.returncode == 0 and "graded 0" in cycle_line(again.stderr)


def test_sigterm_while_the_pacer_waits_stops_promptly_keeping_what_was_written(tmp_path: Path) -> None:
    """max_traces_per_minute=6 lets one trace through, then waits ~10 s: SIGTERM ends the wait, exit 0, no watermark."""
    write_traces(tmp_path / "traces.jsonl", [trace("a"), trace("b"), trace("c")])
    config = write_config(tmp_path, worker="max_traces_per_minute = 6")
    run = Running("-c", str(config), "--interval", "1h", cwd=tmp_path)
    try:
        deadline = time.monotonic() + 20
        while len(scores(tmp_path / "scores.jsonl")) < 2:
            assert time.monotonic() < deadline and run.proc.poll() is None, run.lines
            time.sleep(0.05)
        t0 = time.monotonic()
        assert run.stop(signal.SIGTERM) == 0
        assert time.monotonic() - t0 < 5
    finally:
        run.kill()
    assert re.search(r"^rmg worker: cycle 1 stopped: .*graded 1 ", "\n".join(run.lines), re.M), run.lines
    assert pairs(scores(tmp_path / "scores.jsonl")) == [("a", "rel"), ("a", "sim")]
    st = status_json(tmp_path)
    assert st["watermark"] is None, "a window read only in part does not move the watermark"
    assert st["counts"] == {"traces": 1, "scored": 2, "failed": 0, "dead": 0}


# -- usage and configuration errors ------------------------------------------------------------
def test_worker_without_a_config_is_a_usage_error(tmp_path: Path) -> None:
    out = run_rmg("worker", "--once", env={**ENV, "XDG_DATA_HOME": str(tmp_path)}, cwd=tmp_path)
    assert out.returncode == 2 and "rmg: error: rmg worker needs a config: rmg worker -c eval.toml" in out.stderr
    out = run_rmg("worker", "status", env=ENV, cwd=tmp_path)
    assert out.returncode == 2 and "give the worker's config (-c eval.toml) or its state file (--state PATH)" in out.stderr


@pytest.mark.parametrize(
    "worker_table, args, needle",
    [
        ('intervall = "1m"', (), "[worker]: unknown setting 'intervall'; valid settings: interval, lookback,"),
        ('interval = "soon"', (), "[worker]: interval: "),
        ("", ("-s", "worker.sample_rate=0"), "[worker]: setting 'sample_rate': "),
        ("", ("--interval", "soon"), "--interval: 'soon' is not a duration"),
    ],
    ids=["unknown-key", "bad-duration", "bad-override", "bad-interval-flag"],
)
def test_a_bad_worker_setting_exits_2_naming_the_file_and_the_key(tmp_path: Path, worker_table: str, args: tuple, needle: str) -> None:
    write_traces(tmp_path / "traces.jsonl", [trace("a")])
    config = write_config(tmp_path, worker=worker_table)
    out = worker(tmp_path, *args)
    assert out.returncode == 2, out.stderr
    # A bad flag is named as the flag; everything else by the config file and its [worker] table.
    where = "rmg: error: --interval" if "--interval" in args else f"rmg: error: {config} [worker]"
    assert out.stderr.startswith(where) and needle in out.stderr, out.stderr
    assert not (tmp_path / "state.sqlite3").exists() and not (tmp_path / "scores.jsonl").exists()


def test_a_config_without_sinks_exits_2(tmp_path: Path) -> None:
    write_traces(tmp_path / "traces.jsonl", [trace("a")])
    config = write_config(tmp_path)
    config.write_text(config.read_text().split("[[sinks]]")[0])
    out = worker(tmp_path)
    assert out.returncode == 2 and "no [[sinks]] table: a worker must write its scores somewhere" in out.stderr


def test_status_of_a_state_that_does_not_exist_exits_2_naming_it(tmp_path: Path) -> None:
    out = status(tmp_path)
    assert out.returncode == 2 and f"no worker state at '{tmp_path / 'state.sqlite3'}'" in out.stderr


def test_status_with_c_finds_a_state_path_given_through_an_environment_variable(tmp_path: Path) -> None:
    write_traces(tmp_path / "traces.jsonl", [trace("a")])
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace(json.dumps(str(tmp_path / "state.sqlite3")), '"${WSTATE}"'))
    env = {**ENV, "WSTATE": str(tmp_path / "env-state.sqlite3")}
    out = run_rmg("worker", "-c", str(config), "--once", env=env, cwd=tmp_path)
    assert out.returncode == 0 and (tmp_path / "env-state.sqlite3").exists()
    out = run_rmg("worker", "status", "-c", str(config), env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr


def test_a_trace_listed_twice_in_one_cycle_is_graded_once(tmp_path: Path) -> None:
    write_traces(tmp_path / "traces.jsonl", [trace("a"), trace("b"), trace("a")])
    write_config(tmp_path)
    out = worker(tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(scores(tmp_path / "scores.jsonl")) == 4, "each of a's two scores written once"


def test_a_local_sink_that_replaces_its_file_is_refused(tmp_path: Path) -> None:
    """Replace mode would erase, at each restart, scores the ledger records as written: refused, exit 2."""
    write_traces(tmp_path / "traces.jsonl", [trace("a")])
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace('mode = "append"\n', ""))
    out = worker(tmp_path)
    assert out.returncode == 2
    assert "replaces" in out.stderr and 'set mode = "append"' in out.stderr, out.stderr
    assert not (tmp_path / "state.sqlite3").exists()


def test_worker_retry_gives_dead_scores_another_round(tmp_path: Path) -> None:
    """`rmg worker retry` turns a dead score back into a due retry; only that score is graded and written again."""
    write_traces(tmp_path / "traces.jsonl", [trace("ok"), trace("noref", expected=None)])
    write_config(tmp_path, worker='retry_backoff = "0s"\nmax_attempts = 1')
    assert worker(tmp_path).returncode == 0
    assert status_json(tmp_path)["counts"]["dead"] == 1
    out = run_rmg("worker", "retry", "--state", str(tmp_path / "state.sqlite3"), env=ENV, cwd=tmp_path)
    assert out.returncode == 0 and "1 dead score(s) of 1 trace(s) will be retried" in out.stdout, out.stderr
    assert status_json(tmp_path)["counts"] == {"traces": 2, "scored": 3, "failed": 1, "dead": 0}
    again = worker(tmp_path, "--log-format", "json")
    [cycle] = [e for e in map(json.loads, again.stderr.splitlines()) if e["event"] == "cycle"]
    assert (cycle["retried"], cycle["graded"], cycle["not_retried"]) == (1, 1, 1)
    # Only the failing score was written again, not the trace's good one.
    assert [r["name"] for r in scores(tmp_path / "scores.jsonl") if r["trace_id"] == "noref"].count("rel") == 1


def test_json_logs_stay_json_when_plugins_warn_while_loading(tmp_path: Path, broken_plugins_env: dict[str, str]) -> None:
    """The deliberately broken test plugins warn before the command runs; those lines are JSON too."""
    write_traces(tmp_path / "traces.jsonl", [trace("a")])
    write_config(tmp_path)
    out = run_rmg("worker", "-c", str(tmp_path / "eval.toml"), "--once", "--log-format", "json", cwd=tmp_path, timeout=60,
                  env={**broken_plugins_env, "RMG_DISABLE_PLUGINS": ""})
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stderr.splitlines()]
    warnings = [e for e in events if e["event"] == "log"]
    assert warnings and all(e["level"] == "warning" and "skipped" in e["message"] for e in warnings)
    assert [e["event"] for e in events if e["event"] != "log"] == ["started", "cycle", "stopped"]
