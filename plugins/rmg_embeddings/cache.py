"""An on-disk cache of embeddings keyed by model and text, so a re-run sends no request.

sqlite3 in WAL mode, as the relevance judge's cache (plugins/rmg_relevance/cache.py):
lookups by primary key without loading the file, safe with several readers.
Only vectors are stored (float32 bytes), under a hash of (model, text): never
the API key, never a failed call.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Optional, Sequence

CACHE_FILE = "embeddings-cache.sqlite3"
_SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, model TEXT NOT NULL, vector BLOB NOT NULL)"


def cache_key(model: str, text: str) -> str:
    """The cache key of one embedding: a hash of the model name and the exact text."""
    return hashlib.sha256(json.dumps([model, text], ensure_ascii=False).encode("utf-8")).hexdigest()


class EmbeddingCache:
    """float32 vectors by key in one sqlite file; safe to share between threads."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / CACHE_FILE
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The stored vectors (raw float32 bytes) of those ``keys`` that are cached."""
        found: dict[str, bytes] = {}
        with self._lock:
            for start in range(0, len(keys), 500):  # sqlite's limit on bound parameters
                chunk = list(keys[start:start + 500])
                marks = ",".join("?" * len(chunk))
                for key, blob in self._conn.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk):
                    found[key] = blob
        return found

    def put_many(self, model: str, rows: Sequence[tuple[str, bytes]]) -> None:
        """Store ``(key, float32 bytes)`` rows in one transaction."""
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                                   [(key, model, blob) for key, blob in rows])
            self._conn.execute("COMMIT")

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("rmg")) / "embeddings"


__all__ = ["EmbeddingCache", "cache_key", "default_cache_dir", "CACHE_FILE"]
