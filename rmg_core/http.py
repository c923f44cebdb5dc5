"""Small HTTP helpers shared by plugins that talk to rate-limited APIs."""

from __future__ import annotations

import email.utils
import time
from typing import Optional


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None.

    A date in the past, or a negative number, means "retry now" (0.0); a value
    that is neither a number nor a date is ignored (None).
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds)
