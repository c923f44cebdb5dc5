"""Writes score records to a JSONL or CSV file (or JSONL to standard output)."""

from __future__ import annotations

import csv
import json
import os
import sys
from typing import IO, Any, Literal, Optional, Sequence

from pydantic import Field

from rmg_core import (
    AtomicFile, OutputError, ScoreRecord, Settings, Sink, SinkError, WriteFailure, WriteReport, spreadsheet_safe,
)

from .formats import Format, resolve_format

#: The columns of a written record, in order.
COLUMNS = (
    "trace_id", "observation_id", "name", "value", "data_type", "comment", "score_id",
    "timestamp", "kind", "error", "metadata",
)


class LocalSinkSettings(Settings):
    path: str = Field(description="The file to write; '-' writes JSONL to standard output.")
    format: Format = "auto"
    mode: Literal["replace", "append"] = Field(
        "replace",
        description="replace: the file holds this run's scores only (a re-run never duplicates); "
        "append: add to the file (for `rmg worker`; a re-graded score is appended again, the last line wins).",
    )
    write_errors: bool = Field(True, description="Write GraderError records (value null, 'error' set).")


def record_row(record: ScoreRecord) -> dict[str, Any]:
    """A record as the JSON object the sink writes (the grader identity goes in metadata)."""
    metadata = dict(record.metadata)
    metadata.update(
        component=record.component,
        grader=record.grader,
        grader_version=record.grader_version,
        config_fingerprint=record.config_fingerprint,
    )
    return {
        "trace_id": record.trace_id,
        "observation_id": record.observation_id,
        "name": record.name,
        "value": record.value,
        "data_type": record.data_type,
        "comment": record.comment,
        "score_id": record.score_id,
        "timestamp": record.timestamp.isoformat() if record.timestamp else None,
        "kind": record.kind,
        "error": record.error,
        "metadata": metadata,
    }


class LocalFileSink(Sink):
    """Scores to a local file: replaced each run (a re-run never duplicates), or appended to.

    Each ``write`` flushes to the operating system before it returns, so the
    scores it reports written survive the process being killed.  In replace
    mode the scores go to a temporary file beside the target, renamed over it
    when the run completes; an incomplete run leaves the target as it was and
    keeps its scores in ``<path>.partial``.  CSV cells that a spreadsheet would
    run as a formula are prefixed with ``'`` (`rmg_core.spreadsheet_safe`).
    """

    name = "local"
    Settings = LocalSinkSettings
    settings: LocalSinkSettings

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.format = resolve_format(self.settings.path, self.settings.format, "sink 'local'")
        self._handle: Optional[IO[str]] = None
        self._csv: Optional[Any] = None
        self._atomic: Optional[AtomicFile] = None

    async def open(self) -> None:
        path = self.settings.path
        exists = False  # a CSV appended to an existing file must not repeat its header
        newline = "" if self.format == "csv" else None
        if path == "-":
            self._handle = sys.stdout
        elif self.settings.mode == "replace":
            try:
                self._atomic = AtomicFile(path, newline=newline)
            except OutputError as exc:
                raise SinkError(f"sink 'local': {exc}") from None
            self._handle = self._atomic.handle
        else:
            try:
                exists = os.path.exists(path) and os.path.getsize(path) > 0
                self._handle = open(path, "a", encoding="utf-8", newline=newline)
            except OSError as exc:
                raise SinkError(f"sink 'local': cannot write {path!r}: {exc.strerror}; check the directory exists and is writable") from None
        if self.format == "csv":
            self._csv = csv.DictWriter(self._handle, fieldnames=COLUMNS)
            if not exists:
                self._csv.writeheader()

    async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
        if self._handle is None:
            await self.open()
        assert self._handle is not None
        report = WriteReport()
        lines = []
        for record in records:
            if record.is_error and not self.settings.write_errors:
                report.skipped += 1
                continue
            row = record_row(record)
            try:
                if self._csv is not None:
                    row["metadata"] = json.dumps(row["metadata"], ensure_ascii=False, default=str)
                    self._csv.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
                else:
                    lines.append(json.dumps(row, ensure_ascii=False, default=str))
                report.written += 1
            except (OSError, ValueError) as exc:
                report.failed.append(WriteFailure.of(record, f"{type(exc).__name__}: {exc}"))
        try:
            if lines:
                self._handle.write("\n".join(lines) + "\n")
            self._handle.flush()
        except OSError as exc:
            # Nothing of this batch can be trusted to be on disk.
            written = [r for r in records if not (r.is_error and not self.settings.write_errors)]
            report.written = 0
            report.failed.extend(WriteFailure.of(r, f"cannot write {self.settings.path!r}: {exc.strerror or exc}")
                                 for r in written)
        return report

    def worker_problem(self) -> Optional[str]:
        if self.settings.mode == "replace" and self.settings.path != "-":
            return (f"sink 'local' replaces {self.settings.path!r} every time it opens, so each worker restart would "
                    f"erase the scores the worker has recorded as written; set mode = \"append\" in its [[sinks]] table")
        return None

    async def close(self) -> WriteReport:
        handle, self._handle = self._handle, None
        atomic, self._atomic = self._atomic, None
        if handle is None or handle is sys.stdout:
            if handle is sys.stdout:
                handle.flush()
            return WriteReport()
        try:
            if atomic is not None:
                atomic.commit()
            else:
                handle.close()
        except (OSError, OutputError) as exc:
            raise SinkError(f"sink 'local': could not finish {self.settings.path!r}: {exc}") from None
        return WriteReport()

    async def close_incomplete(self) -> WriteReport:
        """The run stopped early: leave the target as it was, keep what was written as ``.partial``."""
        atomic = self._atomic
        if atomic is None:  # stdout or append mode: what was written is where it belongs
            return await self.close()
        self._atomic = self._handle = None
        kept = atomic.abandon()
        path = self.settings.path
        if kept:
            note = f"the run did not complete: {path!r} was left as it was; the scores written are in {kept!r}"
        else:
            note = f"the run did not complete: {path!r} was left as it was; no score was written"
        return WriteReport(notes=[note])
