"""What a run did: cases read and rejected, per-score statistics, writes and failures."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from .cases import CaseError
from .printable import printable
from .records import ScoreRecord, ScoreRun, WriteFailure, WriteReport

#: Exit statuses a run's outcome gives (2 is a usage error, 3 the CI gate's; docs/safety.md has the table).
EXIT_INCOMPLETE, EXIT_NOTHING_GRADED, EXIT_ALL_ERRORS = 1, 4, 5
#: The `GraderError` metadata key by which a grader says it stopped trying for the rest of the run.
GAVE_UP = "gave_up"
#: How many individual problems a summary keeps; the rest are only counted.
KEEP_PROBLEMS = 50


@dataclass
class ScoreStats:
    """Running statistics of one score name (errors counted, never averaged as 0)."""

    name: str
    component: str = "grader"
    scored: int = 0
    errors: int = 0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    error_messages: dict[str, int] = field(default_factory=dict)
    #: Cases with no numeric value and no error (e.g. a listwise rank).
    skipped: int = 0
    #: Cases the grader does not apply to (a needed field is missing): neither scored nor errors.
    not_applicable: int = 0
    not_applicable_messages: dict[str, int] = field(default_factory=dict)
    #: Spread, percentiles and confidence interval, attached at the end of a run
    #: by `rmg_reporting` (keys of `ScoreDescription.as_dict`).
    distribution: Optional[dict[str, Any]] = None
    #: Set when the grader gave up for the rest of the run (an error whose metadata has ``gave_up``
    #: true, e.g. a judge whose key was refused): the run fails even if some cases were scored.
    gave_up: Optional[str] = None

    def add(self, record: ScoreRecord) -> None:
        self.add_all((record,))

    def add_all(self, records: Sequence[ScoreRecord]) -> None:
        """Count records of this score at once."""
        self._add_columns([r.kind for r in records], [r.value for r in records], [r.error for r in records],
                          [r.metadata for r in records])

    def add_run(self, run: ScoreRun) -> None:
        """Count a chunk's run of this score (`ScoreRecords.runs`) from its columns."""
        self._add_columns(run.results.kinds, run.results.values, run.results.errors, run.results.metadata)

    def _add_columns(self, kinds: Sequence[str], values: Sequence[Any], errors: Sequence[Optional[str]],
                     metadata: Sequence[dict[str, Any]]) -> None:
        numbers: list[float] = []
        for kind, value, error, meta in zip(kinds, values, errors, metadata):
            if kind == "score" or kind == "rank":
                if isinstance(value, (int, float)):
                    numbers.append(value)
                else:
                    self.skipped += 1
            elif kind == "error":
                self._add_error(error, meta)
            else:  # not applicable
                self.not_applicable += 1
                message = (error or "")[:200]
                if message in self.not_applicable_messages or len(self.not_applicable_messages) < KEEP_PROBLEMS:
                    self.not_applicable_messages[message] = self.not_applicable_messages.get(message, 0) + 1
        if numbers:
            self.scored += len(numbers)
            # sum() from the running total adds in the order one by one would (Python 3.12+
            # compensates the rounding of float sums: a total as exact or more).
            self.total = sum(numbers, self.total)
            self.minimum = min(self.minimum, min(numbers))
            self.maximum = max(self.maximum, max(numbers))

    def _add_error(self, error: Optional[str], metadata: dict[str, Any]) -> None:
        self.errors += 1
        message = (error or "")[:200]
        if metadata.get(GAVE_UP) and self.gave_up is None:
            self.gave_up = message
        if message in self.error_messages or len(self.error_messages) < KEEP_PROBLEMS:
            self.error_messages[message] = self.error_messages.get(message, 0) + 1

    @property
    def mean(self) -> Optional[float]:
        return self.total / self.scored if self.scored else None

    def as_dict(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "component": self.component,
            "scored": self.scored,
            "errors": self.errors,
            "not_applicable": self.not_applicable,
            "skipped": self.skipped,
            "mean": self.mean,
            "min": self.minimum if self.scored else None,
            "max": self.maximum if self.scored else None,
        }
        if self.distribution:
            out.update(self.distribution)
        out["error_messages"] = self.error_messages
        out["not_applicable_messages"] = self.not_applicable_messages
        return out


