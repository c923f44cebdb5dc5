"""Tests of the fake Langfuse server: endpoints, spec validation, faults, and the real SDK against it."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.fake_langfuse import FakeLangfuse, FakeLangfuseProcess, FaultRule, Faults, FaultSettings
from tests.fake_langfuse import endpoints
from tests.fake_langfuse.fixtures import fake_langfuse  # noqa: F401 - the fixture under test
from tests.fake_langfuse.spec import SPEC_ENV, SPEC_HOW, spec_available

#: For tests of what only the OpenAPI document states (types of query values, security, the object-only body).
needs_spec = pytest.mark.skipif(
    not spec_available(),
    reason=f"needs the Langfuse OpenAPI document: set {SPEC_ENV}=/path/to/openapi.yml ({SPEC_HOW}); "
    "the SDK-model checks of the fake run without it",
)

OBS = "/api/public/v2/observations"
TRACES = "/api/public/traces"
SCORES = "/api/public/scores"
SCORES_V3 = "/api/public/v3/scores"


def client(fake: FakeLangfuse, **kwargs) -> httpx.Client:
    return httpx.Client(base_url=fake.base_url, auth=(fake.public_key, fake.secret_key), timeout=10, **kwargs)


def page_all_observations(http: httpx.Client, **params) -> tuple[list[dict], int]:
    items, requests, cursor = [], 0, None
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        body = http.get(OBS, params=query).raise_for_status().json()
        requests += 1
        items += body["data"]
        cursor = body["meta"].get("cursor")
        if not cursor:
            return items, requests


# ---------------------------------------------------------------- v2 observations
def test_observations_cursor_paging_returns_every_observation_once_newest_first(fake_langfuse):
    fake_langfuse.seed_traces(30)
    with client(fake_langfuse) as http:
        items, requests = page_all_observations(http, limit=7)
    ids = [o["id"] for o in items]
    assert len(ids) == 60 and len(set(ids)) == 60  # root + generation per trace
    assert requests == 9  # ceil(60 / 7)
    starts = [o["startTime"] for o in items]
    assert starts == sorted(starts, reverse=True)


def test_observation_pages_are_stable_when_newer_traces_arrive(fake_langfuse):
    fake_langfuse.seed_traces(10, with_generation=False)
    with client(fake_langfuse) as http:
        first = http.get(OBS, params={"limit": 4}).json()
        fake_langfuse.seed_traces(5, with_generation=False, seed=9,
                                  start=datetime(2027, 1, 1, tzinfo=timezone.utc))
        rest, _ = page_all_observations(http, limit=4, cursor=first["meta"]["cursor"])
    assert len(first["data"]) + len(rest) == 10


def test_observation_field_groups(fake_langfuse):
    long_text = "x" * 300
    fake_langfuse.add_trace(id="t-fields", input=[{"role": "user", "content": "hi"}], output="hello",
                            metadata={"expected_output": long_text, "n": 3})
    with client(fake_langfuse) as http:
        default = http.get(OBS).json()["data"][0]
        io = http.get(OBS, params={"fields": "core,io,metadata"}).json()["data"][0]
        expanded = http.get(OBS, params={"fields": "metadata", "expandMetadata": "expected_output"}).json()["data"][0]
    assert "name" in default and "input" not in default and "metadata" not in default
    assert "name" not in io
    assert io["input"] == '[{"role":"user","content":"hi"}]'  # raw strings, as the v2 API returns
    assert io["output"] == "hello"
    assert io["metadata"]["expected_output"] == "x" * 200 and io["metadata"]["n"] == "3"
    assert expanded["metadata"]["expected_output"] == long_text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"name": "alpha"}, {"a1", "a2"}),
        ({"userId": "u2"}, {"a2", "b1"}),
        ({"environment": ["staging"]}, {"b1"}),
        ({"environment": ["staging", "production"]}, {"a1", "a2", "b1"}),
        ({"version": "v9"}, {"a2"}),
        ({"traceId": "b1"}, {"b1"}),
        ({"fromStartTime": "2026-03-02T00:00:00Z"}, {"a2", "b1"}),
        ({"toStartTime": "2026-03-02T00:00:00Z"}, {"a1"}),
        ({"filter": json.dumps([{"type": "arrayOptions", "column": "tags", "operator": "any of", "value": ["x"]}])},
         {"a1", "b1"}),
        ({"filter": json.dumps([{"type": "string", "column": "traceName", "operator": "=", "value": "beta"}])},
         {"b1"}),
        # The JSON filter wins over a query parameter on the same column.
        ({"name": "alpha", "filter": json.dumps([{"type": "string", "column": "name", "operator": "=",
                                                  "value": "beta"}])}, {"b1"}),
        ({"filter": json.dumps([{"type": "stringObject", "column": "metadata", "key": "team",
                                 "operator": "=", "value": "red"}])}, {"a2"}),
    ],
)
def test_observation_filters(fake_langfuse, params, expected):
    day = datetime(2026, 3, 1, tzinfo=timezone.utc)
    fake_langfuse.add_traces([
        {"id": "a1", "name": "alpha", "userId": "u1", "environment": "production", "version": "v1",
         "tags": ["x"], "timestamp": day.isoformat()},
        {"id": "a2", "name": "alpha", "userId": "u2", "environment": "production", "version": "v9",
         "metadata": {"team": "red"}, "timestamp": (day + timedelta(days=1)).isoformat()},
        {"id": "b1", "name": "beta", "userId": "u2", "environment": "staging", "version": "v1",
         "tags": ["x", "y"], "timestamp": (day + timedelta(days=2)).isoformat()},
    ])
    with client(fake_langfuse) as http:
        data = http.get(OBS, params={"fields": "core,basic", **params}).raise_for_status().json()["data"]
    assert {o["traceId"] for o in data} == expected


def test_root_observations_and_type_filter(fake_langfuse):
    fake_langfuse.seed_traces(5)
    with client(fake_langfuse) as http:
        roots = http.get(OBS, params={"isRootObservation": "true", "fields": "core,basic,io"}).json()["data"]
        gens = http.get(OBS, params={"type": "GENERATION"}).json()["data"]
    traces = {t["id"]: t for t in fake_langfuse.traces()}
    assert len(roots) == 5 and all(o["parentObservationId"] is None and o["isRootObservation"] for o in roots)
    for obs in roots:  # the root carries the trace's input/output
        trace = traces[obs["traceId"]]
        assert obs["input"] == endpoints.raw_io(trace["input"])
        assert obs["output"] == endpoints.raw_io(trace["output"])
    assert len(gens) == 5 and all(o["type"] == "GENERATION" for o in gens)


def test_bad_observation_queries_are_400(fake_langfuse):
    with client(fake_langfuse) as http:
        assert http.get(OBS, params={"limit": 1001}).status_code == 400
        assert http.get(OBS, params={"fields": "core,nope"}).status_code == 400
        assert http.get(OBS, params={"filter": "{not json"}).status_code == 400
        assert http.get(OBS, params={"filter": json.dumps([{"type": "string", "column": "name",
                                                            "operator": "any of", "value": "a"}])}).status_code == 400
        assert http.get(OBS, params={"cursor": "garbage!"}).status_code == 400
        assert http.get(OBS, params={"parseIoAsJson": "true"}).status_code == 400


def test_late_output_shows_up_after_update(fake_langfuse):
    [trace_id] = fake_langfuse.seed_traces(1, pending_output_fraction=1.0, with_generation=False)
    with client(fake_langfuse) as http:
        before = http.get(OBS, params={"fields": "core,io,time"}).json()["data"][0]
        fake_langfuse.update_trace(trace_id, output="finally")
        after = http.get(OBS, params={"fields": "core,io,time"}).json()["data"][0]
    assert before["output"] is None and before["endTime"] is None
    assert after["output"] == "finally" and after["endTime"] is not None
    assert after["updatedAt"] > before["updatedAt"]


# ---------------------------------------------------------------- legacy traces
def test_traces_page_paging_and_total_pages(fake_langfuse):
    ids = fake_langfuse.seed_traces(23, with_generation=False)
    seen = []
    with client(fake_langfuse) as http:
        for page in range(1, 4):
            body = http.get(TRACES, params={"page": page, "limit": 10}).json()
            assert body["meta"] == {"page": page, "limit": 10, "totalItems": 23, "totalPages": 3}
            seen += [t["id"] for t in body["data"]]
        assert http.get(TRACES, params={"page": 4, "limit": 10}).json()["data"] == []
        ascending = http.get(TRACES, params={"limit": 50, "orderBy": "timestamp.asc"}).json()["data"]
        assert http.get(TRACES, params={"orderBy": "cost.up"}).status_code == 400
    assert seen == list(reversed(ids))  # newest first by default
    assert [t["id"] for t in ascending] == ids


def test_trace_filters(fake_langfuse):
    day = datetime(2026, 5, 1, tzinfo=timezone.utc)
    fake_langfuse.add_traces([
        {"id": "t1", "name": "chat", "userId": "u1", "sessionId": "s1", "tags": ["a", "b"], "release": "r1",
         "version": "1", "environment": "production", "timestamp": day.isoformat()},
        {"id": "t2", "name": "chat", "userId": "u2", "sessionId": "s1", "tags": ["a"], "release": "r2",
         "version": "2", "environment": "staging", "timestamp": (day + timedelta(hours=1)).isoformat()},
        {"id": "t3", "name": "rag", "userId": "u1", "sessionId": "s2", "tags": [], "release": "r1",
         "version": "1", "environment": "production", "timestamp": (day + timedelta(hours=2)).isoformat()},
    ])
    cases = [
        ({"name": "chat"}, {"t1", "t2"}), ({"userId": "u1"}, {"t1", "t3"}), ({"sessionId": "s1"}, {"t1", "t2"}),
        ({"tags": ["a", "b"]}, {"t1"}), ({"tags": ["a"]}, {"t1", "t2"}), ({"release": "r2"}, {"t2"}),
        ({"version": "1"}, {"t1", "t3"}), ({"environment": ["staging"]}, {"t2"}),
        ({"fromTimestamp": (day + timedelta(minutes=30)).isoformat()}, {"t2", "t3"}),
        ({"toTimestamp": (day + timedelta(hours=1)).isoformat()}, {"t1"}),
    ]
    with client(fake_langfuse) as http:
        for params, expected in cases:
            body = http.get(TRACES, params=params).raise_for_status().json()
            assert {t["id"] for t in body["data"]} == expected, params
            assert body["meta"]["totalItems"] == len(expected)


def test_trace_detail_includes_observations_and_scores(fake_langfuse):
    [trace_id] = fake_langfuse.seed_traces(1)
    with client(fake_langfuse) as http:
        http.post(SCORES, json=[{"id": "s-1", "traceId": trace_id, "name": "acc", "value": 0.5},
                                {"id": "s-2", "traceId": trace_id, "name": "ok", "value": 1,
                                 "dataType": "BOOLEAN"}]).raise_for_status()
        detail = http.get(f"{TRACES}/{trace_id}").raise_for_status().json()
        listed = http.get(TRACES).json()["data"][0]
        missing = http.get(f"{TRACES}/nope")
    assert len(detail["observations"]) == 2
    assert {s["id"]: s.get("stringValue") for s in detail["scores"]} == {"s-1": None, "s-2": "True"}
    assert sorted(listed["scores"]) == ["s-1", "s-2"] and len(listed["observations"]) == 2
    assert missing.status_code == 404


# ---------------------------------------------------------------- v3 scores
def test_v3_scores_cursor_paging_and_filters(fake_langfuse):
    ids = fake_langfuse.seed_traces(3, with_generation=False)
    batch = [{"id": f"s{i}", "traceId": ids[i % 3], "name": "acc" if i % 2 else "rel", "value": i / 10}
             for i in range(25)]
    with client(fake_langfuse) as http:
        http.post(SCORES, json=batch).raise_for_status()
        seen, cursor, pages = [], None, 0
        while True:
            body = http.get(SCORES_V3, params={"limit": 10, **({"cursor": cursor} if cursor else {})}).json()
            seen += [s["id"] for s in body["data"]]
            pages += 1
            cursor = body["meta"].get("cursor")
            if not cursor:
                break
        by_trace = http.get(SCORES_V3, params={"traceId": f"{ids[0]},{ids[1]}", "fields": "subject"}).json()
        by_name = http.get(SCORES_V3, params={"name": "acc", "traceId": ids[0]}).json()
        assert http.get(SCORES_V3, params={"limit": 101}).status_code == 400
        assert http.get(SCORES_V3, params={"observationId": "o"}).status_code == 400
    assert pages == 3 and sorted(seen) == sorted(s["id"] for s in batch)
    assert {s["subject"]["id"] for s in by_trace["data"]} == {ids[0], ids[1]}
    assert all(s["name"] == "acc" for s in by_name["data"]) and by_name["data"]


# ---------------------------------------------------------------- score writes
def test_array_dialect_accepts_batches_and_reports_rejections(fake_langfuse):
    with client(fake_langfuse) as http:
        ok = http.post(SCORES, json=[{"traceId": "t", "name": "a", "value": 1.0},
                                     {"traceId": "t", "name": "b", "value": "good", "dataType": "CATEGORICAL"}])
        mixed = http.post(SCORES, json=[{"traceId": "t", "name": "c", "value": 0.3},
                                        {"traceId": "t", "name": "d", "value": 0.5, "dataType": "BOOLEAN"},
                                        {"name": "e", "value": 1.0}])
        single = http.post(SCORES, json={"id": "one", "traceId": "t", "name": "f", "value": 2.0})
    assert (ok.status_code, ok.json()) == (202, {"message": "Accepted"})
    assert mixed.status_code == 207
    body = mixed.json()
    assert (body["accepted"], body["rejected"], len(body["errors"])) == (1, 2, 2)
    assert "BOOLEAN" in body["errors"][0]["message"] and "traceId" in body["errors"][1]["message"]
    assert (single.status_code, single.json()) == (200, {"id": "one"})
    assert sorted(s["name"] for s in fake_langfuse.scores()) == ["a", "b", "c", "f"]


def test_array_elements_are_validated_against_the_sdk_models_and_the_spec(fake_langfuse):
    fake_langfuse.allow_violations()
    with client(fake_langfuse) as http:
        reply = http.post(SCORES, json=[{"traceId": "t", "name": "a", "value": 1.0},
                                        {"traceId": "t", "name": "b", "value": [1]}])
    assert reply.status_code == 207 and reply.json()["accepted"] == 1
    found = fake_langfuse.violations()
    assert all(v.kind == "request" and "score[1]" in v.message for v in found)
    sdk = [v for v in found if "langfuse SDK CreateScoreRequest" in v.message]
    spec = [v for v in found if "langfuse SDK" not in v.message]
    assert sdk and all("value" in v.message for v in sdk)
    assert len(spec) == (1 if fake_langfuse.app.validator is not None else 0)


def test_without_the_openapi_document_the_sdk_models_still_check_every_exchange() -> None:
    """A fresh clone has no ../shared: the SDK's generated models are the contract the fake keeps."""
    from tests.fake_langfuse.server import FakeLangfuseApp

    app = FakeLangfuseApp(public_key="pk", secret_key="sk", project_id="p", score_dialect="array", faults=None,
                          validate=True)
    app.validator = None  # as when the document is not found
    app.store.put_traces([])
    auth = {"authorization": "Basic " + __import__("base64").b64encode(b"pk:sk").decode(), "content-type": "application/json"}
    reply, _ = app.handle("GET", "/api/public/v3/scores?traceId=t&limit=5&tracId=typo", auth, b"")
    assert reply.status == 200
    reply, _ = app.handle("POST", SCORES, auth, json.dumps([{"traceId": "t", "name": "a", "value": {"no": 1}}]).encode())
    assert reply.status == 207
    messages = [v.message for v in app.violations()]
    assert any("tracId" in m and "not sent by langfuse" in m for m in messages), messages
    assert any("score[0] (langfuse SDK CreateScoreRequest)" in m for m in messages), messages
    # and a response the SDK could not parse is caught too
    from tests.fake_langfuse.sdk_models import shared_models

    assert shared_models().check_response("GET", "/api/public/v3/scores", 200, {"data": [{"id": 1}]}, False)
    assert not shared_models().check_response("GET", "/api/public/v3/scores", 200, {"data": [], "meta": {"limit": 5}}, False)


