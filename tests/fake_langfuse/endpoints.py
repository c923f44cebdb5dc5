"""The public API endpoints the fake serves, as functions from a parsed request to ``(status, body)``.

Transport, auth, faults and spec validation live in `server`; these functions
only know the store and the request's query and body.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import datetime
from typing import Any, Callable, Optional, Sequence

from . import filters as flt
from .filters import BadRequest, Unsupported, raw_io
from .model import Observation, StoredScore, Trace, iso, parse_iso
from .store import ScoreRejected, Store

LANGFUSE_VERSION = "4.16.0"
_METADATA_LIMIT = 200


class Query:
    """Query parameters as sent (repeats kept), with typed getters that raise `BadRequest`."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs = list(pairs)

    def get(self, name: str) -> Optional[str]:
        for key, value in self.pairs:
            if key == name:
                return value
        return None

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def int(self, name: str, default: int, *, low: int, high: Optional[int] = None) -> int:
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(f"{name} must be an integer, got {raw!r}") from None
        if value < low or (high is not None and value > high):
            limit = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise BadRequest(f"{name} must be {limit}, got {value}")
        return value

    def bool(self, name: str) -> Optional[bool]:
        raw = self.get(name)
        if raw is None or raw == "":
            return None
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise BadRequest(f"{name} must be true or false, got {raw!r}")

    def datetime(self, name: str) -> Optional[datetime]:
        raw = self.get(name)
        if raw is None or raw == "":
            return None
        try:
            return parse_iso(raw)
        except ValueError:
            raise BadRequest(f"{name} must be an ISO 8601 datetime, got {raw!r}") from None

    def csv(self, name: str) -> Optional[list[str]]:
        raw = self.get(name)
        if raw is None or raw.strip() == "":
            return None
        return [part.strip() for part in raw.split(",") if part.strip()]


def _encode_cursor(payload: dict[str, Any], *, urlsafe: bool) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return (base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)).decode().rstrip("=")


def _decode_cursor(text: str, *, urlsafe: bool) -> dict[str, Any]:
    try:
        padded = text + "=" * (-len(text) % 4)
        raw = base64.urlsafe_b64decode(padded) if urlsafe else base64.b64decode(padded, validate=True)
        payload = json.loads(raw)
        if not isinstance(payload, dict) or "t" not in payload or "id" not in payload:
            raise ValueError("missing keys")
        return payload
    except (ValueError, binascii.Error):
        raise BadRequest(f"cursor {text[:40]!r} is not a cursor this server returned") from None


# ---------------------------------------------------------------- health, projects
def health() -> tuple[int, Any]:
    return 200, {"status": "OK", "version": LANGFUSE_VERSION}


def projects(project_id: str) -> tuple[int, Any]:
    return 200, {"data": [{
        "id": project_id,
        "name": "fake-project",
        "organization": {"id": "fake-org", "name": "Fake Org"},
        "metadata": {},
    }]}


# ---------------------------------------------------------------- v2 observations
_OBS_GROUPS = ("core", "basic", "time", "io", "metadata", "model", "usage", "prompt", "metrics", "trace_context")


def _metadata_v2(metadata: dict[str, Any], expand: set[str]) -> dict[str, str]:
    # The events table keeps metadata as string values; long ones are cut
    # unless their key is in expandMetadata.
    out: dict[str, str] = {}
    for key, value in metadata.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        out[key] = text if key in expand or len(text) <= _METADATA_LIMIT else text[:_METADATA_LIMIT]
    return out


