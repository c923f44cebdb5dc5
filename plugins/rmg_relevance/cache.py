"""The judge's verdicts on disk, so a re-run costs no request (in rmg_kit's `SqliteCache`).

Only verdicts are stored (rating, explanation, the judge's raw answer, the
model and rubric version they came from), under a hash of everything the
verdict depends on: never the API key, and never a failed call.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from rmg_kit import SqliteCache
from rmg_kit import cache_key as _hash

CACHE_FILE = "judge-cache.sqlite3"


def cache_key(question: str, answer: str, *, base_url: str, model: str, rubric_version: str, temperature: float,
              max_chars: int) -> str:
    """The cache key of one judgement: a hash of everything the verdict depends on.

    That is the texts, and every setting that changes what is asked or who
    answers: the endpoint (another provider's "gpt-4o" is another judge), the
    model, the rubric, the temperature, and ``max_chars`` (it cuts the texts).
    """
    return _hash({"question": question, "answer": answer, "base_url": base_url, "model": model,
                  "rubric_version": rubric_version, "temperature": temperature, "max_chars": max_chars})


class VerdictCache:
    """Verdicts by key in ``directory / judge-cache.sqlite3``; safe to share between threads."""

    def __init__(self, directory: Path) -> None:
        self._store = SqliteCache(directory / CACHE_FILE)
        self.path = self._store.path

    def get(self, key: str) -> Optional[tuple[int, str]]:
        """``(rating, explanation)`` stored under ``key``, or None."""
        value = self._store.get(key)
        if value is None:
            return None
        verdict = json.loads(value)
        return int(verdict["rating"]), str(verdict["explanation"])

    def put(self, key: str, model: str, rubric_version: str, rating: int, explanation: str, raw_answer: str) -> None:
        """Store one verdict (a later verdict for the same key replaces it)."""
        verdict = {"model": model, "rubric_version": rubric_version, "rating": rating, "explanation": explanation,
                   "raw_answer": raw_answer}
        self._store.put(key, json.dumps(verdict, ensure_ascii=False).encode("utf-8", "surrogatepass"))

    def __len__(self) -> int:
        return len(self._store)

    def close(self) -> None:
        self._store.close()
