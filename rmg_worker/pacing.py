"""``max_traces_per_minute``: a token bucket the worker waits on before grading each trace."""

from __future__ import annotations

import asyncio
import time


class Pacer:
    """Lets through at most ``per_minute`` traces a minute, with a burst of ten seconds' worth.

    The bucket is kept across cycles, so a limit holds for a worker whose
    cycles are shorter than a minute too.
    """

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * 10)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    async def take(self, stop: asyncio.Event) -> bool:
        """Wait for a token; ``False`` if ``stop`` was set while waiting."""
        self._refill()
        while self.tokens < 1:
            wait = (1 - self.tokens) / self.rate
            try:
                await asyncio.wait_for(stop.wait(), timeout=wait)
                return False
            except asyncio.TimeoutError:
                pass
            self._refill()
        self.tokens -= 1
        return True
