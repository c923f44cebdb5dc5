"""The ``openai`` backend: any OpenAI-compatible ``POST {base_url}/embeddings`` (OpenAI, vLLM, Ollama, TEI).

Texts are sent ``batch_size`` at a time, at most ``max_in_flight`` requests
at once.  429 and 5xx answers and transport errors are retried up to
``max_retries`` times, waiting what ``Retry-After`` says (capped at
``retry_backoff_max``) or ``retry_backoff * 2**attempt``.  Every exchange goes
through `rmg_kit.bounded_request`: a total deadline (``request_timeout``)
and a cap on the body (``max_response_bytes``).  A batch that still fails,
or an answer that is not a list of equal-length finite vectors, is an
`EmbeddingError` for the cases that needed it; the others are scored.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from rmg_kit import ResponseTooLarge, bounded_request, parse_retry_after

_MAX_ERROR_TEXT = 200


class EmbeddingError(Exception):
    """A batch of texts could not be embedded; the message says why (never the API key)."""


@dataclass(frozen=True)
class Endpoint:
    url: str
    model: str
    api_key: Optional[str]
    batch_size: int
    max_in_flight: int
    request_timeout: float
    max_retries: int
    retry_backoff: float
    retry_backoff_max: float
    max_response_bytes: int

    def __repr__(self) -> str:  # the key never reaches a log
        return f"Endpoint(url={self.url!r}, model={self.model!r})"


async def embed_all(endpoint: Endpoint, texts: Sequence[str]) -> list[Any]:
    """One entry per text: its vector (a list of floats) or the `EmbeddingError` of its batch."""
    import httpx

    out: list[Any] = [None] * len(texts)
    semaphore = asyncio.Semaphore(endpoint.max_in_flight)
    limits = httpx.Limits(max_connections=endpoint.max_in_flight, max_keepalive_connections=endpoint.max_in_flight)
    async with httpx.AsyncClient(timeout=httpx.Timeout(endpoint.request_timeout), limits=limits) as client:

        async def one_batch(start: int) -> None:
            batch = list(texts[start:start + endpoint.batch_size])
            async with semaphore:
                try:
                    vectors: list[Any] = await _request(client, endpoint, batch)
                except EmbeddingError as exc:
                    vectors = [exc] * len(batch)
            out[start:start + len(batch)] = vectors

        await asyncio.gather(*(one_batch(s) for s in range(0, len(texts), endpoint.batch_size)))
    return out


async def _request(client: Any, endpoint: Endpoint, batch: list[str]) -> list[list[float]]:
    import httpx

    headers = {"Content-Type": "application/json"}
    if endpoint.api_key:
        headers["Authorization"] = f"Bearer {endpoint.api_key}"
    payload = {"model": endpoint.model, "input": batch, "encoding_format": "float"}
    last = "no attempt"
    for attempt in range(endpoint.max_retries + 1):
        wait: Optional[float] = None
        try:
            response = await bounded_request(client, "POST", endpoint.url, deadline=endpoint.request_timeout,
                                             max_bytes=endpoint.max_response_bytes, json=payload, headers=headers)
        except ResponseTooLarge as exc:
            raise EmbeddingError(str(exc)) from None
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {str(exc)[:_MAX_ERROR_TEXT]}"
        else:
            if response.status_code == 200:
                return _vectors(response, len(batch), endpoint)
            body = response.text[:_MAX_ERROR_TEXT].replace("\n", " ")
            last = f"HTTP {response.status_code} from {endpoint.url}: {body!r}"
            if response.status_code != 429 and response.status_code < 500:
                hint = "; check setting 'api_key' (or OPENAI_API_KEY)" if response.status_code in (401, 403) else ""
                raise EmbeddingError(last + hint)
            wait = parse_retry_after(response.headers.get("retry-after"))
        if attempt < endpoint.max_retries:
            backoff = endpoint.retry_backoff * 2 ** attempt if wait is None else wait
            await asyncio.sleep(min(backoff, endpoint.retry_backoff_max))
    raise EmbeddingError(f"embedding request failed after {endpoint.max_retries + 1} attempt(s): {last}")


def _vectors(response: Any, expected: int, endpoint: Endpoint) -> list[list[float]]:
    """The vectors of an OpenAI-style answer, in input order; anything else is an `EmbeddingError`."""
    where = f"the answer of {endpoint.url}"
    try:
        body = response.json()
    except ValueError:
        raise EmbeddingError(f"{where} is not JSON: {response.text[:_MAX_ERROR_TEXT]!r}") from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or len(data) != expected:
        got = f"{len(data)} items" if isinstance(data, list) else type(data).__name__
        raise EmbeddingError(f"{where} has no 'data' list of {expected} embeddings (got {got})")
    vectors: list[Any] = [None] * expected
    dim = None
    for position, item in enumerate(data):
        index = item.get("index", position) if isinstance(item, dict) else None
        vector = item.get("embedding") if isinstance(item, dict) else None
        if not isinstance(index, int) or not 0 <= index < expected or vectors[index] is not None:
            raise EmbeddingError(f"{where}: item {position} has a bad or repeated 'index' {index!r}")
        if (not isinstance(vector, list) or not vector
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in vector)):
            raise EmbeddingError(f"{where}: item {position}'s 'embedding' is not a list of finite numbers")
        if dim is None:
            dim = len(vector)
        elif len(vector) != dim:
            raise EmbeddingError(f"{where}: embeddings of different lengths ({dim} and {len(vector)})")
        vectors[index] = vector
    return vectors


__all__ = ["Endpoint", "EmbeddingError", "embed_all"]
