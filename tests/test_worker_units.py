"""`rmg worker` building blocks, in-process: durations, settings, the state file, the ledger rules, pacing."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import signal
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Optional, Sequence

import pytest

from rmg_core import (
    EvalCase, GradingRunner, ScoreRecord, Sink, Source, WriteFailure, WriteReport, score_id,
)
from rmg_core.config import Components, build_components, parse_config
from rmg_core.errors import ConfigError
from rmg_kit import sample_fraction
from rmg_worker.durations import format_duration, parse_duration
from rmg_worker.ledger import (
    CHANGED, NEW, RETRY, PendingCase, RetryPolicy, content_hash, needs_grading, outcome_of, score_plan,
)
from rmg_worker.pacing import Pacer
from rmg_worker.service import CycleLog, Worker
from rmg_worker.settings import WorkerSettings, default_state_path, state_path, worker_settings
from rmg_worker.state import LedgerRow, Outcome, StateError, WorkerState
from tests.conftest import Length, Mean, ExactMatch

UTC = timezone.utc


# -- durations ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, seconds",
    [
        ("90s", 90.0), ("10m", 600.0), ("1h30m", 5400.0), ("250ms", 0.25), ("2d", 172800.0), ("1.5h", 5400.0),
        (" 1h 30m ", 5400.0), ("10M", 600.0), ("1d2h3m4s", 93784.0), ("45", 45.0), ("0", 0.0), ("2.5", 2.5),
        (30, 30.0), (2.5, 2.5), (0, 0.0),
    ],
)
def test_parse_duration_accepts_units_combinations_and_plain_seconds(value: object, seconds: float) -> None:
    assert parse_duration(value, "[worker] interval") == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", "soon", "10x", "5m30", "m", "1h-30m", "h1", "10 minutes"])
def test_parse_duration_rejects_text_that_is_not_a_duration_and_names_the_setting(value: str) -> None:
    with pytest.raises(ValueError, match=r"^\[worker\] interval: .* is not a duration; write e\.g\. 30s"):
        parse_duration(value, "[worker] interval")


@pytest.mark.parametrize("value", [-1, -0.5, "-5", "-5s"])
def test_parse_duration_rejects_negative_durations(value: object) -> None:
    with pytest.raises(ValueError, match=r"^--interval: ") as info:
        parse_duration(value, "--interval")
    assert "negative" in str(info.value) or "not a duration" in str(info.value)


@pytest.mark.parametrize("value", [True, None, [10], {"s": 1}])
def test_parse_duration_rejects_other_types_and_names_the_setting(value: object) -> None:
    with pytest.raises(ValueError, match=r"^retry_backoff: expected a duration such as 30s"):
        parse_duration(value, "retry_backoff")


@pytest.mark.parametrize("value", ["nan", "inf", "infinity", float("nan"), float("inf")])
def test_parse_duration_rejects_nan_and_infinity(value: object) -> None:
    with pytest.raises(ValueError, match="interval"):
        parse_duration(value, "interval")


@pytest.mark.parametrize(
    "seconds, text",
    [(3723, "1h2m3s"), (0.25, "250ms"), (0, "0ms"), (1, "1s"), (59, "59s"), (60, "1m"), (90, "1m30s"),
     (600, "10m"), (3600, "1h"), (90000, "1d1h"), (86400 + 5, "1d5s")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0.25, 1, 59, 61, 3600, 3723, 93784, 172800])
def test_format_duration_round_trips_through_parse_duration(seconds: float) -> None:
    assert parse_duration(format_duration(seconds), "x") == pytest.approx(seconds)


# -- settings ----------------------------------------------------------------------------------
def test_worker_settings_defaults_and_duration_strings() -> None:
    s = worker_settings({}, "eval.toml")
    assert (s.interval, s.overlap, s.settle, s.lookback) == (600.0, 600.0, 120.0, 86400.0)
    assert (s.sample_rate, s.max_attempts, s.retry_backoff, s.retry_backoff_max, s.state) == (1.0, 5, 60.0, 3600.0, None)
    s = worker_settings({"interval": "1h30m", "retry_backoff": 5, "settle": "0s"}, "eval.toml")
    assert (s.interval, s.retry_backoff, s.settle) == (5400.0, 5.0, 0.0)


def test_worker_settings_overrides_win_and_none_overrides_are_ignored() -> None:
    s = worker_settings({"interval": "10m", "max_attempts": 3}, "eval.toml", {"interval": "30s", "max_attempts": None})
    assert s.interval == 30.0 and s.max_attempts == 3


def test_worker_settings_unknown_key_names_the_file_and_lists_valid_settings() -> None:
    with pytest.raises(ConfigError) as info:
        worker_settings({"intervall": "1m"}, "conf/eval.toml")
    message = str(info.value)
    assert message.startswith("conf/eval.toml [worker]: unknown setting 'intervall'; valid settings: ")
    listed = message.split("valid settings: ")[1].split(", ")
    assert listed == sorted(WorkerSettings.model_fields) and "interval" in listed and "state" in listed


@pytest.mark.parametrize(
    "table, needle",
    [({"sample_rate": 0}, "setting 'sample_rate':"), ({"sample_rate": 1.5}, "setting 'sample_rate':"), ({"max_attempts": 0}, "setting 'max_attempts':"),
     ({"interval": "soon"}, "'soon' is not a duration"), ({"retry_backoff": -1}, "cannot be negative")],
)
def test_worker_settings_bad_values_name_the_file_and_the_key(table: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        worker_settings(table, "eval.toml")
    assert str(info.value).startswith("eval.toml [worker]: ") and needle in str(info.value)
    assert next(iter(table)) in str(info.value)


def test_worker_settings_bad_duration_names_the_key_once() -> None:
    with pytest.raises(ConfigError) as info:
        worker_settings({"interval": "soon"}, "eval.toml")
    assert str(info.value).count("interval") == 1, str(info.value)


def test_state_path_prefers_explicit_then_setting_then_per_config_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with_state = worker_settings({"state": "~/w.sqlite3"}, "eval.toml")
    assert state_path(with_state, "eval.toml", str(tmp_path / "x.sqlite3")) == tmp_path / "x.sqlite3"
    assert state_path(with_state, "eval.toml") == tmp_path / "home" / "w.sqlite3"
    plain = worker_settings({}, "eval.toml")
    assert state_path(plain, str(tmp_path / "eval.toml")) == default_state_path(str(tmp_path / "eval.toml"))
    with pytest.raises(ConfigError, match="no state file: give -c FILE .* or --state PATH"):
        state_path(plain, None)


def test_default_state_path_is_per_config_under_the_user_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = default_state_path(str(tmp_path / "a" / "eval.toml")), default_state_path(str(tmp_path / "b" / "eval.toml"))
    root = Path(platformdirs.user_data_dir("rmg")) / "worker"
    assert a.parent == root == b.parent
    assert a != b, "two eval.toml in different directories must not share a ledger"
    assert a.name.startswith("eval-") and a.suffix == ".sqlite3" and b.name.startswith("eval-")
    monkeypatch.chdir(tmp_path / "a")
    assert default_state_path("eval.toml") == a, "a relative config path names the same file as its absolute path"


# -- the state file ----------------------------------------------------------------------------
def outcome(trace_id: str, score: str = "s", *, status: str = "scored", fingerprint: str = "f", content: str = "c",
            attempts: int = 1, next_attempt: float | None = None, trace_time: float | None = None,
            error: str | None = None) -> Outcome:
    return Outcome(trace_id, score, fingerprint, content, status, attempts, error, next_attempt, trace_time)


@pytest.fixture
def state(tmp_path: Path):  # type: ignore[no-untyped-def]
    st = WorkerState.open(tmp_path / "state.sqlite3")
    yield st
    st.close()


def test_open_creates_the_directory_the_schema_and_records_the_owner(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "state.sqlite3"
    st = WorkerState.open(path)
    try:
        assert path.is_file() and Path(str(path) + ".lock").exists()
        tables = {r[0] for r in st.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"meta", "ledger"} <= tables
        columns = [r[1] for r in st.conn.execute("PRAGMA table_info(ledger)")]
        assert columns == ["trace_id", "score", "fingerprint", "content", "status", "attempts", "last_error",
                           "next_attempt", "trace_time", "updated"]
        assert st.get_meta("schema_version") == "1"
        assert st.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert json.loads(st.get_meta("owner"))["pid"] == os.getpid()
        assert st.watermark is None and st.last_cycle() is None
    finally:
        st.close()


def test_ledger_rejects_an_unknown_status(state: WorkerState) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        state.record([outcome("t", status="done")])
    assert state.counts().as_dict() == {"traces": 0, "scored": 0, "failed": 0, "dead": 0}, "the transaction rolled back"


def test_watermark_round_trips_and_survives_reopening(tmp_path: Path) -> None:
    when = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    st = WorkerState.open(tmp_path / "s.sqlite3")
    st.set_watermark(when)
    assert st.watermark == when
    st.close()
    st = WorkerState.open(tmp_path / "s.sqlite3")
    try:
        assert st.watermark == when and st.watermark.tzinfo is not None
    finally:
        st.close()


def test_lookup_returns_every_row_of_many_ids_across_in_batches(state: WorkerState) -> None:
    ids = [f"trace-{i}" for i in range(2000)]  # more than two batches of 900
    state.record([outcome(t, "a", content=f"c{t}") for t in ids] + [outcome(t, "b", status="failed", next_attempt=5.0) for t in ids[::2]])
    found = state.lookup(ids + ["unknown"] + ids[:10])
    assert len(found) == 2000 and "unknown" not in found
    assert found["trace-1999"] == {"a": LedgerRow("f", "ctrace-1999", "scored", 1, None)}
    assert found["trace-1000"]["b"] == LedgerRow("f", "c", "failed", 1, 5.0)
    assert sum(len(v) for v in found.values()) == 3000
    assert state.lookup([]) == {}


def test_record_upserts_one_row_per_trace_and_score(state: WorkerState) -> None:
    assert state.record([]) == 0
    assert state.record([outcome("t", "a", status="failed", attempts=1, next_attempt=10.0, error="boom")]) == 1
    assert state.record([outcome("t", "a", status="scored", attempts=2, content="c2")]) == 1
    assert state.lookup(["t"]) == {"t": {"a": LedgerRow("f", "c2", "scored", 2, None)}}
    assert state.conn.execute("SELECT count(*), max(last_error) FROM ledger").fetchone() == (1, None)


def test_due_retries_honours_next_attempt_the_before_bound_and_the_limit(state: WorkerState) -> None:
    state.record([
        outcome("due-old", status="failed", next_attempt=150.0, trace_time=50.0),
        outcome("due-young", status="failed", next_attempt=100.0, trace_time=500.0),
        outcome("due-untimed", status="failed", next_attempt=120.0, trace_time=None),
        outcome("not-yet", status="failed", next_attempt=300.0, trace_time=50.0),
        outcome("scored", status="scored", trace_time=50.0),
        outcome("dead", status="dead", trace_time=50.0),
    ])
    assert state.due_retries(200.0, None, 10) == ["due-young", "due-untimed", "due-old"], "oldest retry time first"
    assert state.due_retries(200.0, 100.0, 10) == ["due-untimed", "due-old"], "younger traces are in the window anyway"
    assert state.due_retries(200.0, None, 2) == ["due-young", "due-untimed"]
    assert state.due_retries(99.0, None, 10) == []
    assert state.due_retries(1000.0, None, 10)[-1] == "not-yet"
    assert state.due_count(200.0) == 3


def test_due_retries_lists_a_trace_with_several_failed_scores_once(state: WorkerState) -> None:
    state.record([outcome("t", "a", status="failed", next_attempt=1.0), outcome("t", "b", status="failed", next_attempt=2.0)])
    assert state.due_retries(10.0, None, 10) == ["t"] and state.due_count(10.0) == 1


def test_counts_and_problems(state: WorkerState) -> None:
    state.record([outcome("t1", "a"), outcome("t1", "b"), outcome("t2", "a")])
    state.record([outcome("t2", "b", status="failed", next_attempt=9.0, error="timeout")])
    state.record([outcome("t3", "a", status="dead", attempts=5, error="gave up")])
    assert state.counts().as_dict() == {"traces": 3, "scored": 3, "failed": 1, "dead": 1}
    problems = state.problems()
    assert {(p["trace_id"], p["score"], p["status"], p["last_error"]) for p in problems} == {
        ("t2", "b", "failed", "timeout"), ("t3", "a", "dead", "gave up"),
    }
    assert problems[0]["trace_id"] == "t3", "most recent first"
    assert len(state.problems(limit=1)) == 1


def test_prune_forgets_old_scored_and_dead_rows_and_keeps_failed_and_untimed_ones(state: WorkerState) -> None:
    state.record([
        outcome("old-scored", trace_time=10.0), outcome("old-dead", status="dead", trace_time=10.0),
        outcome("old-failed", status="failed", next_attempt=5.0, trace_time=10.0),
        outcome("new-scored", trace_time=500.0), outcome("untimed", trace_time=None),
    ])
    assert state.prune(100.0) == 2
    assert set(state.lookup(["old-scored", "old-dead", "old-failed", "new-scored", "untimed"])) == {
        "old-failed", "new-scored", "untimed"}
    assert state.prune(100.0) == 0


def test_retain_defaults_to_30_days_and_takes_a_duration() -> None:
    assert worker_settings({}, "eval.toml").retain == 30 * 86400.0
    assert worker_settings({"retain": "7d"}, "eval.toml").retain == 7 * 86400.0
    assert worker_settings({"retain": 0}, "eval.toml").retain == 0.0


def test_a_second_open_of_the_same_state_is_refused_naming_the_owner_pid(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    first = WorkerState.open(path)
    try:
        with pytest.raises(StateError) as info:
            WorkerState.open(path)
        message = str(info.value)
        assert "in use by another rmg worker" in message and f"pid {os.getpid()}" in message and str(path) in message
        assert "--state PATH" in message
        first.set_watermark(datetime(2024, 1, 1, tzinfo=UTC))
        reader = WorkerState.read_only(path)  # `rmg worker status` reads while a worker writes
        try:
            assert reader.watermark == datetime(2024, 1, 1, tzinfo=UTC)
        finally:
            reader.close()
    finally:
        first.close()
    again = WorkerState.open(path)
    again.close()


def test_read_only_on_a_missing_state_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sqlite3"
    with pytest.raises(StateError, match=f"no worker state at '{missing}'"):
        WorkerState.read_only(missing)
    assert not missing.exists(), "reading must not create the file"


def test_a_file_that_is_not_sqlite_is_refused_and_the_lock_released(tmp_path: Path) -> None:
    from filelock import FileLock

    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not a database, just some text that is long enough" * 20)
    with pytest.raises(StateError, match="is not a usable SQLite database.*move it aside"):
        WorkerState.open(path)
    lock = FileLock(str(path) + ".lock")
    lock.acquire(timeout=0)  # would raise Timeout had the failed open kept it
    lock.release()


def test_a_state_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    st = WorkerState.open(path)
    st.set_meta("schema_version", "2")
    st.close()
    with pytest.raises(StateError, match="schema version 2; this rmg reads version 1"):
        WorkerState.open(path)
    WorkerState.open(path.with_name("other.sqlite3")).close()


# -- the ledger rules --------------------------------------------------------------------------
PLAN = {"a": "fa", "b": "fb"}
NOW = 1000.0


def row(status: str = "scored", fingerprint: str = "fa", content: str = "c", attempts: int = 1,
        next_attempt: float | None = None) -> LedgerRow:
    return LedgerRow(fingerprint, content, status, attempts, next_attempt)


@pytest.mark.parametrize(
    "rows, reason",
    [
        ({}, NEW),
        ({"a": row()}, CHANGED),  # a score added to a trace the ledger knows: a configuration change
        ({"a": row(), "b": row(fingerprint="fb")}, None),
        ({"a": row(content="old"), "b": row(fingerprint="fb")}, CHANGED),
        ({"a": row(fingerprint="f-old"), "b": row(fingerprint="fb")}, CHANGED),
        ({"a": row(status="failed", next_attempt=NOW + 1), "b": row(fingerprint="fb")}, None),
        ({"a": row(status="failed", next_attempt=NOW), "b": row(fingerprint="fb")}, RETRY),
        ({"a": row(status="failed", next_attempt=None), "b": row(fingerprint="fb")}, RETRY),
        ({"a": row(status="dead", attempts=5), "b": row(fingerprint="fb")}, None),
        ({"a": row(status="dead", content="old"), "b": row(fingerprint="fb")}, CHANGED),
        ({"a": row(status="failed", next_attempt=NOW + 1, content="old"), "b": row(fingerprint="fb")}, CHANGED),
        ({"a": row(status="failed", next_attempt=0), "b": row(fingerprint="fb", content="old")}, CHANGED),
    ],
    ids=["nothing", "one-new", "all-done", "content", "fingerprint", "failed-not-due", "failed-due",
         "failed-no-time", "dead", "dead-but-changed", "not-due-but-changed", "retry-and-changed"],
)
def test_needs_grading(rows: dict, reason: str | None) -> None:
    assert needs_grading(PLAN, "c", rows, NOW) == reason


def test_needs_grading_a_trace_with_one_new_and_one_changed_score() -> None:
    """Graded either way; which counter it lands in (new or changed) follows the plan's order."""
    assert needs_grading(PLAN, "c", {"a": row(content="old")}, NOW) in (NEW, CHANGED)
    assert needs_grading(PLAN, "c", {"b": row(fingerprint="fb", content="old")}, NOW) in (NEW, CHANGED)


