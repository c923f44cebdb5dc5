"""Which file format a path is: a setting, else the extension, else a look at the first bytes."""

from __future__ import annotations

from typing import Literal, Optional

from rmg_core import ConfigError

Format = Literal["auto", "jsonl", "csv"]
SourceFormat = Literal["auto", "jsonl", "json", "csv"]


def resolve_format(path: str, fmt: Format, what: str) -> Literal["jsonl", "csv"]:
    """``jsonl`` or ``csv``: the explicit setting, else from the extension (``-`` is JSONL)."""
    if fmt != "auto":
        return fmt
    lower = path.lower()
    if lower == "-" or lower.endswith((".jsonl", ".ndjson", ".json", ".jsonl.gz")):
        return "jsonl"
    if lower.endswith(".csv"):
        return "csv"
    raise ConfigError(
        f"{what}: cannot tell the format of {path!r} from its extension; "
        "name it .jsonl or .csv, or set format = \"jsonl\" or \"csv\""
    )


def source_format_from_name(path: str, fmt: SourceFormat) -> Optional[Literal["jsonl", "json", "csv"]]:
    """The format a source reads, from the setting or the extension; ``None``: look at the content."""
    if fmt != "auto":
        return fmt
    lower = path.lower()
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if lower.endswith(".json"):
        return "json"
    if lower.endswith(".csv"):
        return "csv"
    return None  # stdin, process substitution (/dev/fd/63), no extension


def sniff_format(head: bytes) -> Literal["jsonl", "json", "csv"]:
    """The format of a stream from its first bytes: ``[`` a JSON array, ``{`` JSON lines, else CSV."""
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first == b"[":
        return "json"
    if first == b"{" or not first:
        return "jsonl"
    return "csv"
