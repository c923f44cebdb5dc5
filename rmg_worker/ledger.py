"""Deciding from the ledger whether a trace needs grading, and what its grading left behind.

A trace is graded when any of its scores is new, was made by a different
configuration (fingerprint), was made from a different version of the trace
(content), or failed and its retry time has come.  It is skipped when every
score is ``scored`` (or ``dead``) for this configuration and this content.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Collection, Mapping, Optional

from rmg_core import Aggregator, EvalCase, Grader, ScoreRecord, fingerprint

from .state import LedgerRow, Outcome

NEW, CHANGED, RETRY = "new", "changed", "retry"


def content_hash(case: EvalCase) -> str:
    """A short hash of everything a grader sees of a case: a changed trace gets a new one."""
    fields = case.grader_fields()
    payload = json.dumps(
        [fields.get("input"), fields.get("prediction"), fields.get("reference"), fields.get("metadata")],
        sort_keys=True, default=str, ensure_ascii=False,
    )
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=8).hexdigest()


def score_plan(
    graders: Mapping[str, tuple[Grader, Optional[Mapping[str, str]]]], aggregators: Mapping[str, Aggregator]
) -> dict[str, str]:
    """Score name -> the fingerprint of what produces it.

    A grader's covers its plugin, version, settings and field mapping; an
    aggregator's also covers every grader's, since its inputs change with them.
    """
    plan: dict[str, str] = {}
    for name, (grader, fields) in graders.items():
        plan[name] = fingerprint([grader.fingerprint(), sorted((fields or {}).items())])
    inputs = sorted(plan.items())
    for name, aggregator in aggregators.items():
        plan[name] = fingerprint([aggregator.fingerprint(), inputs])
    return plan


def _changed(row: Optional[LedgerRow], fingerprint: str, content: str) -> bool:
    """Missing, or made by another configuration or from another version of the trace."""
    return row is None or row.fingerprint != fingerprint or row.content != content


def due_scores(
    plan: Mapping[str, str], content: str, rows: Mapping[str, LedgerRow], now: float,
    aggregators: Collection[str] = (),
) -> frozenset[str]:
    """The scores of a case to grade and write now (empty: skip the case).

    A score is due when it is missing, was made by another configuration or
    from another version of the trace, or failed and its retry time has
    come.  When any grader score is due, every aggregator is too: its inputs
    are about to change.
    """
    due = set()
    for name, made_by in plan.items():
        row = rows.get(name)
        if _changed(row, made_by, content) or (
            row is not None and row.status == "failed" and (row.next_attempt is None or row.next_attempt <= now)
        ):
            due.add(name)
    if due - set(aggregators):
        due.update(aggregators)
    return frozenset(due)


def grading_reason(plan: Mapping[str, str], content: str, rows: Mapping[str, LedgerRow]) -> str:
    """Why a case that has due scores is graded: `NEW`, `CHANGED` or `RETRY` (see `needs_grading`)."""
    if not rows:
        return NEW
    if any(_changed(rows.get(name), fingerprint, content) for name, fingerprint in plan.items()):
        return CHANGED
    return RETRY


def needs_grading(plan: Mapping[str, str], content: str, rows: Mapping[str, LedgerRow], now: float) -> Optional[str]:
    """Why a case must be graded, or ``None`` to skip it.

    `NEW`: the ledger has never seen the trace.  `CHANGED`: the trace or the
    configuration changed since (a score added, a setting changed, the
    output arrived).  `RETRY`: only failed scores whose retry time has come.
    """
    if not due_scores(plan, content, rows, now):
        return None
    return grading_reason(plan, content, rows)


@dataclass
class RetryPolicy:
    max_attempts: int
    backoff: float
    backoff_max: float

    def delay(self, attempts: int) -> float:
        """Wait after the ``attempts``-th failure: backoff, doubling, capped."""
        return min(self.backoff * 2 ** max(0, attempts - 1), self.backoff_max)


@dataclass
class PendingCase:
    """A case on its way through grading and writing, with what the ledger said of it.

    ``due``: the scores to write; the others are already in the sinks for
    this configuration and this content, and are left alone.
    """

    content: str
    rows: Mapping[str, LedgerRow]
    trace_time: Optional[float]
    due: frozenset[str] = frozenset()


#: Prefix of the ledger's last_error for a result that fails the same way on every attempt.
NOT_RETRIED = "not retried (fails the same way on every attempt; graded again when the trace or the config changes): "


def fails_every_time(record: ScoreRecord) -> bool:
    """A result that repeating cannot change: not applicable (the trace lacks a field the grader needs),
    or a grader error naming a missing field.

    Timeouts, rate limits and other judge failures are not: they are retried.
    """
    return record.is_not_applicable or (record.is_error and "missing_field" in (record.metadata or {}))


def outcome_of(
    record: ScoreRecord, failure: Optional[str], plan: Mapping[str, str], pending: PendingCase,
    policy: RetryPolicy, now: float, permanent: bool = False,
) -> Outcome:
    """The ledger row a written (or failed) record leaves.

    ``failure`` is the sink's message when a sink could not write it; a
    grader error is a failure too.  Attempts count up while the score keeps
    failing for the same configuration and trace, and start again after a
    success or when either changes.  ``permanent``: the grader error fails
    the same way on every attempt (`fails_every_time`), so it is recorded
    once as dead, not retried; a changed trace or config grades it again.
    """
    name = record.name
    fingerprint = plan.get(name, record.config_fingerprint or "")
    prior = pending.rows.get(name)
    # Attempts count the tries since the last success, for this configuration and this trace:
    # an aggregate re-written on each retry of a grader stays at 1, and cannot die of one failure.
    counting = (
        prior is not None and prior.status != "scored"
        and prior.fingerprint == fingerprint and prior.content == pending.content
    )
    attempts = (prior.attempts if counting and prior is not None else 0) + 1
    # A not-applicable record is recorded like an error that fails every time (`fails_every_time`):
    # once, never retried, graded again when the trace or the configuration changes.
    error = failure or (f"grader error: {record.error}" if record.is_error or record.is_not_applicable else None)
    if error is None:
        status, next_attempt = "scored", None
    elif permanent and failure is None:
        status, next_attempt, error = "dead", None, NOT_RETRIED + error
    elif attempts >= policy.max_attempts:
        status, next_attempt = "dead", None
    else:
        status, next_attempt = "failed", now + policy.delay(attempts)
    return Outcome(
        trace_id=record.trace_id, score=name, fingerprint=fingerprint, content=pending.content, status=status,
        attempts=attempts, last_error=error[:2000] if error else None, next_attempt=next_attempt,
        trace_time=pending.trace_time,
    )


def missing_outcomes(
    trace_id: str, plan: Mapping[str, str], pending: PendingCase, message: str, policy: RetryPolicy, now: float,
) -> list[Outcome]:
    """Failures for every score of a trace the source no longer returns (deleted, or out of reach)."""
    out = []
    for name, made_by in plan.items():
        prior = pending.rows.get(name)
        attempts = (prior.attempts if prior is not None and prior.fingerprint == made_by else 0) + 1
        dead = attempts >= policy.max_attempts
        out.append(Outcome(
            trace_id=trace_id, score=name, fingerprint=made_by,
            content=prior.content if prior is not None else "", status="dead" if dead else "failed",
            attempts=attempts, last_error=message, next_attempt=None if dead else now + policy.delay(attempts),
            # Kept, so that `retain` can still forget the row once it is dead.
            trace_time=pending.trace_time if pending.trace_time is not None else (prior.trace_time if prior else None),
        ))
    return out

