"""Reading existing scores of many traces at once (``GET /api/public/v3/scores``).

The v3 endpoint takes ``traceId`` and ``name`` as comma-separated lists, so
the scores of a whole page of traces come back in one request (plus one per
further page of at most 100 scores): never one request per trace.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Iterable, Sequence

from .client import CursorGuard, LangfuseClient, LangfuseHTTPError, page_data

SCORES_PATH = "/api/public/v3/scores"
#: Trace ids per request: keeps the URL well under the 8 KB many proxies allow.
TRACE_IDS_PER_REQUEST = 100
#: The endpoint's maximum page size.
SCORES_PAGE_LIMIT = 100


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


async def _scores_of_chunk(
    client: LangfuseClient, chunk: Sequence[str], names: Sequence[str], fields: str
) -> AsyncIterator[dict[str, Any]]:
    params: dict[str, Any] = {"traceId": ",".join(chunk), "limit": SCORES_PAGE_LIMIT, "fields": fields}
    if names:
        params["name"] = ",".join(dict.fromkeys(names))
    cursors = CursorGuard(f"GET {SCORES_PATH}")
    while True:
        body = await client.get_json(SCORES_PATH, params=params)
        for score in page_data(body, f"GET {SCORES_PATH}"):
            if isinstance(score, dict):
                yield score
        cursor = cursors.next(body)
        if cursor is None:
            return
        params["cursor"] = cursor


async def scores_of_traces(
    client: LangfuseClient,
    trace_ids: Sequence[str],
    names: Sequence[str],
    *,
    details: bool = False,
) -> AsyncIterator[dict[str, Any]]:
    """Yield the scores named ``names`` on ``trace_ids`` (trace and observation scores).

    ``details`` adds comment and metadata to each score.  The ``subject``
    field group is always asked for, so callers can tell trace-level scores
    from observation-level ones.
    """
    unique = list(dict.fromkeys(trace_ids))
    fields = "subject,details" if details else "subject"
    for chunk in _chunks(unique, TRACE_IDS_PER_REQUEST):
        async for score in _scores_of_chunk(client, chunk, names, fields):
            yield score


async def stored_scores(
    client: LangfuseClient, trace_ids: Sequence[str], names: Sequence[str], wanted_ids: set[str]
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, LangfuseHTTPError]]:
    """The stored scores (with details) among ``wanted_ids``, by id, and the traces whose scores could not be read.

    Requests for different chunks of traces run concurrently (the client's
    limit bounds them); a chunk whose read fails after retries marks its
    traces unreadable with the error, and the other chunks still count.
    An id can have more than one stored row (written on two server days).
    """
    stored: dict[str, list[dict[str, Any]]] = {}
    unreadable: dict[str, LangfuseHTTPError] = {}

    async def one(chunk: Sequence[str]) -> None:
        found: list[dict[str, Any]] = []
        try:
            async for score in _scores_of_chunk(client, chunk, names, "subject,details"):
                if score.get("id") in wanted_ids:
                    found.append(score)
        except LangfuseHTTPError as exc:
            unreadable.update((trace_id, exc) for trace_id in chunk)
            return
        for score in found:
            stored.setdefault(score["id"], []).append(score)

    await asyncio.gather(*(one(chunk) for chunk in _chunks(list(dict.fromkeys(trace_ids)), TRACE_IDS_PER_REQUEST)))
    return stored, unreadable

def score_trace_id(score: dict[str, Any]) -> tuple[str | None, str | None]:
    """(trace id, observation id) a v3 score is attached to; (None, None) for session/experiment scores."""
    subject = score.get("subject")
    if not isinstance(subject, dict):
        # Servers that ignore ``fields=subject`` still filtered by trace id.
        return score.get("traceId"), score.get("observationId")
    kind = subject.get("kind")
    if kind == "trace":
        return subject.get("id"), None
    if kind == "observation":
        return subject.get("traceId"), subject.get("id")
    return None, None
