"""``rmg worker status``: what a worker's state file says, without disturbing a running worker."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Optional

from rmg_core import printable

from .durations import format_duration
from .durations import iso_utc as _iso
from .state import WorkerState


def _is_running(path: Path) -> Optional[bool]:
    """Whether a worker holds the state's lock (``None`` if that cannot be told)."""
    from filelock import FileLock, Timeout

    lock_path = str(path) + ".lock"
    if not Path(lock_path).exists():
        return False
    lock = FileLock(lock_path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:
        return None
    lock.release()
    return False


def worker_status(path: Path, settle: float) -> dict[str, Any]:
    """Watermark, backlog estimate, ledger counts, last cycle and recent problems of a state file."""
    state = WorkerState.read_only(path)
    try:
        now = time.time()
        watermark = state.watermark
        counts = state.counts()
        due = state.due_count(now)
        rate_text = state.get_meta("arrival_rate")
        rate = float(rate_text) if rate_text else None
        last = state.last_cycle()
        # A source read whole every cycle (no time windows) has no meaningful watermark or backlog.
        windowed = last is None or last.get("window_end") is not None
        unread = None
        if watermark is not None and windowed:
            unread = max(0.0, now - settle - watermark.timestamp())
        backlog = None
        if unread is not None and rate is not None:
            backlog = int(round(unread * rate)) + due
        owner = state.get_meta("owner")
        return {
            "state": str(path),
            "windowed": windowed,
            "running": _is_running(path),
            "owner": json.loads(owner) if owner else None,
            "watermark": _iso(watermark),
            "unread_seconds": unread,
            "arrival_rate_per_minute": rate * 60 if rate is not None else None,
            "backlog_estimate": backlog,
            "retries_due": due,
            "counts": counts.as_dict(),
            "last_cycle": last,
            "last_ok_cycle": json.loads(state.get_meta("last_ok_cycle") or "null"),
            "problems": [{**p, "next_attempt": _iso(p["next_attempt"])} for p in state.problems()],
        }
    finally:
        state.close()


def render_status(status: dict[str, Any]) -> str:
    """The status as a few readable lines."""
    lines = [f"state:      {status['state']}"]
    running = status["running"]
    owner = status.get("owner") or {}
    if running:
        lines.append(f"worker:     running (pid {owner.get('pid')} on {owner.get('host')}, since {owner.get('since')})")
    else:
        lines.append("worker:     not running" if running is False else "worker:     unknown (lock unreadable)")
    if not status.get("windowed", True):
        lines.append("watermark:  none (the source is read whole every cycle; the ledger skips what is done)")
    elif status["watermark"]:
        behind = status["unread_seconds"]
        lines.append(f"watermark:  {status['watermark']} ({format_duration(behind or 0)} of traces not yet read)")
    else:
        lines.append("watermark:  none yet (no cycle has read its whole window)")
    if not status.get("windowed", True):
        lines.append(f"backlog:    {status['retries_due']} retry(ies) due")
    elif status["backlog_estimate"] is not None:
        rate = status["arrival_rate_per_minute"]
        lines.append(f"backlog:    ~{status['backlog_estimate']} trace(s) (arriving ~{rate:.1f}/min; "
                     f"{status['retries_due']} retry(ies) due)")
    else:
        lines.append(f"backlog:    unknown until two cycles have run; {status['retries_due']} retry(ies) due")
    c = status["counts"]
    lines.append(f"ledger:     {c['traces']} trace(s); scores {c['scored']} scored, {c['failed']} failed (to retry), "
                 f"{c['dead']} dead")
    last = status["last_cycle"]
    if last:
        when = last.get("started")
        lines.append(
            f"last cycle: #{last.get('cycle')} {last.get('status')} at {when}, {last.get('seconds', 0):.2f}s: "
            f"read {last.get('read')}, graded {last.get('graded')}, scores {last.get('scored')} ok, "
            f"{last.get('failed')} failed, {last.get('dead')} dead"
            + (f"; {last['error']}" if last.get("error") else "")
        )
        ok = status.get("last_ok_cycle")
        if last.get("status") != "ok" and ok:
            lines.append(f"last ok:    #{ok.get('cycle')} at {ok.get('started')}")
    else:
        lines.append("last cycle: none yet")
    problems = status["problems"]
    if problems:
        lines.append("recent problems:")
        for p in problems[:5]:
            retry = ""
            if p["status"] == "failed" and p["next_attempt"]:
                retry = f", retry at {p['next_attempt']}"
            lines.append(f"  {p['status']:<6} {p['trace_id']} {p['score']} (attempt {p['attempts']}{retry}): {p['last_error']}")
    # Trace ids and error texts come from trace data: no escape sequence reaches the terminal.
    return "\n".join(printable(line) for line in lines)
