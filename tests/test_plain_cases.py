"""The fast paths of reading a trace build exactly what the validated paths build.

`case_from_mapping` builds a well-formed trace's case without pydantic (`rmg_core.cases._plain_case`)
and skips walking a JSON line's trace for its depth when its brackets bound it (`RawTrace.nesting`).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from rmg_core import CaseError, EvalCase, MAX_NESTING, case_from_mapping
from rmg_core import cases as cases_module
from rmg_intake.intake import Intake
from rmg_local.source import LocalFileSource

TRACES: list[Any] = [
    {"id": "a", "input": "q", "output": "o", "expected": "e", "metadata": {"k": [1, {"x": None}]}, "timestamp": "2025-03-03T08:05:36+01:00"},
    {"id": "b", "input": [{"role": "user", "content": "q"}], "output": {"role": "assistant", "content": "a"},
     "metadata": {"expected_output": '{"a": 1}'}, "timestamp": "2025-03-03T08:22:52.093Z", "observationId": "o1", "running": True},
    {"id": "c", "expected_output": "x", "reference": "y", "timestamp": "2025-03-03T08:22:52", "tags": ["t"]},
    {"id": "d", "input": '["not", "chat"]', "output": " {\"a\": 2} ", "timestamp": "2025-03-03T08:22:52.5-07:00"},
    {"id": "e", "timestamp": None, "metadata": None, "observation_id": None, "ended_at": None},
    # What the fast path leaves to pydantic: converted, or refused with pydantic's message.
    {"id": 7}, {"id": True}, {"id": ""}, {"input": "no id"}, {"id": "f", "metadata": '{"a": 1}'}, {"id": "f", "metadata": "text"},
    {"id": "f", "metadata": {1: "int key"}}, {"id": "f", "metadata": ["list"]}, {"id": "f", "timestamp": 1700000000},
    {"id": "f", "timestamp": "2025-03-03 08:00:00"}, {"id": "f", "timestamp": "2025-03-03T08:22:52+00:60"},
    {"id": "f", "timestamp": "2025-02-29T00:00:00Z"}, {"id": "f", "timestamp": "2025-03-03T08:22:52.1234567Z"},
    {"id": "f", "timestamp": "2025-03-03T24:00:00"}, {"id": "f", "timestamp": "\u0662025-03-03T08:22:52Z"},
    {"id": "f", "running": "yes"}, {"id": "f", "running": None}, {"id": "f", "observation_id": 3},
    {"id": "f", "ended_at": "2025-03-03T08:22:52Z"}, {"id": "f", "timestamp": "2025-03-03T08:22:52-23:59"},
]


def _state(built: EvalCase | CaseError) -> Any:
    if isinstance(built, CaseError):
        return built.model_dump()
    return built.__getstate__(), repr(built), sorted(built.model_fields_set), built.trace, built.grader_fields()


@pytest.mark.parametrize("trace", TRACES, ids=range(len(TRACES)))
def test_a_case_built_without_validation_is_the_validated_one(trace: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    assert cases_module._plain_case_matches()
    fast = _state(case_from_mapping(trace, location="f:1"))
    monkeypatch.setattr(cases_module, "_plain_case_matches", lambda: False)
    assert fast == _state(case_from_mapping(trace, location="f:1"))


def _nested(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("levels", [MAX_NESTING - 1, MAX_NESTING, MAX_NESTING + 1, MAX_NESTING + 2])
def test_the_bracket_bound_refuses_what_the_walk_refuses(tmp_path: Path, levels: int) -> None:
    """Through the intake (which passes the JSON line's bound) as through a plain read (which walks the trace)."""
    path = tmp_path / "t.jsonl"
    deep = {"id": "deep", "output": _nested(levels - 1)}  # `levels` levels, as many brackets
    chat = [{"role": "user", "content": _nested(levels - 2)}]  # one level more once it is {"messages": [...]}
    path.write_text(json.dumps(deep) + "\n" + json.dumps(chat) + "\n")

    async def read(source: Any) -> list[Any]:
        return [_state(item) async for item in source.cases()]

    plain = asyncio.run(read(LocalFileSource(path=str(path))))
    assert asyncio.run(read(Intake(LocalFileSource(path=str(path))))) == plain
    assert isinstance(plain[0], tuple) == (levels <= MAX_NESTING + 1)
    assert ("nests" in plain[1]["message"]) == (levels + 1 > MAX_NESTING + 1)
