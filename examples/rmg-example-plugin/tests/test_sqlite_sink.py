"""The SQLite sink: the kit's sink conformance check plus what upserting means in SQL."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any, Mapping

import rmg_example
from rmg_kit import check_sink, sample_records
from rmg_example.sqlite_sink import SqliteSink


def _rows(settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    with sqlite3.connect(settings["path"]) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(f"SELECT * FROM {settings.get('table', 'rmg_scores')}")]


def test_sqlite_sink_conformance(tmp_path: Path) -> None:
    settings = {"path": str(tmp_path / "scores.db")}
    check_sink(
        SqliteSink, settings, read_back=_rows, plugin=rmg_example,
        invalid_settings=[{"table": "scores; DROP TABLE x"}, {"write_errors": "sometimes"}],
        unwritable_settings={"path": str(tmp_path / "missing" / "scores.db")},
    )
    check_sink(SqliteSink, {**settings, "table": "no_errors", "write_errors": False}, read_back=_rows)


def _write(sink: SqliteSink, records: list) -> Any:
    async def run() -> Any:
        await sink.open()
        try:
            return await sink.write(records)
        finally:
            await sink.close()

    return asyncio.run(run())


def test_rows_hold_the_whole_record(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    records = sample_records(traces=2)
    report = _write(SqliteSink(path=path), records)
    assert (report.written, report.skipped, report.failed) == (len(records), 0, [])
    rows = {r["score_id"]: r for r in _rows({"path": path})}
    error = next(r for r in records if r.is_error)
    assert rows[error.score_id]["value"] is None and rows[error.score_id]["error"] == error.error
    ranking = next(r for r in records if r.data_type == "CATEGORICAL")
    assert rows[ranking.score_id]["value"] == ranking.value
    assert rows[records[0].score_id]["metadata"] == '{"t": 0}'


def test_a_batch_that_cannot_be_stored_is_reported_failed(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    sink = SqliteSink(path=path)

    async def run() -> Any:
        await sink.open()
        # Another writer holds the database: this batch fails as a whole, with the reason.
        other = sqlite3.connect(path, timeout=0)
        other.execute("BEGIN EXCLUSIVE")
        sink._conn.execute("PRAGMA busy_timeout = 0")
        try:
            return await sink.write(sample_records(traces=1))
        finally:
            other.rollback()
            other.close()
            await sink.close()

    report = asyncio.run(run())
    assert report.written == 0 and len(report.failed) == 4
    assert "database is locked" in report.failed[0].message
    assert _rows({"path": path}) == []


def test_an_incompatible_table_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE rmg_scores (score_id TEXT PRIMARY KEY, value REAL)")
    sink = SqliteSink(path=path)
    try:
        asyncio.run(sink.open())
    except Exception as exc:
        assert "lacks columns" in str(exc) and "sinks.table" in str(exc)
    else:
        raise AssertionError("open() accepted a table without rmg's columns")