@dataclass
class SinkTally:
    """What one sink did over the whole run."""

    sink: str
    report: WriteReport = field(default_factory=WriteReport)
    failed_count: int = 0

    def add(self, report: WriteReport) -> None:
        for count in ("written", "skipped", "unchanged", "unchecked"):
            setattr(self.report, count, getattr(self.report, count) + getattr(report, count))
        self.report.notes.extend(report.notes)
        self.failed_count += len(report.failed)
        room = KEEP_PROBLEMS - len(self.report.failed)
        if room > 0:
            self.report.failed.extend(report.failed[:room])

    def fail_all(self, records: Sequence[ScoreRecord], message: str) -> None:
        self.add(WriteReport(failed=[WriteFailure.of(r, message) for r in records]))


@dataclass
class RunSummary:
    """The outcome of `run_evaluation`; ``exit_code`` is non-zero when anything was not written."""

    cases: int = 0
    #: Cases the source has yielded so far (graded or still queued): progress displays estimate totals from it.
    read: int = 0
    bad_cases: int = 0
    bad_case_examples: list[CaseError] = field(default_factory=list)
    scores: dict[str, ScoreStats] = field(default_factory=dict)
    sinks: list[SinkTally] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False
    fatal: Optional[str] = None
    #: Why nothing was graded, from the source (`Source.why_empty`), when it knows.
    empty_reason: Optional[str] = None

    def attach_statistics(self, statistics: dict[str, dict[str, Any]]) -> None:
        """Attach per-score statistics (score name -> `ScoreDescription.as_dict()`).

        They are shown by `render` and included in `as_dict`; a score the
        run did not declare is added (an aggregator score named by a plugin).
        """
        for name, values in statistics.items():
            stats = self.scores.get(name)
            if stats is None:
                stats = self.scores[name] = ScoreStats(name)
            stats.distribution = dict(values)
            stats.skipped = int(values.get("skipped", stats.skipped))

    def add_bad_case(self, problem: CaseError) -> None:
        self.bad_cases += 1
        if len(self.bad_case_examples) < KEEP_PROBLEMS:
            self.bad_case_examples.append(problem)

    @property
    def failed_writes(self) -> int:
        return sum(t.failed_count for t in self.sinks)

    @property
    def failed_scores(self) -> list[str]:
        """Scores whose every result is an error (a wrong key, a judge refusing every call)."""
        return [s.name for s in self.scores.values() if s.gave_up or (s.errors and not s.scored and not s.skipped)]

    @property
    def exit_code(self) -> int:
        """`EXIT_INCOMPLETE` (not all written, source failed, stopped), `EXIT_NOTHING_GRADED`, `EXIT_ALL_ERRORS`, or 0."""
        if self.fatal or self.failed_writes or self.interrupted:
            return EXIT_INCOMPLETE
        return EXIT_NOTHING_GRADED if self.graded_nothing else EXIT_ALL_ERRORS if self.failed_scores else 0

    @property
    def graded_nothing(self) -> bool:
        """No case read, or no grader applied to any case read (every grader result is not applicable)."""
        graders = [s for s in self.scores.values() if s.component == "grader"]
        return not self.cases or bool(graders) and all(
            not (s.scored or s.skipped or s.errors) and s.not_applicable for s in graders
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "bad_cases": self.bad_cases,
            "bad_case_examples": [str(p) for p in self.bad_case_examples],
            "scores": {k: v.as_dict() for k, v in self.scores.items()},
            "sinks": [
                {
                    "sink": t.sink,
                    "written": t.report.written,
                    "skipped": t.report.skipped,
                    **t.report.model_dump(include={"unchanged", "unchecked"}),
                    "failed": t.failed_count,
                    "failures": [f.model_dump() for f in t.report.failed],
                    "notes": list(t.report.notes),
                }
                for t in self.sinks
            ],
            "seconds": self.seconds,
            "interrupted": self.interrupted,
            "fatal": self.fatal,
            "empty_reason": self.empty_reason,
            "failed_scores": self.failed_scores,
            "exit_code": self.exit_code,
        }

    def render(self, scores: bool = True) -> str:
        """The one-screen summary printed at the end of ``rmg eval``.

        ``scores=False`` leaves out the score table (`score_lines`), for a
        caller that draws its own.
        """
        rate = f" ({self.cases / self.seconds:,.0f}/s)" if self.seconds > 0 and self.cases else ""
        lines = [f"rmg eval: {self.cases} {_traces(self.cases)} graded in {self.seconds:.2f}s{rate}"]
        if self.bad_cases:
            lines.append(f"  {self.bad_cases} {_traces(self.bad_cases)} skipped as unreadable, e.g.:")
            lines += [f"    {printable(p)}" for p in self.bad_case_examples[:5]]
        if self.scores and scores:
            lines += self.score_lines()
        for tally in self.sinks:
            r = tally.report
            parts = [f"{r.written} written", r.unchecked and f"{r.unchecked} of them without checking what was stored (reading it failed)",
                     r.unchanged and f"{r.unchanged} unchanged (not written)", f"{r.skipped} skipped", tally.failed_count and f"{tally.failed_count} FAILED"]
            lines.append(f"  sink {tally.sink}: " + ", ".join(p for p in parts if p))
            for failure in r.failed[:5]:
                lines.append(printable(f"    not written: trace {failure.trace_id} score {failure.name!r}: {failure.message}"))
            lines += [f"    {printable(note)}" for note in r.notes]
        if not self.sinks:
            lines.append("  no sink: scores were not written anywhere (add -o FILE or --sink NAME)")
        if self.interrupted:
            lines.append("  INTERRUPTED: the run was stopped before every trace was graded")
        if self.fatal:
            lines.append(f"  FAILED: {printable(self.fatal)}")
        if self.exit_code == EXIT_NOTHING_GRADED:
            why = self.empty_reason or (f"all {self.bad_cases} traces read were unreadable (see above)" if self.bad_cases
                                        else "the source yielded no trace: is the input empty, or a filter too narrow?")
            lines.append(f"  NOTHING GRADED: {printable(why)}")
        for name in self.failed_scores:
            stats = self.scores[name]
            lines.append(f"  FAILED: score {printable(name)!r}: " + (f"its grader gave up: {printable(stats.gave_up)}" if stats.gave_up
                         else f"every result is an error ({stats.errors}); see its error messages above"))
        return "\n".join(lines)

    def score_lines(self) -> list[str]:
        """The plain-text score table, then up to three error messages per score.

        ``n/a`` counts the cases a grader does not apply to (not errors), with
        up to two of their messages.

        With statistics attached (`ScoreStats.distribution`) it also shows the
        standard deviation, the median and the 95% interval of the mean.
        """
        def fmt(v: Optional[float]) -> str:
            return f"{v:8.3f}" if v is not None else f"{'-':>8}"

        detailed = any(s.distribution for s in self.scores.values())
        width = max(len(n) for n in self.scores) + 2
        head = f"  {'score':<{width}}{'scored':>8}{'errors':>8}{'n/a':>8}{'mean':>8}"
        head += f"{'std':>8}{'min':>8}{'p50':>8}{'max':>8}  95% CI of mean" if detailed else f"{'min':>8}{'max':>8}"
        lines = [head]
        for stats in self.scores.values():
            lo = stats.minimum if stats.scored else None
            hi = stats.maximum if stats.scored else None
            row = f"  {stats.name:<{width}}{stats.scored:>8}{stats.errors:>8}{stats.not_applicable:>8}{fmt(stats.mean)}"
            if detailed:
                d = stats.distribution or {}
                ci = f"[{d['ci_low']:.3f}, {d['ci_high']:.3f}]" if d.get("ci_low") is not None else "-"
                row += f"{fmt(d.get('std'))}{fmt(lo)}{fmt(d.get('p50'))}{fmt(hi)}  {ci}"
            else:
                row += f"{fmt(lo)}{fmt(hi)}"
            lines.append(row)
        for stats in self.scores.values():
            if stats.skipped:
                lines.append(f"  {stats.name}: {stats.skipped} cases skipped (no numeric value)")
            for message, count in list(stats.error_messages.items())[:3]:
                lines.append(printable(f"  {stats.name} error x{count}: {message}"))
            for message, count in list(stats.not_applicable_messages.items())[:2]:
                lines.append(printable(f"  {stats.name} not applicable x{count}: {message}"))
        return lines


def _traces(n: int) -> str:
    return "trace" if n == 1 else "traces"
