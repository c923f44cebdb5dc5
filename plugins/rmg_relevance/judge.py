"""The llm backend: one chat-completions call per case to an OpenAI-compatible endpoint.

httpx and tenacity are imported inside methods: this module is imported when
the grader is built, not when the plugin registers.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from pydantic import SecretStr

from rmg_core import GraderError, GraderResult, GraderScore
from rmg_kit import ResponseTooLarge, bounded_request, parse_retry_after

from .cache import VerdictCache, cache_key
from .rubric import RUBRIC_VERSION, MalformedVerdict, build_messages, normalise, parse_verdict
from .usage import JudgeUsage

log = logging.getLogger("rmg.relevance")

#: Statuses worth another try: the server is busy or broke, the request was fine.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504}) | frozenset(range(520, 530))
_RAW_LIMIT = 4000
#: Statuses that say the key is wrong or not allowed: the same for every trace, so after a few the judge stops asking.
AUTH_STATUSES = frozenset({401, 403})
#: Consecutive auth refusals after which no more requests are sent this run (one could be a blip).
AUTH_REFUSALS_TO_STOP = 3
#: A chat completion with a one-sentence verdict is a few KB; anything far larger is a broken or hostile server.
MAX_RESPONSE_BYTES = 4 * 1024 * 1024


class JudgeStopped(Exception):
    """The judge refused the key repeatedly; no more requests are sent."""


class JudgeHTTPError(Exception):
    """The endpoint answered with an HTTP error status."""

    def __init__(self, status: int, body: str, retry_after: Optional[float]) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.retry_after = retry_after


@dataclass
class JudgeConfig:
    """What the judge needs, resolved from settings and environment."""

    base_url: str
    model: str
    api_key: SecretStr
    timeout: float
    max_retries: int
    retry_backoff: float
    retry_backoff_max: float
    max_in_flight: int
    temperature: float
    max_chars: int
    cache_dir: Optional[Path]

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/chat/completions"


class _LoopState:
    """The asyncio objects of one event loop: they must not cross loops."""

    def __init__(self, config: JudgeConfig) -> None:
        import httpx

        self.semaphore = asyncio.Semaphore(config.max_in_flight)
        #: Requests in flight by cache key: an identical pair waits for the same answer instead of asking again.
        self.in_flight: dict[str, "asyncio.Future[GraderResult]"] = {}
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(config.timeout),
            limits=httpx.Limits(
                max_connections=config.max_in_flight, max_keepalive_connections=config.max_in_flight
            ),
        )


class LLMJudge:
    """Grades one (question, answer) pair with a judge model; caches verdicts on disk."""

    def __init__(self, config: JudgeConfig) -> None:
        self.config = config
        self.cache = VerdictCache(config.cache_dir) if config.cache_dir is not None else None
        # The grader may be awaited from several event loops over its life
        # (asyncio.run twice, a notebook, worker threads): one state per loop.
        self._states: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState]" = (
            weakref.WeakKeyDictionary()
        )
        self._states_lock = threading.Lock()
        # Consecutive 401/403 answers, and the error that stopped the judge once they reached the limit.
        self._auth_refusals = 0
        self._stopped: Optional[str] = None
        self.usage = JudgeUsage(model=config.model)

    def __repr__(self) -> str:
        return f"LLMJudge(base_url={self.config.base_url!r}, model={self.config.model!r})"

    # -- plumbing -------------------------------------------------------------
    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        with self._states_lock:
            state = self._states.get(loop)
            if state is None:
                state = self._states[loop] = _LoopState(self.config)
            return state

    async def aclose(self) -> None:
        """Close the HTTP client of the running event loop (others close with their loop)."""
        loop = asyncio.get_running_loop()
        with self._states_lock:
            state = self._states.pop(loop, None)
        if state is not None:
            await state.client.aclose()

    def _redact(self, text: str) -> str:
        secret = self.config.api_key.get_secret_value()
        return text.replace(secret, "***") if secret else text

    def _wait_seconds(self, retry_state: Any) -> float:
        from tenacity import wait_random_exponential

        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, JudgeHTTPError) and exc.retry_after is not None:
            return min(exc.retry_after, self.config.retry_backoff_max)
        # Full jitter: many workers hitting one rate limit must not retry in step.
        jitter = wait_random_exponential(multiplier=self.config.retry_backoff, max=self.config.retry_backoff_max)
        return float(jitter(retry_state))

    async def _post_once(self, body: dict[str, Any]) -> dict[str, Any]:
        state = self._state()
        headers = {"Authorization": f"Bearer {self.config.api_key.get_secret_value()}"}
        async with state.semaphore:
            if self._stopped is not None:  # decided while this request waited for a slot
                raise JudgeStopped(self._stopped)
            # The timeout is a deadline for the whole exchange: httpx's own bounds each read only,
            # so a server trickling one byte a second would never time out.
            self.usage.requests += 1
            response = await bounded_request(
                state.client, "POST", self.config.endpoint, deadline=self.config.timeout,
                max_bytes=MAX_RESPONSE_BYTES, json=body, headers=headers,
            )
        if response.status_code in AUTH_STATUSES:
            self._auth_refusals += 1
        elif response.status_code == 200:
            self._auth_refusals = 0
        if response.status_code != 200:
            raise JudgeHTTPError(
                response.status_code,
                response.text[:500],
                parse_retry_after(response.headers.get("retry-after")),
            )
        try:
            payload = response.json()
        except ValueError:
            raise MalformedVerdict(f"the endpoint's response is not JSON: {response.text[:_RAW_LIMIT]}") from None
        if not isinstance(payload, dict):
            raise MalformedVerdict(f"the endpoint's response is not a JSON object: {response.text[:_RAW_LIMIT]}")
        self.usage.add_usage(payload)
        return payload

    async def _complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST with retries on 408/429/5xx and connection errors; returns the response JSON."""
        import httpx
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, JudgeHTTPError):
                return exc.status in RETRY_STATUSES
            # A read timeout means the server has the request and is slow: a
            # retry would double the cost and the wait, so only failures to
            # connect or a dropped connection are retried.
            return isinstance(exc, httpx.TransportError) and not isinstance(
                exc, (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout)
            )

        def before_sleep(retry_state: Any) -> None:
            self.usage.retries += 1
            exc = retry_state.outcome.exception()
            log.warning(
                "relevance judge at %s: %s on attempt %d; retrying in %.2fs",
                self.config.base_url, self._redact(_describe(exc)), retry_state.attempt_number,
                retry_state.next_action.sleep if retry_state.next_action else 0.0,
            )

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.config.max_retries + 1),
            wait=self._wait_seconds,
            retry=retry_if_exception(retryable),
            before_sleep=before_sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._post_once(body)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    # -- grading --------------------------------------------------------------
    async def grade(self, question: str, answer: str) -> GraderResult:
        """The judge's verdict on one pair: from the cache, from an identical request in flight, or asked."""
        cfg = self.config
        key = cache_key(question, answer, base_url=cfg.base_url, model=cfg.model, rubric_version=RUBRIC_VERSION,
                        temperature=cfg.temperature, max_chars=cfg.max_chars)
        meta: dict[str, Any] = {"backend": "llm", "model": cfg.model, "rubric_version": RUBRIC_VERSION}
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self.usage.cache_hits += 1
                rating, explanation = hit
                return GraderScore(
                    name="relevance", score=normalise(rating), reason=explanation,
                    metadata={**meta, "rating": rating, "cached": True},
                )
        in_flight = self._state().in_flight
        pending = in_flight.get(key)
        if pending is not None:
            # The same pair is being asked right now (duplicated traces, retried uploads): share its answer.
            self.usage.merged += 1
            try:
                result = await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this case itself is being cancelled
                return await self.grade(question, answer)  # the request it joined was cancelled (a timeout): ask anew
            return result.model_copy(update={"metadata": {**result.metadata, "merged": True}})
        future: "asyncio.Future[GraderResult]" = asyncio.get_running_loop().create_future()
        in_flight[key] = future
        try:
            result = await self._ask(question, answer, key, meta)
            future.set_result(result)
            return result
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            del in_flight[key]

    async def _ask(self, question: str, answer: str, key: str, meta: dict[str, Any]) -> GraderResult:
        """Send the pair to the judge (with retries) and parse its verdict."""
        cfg = self.config
        body = {
            "model": cfg.model,
            "messages": build_messages(question, answer, cfg.max_chars),
            "temperature": cfg.temperature,
        }
        if self._stopped is not None:
            return GraderError(name="relevance", error=self._stopped, metadata={**meta, "base_url": cfg.base_url, "gave_up": True})
        started = time.monotonic()
        try:
            payload = await self._complete(body)
        except JudgeStopped as exc:  # "gave_up": the run fails (exit 5) even if some cases were scored
            return GraderError(name="relevance", error=str(exc), metadata={**meta, "base_url": cfg.base_url, "gave_up": True})
        except JudgeHTTPError as exc:
            error = self._redact(
                f"relevance judge at {cfg.base_url} answered HTTP {exc.status}"
                f"{_after(cfg.max_retries, exc.status in RETRY_STATUSES)}: {exc.body[:200]}"
            )
            if exc.status in AUTH_STATUSES and self._auth_refusals >= AUTH_REFUSALS_TO_STOP and self._stopped is None:
                self._stopped = (
                    f"relevance judge at {cfg.base_url} refused the API key {self._auth_refusals} times in a row "
                    f"(HTTP {exc.status}), so no more requests are sent this run; check setting 'api_key' "
                    f"(or the environment variable OPENAI_API_KEY) and the key's access to model {cfg.model!r}"
                )
                log.error("%s", self._stopped)
            return GraderError(
                name="relevance", error=self._stopped or error,
                metadata={**meta, "status": exc.status, "base_url": cfg.base_url, "gave_up": self._stopped is not None},
            )
        except ResponseTooLarge as exc:
            return GraderError(
                name="relevance", error=self._redact(f"relevance judge at {cfg.base_url}: {exc}"),
                metadata={**meta, "base_url": cfg.base_url},
            )
        except MalformedVerdict as exc:
            return GraderError(
                name="relevance", error=self._redact(f"relevance judge at {cfg.base_url}: {exc}"),
                metadata={**meta, "raw_answer": self._redact(str(exc))[:_RAW_LIMIT]},
            )
        except Exception as exc:
            import httpx

            if isinstance(exc, httpx.TimeoutException):
                what = f"did not answer within {cfg.timeout:g}s (setting 'request_timeout', the whole request)"
                retried = not isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout))
            elif isinstance(exc, httpx.TransportError):
                what = f"could not be reached: {_describe(exc)}"
                retried = True
            else:
                raise
            return GraderError(
                name="relevance",
                error=self._redact(f"relevance judge at {cfg.base_url} {what}{_after(cfg.max_retries, retried)}"),
                metadata={**meta, "base_url": cfg.base_url, "exception": type(exc).__name__},
            )
        content = _message_content(payload)
        try:
            rating, explanation = parse_verdict(content)
        except MalformedVerdict as exc:
            raw = content if isinstance(content, str) else repr(payload)
            return GraderError(
                name="relevance",
                error=f"relevance judge ({cfg.model}) gave a malformed answer: {exc}",
                metadata={**meta, "raw_answer": self._redact(raw)[:_RAW_LIMIT]},
            )
        if self.cache is not None:
            self.cache.put(key, cfg.model, RUBRIC_VERSION, rating, explanation, self._redact(str(content))[:_RAW_LIMIT])
        return GraderScore(
            name="relevance", score=normalise(rating), reason=explanation,
            metadata={**meta, "rating": rating, "cached": False,
                      "latency_s": round(time.monotonic() - started, 4)},
        )


def _message_content(payload: dict[str, Any]) -> Any:
    """``choices[0].message.content`` of a chat-completions response, or None."""
    try:
        return payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None


def _after(max_retries: int, retried: bool) -> str:
    return f" after {max_retries + 1} attempts" if retried and max_retries > 0 else ""


def _describe(exc: Optional[BaseException]) -> str:
    if exc is None:
        return "no error"
    if isinstance(exc, JudgeHTTPError):
        return f"HTTP {exc.status}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
