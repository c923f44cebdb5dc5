"""The pipeline observer that gathers what reports need, in memory bounded whatever the run's size.

Per score name it keeps the numeric values (8 bytes each, in a `ValueStore`),
the error count and errors grouped by message (at most `KEEP_ERROR_MESSAGES`
distinct messages, the rest counted together), and the ``worst`` lowest-scoring
cases in a bounded heap, with their texts reduced and truncated.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Sequence

from rmg_core import EvalCase, ScoreRecord, ScoreRecords, answer_text, question_text

from .stats import Histogram, ScoreDescription, ValueStore, describe, histogram

#: Distinct error messages kept per score; further messages are counted as "other".
KEEP_ERROR_MESSAGES = 50
#: Characters kept of an error message (they can embed whole payloads).
ERROR_MESSAGE_CHARS = 300
#: Characters kept of each text of a worst case (input, prediction, reference, reason).
TEXT_CHARS = 600
#: Trace ids kept as examples of each error message.
ERROR_EXAMPLES = 3


_Run = tuple[str, str, Sequence[str], Sequence[Any], Callable[[int], ScoreRecord]]


def _runs(records: Sequence[ScoreRecord]) -> Iterator[_Run]:
    """Each run of one score name: (name, component, kinds, values, the run's i-th record)."""
    if isinstance(records, ScoreRecords):  # the pipeline's: columns already, no record built
        for run in records.runs:
            yield run.column.name, run.column.component, run.results.kinds, run.results.values, run.record
        return
    for name, group in itertools.groupby(records, key=lambda record: record.name):
        run = list(group)
        yield name, run[0].component, [r.kind for r in run], [r.value for r in run], run.__getitem__


def truncate(text: str, limit: int = TEXT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with a marker saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit:,} more characters]"


@dataclass
class WorstCase:
    """One low-scoring case as a report shows it (texts reduced with `rmg_core.text`)."""

    value: float
    trace_id: str
    observation_id: Optional[str]
    input: str
    prediction: str
    reference: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ErrorGroup:
    """How often one error message occurred, and a few traces it occurred on."""

    message: str
    count: int = 0
    trace_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.message, "count": self.count, "trace_ids": self.trace_ids}


class ScoreCollector:
    """Everything gathered about one score name."""

    def __init__(self, name: str, component: str, worst: int) -> None:
        self.name = name
        self.component = component
        self.values = ValueStore()
        self.errors = 0
        self.non_numeric = 0
        self.not_applicable = 0  # the case lacks a field the grader needs: neither a value nor an error
        self.other_errors = 0  # errors whose message was not kept (too many distinct messages)
        self.error_groups: dict[str, ErrorGroup] = {}
        self._worst = worst
        # A max-heap of the `worst` lowest values: entries are (-value, -seq, case),
        # so heap[0] is the highest kept value and, among equal values, the latest
        # seen — the one to evict first, keeping the earliest traces on ties.
        self._heap: list[tuple[float, int, WorstCase]] = []

    def add_error(self, record: ScoreRecord) -> None:
        self.errors += 1
        message = (record.error or "(no message)")[:ERROR_MESSAGE_CHARS]
        group = self.error_groups.get(message)
        if group is None:
            if len(self.error_groups) >= KEEP_ERROR_MESSAGES:
                self.other_errors += 1
                return
            group = self.error_groups[message] = ErrorGroup(message)
        group.count += 1
        if len(group.trace_ids) < ERROR_EXAMPLES:
            group.trace_ids.append(record.trace_id)

    def admits(self, value: float) -> bool:
        """Would ``value`` enter the worst cases?  Cheap, so texts are only built when it does."""
        return len(self._heap) < self._worst or value < -self._heap[0][0]

    def add_worst(self, value: float, seq: int, case: WorstCase) -> None:
        entry = (-value, -seq, case)
        if len(self._heap) < self._worst:
            heapq.heappush(self._heap, entry)
        else:
            heapq.heapreplace(self._heap, entry)

    def worst_cases(self) -> list[WorstCase]:
        """The kept cases, lowest value first (earliest seen first among equal values)."""
        return [case for _, _, case in sorted(self._heap, key=lambda e: (-e[0], -e[1]))]

    def grouped_errors(self) -> list[ErrorGroup]:
        """Error groups, most frequent first."""
        return sorted(self.error_groups.values(), key=lambda g: (-g.count, g.message))


