"""Small HTTP helpers shared by plugins that talk to rate-limited APIs.

httpx is imported inside the functions: ``import rmg_core`` must stay light.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from typing import TYPE_CHECKING, Any, Optional

from rmg_core import RmgError

if TYPE_CHECKING:
    import httpx

#: Headers that describe the body as sent, not the decoded body we keep.
_BODY_HEADERS = ("content-encoding", "transfer-encoding", "content-length")

#: Default cap on one response body: far above any API page rmg reads, far below a runaway server.
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024


class ResponseTooLarge(RmgError):
    """A response body went past the size limit; reading stopped there (not worth retrying)."""


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None.

    A date in the past, or a negative number, means "retry now" (0.0); a value
    that is neither a number nor a date is ignored (None).
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds)


async def bounded_request(
    client: "httpx.AsyncClient",
    method: str,
    url: str,
    *,
    deadline: float,
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    **kwargs: Any,
) -> "httpx.Response":
    """Send a request and read its whole body within ``deadline`` seconds and ``max_bytes`` bytes.

    httpx's own timeouts bound each read, not the whole exchange: a server
    that sends one byte a second never times out, and an endless body fills
    memory.  Here the whole request (connect, send, every read) must finish in
    ``deadline`` seconds, else `httpx.ReadTimeout` is raised (a timeout, so
    retry logic treats it like one); a body past ``max_bytes`` raises
    `ResponseTooLarge` naming the URL and the limit.  The returned response
    has its body read (``response.content`` works, the connection is released).
    """
    import httpx

    request = client.build_request(method, url, **kwargs)

    async def exchange() -> httpx.Response:
        response = await client.send(request, stream=True)
        try:
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise ResponseTooLarge(_too_large(method, request.url, max_bytes, f"it declares {int(declared):,} bytes"))
            chunks: list[bytes] = []
            size = 0
            # Decoded bytes are counted, so a small gzip bomb is stopped too.
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise ResponseTooLarge(_too_large(method, request.url, max_bytes, "reading stopped there"))
                chunks.append(chunk)
        finally:
            await response.aclose()
        # A complete, decoded response, so callers use .content and .json() as usual.
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _BODY_HEADERS]
        return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks), request=request)

    try:
        return await asyncio.wait_for(exchange(), deadline)
    except asyncio.TimeoutError:
        raise httpx.ReadTimeout(f"{method} {_safe_url(request.url)} did not complete within {deadline:g}s", request=request) from None


def _safe_url(url: Any) -> str:
    """The URL without credentials or a query string (which may hold an API key)."""
    text = str(url)
    try:
        import httpx

        u = httpx.URL(text)
        return str(u.copy_with(username=None, password=None, query=None))
    except Exception:
        return text.split("?", 1)[0]


def _too_large(method: str, url: Any, limit: int, detail: str) -> str:
    return f"{method} {_safe_url(url)}: the response is larger than {limit:,} bytes ({detail})"
