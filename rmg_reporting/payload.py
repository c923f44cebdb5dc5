"""The ``--summary-json`` document: one JSON object a CI job, a dashboard or ``rmg compare`` can read.

Top-level keys (docs/reports.md documents each): ``schema``, ``rmg_version``,
``run_fingerprint``, ``components`` (each with its public ``settings``),
``plugins``, ``timings``, ``counts``, ``gate``, ``report`` (breakdown fields
and pass thresholds), ``breakdowns``, ``files``, ``usage`` (what each grader
spent, priced), ``trace_url``, then the run summary's own keys (``cases``, ``bad_cases``,
``scores``, ``sinks``, ``interrupted``, ``fatal``) and ``exit_code`` — the
status ``rmg eval`` exits with, the gate included.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from rmg_core import PluginHost, RunSummary

from .gate import GateResult
from .metadata import RunInfo

SCHEMA = "rmg-summary/2"
#: Schemas `rmg compare` reads (/1 named the run fingerprint ``config_fingerprint``).
READABLE_SCHEMAS = ("rmg-summary/1", SCHEMA)


def summary_payload(
    summary: RunSummary,
    *,
    exit_code: int,
    info: Optional[RunInfo] = None,
    host: Optional[PluginHost] = None,
    gate: Optional[GateResult] = None,
    started_at: Optional[datetime] = None,
    finished_at: Optional[datetime] = None,
    statistics_seconds: float = 0.0,
    rmg_version: str = "",
    breakdowns: Optional[list[dict[str, Any]]] = None,
    report_settings: Optional[dict[str, Any]] = None,
    files: Optional[dict[str, Any]] = None,
    usage: Optional[dict[str, Any]] = None,
    trace_url: Optional[str] = None,
) -> dict[str, Any]:
    """Assemble the summary document (statistics must already be attached to ``summary``)."""
    base = summary.as_dict()
    scored = sum(s.scored for s in summary.scores.values())
    errors = sum(s.errors for s in summary.scores.values())
    payload: dict[str, Any] = {
        "schema": SCHEMA,
        "rmg_version": rmg_version,
        "run_fingerprint": info.run_fingerprint if info else None,
        "components": [c.as_dict() for c in info.components] if info else [],
        "plugins": [
            {"name": p.name, "distribution": p.distribution, "version": p.version} for p in (host.plugins if host else [])
        ],
        "timings": {
            "started_at": started_at.isoformat() if started_at else None,
            "finished_at": finished_at.isoformat() if finished_at else None,
            "seconds": summary.seconds,
            "traces_per_second": summary.cases / summary.seconds if summary.seconds > 0 else None,
            "statistics_seconds": statistics_seconds,
        },
        "counts": {
            "cases": summary.cases,
            "bad_cases": summary.bad_cases,
            "scores": scored,
            "grader_errors": errors,
            "not_applicable": sum(s.not_applicable for s in summary.scores.values()),
            "written": sum(t.report.written for t in summary.sinks),
            "skipped_writes": sum(t.report.skipped for t in summary.sinks),
            "failed_writes": summary.failed_writes,
        },
        "gate": gate.as_dict() if gate is not None and gate.checks else None,
        "report": report_settings or {},
        "breakdowns": breakdowns or [],
        "files": files or {},
        "usage": usage or {},
        "trace_url": trace_url,
    }
    payload.update(base)
    payload["exit_code"] = exit_code
    return payload
