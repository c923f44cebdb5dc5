"""What a grader or an aggregator returns for one case.

The three result types are the ones the seed's users already know from
RM-Gallery/OpenJudge: `GraderScore`, `GraderRank` and `GraderError`.  A grader
failure is always a `GraderError`, never a score of 0.0.
"""

from __future__ import annotations

import math
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)


class GraderScore(_Result):
    """A numeric grade.  ``score`` is a finite number (NaN and inf are rejected)."""

    score: float
    reason: str = ""

    @field_validator("score", mode="before")
    @classmethod
    def _finite_number(cls, value: Any) -> float:
        # bool is an int subclass and a str would be coerced by pydantic's lax
        # mode: both are almost always a grader bug, so they are refused.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"score must be a number, got {type(value).__name__} {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"score must be finite, got {value!r}")
        return float(value)


class GraderRank(_Result):
    """A rank: an int position (1 = best) or a listwise ranking of candidates."""

    rank: Union[int, list[int]]
    reason: str = ""

    @field_validator("rank", mode="before")
    @classmethod
    def _no_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("rank must be an int or a list of ints, got a bool")
        return value


class GraderError(_Result):
    """The grader could not grade this case; ``error`` says why (``reason``: a short summary, as OpenJudge has).

    ``not_applicable=True`` marks a case the grader does not apply to (it
    lacks a field the grader needs: no expected answer for similarity, no
    output for a trace whose call failed).  That is a property of the data,
    not a failure: it is counted apart from errors and never written as a
    number.  It stays a `GraderError`, so ``isinstance(r, GraderError)``
    checks written before it existed still treat it as "no score".
    """

    error: str
    reason: str = ""
    not_applicable: bool = False


GraderResult = Union[GraderScore, GraderRank, GraderError]
RESULT_TYPES = (GraderScore, GraderRank, GraderError)


def check_result(value: Any, grader: str) -> GraderResult:
    """Return ``value`` if it is a valid result, else a `GraderError` saying what was wrong.

    Graders may build results with ``model_construct`` (no validation) for
    speed, so the runner re-checks the one thing that matters most: a score is
    a finite number.
    """
    cls = type(value)
    if cls is GraderScore:
        score = value.score
        if type(score) is float and math.isfinite(score):
            return value
        if isinstance(score, int) and not isinstance(score, bool):
            return value
        return GraderError(
            name=value.name,
            error=f"grader {grader!r} returned a non-finite or non-numeric score: {score!r}",
            metadata={"returned": repr(score)},
        )
    if cls is GraderError or cls is GraderRank:
        return value
    if isinstance(value, RESULT_TYPES):  # subclasses: validate them fully
        try:
            return type(value).model_validate(value.model_dump())
        except ValidationError as exc:
            return GraderError(error=f"grader {grader!r} returned an invalid result: {exc}")
    return GraderError(
        error=(
            f"grader {grader!r} returned {type(value).__name__} {value!r:.200}; "
            "a grader must return GraderScore, GraderRank or GraderError"
        ),
    )


def error_from_exception(exc: BaseException, grader: str) -> GraderError:
    """Turn an exception raised by a grader into a `GraderError` that keeps its type."""
    message = str(exc) or type(exc).__name__
    return GraderError(
        error=f"{type(exc).__name__}: {message}",
        metadata={"exception": type(exc).__name__, "grader": grader},
    )
