"""Writes score records to a JSONL or CSV file, JSONL to standard output, or a directory of JSONL parts."""

from __future__ import annotations

import codecs
import csv
import functools
import io
import json
import os
import sys
from datetime import datetime
from typing import IO, Any, Callable, Literal, Optional, Sequence

from pydantic import Field

from rmg_core import (ConfigError, OutputError, ScoreRecord, ScoreRecords, ScoreRun, Settings, Sink, SinkError, WriteFailure,
                      WriteReport)
from rmg_kit import AtomicFile, spreadsheet_safe

from . import directory as parts
from .formats import Format, resolve_format

#: The columns of a written record, in order.
COLUMNS = (
    "trace_id", "observation_id", "name", "value", "data_type", "comment", "score_id",
    "timestamp", "kind", "error", "metadata",
)


class LocalSinkSettings(Settings):
    path: str = Field(description="The file to write; '-' writes JSONL to standard output.")
    format: Format = "auto"
    mode: Literal["replace", "append", "directory"] = Field(
        "replace",
        description="replace: the file holds this run's scores only (a re-run never duplicates); "
        "append: add to the file (for `rmg worker`; a re-graded score is appended again, the last line wins); "
        "directory: path is a directory of part-*.jsonl files and a _manifest.json written when the run completed "
        "(a path ending in '/' or naming a directory chooses it); the mode that may write on an executor's workers.",
    )
    write_errors: bool = Field(True, description="Write GraderError records (value null, 'error' set).")


def record_row(record: ScoreRecord, stamps: Optional[dict[int, str]] = None) -> dict[str, Any]:
    """A record as the JSON object the sink writes (the grader identity goes in metadata).

    ``stamps`` caches formatted timestamps by object id, for a batch whose
    records are all alive while it is used.
    """
    # Fields read from the record's __dict__: the cheapest way to take fifteen fields of a pydantic model.
    d = record.__dict__
    identity = {"component": d["component"], "grader": d["grader"], "grader_version": d["grader_version"],
                "config_fingerprint": d["config_fingerprint"]}
    return _row(d["trace_id"], d["observation_id"], d["name"], d["value"], d["data_type"], d["comment"], d["score_id"],
                _stamp(d["timestamp"], stamps), d["kind"], d["error"], d["metadata"], identity)


def _stamp(timestamp: Optional[datetime], stamps: Optional[dict[int, str]]) -> Optional[str]:
    if timestamp is None:
        return None
    if stamps is None:
        return timestamp.isoformat()
    stamp = stamps.get(id(timestamp))
    if stamp is None:
        stamp = stamps[id(timestamp)] = timestamp.isoformat()
    return stamp


def _row(trace_id: str, observation_id: Optional[str], name: str, value: Any, data_type: Optional[str], comment: Optional[str],
         score_id: str, stamp: Optional[str], kind: str, error: Optional[str], metadata: dict[str, Any],
         identity: dict[str, str]) -> dict[str, Any]:
    return {
        "trace_id": trace_id, "observation_id": observation_id, "name": name, "value": value, "data_type": data_type,
        "comment": comment, "score_id": score_id, "timestamp": stamp, "kind": kind, "error": error,
        "metadata": {**metadata, **identity},
    }


def _run_lines(run: ScoreRun, stamps: dict[int, str], lines: bytearray, failed: list[WriteFailure]) -> None:
    """A run's records as JSON lines, read from its columns (the same lines as `record_row` of each record)."""
    column, extend = run.column, lines.extend
    name = column.name
    identity = {"component": column.component, "grader": column.plugin, "grader_version": column.version,
                "config_fingerprint": column.fingerprint}
    for kind, value, data_type, comment, error, metadata, trace_id, observation_id, timestamp, score_id in zip(
            *run.results, *run[2:]):
        try:
            extend(_json_bytes(_row(trace_id, observation_id, name, value, data_type, comment, score_id,
                                    _stamp(timestamp, stamps), kind, error, metadata, identity)))
        except (TypeError, ValueError) as exc:
            failed.append(WriteFailure(score_id=score_id, trace_id=trace_id, name=name, message=f"{type(exc).__name__}: {exc}"))


def json_line(row: dict[str, Any]) -> str:
    """``row`` as one line of compact JSON (UTF-8 text, no spaces), as the JSONL file holds it.

    orjson writes a record ~10x faster than the standard library.  What it
    cannot write (a lone surrogate, an int beyond 64 bits) is written by the
    standard library instead, with non-ASCII characters escaped, so the line
    is still valid UTF-8 JSON.
    """
    return _json_bytes(row)[:-1].decode("utf-8")


