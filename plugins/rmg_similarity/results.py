"""Building many `GraderScore` objects fast.

A batch of 4,096 pairs needs 4,096 results; pydantic's ``model_construct``
costs ~3.5 µs each here, a third of the whole grading time.  An instance is
restored from the state of pydantic's pickle protocol (the four attributes
``__getstate__`` lists, set through their slot descriptors) in ~0.5 µs.  The builder is checked once against a
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


def _slot_setters() -> tuple[Callable[[Any, Any], None], ...]:
    """The setters of the four attributes pydantic's pickle state lists, taken from their descriptors.

    Calling a descriptor's ``__set__`` directly skips the attribute lookup
    ``object.__setattr__`` makes each time: a third of the building time.
    """
    found = []
    for key in ("__dict__", "__pydantic_extra__", "__pydantic_fields_set__", "__pydantic_private__"):
        descriptor = next(klass.__dict__[key] for klass in GraderScore.__mro__ if key in klass.__dict__)
        found.append(descriptor.__set__)
    return tuple(found)


try:
    _set_dict, _set_extra, _set_fields, _set_private = _slot_setters()
except (StopIteration, AttributeError):  # pydantic changed its layout: score_builder falls back
    _set_dict = _set_extra = _set_fields = _set_private = None  # type: ignore[assignment]


def _restore(name: str, score: float, reason: str, metadata: dict[str, Any]) -> GraderScore:
    # What pydantic's __setstate__ does with this state, minus a dict and a call.
    result = _new(GraderScore)
    _set_dict(result, {"name": name, "metadata": metadata, "score": score, "reason": reason})
    _set_extra(result, None)
    _set_fields(result, {"name", "score", "reason", "metadata"})
    _set_private(result, None)
    return result


@functools.lru_cache(maxsize=1)
def score_builder() -> ScoreBuilder:
    """The fastest builder that yields objects equal to validated `GraderScore`s."""
    probe = GraderScore(name="probe", score=0.25, reason="probe", metadata={"algorithm": "probe"})
    try:
        if _set_dict is not None and set(probe.__getstate__()) == _STATE_KEYS:
            built = _restore("probe", 0.25, "probe", {"algorithm": "probe"})
            if built == probe and built.model_dump() == probe.model_dump() and repr(built) == repr(probe):
                return _restore
    except Exception:  # any change in pydantic's internals: use the public constructor
        pass
    return _construct


__all__ = ["score_builder", "ScoreBuilder"]
