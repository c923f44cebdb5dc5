"""Turning a `ScoreRecord` into the body of ``POST /api/public/scores``, and comparing with a stored score."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Optional

from rmg_core import ScoreRecord, score_id

from .traces import iso

#: Suffix of the CATEGORICAL score that records a grader error (``write_errors = true``).
ERROR_SUFFIX = "_error"


def json_safe(value: Any, _depth: int = 0) -> Any:
    """A copy of ``value`` that ``json.dumps`` accepts and that means the same after a round trip.

    Non-finite floats (invalid JSON) become strings, tuples and sets become
    lists, unknown objects their ``str``; cycles are cut at depth 50.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if _depth > 50:
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v, _depth + 1) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _metadata(record: ScoreRecord) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "grader": record.grader,
        "grader_version": record.grader_version,
        "config_fingerprint": record.config_fingerprint,
        "component": record.component,
    }
    if record.metadata:
        # Nested, so a grader's own metadata key can never overwrite ours.
        meta["result"] = json_safe(record.metadata)
    return meta


def _base(record: ScoreRecord, environment: Optional[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"traceId": record.trace_id}
    if record.observation_id:
        body["observationId"] = record.observation_id
    if record.timestamp is not None:
        # The trace's own timestamp: a re-run lands on the same score, not a new one.
        body["timestamp"] = iso(record.timestamp)
    if environment:
        body["environment"] = environment
    return body


def score_payload(record: ScoreRecord, environment: Optional[str] = None) -> dict[str, Any]:
    """The body for a score or rank record (NUMERIC or CATEGORICAL, as the record says)."""
    if record.value is None:
        raise ValueError(f"score {record.name!r} of trace {record.trace_id} has no value")
    value = record.value
    data_type = record.data_type or ("NUMERIC" if isinstance(value, (int, float)) else "CATEGORICAL")
    if data_type == "NUMERIC":
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"score {record.name!r} of trace {record.trace_id} is not finite: {value!r}")
    body = _base(record, environment)
    body.update(
        id=record.score_id,
        name=record.name,
        value=value,
        dataType=data_type,
        metadata=_metadata(record),
    )
    if record.comment:
        body["comment"] = record.comment
    return body


def error_payload(record: ScoreRecord, environment: Optional[str] = None) -> dict[str, Any]:
    """The CATEGORICAL ``<name>_error`` score written for a grader error when ``write_errors`` is on."""
    name = record.name + ERROR_SUFFIX
    body = _base(record, environment)
    body.update(
        id=score_id(record.trace_id, name, record.observation_id),
        name=name,
        value="error",
        dataType="CATEGORICAL",
        comment=record.error or "grader error",
        metadata=_metadata(record),
    )
    return body


def unchanged(payload: dict[str, Any], stored: dict[str, Any]) -> bool:
    """Whether the stored score already says what ``payload`` would write (value, type, comment, config)."""
    if stored.get("dataType") and stored["dataType"] != payload["dataType"]:
        return False
    new, old = payload["value"], stored.get("value")
    if payload["dataType"] == "NUMERIC":
        if isinstance(old, bool) or not isinstance(old, (int, float)) or float(old) != float(new):
            return False
    elif old != new:
        return False
    if "comment" in stored and (stored.get("comment") or None) != (payload.get("comment") or None):
        return False
    meta = stored.get("metadata")
    if isinstance(meta, dict) and "config_fingerprint" in meta:
        if meta.get("config_fingerprint") != payload["metadata"]["config_fingerprint"]:
            return False
    return True
