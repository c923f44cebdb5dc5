"""Making text from traces safe to print on a terminal or in a log line.

Trace ids, error messages and judge reasons come from data rmg does not
control.  Printed raw, an escape sequence in them can retitle the window,
clear the screen or recolour the rest of the output, a newline can forge a
summary line, a right-to-left override can make text read backwards, and a
lone surrogate makes writing to a UTF-8 stream raise.  `printable` replaces
each such character with a visible escape (``\\x1b``, ``\\n``, ``\\u202e``)
and leaves everything else, including non-ASCII letters, untouched.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls (newline and tab included: one value is one line), DEL, C1
# controls, the bidirectional marks and overrides, line and paragraph
# separators, and lone surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: "re.Match[str]") -> str:
    char = match.group(0)
    return _SHORT.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def printable(value: Any) -> str:
    """``str(value)`` with control characters and escape sequences made visible (one safe line)."""
    text = value if isinstance(value, str) else str(value)
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escape, text)
