"""Deterministic sampling: the same traces are kept on every run, machine and Python version."""

from __future__ import annotations

import hashlib


def sample_fraction(trace_id: str) -> float:
    """Where a trace id falls in [0, 1); keep a trace when this is below the sample rate.

    A hash, not a random draw: re-runs and restarts sample the same traces,
    and a smaller rate keeps a subset of what a larger one keeps.
    """
    digest = hashlib.sha256(trace_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64