def test_retry_policy_delay_doubles_and_caps() -> None:
    policy = RetryPolicy(max_attempts=5, backoff=10.0, backoff_max=60.0)
    assert [policy.delay(n) for n in (0, 1, 2, 3, 4, 10)] == [10.0, 10.0, 20.0, 40.0, 60.0, 60.0]
    assert RetryPolicy(5, 0.0, 60.0).delay(3) == 0.0


def record(trace_id: str = "t", name: str = "a", error: str | None = None) -> ScoreRecord:
    if error:
        return ScoreRecord(trace_id=trace_id, name=name, score_id=score_id(trace_id, name), kind="error", error=error)
    return ScoreRecord(trace_id=trace_id, name=name, value=1.0, score_id=score_id(trace_id, name))


POLICY = RetryPolicy(max_attempts=3, backoff=10.0, backoff_max=100.0)


def test_outcome_of_a_written_score_is_scored() -> None:
    o = outcome_of(record(), None, PLAN, PendingCase("c", {}, 42.0), POLICY, NOW)
    assert (o.status, o.attempts, o.fingerprint, o.content, o.next_attempt, o.last_error, o.trace_time) == (
        "scored", 1, "fa", "c", None, None, 42.0)


def test_outcome_of_failures_counts_attempts_with_backoff_then_goes_dead() -> None:
    rows: dict = {}
    seen = []
    for _ in range(4):
        o = outcome_of(record(error="boom"), None, PLAN, PendingCase("c", rows, None), POLICY, NOW)
        seen.append((o.status, o.attempts, o.next_attempt))
        rows = {"a": row(o.status, o.fingerprint, o.content, o.attempts, o.next_attempt)}
    assert seen[:3] == [("failed", 1, NOW + 10), ("failed", 2, NOW + 20), ("dead", 3, None)]
    assert seen[3][0] == "dead"
    assert o.last_error == "grader error: boom"


