"""The HTTP client both the source and the sink talk to Langfuse through.

Why not the SDK?  ``Langfuse.create_score`` in SDK 5 is fire-and-forget: it
puts the score on a queue that a daemon thread sends in the background; it
returns ``None``, logs (and drops) a batch that still fails after 3 tries, and
logs a 207 partial answer with "Rejected scores are not retried".  A sink must
say which score was not written, so it cannot be built on that.  The SDK's
generated API client (``langfuse.api.AsyncLangfuseAPI``) would give the
requests but not the control we need: it hides ``Retry-After``, retries on its
own schedule, has no shared concurrency limit, parses every page into pydantic
models (slow on megabyte payloads) and speaks only the array dialect of
``POST /api/public/scores``.  So this is a small ``httpx.AsyncClient`` wrapper.

Retries use tenacity (a dependency already) rather than httpx transport
retries: httpx's ``retries=`` only retries failed *connects*, not a 5xx, a 429
or a connection dropped mid-response, and knows nothing of ``Retry-After``.
Concurrency is adaptive (see `AdaptiveLimiter`): a 429 pauses new requests
until the server's ``Retry-After`` has passed and resumes at no less than
half the previous concurrency; a 5xx or a dropped connection retries that
request alone, with jittered backoff.

On an executor's workers (``rmg eval --executor ray``, ``--workers N``)
each running unit has its own client; ``max_concurrency`` is the
project's limit, shared: each client takes ``max_concurrency // units
running at once`` (at least one, `rmg_kit.share_of`), so N workers send no
more than one process would.  A 429 pauses the client that received it for its
``Retry-After``; the other workers pause on their own next 429, as the
server limits the whole project.

``requests_per_minute`` (off by default) spaces requests evenly to a plan's
limit with aiolimiter's leaky bucket (a small, well-kept asyncio limiter),
shared the same way: N units running at once each send 1/N of it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, Any, Mapping, Optional

from rmg_core import RmgError
from rmg_kit import ResponseTooLarge, bounded_request, concurrent_copies, parse_retry_after, share_of

from .settings import ConnectionSettings, require_credentials

if TYPE_CHECKING:
    import httpx
    from aiolimiter import AsyncLimiter

log = logging.getLogger("rmg.langfuse")

_REDACTED = "[redacted]"


class LangfuseHTTPError(RmgError):
    """A request failed for good: not retryable, or still failing after the retry budget.

    ``status`` is the last HTTP status (``None`` for a connection failure).
    """

    def __init__(self, endpoint: str, status: Optional[int], message: str, attempts: int = 1) -> None:
        self.endpoint = endpoint
        self.status = status
        self.message = message
        self.attempts = attempts
        what = f"HTTP {status}" if status is not None else "connection failed"
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        super().__init__(f"{endpoint}: {what}{tries}: {message}")


class LangfuseReplyError(LangfuseHTTPError):
    """A 2xx reply that cannot be used: not JSON, the wrong JSON type, or a listing cursor that would loop."""


def first_bytes(content: bytes, limit: int = 120) -> str:
    """The start of a body, escaped (``repr`` of bytes): safe to show in a terminal."""
    head = repr(content[:limit])
    return head + ("..." if len(content) > limit else "") if content else "(empty body)"


def page_data(body: dict[str, Any], endpoint: str, status: int = 200) -> list[Any]:
    """The ``data`` list of a listing page (missing or null: empty); another type is a `LangfuseReplyError`."""
    data = body.get("data")
    if data is None:
        return []
    if not isinstance(data, list):
        raise LangfuseReplyError(endpoint, status, f"'data' is a {type(data).__name__}, not a list")
    return data


class CursorGuard:
    """The next cursor of a cursor-paged listing, refusing one that would make the listing loop forever."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._seen: set[str] = set()

    def next(self, body: dict[str, Any]) -> Optional[str]:
        """``meta.cursor`` of a page: None when the listing is done; `LangfuseReplyError` if it repeats or is not text."""
        meta = body.get("meta")
        cursor = meta.get("cursor") if isinstance(meta, Mapping) else None
        if cursor is None or cursor == "":
            return None
        if not isinstance(cursor, str):
            raise LangfuseReplyError(
                self.endpoint, 200, f"meta.cursor is a {type(cursor).__name__}, not a string "
                f"({ascii(cursor)[:80]}); the listing stops here",
            )
        if cursor in self._seen:
            raise LangfuseReplyError(
                self.endpoint, 200, f"the server sent cursor {ascii(cursor)[:80]} a second time; following it "
                "would repeat the listing forever, so it stops here",
            )
        self._seen.add(cursor)
        return cursor


