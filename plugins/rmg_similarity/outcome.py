"""What an algorithm returns for one pair: a score with its reason and details, or `Empty`."""

from __future__ import annotations

from typing import Any, NamedTuple, Union


class Empty(NamedTuple):
    """A side has nothing to compare (no terms, no characters): the grader applies the documented empty rule."""

    has_prediction: bool
    has_reference: bool


Scored = tuple[float, str, dict[str, Any]]
Outcome = Union[Scored, Empty]


def f_measure(precision: float, recall: float) -> float:
    """The harmonic mean, 0 when both are 0 (as ``rouge-score`` defines it)."""
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


__all__ = ["Empty", "Outcome", "Scored", "f_measure"]
