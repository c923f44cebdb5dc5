"""Durations as people write them in config files and flags (``90s``, ``10m``, ``1h30m``), and times as logs show them."""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Optional, Union

#: Longer than any sensible interval or retention, and far from datetime's limits.
MAX_SECONDS = 100 * 365 * 86400.0
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object, what: str) -> float:
    """Seconds from ``"10m"``, ``"1h30m"``, ``"250ms"`` or a plain number of seconds.

    ``what`` names the setting or flag in the error, e.g. ``"[worker] interval"``.
    """
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a duration such as 30s, 10m or 1h, got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        try:
            seconds = float(text) if re.fullmatch(r"\d+(\.\d+)?", text) else float("x")
        except ValueError:
            pos, seconds = 0, 0.0
            for match in _PART.finditer(text):
                if match.start() != pos:
                    break
                seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
                pos = match.end()
            if pos != len(text) or not text:
                raise ValueError(
                    f"{what}: {value!r} is not a duration; write e.g. 30s, 10m, 1h30m, 2d or a number of seconds"
                ) from None
    else:
        raise ValueError(f"{what}: expected a duration such as 30s, 10m or 1h, got {type(value).__name__}")
    if math.isnan(seconds) or seconds < 0:
        raise ValueError(f"{what}: a duration cannot be negative or NaN, got {value!r}")
    if seconds > MAX_SECONDS:
        raise ValueError(f"{what}: {value!r} is longer than 100 years; give a finite duration such as 30d")
    return seconds


def format_duration(seconds: float) -> str:
    """``3723.0`` -> ``"1h2m3s"``; sub-second values keep milliseconds."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    whole = int(round(seconds))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size or (unit == "s" and not parts):
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts)


def iso_utc(when: Union[datetime, float, None]) -> Optional[str]:
    """``2026-11-27T08:25:59Z`` from an aware datetime or epoch seconds; ``None`` stays ``None``."""
    if when is None:
        return None
    if not isinstance(when, datetime):
        when = datetime.fromtimestamp(when, timezone.utc)
    return when.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
