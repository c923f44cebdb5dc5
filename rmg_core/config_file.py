"""Reading a TOML config file without hanging, exhausting memory or crashing on its shape.

Only a regular file of at most `MAX_CONFIG_BYTES` is read (a FIFO would wait
forever for a writer, ``/dev/zero`` never ends); tables and arrays may nest
`MAX_CONFIG_DEPTH` deep (tomllib parses nesting recursively, and no setting
needs more); and each top-level entry must have its shape (``run = 5`` is an
error naming it, not a traceback later).
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any, Mapping, Optional

from .errors import ConfigError

#: A config file larger than this is refused: rmg's own configs are a few KB.
MAX_CONFIG_BYTES = 1024 * 1024
#: Tables and arrays nested deeper than this are refused (no rmg setting needs more than a few levels).
MAX_CONFIG_DEPTH = 32


def check_shapes(data: Mapping[str, Any], origin: str) -> None:
    """Each top-level entry has the shape it must have (``run = 5`` is an error naming it), nesting is bounded."""
    problem = _too_deep(data)
    if problem:
        raise ConfigError(f"{origin}: {problem}")
    shapes = {
        "run": "[run] must be a table of run settings, e.g. [run] max_concurrency = 32",
        "worker": "[worker] must be a table of worker settings (interval, overlap, ...)",
        "executor": "[executor] must be a table, e.g. [executor] plugin = \"ray\"",
        "graders": "[graders] must hold tables like [graders.<name>]",
        "aggregators": "[aggregators] must hold tables like [aggregators.<name>]",
    }
    for key, message in shapes.items():
        if key in data and not isinstance(data[key], dict):
            raise ConfigError(f"{origin}: {message}; got {_kind(data[key])}")
    if "sinks" in data and not isinstance(data["sinks"], (dict, list)):
        raise ConfigError(f"{origin}: sinks must be [[sinks]] tables (each with plugin = \"<name>\"); got {_kind(data['sinks'])}")


def read_toml(path: str | Path) -> dict[str, Any]:
    """The raw tables of a TOML config file; unreadable or invalid TOML is a `ConfigError` naming it.

    Only a regular file up to `MAX_CONFIG_BYTES` is read: a FIFO would block
    forever waiting for a writer, and a device (``/dev/zero``) never ends.
    """
    path = Path(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"config {str(path)!r} is {_file_kind(info.st_mode)}, not a file; give the path of a TOML file")
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read config {str(path)!r}: {exc.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config {str(path)!r} is larger than {MAX_CONFIG_BYTES:,} bytes; is it the right file?")
    return parse_toml(raw, str(path))


def parse_toml(raw: bytes | str, origin: str) -> dict[str, Any]:
    """TOML text as tables; invalid TOML or nesting past `MAX_CONFIG_DEPTH` is a `ConfigError` naming ``origin``."""
    try:
        data = tomllib.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ConfigError(f"{origin}: tables or arrays are nested too deeply (the limit is {MAX_CONFIG_DEPTH})") from None
    problem = _too_deep(data)
    if problem:
        raise ConfigError(f"{origin}: {problem}")
    return data


def _too_deep(value: Any) -> Optional[str]:
    """Why ``value`` nests deeper than `MAX_CONFIG_DEPTH`, or None (iterative: no recursion to exhaust)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_CONFIG_DEPTH:
            return f"tables or arrays are nested more than {MAX_CONFIG_DEPTH} deep; no rmg setting needs that"
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return None


def _kind(value: Any) -> str:
    """What a TOML value is, for messages: ``a number (5)``, ``an array``."""
    kind = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array"}.get(type(value))
    return f"{kind} ({value!r:.40})" if kind and kind != "an array" else (kind or type(value).__name__)


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO), which rmg does not read a config from (it could wait forever)"
    return "a directory" if stat.S_ISDIR(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"
