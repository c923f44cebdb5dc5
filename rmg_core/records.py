"""What a sink receives: one score for one trace, with a deterministic id."""

from __future__ import annotations

import functools
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator, Literal, NamedTuple, Optional, Sequence, Union

from pydantic import BaseModel, ConfigDict, Field

from .cases import builds_as_validated, restored
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
    return score_ids(name, (trace_id,), (observation_id,))[0]


def score_ids(name: str, trace_ids: Sequence[str], observation_ids: Sequence[Optional[str]]) -> list[str]:
    """`score_id` of score ``name`` for each (trace, observation) pair, in one pass."""
    # uuid.uuid5() by hand: the same text, without building a UUID object per
    # score (a run makes millions of these).  In the hex digest, character 12
    # is the version nibble (5) and character 16 holds the RFC 4122 variant.
    sha1, ns, variant = hashlib.sha1, _NAMESPACE_BYTES, _VARIANT
    out = []
    for trace_id, observation_id in zip(trace_ids, observation_ids):
        h = sha1(ns + f"{trace_id}\x1f{observation_id or ''}\x1f{name}".encode("utf-8")).hexdigest()
        out.append(f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{variant[h[16]]}{h[17:20]}-{h[20:32]}")
    return out


#: Hex digit -> that digit with its top two bits set to 10 (the RFC 4122 variant).
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


class ScoreRecord(BaseModel):
    """One score of one trace, as sinks write it.

    ``value`` is ``None`` and ``error`` is set for a `GraderError`; sinks
    decide whether to write errors (the JSONL sink does, the Langfuse sink by
    default does not) but must never write them as a number.  ``kind`` is
    ``"not_applicable"`` for a `GraderError` with ``not_applicable=True``:
    no value either, and ``rmg eval`` hands it to sinks only when asked
    (``--write-not-applicable``).
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
    kind: Literal["score", "rank", "error", "not_applicable"] = "score"
    error: Optional[str] = None
    component: Literal["grader", "aggregator"] = "grader"
    grader: str = ""
    grader_version: str = ""
    config_fingerprint: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_error(self) -> bool:
        return self.kind == "error"

    @property
    def is_not_applicable(self) -> bool:
        return self.kind == "not_applicable"


def record_from_result(result: GraderResult, *, trace_id: str, name: str, timestamp: Optional[datetime],
                       observation_id: Optional[str] = None, component: Literal["grader", "aggregator"] = "grader",
                       plugin: str = "", version: str = "", fingerprint: str = "") -> ScoreRecord:
    """Turn one result into the record sinks receive.

    A `GraderScore` is NUMERIC with its reason as comment.  A `GraderRank`
    with an int rank is NUMERIC (the rank itself); a listwise rank is
    CATEGORICAL (the ranking as ``"2,1,3"``).  A `GraderError` has no value
    (kind ``"not_applicable"`` when it says so, else ``"error"``).
    """
    return ScoreColumn(name, component, plugin, version, fingerprint).records([result], [trace_id], [observation_id], [timestamp])[0]


@dataclass(frozen=True, slots=True)
class ScoreColumn:
    """Who made one score name's results: what every record of that name shares.

    `records` turns a whole column of results (one per case of a chunk) into
    records in one pass: the shared fields are looked up once, not per score.
    """

    name: str
    component: Literal["grader", "aggregator"] = "grader"
    plugin: str = ""
    version: str = ""
    fingerprint: str = ""

    def records(self, results: Sequence[GraderResult], trace_ids: Sequence[str], observation_ids: Sequence[Optional[str]],
                timestamps: Sequence[Optional[datetime]]) -> list[ScoreRecord]:
        """One record per result, in order; the other sequences are the cases' fields, aligned."""
        return self.from_columns(ResultColumns.of(results), trace_ids, observation_ids, timestamps)

    def from_columns(self, columns: "ResultColumns", trace_ids: Sequence[str], observation_ids: Sequence[Optional[str]],
                     timestamps: Sequence[Optional[datetime]], ids: Optional[Sequence[str]] = None) -> list[ScoreRecord]:
        """`records` from results already reduced to `ResultColumns` (how executors ship them between processes).

        ``ids``: the score ids, if known (`score_ids` of this name and the cases' ids).
        """
        build = _record_builder()
        name, component, plugin, version, fingerprint = self.name, self.component, self.plugin, self.version, self.fingerprint
        return [build({
            "trace_id": trace_id, "observation_id": observation_id, "name": name, "value": value, "data_type": data_type,
            "comment": comment, "score_id": sid, "timestamp": timestamp, "kind": kind, "error": error, "component": component,
            "grader": plugin, "grader_version": version, "config_fingerprint": fingerprint, "metadata": metadata,
        }) for kind, value, data_type, comment, error, metadata, trace_id, observation_id, timestamp, sid
            in zip(*columns, trace_ids, observation_ids, timestamps, ids or score_ids(name, trace_ids, observation_ids))]

    def run(self, columns: "ResultColumns", trace_ids: Sequence[str], observation_ids: Sequence[Optional[str]],
            timestamps: Sequence[Optional[datetime]]) -> "ScoreRun":
        """These results as a `ScoreRun`: the records `from_columns` builds, kept as columns."""
        return ScoreRun(self, columns, trace_ids, observation_ids, timestamps, score_ids(self.name, trace_ids, observation_ids))


class ScoreRun(NamedTuple):
    """One score name's records of one chunk, as columns: who made them, the results, the cases' ids, the score ids."""

    column: ScoreColumn
    results: "ResultColumns"
    trace_ids: Sequence[str]
    observation_ids: Sequence[Optional[str]]
    timestamps: Sequence[Optional[datetime]]
    score_ids: Sequence[str]

    def records(self) -> list[ScoreRecord]:
        return self.column.from_columns(self.results, self.trace_ids, self.observation_ids, self.timestamps, self.score_ids)

    def record(self, index: int) -> ScoreRecord:
        """The ``index``-th record alone."""
        return self._picked([index]).records()[0]

    def without(self, kind: str) -> "ScoreRun":
        """The run less its records of ``kind``."""
        keep = [i for i, k in enumerate(self.results.kinds) if k != kind]
        return self if len(keep) == len(self.score_ids) else self._picked(keep)

    def _picked(self, keep: list[int]) -> "ScoreRun":
        pick: Callable[[Sequence[Any]], list[Any]] = lambda values: [values[i] for i in keep]  # noqa: E731
        return ScoreRun(self.column, ResultColumns(*map(pick, self.results)), *map(pick, self[2:]))


class ScoreRecords(Sequence[ScoreRecord]):
    """Graded chunks' records as `ScoreRun` columns, each `ScoreRecord` built when the records are first read.

    What the pipeline gives sinks and observers: it reads as the list of
    records it holds.  A consumer that knows this type reads ``runs`` instead
    and builds no model per score (the JSONL sink, a run's statistics).
    """

    def __init__(self, runs: Sequence[ScoreRun] = ()) -> None:
        self.runs = list(runs)
        self._records: Optional[list[ScoreRecord]] = None

    def records(self) -> list[ScoreRecord]:
        """Every record, runs in order (built once)."""
        if self._records is None:
            self._records = [record for run in self.runs for record in run.records()]
        return self._records

    def without(self, kind: str) -> "ScoreRecords":
        return ScoreRecords([run.without(kind) for run in self.runs])

    def __len__(self) -> int:
        return sum(len(run.score_ids) for run in self.runs)

    def __getitem__(self, index: Any) -> Any:
        return self.records()[index]

    def __iter__(self) -> Iterator[ScoreRecord]:
        return iter(self.records())

    def __eq__(self, other: object) -> bool:  # as the list of records it stands for
        return isinstance(other, (list, ScoreRecords)) and self.records() == list(other)

    def __repr__(self) -> str:
        return f"ScoreRecords({self.records()!r})"


class ResultColumns(NamedTuple):
    """One score name's results as plain lists, one entry per case: what a record holds beyond the case's ids.

    Plain values pickle ~10x cheaper than result objects, so executors send
    these between processes and build records (`ScoreColumn.from_columns`) where sinks run.
    """

    kinds: list[str]
    values: list[Union[float, int, str, None]]
    data_types: list[Optional[str]]
    comments: list[Optional[str]]
    errors: list[Optional[str]]
    metadata: list[dict[str, Any]]

    @classmethod
    def of(cls, results: Sequence[GraderResult]) -> "ResultColumns":
        """A `GraderScore` is NUMERIC; an int rank NUMERIC, a listwise one CATEGORICAL ("2,1,3"); an error has no value."""
        rows = []
        for r in results:
            if type(r) is GraderScore:
                rows.append(("score", r.score, "NUMERIC", r.reason or None, None, r.metadata))
            elif type(r) is GraderRank:
                value, data_type = (",".join(map(str, r.rank)), "CATEGORICAL") if isinstance(r.rank, list) else (r.rank, "NUMERIC")
                rows.append(("rank", value, data_type, r.reason or None, None, r.metadata))
            elif type(r) is GraderError:
                rows.append(("not_applicable" if r.not_applicable else "error", None, None, None, r.error, r.metadata))
            else:  # pragma: no cover - the runner only hands out checked results
                raise TypeError(f"not a grader result: {r!r}")
        return cls(*map(list, zip(*rows))) if rows else cls([], [], [], [], [], [])


#: Every record has every field set: one set serves them all (pydantic only ever adds a field name to it).
_ALL_SET = set(ScoreRecord.model_fields)


def _restore(fields: dict[str, Any]) -> ScoreRecord:
    return restored(ScoreRecord, fields, _ALL_SET)


_PROBE = {
    "trace_id": "t", "observation_id": "o", "name": "n", "value": 0.5, "data_type": "NUMERIC", "comment": "c",
    "score_id": "s", "timestamp": None, "kind": "score", "error": None, "component": "grader", "grader": "g",
    "grader_version": "1", "config_fingerprint": "f", "metadata": {"k": 1},
}


@functools.lru_cache(maxsize=1)
def _record_builder() -> Callable[[dict[str, Any]], ScoreRecord]:
    """`_restore` (no validation: a run builds one record per score) if it yields what validation does.

    Else pydantic's ``model_construct``.
    """
    if builds_as_validated(_restore, _PROBE):
        return _restore
    return lambda fields: ScoreRecord.model_construct(**fields)


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
    """What a sink did with a batch: written, deliberately skipped, unchanged, failed (each named).

    Every record is counted once in ``written``, ``skipped``, ``unchanged`` or
    ``failed``.  ``unchanged``: the destination already held this score with
    the same value, so it was not written again.  ``unchecked`` is a part of
    ``written``: scores written without that check because reading the
    destination failed.
    """

    written: int = 0
    skipped: int = 0
    unchanged: int = 0
    unchecked: int = 0
    failed: list[WriteFailure] = Field(default_factory=list)
    #: What the user must know about where the scores went (e.g. "the run did not
    #: complete: the 500 scores written are in scores.jsonl.partial"); shown in the summary.
    notes: list[str] = Field(default_factory=list)

    def merge(self, other: "WriteReport") -> None:
        self.written += other.written
        self.skipped += other.skipped
        self.unchanged += other.unchanged
        self.unchecked += other.unchecked
        self.failed.extend(other.failed)
        self.notes.extend(other.notes)
