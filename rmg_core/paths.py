"""Dotted paths into a trace: ``output.choices.0.message.content``, ``messages.-1.content``, ``a[0].b``.

An integer segment indexes a list (negative from the end); a key that holds
dots is found when the rest of the path names it exactly; a string holding a
JSON object or array (as Langfuse and CSV store them) is looked into.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

#: What `get_path` returns when the path leads nowhere (``None`` is a value a trace can hold).
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__bool__": lambda self: False})()


def get_path(obj: Any, path: str) -> Any:
    """The value at ``path`` in ``obj``, or `MISSING`."""
    parts = [p for p in re.sub(r"\[(-?\d+)\]", r".\1", path.strip()).split(".") if p]
    node = obj
    for i, part in enumerate(parts):
        if isinstance(node, str) and node.strip()[:1] in ("{", "["):
            try:
                node = json.loads(node)
            except (ValueError, RecursionError):
                return MISSING
        if isinstance(node, Mapping):
            rest = ".".join(parts[i:])
            if part not in node and rest in node:  # a key with dots in it
                return node[rest]
            node = node.get(part, MISSING)
        elif isinstance(node, list) and re.fullmatch(r"-?\d+", part) and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
        if node is MISSING:
            return MISSING
    return node


def lookup_field(item: Mapping[str, Any], key: str) -> Any:
    """A grader's field from a case's fields: a key or path in them, else a path in the trace as read (``item["trace"]``)."""
    value = item[key] if key in item else get_path(item, key)
    trace = item.get("trace")
    return get_path(trace, key) if value is MISSING and isinstance(trace, Mapping) else value