def test_outcome_of_a_sink_failure_wins_over_a_good_score_and_is_truncated() -> None:
    o = outcome_of(record(), "sink local: disk full " + "x" * 5000, PLAN, PendingCase("c", {}, None), POLICY, NOW)
    assert o.status == "failed" and o.last_error.startswith("sink local: disk full") and len(o.last_error) == 2000


@pytest.mark.parametrize("prior", [row("failed", content="old", attempts=2), row("failed", fingerprint="f-old", attempts=2)],
                         ids=["content-changed", "fingerprint-changed"])
def test_outcome_of_starts_counting_again_when_the_trace_or_the_config_changed(prior: LedgerRow) -> None:
    o = outcome_of(record(error="boom"), None, PLAN, PendingCase("c", {"a": prior}, None), POLICY, NOW)
    assert (o.status, o.attempts) == ("failed", 1)


def test_max_attempts_one_makes_the_first_failure_dead() -> None:
    o = outcome_of(record(error="boom"), None, PLAN, PendingCase("c", {}, None), RetryPolicy(1, 10.0, 10.0), NOW)
    assert (o.status, o.attempts, o.next_attempt) == ("dead", 1, None)


def test_score_plan_changes_an_aggregators_fingerprint_when_a_grader_changes() -> None:
    def plan(scale: float, fields: dict | None = None) -> dict[str, str]:
        return score_plan({"exact": (ExactMatch(), None), "length": (Length(scale=scale), fields)}, {"mean": Mean()})

    base = plan(100.0)
    assert set(base) == {"exact", "length", "mean"} and base == plan(100.0)
    changed = plan(50.0)
    assert changed["exact"] == base["exact"]
    assert changed["length"] != base["length"] and changed["mean"] != base["mean"]
    mapped = plan(100.0, {"prediction": "input"})
    assert mapped["length"] != base["length"] and mapped["mean"] != base["mean"] and mapped["exact"] == base["exact"]


