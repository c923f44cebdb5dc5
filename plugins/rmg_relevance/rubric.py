"""The LLM judge's rubric and the strict reading of its answer.

Bump `RUBRIC_VERSION` whenever `SYSTEM_PROMPT` or `USER_TEMPLATE` changes:
it is part of the cache key, so cached verdicts made with an older rubric are
never reused.
"""

from __future__ import annotations

import json
import re
from typing import Any

RUBRIC_VERSION = "1"

SYSTEM_PROMPT = """\
You are an impartial judge of answer relevance. You are given a user's question and an \
assistant's answer. Rate how relevant the answer is to the question: does it address what \
was asked? Judge relevance only, not factual correctness, style or length.

Scale:
5 - fully relevant: directly addresses the question and all of what it asks.
4 - mostly relevant: addresses the question, with small gaps or a little off-topic content.
3 - partly relevant: addresses only part of the question, or addresses it vaguely.
2 - barely relevant: on the general topic, but does not address what was asked.
1 - irrelevant: off-topic, answers a different question, or is a refusal, an empty reply \
or generic boilerplate.

Reply with only a JSON object and no other text, in exactly this form:
{"rating": <integer from 1 to 5>, "explanation": "<one or two sentences saying why>"}"""

USER_TEMPLATE = """\
Question:
<<<
{question}
>>>

Answer:
<<<
{answer}
>>>"""

TRUNCATION_MARK = "\n[... truncated ...]"
_FENCE_RE = re.compile(r"```(?:json|JSON)?\s*(.*?)\s*```", re.DOTALL)


class MalformedVerdict(ValueError):
    """The judge's answer is not the JSON object the rubric asks for."""


def _clip(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[:max_chars] + TRUNCATION_MARK


def build_messages(question: str, answer: str, max_chars: int) -> list[dict[str, str]]:
    """The chat messages sent to the judge; each text is cut to ``max_chars`` characters."""
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": USER_TEMPLATE.format(
            question=_clip(question, max_chars), answer=_clip(answer, max_chars))},
    ]


def parse_verdict(content: Any) -> tuple[int, str]:
    """``(rating, explanation)`` from the judge's message content, or `MalformedVerdict`.

    Accepted: a JSON object, optionally wrapped in one markdown code fence
    (many models add one even when told not to), with an integer ``rating``
    from 1 to 5 and a non-empty string ``explanation``.  Nothing else is
    guessed at: a rating that cannot be read is an error, never a score.
    """
    if not isinstance(content, str) or not content.strip():
        raise MalformedVerdict("the judge's answer is empty")
    text = content.strip()
    fenced = _FENCE_RE.fullmatch(text)
    if fenced:
        text = fenced.group(1)
    try:
        obj = json.loads(text)
    except ValueError:
        raise MalformedVerdict("the judge's answer is not JSON") from None
    if not isinstance(obj, dict):
        raise MalformedVerdict(f"the judge's answer is JSON {type(obj).__name__}, not an object")
    if "rating" not in obj:
        raise MalformedVerdict("the judge's answer has no 'rating'")
    rating = obj["rating"]
    if isinstance(rating, bool) or not isinstance(rating, (int, float)) or rating != int(rating):
        raise MalformedVerdict(f"the judge's 'rating' must be an integer from 1 to 5, got {rating!r}")
    rating = int(rating)
    if not 1 <= rating <= 5:
        raise MalformedVerdict(f"the judge's 'rating' {rating} is outside 1..5")
    explanation = obj.get("explanation")
    if not isinstance(explanation, str) or not explanation.strip():
        raise MalformedVerdict("the judge's answer has no non-empty 'explanation' string")
    return rating, explanation.strip()


def normalise(rating: int) -> float:
    """A 1-5 rating on 0..1: ``(rating - 1) / 4``."""
    return (rating - 1) / 4.0
