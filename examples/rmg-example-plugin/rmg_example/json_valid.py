"""``json_valid``: is the answer valid JSON, holding the keys it must?"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from rmg_core import Grader, GraderResult, GraderScore, Settings, answer_text


class JsonValidSettings(Settings):
    required_keys: list[str] = Field(
        default_factory=list, description="Keys the answer's top-level JSON object must have."
    )


def _is_chat(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(m, dict) and "role" in m for m in value)


class JsonValidGrader(Grader):
    """1.0 when the answer is valid JSON (an object with ``required_keys``, if set), else 0.0 with the reason.

    Sources parse outputs that are JSON text already, so a dict or list
    arrives parsed: it is valid as it is.  A chat transcript is judged by its
    last assistant message.
    """

    name = "json_valid"
    version = "1"
    required_fields = ("prediction",)
    Settings = JsonValidSettings
    settings: JsonValidSettings

    async def aevaluate(self, prediction: Any) -> GraderResult:
        if isinstance(prediction, str) or _is_chat(prediction):
            text = answer_text(prediction)
            try:
                value = json.loads(text)
            except ValueError as exc:
                return GraderScore(score=0.0, reason=f"not JSON: {exc}")
        else:
            value = prediction
        keys = self.settings.required_keys
        if not keys:
            return GraderScore(score=1.0, reason=f"valid JSON {type(value).__name__}")
        if not isinstance(value, dict):
            return GraderScore(score=0.0, reason=f"JSON {type(value).__name__}, not an object with keys {keys}")
        missing = [k for k in keys if k not in value]
        if missing:
            return GraderScore(score=0.0, reason=f"JSON object without {missing}")
        return GraderScore(score=1.0, reason=f"JSON object with {keys}")