def _json_bytes(row: dict[str, Any]) -> bytes:
    """`json_line` as UTF-8 bytes with its newline: a batch's lines are appended to one buffer and written."""
    dumps, string_keys, options, error = _orjson()
    try:
        # Without OPT_NON_STR_KEYS first: it costs a quarter of the time, and only a key
        # that is not a string (which then fails here) needs it.
        return dumps(row, default=_json_default, option=string_keys)
    except error:
        pass
    try:
        return dumps(row, default=_json_default, option=options)
    except error:
        return json.dumps(row, ensure_ascii=True, separators=(",", ":"), default=_json_default).encode("ascii") + b"\n"


@functools.lru_cache(maxsize=1)
def _orjson() -> tuple[Callable[..., bytes], int, int, type[Exception]]:
    """orjson's encoder, its options for string keys and for any keys, and its error, imported on first use."""
    import orjson

    # Keys of any type become strings and numpy numbers numbers, as with the
    # standard library; datetimes and dataclasses inside metadata go through
    # `_json_default` (their str()), as they always did.
    string_keys = (orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
                   | orjson.OPT_APPEND_NEWLINE)
    return orjson.dumps, string_keys, string_keys | orjson.OPT_NON_STR_KEYS, orjson.JSONEncodeError


def _json_default(value: Any) -> Any:
    # A float subclass is a number to the standard library; anything else JSON
    # has no type for is written as its str(), as it always was.
    if isinstance(value, float):
        return float(value)
    return str(value)


