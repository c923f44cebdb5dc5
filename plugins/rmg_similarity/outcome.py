"""What an algorithm returns: per pair a score with its reason and details, or `Empty`; or the same as `Columns`."""

from __future__ import annotations

from typing import Any, NamedTuple, Optional, Union


class Empty(NamedTuple):
    """A side has nothing to compare (no terms, no characters): the grader applies the documented empty rule."""

    has_prediction: bool
    has_reference: bool


Scored = tuple[float, str, dict[str, Any]]
Outcome = Union[Scored, Empty]


class Columns(NamedTuple):
    """A batch's outcomes as columns, for the algorithms that compute them vectorized.

    Cheaper than one `Outcome` tuple per pair: the grader builds every result
    in one ``map`` over the columns.  ``values``, ``reasons`` and ``details``
    (extra metadata, or None for none) hold an entry for every pair; the
    entries of the pairs in ``empty`` are ignored.
    """

    values: list[float]
    reasons: list[str]
    details: Optional[list[dict[str, Any]]]
    empty: dict[int, Empty]


def f_measure(precision: float, recall: float) -> float:
    """The harmonic mean, 0 when both are 0 (as ``rouge-score`` defines it)."""
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


__all__ = ["Columns", "Empty", "Outcome", "Scored", "f_measure"]
