"""Reducing trace payloads (strings, chat messages, JSON) to the text graders compare.

The rules, documented in docs/concepts.md, are:

* ``None`` is the empty string; a string is itself.
* A chat-message list (dicts with ``role`` and ``content``) is, for an
  *input*, the content of the last ``user`` message (the question being
  answered); for an *output*, the content of the last ``assistant`` message,
  or of the last message when none is marked ``assistant``.
* A message ``content`` that is a list of parts (OpenAI style) is the text of
  its ``{"type": "text"}`` parts joined by newlines.
* A dict with one of the keys ``content``, ``text``, ``output``, ``answer``,
  ``completion``, ``response``, ``question``, ``query``, ``input`` or
  ``messages`` is reduced through that key (first match, in that order).
* Anything else (numbers, other JSON) is its compact JSON text.
"""

from __future__ import annotations

import json
from typing import Any, Literal

_TEXT_KEYS = (
    "content", "text", "output", "answer", "completion", "response",
    "question", "query", "input", "messages",
)


def _content_text(content: Any) -> str:
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                if part.get("type", "text") == "text" and isinstance(part.get("text"), str):
                    parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return to_text(content)


def _is_chat(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(m, dict) and "role" in m for m in value)
    )


def to_text(value: Any, role: Literal["input", "output"] = "output") -> str:
    """Reduce a trace payload to text following the module's rules."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if _is_chat(value):
        wanted = "user" if role == "input" else "assistant"
        for message in reversed(value):
            if message.get("role") == wanted:
                return _content_text(message.get("content"))
        return _content_text(value[-1].get("content"))
    if isinstance(value, dict):
        for key in _TEXT_KEYS:
            if key in value:
                return to_text(value[key], role)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def question_text(value: Any) -> str:
    """The user's question in a trace input (the last user message of a chat)."""
    return to_text(value, role="input")


def answer_text(value: Any) -> str:
    """The answer in a trace output or reference (the last assistant message of a chat)."""
    return to_text(value, role="output")
