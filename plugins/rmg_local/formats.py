"""Which file format a path is, from a setting or its extension."""

from __future__ import annotations

from typing import Literal

from rmg_core import ConfigError

Format = Literal["auto", "jsonl", "csv"]


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
