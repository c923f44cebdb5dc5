"""Listing traces page by page: ``GET /api/public/v2/observations`` (roots) or the legacy ``GET /api/public/traces``.

Both are turned into the same flat shape (`TraceRow`), so the source's
filtering, sampling and mapping do not care which API answered.

In Langfuse v4 a trace is no longer stored on its own: its root observation
carries the trace's input, output, metadata and (in the ``trace_context``
field group) its name, tags and release.  The trace timestamp is the root's
``startTime``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Literal, Optional, Sequence

from .client import CursorGuard, LangfuseClient, page_data

V2_PATH = "/api/public/v2/observations"
LEGACY_PATH = "/api/public/traces"
#: Only the field groups the source uses: not model, usage, prompt, metrics, time.
V2_FIELDS = "core,basic,io,metadata,trace_context"

Api = Literal["v2", "legacy"]


@dataclass(frozen=True)
class TraceQuery:
    """The server-side filters of one listing (all optional)."""

    from_timestamp: Optional[datetime] = None
    to_timestamp: Optional[datetime] = None
    name: Optional[str] = None
    tags: tuple[str, ...] = ()
    user_id: Optional[str] = None
    session_id: Optional[str] = None
    environment: tuple[str, ...] = ()
    release: Optional[str] = None
    version: Optional[str] = None
    expand_metadata: tuple[str, ...] = ()
    page_size: int = 100


MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


@dataclass
class TraceRow:
    """One trace as listed, before it becomes an `EvalCase`.

    A field the server did not return is ``MISSING`` (not ``None``), so a
    client-side filter can tell "not sent" from "empty".
    """

    id: Optional[str]
    timestamp: Any
    input: Any
    output: Any
    metadata: Any
    name: Any
    tags: Any
    user_id: Any
    session_id: Any
    environment: Any
    release: Any
    version: Any
    observation_id: Optional[str] = None
    is_physical_root: bool = True
    #: Why the trace's content could not be read (it becomes a per-trace CaseError); None when it could.
    unreadable: Optional[str] = None
    #: The root observation's ``endTime`` (v2; None while it runs); MISSING from the legacy API.
    end_time: Any = MISSING




def iso(value: datetime) -> str:
    """UTC ISO 8601 with a ``Z``: a ``+00:00`` offset would need escaping in a query string."""
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: Deepest JSON nesting accepted in a trace's input, output or metadata.  Far above any real
#: chat transcript; far below what would exhaust Python's stack in the code that reads it later.
MAX_NESTING = 200


class NestedTooDeep(ValueError):
    """Trace JSON nested deeper than `MAX_NESTING` (text written by an application's end user can be)."""


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:  # iterative: the point is not to recurse
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def check_nesting(value: Any) -> Any:
    """``value`` itself, or `NestedTooDeep` when it (already parsed JSON, as the legacy API sends it) is too deep."""
    if isinstance(value, (dict, list)) and _deeper_than(value, MAX_NESTING):
        raise NestedTooDeep(f"JSON nested deeper than {MAX_NESTING} levels")
    return value


def parse_io(value: Any) -> Any:
    """Input/output/metadata that arrive as JSON text (v2 always sends raw strings) become JSON values.

    Only text that is a JSON object, array or string is parsed: ``"42"`` or
    ``"true"`` stay the text the application produced.  JSON nested deeper
    than `MAX_NESTING` raises `NestedTooDeep` (never a `RecursionError`).
    """
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "[", '"') and stripped[-1:] in ("}", "]", '"') and len(stripped) > 1:
            try:
                parsed = json.loads(stripped)
            except ValueError:
                return value
            except RecursionError:
                raise NestedTooDeep(f"JSON nested deeper than {MAX_NESTING} levels") from None
            if stripped.count("[") + stripped.count("{") > MAX_NESTING and _deeper_than(parsed, MAX_NESTING):
                raise NestedTooDeep(f"JSON nested deeper than {MAX_NESTING} levels")
            return parsed
    return value


