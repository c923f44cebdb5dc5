"""Whether a trace read from a file holds text that can be stored and shown: no NUL, no lone surrogate.

Strings can hold lone UTF-16 surrogates (``"\\ud800"`` is valid JSON, and
bytes that are not UTF-8 become them when a CSV is decoded with
``surrogateescape``) or NUL characters, which no UTF-8 file, terminal or
PostgreSQL-backed server (Langfuse) takes.  The walk is iterative, so a
deeply nested trace cannot make it recurse.
"""

from __future__ import annotations

from typing import Any, Optional


def text_problem(value: Any) -> Optional[str]:
    """Why the strings in ``value`` (keys too) are not storable text, or ``None`` when they are."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return "contains a NUL character (binary data?)"
            try:
                node.encode("utf-8")
            except UnicodeEncodeError as exc:
                code = ord(node[exc.start])
                if 0xDC80 <= code <= 0xDCFF:
                    return f"contains the byte 0x{code - 0xDC00:02x}, which is not UTF-8"
                return f"contains a lone UTF-16 surrogate (\\u{code:04x}), which is not valid Unicode text"
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None
