"""What a sink receives: one score for one trace, with a deterministic id."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

from .results import GraderError, GraderRank, GraderResult, GraderScore

#: Namespace of rmg's deterministic score ids (uuid5).  Never change it: ids
#: written by earlier versions would stop matching and re-runs would duplicate.
SCORE_ID_NAMESPACE = uuid.UUID("5b0c3e0e-8f7a-4a43-9f3c-2d1f6a1e7b01")

_NAMESPACE_BYTES = SCORE_ID_NAMESPACE.bytes

DataType = Literal["NUMERIC", "CATEGORICAL", "BOOLEAN"]


def score_id(trace_id: str, name: str, observation_id: Optional[str] = None) -> str:
    """The id of score ``name`` on a trace (and observation): the same on every run.

    Writing a score with the same id again overwrites it, which is what makes
    re-runs exactly-once instead of duplicating.
    """
    key = f"{trace_id}\x1f{observation_id or ''}\x1f{name}"
    # uuid.uuid5() by hand: the same bytes and text, without building a UUID
    # object per score (a run makes millions of these).
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + key.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class ScoreRecord(BaseModel):
    """One score of one trace, as sinks write it.

    ``value`` is ``None`` and ``error`` is set for a `GraderError`; sinks
    decide whether to write errors (the JSONL sink does, the Langfuse sink by
    default does not) but must never write them as a number.
    """

    model_config = ConfigDict(extra="forbid")

    trace_id: str
    observation_id: Optional[str] = None
    name: str
    value: Union[float, int, str, None] = None
    data_type: Optional[DataType] = None
    comment: Optional[str] = None
    score_id: str
    timestamp: Optional[datetime] = None
    kind: Literal["score", "rank", "error"] = "score"
    error: Optional[str] = None
    component: Literal["grader", "aggregator"] = "grader"
    grader: str = ""
    grader_version: str = ""
    config_fingerprint: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_error(self) -> bool:
        return self.kind == "error"


def record_from_result(
    result: GraderResult,
    *,
    trace_id: str,
    name: str,
    timestamp: Optional[datetime],
    observation_id: Optional[str] = None,
    component: Literal["grader", "aggregator"] = "grader",
    plugin: str = "",
    version: str = "",
    fingerprint: str = "",
) -> ScoreRecord:
    """Turn one result into the record sinks receive.

    A `GraderScore` is NUMERIC with its reason as comment.  A `GraderRank`
    with an int rank is NUMERIC (the rank itself); a listwise rank is
    CATEGORICAL (the ranking as ``"2,1,3"``).  A `GraderError` has no value.
    """
    cls = type(result)
    if cls is GraderScore:
        kind, value, data_type, comment, error = "score", result.score, "NUMERIC", result.reason, None
    elif cls is GraderRank:
        rank = result.rank
        if isinstance(rank, list):
            value, data_type = ",".join(str(r) for r in rank), "CATEGORICAL"
        else:
            value, data_type = rank, "NUMERIC"
        kind, comment, error = "rank", result.reason, None
    elif cls is GraderError:
        kind, value, data_type, comment, error = "error", None, None, None, result.error
    else:  # pragma: no cover - the runner only hands out checked results
        raise TypeError(f"not a grader result: {result!r}")
    # model_construct: every field is built here from checked values, and a
    # run writes millions of these.
    return ScoreRecord.model_construct(
        trace_id=trace_id,
        observation_id=observation_id,
        name=name,
        value=value,
        data_type=data_type,
        comment=comment or None,
        score_id=score_id(trace_id, name, observation_id),
        timestamp=timestamp,
        kind=kind,
        error=error,
        component=component,
        grader=plugin,
        grader_version=version,
        config_fingerprint=fingerprint,
        metadata=result.metadata,
    )


class WriteFailure(BaseModel):
    """A record a sink could not write, and the server's or the system's message."""

    score_id: str
    trace_id: str
    name: str
    message: str

    @classmethod
    def of(cls, record: ScoreRecord, message: str) -> "WriteFailure":
        return cls(score_id=record.score_id, trace_id=record.trace_id, name=record.name, message=message)


class WriteReport(BaseModel):
    """What a sink did with a batch: written, deliberately skipped, failed (each named)."""

    written: int = 0
    skipped: int = 0
    failed: list[WriteFailure] = Field(default_factory=list)
    #: What the user must know about where the scores went (e.g. "the run did not
    #: complete: the 500 scores written are in scores.jsonl.partial"); shown in the summary.
    notes: list[str] = Field(default_factory=list)

    def merge(self, other: "WriteReport") -> None:
        self.written += other.written
        self.skipped += other.skipped
        self.failed.extend(other.failed)
        self.notes.extend(other.notes)
