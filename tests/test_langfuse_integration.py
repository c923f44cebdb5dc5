"""The Langfuse source and sink against the fake Langfuse server (spec-validated, with injected faults)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from rmg_core import EvalCase, GradingRunner, WriteReport, record_from_result
from rmg_langfuse.sink import LangfuseSink
from rmg_langfuse.source import LangfuseSource
from tests.conftest import ExactMatch, Length
from tests.fake_langfuse import FakeLangfuse, Faults
from tests.fake_langfuse.fixtures import fake_langfuse  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration

FAST = {"backoff_initial": 0.01, "backoff_max": 0.2}


def creds(fake: FakeLangfuse) -> dict[str, Any]:
    return {"public_key": fake.public_key, "secret_key": fake.secret_key, "base_url": fake.base_url, **FAST}


def runner() -> GradingRunner:
    return GradingRunner({"length": Length(scale=40), "exact": ExactMatch()})


async def evaluate(source: LangfuseSource, sink: LangfuseSink, chunk_size: int = 500) -> tuple[WriteReport, int]:
    """Source -> graders -> sink, as the pipeline does it: chunked, streamed."""
    grading = runner()
    report, cases = WriteReport(), 0

    async def flush(chunk: list[EvalCase]) -> None:
        results = await grading.arun([c.grader_fields() for c in chunk])
        records = [
            record_from_result(result, trace_id=case.id, name=name, timestamp=case.timestamp, plugin=name, version="1", fingerprint="fp")
            for name, column in results.items()
            for case, result in zip(chunk, column)
        ]
        report.merge(await sink.write(records))

    await sink.open()
    try:
        chunk: list[EvalCase] = []
        async for case in source.cases():
            assert isinstance(case, EvalCase), case
            chunk.append(case)
            cases += 1
            if len(chunk) >= chunk_size:
                await flush(chunk)
                chunk = []
        if chunk:
            await flush(chunk)
    finally:
        report.merge(await sink.close())
        await source.aclose()
    return report, cases


def expected_keys(fake: FakeLangfuse) -> set[tuple[str, str]]:
    """(trace id, score name) of every score that must be stored: errors (no reference) are not."""
    keys = set()
    for trace in fake.traces():
        keys.add((trace["id"], "length"))
        if (trace.get("metadata") or {}).get("expected_output") is not None:
            keys.add((trace["id"], "exact"))
    return keys


def assert_exactly_once(fake: FakeLangfuse, expected: set[tuple[str, str]]) -> None:
    stored = fake.scores_by_trace_and_name()
    assert set(stored) == expected
    assert all(len(ids) == 1 for ids in stored.values())


def test_2000_traces_under_faults_every_score_once_and_rerun_adds_none(fake_langfuse: FakeLangfuse) -> None:
    fake_langfuse.seed_traces(2000)
    fake_langfuse.set_faults(Faults(seed=7, error_rate=0.1, rate_limit_every=40, retry_after_s=1, close_rate=0.05))
    source = LangfuseSource(**creds(fake_langfuse), page_size=100)
    sink = LangfuseSink(**creds(fake_langfuse), batch_size=100)
    report, cases = asyncio.run(evaluate(source, sink))

    expected = expected_keys(fake_langfuse)
    assert cases == 2000
    assert not report.failed, report.failed[:3]
    assert report.written == len(expected) and report.skipped == 4000 - len(expected)
    assert_exactly_once(fake_langfuse, expected)
    faults = fake_langfuse.fault_counts()
    assert faults.get("error", 0) > 0 and faults.get("rate_limit", 0) > 0 and faults.get("close", 0) > 0
    assert sink.dialect == "array" and source.api == "v2"
    # every stored score carries the trace's own timestamp and rmg's metadata
    trace_ts = {t["id"]: t["timestamp"] for t in fake_langfuse.traces()}
    for score in fake_langfuse.scores()[:50]:
        assert score["timestamp"] == trace_ts[score["traceId"]]
        assert score["metadata"]["config_fingerprint"] == "fp"

    # second run: nothing is pending, nothing is written
    writes = fake_langfuse.score_writes
    fake_langfuse.reset(traces=False, scores=False, violations=False)
    again = LangfuseSource(**creds(fake_langfuse), page_size=100, skip_if_scored=["length"])
    report2, cases2 = asyncio.run(evaluate(again, LangfuseSink(**creds(fake_langfuse))))
    assert cases2 == 0 and report2.written == 0
    assert fake_langfuse.score_writes == writes
    assert_exactly_once(fake_langfuse, expected)
    counts = fake_langfuse.request_counts()
    assert counts["GET /api/public/v3/scores"] <= 2 * 20 + 1  # per page of traces, not per trace (+1 open())


def test_rerun_writes_nothing_by_default(fake_langfuse: FakeLangfuse) -> None:
    fake_langfuse.seed_traces(300)
    asyncio.run(evaluate(LangfuseSource(**creds(fake_langfuse)), LangfuseSink(**creds(fake_langfuse))))
    writes = fake_langfuse.score_writes
    report, cases = asyncio.run(evaluate(LangfuseSource(**creds(fake_langfuse)), LangfuseSink(**creds(fake_langfuse))))
    assert cases == 300 and report.written == 0 and not report.failed
    assert report.unchanged == len(expected_keys(fake_langfuse)) and report.unchecked == 0
    assert fake_langfuse.score_writes == writes


@pytest.mark.parametrize("dialect", ["object", "array"])
def test_rerun_the_next_server_day_writes_nothing_and_stores_one_row_per_score(dialect: str) -> None:
    """Object dialect: the server stamps its own clock and keys (id, name, day); a rewrite the next day is a second row."""
    with FakeLangfuse(score_dialect=dialect) as fake:
        fake.seed_traces(400)
        sink_settings = {"dialect": dialect}
        first, _ = asyncio.run(evaluate(LangfuseSource(**creds(fake)), LangfuseSink(**creds(fake), **sink_settings)))
        expected = expected_keys(fake)
        assert first.written == len(expected) and not first.failed
        first_requests = sum(fake.request_counts().values())
        fake.reset(traces=False, scores=False, faults=False)
        fake.advance_clock(timedelta(days=1))

        second, cases = asyncio.run(evaluate(LangfuseSource(**creds(fake)), LangfuseSink(**creds(fake), **sink_settings)))
        assert cases == 400 and second.written == 0 and second.unchanged == len(expected) and not second.failed
        assert_exactly_once(fake, expected)
        counts = fake.request_counts()
        assert "POST /api/public/scores" not in counts
        # Object dialect: one POST per score the first time, a few reads now.  Array dialect: the
        # first run wrote 100 scores per POST, so reading them back costs about as much.
        assert sum(counts.values()) <= first_requests / (10 if dialect == "object" else 1), (counts, first_requests)
        assert not fake.violations()

        # What the default prevents: a full rewrite the next day duplicates every score in the object dialect.
        fake.advance_clock(timedelta(days=1))
        forced, _ = asyncio.run(evaluate(LangfuseSource(**creds(fake)), LangfuseSink(**creds(fake), rewrite=True, **sink_settings)))
        assert forced.written == len(expected)
        rows = fake.scores_by_trace_and_name()
        assert {len(ids) for ids in rows.values()} == ({2} if dialect == "object" else {1})


@pytest.mark.parametrize("dialect", ["auto", "object"])
def test_object_only_server(dialect: str) -> None:
    with FakeLangfuse(score_dialect="object") as fake:
        fake.seed_traces(300)
        fake.set_faults(Faults(seed=3, error_rate=0.1, rate_limit_every=100, retry_after_s=0, close_rate=0.02))
        sink = LangfuseSink(**creds(fake), dialect=dialect)
        report, _ = asyncio.run(evaluate(LangfuseSource(**creds(fake)), sink))
        expected = expected_keys(fake)
        assert not report.failed and report.written == len(expected)
        assert_exactly_once(fake, expected)
        assert sink.dialect == "object"
        found = fake.violations()
        if dialect == "auto":  # the one array probe is a (deliberate) violation of the spec's object body
            assert len(found) <= 1 and all("POST /api/public/scores" in str(v) for v in found)
        else:
            assert not found, found


def test_array_server_with_explicit_dialect_and_207(fake_langfuse: FakeLangfuse) -> None:
    fake_langfuse.seed_traces(100)
    sink = LangfuseSink(**creds(fake_langfuse), dialect="array", batch_size=50, environment="bad env!")
    report, _ = asyncio.run(evaluate(LangfuseSource(**creds(fake_langfuse)), sink))
    # the server rejects every score (bad environment) with 207: each is reported, none lost
    expected = expected_keys(fake_langfuse)
    assert report.written == 0 and len(report.failed) == len(expected)
    assert "environment" in report.failed[0].message
    assert {(f.trace_id, f.name) for f in report.failed} == expected


def test_rmg_eval_summary_counts_unchanged_scores_apart_from_written(fake_langfuse: FakeLangfuse, tmp_path) -> None:
    """The CLI end to end, twice: the second summary says the scores were stored unchanged and not written."""
    from tests.conftest import run_rmg

    fake_langfuse.seed_traces(60)
    env = {"LANGFUSE_PUBLIC_KEY": fake_langfuse.public_key, "LANGFUSE_SECRET_KEY": fake_langfuse.secret_key,
           "LANGFUSE_BASE_URL": fake_langfuse.base_url, "RMG_DISABLE_PLUGINS": "broken_import,bad_hook,bad_signature"}
    command = ("eval", "--source", "langfuse", "-g", "similarity", "--sink", "langfuse",
               "--summary-json", str(tmp_path / "summary.json"))
    first = run_rmg(*command, env=env)
    assert first.returncode == 0, first.stderr
    written = fake_langfuse.score_writes
    second = run_rmg(*command, env=env)
    assert second.returncode == 0, second.stderr
    assert fake_langfuse.score_writes == written
    assert f"sink langfuse: 0 written, {written} unchanged (not written)" in second.stdout + second.stderr
    [sink] = json.loads((tmp_path / "summary.json").read_text())["sinks"]
    assert (sink["written"], sink["unchanged"], sink["unchecked"], sink["failed"]) == (0, written, 0, 0)


def test_legacy_traces_endpoint(fake_langfuse: FakeLangfuse) -> None:
    ids = fake_langfuse.seed_traces(120)
    source = LangfuseSource(**creds(fake_langfuse), api="legacy", page_size=50, environment="production")
    report, cases = asyncio.run(evaluate(source, LangfuseSink(**creds(fake_langfuse))))
    production = [t for t in fake_langfuse.traces() if t["environment"] == "production"]
    assert cases == len(production) == 60
    assert set(ids) >= {t["id"] for t in production}
    assert fake_langfuse.request_counts()["GET /api/public/traces"] == 2


def test_filters_against_the_fake(fake_langfuse: FakeLangfuse) -> None:
    fake_langfuse.seed_traces(200)
    traces = fake_langfuse.traces()
    want = [t for t in traces if t["name"] == "chat" and "beta" in t["tags"] and t["release"] == "v1.5.0"]
    source = LangfuseSource(**creds(fake_langfuse), name="chat", tags=["beta"], release="v1.5.0")

    async def ids() -> list[str]:
        try:
            return [c.id async for c in source.cases()]
        finally:
            await source.aclose()

    assert sorted(asyncio.run(ids())) == sorted(t["id"] for t in want) and want


def test_nested_chat_null_and_megabyte_traces(fake_langfuse: FakeLangfuse) -> None:
    chat = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "What is 2+2?"}, {"type": "image_url", "image_url": {"url": "x"}}]},
    ]
    big = "word " * 210_000  # ~1 MB
    fake_langfuse.add_trace(id="chat", input=chat, output=[{"role": "assistant", "content": "4"}], metadata={"expected_output": "4"})
    fake_langfuse.add_trace(id="null", input=None, output=None, metadata=None)
    fake_langfuse.add_trace(id="big", input="summarize", output=big, metadata={"expected_output": big, "note": "n" * 500})

    source = LangfuseSource(**creds(fake_langfuse))

    async def read() -> dict[str, EvalCase]:
        try:
            return {c.id: c async for c in source.cases()}
        finally:
            await source.aclose()

    cases = asyncio.run(read())
    assert cases["chat"].input == chat and cases["chat"].output == [{"role": "assistant", "content": "4"}]
    assert cases["chat"].expected == "4"
    assert cases["null"].input is None and cases["null"].output is None and cases["null"].expected is None
    assert cases["big"].output == big and cases["big"].expected == big  # expanded, not cut at 200 characters

    report, n = asyncio.run(evaluate(LangfuseSource(**creds(fake_langfuse)), LangfuseSink(**creds(fake_langfuse))))
    assert n == 3 and not report.failed
    # "null" has no prediction: its grades are errors, skipped, never 0.0
    stored = fake_langfuse.scores_by_trace_and_name()
    assert ("null", "length") not in stored and ("chat", "exact") in stored and ("big", "exact") in stored
    assert json.dumps(fake_langfuse.scores()).count("sk-lf") == 0


@pytest.mark.parametrize("api", ["v2", "legacy"])
def test_only_and_windowed_requests_follow_the_spec(fake_langfuse: FakeLangfuse, api: str) -> None:
    """The worker's by-id lookups and time windows, against the spec-validating fake, on both APIs."""
    ids = fake_langfuse.seed_traces(30)
    source = LangfuseSource(**creds(fake_langfuse), api=api)

    async def read(src: LangfuseSource) -> list[str]:
        try:
            return [c.id async for c in src.cases()]
        finally:
            await src.aclose()

    found = asyncio.run(read(source.only([ids[3], ids[17], "no-such-trace"])))
    assert sorted(found) == sorted([ids[3], ids[17]])
    stamps = sorted(t.timestamp for t in fake_langfuse.app.store.traces.values())
    window = source.windowed(stamps[10], stamps[20])
    assert len(asyncio.run(read(window))) == 10