@needs_spec
def test_object_dialect_is_the_spec_only():
    with FakeLangfuse(score_dialect="object") as fake, client(fake) as http:
        single = http.post(SCORES, json={"traceId": "t", "name": "a", "value": 0.1})
        array = http.post(SCORES, json=[{"traceId": "t", "name": "a", "value": 0.1}])
        assert single.status_code == 200 and set(single.json()) == {"id"}
        assert array.status_code == 400
        assert [v.kind for v in fake.violations()] == ["request"]  # the array body breaks the spec
        assert len(fake.scores()) == 1


def test_scores_are_upserted_by_id_and_writes_counted(fake_langfuse):
    with client(fake_langfuse) as http:
        for value in (0.1, 0.9):
            http.post(SCORES, json=[{"id": "fixed", "traceId": "t", "name": "acc", "value": value,
                                     "timestamp": "2026-01-01T00:00:00Z"}]).raise_for_status()
    [score] = fake_langfuse.scores()
    assert score["value"] == 0.9 and score["writeCount"] == 2
    assert fake_langfuse.score_write_counts() == {"fixed": 2}
    assert fake_langfuse.scores_by_trace_and_name() == {("t", "acc"): ["fixed"]}
    assert score["timestampsWritten"] == ["2026-01-01T00:00:00.000Z"]


