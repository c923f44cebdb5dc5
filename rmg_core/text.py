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
* A value nested deeper than `MAX_NESTING` levels (trace
  text can be made of a thousand ``[``) is the text of its strings, joined
  by spaces: reduction never recurses without bound.
"""

from __future__ import annotations

import json
from typing import Any, Literal


#: Deepest nesting of lists and objects a trace value may have: real traces nest a handful
#: of levels; trace text made of a thousand "[" must not reach Python's recursion limit.
MAX_NESTING = 100


def too_deep(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether ``value`` nests lists/dicts more than ``limit`` levels (checked without recursion)."""
    # Level by level, keeping only the containers: every trace is checked, and most of its nodes are strings.
    level = [value] if isinstance(value, (list, dict)) else []
    for _ in range(limit):
        level = [c for node in level for c in (node.values() if isinstance(node, dict) else node) if isinstance(c, (list, dict))]
        if not level:
            return False
    return bool(level)


_TEXT_KEYS = (
    "content", "text", "output", "answer", "completion", "response",
    "question", "query", "input", "messages",
)


def _content_text(content: Any, depth: int) -> str:
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                if part.get("type", "text") == "text" and isinstance(part.get("text"), str):
                    parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return _to_text(content, "output", depth + 1)


def _is_chat(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(m, dict) and "role" in m for m in value)
    )


def to_text(value: Any, role: Literal["input", "output"] = "output") -> str:
    """Reduce a trace payload to text following the module's rules."""
    return _to_text(value, role, 0)


def _to_text(value: Any, role: str, depth: int) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if _is_chat(value):
        wanted = "user" if role == "input" else "assistant"
        for message in reversed(value):
            if message.get("role") == wanted:
                return _content_text(message.get("content"), depth)
        return _content_text(value[-1].get("content"), depth)
    if depth >= MAX_NESTING:
        return _strings_of(value)
    if isinstance(value, dict):
        for key in _TEXT_KEYS:
            if key in value:
                return _to_text(value[key], role, depth + 1)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    if too_deep(value, MAX_NESTING):
        return _strings_of(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _strings_of(value: Any) -> str:
    """The strings (and numbers) inside ``value``, in order, walked without recursion."""
    out, stack = [], [value]
    while stack:
        node = stack.pop()
        if isinstance(node, (dict, list, tuple)):
            stack.extend(reversed(list(node.values() if isinstance(node, dict) else node)))
        elif node is not None:
            out.append(str(node))
    return " ".join(out)


def question_text(value: Any) -> str:
    """The user's question in a trace input (the last user message of a chat)."""
    return to_text(value, role="input")


def answer_text(value: Any) -> str:
    """The answer in a trace output or reference (the last assistant message of a chat)."""
    return to_text(value, role="output")
