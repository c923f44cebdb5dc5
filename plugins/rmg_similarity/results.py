"""Building many `GraderScore` objects fast.

A batch of 4,096 pairs needs 4,096 results; pydantic's ``model_construct``
costs ~3.5 µs each here, a third of the whole grading time.  An instance is
restored from the state of pydantic's pickle protocol (the four attributes
``__getstate__`` lists, set through their slot descriptors) in ~0.5 µs.  The builder is checked once against a
validated instance and falls back to ``model_construct`` if pydantic ever
changes that protocol.  Scores built here are finite floats in [0, 1]; the runner re-checks
finiteness anyway.

`score_builder` builds one result; `scores_builder` a whole column, each
step a C-level ``map`` over the column instead of a Python call per result.
Every result gets its own ``__dict__`` and metadata dict, but they share
one ``__pydantic_fields_set__``: it always holds all four field names, and
pydantic only ever adds a field name to it (a no-op then) or copies it
(``model_copy``), so one set serves them all and saves a tracked object
per result.
"""

from __future__ import annotations

import functools
from collections import deque
from itertools import repeat
from typing import Any, Callable, Sequence

from rmg_core import GraderScore

ScoreBuilder = Callable[[str, float, str, dict[str, Any]], GraderScore]
ScoresBuilder = Callable[[str, Sequence[float], Sequence[str], Sequence[dict[str, Any]]], list[GraderScore]]
_STATE_KEYS = {"__dict__", "__pydantic_extra__", "__pydantic_fields_set__", "__pydantic_private__"}
#: Every result's fields set (see the module docstring).
_FIELDS_SET = {"name", "score", "reason", "metadata"}


def _construct(name: str, score: float, reason: str, metadata: dict[str, Any]) -> GraderScore:
    return GraderScore.model_construct(name=name, score=score, reason=reason, metadata=metadata)


def _construct_all(name: str, values: Sequence[float], reasons: Sequence[str],
                   metas: Sequence[dict[str, Any]]) -> list[GraderScore]:
    return list(map(_construct, repeat(name), values, reasons, metas))


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
    _set_fields(result, _FIELDS_SET)
    _set_private(result, None)
    return result


def _restore_all(name: str, values: Sequence[float], reasons: Sequence[str],
                 metas: Sequence[dict[str, Any]]) -> list[GraderScore]:
    # _restore for a column: one C-level pass per step (a deque of size 0 runs a map for its effects).
    results = list(map(_new, repeat(GraderScore, len(values))))
    states = [{"name": name, "metadata": m, "score": v, "reason": r} for v, r, m in zip(values, reasons, metas)]
    deque(map(_set_dict, results, states), 0)
    deque(map(_set_extra, results, repeat(None)), 0)
    deque(map(_set_fields, results, repeat(_FIELDS_SET)), 0)
    deque(map(_set_private, results, repeat(None)), 0)
    return results


def _restores_as_validated() -> bool:
    probe = GraderScore(name="probe", score=0.25, reason="probe", metadata={"algorithm": "probe"})
    try:
        if _set_dict is None or set(probe.__getstate__()) != _STATE_KEYS:
            return False
        for built in (_restore("probe", 0.25, "probe", {"algorithm": "probe"}),
                      _restore_all("probe", [0.25], ["probe"], [{"algorithm": "probe"}])[0]):
            if not (built == probe and built.model_dump() == probe.model_dump() and repr(built) == repr(probe)
                    and built.model_fields_set == probe.model_fields_set):
                return False
        return True
    except Exception:  # any change in pydantic's internals: use the public constructor
        return False


@functools.lru_cache(maxsize=1)
def score_builder() -> ScoreBuilder:
    """The fastest builder of one result that yields objects equal to validated `GraderScore`s."""
    return _restore if _restores_as_validated() else _construct


@functools.lru_cache(maxsize=1)
def scores_builder() -> ScoresBuilder:
    """``(name, values, reasons, metas) -> results``: `score_builder` for a whole column."""
    return _restore_all if _restores_as_validated() else _construct_all


__all__ = ["score_builder", "scores_builder", "ScoreBuilder", "ScoresBuilder"]
