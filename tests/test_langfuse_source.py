"""Unit tests of the Langfuse source against httpx.MockTransport handlers."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timezone
from typing import Any, Callable, Optional

import httpx
import pytest

from rmg_core import CaseError, ConfigError, EvalCase, SourceError
from rmg_langfuse.source import LangfuseSource, sample_fraction

CREDS = {"public_key": "pk-lf-test", "secret_key": "sk-lf-very-secret", "base_url": "http://langfuse.test"}
FAST = {"backoff_initial": 0.001, "backoff_max": 0.01}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def collect(source: LangfuseSource, stop_after: Optional[int] = None) -> list[Any]:
    async def go() -> list[Any]:
        out = []
        try:
            async for item in source.cases():
                out.append(item)
                if stop_after is not None and len(out) >= stop_after:
                    break
        finally:
            await source.aclose()
        return out

    return run(go())


def make_source(handler: Callable[[httpx.Request], httpx.Response], **settings: Any) -> LangfuseSource:
    return LangfuseSource(transport=httpx.MockTransport(handler), **{**CREDS, **FAST, **settings})


def root_obs(i: int, **extra: Any) -> dict[str, Any]:
    obs = {
        "id": f"obs-{i}", "traceId": f"trace-{i:04d}", "startTime": f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
        "endTime": None, "projectId": "p", "parentObservationId": None, "type": "SPAN",
        "modelId": None, "inputPrice": None, "outputPrice": None, "totalPrice": None,
        "name": "chat", "traceName": "chat", "tags": ["prod"], "userId": "u1", "sessionId": "s1",
        "environment": "production", "release": "r1", "version": "v1",
        "input": json.dumps({"question": f"q{i}"}), "output": json.dumps(f"answer {i}"),
        "metadata": json.dumps({"expected_output": f"answer {i}"}),
    }
    obs.update(extra)
    return obs


def v2_server(observations: list[dict[str, Any]], page_size_seen: Optional[list] = None, log: Optional[list] = None) -> Callable:
    """A handler serving observations cursor-paged; the cursor is the next offset."""

    def handler(request: httpx.Request) -> httpx.Response:
        if log is not None:
            log.append(request)
        assert request.url.path == "/api/public/v2/observations", request.url
        limit = int(request.url.params["limit"])
        start = int(request.url.params.get("cursor", "0"))
        page = observations[start:start + limit]
        nxt = start + limit
        meta = {"cursor": str(nxt)} if nxt < len(observations) else {}
        return httpx.Response(200, json={"data": page, "meta": meta})

    return handler


def test_v2_pages_by_cursor_and_asks_only_for_needed_fields() -> None:
    log: list[httpx.Request] = []
    source = make_source(v2_server([root_obs(i) for i in range(250)], log=log), page_size=100)
    cases = collect(source)
    assert [c.id for c in cases] == [f"trace-{i:04d}" for i in range(250)]
    assert len(log) == 3
    first = log[0].url.params
    assert first["fields"] == "core,basic,io,metadata,trace_context"
    assert first["isRootObservation"] == "true"
    assert first["limit"] == "100"
    assert "cursor" not in first and log[1].url.params["cursor"] == "100"
    # reference keys are expanded, or v2 would cut them at 200 characters
    assert first["expandMetadata"] == "expected_output,expected"


def test_json_strings_are_parsed_and_metadata_mapped() -> None:
    chat = [{"role": "system", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    obs = root_obs(1, input=json.dumps(chat), output='"plain text"', metadata=json.dumps({"expected": {"a": [1, 2]}, "k": "v"}))
    obs2 = root_obs(2, input="42", output=None, metadata=None, tags=None)
    [case, case2] = collect(make_source(v2_server([obs, obs2])))
    assert case.input == chat
    assert case.output == "plain text"
    assert case.expected == {"a": [1, 2]}
    assert case.timestamp == datetime(2026, 1, 1, 0, 0, 1, tzinfo=timezone.utc)
    assert case.observation_id is None
    assert case.metadata["k"] == "v"
    assert case.metadata["langfuse_trace_name"] == "chat"
    assert case.metadata["langfuse_tags"] == ["prod"]
    assert case.metadata["langfuse_user_id"] == "u1"
    assert case.metadata["langfuse_session_id"] == "s1"
    assert case.metadata["langfuse_environment"] == "production"
    assert case.metadata["langfuse_release"] == "r1"
    assert case.metadata["langfuse_version"] == "v1"
    # "42" is what the app produced, not a JSON number to reinterpret
    assert case2.input == "42" and case2.output is None and case2.expected is None
    assert "langfuse_tags" not in case2.metadata


def test_field_mapping_paths() -> None:
    obs = root_obs(1, metadata=json.dumps({"q": {"text": "what?"}, "gold": "yes"}), output=json.dumps({"answer": "yes"}))
    [case] = collect(make_source(v2_server([obs]), input_path="metadata.q.text", prediction_path="output.answer", reference_keys=["gold"]))
    assert (case.input, case.output, case.expected) == ("what?", "yes", "yes")
    with pytest.raises(ConfigError, match="input_path"):
        LangfuseSource(**CREDS, input_path="trace.input")


def test_bad_timestamp_and_missing_trace_id_are_case_errors() -> None:
    obs = [root_obs(1, startTime="not a date"), root_obs(2, traceId=None), root_obs(3)]
    items = collect(make_source(v2_server(obs)))
    assert isinstance(items[0], CaseError) and "timestamp" in items[0].message and items[0].trace_id == "trace-0001"
    assert isinstance(items[1], CaseError) and "traceId" in items[1].message and "obs-2" in str(items[1])
    assert isinstance(items[2], EvalCase)


def test_query_param_filters_and_client_side_release() -> None:
    log: list[httpx.Request] = []
    obs = [root_obs(1), root_obs(2, release="r2"), root_obs(3)]
    source = make_source(
        v2_server(obs, log=log), user_id="u1", session_id="s1", environment=["production", "staging"], version="v1",
        release="r1", from_timestamp=datetime(2025, 12, 31, 23, 0), to_timestamp=datetime(2026, 1, 2, tzinfo=timezone.utc),
    )
    assert [c.id for c in collect(source)] == ["trace-0001", "trace-0003"]
    params = log[0].url.params
    assert params["userId"] == "u1" and params["sessionId"] == "s1" and params["version"] == "v1"
    assert params.get_list("environment") == ["production", "staging"]
    assert params["fromStartTime"] == "2025-12-31T23:00:00.000Z"  # naive taken as UTC
    assert params["toStartTime"] == "2026-01-02T00:00:00.000Z"
    assert "filter" not in params


def test_name_and_tags_use_the_structured_filter() -> None:
    log: list[httpx.Request] = []
    obs = [root_obs(1), root_obs(2, traceName="other"), root_obs(3, tags=["dev"])]
    source = make_source(v2_server(obs, log=log), name="chat", tags="prod", user_id="u1", from_timestamp=datetime(2026, 1, 1))
    # the server here ignores filters: the source re-checks what comes back
    assert [c.id for c in collect(source)] == ["trace-0001"]
    params = log[0].url.params
    conditions = json.loads(params["filter"])
    assert {"type": "string", "column": "traceName", "operator": "=", "value": "chat"} in conditions
    assert {"type": "arrayOptions", "column": "traceTags", "operator": "all of", "value": ["prod"]} in conditions
    assert {"type": "boolean", "column": "isRootObservation", "operator": "=", "value": True} in conditions
    assert {"type": "string", "column": "userId", "operator": "=", "value": "u1"} in conditions
    assert {"type": "datetime", "column": "startTime", "operator": ">=", "value": "2026-01-01T00:00:00.000Z"} in conditions
    assert "userId" not in params  # the filter takes precedence: everything goes into it


def test_duplicate_roots_of_one_trace_give_one_case() -> None:
    obs = [root_obs(1, id="app-root", parentObservationId="obs-1", output='"app"'), root_obs(1), root_obs(2)]
    cases = collect(make_source(v2_server(obs)))
    assert [c.id for c in cases] == ["trace-0001", "trace-0002"]
    assert cases[0].output == "answer 1"  # the physical root wins


def legacy_trace(i: int) -> dict[str, Any]:
    return {
        "id": f"trace-{i:04d}", "timestamp": "2026-01-01T00:00:00Z", "name": "chat", "sessionId": None, "release": "r9",
        "version": None, "userId": None, "tags": ["a", "b"], "public": False, "environment": "default", "htmlPath": "/x",
        "input": {"q": i}, "output": f"out {i}", "metadata": {"expected": f"out {i}"},
    }


def test_auto_falls_back_to_legacy_on_404_and_remembers() -> None:
    log: list[httpx.Request] = []
    traces = [legacy_trace(i) for i in range(5)]

    def handler(request: httpx.Request) -> httpx.Response:
        log.append(request)
        if request.url.path == "/api/public/v2/observations":
            return httpx.Response(404, json={"message": "Not found"})
        assert request.url.path == "/api/public/traces"
        page, limit = int(request.url.params["page"]), int(request.url.params["limit"])
        data = traces[(page - 1) * limit: page * limit]
        return httpx.Response(200, json={"data": data, "meta": {"page": page, "limit": limit, "totalItems": 5, "totalPages": 3}})

    source = make_source(handler, page_size=2, release="r9", tags=["a"])
    cases = collect(source)
    assert [c.id for c in cases] == [f"trace-{i:04d}" for i in range(5)]
    assert cases[0].input == {"q": 0} and cases[0].expected == "out 0"
    assert source.api == "legacy"
    assert [r.url.path for r in log].count("/api/public/v2/observations") == 1
    assert [r.url.params["page"] for r in log[1:]] == ["1", "2", "3"]
    assert log[1].url.params["orderBy"] == "timestamp.asc"
    assert log[1].url.params["release"] == "r9" and log[1].url.params.get_list("tags") == ["a"]
    # a second pass goes straight to the legacy endpoint
    log.clear()
    source2_cases = collect(source)
    assert len(source2_cases) == 5 and all(r.url.path == "/api/public/traces" for r in log)


def test_v2_only_does_not_fall_back() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"message": "no such route"})

    with pytest.raises(SourceError, match=r"GET /api/public/v2/observations: HTTP 404: no such route"):
        collect(make_source(handler, api="v2"))


def test_skip_if_scored_asks_once_per_page_of_trace_ids() -> None:
    requests: list[httpx.Request] = []
    obs = [root_obs(i) for i in range(250)]
    listing = v2_server(obs)
    # trace 0..9 have both scores at trace level: skipped; 10..19 only one: kept;
    # 20..29 have both on an observation: kept.
    stored = []
    for i in range(30):
        names = ["relevance", "similarity"] if i < 10 or i >= 20 else ["relevance"]
        for n in names:
            subject = {"kind": "trace", "id": f"trace-{i:04d}"} if i < 20 else {"kind": "observation", "id": f"obs-{i}", "traceId": f"trace-{i:04d}"}
            stored.append({"id": f"s-{i}-{n}", "name": n, "value": 1.0, "dataType": "NUMERIC", "subject": subject})

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/public/v3/scores":
            requests.append(request)
            ids = set(request.url.params["traceId"].split(","))
            names = set(request.url.params["name"].split(","))
            hits = [s for s in stored if s["subject"].get("traceId", s["subject"]["id"]) in ids and s["name"] in names]
            start = int(request.url.params.get("cursor", "0"))
            page = hits[start:start + 10]
            meta = {"limit": 10, **({"cursor": str(start + 10)} if start + 10 < len(hits) else {})}
            return httpx.Response(200, json={"data": page, "meta": meta})
        return listing(request)

    cases = collect(make_source(handler, skip_if_scored=["similarity", "relevance"]))
    ids = [c.id for c in cases]
    assert len(ids) == 240 and "trace-0000" not in ids and "trace-0010" in ids and "trace-0025" in ids
    first_page = [r for r in requests if "cursor" not in r.url.params]
    assert len(first_page) == 3  # one per page of 100 trace ids, not one per trace
    assert len(first_page[0].url.params["traceId"].split(",")) == 100
    assert first_page[0].url.params["name"] == "relevance,similarity"
    assert "subject" in first_page[0].url.params["fields"]


def test_sampling_is_deterministic_and_nested() -> None:
    obs = [root_obs(i) for i in range(400)]
    half = {c.id for c in collect(make_source(v2_server(obs), sample_rate=0.5))}
    again = {c.id for c in collect(make_source(v2_server(obs), sample_rate=0.5))}
    quarter = {c.id for c in collect(make_source(v2_server(obs), sample_rate=0.25))}
    assert half == again
    assert quarter <= half
    assert 150 < len(half) < 250 and 60 < len(quarter) < 140
    assert all(sample_fraction(i) < 0.5 for i in half)


def test_limit_stops_listing_early() -> None:
    log: list[httpx.Request] = []
    cases = collect(make_source(v2_server([root_obs(i) for i in range(1000)], log=log), page_size=50, limit=120))
    assert len(cases) == 120
    assert len(log) == 3


def test_prefetch_is_bounded_and_stream_can_stop() -> None:
    log: list[httpx.Request] = []
    source = make_source(v2_server([root_obs(i) for i in range(5000)], log=log), page_size=10, prefetch_pages=2)
    items = collect(source, stop_after=1)
    assert len(items) == 1
    # the page being read, up to prefetch_pages queued, and one blocked on put
    assert len(log) <= 4


def test_reference_from_dataset_run() -> None:
    obs = [root_obs(i, metadata=None) for i in range(3)]
    listing = v2_server(obs)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/api/public/v2/datasets/qa set":
            return httpx.Response(200, json={"id": "ds-1", "name": "qa set"})
        if request.url.path == "/api/public/experiment-items":
            assert request.url.params["experimentName"] == "run-1" and request.url.params["datasetId"] == "ds-1"
            assert "io" in request.url.params["fields"]
            data = [{"id": f"e{i}", "traceId": f"trace-{i:04d}", "expectedOutput": json.dumps({"answer": f"gold {i}"})} for i in range(2)]
            return httpx.Response(200, json={"data": data, "meta": {}})
        return listing(request)

    cases = collect(make_source(handler, reference_dataset="qa set", reference_run="run-1"))
    assert [c.expected for c in cases] == [{"answer": "gold 0"}, {"answer": "gold 1"}, None]
    assert seen.count("/api/public/experiment-items") == 1


def test_reference_from_legacy_dataset_run_items() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/public/v2/datasets/qa":
            return httpx.Response(200, json={"id": "ds-1"})
        if path == "/api/public/experiment-items":
            return httpx.Response(404, json={"message": "not found"})
        if path == "/api/public/dataset-run-items":
            data = [{"traceId": "trace-0001", "datasetItemId": "item-b"}]
            return httpx.Response(200, json={"data": data, "meta": {"page": 1, "limit": 100, "totalItems": 1, "totalPages": 1}})
        if path == "/api/public/dataset-items":
            data = [{"id": "item-a", "expectedOutput": "A"}, {"id": "item-b", "expectedOutput": "B"}]
            return httpx.Response(200, json={"data": data, "meta": {"page": 1, "limit": 100, "totalItems": 2, "totalPages": 1}})
        return v2_server([root_obs(1, metadata=None)])(request)

    [case] = collect(make_source(handler, reference_dataset="qa", reference_run="r"))
    assert case.expected == "B"


def test_missing_credentials_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY", "LANGFUSE_BASE_URL", "LANGFUSE_HOST"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError, match="LANGFUSE_PUBLIC_KEY.*LANGFUSE_SECRET_KEY"):
        LangfuseSource()
    with pytest.raises(ConfigError, match="secret_key"):
        LangfuseSource(public_key="pk")


def test_settings_default_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk-env")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-env-secret")
    monkeypatch.delenv("LANGFUSE_BASE_URL", raising=False)
    monkeypatch.setenv("LANGFUSE_HOST", "https://host.example/")
    source = LangfuseSource()
    assert source.settings.public_key == "pk-env"
    assert source.settings.base_url == "https://host.example"
    monkeypatch.setenv("LANGFUSE_BASE_URL", "http://base.example")
    assert LangfuseSource().settings.base_url == "http://base.example"
    assert "sk-env-secret" not in repr(source) and "sk-env-secret" not in repr(source.settings)
    assert "sk-env-secret" not in source.fingerprint()
    with pytest.raises(ConfigError, match="base_url"):
        LangfuseSource(base_url="http://pk:sk@host")


def test_retries_5xx_dropped_connections_and_honours_retry_after() -> None:
    calls = {"n": 0}
    times: list[float] = []
    ok = v2_server([root_obs(1)])

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        times.append(time.monotonic())
        if calls["n"] == 1:
            return httpx.Response(503, text="busy")
        if calls["n"] == 2:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        if calls["n"] == 3:
            return httpx.Response(429, headers={"Retry-After": "0.3"}, json={"message": "slow down"})
        return ok(request)

    source = make_source(handler)
    [case] = collect(source)
    assert case.id == "trace-0001" and calls["n"] == 4
    assert times[3] - times[2] >= 0.29  # Retry-After honoured, not the 1 ms backoff


def test_retry_budget_exhausted_names_endpoint_and_status() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>bad gateway</html>")

    with pytest.raises(SourceError, match=r"GET /api/public/v2/observations: HTTP 502 after 4 attempts"):
        collect(make_source(handler, max_retries=3))


def test_too_long_retry_after_fails_instead_of_sleeping() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "3600"}, json={"message": "quota"})

    start = time.monotonic()
    with pytest.raises(SourceError, match="max_retry_after"):
        collect(make_source(handler, max_retry_after=5))
    assert time.monotonic() - start < 2


def test_401_error_never_shows_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        # a (bad) server that echoes the Authorization header back
        return httpx.Response(401, json={"message": f"invalid credentials {request.headers['Authorization']} sk-lf-very-secret"})

    caplog.set_level("DEBUG")
    with pytest.raises(SourceError) as info:
        collect(make_source(handler))
    text = str(info.value)
    assert "HTTP 401" in text and "LANGFUSE_SECRET_KEY" in text
    assert "sk-lf-very-secret" not in text and "[redacted]" in text
    import base64

    token = base64.b64encode(b"pk-lf-test:sk-lf-very-secret").decode()
    assert token not in text
    assert "sk-lf-very-secret" not in caplog.text and token not in caplog.text


def test_memory_does_not_grow_with_the_number_of_traces() -> None:
    import tracemalloc

    def endless(total: int) -> Callable:
        def handler(request: httpx.Request) -> httpx.Response:
            start = int(request.url.params.get("cursor", "0"))
            page = [root_obs(i, output=json.dumps("x" * 2000)) for i in range(start, min(start + 100, total))]
            meta = {"cursor": str(start + 100)} if start + 100 < total else {}
            return httpx.Response(200, json={"data": page, "meta": meta})

        return handler

    def peak(total: int) -> int:
        source = make_source(endless(total), page_size=100)

        async def drain() -> int:
            n = 0
            try:
                async for _ in source.cases():
                    n += 1
            finally:
                await source.aclose()
            return n

        tracemalloc.start()
        try:
            assert run(drain()) == total
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(400), peak(4_000)
    assert large < small * 1.5, (small, large)


# -- what rmg worker uses: windowed() and only() ------------------------------------------------
def test_windowed_narrows_the_configured_range_and_keeps_the_other_settings() -> None:
    log: list[httpx.Request] = []
    source = make_source(v2_server([root_obs(i) for i in range(3)], log=log), page_size=50, user_id="u1",
                         from_timestamp="2026-01-01T00:00:00Z", to_timestamp="2026-01-01T12:00:00Z")
    window = source.windowed(datetime(2025, 12, 31, tzinfo=timezone.utc), datetime(2026, 1, 1, 6, tzinfo=timezone.utc))
    assert window is not source and window.settings.user_id == "u1" and window.settings.page_size == 50
    assert window.settings.from_timestamp == datetime(2026, 1, 1, tzinfo=timezone.utc)  # the configured start wins
    assert window.settings.to_timestamp == datetime(2026, 1, 1, 6, tzinfo=timezone.utc)  # the window's end wins
    collect(window)
    params = log[0].url.params
    assert params["fromStartTime"] == "2026-01-01T00:00:00.000Z" and params["toStartTime"] == "2026-01-01T06:00:00.000Z"
    assert "secret" not in repr(window)


def test_a_window_outside_the_configured_range_reads_nothing() -> None:
    log: list[httpx.Request] = []
    source = make_source(v2_server([root_obs(1)], log=log), to_timestamp="2026-01-01T00:00:00Z")
    window = source.windowed(datetime(2026, 2, 1, tzinfo=timezone.utc), datetime(2026, 3, 1, tzinfo=timezone.utc))
    assert collect(window) == [] and log == []


def test_only_looks_traces_up_by_id_with_v2_and_ignores_the_time_range() -> None:
    log: list[httpx.Request] = []
    stored = {f"trace-{i:04d}": root_obs(i) for i in range(5)}

    def handler(request: httpx.Request) -> httpx.Response:
        log.append(request)
        wanted = request.url.params["traceId"]
        return httpx.Response(200, json={"data": [stored[wanted]] if wanted in stored else [], "meta": {}})

    source = make_source(handler, from_timestamp="2030-01-01T00:00:00Z")
    cases = collect(source.only(["trace-0003", "gone", "trace-0001", "trace-0003"]))
    assert sorted(c.id for c in cases) == ["trace-0001", "trace-0003"]
    assert sorted(r.url.params["traceId"] for r in log) == ["gone", "trace-0001", "trace-0003"]
    assert all(r.url.params["isRootObservation"] == "true" and "fromStartTime" not in r.url.params for r in log)


def test_only_with_the_legacy_api_leaves_out_a_deleted_trace() -> None:
    log: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        log.append(request)
        trace_id = request.url.path.rsplit("/", 1)[-1]
        if trace_id == "trace-0002":
            return httpx.Response(200, json=legacy_trace(2))
        return httpx.Response(404, json={"message": f"Trace {trace_id} not found within authorized project"})

    source = make_source(handler, api="legacy")
    cases = collect(source.only(["trace-0002", "deleted"]))
    assert [c.id for c in cases] == ["trace-0002"] and cases[0].output == "out 2"
    assert sorted(r.url.path for r in log) == ["/api/public/traces/deleted", "/api/public/traces/trace-0002"]
    assert all(r.url.params["fields"] == "core,io" for r in log)


def test_copies_share_what_auto_found_so_a_legacy_server_is_probed_once() -> None:
    log: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        log.append(request)
        if request.url.path == "/api/public/v2/observations":
            return httpx.Response(404, json={"message": "Not found"})
        return httpx.Response(200, json={"data": [legacy_trace(1)], "meta": {"page": 1, "limit": 100, "totalItems": 1, "totalPages": 1}})

    source = make_source(handler)
    start, end = datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2027, 1, 1, tzinfo=timezone.utc)
    for _ in range(3):  # three worker cycles, each reading a fresh window
        assert [c.id for c in collect(source.windowed(start, end))] == ["trace-0001"]
    assert [r.url.path for r in log].count("/api/public/v2/observations") == 1
    assert source.api == "legacy"


def test_trace_url_template_uses_the_project_id_from_the_api() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/public/projects"
        return httpx.Response(200, json={"data": [{"id": "proj 1", "name": "p"}]})

    assert run(make_source(handler).trace_url_template()) == "http://langfuse.test/project/proj%201/traces/{trace_id}"
    assert run(make_source(lambda r: httpx.Response(403, json={"message": "no"})).trace_url_template()) is None


# ---------------------------------------------------------------- hostile replies (issue 11)
@pytest.mark.parametrize("cursor, what", [("same", "a second time"), (12345, "not a string"), ({"a": 1}, "not a string")])
def test_a_repeated_or_non_string_cursor_ends_the_listing_with_a_source_error(cursor: Any, what: str) -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return httpx.Response(200, json={"data": [root_obs(calls["n"])], "meta": {"cursor": cursor}})

    source = make_source(handler)
    with pytest.raises(SourceError, match=what) as info:
        collect(source)
    assert "cursor" in str(info.value) and "GET /api/public/v2/observations" in str(info.value)
    assert calls["n"] <= 2


@pytest.mark.parametrize(
    "reply, expected",
    [
        (httpx.Response(200, text="<html>\x1b]0;pwned\x07Sign in</html>"), r"HTTP 200.*not JSON.*<html>\\x1b\]0;pwned\\x07"),
        (httpx.Response(200, json=["a", "list"]), r"HTTP 200.*expected a JSON object, got list"),
        (httpx.Response(200, json={"data": {"not": "a list"}}), r"'data' is a dict, not a list"),
        (httpx.Response(200, content=b""), r"not JSON.*\(empty body\)"),
    ],
)
def test_a_reply_that_is_not_the_json_expected_is_a_source_error_with_status_and_first_bytes(reply: httpx.Response, expected: str) -> None:
    source = make_source(lambda request: reply, api="v2")
    with pytest.raises(SourceError, match=expected) as info:
        collect(source)
    assert "\x1b" not in str(info.value) and "\x07" not in str(info.value)


def test_deeply_nested_trace_json_is_a_case_error_for_that_trace_only() -> None:
    deep = "[" * 1000 + "]" * 1000
    almost = "[" * 300 + "]" * 300  # parses, but deeper than rmg reads
    obs = [root_obs(0), root_obs(1, output=deep), root_obs(2, input=almost), root_obs(3, metadata=json.dumps({"expected_output": deep})), root_obs(4)]
    items = collect(make_source(v2_server(obs)))
    assert [i.id for i in items if isinstance(i, EvalCase)] == ["trace-0000", "trace-0004"]
    errors = [i for i in items if isinstance(i, CaseError)]
    assert [e.trace_id for e in errors] == ["trace-0001", "trace-0002", "trace-0003"]
    assert all("nested" in e.message for e in errors)


def test_a_reply_larger_than_max_response_bytes_fails_the_request() -> None:
    big = json.dumps({"data": [root_obs(i, output=json.dumps("x" * 5000)) for i in range(20)], "meta": {}})
    source = make_source(lambda request: httpx.Response(200, text=big), api="v2", max_response_bytes=50_000)
    with pytest.raises(SourceError, match=r"larger than 50,000 bytes.*max_response_bytes"):
        collect(source)


def test_a_legacy_page_nested_too_deep_to_parse_is_read_trace_by_trace() -> None:
    """The legacy API sends input/output as JSON inside the page: one deep trace must not cost the page."""
    deep = "[" * 1000 + "]" * 1000
    traces = {f"t{i}": {"id": f"t{i}", "timestamp": "2026-01-01T00:00:00.000Z", "input": "q", "output": f"a{i}"} for i in range(3)}
    served: list[str] = []

    def trace_json(trace_id: str) -> str:
        body = dict(traces[trace_id])
        return json.dumps(body)[:-1] + (', "metadata": {"x": ' + deep + "}}" if trace_id == "t1" else "}")

    def handler(request: httpx.Request) -> httpx.Response:
        served.append(f"{request.url.path}?{request.url.params.get('fields')}")
        if request.url.path == "/api/public/traces":
            if request.url.params["fields"] == "core":
                return httpx.Response(200, json={"data": [{"id": t} for t in traces], "meta": {"totalPages": 1}})
            page = "[" + ",".join(trace_json(t) for t in traces) + "]"
            return httpx.Response(200, text='{"data": ' + page + ', "meta": {"totalPages": 1}}')
        return httpx.Response(200, text=trace_json(request.url.path.rsplit("/", 1)[1]))

    items = collect(make_source(handler, api="legacy"))
    assert [i.id for i in items if isinstance(i, EvalCase)] == ["t0", "t2"]
    [bad] = [i for i in items if isinstance(i, CaseError)]
    assert bad.trace_id == "t1" and "nested too deeply" in bad.message
    assert served[:2] == ["/api/public/traces?core,io", "/api/public/traces?core"]
    # parsed JSON deeper than rmg reads (but not too deep for Python) is refused the same way
    shallow = {"id": "t9", "timestamp": "2026-01-01T00:00:00.000Z", "input": "q", "output": json.loads("[" * 300 + "]" * 300)}
    items = collect(make_source(lambda r: httpx.Response(200, json={"data": [shallow], "meta": {"totalPages": 1}}), api="legacy"))
    assert isinstance(items[0], CaseError) and "deeper than 200" in items[0].message