def observation_v2(obs: Observation, trace: Trace, groups: set[str], project_id: str,
                   expand: set[str]) -> dict[str, Any]:
    """One ``ObservationV2`` with the requested field groups."""
    item: dict[str, Any] = {
        "id": obs.id,
        "traceId": obs.trace_id,
        "startTime": iso(obs.start_time),
        "endTime": iso(obs.end_time),
        "projectId": project_id,
        "parentObservationId": obs.parent_observation_id,
        "type": obs.type,
        # Required by the schema; null unless the model group is asked for.
        "modelId": None, "inputPrice": None, "outputPrice": None, "totalPrice": None,
    }
    if "basic" in groups:
        item.update({
            "name": obs.name, "level": obs.level, "statusMessage": obs.status_message,
            "version": obs.version, "environment": obs.environment, "bookmarked": trace.bookmarked,
            "public": trace.public, "userId": trace.user_id, "sessionId": trace.session_id,
            "isRootObservation": obs.is_root or obs.parent_observation_id is None,
        })
    if "time" in groups:
        item.update({"completionStartTime": iso(obs.completion_start_time),
                     "createdAt": iso(obs.created_at), "updatedAt": iso(obs.updated_at)})
    if "io" in groups:
        item.update({"input": raw_io(obs.input), "output": raw_io(obs.output)})
    if "metadata" in groups:
        item["metadata"] = _metadata_v2(obs.metadata, expand)
    if "model" in groups:
        item.update({"providedModelName": obs.model, "internalModelId": None,
                     "modelParameters": obs.model_parameters})
        if obs.model:
            item.update({"modelId": f"model-{obs.model}", "inputPrice": "0.00000015",
                         "outputPrice": "0.0000006", "totalPrice": None})
    if "usage" in groups:
        item.update({"usageDetails": dict(obs.usage_details), "costDetails": dict(obs.cost_details),
                     "totalCost": obs.total_cost, "usagePricingTierName": None})
    if "prompt" in groups:
        item.update({"promptId": None, "promptName": obs.prompt_name, "promptVersion": obs.prompt_version})
    if "metrics" in groups:
        item.update({"latency": obs.latency, "timeToFirstToken": obs.time_to_first_token})
    if "trace_context" in groups:
        item.update({"tags": list(trace.tags), "release": trace.release, "traceName": trace.name})
    return item


def _string_eq(value: str) -> Callable[[Any], bool]:
    return lambda v: v == value


def list_observations(store: Store, q: Query, project_id: str) -> tuple[int, Any]:
    """``GET /api/public/v2/observations``: newest first, keyset cursor on (startTime, id)."""
    if q.bool("parseIoAsJson"):
        raise BadRequest("parseIoAsJson=true is no longer supported; input/output are always raw strings")
    groups = set(q.csv("fields") or ["core", "basic"])
    unknown = groups - set(_OBS_GROUPS)
    if unknown:
        raise BadRequest(f"unknown field groups {sorted(unknown)}; available: {', '.join(_OBS_GROUPS)}")
    groups.add("core")
    limit = q.int("limit", 50, low=1, high=1000)
    expand = set(q.csv("expandMetadata") or [])

    params: list[flt.Condition] = []
    kind = "observations"
    for name in ("name", "userId", "sessionId", "type", "traceId", "level", "version"):
        value = q.get(name)
        if value:
            params.append(flt.param_condition(name, _string_eq(value), kind=kind))
    parent = q.get("parentObservationId")
    if parent is not None:
        params.append(flt.param_condition(
            "parentObservationId", (lambda v: v is None) if parent == "" else _string_eq(parent), kind=kind))
    is_root = q.bool("isRootObservation")
    if is_root is not None:
        params.append(flt.param_condition("isRootObservation", lambda v, want=is_root: bool(v) is want, kind=kind))
    envs = [e for e in q.getlist("environment") if e]
    if envs:
        params.append(flt.param_condition("environment", lambda v, s=set(envs): v in s, kind=kind))
    start_from, start_to = q.datetime("fromStartTime"), q.datetime("toStartTime")
    if start_from is not None:
        params.append(flt.param_condition("startTime", lambda v: v >= start_from, kind=kind))
    if start_to is not None:
        params.append(flt.param_condition("startTime", lambda v: v < start_to, kind=kind))
    conditions = flt.merge_conditions(flt.parse_filter(q.get("filter"), kind=kind), params)

    before = None
    cursor = q.get("cursor")
    if cursor:
        payload = _decode_cursor(cursor, urlsafe=False)
        try:
            before = (parse_iso(payload["t"]), str(payload["id"]))
        except (ValueError, TypeError):
            raise BadRequest("cursor is malformed") from None

    page: list[dict[str, Any]] = []
    last: Optional[Observation] = None
    more = False
    for obs, trace in store.observations_desc(before):
        if not flt.matches_all(conditions, obs, trace):
            continue
        if len(page) == limit:
            more = True
            break
        page.append(observation_v2(obs, trace, groups, project_id, expand))
        last = obs
    meta: dict[str, Any] = {}
    if more and last is not None:
        # Full microseconds, not the millisecond display format, so ties are exact.
        meta["cursor"] = _encode_cursor({"t": last.start_time.isoformat(), "id": last.id}, urlsafe=False)
    return 200, {"data": page, "meta": meta}