def test_content_hash_follows_what_graders_see_only() -> None:
    base = dict(id="t", input="q", output="a", expected="a", metadata={"k": 1})
    h = content_hash(EvalCase(**base))
    assert h == content_hash(EvalCase(**base))
    for change in ({"output": "b"}, {"input": "q2"}, {"expected": "b"}, {"expected": None}, {"metadata": {"k": 2}},
                   {"output": [{"role": "assistant", "content": "a"}]}):
        assert content_hash(EvalCase(**{**base, **change})) != h, change
    for unrelated in ({"timestamp": datetime(2024, 1, 1, tzinfo=UTC)}, {"observation_id": "obs-1"}):
        assert content_hash(EvalCase(**{**base, **unrelated})) == h, unrelated


def test_sample_fraction_is_stable_and_spread_evenly() -> None:
    assert sample_fraction("trace-1") == sample_fraction("trace-1")
    # sha256-based: the same on every machine and Python version (PYTHONHASHSEED does not matter).
    assert sample_fraction("trace-1") == int.from_bytes(hashlib.sha256(b"trace-1").digest()[:8], "big") / 2.0**64
    values = [sample_fraction(f"t{i}") for i in range(10000)]
    assert all(0.0 <= v < 1.0 for v in values)
    assert 0.47 < sum(v < 0.5 for v in values) / len(values) < 0.53


