"""Reading existing scores of many traces at once (``GET /api/public/v3/scores``).

The v3 endpoint takes ``traceId`` and ``name`` as comma-separated lists, so
the scores of a whole page of traces come back in one request (plus one per
further page of at most 100 scores): never one request per trace.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Iterable, Sequence

from .client import LangfuseClient

SCORES_PATH = "/api/public/v3/scores"
#: Trace ids per request: keeps the URL well under the 8 KB many proxies allow.
TRACE_IDS_PER_REQUEST = 100
#: The endpoint's maximum page size.
SCORES_PAGE_LIMIT = 100


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


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
        params: dict[str, Any] = {
            "traceId": ",".join(chunk),
            "limit": SCORES_PAGE_LIMIT,
            "fields": fields,
        }
        if names:
            params["name"] = ",".join(dict.fromkeys(names))
        cursor = None
        while True:
            if cursor:
                params["cursor"] = cursor
            response = await client.request("GET", SCORES_PATH, params=params)
            body = response.json()
            for score in body.get("data") or ():
                yield score
            cursor = (body.get("meta") or {}).get("cursor")
            if not cursor:
                break


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
