"""The worker's memory: a SQLite file with the watermark and a ledger of every score.

One row per (trace, score name) says which configuration (``fingerprint``)
graded which version of the trace (``content``), and how that went:
``scored``, ``failed`` (retried later, with backoff) or ``dead`` (gave up).

SQLite in WAL mode with ``synchronous=NORMAL``: a committed transaction
survives the process being killed (``kill -9``) at any point; what was not
committed is rolled back when the file is next opened.  The ledger is
written once per graded chunk, after the sinks confirmed the chunk.

A lock file beside the database (``filelock``: ``flock`` on Unix, released
by the kernel when the process dies) keeps a second worker off the same
state instead of letting both score the same traces.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, NamedTuple, Optional, Sequence

from rmg_core import RmgError

from .durations import iso_utc

SCHEMA_VERSION = "1"
#: SQLite's host-parameter limit is 32766 on current builds but 999 on old ones.
_IN_BATCH = 900

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger (
    trace_id     TEXT NOT NULL,
    score        TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    content      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('scored', 'failed', 'dead')),
    attempts     INTEGER NOT NULL,
    last_error   TEXT,
    next_attempt REAL,
    trace_time   REAL,
    updated      REAL NOT NULL,
    PRIMARY KEY (trace_id, score)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ledger_retry ON ledger (next_attempt) WHERE status = 'failed';
CREATE INDEX IF NOT EXISTS ledger_problems ON ledger (status) WHERE status != 'scored';
"""


class StateError(RmgError):
    """The state file cannot be used: locked by another worker, unreadable, or from a newer rmg."""


class LedgerRow(NamedTuple):
    """What the ledger knows about one score of one trace."""

    fingerprint: str
    content: str
    status: str
    attempts: int
    next_attempt: Optional[float]
    trace_time: Optional[float] = None


@dataclass(frozen=True)
class Outcome:
    """One score's fate in a cycle, as the ledger stores it."""

    trace_id: str
    score: str
    fingerprint: str
    content: str
    status: str
    attempts: int
    last_error: Optional[str]
    next_attempt: Optional[float]
    trace_time: Optional[float]


@dataclass
class Counts:
    scored: int = 0
    failed: int = 0
    dead: int = 0
    traces: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"traces": self.traces, "scored": self.scored, "failed": self.failed, "dead": self.dead}