def _v2_filter(query: TraceQuery) -> str:
    """The structured ``filter`` parameter: needed for trace name and tags, which have no query parameter."""
    conditions: list[dict[str, Any]] = [
        {"type": "boolean", "column": "isRootObservation", "operator": "=", "value": True},
    ]
    if query.from_timestamp:
        conditions.append({"type": "datetime", "column": "startTime", "operator": ">=", "value": iso(query.from_timestamp)})
    if query.to_timestamp:
        conditions.append({"type": "datetime", "column": "startTime", "operator": "<", "value": iso(query.to_timestamp)})
    if query.name is not None:
        conditions.append({"type": "string", "column": "traceName", "operator": "=", "value": query.name})
    if query.tags:
        conditions.append({"type": "arrayOptions", "column": "traceTags", "operator": "all of", "value": list(query.tags)})
    for column, value in (("userId", query.user_id), ("sessionId", query.session_id), ("version", query.version)):
        if value is not None:
            conditions.append({"type": "string", "column": column, "operator": "=", "value": value})
    if query.environment:
        conditions.append({"type": "stringOptions", "column": "environment", "operator": "any of", "value": list(query.environment)})
    return json.dumps(conditions, separators=(",", ":"))


def v2_params(query: TraceQuery) -> dict[str, Any]:
    params: dict[str, Any] = {"fields": V2_FIELDS, "limit": query.page_size}
    if query.expand_metadata:
        params["expandMetadata"] = ",".join(query.expand_metadata)
    if query.name is not None or query.tags:
        # ``filter`` takes precedence over every query-parameter filter, so
        # when it is needed all conditions go into it.
        params["filter"] = _v2_filter(query)
        return params
    params["isRootObservation"] = "true"
    optional = {
        "userId": query.user_id,
        "sessionId": query.session_id,
        "version": query.version,
        "fromStartTime": iso(query.from_timestamp) if query.from_timestamp else None,
        "toStartTime": iso(query.to_timestamp) if query.to_timestamp else None,
    }
    params.update({k: v for k, v in optional.items() if v is not None})
    if query.environment:
        params["environment"] = list(query.environment)
    return params


def legacy_params(query: TraceQuery, page: int) -> dict[str, Any]:
    params: dict[str, Any] = {
        "page": page,
        "limit": query.page_size,
        # Oldest first: traces arriving during the run land after the last
        # page instead of shifting the pages still to be read.
        "orderBy": "timestamp.asc",
        "fields": "core,io",
    }
    optional = {
        "name": query.name,
        "userId": query.user_id,
        "sessionId": query.session_id,
        "release": query.release,
        "version": query.version,
        "fromTimestamp": iso(query.from_timestamp) if query.from_timestamp else None,
        "toTimestamp": iso(query.to_timestamp) if query.to_timestamp else None,
    }
    params.update({k: v for k, v in optional.items() if v is not None})
    if query.tags:
        params["tags"] = list(query.tags)
    if query.environment:
        params["environment"] = list(query.environment)
    return params


def _row_from_v2(obs: dict[str, Any]) -> TraceRow:
    get = obs.get
    return TraceRow(
        id=get("traceId"),
        timestamp=get("startTime"),
        input=get("input"),
        output=get("output"),
        metadata=get("metadata"),
        name=get("traceName", MISSING),
        tags=get("tags", MISSING),
        user_id=get("userId", MISSING),
        session_id=get("sessionId", MISSING),
        environment=get("environment", MISSING),
        release=get("release", MISSING),
        version=get("version", MISSING),
        observation_id=get("id"),
        is_physical_root=get("parentObservationId") is None,
        end_time=get("endTime"),
    )


def _row_from_legacy(trace: dict[str, Any]) -> TraceRow:
    get = trace.get
    return TraceRow(
        unreadable=get("_unreadable"),
        id=get("id"),
        timestamp=get("timestamp"),
        input=get("input"),
        output=get("output"),
        metadata=get("metadata"),
        name=get("name", MISSING),
        tags=get("tags", MISSING),
        user_id=get("userId", MISSING),
        session_id=get("sessionId", MISSING),
        environment=get("environment", MISSING),
        release=get("release", MISSING),
        version=get("version", MISSING),
    )


def _prefer_physical_roots(rows: Sequence[TraceRow]) -> list[TraceRow]:
    """One row per trace in a page: a trace can have an app-root observation besides its physical root."""
    chosen: dict[Any, TraceRow] = {}
    order: list[Any] = []
    for row in rows:
        key = row.id if row.id else object()
        if key not in chosen:
            chosen[key] = row
            order.append(key)
        elif row.is_physical_root and not chosen[key].is_physical_root:
            chosen[key] = row
    return [chosen[key] for key in order]


