"""Building many `GraderScore` objects fast.

A batch of 4,096 pairs needs 4,096 results; pydantic's ``model_construct``
costs ~3.5 µs each here, a third of the whole grading time.  An instance is
restored from the state of pydantic's pickle protocol (the four attributes
``__getstate__`` lists) in ~0.7 µs.  The builder is checked once against a
validated instance and falls back to ``model_construct`` if pydantic ever
changes that protocol.  Scores built here are finite floats in [0, 1]; the runner re-checks
finiteness anyway.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from rmg_core import GraderScore

ScoreBuilder = Callable[[str, float, str, dict[str, Any]], GraderScore]
_STATE_KEYS = {"__dict__", "__pydantic_extra__", "__pydantic_fields_set__", "__pydantic_private__"}


def _construct(name: str, score: float, reason: str, metadata: dict[str, Any]) -> GraderScore:
    return GraderScore.model_construct(name=name, score=score, reason=reason, metadata=metadata)


_new = object.__new__
_set = object.__setattr__


def _restore(name: str, score: float, reason: str, metadata: dict[str, Any]) -> GraderScore:
    # What pydantic's __setstate__ does with this state, minus a dict and a call.
    result = _new(GraderScore)
    _set(result, "__dict__", {"name": name, "metadata": metadata, "score": score, "reason": reason})
    _set(result, "__pydantic_extra__", None)
    _set(result, "__pydantic_fields_set__", {"name", "score", "reason", "metadata"})
    _set(result, "__pydantic_private__", None)
    return result


@functools.lru_cache(maxsize=1)
def score_builder() -> ScoreBuilder:
    """The fastest builder that yields objects equal to validated `GraderScore`s."""
    probe = GraderScore(name="probe", score=0.25, reason="probe", metadata={"algorithm": "probe"})
    try:
        if set(probe.__getstate__()) == _STATE_KEYS:
            built = _restore("probe", 0.25, "probe", {"algorithm": "probe"})
            if built == probe and built.model_dump() == probe.model_dump() and repr(built) == repr(probe):
                return _restore
    except Exception:  # any change in pydantic's internals: use the public constructor
        pass
    return _construct


__all__ = ["score_builder", "ScoreBuilder"]
