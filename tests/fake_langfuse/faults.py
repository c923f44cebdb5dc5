"""Fault injection: latency, 5xx, 429 with Retry-After, connections cut mid-response, outages.

Decisions are drawn from one ``random.Random(seed)`` in request-arrival
order, so the k-th request after `FaultInjector.configure` gets the same fate
for the same seed.  Control-API requests (``/_fake/...``) are never faulted.

A faulted request has no side effect, with one deliberate exception: a
connection cut mid-response (``close_rate``) is by default cut *after* the
request was processed (``close_after_write=True``), as when a proxy or the
network drops the answer to a write that the server committed.  Set it to
False to cut before processing.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Optional


@dataclass
class FaultSettings:
    """One set of fault knobs (globally, or for the requests a `FaultRule` matches)."""

    #: Added to every response, in milliseconds.
    latency_ms: float = 0.0
    #: Fraction of requests answered with one of ``error_statuses``.
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    #: Every Nth request (1-based count of requests this setting applies to) gets 429.
    rate_limit_every: int = 0
    #: Seconds sent in the ``Retry-After`` header of a 429.
    retry_after_s: int = 1
    #: While a 429's Retry-After runs, answer every request 429 too (what the rest remains), as a
    #: project-wide limit does: a client that ignores Retry-After keeps getting them ("rate_limit_held").
    hold_pause: bool = False
    #: Fraction of requests whose connection is closed after headers and half the body.
    close_rate: float = 0.0
    #: For a cut connection: process the request first (a write lands) or not.
    close_after_write: bool = True
    #: Outage switch: every request gets 503.
    down: bool = False

    def validate(self) -> None:
        for name in ("error_rate", "close_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault setting {name} must be between 0 and 1, got {value}")
        if self.error_rate + self.close_rate > 1.0:
            raise ValueError("error_rate + close_rate must not exceed 1")
        if self.latency_ms < 0 or self.rate_limit_every < 0 or self.retry_after_s < 0:
            raise ValueError("latency_ms, rate_limit_every and retry_after_s must not be negative")
        for status in self.error_statuses:
            if not 500 <= int(status) <= 599:
                raise ValueError(f"error_statuses must be 5xx codes, got {status}")


@dataclass
class FaultRule:
    """Fault settings for requests whose path starts with ``path_prefix`` (and ``method``, if set)."""

    path_prefix: str
    settings: FaultSettings
    method: Optional[str] = None

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and (self.method is None or self.method.upper() == method.upper())


@dataclass
class Faults(FaultSettings):
    """Global fault settings, the seed, and per-path rules (first matching rule wins)."""

    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["error_statuses"] = list(self.error_statuses)
        for rule in data["rules"]:
            rule["settings"]["error_statuses"] = list(rule["settings"]["error_statuses"])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Faults":
        """Build from JSON; unknown keys are an error naming them."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings {sorted(unknown)}; known: {sorted(known)}")
        values = dict(data)
        if "error_statuses" in values:
            values["error_statuses"] = tuple(int(s) for s in values["error_statuses"])
        rules = []
        for raw in values.pop("rules", []) or []:
            settings = dict(raw.get("settings") or {})
            unknown = set(settings) - {f.name for f in fields(FaultSettings)}
            if unknown:
                raise ValueError(f"unknown fault settings in rule {raw.get('path_prefix')!r}: {sorted(unknown)}")
            if "error_statuses" in settings:
                settings["error_statuses"] = tuple(int(s) for s in settings["error_statuses"])
            rules.append(FaultRule(path_prefix=raw["path_prefix"], method=raw.get("method"),
                                   settings=FaultSettings(**settings)))
        return cls(rules=rules, **values)


@dataclass(frozen=True)
class Decision:
    """What happens to one request."""

    kind: str  # "none", "down", "error", "rate_limit", "close"
    latency_s: float = 0.0
    status: int = 200
    retry_after_s: int = 0
    close_after_write: bool = True


class FaultInjector:
    """Thread-safe, seeded fault decisions; reconfigurable while the server runs."""

    def __init__(self, faults: Optional[Faults] = None) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}
        #: Seconds of pause the 429s asked for: the union of their [sent, sent + Retry-After] windows.
        self.pause_seconds = 0.0
        self._pause_end = 0.0
        self.configure(faults or Faults())

    def configure(self, faults: Faults) -> None:
        faults.validate()
        for rule in faults.rules:
            rule.settings.validate()
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)
            self._seen: dict[int, int] = {}

    @property
    def faults(self) -> Faults:
        return self._faults

    def decide(self, method: str, path: str) -> Decision:
        with self._lock:
            faults = self._faults
            settings: FaultSettings = faults
            slot = -1
            for i, rule in enumerate(faults.rules):
                if rule.matches(method, path):
                    settings, slot = rule.settings, i
                    break
            seen = self._seen[slot] = self._seen.get(slot, 0) + 1
            # Draw both numbers always, so one knob does not shift the others' sequence.
            u_error, u_status = self._rng.random(), self._rng.random()
            latency = settings.latency_ms / 1000.0
            held = self._pause_end - time.monotonic()
            if settings.down:
                decision = Decision("down", latency, 503)
            elif settings.hold_pause and held > 0:
                decision = Decision("rate_limit_held", latency, 429, retry_after_s=max(1, math.ceil(held)))
            elif settings.rate_limit_every and seen % settings.rate_limit_every == 0:
                decision = Decision("rate_limit", latency, 429, retry_after_s=settings.retry_after_s)
                now = time.monotonic()
                end = now + settings.retry_after_s
                if end > self._pause_end:
                    self.pause_seconds += end - max(now, self._pause_end)
                    self._pause_end = end
            elif u_error < settings.error_rate:
                statuses = settings.error_statuses or (500,)
                decision = Decision("error", latency, int(statuses[int(u_status * len(statuses))]))
            elif u_error < settings.error_rate + settings.close_rate:
                decision = Decision("close", latency, 200, close_after_write=settings.close_after_write)
            else:
                decision = Decision("none", latency)
            self.counts[decision.kind] = self.counts.get(decision.kind, 0) + 1
            return decision

    def reset_counts(self) -> None:
        with self._lock:
            self.counts = {}
            self.pause_seconds, self._pause_end = 0.0, 0.0