def _connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    else:
        conn = sqlite3.connect(str(path), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a crash of the process (not
        # necessarily a power cut), without an fsync per commit.
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class WorkerState:
    """The open state of one worker.  Use `WorkerState.open` (takes the lock) or `read_only`."""

    def __init__(self, path: Path, conn: sqlite3.Connection, lock: Any = None) -> None:
        self.path = path
        self.conn = conn
        self._lock = lock

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path) -> "WorkerState":
        """Open (creating) the state for writing, holding its lock until `close`."""
        from filelock import FileLock, Timeout

        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"cannot create the state directory {str(path.parent)!r}: {exc.strerror}; "
                             f"give a writable --state PATH") from None
        lock = FileLock(str(path) + ".lock")
        try:
            # A moment's patience: `rmg worker status` holds the lock for microseconds to see if
            # a worker runs; a worker starting just then must not take that for another worker.
            lock.acquire(timeout=1.0)
        except Timeout:
            owner = _read_owner(path)
            raise StateError(
                f"state {str(path)!r} is in use by another rmg worker{owner}; one worker per state file "
                f"keeps every score exactly once. Stop that worker, or give this one its own --state PATH"
            ) from None
        try:
            conn = _connect(path)
            conn.executescript(_SCHEMA)
            state = cls(path, conn, lock)
            version = state.get_meta("schema_version")
            if version is None:
                state.set_meta("schema_version", SCHEMA_VERSION)
            elif version != SCHEMA_VERSION:
                raise StateError(f"state {str(path)!r} has schema version {version}; this rmg reads version "
                                 f"{SCHEMA_VERSION}. Upgrade rmg, or start a new state with --state PATH")
            state.set_meta("owner", json.dumps({
                "pid": os.getpid(), "host": socket.gethostname(),
                "since": iso_utc(datetime.now(timezone.utc)),
            }))
            return state
        except sqlite3.DatabaseError as exc:
            lock.release()
            raise StateError(f"state {str(path)!r} is not a usable SQLite database ({exc}); "
                             f"move it aside to start afresh") from None
        except BaseException:
            lock.release()
            raise

    @classmethod
    def shared(cls, path: Path) -> "WorkerState":
        """Open an existing state for a small write beside a running worker (no lock: SQLite serialises it)."""
        return cls._existing(Path(path), readonly=False)

    @classmethod
    def read_only(cls, path: Path) -> "WorkerState":
        """Open for reading (``rmg worker status``) while a worker may be writing."""
        return cls._existing(Path(path), readonly=True)

    @classmethod
    def _existing(cls, path: Path, readonly: bool) -> "WorkerState":
        if not path.exists():
            raise StateError(f"no worker state at {str(path)!r}: no worker has run with this config yet "
                             f"(or give the state file with --state PATH)")
        try:
            conn = _connect(path, readonly=readonly)
        except sqlite3.DatabaseError as exc:
            raise StateError(f"state {str(path)!r} cannot be {'read' if readonly else 'opened'}: {exc}") from None
        state = cls(path, conn)
        try:
            version = state.get_meta("schema_version")
        except sqlite3.DatabaseError:
            version = None
        if version is None:
            conn.close()
            raise StateError(f"{str(path)!r} is not an rmg worker state (no worker tables in it); "
                             f"give the state file a worker wrote (rmg worker status -c CONFIG finds it)")
        return state

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    # -- meta ----------------------------------------------------------------------------
    def get_meta(self, key: str) -> Optional[str]:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @property
    def watermark(self) -> Optional[datetime]:
        """The end of the last window read completely; ``None`` before the first."""
        value = self.get_meta("watermark")
        return datetime.fromisoformat(value) if value else None

    def set_watermark(self, when: datetime) -> None:
        self.set_meta("watermark", when.isoformat())

    def last_cycle(self) -> Optional[dict[str, Any]]:
        value = self.get_meta("last_cycle")
        return json.loads(value) if value else None

    # -- ledger --------------------------------------------------------------------------
    def lookup(self, trace_ids: Sequence[str]) -> dict[str, dict[str, LedgerRow]]:
        """Every ledger row of these traces: trace id -> score name -> row."""
        out: dict[str, dict[str, LedgerRow]] = {}
        unique = list(dict.fromkeys(trace_ids))
        for start in range(0, len(unique), _IN_BATCH):
            batch = unique[start:start + _IN_BATCH]
            marks = ",".join("?" * len(batch))
            for trace_id, score, *rest in self.conn.execute(
                f"SELECT trace_id, score, fingerprint, content, status, attempts, next_attempt, trace_time "
                f"FROM ledger WHERE trace_id IN ({marks})", batch,
            ):
                out.setdefault(trace_id, {})[score] = LedgerRow(*rest)
        return out

    def record(self, outcomes: Iterable[Outcome]) -> int:
        """Store outcomes in one transaction; returns how many rows were written."""
        now = time.time()
        rows = [
            (o.trace_id, o.score, o.fingerprint, o.content, o.status, o.attempts, o.last_error,
             o.next_attempt, o.trace_time, now)
            for o in outcomes
        ]
        if not rows:
            return 0
        with self.transaction():
            self.conn.executemany(
                "INSERT OR REPLACE INTO ledger (trace_id, score, fingerprint, content, status, attempts, "
                "last_error, next_attempt, trace_time, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def due_retries(self, now: float, before: Optional[float], limit: int) -> list[str]:
        """Traces with a failed score whose retry time has come, oldest retry first.

        ``before``: only traces older than this (epoch seconds); younger ones
        are in the cycle's window and are read again anyway.
        """
        sql = "SELECT DISTINCT trace_id FROM ledger WHERE status = 'failed' AND next_attempt <= ?"
        params: list[Any] = [now]
        if before is not None:
            sql += " AND (trace_time IS NULL OR trace_time < ?)"
            params.append(before)
        sql += " ORDER BY next_attempt LIMIT ?"
        params.append(limit)
        return [row[0] for row in self.conn.execute(sql, params)]

    def oldest_due_time(self, now: float) -> Optional[float]:
        """The trace time of the oldest failed trace whose retry is due (``None``: none, or no times)."""
        row = self.conn.execute(
            "SELECT min(trace_time) FROM ledger WHERE status = 'failed' AND next_attempt <= ?", (now,)
        ).fetchone()
        return row[0] if row else None

    def revive_dead(self) -> tuple[int, int]:
        """Make every dead score failed and due now, with its attempts reset; (scores, traces) revived."""
        now = time.time()
        with self.transaction():
            traces = self.conn.execute("SELECT count(DISTINCT trace_id) FROM ledger WHERE status = 'dead'").fetchone()[0]
            cursor = self.conn.execute(
                "UPDATE ledger SET status = 'failed', attempts = 0, next_attempt = ?, updated = ? WHERE status = 'dead'",
                (now, now),
            )
        return cursor.rowcount, traces

    def prune(self, before: float) -> int:
        """Forget scored and dead rows of traces older than ``before`` (epoch seconds); failed rows stay."""
        with self.transaction():
            cursor = self.conn.execute(
                "DELETE FROM ledger WHERE trace_time < ? AND status != 'failed'", (before,)
            )
        return cursor.rowcount

    def counts(self) -> Counts:
        counts = Counts()
        for status, n in self.conn.execute(
            "SELECT status, count(*) FROM ledger WHERE status != 'scored' GROUP BY status"
        ):
            setattr(counts, status, n)
        total = self.conn.execute("SELECT count(*) FROM ledger").fetchone()[0]
        counts.scored = total - counts.failed - counts.dead
        counts.traces = self.conn.execute("SELECT count(DISTINCT trace_id) FROM ledger").fetchone()[0]
        return counts

    def problems(self, limit: int = 10) -> list[dict[str, Any]]:
        """The most recent failed or dead scores, with their last error."""
        rows = self.conn.execute(
            "SELECT trace_id, score, status, attempts, last_error, next_attempt FROM ledger "
            "WHERE status != 'scored' ORDER BY updated DESC LIMIT ?", (limit,),
        )
        return [
            {"trace_id": t, "score": s, "status": st, "attempts": a, "last_error": e, "next_attempt": n}
            for t, s, st, a, e, n in rows
        ]

    def due_count(self, now: float) -> int:
        return self.conn.execute(
            "SELECT count(DISTINCT trace_id) FROM ledger WHERE status = 'failed' AND next_attempt <= ?", (now,)
        ).fetchone()[0]

    # -- transactions --------------------------------------------------------------------
    def transaction(self) -> "_Transaction":
        return _Transaction(self.conn)


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _read_owner(path: Path) -> str:
    """`` (pid 123 on host, since ...)`` from the state, or nothing if it cannot be read."""
    try:
        conn = _connect(path, readonly=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'owner'").fetchone()
        finally:
            conn.close()
        owner = json.loads(row[0]) if row else None
    except (sqlite3.Error, ValueError):
        return ""
    if not owner:
        return ""
    return f" (pid {owner.get('pid')} on {owner.get('host')}, since {owner.get('since')})"