async def v2_pages(client: LangfuseClient, query: TraceQuery) -> AsyncIterator[list[TraceRow]]:
    params = v2_params(query)
    endpoint = f"GET {V2_PATH}"
    cursors = CursorGuard(endpoint)
    while True:
        body = await client.get_json(V2_PATH, params=params)
        rows = [_row_from_v2(obs) for obs in page_data(body, endpoint) if isinstance(obs, dict)]
        yield _prefer_physical_roots(rows)
        cursor = cursors.next(body)
        if cursor is None or not rows:
            return
        params["cursor"] = cursor


def _too_deep(exc: Exception) -> bool:
    from .client import LangfuseReplyError

    return isinstance(exc, LangfuseReplyError) and "nested too deeply" in exc.message


async def _legacy_page_trace_by_trace(client: LangfuseClient, query: TraceQuery, page: int) -> dict[str, Any]:
    """A legacy page whose JSON is nested too deeply to parse: its ids, then each trace on its own.

    The legacy API returns input and output as JSON inside the page, so one
    trace an end user filled with ``[[[[...`` would make the whole page
    unreadable; here only that trace is (a per-trace CaseError).
    """
    from .client import LangfuseHTTPError

    params = {**legacy_params(query, page), "fields": "core"}
    body = await client.get_json(LEGACY_PATH, params=params)
    traces: list[Any] = []
    for item in page_data(body, f"GET {LEGACY_PATH}"):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        try:
            traces.append(await _legacy_trace(client, item["id"]) or item)
        except LangfuseHTTPError as exc:
            if not _too_deep(exc):
                raise
            traces.append({**item, "_unreadable": "JSON nested too deeply to read"})
    return {**body, "data": traces}


async def legacy_pages(client: LangfuseClient, query: TraceQuery) -> AsyncIterator[list[TraceRow]]:
    from .client import LangfuseHTTPError

    page = 1
    while True:
        try:
            body = await client.get_json(LEGACY_PATH, params=legacy_params(query, page))
        except LangfuseHTTPError as exc:
            if not _too_deep(exc):
                raise
            body = await _legacy_page_trace_by_trace(client, query, page)
        rows = [_row_from_legacy(t) for t in page_data(body, f"GET {LEGACY_PATH}") if isinstance(t, dict)]
        yield rows
        total_pages = (body.get("meta") or {}).get("totalPages")
        if not rows or (isinstance(total_pages, int) and page >= total_pages):
            return
        page += 1


async def v2_rows_of_trace(client: LangfuseClient, trace_id: str, query: TraceQuery) -> list[TraceRow]:
    """The root row of one trace by id (``GET /api/public/v2/observations?traceId=...``); empty if it is gone."""
    params: dict[str, Any] = {"fields": V2_FIELDS, "limit": 10, "traceId": trace_id, "isRootObservation": "true"}
    if query.expand_metadata:
        params["expandMetadata"] = ",".join(query.expand_metadata)
    label = f"GET {V2_PATH}?traceId"
    body = await client.get_json(V2_PATH, params=params, label=label)
    rows = [_row_from_v2(obs) for obs in page_data(body, label) if isinstance(obs, dict)]
    return _prefer_physical_roots([r for r in rows if r.id == trace_id])[:1]


async def legacy_row_of_trace(client: LangfuseClient, trace_id: str) -> list[TraceRow]:
    """One trace by id (``GET /api/public/traces/{traceId}``); empty if the server says 404."""
    from .client import LangfuseHTTPError

    try:
        body = await _legacy_trace(client, trace_id)
    except LangfuseHTTPError as exc:
        if _too_deep(exc):
            return [TraceRow(trace_id, *(MISSING,) * 11, unreadable="JSON nested too deeply to read")]
        raise
    return [_row_from_legacy(body)] if body is not None else []


async def _legacy_trace(client: LangfuseClient, trace_id: str) -> Optional[dict[str, Any]]:
    """``GET /api/public/traces/{traceId}`` (core and io); None when the server says 404."""
    from urllib.parse import quote

    from .client import LangfuseHTTPError

    try:
        return await client.get_json(
            f"{LEGACY_PATH}/{quote(trace_id, safe='')}", params={"fields": "core,io"},
            label=f"GET {LEGACY_PATH}/{{traceId}}",
        )
    except LangfuseHTTPError as exc:
        if exc.status == 404:
            return None
        raise
