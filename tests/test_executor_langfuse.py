"""Langfuse partitioned into time windows: every trace graded once through an executor, the same ids as in process."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from rmg_core import build_components, load_plugins, parse_config, run_evaluation
from rmg_executors import UnitSettings, run_spec
from rmg_executors.driver import run_on_executor
from tests.fake_langfuse import FakeLangfuse
from tests.fake_langfuse.fixtures import fake_langfuse  # noqa: F401 - the fixture
from tests.test_executors import CountingSink, ThreadExecutor

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_a_day_of_traces_in_hour_windows_is_graded_once_with_the_in_process_ids(fake_langfuse: FakeLangfuse, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    fake_langfuse.seed_traces(600, start=START, interval=timedelta(hours=24) / 600)
    monkeypatch.setenv("RMG_LOAD_PLUGINS", "langfuse,relevance,executors")
    monkeypatch.setenv("RMG_TEST_LF_SECRET", fake_langfuse.secret_key)  # expanded on the worker, never shipped
    data: dict[str, Any] = {
        "source": {"plugin": "langfuse", "base_url": fake_langfuse.base_url, "public_key": fake_langfuse.public_key,
                   "secret_key": "${RMG_TEST_LF_SECRET}", "from_timestamp": START.isoformat(),
                   "to_timestamp": (START + timedelta(hours=24)).isoformat()},
        "graders": {"relevance": {"plugin": "relevance"}},
    }
    host = load_plugins()
    config = parse_config(data, "test")
    built = build_components(host, config)
    parts = list(built.source.partitions(1000))
    assert len(parts) == 24 and parts[0]["start"] == START.isoformat()
    spec = run_spec(config, host, UnitSettings())
    assert fake_langfuse.secret_key not in repr(spec)
    remote = CountingSink()
    summary = asyncio.run(run_on_executor(ThreadExecutor(twice=(3,)), spec, built.source, built.runner, [remote]))
    assert summary.exit_code == 0 and summary.cases == 600, summary.render()
    local = CountingSink()
    built = build_components(host, config)
    asyncio.run(run_evaluation(built.source, built.runner, [local]))
    assert len(remote.records) == 600 and len({r.score_id for r in remote.records}) == 600
    assert sorted((r.score_id, r.value) for r in remote.records) == sorted((r.score_id, r.value) for r in local.records)


def test_a_range_open_at_the_start_or_a_limit_is_read_by_the_driver(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from rmg_langfuse.source import LangfuseSource

    keys = {"public_key": "pk", "secret_key": "sk", "base_url": "http://127.0.0.1:9"}
    assert LangfuseSource(**keys).partitions(100) is None
    assert LangfuseSource(**keys, from_timestamp=START, limit=5).partitions(100) is None
    parts = list(LangfuseSource(**keys, from_timestamp=START, to_timestamp=START + timedelta(minutes=90)).partitions(100))
    assert [(p["start"], p["end"]) for p in parts] == [
        (START.isoformat(), (START + timedelta(hours=1)).isoformat()),
        ((START + timedelta(hours=1)).isoformat(), (START + timedelta(minutes=90)).isoformat())]


@pytest.mark.parametrize("fmt", ["jsonl", pytest.param("csv", marks=pytest.mark.slow)])  # csv: read on the driver; units carry ids
def test_the_langfuse_sink_on_the_workers_stores_each_score_once(fake_langfuse: FakeLangfuse, monkeypatch, tmp_path, fmt) -> None:  # type: ignore[no-untyped-def]
    import json

    monkeypatch.setenv("RMG_LOAD_PLUGINS", "local,langfuse,relevance,executors")
    monkeypatch.setenv("RMG_TEST_LF_SECRET", fake_langfuse.secret_key)
    traces = tmp_path / f"t.{fmt}"
    if fmt == "csv":
        traces.write_text("id,input,output\n" + "".join(f"t{i},q {i % 5},a {i % 3}\n" for i in range(400)))
    else:
        traces.write_text("".join(json.dumps({"id": f"t{i}", "input": f"q {i % 5}", "output": f"a {i % 3}"}) + "\n" for i in range(400)))
    data: dict[str, Any] = {
        "source": {"plugin": "local", "path": str(traces)},
        "graders": {"relevance": {"plugin": "relevance"}},
        "sinks": [{"plugin": "langfuse", "base_url": fake_langfuse.base_url, "public_key": fake_langfuse.public_key,
                   "secret_key": "${RMG_TEST_LF_SECRET}"}],
    }
    host = load_plugins()
    config = parse_config(data, "test")
    built = build_components(host, config)
    assert (built.source.partitions(100) is None) == (fmt == "csv")
    spec = run_spec(config, host, UnitSettings(sinks="workers"))
    assert spec.sinks_on_workers and fake_langfuse.secret_key not in repr(spec)
    # Unit 1 runs twice, writing its scores both times (the sink may skip scores already stored): stored once.
    engine = ThreadExecutor(twice=(1,))
    summary = asyncio.run(run_on_executor(engine, spec, built.source, built.runner, built.sinks, unit_cases=100))
    assert summary.exit_code == 0, summary.render()
    assert len(engine.runs) == len(set(engine.runs)) + 1
    assert summary.sinks[0].report.written == 400  # counted from the reports of the first run of each unit
    assert len(fake_langfuse.scores()) == 400 and fake_langfuse.score_writes >= 400


def test_clients_of_units_running_at_once_share_max_concurrency() -> None:
    from rmg_kit import concurrent_copies_of
    from rmg_langfuse.client import LangfuseClient
    from rmg_langfuse.settings import ConnectionSettings

    settings = ConnectionSettings(public_key="pk", secret_key="sk", base_url="http://127.0.0.1:9", max_concurrency=16)

    def share() -> int:
        client = LangfuseClient(settings, "source 'langfuse'")
        asyncio.run(client.aclose())
        return client.limiter.maximum

    assert share() == 16  # in one process: the whole limit
    with concurrent_copies_of(4):
        assert share() == 4
    with concurrent_copies_of(5):
        assert share() == 3  # rounded down: 5 x 3 <= 16
    with concurrent_copies_of(40):
        assert share() == 1  # more units than requests allowed: each still needs one
    assert share() == 16


def test_two_worker_processes_keep_to_one_limit_and_back_off_on_every_429(fake_langfuse: FakeLangfuse, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``--workers 2``, source and sink on the workers: the server never sees more than one process's
    ``max_concurrency`` at once, and a client that got a 429 sends nothing until its Retry-After has passed."""
    from tests.conftest import run_rmg
    from tests.fake_langfuse import FaultRule, FaultSettings

    fake_langfuse.seed_traces(1200, start=START, interval=timedelta(hours=2) / 1200)
    # The listing is rate limited (every 6th page a 429 that holds every listing for 1 s); writes are slow,
    # so each sink keeps its share of requests busy.
    fake_langfuse.set_faults(latency_ms=80, rules=[FaultRule("/api/public/v2/observations", FaultSettings(
        rate_limit_every=6, retry_after_s=1, hold_pause=True))])
    lf = {"base_url": fake_langfuse.base_url, "public_key": fake_langfuse.public_key, "secret_key": "${RMG_TEST_LF_SECRET}"}
    (tmp_path / "eval.toml").write_text(f"""
[source]
plugin = "langfuse"
{_toml(lf)}
from_timestamp = "{START.isoformat()}"
to_timestamp = "{(START + timedelta(hours=2)).isoformat()}"
max_concurrency = 2
backoff_initial = 0.05
backoff_max = 0.1

[graders.relevance]
plugin = "relevance"

[[sinks]]
plugin = "langfuse"
{_toml(lf)}
max_concurrency = 4
batch_size = 10
rewrite = true

[executor]
sinks = "workers"
""")
    run = run_rmg("eval", "-c", str(tmp_path / "eval.toml"), "--workers", "2", "-q", cwd=tmp_path,
                  env={"RMG_TEST_LF_SECRET": fake_langfuse.secret_key, "RMG_LOAD_PLUGINS": "langfuse,relevance,executors"})
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(fake_langfuse.scores()) == 1200
    faults = fake_langfuse.fault_counts()
    pauses, held = faults.get("rate_limit", 0), faults.get("rate_limit_held", 0)
    assert pauses >= 2, faults
    # Shared: 2 units x (sink 4 // 2 + source 2 // 2) = the 4 + 2 one process may send; unshared it would be 12.
    assert fake_langfuse.peak_in_flight <= 6, fake_langfuse.peak_in_flight
    # A listing arriving during a pause comes only from the other unit's source, before its own 429 (one
    # request at a time each); a client retrying before its Retry-After had passed would add many more.
    assert held <= pauses, faults


def _toml(table: dict[str, Any]) -> str:
    return "\n".join(f'{key} = "{value}"' for key, value in table.items())
