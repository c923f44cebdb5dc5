"""The ``filter`` JSON parameter of the list endpoints, and query-parameter filters.

Both become a list of `Condition` (one column each).  As the SDK 5.0.4 notes
(``batch_evaluation._build_filter``), the server drops a query-parameter
filter when the JSON filter has a condition on the same column; the fake does
the same (`merge_conditions`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Optional

from .model import Trace, parse_iso


class BadRequest(Exception):
    """A request the server answers with a 4xx and ``{"message": ...}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Unsupported(BadRequest):
    """Spec-valid, but not implemented by the fake (recorded as an ``unsupported`` violation)."""


def raw_io(value: Any) -> Optional[str]:
    """Input/output as the v2 API returns them: strings as stored, other JSON as its text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


Accessor = Callable[[Any, Trace], Any]

# kind: string | datetime | number | array | boolean | object
_OBS_COLUMNS: dict[str, tuple[str, Accessor]] = {
    "id": ("string", lambda o, t: o.id),
    "type": ("string", lambda o, t: o.type),
    "name": ("string", lambda o, t: o.name),
    "traceId": ("string", lambda o, t: o.trace_id),
    "startTime": ("datetime", lambda o, t: o.start_time),
    "endTime": ("datetime", lambda o, t: o.end_time),
    "environment": ("string", lambda o, t: o.environment),
    "level": ("string", lambda o, t: o.level),
    "statusMessage": ("string", lambda o, t: o.status_message),
    "version": ("string", lambda o, t: o.version),
    "userId": ("string", lambda o, t: t.user_id),
    "sessionId": ("string", lambda o, t: t.session_id),
    "parentObservationId": ("string", lambda o, t: o.parent_observation_id),
    "isRootObservation": ("boolean", lambda o, t: o.is_root or o.parent_observation_id is None),
    "traceName": ("string", lambda o, t: t.name),
    "traceTags": ("array", lambda o, t: t.tags),
    "tags": ("array", lambda o, t: t.tags),
    "latency": ("number", lambda o, t: o.latency),
    "timeToFirstToken": ("number", lambda o, t: o.time_to_first_token),
    "inputTokens": ("number", lambda o, t: o.usage_details.get("input")),
    "outputTokens": ("number", lambda o, t: o.usage_details.get("output")),
    "totalTokens": ("number", lambda o, t: o.usage_details.get("total")),
    "tokens": ("number", lambda o, t: o.usage_details.get("total")),
    "inputCost": ("number", lambda o, t: o.cost_details.get("input")),
    "outputCost": ("number", lambda o, t: o.cost_details.get("output")),
    "totalCost": ("number", lambda o, t: o.total_cost),
    "model": ("string", lambda o, t: o.model),
    "providedModelName": ("string", lambda o, t: o.model),
    "promptName": ("string", lambda o, t: o.prompt_name),
    "promptVersion": ("number", lambda o, t: o.prompt_version),
    "input": ("string", lambda o, t: raw_io(o.input)),
    "output": ("string", lambda o, t: raw_io(o.output)),
    "metadata": ("object", lambda o, t: o.metadata),
}

_TRACE_COLUMNS: dict[str, tuple[str, Accessor]] = {
    "id": ("string", lambda x, t: t.id),
    "name": ("string", lambda x, t: t.name),
    "timestamp": ("datetime", lambda x, t: t.timestamp),
    "userId": ("string", lambda x, t: t.user_id),
    "sessionId": ("string", lambda x, t: t.session_id),
    "environment": ("string", lambda x, t: t.environment),
    "version": ("string", lambda x, t: t.version),
    "release": ("string", lambda x, t: t.release),
    "tags": ("array", lambda x, t: t.tags),
    "bookmarked": ("boolean", lambda x, t: t.bookmarked),
    "metadata": ("object", lambda x, t: t.metadata),
    "latency": ("number", lambda x, t: t.latency),
    "totalCost": ("number", lambda x, t: t.total_cost),
}

_OPERATORS = {
    "datetime": {">", "<", ">=", "<="},
    "string": {"=", "contains", "does not contain", "starts with", "ends with", "matches"},
    "stringOptions": {"any of", "none of"},
    "categoryOptions": {"any of", "none of"},
    "arrayOptions": {"any of", "none of", "all of"},
    "number": {"=", ">", "<", ">=", "<="},
    "stringObject": {"=", "contains", "does not contain", "starts with", "ends with", "matches",
                     "is set", "is not set"},
    "numberObject": {"=", ">", "<", ">=", "<="},
    "boolean": {"=", "<>"},
    "booleanObject": {"=", "<>"},
    "null": {"is null", "is not null"},
}
# Which filter types apply to which column kinds.
_TYPE_KINDS = {
    "datetime": {"datetime"},
    "string": {"string"},
    "stringOptions": {"string"},
    "categoryOptions": {"string", "object"},
    "arrayOptions": {"array"},
    "number": {"number"},
    "stringObject": {"object"},
    "numberObject": {"object"},
    "boolean": {"boolean"},
    "booleanObject": {"object"},
    "null": {"string", "datetime", "number", "array", "boolean", "object"},
}


@dataclass
class Condition:
    """One filter condition on one column."""

    column: str
    test: Callable[[Any, Trace], bool]


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None:
        return False
    if op == "=":
        return left == right
    if op == ">":
        return left > right
    if op == "<":
        return left < right
    if op == ">=":
        return left >= right
    return left <= right


def _string_test(op: str, value: str, *, case_insensitive_matches: bool) -> Callable[[Optional[str]], bool]:
    if op == "=":
        return lambda s: s == value
    if op == "contains":
        return lambda s: s is not None and value in s
    if op == "does not contain":
        return lambda s: s is None or value not in s
    if op == "starts with":
        return lambda s: s is not None and s.startswith(value)
    if op == "ends with":
        return lambda s: s is not None and s.endswith(value)
    if op == "matches":
        if case_insensitive_matches:
            low = value.lower()
            return lambda s: s is not None and low in s.lower()
        return lambda s: s is not None and value in s
    raise AssertionError(op)


def _metadata_text(value: Any) -> Optional[str]:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _compile(cond: Any, index: int, columns: dict[str, tuple[str, Accessor]], where: str) -> Condition:
    label = f"filter[{index}]"
    if not isinstance(cond, dict):
        raise BadRequest(f"{label} must be an object with type, column, operator and value")
    ftype, column, op = cond.get("type"), cond.get("column"), cond.get("operator")
    if ftype not in _OPERATORS:
        raise BadRequest(f"{label}.type {ftype!r} is not one of {sorted(_OPERATORS)}")
    if op not in _OPERATORS[ftype]:
        raise BadRequest(f"{label}.operator {op!r} is not valid for type {ftype!r}; use one of {sorted(_OPERATORS[ftype])}")
    if column not in columns:
        raise Unsupported(f"{label}.column {column!r} is not a filterable column of {where} in the fake "
                          f"(supported: {', '.join(sorted(columns))})")
    kind, get = columns[column]
    if kind not in _TYPE_KINDS[ftype]:
        raise BadRequest(f"{label}: type {ftype!r} does not apply to column {column!r} ({kind})")
    value = cond.get("value")
    key = cond.get("key")

    if ftype == "null":
        want_null = op == "is null"
        return Condition(column, lambda o, t: (get(o, t) in (None, [], {})) == want_null)
    if ftype == "datetime":
        if not isinstance(value, str):
            raise BadRequest(f"{label}.value must be an ISO 8601 datetime string")
        try:
            moment: datetime = parse_iso(value)
        except ValueError:
            raise BadRequest(f"{label}.value {value!r} is not an ISO 8601 datetime") from None
        return Condition(column, lambda o, t: _compare(op, get(o, t), moment))
    if ftype == "string":
        if not isinstance(value, str):
            raise BadRequest(f"{label}.value must be a string")
        if op == "matches" and column not in ("input", "output"):
            raise BadRequest(f"{label}: operator 'matches' is only supported for input, output and metadata")
        test = _string_test(op, value, case_insensitive_matches=True)
        return Condition(column, lambda o, t: test(get(o, t)))
    if ftype in ("stringOptions", "categoryOptions"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadRequest(f"{label}.value must be an array of strings")
        options = set(value)
        if kind == "object":
            if not key:
                raise BadRequest(f"{label}.key is required for {ftype} on {column}")
            inside = lambda o, t: _metadata_text((get(o, t) or {}).get(key)) in options  # noqa: E731
        else:
            inside = lambda o, t: get(o, t) in options  # noqa: E731
        if op == "any of":
            return Condition(column, inside)
        return Condition(column, lambda o, t: not inside(o, t))
    if ftype == "arrayOptions":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadRequest(f"{label}.value must be an array of strings")
        wanted = set(value)
        if op == "any of":
            return Condition(column, lambda o, t: bool(wanted & set(get(o, t) or ())))
        if op == "all of":
            return Condition(column, lambda o, t: wanted <= set(get(o, t) or ()))
        return Condition(column, lambda o, t: not (wanted & set(get(o, t) or ())))
    if ftype == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadRequest(f"{label}.value must be a number")
        return Condition(column, lambda o, t: _compare(op, get(o, t), value))
    if ftype in ("stringObject", "numberObject", "booleanObject"):
        if not key or not isinstance(key, str):
            raise BadRequest(f"{label}.key (the metadata key) is required for {ftype}")
        if ftype == "stringObject":
            if op == "is set":
                return Condition(column, lambda o, t: key in (get(o, t) or {}))
            if op == "is not set":
                return Condition(column, lambda o, t: key not in (get(o, t) or {}))
            if not isinstance(value, str):
                raise BadRequest(f"{label}.value must be a string")
            test = _string_test(op, value, case_insensitive_matches=False)
            return Condition(column, lambda o, t: test(_metadata_text((get(o, t) or {}).get(key))))
        if ftype == "numberObject":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise BadRequest(f"{label}.value must be a number")

            def num(o: Any, t: Trace) -> Optional[float]:
                raw = (get(o, t) or {}).get(key)
                try:
                    return float(raw) if raw is not None and not isinstance(raw, bool) else None
                except (TypeError, ValueError):
                    return None

            return Condition(column, lambda o, t: _compare(op, num(o, t), value))
        if not isinstance(value, bool):
            raise BadRequest(f"{label}.value must be a boolean")
        expected = value if op == "=" else not value
        return Condition(column, lambda o, t: (get(o, t) or {}).get(key) is expected)
    # boolean
    if not isinstance(value, bool):
        raise BadRequest(f"{label}.value must be true or false")
    expected = value if op == "=" else not value
    return Condition(column, lambda o, t: bool(get(o, t)) is expected)


def parse_filter(text: Optional[str], *, kind: str) -> list[Condition]:
    """Compile the ``filter`` query parameter (a JSON array) for ``kind`` "observations" or "traces"."""
    if text is None or text == "":
        return []
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise BadRequest(f"filter is not valid JSON: {exc}") from None
    if not isinstance(parsed, list):
        raise BadRequest("filter must be a JSON array of filter conditions")
    columns = _OBS_COLUMNS if kind == "observations" else _TRACE_COLUMNS
    conditions = [_compile(c, i, columns, kind) for i, c in enumerate(parsed)]
    if kind == "observations":
        io = [c for c in parsed if isinstance(c, dict) and c.get("column") in ("input", "output")]
        if io and not any(c.get("operator") in ("=", "matches") for c in io):
            raise BadRequest("an input or output filter needs at least one '=' or 'matches' filter on input or output")
    return conditions


def param_condition(column: str, test: Callable[[Any], bool], *, kind: str) -> Condition:
    """A query-parameter filter on ``column`` (``test`` gets the column's value)."""
    columns = _OBS_COLUMNS if kind == "observations" else _TRACE_COLUMNS
    get = columns[column][1]
    return Condition(column, lambda o, t: test(get(o, t)))


def merge_conditions(from_json: list[Condition], from_params: list[Condition]) -> list[Condition]:
    """JSON conditions win: a query-parameter condition on a column the JSON filter names is dropped."""
    named = {c.column for c in from_json}
    # The alias pairs name one column.
    aliases = {"tags": "traceTags", "traceTags": "tags"}
    named |= {aliases[c] for c in named if c in aliases}
    return from_json + [c for c in from_params if c.column not in named]


def matches_all(conditions: list[Condition], item: Any, trace: Trace) -> bool:
    return all(c.test(item, trace) for c in conditions)


__all__ = [
    "BadRequest", "Condition", "Unsupported", "matches_all", "merge_conditions",
    "param_condition", "parse_filter", "raw_io",
]