# -- pacing ------------------------------------------------------------------------------------
def test_pacer_with_a_high_rate_does_not_block() -> None:
    async def go() -> float:
        pacer, stop = Pacer(6_000_000), asyncio.Event()
        t0 = time.monotonic()
        assert all([await pacer.take(stop) for _ in range(1000)])
        return time.monotonic() - t0

    assert asyncio.run(go()) < 0.5


def test_pacer_waits_once_the_burst_is_spent() -> None:
    async def go() -> float:
        pacer, stop = Pacer(600), asyncio.Event()  # 10 a second, a burst of 100
        for _ in range(100):
            assert await pacer.take(stop)
        t0 = time.monotonic()
        assert await pacer.take(stop)
        return time.monotonic() - t0

    assert 0.05 < asyncio.run(go()) < 1.0


def test_pacer_take_returns_false_promptly_when_stopped_while_waiting() -> None:
    async def go() -> tuple[bool, float]:
        pacer, stop = Pacer(1), asyncio.Event()  # the next token is a minute away
        assert await pacer.take(stop)
        asyncio.get_running_loop().call_later(0.05, stop.set)
        t0 = time.monotonic()
        taken = await pacer.take(stop)
        return taken, time.monotonic() - t0

    taken, waited = asyncio.run(go())
    assert taken is False and waited < 1.0


