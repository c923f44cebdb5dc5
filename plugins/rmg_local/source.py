"""Reads traces from a JSONL or CSV file, one trace per line or row, streaming."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
from pathlib import Path
from typing import IO, Any, AsyncIterator, Callable, Iterator, Optional

from pydantic import Field

from rmg_core import DEFAULT_REFERENCE_KEYS, CaseError, ConfigError, EvalCase, Settings, Source, case_from_mapping

from .formats import Format, resolve_format

# Yield to the event loop every this many lines, so graders and sinks run
# while a large file is read.
_YIELD_EVERY = 512


def _json_loads() -> Callable[[str], Any]:
    """orjson's parser (~2-3x the standard library's), with the standard library's answer where they differ.

    orjson refuses NaN and lone surrogates, which Python's own ``json.dumps``
    writes: those lines are parsed again by the standard library, so they read
    as before and errors keep its messages.  orjson also reads an integer beyond
    64 bits as a float: a trace id like that is read again too (elsewhere in a
    trace such a number stays a float, see docs/performance.md).
    """
    import orjson

    strict, refused = orjson.loads, orjson.JSONDecodeError

    def loads(line: str) -> Any:
        try:
            obj = strict(line)
        except refused:
            return json.loads(line)
        if type(obj) is dict and type(obj.get("id")) is float:
            return json.loads(line)
        return obj

    return loads


class LocalSourceSettings(Settings):
    path: str = Field(description="The file to read; '-' reads JSONL from standard input.")
    format: Format = "auto"
    reference_keys: tuple[str, ...] = Field(
        DEFAULT_REFERENCE_KEYS,
        description="Metadata keys the expected output is read from when a line has no 'expected'.",
    )
    limit: Optional[int] = Field(None, ge=1, description="Read at most this many traces.")


class LocalFileSource(Source):
    """Traces from a local file: JSONL (the seed's shape or a Langfuse export) or CSV.

    A malformed line is reported as a `CaseError` with the file and line
    number, and the rest of the file is read.
    """

    name = "local"
    Settings = LocalSourceSettings
    settings: LocalSourceSettings
    #: Set on a partition (`partition`): the byte range read and its first line's number.
    _range: Optional[dict[str, Any]] = None
    _first_line = 1

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.format = resolve_format(self.settings.path, self.settings.format, "source 'local'")
        if self.settings.path != "-" and not Path(self.settings.path).is_file():
            raise ConfigError(f"source 'local': no such file {self.settings.path!r}; check the path")

    async def cases(self) -> AsyncIterator[EvalCase | CaseError]:
        count = 0
        limit = self.settings.limit
        for n, item in enumerate(self._read(), 1):
            yield item
            if isinstance(item, EvalCase):
                count += 1
                if limit is not None and count >= limit:
                    return
            if n % _YIELD_EVERY == 0:
                await asyncio.sleep(0)

    def partitions(self, target_cases: int) -> Optional[Iterator[dict[str, Any]]]:
        from .partitions import jsonl_partitions

        return jsonl_partitions(self, target_cases)

    def partition(self, spec: dict[str, Any]) -> "LocalFileSource":
        from .partitions import narrowed

        return narrowed(self, spec)

    def _open(self) -> IO[str]:
        if self._range is not None:
            from .partitions import open_range

            return open_range(self._range)
        if self.settings.path == "-":
            return sys.stdin
        return open(self.settings.path, encoding="utf-8", newline="" if self.format == "csv" else None)

    def progress(self) -> Optional[tuple[float, float]]:
        """Bytes read of the file's size (``None`` for standard input, or before reading starts)."""
        handle = getattr(self, "_reading", None)
        if handle is None or handle is sys.stdin:
            end = getattr(self, "_read_to_end", None)
            return None if end is None else (end, end)
        try:
            # The binary buffer's position: text-mode tell() is disabled while iterating lines.
            return float(handle.buffer.tell()), float(os.fstat(handle.fileno()).st_size)
        except (OSError, ValueError, AttributeError):  # closed, or not a regular file
            return None

    def _read(self) -> Iterator[EvalCase | CaseError]:
        handle = self._reading = self._open()
        try:
            rows = self._jsonl(handle) if self.format == "jsonl" else self._csv(handle)
            yield from rows
            if handle is not sys.stdin:
                self._read_to_end = float(os.fstat(handle.fileno()).st_size)  # read to its end: the total is known
        finally:
            self._reading = None
            if handle is not sys.stdin:
                handle.close()

    def _jsonl(self, handle: IO[str]) -> Iterator[EvalCase | CaseError]:
        path, keys = self.settings.path, self.settings.reference_keys
        loads = _json_loads()
        for lineno, line in enumerate(handle, self._first_line):
            if not line.strip():
                continue
            location = f"{path}:{lineno}"
            try:
                obj = loads(line)
            except ValueError as exc:
                msg = getattr(exc, "msg", str(exc))
                col = getattr(exc, "colno", None)
                where = f" at column {col}" if col else ""
                yield CaseError(location=location, message=f"invalid JSON ({msg}{where}); fix or remove the line")
                continue
            yield case_from_mapping(obj, location=location, reference_keys=keys)

    def _csv(self, handle: IO[str]) -> Iterator[EvalCase | CaseError]:
        path, keys = self.settings.path, self.settings.reference_keys
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "id" not in reader.fieldnames:
            yield CaseError(location=f"{path}:1", message="CSV header needs an 'id' column (and input, output, expected)")
            return
        for row in reader:
            location = f"{path}:{reader.line_num}"
            data: dict[str, Any] = {k: (v if v != "" else None) for k, v in row.items() if k is not None}
            if isinstance(data.get("metadata"), str):
                try:
                    data["metadata"] = json.loads(data["metadata"])
                except ValueError:
                    yield CaseError(location=location, message="column 'metadata' is not valid JSON")
                    continue
            yield case_from_mapping(data, location=location, reference_keys=keys)