class RunCollector:
    """Observer for `run_evaluation(observers=[...])`: gathers statistics, worst cases and errors.

    ``worst`` is how many lowest-scoring cases are kept per score (0 keeps none).
    """

    def __init__(self, worst: int = 10) -> None:
        self.worst = worst
        self.cases = 0
        self.scores: dict[str, ScoreCollector] = {}
        self._seq = 0

    def expect(self, name: str, component: str) -> None:
        """Declare a score up front, so it is reported (with zero values) even if no case reached it."""
        if name not in self.scores:
            self.scores[name] = ScoreCollector(name, component, self.worst)

    def __call__(self, cases: Sequence[EvalCase], records: Sequence[ScoreRecord]) -> None:
        self.cases += len(cases)
        by_id: Optional[dict[str, EvalCase]] = None
        # Records come in runs of one score name, each counted from its kinds and values; a record itself
        # is read only for an error or a worst case (the pipeline's `ScoreRecords` then builds just that one).
        for name, component, kinds, values, record_at in _runs(records):
            score = self.scores.get(name)
            if score is None:
                score = self.scores[name] = ScoreCollector(name, component, self.worst)
            append = score.values.raw.append
            for i, (kind, value) in enumerate(zip(kinds, values)):
                if kind == "error":
                    score.add_error(record_at(i))
                elif kind == "not_applicable":
                    score.not_applicable += 1
                elif not isinstance(value, (int, float)) or isinstance(value, bool):
                    score.non_numeric += 1  # a listwise rank: counted as skipped, not averaged
                else:
                    append(value)
                    self._seq += 1
                    if self.worst and score.admits(value):
                        if by_id is None:
                            by_id = {case.id: case for case in cases}
                        record = record_at(i)
                        score.add_worst(value, self._seq, self._worst_case(record, by_id.get(record.trace_id)))

    @staticmethod
    def _worst_case(record: ScoreRecord, case: Optional[EvalCase]) -> WorstCase:
        return WorstCase(
            value=float(record.value),  # type: ignore[arg-type]
            trace_id=record.trace_id,
            observation_id=record.observation_id,
            input=truncate(question_text(case.input)) if case else "",
            prediction=truncate(answer_text(case.output)) if case else "",
            reference=truncate(answer_text(case.expected)) if case else "",
            reason=truncate(record.comment or ""),
        )

    def skipped(self, name: str) -> int:
        """Cases with no usable value for ``name``: not a number (e.g. a listwise rank) or no record at all.

        Not-applicable cases are counted apart (`ScoreStats.not_applicable`), not here.
        """
        score = self.scores[name]
        return max(0, self.cases - len(score.values) - score.errors - score.not_applicable)

    def describe(self) -> dict[str, ScoreDescription]:
        """The statistics of every score (numpy runs here, at the end of the run)."""
        return {
            name: describe(score.values, errors=score.errors, skipped=self.skipped(name))
            for name, score in self.scores.items()
        }

    def quartiles(self) -> dict[str, float]:
        """Each score's 25th percentile (scores with values only): the report's failing cut without a threshold."""
        import numpy as np

        return {name: float(np.percentile(s.values.to_numpy(), 25)) for name, s in self.scores.items() if len(s.values)}

    def histograms(self, bins: int = 20) -> dict[str, Histogram]:
        return {name: histogram(score.values, bins) for name, score in self.scores.items()}