# ---------------------------------------------------------------- traces (legacy)
_TRACE_ORDER_FIELDS = {
    "id": lambda t: t.id, "timestamp": lambda t: t.timestamp, "name": lambda t: t.name or "",
    "userId": lambda t: t.user_id or "", "release": lambda t: t.release or "",
    "version": lambda t: t.version or "", "public": lambda t: t.public,
    "bookmarked": lambda t: t.bookmarked, "sessionId": lambda t: t.session_id or "",
}
_TRACE_GROUPS = ("core", "io", "scores", "observations", "metrics")
DEPRECATION = {
    "message": "GET /api/public/traces is deprecated; read traces via GET /api/public/v2/observations.",
    "replacement": "GET /api/public/v2/observations",
    "sunsetAt": "2026-11-16",
}


def _trace_core(trace: Trace, groups: set[str], project_id: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": trace.id, "timestamp": iso(trace.timestamp), "name": trace.name,
        "sessionId": trace.session_id, "release": trace.release, "version": trace.version,
        "userId": trace.user_id, "tags": list(trace.tags), "public": trace.public,
        "environment": trace.environment, "htmlPath": f"/project/{project_id}/traces/{trace.id}",
    }
    if "io" in groups:
        item.update({"input": trace.input, "output": trace.output, "metadata": trace.metadata})
    if "metrics" in groups:
        item.update({"latency": trace.latency, "totalCost": trace.total_cost})
    else:
        item.update({"latency": -1, "totalCost": -1})
    return item


def _trace_groups(q: Query) -> set[str]:
    requested = q.csv("fields")
    if requested is None:
        return set(_TRACE_GROUPS)
    unknown = set(requested) - set(_TRACE_GROUPS)
    if unknown:
        raise BadRequest(f"unknown field groups {sorted(unknown)}; available: {', '.join(_TRACE_GROUPS)}")
    return set(requested) | {"core"}


def list_traces(store: Store, q: Query, project_id: str) -> tuple[int, Any]:
    """``GET /api/public/traces``: page/limit paging, filters, orderBy."""
    page = q.int("page", 1, low=1)
    limit = q.int("limit", 50, low=1)
    groups = _trace_groups(q)
    order = q.get("orderBy") or "timestamp.desc"
    field_name, _, direction = order.partition(".")
    if field_name not in _TRACE_ORDER_FIELDS or direction not in ("asc", "desc"):
        raise BadRequest(f"orderBy {order!r} must be [field].[asc|desc] with field one of "
                         f"{', '.join(_TRACE_ORDER_FIELDS)}")
    kind = "traces"
    params: list[flt.Condition] = []
    for name in ("userId", "name", "sessionId", "version", "release"):
        value = q.get(name)
        if value:
            params.append(flt.param_condition(name, _string_eq(value), kind=kind))
    tags = [t for t in q.getlist("tags") if t]
    if tags:
        params.append(flt.param_condition("tags", lambda v, want=set(tags): want <= set(v), kind=kind))
    envs = [e for e in q.getlist("environment") if e]
    if envs:
        params.append(flt.param_condition("environment", lambda v, s=set(envs): v in s, kind=kind))
    ts_from, ts_to = q.datetime("fromTimestamp"), q.datetime("toTimestamp")
    if ts_from is not None:
        params.append(flt.param_condition("timestamp", lambda v: v >= ts_from, kind=kind))
    if ts_to is not None:
        params.append(flt.param_condition("timestamp", lambda v: v < ts_to, kind=kind))
    conditions = flt.merge_conditions(flt.parse_filter(q.get("filter"), kind=kind), params)

    with store.lock:
        matching = [t for t in store.traces.values() if flt.matches_all(conditions, t, t)]
        key = _TRACE_ORDER_FIELDS[field_name]
        # id as the tie-break, so pages never overlap.
        matching.sort(key=lambda t: (key(t), t.id), reverse=direction == "desc")
        total = len(matching)
        chunk = matching[(page - 1) * limit: page * limit]
        scores_by_trace = _scores_by_trace(store) if "scores" in groups else {}
        data = []
        for trace in chunk:
            item = _trace_core(trace, groups, project_id)
            item["observations"] = [o.id for o in trace.observations] if "observations" in groups else []
            item["scores"] = [s.id for s in scores_by_trace.get(trace.id, [])] if "scores" in groups else []
            data.append(item)
    return 200, {
        "data": data,
        "meta": {"page": page, "limit": limit, "totalItems": total,
                 "totalPages": math.ceil(total / limit) if total else 0},
        "_deprecation": DEPRECATION,
    }