def test_pacer_take_with_stop_already_set_and_no_token_returns_false_at_once() -> None:
    async def go() -> bool:
        pacer, stop = Pacer(1), asyncio.Event()
        await pacer.take(stop)
        stop.set()
        return await asyncio.wait_for(pacer.take(stop), timeout=1.0)

    assert asyncio.run(go()) is False


# -- the optional Source methods ---------------------------------------------------------------
def test_a_source_without_windowed_or_only_says_so_with_none() -> None:
    class Plain(Source):
        name = "plain"

        async def cases(self):  # type: ignore[no-untyped-def]
            yield EvalCase(id="x")

    src = Plain()
    assert src.windowed(None, datetime.now(UTC)) is None and src.only(["x"]) is None


# -- signals -----------------------------------------------------------------------------------
def one_trace_config(tmp_path: Path) -> Any:
    """A config over a one-trace local file, graded by the in-test ``length`` grader."""
    traces = tmp_path / "t.jsonl"
    traces.write_text('{"id": "a", "output": "x"}\n')
    return parse_config({
        "source": {"plugin": "local", "path": str(traces)},
        "graders": {"length": {"plugin": "length"}},
        "sinks": [{"plugin": "local", "path": str(tmp_path / "s.jsonl"), "mode": "append"}],
    }, "test")