def test_object_dialect_stamps_the_server_clock_and_a_write_on_another_day_adds_a_row():
    body = {"id": "s1", "traceId": "t", "name": "acc", "value": 0.5, "timestamp": "2026-01-01T00:00:00Z"}
    with FakeLangfuse(score_dialect="object") as fake, client(fake) as http:
        http.post(SCORES, json=body).raise_for_status()
        http.post(SCORES, json=body).raise_for_status()  # same day: the row is replaced
        [row] = fake.score_rows("s1")
        assert row["writeCount"] == 2 and row["timestamp"] != "2026-01-01T00:00:00.000Z"  # the body's is ignored
        assert abs(datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00")) - fake.now()) < timedelta(minutes=1)
        fake.advance_clock(timedelta(days=1))
        http.post(SCORES, json=body).raise_for_status()  # the next day: a second row, same id
        assert [r["writeCount"] for r in fake.score_rows("s1")] == [2, 1]
        assert fake.scores_by_trace_and_name() == {("t", "acc"): ["s1", "s1"]}
        listed = http.get(SCORES_V3, params={"traceId": "t"}).raise_for_status().json()["data"]
        assert [s["id"] for s in listed] == ["s1", "s1"]
        assert not fake.violations()


def test_array_dialect_keeps_the_given_timestamp_so_another_day_overwrites(fake_langfuse):
    body = [{"id": "s1", "traceId": "t", "name": "acc", "value": 0.5, "timestamp": "2026-01-01T00:00:00Z"}]
    with client(fake_langfuse) as http:
        http.post(SCORES, json=body).raise_for_status()
        fake_langfuse.advance_clock(86_400)
        http.post(SCORES, json=body).raise_for_status()
    [row] = fake_langfuse.score_rows("s1")
    assert row["writeCount"] == 2 and row["timestamp"] == "2026-01-01T00:00:00.000Z"


def test_score_body_over_the_limit_is_413(fake_langfuse):
    big = [{"traceId": "t", "name": "a", "value": 1.0, "comment": "c" * 2000}] * 600
    with client(fake_langfuse) as http:
        assert http.post(SCORES, json=big).status_code == 413
    assert fake_langfuse.scores() == []


# ---------------------------------------------------------------- auth
def test_auth(fake_langfuse):
    with httpx.Client(base_url=fake_langfuse.base_url) as http:
        wrong = http.get(OBS, auth=(fake_langfuse.public_key, "nope"))
        health = http.get("/api/public/health")
    assert wrong.status_code == 401 and "message" in wrong.json()
    assert health.status_code == 200
    assert fake_langfuse.violations() == []  # wrong credentials are a spec-valid request


@needs_spec
def test_missing_credentials_is_401_and_a_request_violation(fake_langfuse):
    fake_langfuse.allow_violations()
    with httpx.Client(base_url=fake_langfuse.base_url) as http:
        reply = http.post(SCORES, json=[{"traceId": "t", "name": "a", "value": 1.0}])
    assert reply.status_code == 401
    assert fake_langfuse.scores() == []
    assert [v.kind for v in fake_langfuse.violations()] == ["request"]


# ---------------------------------------------------------------- spec validation
@needs_spec
def test_validation_catches_a_bad_request(fake_langfuse):
    fake_langfuse.allow_violations()
    with client(fake_langfuse) as http:
        assert http.get(OBS, params={"limit": "lots"}).status_code == 400
        http.get("/api/public/not-an-endpoint")
    messages = [str(v) for v in fake_langfuse.violations()]
    assert any("limit" in m for m in messages) and any("not-an-endpoint" in m for m in messages)


def test_validation_catches_a_bad_response(fake_langfuse, monkeypatch):
    fake_langfuse.allow_violations()
    monkeypatch.setattr(endpoints, "health", lambda: (200, {"status": "OK"}))  # "version" is required
    with httpx.Client(base_url=fake_langfuse.base_url) as http:
        http.get("/api/public/health")
    found = fake_langfuse.violations()
    assert found and all(v.kind == "response" and "version" in v.message for v in found)
    assert any("langfuse SDK model" in v.message for v in found)  # caught without the OpenAPI document too


def test_each_item_of_a_list_response_is_validated(fake_langfuse, monkeypatch):
    fake_langfuse.allow_violations()
    fake_langfuse.seed_traces(3, with_generation=False)
    real = endpoints.observation_v2
    calls = []

    def third_is_broken(*args, **kwargs):
        item = real(*args, **kwargs)
        calls.append(item)
        if len(calls) == 3:
            item["startTime"] = "not a time"
        return item

    monkeypatch.setattr(endpoints, "observation_v2", third_is_broken)
    with client(fake_langfuse) as http:
        http.get(OBS).raise_for_status()
    found = fake_langfuse.violations()
    assert found and all(v.kind == "response" and "data" in v.message and "2" in v.message for v in found)
    # the SDK model names the field by its Python name; the spec check as data[2] ... startTime
    assert any("data.2.start_time" in v.message for v in found)
    if fake_langfuse.app.validator is not None:
        assert any("data[2]" in v.message for v in found)


@needs_spec
def test_validation_memo_does_not_hide_a_later_bad_request(fake_langfuse):
    fake_langfuse.allow_violations()
    with client(fake_langfuse) as http:
        http.get(OBS, params={"name": "a", "fromStartTime": "2026-01-01T00:00:00Z"})
        http.get(OBS, params={"name": "b", "fromStartTime": "yesterday"})
    assert len(fake_langfuse.violations()) == 1


# ---------------------------------------------------------------- faults
def test_latency_is_added(fake_langfuse):
    fake_langfuse.set_faults(latency_ms=60)
    with httpx.Client(base_url=fake_langfuse.base_url) as http:
        started = time.monotonic()
        http.get("/api/public/health")
    assert time.monotonic() - started >= 0.06


def test_error_faults_have_no_side_effects_and_are_deterministic(fake_langfuse):
    def run() -> list[int]:
        fake_langfuse.set_faults(Faults(error_rate=0.5, seed=7))
        with client(fake_langfuse) as http:
            return [http.post(SCORES, json=[{"id": f"s{i}", "traceId": "t", "name": "n", "value": 1.0}]).status_code
                    for i in range(20)]

    first = run()
    stored = {s["id"] for s in fake_langfuse.scores()}
    assert set(first) <= {202, 500, 502, 503} and 202 in first and len(set(first)) > 1
    assert stored == {f"s{i}" for i, status in enumerate(first) if status == 202}
    assert run() == first  # same seed, same fates


def test_rate_limit_every_nth_with_retry_after(fake_langfuse):
    fake_langfuse.set_faults(rate_limit_every=3, retry_after_s=2)
    with client(fake_langfuse) as http:
        replies = [http.get(OBS) for _ in range(6)]
    assert [r.status_code for r in replies] == [200, 200, 429, 200, 200, 429]
    assert replies[2].headers["Retry-After"] == "2"


@pytest.mark.parametrize("after_write", [True, False])
def test_connection_cut_mid_response(fake_langfuse, after_write):
    fake_langfuse.set_faults(close_rate=1.0, close_after_write=after_write)
    with client(fake_langfuse) as http:
        with pytest.raises(httpx.TransportError):
            http.post(SCORES, json=[{"id": "cut", "traceId": "t", "name": "n", "value": 1.0}])
    assert bool(fake_langfuse.scores()) is after_write
    assert fake_langfuse.fault_counts() == {"close": 1}


def test_down_switch_and_recovery(fake_langfuse):
    fake_langfuse.set_faults(down=True)
    with client(fake_langfuse) as http:
        assert http.get("/api/public/health").status_code == 503
        assert http.post(SCORES, json=[{"traceId": "t", "name": "n", "value": 1.0}]).status_code == 503
        fake_langfuse.set_faults(down=False)
        assert http.get("/api/public/health").status_code == 200
    assert fake_langfuse.scores() == []


def test_per_path_fault_rules(fake_langfuse):
    fake_langfuse.set_faults(Faults(rules=[FaultRule("/api/public/scores", FaultSettings(error_rate=1.0,
                                                                                          error_statuses=(502,)),
                                                     method="POST")]))
    with client(fake_langfuse) as http:
        assert http.get(OBS).status_code == 200
        assert http.post(SCORES, json=[{"traceId": "t", "name": "n", "value": 1.0}]).status_code == 502


# ---------------------------------------------------------------- the real SDK
@pytest.fixture
def sdk(fake_langfuse):
    from langfuse import Langfuse

    lf = Langfuse(public_key=fake_langfuse.public_key, secret_key=fake_langfuse.secret_key,
                  base_url=fake_langfuse.base_url, flush_interval=0.1)
    yield lf
    lf.shutdown()


def test_sdk_reads_observations(fake_langfuse, sdk):
    fake_langfuse.seed_traces(12)
    page = sdk.api.observations.get_many(limit=5, fields="core,basic,io", is_root_observation=True)
    assert len(page.data) == 5 and page.meta.cursor
    assert all(o.input for o in page.data)
    assert sdk.auth_check()


def test_sdk_create_score_and_flush_land_in_the_store(fake_langfuse, sdk):
    [trace_id] = fake_langfuse.seed_traces(1)
    for value in (0.25, 0.75):
        sdk.create_score(name="accuracy", value=value, trace_id=trace_id, score_id="sdk-score",
                         comment="why", metadata={"run": 1})
        sdk.flush()
    [score] = fake_langfuse.scores()
    assert (score["id"], score["traceId"], score["value"], score["writeCount"]) == ("sdk-score", trace_id, 0.75, 2)
    assert fake_langfuse.status_counts().get("POST /api/public/scores 202") == 2


def test_sdk_run_batched_evaluation_end_to_end(fake_langfuse, sdk):
    from langfuse import Evaluation, EvaluatorInputs

    fake_langfuse.seed_traces(40)

    def mapper(*, item):
        return EvaluatorInputs(input=item.input, output=item.output,
                               expected_output=(item.metadata or {}).get("expected_output"), metadata={})

    def length(*, input, output, expected_output, metadata, **_):
        return Evaluation(name="output_length", value=float(len(output or "")))

    result = sdk.run_batched_evaluation(
        mapper=mapper, evaluators=[length], fetch_batch_size=15,
        filter=json.dumps([{"type": "boolean", "column": "isRootObservation", "operator": "=", "value": True}]),
    )
    assert result.completed and result.total_items_processed == 40
    keys = fake_langfuse.scores_by_trace_and_name()
    assert len(keys) == 40 and all(len(v) == 1 for v in keys.values())
    assert fake_langfuse.request_counts()["GET /api/public/v2/observations"] == 3


def test_sdk_otel_spans_are_accepted(fake_langfuse, sdk):
    with sdk.start_as_current_observation(name="unit-span"):
        pass
    sdk.flush()
    assert fake_langfuse.stats()["otelSpans"] == 1


# ---------------------------------------------------------------- out of process
def test_cli_process_and_control_api():
    with FakeLangfuseProcess(["--latency-ms", "0"]) as proc:
        ids = proc.seed_traces(4, with_generation=False)
        with httpx.Client(base_url=proc.base_url, auth=(proc.public_key, proc.secret_key)) as http:
            assert len(http.get(OBS).json()["data"]) == 4
            proc.set_faults(down=True)
            assert http.get("/api/public/health").status_code == 503
            proc.set_faults(down=False)
            http.post(SCORES, json=[{"id": "x", "traceId": ids[0], "name": "n", "value": 1.0}]).raise_for_status()
            proc.update_trace(ids[0], output="late")
            assert http.get(OBS, params={"traceId": ids[0], "fields": "io"}).json()["data"][0]["output"] == "late"
        assert [s["id"] for s in proc.scores()] == ["x"]
        stats = proc.stats()
        assert stats["requests"]["GET /api/public/v2/observations"] == 2 and stats["faults"]["down"] == 1
        assert proc.violations() == []
    assert proc.process.returncode is not None


def test_a_crash_in_the_fake_is_a_500_and_an_internal_violation(fake_langfuse, monkeypatch):
    fake_langfuse.allow_violations()

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(endpoints, "list_observations", broken)
    with client(fake_langfuse) as http:
        assert http.get(OBS).status_code == 500
    [violation] = fake_langfuse.violations()
    assert violation.kind == "internal" and "boom" in violation.message
