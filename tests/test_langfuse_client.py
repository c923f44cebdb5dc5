"""The Langfuse plugin's HTTP client (adaptive concurrency), registration and library API."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import datetime

import httpx

from rmg_core import EvalCase, load_plugins
from rmg_langfuse.client import LangfuseClient, parse_retry_after
from rmg_langfuse.settings import ConnectionSettings
from tests.test_langfuse_source import CREDS, FAST, root_obs, v2_server


def test_concurrency_halves_on_429_and_every_request_succeeds() -> None:
    state = {"in_flight": 0, "throttled": 0, "peak_after_429": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        state["in_flight"] += 1
        try:
            await asyncio.sleep(0.002)
            if state["in_flight"] > 3:  # the server takes 3 at a time
                state["throttled"] += 1
                return httpx.Response(429, headers={"Retry-After": "0.01"}, json={"message": "rate limited"})
            return httpx.Response(200, json={"ok": True})
        finally:
            state["in_flight"] -= 1

    async def go() -> LangfuseClient:
        client = LangfuseClient(ConnectionSettings(**CREDS, **FAST, max_concurrency=16, max_retries=20), "test", httpx.MockTransport(handler))
        try:
            await asyncio.gather(*(client.request("GET", "/api/public/health") for _ in range(200)))
        finally:
            await client.aclose()
        return client

    client = asyncio.run(go())
    assert client.requests["GET /api/public/health"] == 200 + state["throttled"]
    # the window shrank instead of hammering: far fewer 429s than requests
    assert client.limiter.limit < 16
    assert state["throttled"] < 100


def test_parse_retry_after() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: retry now


def test_fetch_pending_traces() -> None:
    import rmg_langfuse

    stored = [{"id": "s", "name": "relevance", "value": 1, "dataType": "NUMERIC", "subject": {"kind": "trace", "id": "trace-0001"}}]
    listing = v2_server([root_obs(i) for i in range(5)])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/public/v3/scores":
            return httpx.Response(200, json={"data": stored, "meta": {"limit": 100}})
        return listing(request)

    cases = rmg_langfuse.fetch_pending_traces(
        "relevance", since=datetime(2025, 1, 1), limit=3, transport=httpx.MockTransport(handler), **CREDS, **FAST
    )
    assert [c.id for c in cases] == ["trace-0000", "trace-0002", "trace-0003"]
    assert all(isinstance(c, EvalCase) for c in cases)
    assert cases[0]["id"] == "trace-0000" and cases[0].get("expected") == cases[0].expected  # the seed indexes them

    async def inside_a_loop() -> list[EvalCase]:
        # the sync variant works in a running loop (a notebook) too
        return rmg_langfuse.fetch_pending_traces(transport=httpx.MockTransport(handler), **CREDS, **FAST)

    assert len(asyncio.run(inside_a_loop())) == 5


def test_registered_as_source_and_sink_without_importing_httpx() -> None:
    host = load_plugins(environ={"RMG_LOAD_PLUGINS": "langfuse"})
    assert host.get("source", "langfuse").__name__ == "LangfuseSource"
    assert host.get("sink", "langfuse").__name__ == "LangfuseSink"
    code = (
        "import sys, rmg_core; h = rmg_core.load_plugins(environ={'RMG_LOAD_PLUGINS': 'langfuse'});"
        "import json; print(json.dumps([m for m in ('httpx', 'tenacity', 'langfuse') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_a_refused_long_retry_after_does_not_pause_other_requests() -> None:
    import time

    import pytest

    from rmg_langfuse.client import LangfuseHTTPError

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/quota":
            return httpx.Response(429, headers={"Retry-After": "3600"}, json={"message": "daily quota"})
        return httpx.Response(200, json={})

    async def go() -> float:
        client = LangfuseClient(ConnectionSettings(**CREDS, **FAST, max_retry_after=5), "test", httpx.MockTransport(handler))
        try:
            with pytest.raises(LangfuseHTTPError, match="asks to wait 3600s"):
                await client.request("GET", "/quota")
            start = time.monotonic()
            await client.request("GET", "/other")
            return time.monotonic() - start
        finally:
            await client.aclose()

    assert asyncio.run(go()) < 1
