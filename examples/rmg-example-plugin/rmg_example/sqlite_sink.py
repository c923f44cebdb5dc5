"""``sqlite``: scores into a SQLite table, upserted by ``score_id`` so a re-run never duplicates."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any, Optional, Sequence

from pydantic import Field, field_validator

from rmg_core import ScoreRecord, Settings, Sink, SinkError, WriteFailure, WriteReport

#: Columns of the score table, in order; ``score_id`` is the primary key.
COLUMNS = (
    "score_id", "trace_id", "observation_id", "name", "value", "data_type", "kind", "comment", "error",
    "timestamp", "grader", "grader_version", "config_fingerprint", "metadata",
)


class SqliteSinkSettings(Settings):
    path: str = Field(description="The SQLite database file (created if missing; its directory must exist).")
    table: str = Field("rmg_scores", description="The table to upsert scores into (created if missing).")
    write_errors: bool = Field(True, description="Store GraderError records (value NULL, 'error' set).")

    @field_validator("table")
    @classmethod
    def _identifier(cls, value: str) -> str:
        # The name is put into SQL text (tables cannot be bound parameters), so only plain identifiers pass.
        if not value.isidentifier():
            raise ValueError(f"{value!r} is not a plain table name (letters, digits and '_', not starting with a digit)")
        return value


def _row(record: ScoreRecord) -> tuple[Any, ...]:
    return (
        record.score_id, record.trace_id, record.observation_id, record.name, record.value, record.data_type,
        record.kind, record.comment, record.error, record.timestamp.isoformat() if record.timestamp else None,
        record.grader, record.grader_version, record.config_fingerprint,
        json.dumps(record.metadata, ensure_ascii=False, default=str, sort_keys=True),
    )


class SqliteSink(Sink):
    """Upserts each score by its deterministic ``score_id``: exactly one row per score, whatever the re-runs.

    Each batch is one transaction: it is stored whole or reported failed whole.
    """

    name = "sqlite"
    version = "1"
    Settings = SqliteSinkSettings
    settings: SqliteSinkSettings

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self._conn: Optional[Any] = None
        table = self.settings.table
        updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "score_id")
        self._upsert = (
            f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
            f"ON CONFLICT(score_id) DO UPDATE SET {updates}"
        )

    async def open(self) -> None:
        import sqlite3

        path, table = self.settings.path, self.settings.table
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise SinkError(f"sink 'sqlite': directory {folder!r} of path {path!r} does not exist; create it or change sinks.path")
        try:
            # One connection used by one thread at a time (writes are awaited in turn), so
            # it may move between asyncio's worker threads.
            conn = sqlite3.connect(path, check_same_thread=False)
        except sqlite3.Error as exc:
            raise SinkError(f"sink 'sqlite': cannot open {path!r}: {exc}") from None
        try:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (score_id TEXT PRIMARY KEY, trace_id TEXT NOT NULL, "
                "observation_id TEXT, name TEXT NOT NULL, value, data_type TEXT, kind TEXT NOT NULL, comment TEXT, "
                "error TEXT, timestamp TEXT, grader TEXT, grader_version TEXT, config_fingerprint TEXT, metadata TEXT)"
            )
            have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            missing = [c for c in COLUMNS if c not in have]
            if missing:
                raise SinkError(
                    f"sink 'sqlite': table {table!r} in {path!r} lacks columns {missing}; "
                    "set sinks.table to a new table name or drop the old table"
                )
            conn.execute(f"CREATE INDEX IF NOT EXISTS {table}_trace ON {table} (trace_id)")
            conn.commit()
        except sqlite3.Error as exc:
            conn.close()
            raise SinkError(f"sink 'sqlite': cannot use {path!r}: {exc}") from None
        except SinkError:
            conn.close()
            raise
        self._conn = conn

    def _store(self, rows: list[tuple[Any, ...]]) -> Optional[str]:
        """Upsert rows in one transaction; the error message if it was rolled back."""
        import sqlite3

        assert self._conn is not None
        try:
            with self._conn:  # commits, or rolls back on an exception
                self._conn.executemany(self._upsert, rows)
        except sqlite3.Error as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
        if self._conn is None:
            await self.open()
        report = WriteReport()
        keep = []
        for record in records:
            if record.is_error and not self.settings.write_errors:
                report.skipped += 1
            else:
                keep.append(record)
        if not keep:
            return report
        # sqlite3 blocks; a worker thread keeps the event loop grading the next chunk meanwhile.
        problem = await asyncio.to_thread(self._store, [_row(r) for r in keep])
        if problem is None:
            report.written += len(keep)
        else:
            report.failed.extend(WriteFailure.of(r, f"sink 'sqlite': {problem}") for r in keep)
        return report

    async def close(self) -> WriteReport:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        return WriteReport()
