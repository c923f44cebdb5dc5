"""Unit tests of the Langfuse sink against httpx.MockTransport handlers."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime, timezone
from typing import Any, Callable, Optional, Sequence

import httpx
import pytest

from rmg_core import (
    GraderError, GraderRank, GraderScore, ScoreRecord, SinkError, WriteReport, record_from_result, score_id,
)
from rmg_langfuse.sink import LangfuseSink

CREDS = {"public_key": "pk-lf-test", "secret_key": "sk-lf-very-secret", "base_url": "http://langfuse.test"}
FAST = {"backoff_initial": 0.001, "backoff_max": 0.01}
WHEN = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)


def record(i: int, result: Any = None, name: str = "relevance") -> ScoreRecord:
    result = result if result is not None else GraderScore(score=i / 10, reason=f"reason {i}", metadata={"tokens": i})
    return record_from_result(
        result, trace_id=f"trace-{i}", name=name, timestamp=WHEN, plugin="relevance", version="3", fingerprint="fp-1",
    )


def write(sink: LangfuseSink, *batches: Sequence[ScoreRecord], open_first: bool = False) -> list[WriteReport]:
    async def go() -> list[WriteReport]:
        try:
            if open_first:
                await sink.open()
            reports = [await sink.write(b) for b in batches]
            reports.append(await sink.close())
            return reports
        finally:
            await sink.close()

    return asyncio.run(go())


def total(reports: list[WriteReport]) -> WriteReport:
    out = WriteReport()
    for r in reports:
        out.merge(r)
    return out


class Server:
    """Stores posted scores by id; speaks the object or the array dialect."""

    def __init__(self, dialect: str, reject: Callable[[dict], Optional[str]] = lambda s: None) -> None:
        self.dialect = dialect
        self.reject = reject
        self.scores: dict[str, dict] = {}
        self.posts: list[Any] = []
        self.gets: list[httpx.Request] = []
        #: Answers given instead of the next POSTs / GETs, in order (an exception is raised).
        self.faults: list[httpx.Response | Exception] = []
        self.get_faults: list[httpx.Response | Exception] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        faults = self.get_faults if request.method == "GET" else self.faults
        if faults:
            fault = faults.pop(0)
            if isinstance(fault, Exception):
                raise fault
            return fault
        if request.method == "GET":
            self.gets.append(request)
            return self.get_scores(request)
        body = json.loads(request.content)
        self.posts.append(body)
        if self.dialect == "object":
            if not isinstance(body, dict):
                return httpx.Response(400, json={"message": "Invalid request data: expected object, received array"})
            problem = self.reject(body)
            if problem:
                return httpx.Response(400, json={"message": problem})
            self.scores[body["id"]] = body
            return httpx.Response(200, json={"id": body["id"]})
        if not isinstance(body, list):
            return httpx.Response(400, json={"message": "expected array"})
        errors = []
        for score in body:
            problem = self.reject(score)
            if problem:
                errors.append({"message": problem})
            else:
                self.scores[score["id"]] = score
        if errors:
            return httpx.Response(207, json={"accepted": len(body) - len(errors), "rejected": len(errors), "errors": errors})
        return httpx.Response(202, json={"message": "Accepted"})

    def get_scores(self, request: httpx.Request) -> httpx.Response:
        ids = set(request.url.params.get("traceId", "").split(","))
        names = set(request.url.params.get("name", "").split(","))
        data = [
            {"id": s["id"], "name": s["name"], "value": s["value"], "dataType": s["dataType"], "comment": s.get("comment"),
             "metadata": s.get("metadata"), "subject": {"kind": "trace", "id": s["traceId"]}}
            for s in self.scores.values() if s["traceId"] in ids and s["name"] in names
        ]
        return httpx.Response(200, json={"data": data, "meta": {"limit": 100}})


def make_sink(server: Callable, **settings: Any) -> LangfuseSink:
    return LangfuseSink(transport=httpx.MockTransport(server), **{**CREDS, **FAST, **settings})


def test_object_dialect_payload_is_deterministic_and_complete() -> None:
    server = Server("object")
    reports = write(make_sink(server, dialect="object", environment="eval"), [record(1), record(2)])
    assert total(reports).written == 2 and not total(reports).failed
    body = server.scores[score_id("trace-1", "relevance")]
    assert body == {
        "id": score_id("trace-1", "relevance"), "traceId": "trace-1", "timestamp": "2026-01-02T03:04:05.678Z",
        "environment": "eval", "name": "relevance", "value": 0.1, "dataType": "NUMERIC", "comment": "reason 1",
        "metadata": {"grader": "relevance", "grader_version": "3", "config_fingerprint": "fp-1", "component": "grader",
                     "result": {"tokens": 1}},
    }


def test_rerun_writes_nothing_unchanged_and_rewrite_forces_a_full_write() -> None:
    server = Server("object")
    write(make_sink(server, dialect="object"), [record(1), record(2)])
    [again, _] = write(make_sink(server, dialect="object"), [record(1), record(2)])
    assert (again.written, again.unchanged, again.unchecked) == (0, 2, 0)
    assert len(server.posts) == 2 and len(server.gets) == 2  # one read per write of a page of traces
    [forced, _] = write(make_sink(server, dialect="object", rewrite=True), [record(1), record(2)])
    assert (forced.written, forced.unchanged) == (2, 0)
    assert len(server.posts) == 4 and len(server.scores) == 2 and len(server.gets) == 2  # rewrite reads nothing


def test_a_failed_read_writes_anyway_and_counts_written_without_a_check() -> None:
    server = Server("object")
    write(make_sink(server, dialect="object"), [record(1), record(2)])
    server.get_faults = [httpx.Response(500, json={"message": "clickhouse down"})] * 3
    [report, _] = write(make_sink(server, dialect="object", max_retries=2), [record(1), record(2)])
    assert (report.written, report.unchanged, report.unchecked) == (2, 0, 2) and not report.failed
    assert len(server.posts) == 4 and len(server.scores) == 2


def test_a_read_answered_with_html_is_written_without_a_check_not_a_traceback() -> None:
    server = Server("object")
    server.get_faults = [httpx.Response(200, text="<html>\x1b[2Jlogin</html>")]
    [report, _] = write(make_sink(server, dialect="object"), [record(1)])
    assert (report.written, report.unchecked) == (1, 1)


def test_errors_are_skipped_by_default_never_zero() -> None:
    server = Server("object")
    err = record(3, GraderError(error="judge timed out"))
    [report, _] = write(make_sink(server, dialect="object"), [record(1), err])
    assert (report.written, report.skipped, report.failed) == (1, 1, [])
    assert all(s["name"] == "relevance" and s["value"] == 0.1 for s in server.scores.values())


def test_write_errors_writes_a_categorical_error_score() -> None:
    server = Server("object")
    err = record(3, GraderError(error="judge timed out"))
    [report, _] = write(make_sink(server, dialect="object", write_errors=True), [err])
    assert report.written == 1
    [body] = server.scores.values()
    assert body["id"] == score_id("trace-3", "relevance_error") != err.score_id
    assert (body["name"], body["value"], body["dataType"], body["comment"]) == ("relevance_error", "error", "CATEGORICAL", "judge timed out")


def test_ranks() -> None:
    server = Server("object")
    write(make_sink(server, dialect="object"), [record(1, GraderRank(rank=[2, 1, 3]), "rank"), record(2, GraderRank(rank=2), "pos")])
    by_name = {s["name"]: s for s in server.scores.values()}
    assert (by_name["rank"]["value"], by_name["rank"]["dataType"]) == ("2,1,3", "CATEGORICAL")
    assert (by_name["pos"]["value"], by_name["pos"]["dataType"]) == (2.0, "NUMERIC")


def test_metadata_is_made_json_safe() -> None:
    server = Server("object")
    weird = GraderScore(score=0.5, metadata={"nan": float("nan"), "t": (1, 2), "when": WHEN, "obj": object()})
    [report, _] = write(make_sink(server, dialect="object"), [record(1, weird)])
    assert report.written == 1
    result = next(iter(server.scores.values()))["metadata"]["result"]
    assert result["nan"] == "nan" and result["t"] == [1, 2] and result["when"].startswith("2026-01-02")


def test_auto_detects_object_server_without_losing_a_score() -> None:
    server = Server("object")
    sink = make_sink(server, batch_size=10)
    records = [record(i) for i in range(25)]
    reports = write(sink, records[:15], records[15:])
    assert total(reports).written == 25 and not total(reports).failed
    assert len(server.scores) == 25
    assert sink.dialect == "object"
    assert sum(isinstance(p, list) for p in server.posts) == 1  # one probe, then objects only


def test_auto_detects_array_server_and_batches() -> None:
    server = Server("array")
    sink = make_sink(server, batch_size=10)
    reports = write(sink, [record(i) for i in range(25)])
    assert total(reports).written == 25 and sink.dialect == "array"
    assert [len(p) for p in server.posts] == [10, 10, 5]


def test_array_batches_stay_under_one_megabyte() -> None:
    server = Server("array")
    big = [record(i, GraderScore(score=1.0, reason="x" * 300_000)) for i in range(7)]
    [report, _] = write(make_sink(server, dialect="array", batch_size=100), big)
    assert report.written == 7
    assert all(len(json.dumps(p)) < 1_000_000 for p in server.posts) and len(server.posts) == 3


def test_207_partial_retries_each_score_and_reports_the_rejected() -> None:
    server = Server("array", reject=lambda s: "value out of range" if s["traceId"] == "trace-4" else None)
    [report, _] = write(make_sink(server, dialect="array", batch_size=10), [record(i) for i in range(10)])
    assert report.written == 9
    [failure] = report.failed
    assert (failure.trace_id, failure.name, failure.score_id) == ("trace-4", "relevance", score_id("trace-4", "relevance"))
    assert "value out of range" in failure.message
    assert len(server.scores) == 9


def test_207_with_transient_rejections_recovers_on_resend() -> None:
    flaky = {"n": 0}

    def reject(score: dict) -> Optional[str]:
        flaky["n"] += 1
        return "temporarily unavailable" if flaky["n"] <= 3 else None

    server = Server("array", reject=reject)
    [report, _] = write(make_sink(server, dialect="array", batch_size=10), [record(i) for i in range(10)])
    assert report.written == 10 and not report.failed and len(server.scores) == 10


def test_retries_then_writes_and_failures_are_reported() -> None:
    server = Server("object")
    server.faults = [
        httpx.Response(503, text="busy"),
        httpx.Response(429, headers={"Retry-After": "0"}, json={"message": "slow"}),
        httpx.ConnectError("connection refused"),
    ]
    [report, _] = write(make_sink(server, dialect="object", max_concurrency=1), [record(1)])
    assert report.written == 1
    server.faults = [httpx.Response(500, json={"message": "db down"})] * 3
    [report, _] = write(make_sink(server, dialect="object", max_concurrency=1, max_retries=2), [record(2)])
    assert report.written == 0
    [failure] = report.failed
    assert failure.trace_id == "trace-2" and "HTTP 500 after 3 attempts: db down" in failure.message


def test_validation_error_is_a_failure_with_the_server_message() -> None:
    server = Server("object", reject=lambda s: "Score name too long" if s["traceId"] == "trace-2" else None)
    [report, _] = write(make_sink(server, dialect="object"), [record(1), record(2)])
    assert report.written == 1
    assert report.failed[0].trace_id == "trace-2" and "HTTP 400: Score name too long" in report.failed[0].message


def test_only_missing_or_changed_scores_are_written() -> None:
    server = Server("object")
    write(make_sink(server, dialect="object"), [record(i) for i in range(6)])
    server.posts.clear()
    server.gets.clear()
    changed = [record(i) for i in range(4)] + [record(4, GraderScore(score=0.99, reason="new")), record(5, GraderScore(score=0.5, reason="other reason"))]
    [report, _] = write(make_sink(server, dialect="object"), changed + [record(6)])
    assert (report.written, report.unchanged, report.skipped) == (3, 4, 0)
    assert sorted(p["traceId"] for p in server.posts) == ["trace-4", "trace-5", "trace-6"]
    assert len(server.gets) == 1 and len(server.gets[0].url.params["traceId"].split(",")) == 7


def test_a_changed_config_fingerprint_is_written_again() -> None:
    server = Server("object")
    write(make_sink(server, dialect="object"), [record(1)])
    moved = record_from_result(GraderScore(score=0.1, reason="reason 1", metadata={"tokens": 1}), trace_id="trace-1",
                               name="relevance", timestamp=WHEN, plugin="relevance", version="3", fingerprint="fp-2")
    [report, _] = write(make_sink(server, dialect="object"), [moved])
    assert (report.written, report.unchanged) == (1, 0)


def test_401_fails_fast_and_never_shows_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return httpx.Response(401, json={"message": f"bad key: {request.headers['Authorization']}"})

    caplog.set_level("DEBUG")
    token = base64.b64encode(b"pk-lf-test:sk-lf-very-secret").decode()
    sink = make_sink(handler, dialect="object", max_concurrency=1)
    with pytest.raises(SinkError) as info:
        write(sink, [record(1)], open_first=True)
    assert "HTTP 401" in str(info.value) and "LANGFUSE_SECRET_KEY" in str(info.value)
    [report, _] = write(make_sink(handler, dialect="object", max_concurrency=1), [record(i) for i in range(50)])
    assert len(report.failed) == 50 and calls["n"] == 2  # one for open, one read of the stored scores: nothing sent
    for text in [str(info.value), caplog.text, repr(sink), repr(sink.settings), *(f.message for f in report.failed)]:
        assert "sk-lf-very-secret" not in text and token not in text


def test_a_failed_probe_decides_nothing_and_the_next_batch_probes_again() -> None:
    server = Server("object")
    server.faults = [httpx.Response(503, json={"message": "maintenance"})]
    sink = make_sink(server, batch_size=5, max_retries=0)
    [report, _] = write(sink, [record(i) for i in range(10)])
    assert report.written == 5 and len(report.failed) == 5
    assert all("HTTP 503: maintenance" in f.message for f in report.failed)
    assert sink.dialect == "object" and len(server.scores) == 5
