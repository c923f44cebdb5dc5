"""What travels between the driver and the workers, in shapes that pickle cheaply.

Pickling pydantic objects across processes cost more CPU than the grading
saved (a `ScoreRecord` or an `EvalCase` pickles its fields-set and private
state, and unpickling one re-creates them): about 1.7 CPU-s per 60,000
records.  So nothing pydantic crosses:

* to a worker, a chunk read on the driver travels as plain dicts holding only
  the fields its graders read (`needed_keys`, `reduce_fields`) — never the
  whole trace;
* back, each score's results travel as `ResultColumns` (plain lists), and
  the driver builds the `ScoreRecord` objects sinks and observers see
  (`GradedChunk.records`), with the worker's score identities;
* cases a worker read itself (a partition) come back as plain tuples
  (`case_rows`, `cases_from_rows`) only when a run observer reads them
  (`needs_cases`); otherwise only their ids do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping, Optional, Sequence

from rmg_core import (
    MISSING, EvalCase, GradingRunner, ResultColumns, RunObserver, RunResults, ScoreColumn, ScoreRecords, lookup_field,
)

#: The `EvalCase` fields a case row carries, in order (everything but the trace as read).
CASE_ROW = ("id", "input", "output", "expected", "metadata", "timestamp", "observation_id", "ended_at", "running")


def needed_keys(graders: Mapping[str, tuple[Any, Any]]) -> Optional[tuple[str, ...]]:
    """The keys (or dotted paths) the runner looks up in a case's fields for these ``name -> (grader, fields)``.

    ``None`` when a grader's mapping is a callable: it may read anything, so
    the whole of `EvalCase.grader_fields` must travel.
    """
    keys: dict[str, None] = {}
    for grader, mapping in graders.values():
        if mapping is not None and not isinstance(mapping, Mapping):
            return None
        rename = dict(mapping or {})
        for field in (*grader.required_fields, *grader.optional_fields):
            keys[rename.get(field, field)] = None
    return tuple(keys)


def reduce_fields(item: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """What the runner reads of ``item`` for ``keys``, looked up as it would (a path into the trace included).

    A key found nowhere is left out, so the runner finds it missing on the
    worker too; a key holding ``None`` travels, so "is null" stays "is null".
    """
    out = {}
    for key in keys:
        value = item[key] if key in item else lookup_field(item, key)
        if value is not MISSING:
            out[key] = value
    return out


def case_rows(cases: Sequence[EvalCase]) -> list[tuple[Any, ...]]:
    """Cases as plain tuples of `CASE_ROW` (no trace as read: observers get their fields, not the raw trace)."""
    return [(c.id, c.input, c.output, c.expected, c.metadata, c.timestamp, c.observation_id, c.ended_at, c.running)
            for c in cases]


def cases_from_rows(rows: Sequence[tuple[Any, ...]]) -> list[EvalCase]:
    """`case_rows` back into cases, without validation (a worker built them from validated cases)."""
    construct = EvalCase.model_construct
    return [construct(**dict(zip(CASE_ROW, row))) for row in rows]


class IdCases(Sequence[EvalCase]):
    """Cases holding only their ids, for observers that read no more (`RunObserver.needs_cases`).

    Each is built when read: an observer that only counts them (the
    statistics) costs nothing, where building 20,000 cases cost ~0.4 CPU-s.
    """

    def __init__(self) -> None:
        self.ids: tuple[list[str], list[Optional[str]], list[Optional[datetime]]] = ([], [], [])

    def extend(self, ids: Sequence[Sequence[Any]]) -> None:
        for mine, theirs in zip(self.ids, ids):
            mine.extend(theirs)

    def __len__(self) -> int:
        return len(self.ids[0])

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        trace_ids, observation_ids, timestamps = self.ids
        return EvalCase.model_construct(id=trace_ids[index], observation_id=observation_ids[index], timestamp=timestamps[index])


def needs_cases(observe: Any) -> bool:
    """Whether a chunk observer reads the cases: a `RunObserver`'s bound ``observe`` says (`needs_cases`); others do."""
    owner = getattr(observe, "__self__", None)
    return owner.needs_cases() if isinstance(owner, RunObserver) else True


@dataclass
class GradedChunk:
    """One graded chunk on its way back: each result key's `ResultColumns`, and the cases' ids if the driver lacks them."""

    size: int
    columns: dict[str, ResultColumns]
    #: ``(trace ids, observation ids, timestamps)`` of the chunk's cases, when the worker read them (a partition).
    ids: Optional[tuple[list[str], list[Optional[str]], list[Optional[datetime]]]] = None
    #: `case_rows` of the chunk's cases, when the worker read them and run observers want them.
    rows: Optional[list[tuple[Any, ...]]] = None

    @classmethod
    def of(cls, results: RunResults, size: int) -> "GradedChunk":
        # Equal comments and errors (one not-applicable message per case, an aggregator's "missing: ..." note)
        # become one string object, which pickle sends once: half the bytes a unit sends back, and half the
        # time the driver spends receiving them while it merges (the worker waits for it).
        same: dict[str, str] = {}
        return cls(size, {key: _shared_strings(ResultColumns.of(column), same.setdefault) for key, column in results.items()})

    def records(self, identities: Mapping[str, ScoreColumn], ids: Sequence[Sequence[Any]]) -> ScoreRecords:
        """The chunk's records, each result key's run in turn (as `rmg_core.records_for` orders them)."""
        return ScoreRecords([identities[key].run(columns, *ids) for key, columns in self.columns.items()])


def _shared_strings(columns: ResultColumns, one: Callable[[str, str], str]) -> ResultColumns:
    return columns._replace(comments=[c if c is None else one(c, c) for c in columns.comments],
                            errors=[e if e is None else one(e, e) for e in columns.errors])


def ids_of(cases: Sequence[EvalCase]) -> tuple[list[str], list[Optional[str]], list[Optional[datetime]]]:
    """The ids a record takes from its case: trace id, observation id, timestamp; one list each."""
    return [c.id for c in cases], [c.observation_id for c in cases], [c.timestamp for c in cases]


def score_identities(runner: GradingRunner) -> dict[str, ScoreColumn]:
    """The `ScoreColumn` of each of ``runner``'s result keys (plugin, version, fingerprint), as records are built with."""
    from rmg_core import AGGREGATED_PREFIX

    def column(component: Any, name: str, obj: Any) -> ScoreColumn:
        return ScoreColumn(name, component, type(obj).name or type(obj).__name__, str(obj.version), obj.fingerprint())

    return {**{name: column("grader", name, grader) for name, grader in runner.graders.items()},
            **{AGGREGATED_PREFIX + name: column("aggregator", name, agg) for name, agg in runner.aggregators.items()}}
