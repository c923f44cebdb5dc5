"""An on-disk cache of judge verdicts, so a re-run costs no request.

sqlite3 (standard library) in WAL mode was chosen over a JSON-lines file:
lookups are by primary key without loading the file, several worker processes
can read while one writes, and a crash mid-write cannot leave a torn line.
Only verdicts are stored (key, model, rubric version, rating, explanation,
the judge's raw answer): never the API key, and never a failed call.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Optional

CACHE_FILE = "judge-cache.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    rubric_version TEXT NOT NULL,
    rating INTEGER NOT NULL,
    explanation TEXT NOT NULL,
    raw_answer TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def cache_key(question: str, answer: str, *, base_url: str, model: str, rubric_version: str, temperature: float,
              max_chars: int) -> str:
    """The cache key of one judgement: a hash of everything the verdict depends on.

    That is the texts, and every setting that changes what is asked or who
    answers: the endpoint (another provider's "gpt-4o" is another judge), the
    model, the rubric, the temperature, and ``max_chars`` (it cuts the texts).
    """
    payload = json.dumps(
        {"question": question, "answer": answer, "base_url": base_url, "model": model,
         "rubric_version": rubric_version, "temperature": temperature, "max_chars": max_chars},
        ensure_ascii=False, sort_keys=True,
    )
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


class VerdictCache:
    """Verdicts by key in one sqlite file; safe to share between threads."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / CACHE_FILE
        self._lock = threading.Lock()
        # isolation_level=None: each statement commits on its own (no long transactions).
        self._conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)

    def get(self, key: str) -> Optional[tuple[int, str]]:
        """``(rating, explanation)`` stored under ``key``, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT rating, explanation FROM verdicts WHERE key = ?", (key,)
            ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def put(self, key: str, model: str, rubric_version: str, rating: int, explanation: str, raw_answer: str) -> None:
        """Store one verdict (a later verdict for the same key replaces it)."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, model, rubric_version, rating, explanation, raw_answer, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