def _scores_by_trace(store: Store) -> dict[str, list[StoredScore]]:
    by_trace: dict[str, list[StoredScore]] = {}
    for score in store.scores.values():
        if score.trace_id:
            by_trace.setdefault(score.trace_id, []).append(score)
    return by_trace


def _observation_view(obs: Observation) -> dict[str, Any]:
    usage = obs.usage_details
    return {
        "id": obs.id, "traceId": obs.trace_id, "type": obs.type, "name": obs.name,
        "startTime": iso(obs.start_time), "endTime": iso(obs.end_time),
        "completionStartTime": iso(obs.completion_start_time), "model": obs.model,
        "modelParameters": obs.model_parameters, "input": obs.input, "version": obs.version,
        "metadata": obs.metadata, "output": obs.output,
        "usage": {"input": usage.get("input", 0), "output": usage.get("output", 0),
                  "total": usage.get("total", 0), "unit": "TOKENS" if usage else None},
        "level": obs.level, "statusMessage": obs.status_message,
        "parentObservationId": obs.parent_observation_id, "promptId": None,
        "usageDetails": dict(usage), "costDetails": dict(obs.cost_details),
        "environment": obs.environment, "promptName": obs.prompt_name,
        "promptVersion": obs.prompt_version, "modelId": f"model-{obs.model}" if obs.model else None,
        "inputPrice": None, "outputPrice": None, "totalPrice": None,
        "calculatedInputCost": obs.cost_details.get("input"),
        "calculatedOutputCost": obs.cost_details.get("output"),
        "calculatedTotalCost": obs.total_cost, "latency": obs.latency,
        "timeToFirstToken": obs.time_to_first_token,
    }


def score_v1(score: StoredScore) -> Optional[dict[str, Any]]:
    """A ``ScoreV1`` (trace detail); None for data types V1 cannot show (CORRECTION) or non-trace scores."""
    if not score.trace_id or score.data_type == "CORRECTION":
        return None
    body = score.body
    item: dict[str, Any] = {
        "id": score.id, "traceId": score.trace_id, "name": score.name, "source": score.source,
        "observationId": score.observation_id, "timestamp": iso(score.timestamp),
        "createdAt": iso(score.created_at), "updatedAt": iso(score.updated_at), "authorUserId": None,
        "comment": body.get("comment"), "metadata": body.get("metadata") or {},
        "configId": body.get("configId"), "queueId": body.get("queueId"),
        "environment": score.environment, "dataType": score.data_type,
    }
    if score.data_type == "NUMERIC":
        item["value"] = float(score.value)
    elif score.data_type == "BOOLEAN":
        item.update({"value": float(score.value), "stringValue": "True" if score.value == 1 else "False"})
    elif score.data_type == "CATEGORICAL":
        item.update({"value": 0.0, "stringValue": score.value})
    else:
        item["stringValue"] = score.value
    return item


def get_trace(store: Store, trace_id: str, q: Query, project_id: str) -> tuple[int, Any]:
    """``GET /api/public/traces/{traceId}``."""
    groups = _trace_groups(q)
    with store.lock:
        trace = store.get_trace(trace_id)
        if trace is None:
            return 404, {"message": f"Trace {trace_id} not found within authorized project",
                         "error": "LangfuseNotFoundError"}
        item = _trace_core(trace, groups, project_id)
        item["observations"] = ([_observation_view(o) for o in trace.observations]
                                if "observations" in groups else [])
        scores = _scores_by_trace(store).get(trace.id, []) if "scores" in groups else []
        item["scores"] = [v for v in (score_v1(s) for s in scores) if v is not None]
    item["_deprecation"] = {**DEPRECATION, "message": DEPRECATION["message"].replace(
        "GET /api/public/traces", "GET /api/public/traces/{traceId}")}
    return 200, item