def test_first_signal_asks_to_stop_and_the_second_exits_at_once_with_128_plus_signum(
    tmp_path: Path, test_host, monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = one_trace_config(tmp_path)
    stream = io.StringIO()
    st = WorkerState.open(tmp_path / "s.sqlite3")
    try:
        worker = Worker(build_components(test_host, config), worker_settings({}, "test"), st, chunk_size=10,
                        log=CycleLog(stream, "json"))
        exits: list[int] = []

        def fake_exit(code: int) -> None:
            exits.append(code)

        monkeypatch.setattr(os, "_exit", fake_exit)
        worker._on_signal(signal.SIGTERM)
        assert worker.stop.is_set() and exits == []
        worker._on_signal(signal.SIGINT)
        assert exits == [128 + signal.SIGINT]
    finally:
        st.close()
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["stopping", "stopped"]
    assert events[0]["signal"] == "SIGTERM" and events[1]["exit_code"] == 130


def test_worker_window_starts_lookback_before_now_then_overlap_before_the_watermark(tmp_path: Path, test_host) -> None:
    config = one_trace_config(tmp_path)
    now = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    settings = worker_settings({"lookback": "1d", "overlap": "10m", "settle": "2m"}, "test")
    st = WorkerState.open(tmp_path / "s.sqlite3")
    try:
        worker = Worker(build_components(test_host, config), settings, st, chunk_size=10,
                        log=CycleLog(io.StringIO()), clock=lambda: now)
        assert worker.window() == (now - timedelta(days=1), now - timedelta(minutes=2))
        st.set_watermark(now - timedelta(hours=1))
        assert worker.window() == (now - timedelta(hours=1, minutes=10), now - timedelta(minutes=2))
        st.set_watermark(now + timedelta(hours=1))  # a watermark ahead of the clock never makes start > end
        assert worker.window() == (now - timedelta(minutes=2), now - timedelta(minutes=2))
    finally:
        st.close()


# -- a source that reads windows but cannot look traces up by id --------------------------------
class WindowOnlySource(Source):
    """Cases with timestamps; `windowed` works, `only` is the default (None)."""

    name = "window_only"

    def __init__(self, cases: list[EvalCase], windows: list[tuple], lo: Optional[datetime] = None,
                 hi: Optional[datetime] = None) -> None:
        super().__init__()
        self.all, self.windows, self.lo, self.hi = cases, windows, lo, hi

    def windowed(self, start: Optional[datetime], end: datetime) -> "WindowOnlySource":
        self.windows.append((start, end))
        return WindowOnlySource(self.all, self.windows, start, end)

    async def cases(self) -> AsyncIterator[EvalCase]:
        for case in self.all:
            assert case.timestamp is not None
            if (self.lo is None or case.timestamp >= self.lo) and case.timestamp < self.hi:
                yield case


class FlakySink(Sink):
    """Fails every write until ``fail`` is switched off."""

    name = "flaky"

    def __init__(self) -> None:
        super().__init__()
        self.fail = True
        self.written: list[ScoreRecord] = []

    async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
        if self.fail:
            return WriteReport(failed=[WriteFailure.of(r, "HTTP 503") for r in records])
        self.written.extend(records)
        return WriteReport(written=len(records))


def test_without_only_a_due_retry_older_than_the_window_is_reached_by_widening_the_window(tmp_path: Path) -> None:
    """The failed trace is outside the next window; the worker reads back to it instead of stranding it."""
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    clock = {"now": now}
    cases = [EvalCase(id=f"t{i}", output="abc", timestamp=now - timedelta(minutes=50 - i)) for i in range(3)]
    windows: list[tuple] = []
    sink = FlakySink()
    grader = Length(scale=10)
    components = Components(WindowOnlySource(cases, windows), {"length": (grader, None)}, {}, [sink], ["flaky"],
                            GradingRunner({"length": grader}))
    settings = worker_settings({"lookback": "1h", "overlap": "0s", "settle": "0s", "retry_backoff": "0s"}, "test")
    st = WorkerState.open(tmp_path / "s.sqlite3")
    try:
        worker = Worker(components, settings, st, chunk_size=10, log=CycleLog(io.StringIO()), clock=lambda: clock["now"])
        first = asyncio.run(worker.cycle())
        assert (first.status, first.failed, first.scored) == ("ok", 3, 0)
        sink.fail = False
        clock["now"] = now + timedelta(minutes=1)
        second = asyncio.run(worker.cycle())
        assert (second.retried, second.scored) == (3, 3)
        assert windows[-1][0] == cases[0].timestamp  # reached back to the oldest failed trace
        assert sorted(r.trace_id for r in sink.written) == ["t0", "t1", "t2"]
        assert st.counts().as_dict() == {"traces": 3, "scored": 3, "failed": 0, "dead": 0}
    finally:
        st.close()


def test_revive_dead_makes_dead_scores_due_again_with_fresh_attempts(tmp_path: Path) -> None:
    st = WorkerState.open(tmp_path / "s.sqlite3")
    try:
        st.record([
            Outcome("a", "x", "f", "c", "dead", 5, "boom", None, 1.0),
            Outcome("a", "y", "f", "c", "dead", 5, "boom", None, 1.0),
            Outcome("b", "x", "f", "c", "scored", 1, None, None, 1.0),
        ])
        assert st.revive_dead() == (2, 1)
        rows = st.lookup(["a"])["a"]
        assert {r.status for r in rows.values()} == {"failed"} and {r.attempts for r in rows.values()} == {0}
        assert st.due_retries(time.time(), None, 10) == ["a"]
        assert needs_grading({"x": "f", "y": "f"}, "c", rows, time.time()) == RETRY
    finally:
        st.close()


@pytest.mark.parametrize("content", [b"", None], ids=["empty-file", "other-sqlite-db"])
def test_a_database_that_is_not_a_worker_state_is_a_clear_error(tmp_path: Path, content: Optional[bytes]) -> None:
    path = tmp_path / "other.sqlite3"
    if content is None:
        sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    else:
        path.write_bytes(content)
    for opener in (WorkerState.read_only, WorkerState.shared):
        with pytest.raises(StateError, match="is not an rmg worker state"):
            opener(path)


def test_attempts_start_again_after_a_success() -> None:
    """An aggregate re-written on every retry of a grader stays at one attempt; its next failure is not fatal."""
    scored = row("scored", attempts=4)
    again = outcome_of(record(), None, PLAN, PendingCase("c", {"a": scored}, None), POLICY, NOW)
    assert (again.status, again.attempts) == ("scored", 1)
    failed = outcome_of(record(error="boom"), None, PLAN, PendingCase("c", {"a": scored}, None), POLICY, NOW)
    assert (failed.status, failed.attempts) == ("failed", 1)


def test_a_missing_field_error_is_dead_at_once_and_other_errors_are_retried() -> None:
    from rmg_worker.ledger import NOT_RETRIED, fails_every_time

    missing = ScoreRecord(trace_id="t", name="a", score_id=score_id("t", "a"), kind="error",
                          error="grader 'a' needs field 'reference', which is missing", metadata={"missing_field": "reference"})
    timeout = record(error="grader 'a' timed out after 30s")
    assert fails_every_time(missing) and not fails_every_time(timeout)
    o = outcome_of(missing, None, PLAN, PendingCase("c", {}, None), POLICY, NOW, permanent=True)
    assert (o.status, o.attempts, o.next_attempt) == ("dead", 1, None) and o.last_error.startswith(NOT_RETRIED)
    # a sink that could not write it is a failure to retry, whatever the grader said
    o = outcome_of(missing, "sink langfuse: HTTP 503", PLAN, PendingCase("c", {}, None), POLICY, NOW, permanent=True)
    assert o.status == "failed"
    o = outcome_of(timeout, None, PLAN, PendingCase("c", {}, None), POLICY, NOW)
    assert o.status == "failed" and o.next_attempt == NOW + 10
