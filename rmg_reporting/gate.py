"""The CI gate: ``--fail-under SCORE=THRESHOLD`` checked against a run's statistics.

A score passes when its mean (or, with ``--gate-on lower-bound``, the lower
end of its 95% interval) is at least the threshold.  A score with no
successful value — every case errored — fails: there is nothing to compare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Sequence

from rmg_core import RmgError

from .stats import ScoreDescription

#: Exit status of ``rmg eval`` when a threshold is missed (1 = not written, 2 = usage).
EXIT_GATE = 3
GATE_ON = ("mean", "lower-bound")


@dataclass(frozen=True)
class Threshold:
    """One ``--fail-under SCORE=THRESHOLD``."""

    score: str
    minimum: float


def parse_thresholds(specs: Iterable[str]) -> list[Threshold]:
    """Parse ``SCORE=NUMBER`` specs; a malformed or repeated one is an `RmgError` saying how to write it."""
    out: list[Threshold] = []
    seen: set[str] = set()
    for spec in specs:
        name, sep, number = spec.partition("=")
        name = name.strip()
        if not sep or not name:
            raise RmgError(f"--fail-under {spec!r}: expected SCORE=THRESHOLD, e.g. --fail-under overall=0.7")
        try:
            minimum = float(number)
        except ValueError:
            raise RmgError(f"--fail-under {spec!r}: {number.strip()!r} is not a number") from None
        if not math.isfinite(minimum):
            raise RmgError(f"--fail-under {spec!r}: the threshold must be a finite number")
        if name in seen:
            raise RmgError(f"--fail-under {name}: given twice; keep one threshold per score")
        seen.add(name)
        out.append(Threshold(name, minimum))
    return out


def check_score_names(thresholds: Sequence[Threshold], valid: Sequence[str]) -> None:
    """Raise an `RmgError` naming the valid scores if a threshold names a score the run does not produce."""
    unknown = [t.score for t in thresholds if t.score not in valid]
    if unknown:
        listed = ", ".join(valid) or "(none)"
        raise RmgError(
            f"--fail-under names {', '.join(repr(u) for u in unknown)}, which this run does not score; "
            f"valid scores: {listed} (graders by score name, aggregators by theirs)"
        )


@dataclass
class GateCheck:
    """The outcome of one threshold."""

    score: str
    threshold: float
    on: str
    actual: Optional[float]
    passed: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class GateResult:
    """Every threshold's outcome; ``passed`` when all passed (and trivially when there were none)."""

    on: str
    checks: list[GateCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[GateCheck]:
        return [c for c in self.checks if not c.passed]

    def as_dict(self) -> dict[str, Any]:
        return {"on": self.on, "passed": self.passed, "checks": [c.as_dict() for c in self.checks]}

    def render(self) -> str:
        """One line per threshold: ``gate passed: …`` or ``gate FAILED: …``."""
        return "\n".join(("gate passed: " if c.passed else "gate FAILED: ") + c.message for c in self.checks)


def _check(threshold: Threshold, stats: ScoreDescription, on: str) -> GateCheck:
    name, minimum = threshold.score, threshold.minimum
    what = "mean" if on == "mean" else f"{stats.confidence:.0%} lower bound of the mean"
    if stats.scored == 0:
        message = (
            f"{name} has no successful values ({stats.errors} errors, {stats.skipped} skipped): "
            f"nothing to compare with {minimum:g}; fix the grader errors listed above"
        )
        return GateCheck(name, minimum, on, None, False, message)
    actual = stats.mean if on == "mean" else stats.ci_low
    if actual is None:
        message = f"{name} has {stats.scored} value; a lower bound needs at least 2 (or gate on the mean)"
        return GateCheck(name, minimum, on, None, False, message)
    passed = actual >= minimum
    relation = ">=" if passed else "<"
    message = f"{name} {what} {actual:.4f} {relation} {minimum:g} ({stats.scored} scored, {stats.errors} errors)"
    if not passed:
        message += f" [--fail-under {name}={minimum:g}]"
    return GateCheck(name, minimum, on, actual, passed, message)


def evaluate_gate(thresholds: Sequence[Threshold], stats: Mapping[str, ScoreDescription], on: str = "mean") -> GateResult:
    """Check each threshold against ``stats`` (score name -> description)."""
    if on not in GATE_ON:
        raise RmgError(f"--gate-on {on!r}: choose one of {', '.join(GATE_ON)}")
    check_score_names(thresholds, list(stats))
    return GateResult(on, [_check(t, stats[t.score], on) for t in thresholds])
