"""A user's mapping applied to a trace as read, and ids for traces that have none."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

from rmg_core import MISSING, get_path

#: The fields a mapping (``--map FIELD=PATH``, ``[source] fields``) can fill,
#: by the name graders know them by -> the trace key rmg reads; ``output`` and
#: ``expected`` are the trace-side names of ``prediction`` and ``reference``.
#: Any other name becomes a key of the trace, for the graders that ask for it.
CASE_FIELDS: dict[str, str] = {
    "id": "id", "trace_id": "id", "input": "input", "prediction": "output", "output": "output",
    "reference": "expected", "expected": "expected", "metadata": "metadata", "timestamp": "timestamp",
    "observation_id": "observation_id",
}


def content_id(obj: Any) -> str:
    """An id for a trace that has none: a hash of its content, the same on every run.

    Files exported from evaluation tools (Ragas, DeepEval, OpenAI evals) carry
    no ids; a content hash keeps re-runs exactly-once, where a line number
    would shift when a line is added.
    """
    payload = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return "h_" + hashlib.blake2b(payload.encode("utf-8", "surrogatepass"), digest_size=10).hexdigest()


def apply_fields(obj: Any, fields: Mapping[str, str]) -> dict[str, Any]:
    """``obj`` with each mapped field set from its path (field -> path); its own keys are kept.

    A path that finds nothing leaves the field unset, so a grader that needs
    it reports the case not applicable instead of grading something else.
    """
    if isinstance(obj, list):
        obj = {"messages": obj}
    data = dict(obj) if isinstance(obj, Mapping) else {}
    for field, path in fields.items():
        value = get_path(obj, path)
        target = CASE_FIELDS.get(field, field)
        if value is not MISSING:
            data[target] = value
            continue
        data.pop(target, None)
        if target == "expected":
            data.pop("expected_output", None)
            data.pop("reference", None)
    return data
