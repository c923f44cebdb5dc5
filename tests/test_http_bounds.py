"""`rmg_kit.bounded_request` against real sockets: a dripping server and an endless body."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from rmg_kit import ResponseTooLarge, bounded_request


async def _serve(handler):
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/x?api_key=secret"


async def _drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n")
    try:
        for _ in range(1000):  # one byte every 0.05 s: each read is quick, the whole is not
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.05)
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def _endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    chunk = b"y" * 65536
    try:
        for _ in range(10_000):  # bounded: 640 MB at most, the client stops long before
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


def test_a_dripping_server_hits_the_total_deadline_not_a_per_read_timeout() -> None:
    async def main() -> None:
        server, url = await _serve(_drip)
        async with server, httpx.AsyncClient(timeout=5) as client:
            with pytest.raises(httpx.ReadTimeout) as caught:
                await bounded_request(client, "GET", url, deadline=0.5)
        assert "0.5s" in str(caught.value) and "secret" not in str(caught.value)

    asyncio.run(main())


def test_an_endless_body_stops_at_the_size_limit() -> None:
    async def main() -> None:
        server, url = await _serve(_endless)
        async with server, httpx.AsyncClient(timeout=5) as client:
            with pytest.raises(ResponseTooLarge) as caught:
                await bounded_request(client, "GET", url, deadline=10, max_bytes=1_000_000)
        assert "1,000,000 bytes" in str(caught.value) and "secret" not in str(caught.value)

    asyncio.run(main())


def test_a_normal_response_is_read_whole_and_decoded() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        import gzip

        return httpx.Response(200, content=gzip.compress(b'{"ok": true}'), headers={"content-encoding": "gzip"})

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            response = await bounded_request(client, "GET", "http://h/", deadline=5, max_bytes=100)
        assert response.json() == {"ok": True}

    asyncio.run(main())
