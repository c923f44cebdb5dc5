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


def test_a_429_pauses_new_requests_then_resumes_at_no_less_than_half_the_concurrency() -> None:
    """A server that rate-limits every 40th request (Retry-After 0.2 s): the pause is kept, the run does not collapse."""
    import time

    state = {"seen": 0, "in_flight": 0, "peak_after_pause": 0}
    throttled_at: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        now = time.monotonic()
        state["seen"] += 1
        state["in_flight"] += 1
        try:
            if state["seen"] % 40 == 0:
                throttled_at.append(now)
                return httpx.Response(429, headers={"Retry-After": "0.2"}, json={"message": "rate limited"})
            if throttled_at and now > throttled_at[-1] + 0.2:
                state["peak_after_pause"] = max(state["peak_after_pause"], state["in_flight"])
            await asyncio.sleep(0.005)
            return httpx.Response(200, json={"ok": True})
        finally:
            state["in_flight"] -= 1

    started: list[float] = []
    pauses: list[tuple[float, float]] = []

    async def go() -> LangfuseClient:
        client = LangfuseClient(ConnectionSettings(**CREDS, **FAST, max_concurrency=16), "test", httpx.MockTransport(handler))
        limiter = client.limiter
        acquire, release = limiter.acquire, limiter.release

        async def recorded_acquire() -> float:
            began = await acquire()
            started.append(began)
            return began

        async def recorded_release(began: float, throttled: bool = False, retry_after: float | None = None) -> None:
            await release(began, throttled, retry_after)
            if throttled:
                pauses.append((time.monotonic(), limiter._resume_at))

        limiter.acquire, limiter.release = recorded_acquire, recorded_release  # type: ignore[method-assign]
        try:
            await asyncio.gather(*(client.request("GET", "/api/public/health") for _ in range(300)))
        finally:
            await client.aclose()
        return client

    client = asyncio.run(go())
    assert client.requests["GET /api/public/health"] == 300 + len(throttled_at) and len(throttled_at) >= 7
    # no new request was sent while a pause was on (requests already in flight finish)
    for begin, end in pauses:
        assert not [t for t in started if begin < t < end]
    assert client.limiter.pauses == len(throttled_at) and client.limiter.paused_seconds >= 0.2 * len(throttled_at) - 0.01
    assert client.limiter.limit >= 8 and state["peak_after_pause"] >= 8


def test_5xx_and_dropped_connections_retry_that_request_without_shrinking_the_window() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] % 5 == 0:
            return httpx.Response(503, json={"message": "busy"})
        if calls["n"] % 7 == 0:
            raise httpx.RemoteProtocolError("peer closed connection")
        return httpx.Response(200, json={})

    async def go() -> LangfuseClient:
        client = LangfuseClient(ConnectionSettings(**CREDS, **FAST, max_concurrency=16), "test", httpx.MockTransport(handler))
        try:
            await asyncio.gather(*(client.request("GET", "/x") for _ in range(200)))
        finally:
            await client.aclose()
        return client

    client = asyncio.run(go())
    assert client.retries > 40 and client.limiter.limit == 16 and client.limiter.pauses == 0


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


def test_a_server_dripping_its_reply_hits_the_total_deadline_of_timeout() -> None:
    """httpx's timeout bounds each read; a reply sent a byte every 50 ms must still stop at ``timeout`` in all."""
    import time

    import pytest

    from rmg_langfuse.client import LangfuseHTTPError

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n")
        try:
            for _ in range(1000):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.05)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def go() -> float:
        server = await asyncio.start_server(drip, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        settings = ConnectionSettings(**{**CREDS, "base_url": f"http://127.0.0.1:{port}"}, **FAST, timeout=0.5, max_retries=1)
        client = LangfuseClient(settings, "test")
        started = time.monotonic()
        try:
            async with server:
                with pytest.raises(LangfuseHTTPError, match=r"did not complete within 0.5s"):
                    await client.get_json("/api/public/v2/observations")
        finally:
            await client.aclose()
        return time.monotonic() - started

    assert asyncio.run(go()) < 3  # two attempts of 0.5 s, not 50 s of dripping


def test_requests_per_minute_spaces_every_request_and_units_running_at_once_share_it() -> None:
    """A plan's limit (here 1,200 a minute: one request every 50 ms), retries included; 4 units: every 200 ms each."""
    import time

    import pytest
    from pydantic import ValidationError

    from rmg_kit import concurrent_copies_of

    def gaps(n: int, fail_first: bool = False, per_minute: float | None = 1200) -> list[float]:
        arrivals: list[float] = []

        def handler(request: httpx.Request) -> httpx.Response:
            arrivals.append(time.monotonic())
            if fail_first and len(arrivals) == 1:
                return httpx.Response(503, json={"message": "busy"})  # its retry waits its turn too
            return httpx.Response(200, json={})

        async def go() -> None:
            settings = ConnectionSettings(**CREDS, **FAST, max_concurrency=16, requests_per_minute=per_minute)
            client = LangfuseClient(settings, "test", httpx.MockTransport(handler))
            try:
                await asyncio.gather(*(client.request("GET", "/x") for _ in range(n)))
            finally:
                await client.aclose()

        asyncio.run(go())
        return [b - a for a, b in zip(arrivals, arrivals[1:])]

    # Spacing is between sends: the first request's arrival also waits for the client's first connection.
    spaced = gaps(8, fail_first=True)
    assert len(spaced) == 8 and sum(spaced) >= 8 * 0.05 - 0.02 and min(spaced[1:]) >= 0.045, spaced  # 16 in flight allowed
    with concurrent_copies_of(4):
        shared = gaps(3)
    assert sum(shared) >= 2 * 0.2 - 0.02 and shared[1] >= 0.19, shared  # a quarter each: 1,200 a minute together
    unlimited = gaps(8, per_minute=None)
    assert sum(unlimited) < 0.2  # the default: no spacing
    for bad in (0, -5, float("inf")):
        with pytest.raises(ValidationError, match="requests_per_minute"):
            ConnectionSettings(**CREDS, requests_per_minute=bad)
