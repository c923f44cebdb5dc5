"""``regex_match``: does the answer match (or avoid) a regular expression?"""

from __future__ import annotations

import re
from typing import Any, Literal, Mapping, Sequence

from pydantic import Field, field_validator

from rmg_core import Grader, GraderResult, GraderScore, Settings, answer_text

_FLAGS = {"IGNORECASE": re.IGNORECASE, "MULTILINE": re.MULTILINE, "DOTALL": re.DOTALL}


class RegexMatchSettings(Settings):
    pattern: str = Field(description="A Python regular expression, searched anywhere in the answer.")
    flags: list[Literal["IGNORECASE", "MULTILINE", "DOTALL"]] = Field(default_factory=list)
    expect: Literal["match", "no_match"] = Field(
        "match", description="'no_match' scores 1.0 when the pattern is absent (e.g. a leaked e-mail address)."
    )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class RegexMatchGrader(Grader):
    """1.0 when the answer matches ``pattern`` (or, with ``expect = "no_match"``, when it does not), else 0.0."""

    name = "regex_match"
    version = "1"
    required_fields = ("prediction",)
    Settings = RegexMatchSettings
    settings: RegexMatchSettings

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        flags = 0
        for flag in self.settings.flags:
            flags |= _FLAGS[flag]
        # Compiled once per grader, not per case; the compiled pattern is read-only, so batches can share it.
        self._regex = re.compile(self.settings.pattern, flags)

    def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> list[GraderResult]:
        want_match = self.settings.expect == "match"
        out: list[GraderResult] = []
        for item in items:
            found = self._regex.search(answer_text(item["prediction"]))
            if found is not None:
                reason = f"matched {found.group(0)[:60]!r} at {found.start()}"
            else:
                reason = f"no match for /{self.settings.pattern[:60]}/"
            out.append(GraderScore(score=1.0 if (found is not None) == want_match else 0.0, reason=reason))
        return out