# ---------------------------------------------------------------- v3 scores
_SCORE_GROUPS = ("details", "subject", "annotation")


def score_v3(score: StoredScore, groups: set[str], project_id: str) -> dict[str, Any]:
    """One ``ScoreV3``: value typed by dataType, plus the requested field groups."""
    body = score.body
    value: Any = score.value
    if score.data_type == "NUMERIC":
        value = float(value)
    elif score.data_type == "BOOLEAN":
        value = value == 1
    item: dict[str, Any] = {
        "id": score.id, "projectId": project_id, "name": score.name, "value": value,
        "dataType": score.data_type, "source": score.source, "timestamp": iso(score.timestamp),
        "environment": score.environment, "createdAt": iso(score.created_at),
        "updatedAt": iso(score.updated_at),
    }
    if "details" in groups:
        item.update({"comment": body.get("comment"), "configId": body.get("configId"),
                     "metadata": body.get("metadata")})
    if "annotation" in groups:
        item.update({"authorUserId": None, "queueId": body.get("queueId")})
    if "subject" in groups:
        if body.get("observationId"):
            subject = {"kind": "observation", "id": body["observationId"], "traceId": body.get("traceId")}
        elif body.get("traceId"):
            subject = {"kind": "trace", "id": body["traceId"]}
        elif body.get("sessionId"):
            subject = {"kind": "session", "id": body["sessionId"]}
        else:
            subject = {"kind": "experiment", "id": body.get("datasetRunId")}
        item["subject"] = subject
    return item