class _Retryable(Exception):
    """An attempt that may succeed if repeated (429, 5xx, dropped connection)."""

    def __init__(self, status: Optional[int], message: str, retry_after: Optional[float] = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


class AdaptiveLimiter:
    """At most ``limit`` requests in flight (AIMD), and a shared pause when the server asks for one.

    A 429 pauses *new* requests until its ``Retry-After`` has passed (requests
    already in flight finish) and halves the limit, once per pause and never
    below half of ``maximum``: the pause is what brings the run down to the
    server's rate, and cutting concurrency on every 429 collapsed a long run
    to one request in flight.  Each success adds back about one request per
    round trip.  A 5xx or a dropped connection does not touch the limit: that
    request alone is retried with backoff.

    ``pauses`` and ``paused_seconds`` (the union of pause windows) say how
    long the server held the run back.
    """

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.floor = max(1.0, maximum / 2)
        self.limit = float(maximum)
        self.in_flight = 0
        self.pauses = 0
        self.paused_seconds = 0.0
        self._cond: Optional[asyncio.Condition] = None
        self._resume_at = 0.0
        self._last_cut = 0.0

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:  # made in the loop that uses it
            self._cond = asyncio.Condition()
        return self._cond

    async def acquire(self) -> float:
        """Wait for any pause and for a slot; returns the start time to pass to `release`."""
        cond = self._condition()
        while True:
            pause = self._resume_at - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
                continue
            async with cond:
                await cond.wait_for(lambda: self.in_flight < int(self.limit))
                if self._resume_at <= time.monotonic():  # no pause began while we waited for the slot
                    self.in_flight += 1
                    return time.monotonic()

    async def release(self, started: float, throttled: bool = False, retry_after: Optional[float] = None) -> None:
        cond = self._condition()
        async with cond:
            self.in_flight -= 1
            now = time.monotonic()
            if throttled:
                # Requests sent before the last cut saw the old limit: their 429s do not cut again.
                if started >= self._last_cut:
                    self.limit = max(self.floor, self.limit / 2)
                    self._last_cut = now
                if retry_after:
                    end = now + retry_after
                    if end > self._resume_at:
                        if self._resume_at <= now:
                            self.pauses += 1
                        self.paused_seconds += end - max(now, self._resume_at)
                        self._resume_at = end
            else:
                self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
            cond.notify_all()


class LangfuseClient:
    """Authenticated, retrying, rate-adaptive requests to one Langfuse project.

    Counts requests per endpoint in ``requests`` and retries in ``retries``.
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        component: str,
        transport: Optional["httpx.AsyncBaseTransport"] = None,
    ) -> None:
        import httpx

        public, secret = require_credentials(settings, component)
        token = base64.b64encode(f"{public}:{secret}".encode()).decode()
        # Everything that could leak the secret through a server echo or an
        # exception text is replaced before a message leaves this module.
        self._secrets = [s for s in (secret, token) if s]
        self.settings = settings
        self.component = component
        # On an executor, every running unit has a client of its own: together they keep to
        # max_concurrency (the project's limit), each taking its share.
        self.max_concurrency = share_of(settings.max_concurrency)
        self.limiter = AdaptiveLimiter(self.max_concurrency)
        #: Requests spaced ``60 / requests_per_minute`` seconds apart (this copy's share), or None for no limit.
        self.pace: Optional["AsyncLimiter"] = None
        if settings.requests_per_minute is not None:
            from aiolimiter import AsyncLimiter

            # A bucket of one: evenly spaced, no burst a per-minute window could count against the next.
            self.pace = AsyncLimiter(1, 60.0 * concurrent_copies() / settings.requests_per_minute)
        self.requests: Counter[str] = Counter()
        self.retries = 0
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            headers={"Authorization": f"Basic {token}", "User-Agent": "rmg-langfuse"},
            timeout=settings.timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency),
        )

    def __repr__(self) -> str:
        return f"LangfuseClient(base_url={self.settings.base_url!r})"

    async def get_json(
        self, path: str, *, params: Optional[Mapping[str, Any]] = None, label: Optional[str] = None, expect: type = dict
    ) -> Any:
        """GET ``path`` and return its JSON body (a dict by default); see `reply_json`."""
        response = await self.request("GET", path, params=params, label=label)
        return self.reply_json(response, label or f"GET {path}", expect)

    def reply_json(self, response: "httpx.Response", endpoint: str, expect: type = dict) -> Any:
        """The JSON body of a reply, of type ``expect``; else `LangfuseReplyError` with the status and first bytes."""
        status = response.status_code
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            head = self.redact(first_bytes(response.content))
            raise LangfuseReplyError(endpoint, status, f"the reply is not JSON; it starts with {head}") from None
        except RecursionError:
            raise LangfuseReplyError(endpoint, status, "the reply is JSON nested too deeply to read") from None
        if not isinstance(body, expect):
            what = "object" if expect is dict else "array" if expect is list else expect.__name__
            head = self.redact(first_bytes(response.content))
            raise LangfuseReplyError(endpoint, status, f"expected a JSON {what}, got {type(body).__name__}; it starts with {head}")
        return body

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return text

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[Mapping[str, Any]] = None,
        json: Any = None,
        label: Optional[str] = None,
    ) -> "httpx.Response":
        """Send one request, retrying 429/5xx/connection errors; a 2xx response or `LangfuseHTTPError`."""
        from tenacity import AsyncRetrying, RetryError, retry_if_exception_type, stop_after_attempt
        from tenacity.wait import wait_random_exponential

        endpoint = label or f"{method} {path}"
        settings = self.settings
        # Full jitter: concurrent requests that failed together retry apart.
        backoff = wait_random_exponential(multiplier=settings.backoff_initial, max=settings.backoff_max)

        def wait(state: Any) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Retryable) and exc.retry_after is not None:
                return exc.retry_after
            return float(backoff(state))

        def before_sleep(state: Any) -> None:
            self.retries += 1
            exc = state.outcome.exception()
            log.debug("%s: retry %d after %s", endpoint, state.attempt_number, getattr(exc, "message", exc))

        attempts = 0
        retrying = AsyncRetrying(
            stop=stop_after_attempt(settings.max_retries + 1),
            retry=retry_if_exception_type(_Retryable),
            wait=wait,
            before_sleep=before_sleep,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    return await self._attempt(method, path, endpoint, params, json)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            assert isinstance(last, _Retryable)
            raise LangfuseHTTPError(endpoint, last.status, last.message, attempts) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self, method: str, path: str, endpoint: str, params: Optional[Mapping[str, Any]], body: Any
    ) -> "httpx.Response":
        import httpx

        if self.pace is not None:
            await self.pace.acquire()
        started = await self.limiter.acquire()
        self.requests[endpoint] += 1
        throttled, retry_after = False, None
        try:
            try:
                # A total deadline and a size cap: httpx's timeout bounds each read only, so a
                # server dripping a byte a second, or sending an endless body, would never stop.
                response = await bounded_request(
                    self._http, method, path, deadline=self.settings.timeout,
                    max_bytes=self.settings.max_response_bytes, params=params, json=body,
                )
            except ResponseTooLarge as exc:
                raise LangfuseHTTPError(
                    endpoint, None, f"{self.redact(str(exc))}; lower page_size or raise max_response_bytes",
                ) from None
            except httpx.TransportError as exc:
                # A dropped or refused connection, or a timeout: worth repeating.
                raise _Retryable(None, self.redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)) from None
            status = response.status_code
            if 200 <= status < 300:
                return response
            message = self._message(response)
            if status == 429:
                throttled = True
                asked = parse_retry_after(response.headers.get("Retry-After"))
                if asked is not None and asked > self.settings.max_retry_after:
                    # Not a pause for the other requests either: they fail on their own.
                    raise LangfuseHTTPError(
                        endpoint, status,
                        f"rate limited; the server asks to wait {asked:.0f}s, more than "
                        f"max_retry_after={self.settings.max_retry_after:g}s: {message}",
                    )
                retry_after = asked
                raise _Retryable(status, message, retry_after)
            if status >= 500:
                raise _Retryable(status, message)
            if status in (401, 403):
                message += (
                    " (check LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY and that base_url "
                    f"{self.settings.base_url} is the project's server)"
                )
            raise LangfuseHTTPError(endpoint, status, message)
        finally:
            await self.limiter.release(started, throttled, retry_after)

    def _message(self, response: "httpx.Response") -> str:
        """The server's error message, short and with any secret removed."""
        text = ""
        try:
            body = response.json()
        except ValueError:
            text = response.text
        else:
            if isinstance(body, Mapping):
                text = str(body.get("message") or body.get("error") or body)
            else:
                text = str(body)
        text = " ".join(text.split())[:500] or (response.reason_phrase or "no message")
        return self.redact(text)
