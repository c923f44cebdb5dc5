"""An on-disk cache of paid answers (judge verdicts, embeddings), so a re-run sends no request.

sqlite3 (standard library) in WAL mode was chosen over a JSON-lines file:
lookups are by primary key without loading the file, several worker processes
can read while one writes, and a crash mid-write cannot leave a torn line.
Callers store values only for calls that succeeded, and keys are hashes:
never an API key, never a failed call.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Optional, Sequence

_SCHEMA = "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB NOT NULL, created REAL NOT NULL)"
#: sqlite's limit on bound parameters in one statement is 999 in old builds.
_IN_CHUNK = 500


def cache_key(payload: Any) -> str:
    """A stable hash of ``payload`` (JSON-able): put everything the cached answer depends on in it.

    Keys sorted and non-ASCII kept, so equal payloads hash equally whatever
    their dict order; lone surrogates (from hostile text) are hashed, not refused.
    """
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class SqliteCache:
    """Byte values by key in one sqlite file; safe to share between threads.

    ``SqliteCache(directory / "judge-cache.sqlite3")``; a later value for a key replaces it.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        # isolation_level=None: each statement commits on its own (no long transactions).
        self._conn = sqlite3.connect(path, timeout=30.0, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)

    def get(self, key: str) -> Optional[bytes]:
        """The value stored under ``key``, or None."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        return bytes(row[0]) if row else None

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The stored values of those ``keys`` that are cached."""
        found: dict[str, bytes] = {}
        with self._lock:
            for start in range(0, len(keys), _IN_CHUNK):
                chunk = list(keys[start:start + _IN_CHUNK])
                marks = ",".join("?" * len(chunk))
                for key, value in self._conn.execute(f"SELECT key, value FROM entries WHERE key IN ({marks})", chunk):
                    found[key] = bytes(value)
        return found

    def put(self, key: str, value: bytes) -> None:
        """Store one value."""
        self.put_many([(key, value)])

    def put_many(self, rows: Sequence[tuple[str, bytes]]) -> None:
        """Store ``(key, value)`` rows in one transaction."""
        now = time.time()
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)",
                                   [(key, value, now) for key, value in rows])
            self._conn.execute("COMMIT")

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


__all__ = ["SqliteCache", "cache_key"]
