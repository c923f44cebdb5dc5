"""The CI gate: ``--fail-under SCORE=THRESHOLD`` checked against a run's statistics.

A score passes when its mean (or, with ``--gate-on lower-bound``, the lower
end of its 95% interval) is at least the threshold.  ``SCORE:pass_rate=MIN``
gates on the share of cases that reached the score's pass threshold
(``--threshold SCORE=VALUE``) instead, its lower bound being the Wilson
interval's.  A score with no successful value — every case errored — fails:
there is nothing to compare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Sequence

from rmg_core import RmgError

from .stats import PassRate, ScoreDescription

#: Exit status of ``rmg eval`` when a threshold is missed (1 = not written, 2 = usage).
EXIT_GATE = 3
GATE_ON = ("mean", "lower-bound")
#: What a ``--fail-under`` compares: ``SCORE=MIN`` the mean, ``SCORE:pass_rate=MIN`` the pass rate.
METRICS = ("mean", "pass_rate")


@dataclass(frozen=True)
class Threshold:
    """One ``--fail-under SCORE=THRESHOLD`` (``metric`` ``mean``) or ``SCORE:pass_rate=THRESHOLD``."""

    score: str
    minimum: float
    metric: str = "mean"

    @property
    def spec(self) -> str:
        return self.score if self.metric == "mean" else f"{self.score}:{self.metric}"


def parse_thresholds(specs: Iterable[str]) -> list[Threshold]:
    """Parse ``SCORE=NUMBER`` specs; a malformed or repeated one is an `RmgError` saying how to write it."""
    out: list[Threshold] = []
    seen: set[str] = set()
    for spec in specs:
        name, sep, number = spec.partition("=")
        name = name.strip()
        metric = "mean"
        if ":" in name:
            name, _, metric = (p.strip() for p in name.rpartition(":"))
            if metric not in METRICS:
                raise RmgError(f"--fail-under {spec!r}: {metric!r} is not a metric; write SCORE=MIN for the mean or SCORE:pass_rate=MIN")
        if not sep or not name:
            raise RmgError(f"--fail-under {spec!r}: expected SCORE=THRESHOLD, e.g. --fail-under overall=0.7")
        try:
            minimum = float(number)
        except ValueError:
            raise RmgError(f"--fail-under {spec!r}: {number.strip()!r} is not a number") from None
        if not math.isfinite(minimum):
            raise RmgError(f"--fail-under {spec!r}: the threshold must be a finite number")
        threshold = Threshold(name, minimum, metric)
        if threshold.spec in seen:
            raise RmgError(f"--fail-under {threshold.spec}: given twice; keep one threshold per score")
        if metric == "pass_rate" and not 0 <= minimum <= 1:
            raise RmgError(f"--fail-under {spec!r}: a pass rate is between 0 and 1, e.g. {name}:pass_rate=0.9")
        seen.add(threshold.spec)
        out.append(threshold)
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


def check_pass_thresholds(thresholds: Sequence[Threshold], pass_thresholds: Mapping[str, float]) -> None:
    """Raise an `RmgError` if a ``SCORE:pass_rate`` gate names a score with no pass threshold."""
    for t in thresholds:
        if t.metric == "pass_rate" and t.score not in pass_thresholds:
            raise RmgError(
                f"--fail-under {t.spec}={t.minimum:g}: {t.score} has no pass threshold; add --threshold {t.score}=VALUE "
                f"(or thresholds = {{ {t.score} = VALUE }} in [report])"
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
    metric: str = "mean"

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


def _check_pass_rate(threshold: Threshold, rate: Optional[PassRate], stats: ScoreDescription, on: str) -> GateCheck:
    name, minimum, spec = threshold.score, threshold.minimum, threshold.spec
    if rate is None or rate.rate is None:
        message = (f"{name} has no successful values ({stats.errors} errors): no pass rate to compare with {minimum:g}; "
                   "fix the grader errors listed above")
        return GateCheck(name, minimum, on, None, False, message, "pass_rate")
    actual = rate.rate if on == "mean" else rate.low
    what = "pass rate" if on == "mean" else f"{stats.confidence:.0%} lower bound of the pass rate"
    passed = actual is not None and actual >= minimum
    relation = ">=" if passed else "<"
    message = (f"{name} {what} {actual:.4f} {relation} {minimum:g} ({rate.passed} of {rate.scored} scored "
               f"reached {rate.threshold:g}, {stats.errors} errors)")
    if not passed:
        message += f" [--fail-under {spec}={minimum:g}]"
    return GateCheck(name, minimum, on, actual, passed, message, "pass_rate")


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


def evaluate_gate(
    thresholds: Sequence[Threshold], stats: Mapping[str, ScoreDescription], on: str = "mean",
    pass_rates: Optional[Mapping[str, PassRate]] = None,
) -> GateResult:
    """Check each threshold against ``stats`` (score name -> description) and ``pass_rates`` (score name -> rate)."""
    if on not in GATE_ON:
        raise RmgError(f"--gate-on {on!r}: choose one of {', '.join(GATE_ON)}")
    check_score_names(thresholds, list(stats))
    rates = pass_rates or {}
    return GateResult(on, [
        _check_pass_rate(t, rates.get(t.score), stats[t.score], on) if t.metric == "pass_rate" else _check(t, stats[t.score], on)
        for t in thresholds
    ])
