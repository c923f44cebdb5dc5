"""What the llm judge spent: requests, retries, cache hits, merged duplicates, tokens.

`RelevanceGrader.usage` hands this to run observers (`Grader.usage`); the
reporting observer prices the tokens from the user's table and shows it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping


@dataclass
class JudgeUsage:
    """Counters of one judge over its life (one run, in ``rmg eval``)."""

    model: str
    #: HTTP requests sent, every attempt counted (a retried call is 2 or more).
    requests: int = 0
    #: Attempts after the first, for 408/429/5xx answers and dropped connections.
    retries: int = 0
    #: Verdicts read from the on-disk cache: no request sent.
    cache_hits: int = 0
    #: Cases that joined an identical request already in flight instead of sending their own.
    merged: int = 0
    #: Tokens from the responses' ``usage`` field (``prompt_tokens``/``completion_tokens``).
    input_tokens: int = 0
    output_tokens: int = 0
    #: Successful responses that carried no usage field (their tokens are unknown).
    responses_without_usage: int = 0

    def add_usage(self, payload: Mapping[str, Any]) -> None:
        usage = payload.get("usage")
        if not isinstance(usage, Mapping):
            self.responses_without_usage += 1
            return
        # OpenAI names them prompt/completion tokens; some compatible servers input/output tokens.
        self.input_tokens += _count(usage.get("prompt_tokens", usage.get("input_tokens")))
        self.output_tokens += _count(usage.get("completion_tokens", usage.get("output_tokens")))

    def as_dict(self) -> dict[str, Any]:
        return {"kind": "llm judge", **asdict(self)}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9 else 0