class LocalFileSink(Sink):
    """Scores to a local file: replaced each run (a re-run never duplicates), or appended to.

    Each ``write`` flushes to the operating system before it returns, so the
    scores it reports written survive the process being killed.  In replace
    mode the scores go to a temporary file beside the target, renamed over it
    when the run completes; an incomplete run leaves the target as it was and
    keeps its scores in ``<path>.partial``.  CSV cells that a spreadsheet would
    run as a formula are prefixed with ``'`` (`rmg_kit.spreadsheet_safe`).
    """

    name = "local"
    Settings = LocalSinkSettings
    settings: LocalSinkSettings

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        path, mode = self.settings.path, self.settings.mode
        #: The directory of parts (absolute: a worker resolves it where the run started), or None.
        self.directory: Optional[str] = None
        if mode == "directory" or (mode == "replace" and path != "-" and (path.endswith(("/", os.sep)) or os.path.isdir(path))):
            if path == "-" or self.settings.format == "csv":
                raise ConfigError(f"sink 'local': mode = \"directory\" writes JSONL parts into a directory, not "
                                  f"{'standard output' if path == '-' else 'CSV'}; give a directory path and format = \"jsonl\"")
            self.directory = os.path.abspath(path)
            self.format: Literal["jsonl", "csv"] = "jsonl"
        else:
            self.format = resolve_format(path, self.settings.format, "sink 'local'")
        self._handle: Optional[IO[str]] = None
        self._csv: Optional[Any] = None
        self._atomic: Optional[AtomicFile] = None
        self._part: Optional[parts.PartWriter] = None
        self._unit: Optional[str] = None  # the work unit this instance writes, on an executor's worker
        self._written = 0
        self._scores: dict[str, dict[str, str]] = {}

    @property
    def runs_on_workers(self) -> bool:  # type: ignore[override]
        """In directory mode: each unit renames its own part into place, so a unit run twice leaves one copy."""
        return self.directory is not None

    async def open(self) -> None:
        if self.directory is not None:  # the whole run as one part (in one process, or sinks on the driver)
            parts.begin(self.directory)
            await self.open_unit(parts.WHOLE_RUN)
            self._unit = None
            return
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
        write_errors = self.settings.write_errors
        if isinstance(records, ScoreRecords):
            kept: Sequence[ScoreRecord] = records if write_errors else records.without("error")
        else:
            kept = records if write_errors else [r for r in records if not r.is_error]
        report.skipped = len(records) - len(kept)
        if self.directory is not None and self._unit is None:
            parts.score_identities(records, self._scores)  # for the manifest's fingerprint
        # One buffer for the batch, each line appended and its bytes freed at once: orjson's
        # result of a few hundred bytes sits in a 4 KiB allocation, and keeping thousands alive
        # (a list of lines to join) made the heap grow by a fresh page a line (~4 µs each).
        lines = bytearray()
        if self._csv is not None:
            for record in kept:
                row = record_row(record)
                try:
                    row["metadata"] = json.dumps(row["metadata"], ensure_ascii=False, default=str)
                    self._csv.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
                    report.written += 1
                except (OSError, ValueError) as exc:
                    report.failed.append(WriteFailure.of(record, f"{type(exc).__name__}: {exc}"))
        else:
            # The records of one trace share its timestamp object: format each once.
            stamps: dict[int, str] = {}
            extend, failed = lines.extend, report.failed
            if isinstance(kept, ScoreRecords):  # lines from the columns: no model built per score
                for run in kept.runs:
                    _run_lines(run, stamps, lines, failed)
            else:
                for record in kept:
                    try:
                        extend(_json_bytes(record_row(record, stamps)))
                    except (TypeError, ValueError) as exc:
                        failed.append(WriteFailure.of(record, f"{type(exc).__name__}: {exc}"))
            # Counted once: each assignment to a pydantic field is a Python call.
            report.written = len(kept) - len(failed)
        try:
            if lines:
                self._write_bytes(lines)
            self._handle.flush()
        except OSError as exc:
            # Nothing of this batch can be trusted to be on disk.
            report.written = 0
            where = self._part.path if self._part is not None else self.settings.path  # a unit's own part file
            report.failed.extend(WriteFailure.of(r, f"cannot write {where!r}: {exc.strerror or exc}") for r in kept)
        self._written += report.written
        return report

    def _write_bytes(self, data: bytes | bytearray) -> None:
        """UTF-8 ``data`` to the text handle: to its binary buffer when that writes the same bytes (UTF-8, no newline
        translation), so the batch is not decoded to be encoded again."""
        handle = self._handle
        assert handle is not None
        # Only a plain text file, whose buffer is known to be where its text goes (not a wrapper of one).
        raw = handle.buffer if type(handle) is io.TextIOWrapper and os.linesep == "\n" else None
        if raw is not None and codecs.lookup(handle.encoding).name == "utf-8":
            handle.flush()  # whatever was written as text goes first
            raw.write(data)
        else:
            handle.write(data.decode("utf-8"))

    def worker_problem(self) -> Optional[str]:
        if self.directory is not None:
            return (f"sink 'local' in directory mode ({self.settings.path!r}) is for `rmg eval`: every cycle would start "
                    f"the directory again; write a file with mode = \"append\" in its [[sinks]] table")
        if self.settings.mode == "replace" and self.settings.path != "-":
            return (f"sink 'local' replaces {self.settings.path!r} every time it opens, so each worker restart would "
                    f"erase the scores the worker has recorded as written; set mode = \"append\" in its [[sinks]] table")
        return None

    async def close(self) -> WriteReport:
        if self.directory is not None:
            return await self._close_part(complete=True)
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
        """The run stopped early: leave the target as it was, keep what was written as ``.partial``.

        In directory mode the part is kept (it holds what was written) and no
        manifest is written: the directory reads as incomplete.
        """
        if self.directory is not None:
            return await self._close_part(complete=False)
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

    # -- directory mode: parts and the manifest (see directory.py) ---------------------------------
    async def open_unit(self, unit_id: str) -> None:
        """On an executor's worker: write one work unit's records to ``part-<unit_id>.jsonl`` (renamed into place by close)."""
        if self.directory is None:
            raise SinkError(f"sink 'local' writes {self.settings.path!r} whole, not per work unit; set mode = \"directory\"")
        self._part = parts.PartWriter(self.directory, unit_id)
        self._handle, self._unit, self._written = self._part.handle, unit_id, 0

    async def _close_part(self, complete: bool) -> WriteReport:
        part, self._part, self._handle = self._part, None, None
        if part is None:
            return WriteReport()
        # What a unit wrote is kept either way: a retry of the unit replaces it, and a run without
        # a manifest reads as incomplete.
        part.commit()
        if self._unit is not None:
            return WriteReport()
        return await self.commit_units([{"unit_id": parts.WHOLE_RUN, "cases": None, "written": self._written}],
                                       complete=complete, scores=self._scores)

    async def begin_units(self) -> None:
        """On the driver, before any unit runs on the workers: prepare the directory (see `directory.begin`)."""
        if self.directory is not None:
            parts.begin(self.directory)

    async def commit_units(self, units: list[dict[str, Any]], *, complete: bool,
                           scores: dict[str, dict[str, str]]) -> WriteReport:
        """On the driver, at the end: the manifest when the run completed, else a note that the directory is incomplete."""
        assert self.directory is not None
        where = self.directory
        if not complete:
            return WriteReport(notes=[f"the run did not complete: {where!r} has no {parts.MANIFEST}; its parts hold the "
                                      f"scores of the work units that finished"])
        problems, notes = parts.commit(where, units, scores)
        if problems:
            raise SinkError(f"sink 'local': {where!r} is incomplete (no {parts.MANIFEST}): " + "; ".join(problems[:10]))
        return WriteReport(notes=notes)