def list_scores_v3(store: Store, q: Query, project_id: str) -> tuple[int, Any]:
    """``GET /api/public/v3/scores``: newest first, base64url keyset cursor on (timestamp, id)."""
    limit = q.int("limit", 50, low=1, high=100)
    groups = set(q.csv("fields") or [])
    unknown = groups - set(_SCORE_GROUPS)
    if unknown:
        raise BadRequest(f"unknown field groups {sorted(unknown)}; allowed: {', '.join(_SCORE_GROUPS)}")
    trace_ids, session_ids = q.csv("traceId"), q.csv("sessionId")
    obs_ids, exp_ids = q.csv("observationId"), q.csv("experimentId")
    if sum(x is not None for x in (trace_ids, session_ids, exp_ids)) > 1:
        raise BadRequest("traceId, sessionId and experimentId are mutually exclusive")
    if obs_ids is not None and trace_ids is None:
        raise BadRequest("observationId requires traceId (observation ids are scoped to a trace)")
    data_types = [d.upper() for d in q.csv("dataType") or []]
    value_min, value_max, values = q.get("valueMin"), q.get("valueMax"), q.csv("value")
    if (value_min is not None or value_max is not None) and data_types != ["NUMERIC"]:
        raise BadRequest("valueMin/valueMax require dataType=NUMERIC as the only data type")
    if values is not None and (len(data_types) != 1 or data_types[0] not in ("NUMERIC", "BOOLEAN", "CATEGORICAL")):
        raise BadRequest("value requires a single dataType of NUMERIC, BOOLEAN or CATEGORICAL")

    tests: list[Callable[[StoredScore], bool]] = []

    def within(ids: Optional[list[str]], get: Callable[[StoredScore], Any]) -> None:
        if ids is not None:
            wanted = set(ids)
            tests.append(lambda s: get(s) in wanted)

    within(q.csv("id"), lambda s: s.id)
    within(q.csv("name"), lambda s: s.name)
    within(trace_ids, lambda s: s.trace_id)
    within(obs_ids, lambda s: s.observation_id)
    within(session_ids, lambda s: s.body.get("sessionId"))
    within(exp_ids, lambda s: s.body.get("datasetRunId"))
    within(q.csv("environment"), lambda s: s.environment)
    within(q.csv("configId"), lambda s: s.body.get("configId"))
    within(q.csv("queueId"), lambda s: s.body.get("queueId"))
    if q.csv("source") is not None:
        sources = {x.upper() for x in q.csv("source") or []}
        tests.append(lambda s: s.source in sources)
    if data_types:
        wanted_types = set(data_types)
        tests.append(lambda s: s.data_type in wanted_types)
    if q.csv("authorUserId") is not None:
        tests.append(lambda s: False)  # API-written scores have no author
    if values is not None:
        dtype = data_types[0]
        if dtype == "CATEGORICAL":
            tests.append(lambda s, v=set(values): s.value in v)
        else:
            try:
                numbers = {float(v) if dtype == "NUMERIC" else float(v.lower() in ("1", "true")) for v in values}
            except ValueError:
                raise BadRequest(f"value must be numbers for dataType {dtype}") from None
            tests.append(lambda s: float(s.value) in numbers)
    for bound, compare in ((value_min, lambda a, b: a >= b), (value_max, lambda a, b: a <= b)):
        if bound is not None:
            try:
                limit_value = float(bound)
            except ValueError:
                raise BadRequest(f"valueMin/valueMax must be numbers, got {bound!r}") from None
            tests.append(lambda s, b=limit_value, c=compare: c(float(s.value), b))
    ts_from, ts_to = q.datetime("fromTimestamp"), q.datetime("toTimestamp")
    if ts_from is not None:
        tests.append(lambda s: s.timestamp >= ts_from)
    if ts_to is not None:
        tests.append(lambda s: s.timestamp < ts_to)

    cursor = q.get("cursor")
    if cursor:
        payload = _decode_cursor(cursor, urlsafe=True)
        try:
            after = (parse_iso(payload["t"]), str(payload["id"]))
        except (ValueError, TypeError):
            raise BadRequest("cursor is malformed") from None
        tests.append(lambda s: (s.timestamp, s.id) < after)

    matching = sorted((s for s in store.scores_snapshot() if all(t(s) for t in tests)),
                      key=lambda s: (s.timestamp, s.id), reverse=True)
    page = matching[:limit]
    meta: dict[str, Any] = {"limit": limit}
    if len(matching) > limit:
        last = page[-1]
        meta["cursor"] = _encode_cursor({"t": last.timestamp.isoformat(), "id": last.id}, urlsafe=True)
    return 200, {"data": [score_v3(s, groups, project_id) for s in page], "meta": meta}


# ---------------------------------------------------------------- score writes
def create_score_object(store: Store, body: dict[str, Any]) -> tuple[int, Any]:
    """The spec's ``POST /api/public/scores``: one object, 200 ``{"id"}``.

    The spec's ``CreateScoreRequest`` has no ``timestamp``: the score is
    stamped with the server's clock, so the same id written on another day
    is a second row (see `Store`).
    """
    try:
        score = store.upsert_score(body, server_time=True)
    except ScoreRejected as exc:
        return 400, {"message": f"Invalid score: {exc}", "error": "InvalidRequestError"}
    return 200, {"id": score.id}


def create_scores_array(store: Store, items: list[Any], element_errors: list[list[str]]) -> tuple[int, Any]:
    """SDK 5.x's batch form: 202 ``{"message": "Accepted"}`` or 207 ``{accepted, rejected, errors}``.

    ``element_errors[i]`` are the spec errors of item ``i`` (from the caller's
    validation against ``CreateScoreRequest``); such items are rejected.
    """
    accepted, errors = 0, []
    for i, item in enumerate(items):
        label = f"score[{i}]" + (f" (id {item.get('id')})" if isinstance(item, dict) and item.get("id") else "")
        if element_errors[i]:
            errors.append({"message": f"{label}: {'; '.join(element_errors[i])}"})
            continue
        try:
            store.upsert_score(item)
            accepted += 1
        except ScoreRejected as exc:
            errors.append({"message": f"{label}: {exc}"})
    if not errors:
        return 202, {"message": "Accepted"}
    return 207, {"accepted": accepted, "rejected": len(errors), "errors": errors}


__all__ = [
    "BadRequest", "Query", "Unsupported", "create_score_object", "create_scores_array", "get_trace",
    "health", "list_observations", "list_scores_v3", "list_traces", "projects",
]
