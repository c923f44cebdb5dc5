"""Reads traces from a local file or a stream: JSON lines, a JSON array, or CSV, in bounded memory."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from typing import IO, Any, AsyncIterator, Iterator, Optional

from pydantic import Field

from rmg_core import DEFAULT_REFERENCE_KEYS, CaseError, ConfigError, EvalCase, RawTrace, Settings, Source, case_from_mapping

from .formats import SourceFormat, sniff_format, source_format_from_name
from .readers import csv_traces, json_traces, jsonl_traces

# Yield to the event loop every this many traces, so graders and sinks run
# while a large file is read.
_YIELD_EVERY = 512
_READERS = {"jsonl": jsonl_traces, "json": json_traces, "csv": csv_traces}


class LocalSourceSettings(Settings):
    path: str = Field(description="The file to read; '-' reads standard input (JSON lines, or a JSON array).")
    format: SourceFormat = Field(
        "auto",
        description="auto (by extension: .jsonl/.ndjson, .json, .csv; else by the first bytes), jsonl, json, csv.",
    )
    reference_keys: tuple[str, ...] = Field(
        DEFAULT_REFERENCE_KEYS,
        description="Metadata keys the expected output is read from when a line has no 'expected'.",
    )
    limit: Optional[int] = Field(None, ge=1, description="Read at most this many traces.")
    max_trace_bytes: int = Field(
        8 * 1024 * 1024, ge=1024,
        description="A line, array element or CSV record longer than this is skipped and reported, "
        "so one huge trace cannot exhaust memory.",
    )


class LocalFileSource(Source):
    """Traces from a local file or stream: JSONL, one JSON array (streamed), or CSV.

    A trace that cannot be read (invalid JSON or UTF-8, too long, nested too
    deep) is reported as a `CaseError` with the file and line, and the rest
    of the file is read.  Standard input (``-``) and process substitution
    (``<(...)``) are read as streams.
    """

    name = "local"
    Settings = LocalSourceSettings
    settings: LocalSourceSettings
    #: Set on a partition (`partition`): the byte range read and its first line's number.
    _range: Optional[dict[str, Any]] = None
    _first_line = 1

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        path = self.settings.path
        self.format = source_format_from_name(path, self.settings.format)
        if path != "-":
            try:
                mode = os.stat(path).st_mode
            except OSError:
                raise ConfigError(f"source 'local': no such file {path!r}; check the path") from None
            if stat.S_ISDIR(mode):
                raise ConfigError(f"source 'local': {path!r} is a directory; give a traces file")

    async def cases(self) -> AsyncIterator[EvalCase | CaseError]:
        """The file's traces as cases, in rmg's own shape (``rmg eval`` also detects other shapes)."""
        keys = self.settings.reference_keys
        async for item in self.traces():
            if isinstance(item, CaseError):
                yield item
            else:
                yield case_from_mapping(item.data, location=item.location, reference_keys=keys)

    def partitions(self, target_cases: int) -> Optional[Iterator[dict[str, Any]]]:
        from .partitions import jsonl_partitions

        return jsonl_partitions(self, target_cases)

    def partition(self, spec: dict[str, Any]) -> "LocalFileSource":
        from .partitions import narrowed

        return narrowed(self, spec)

    async def traces(self) -> AsyncIterator[RawTrace | CaseError]:  # type: ignore[override]
        count = 0
        limit = self.settings.limit
        for n, item in enumerate(self._read(), 1):
            yield item
            if isinstance(item, RawTrace):
                count += 1
                if limit is not None and count >= limit:
                    return
            if n % _YIELD_EVERY == 0:
                await asyncio.sleep(0)

    def _open(self) -> IO[bytes]:
        if self._range is not None:
            from .partitions import open_range

            return open_range(self._range).detach()  # type: ignore[return-value]
        if self.settings.path == "-":
            return sys.stdin.buffer
        return open(self.settings.path, "rb")

    def progress(self) -> Optional[tuple[float, float]]:
        """Bytes read of the file's size (``None`` for standard input, a pipe, or before reading starts)."""
        handle = getattr(self, "_reading", None)
        if handle is None or handle is sys.stdin.buffer:
            end = getattr(self, "_read_to_end", None)
            return None if end is None else (end, end)
        try:
            return float(handle.tell()), float(os.fstat(handle.fileno()).st_size)
        except (OSError, ValueError):  # closed, or not a regular file
            return None

    def _read(self) -> Iterator[RawTrace | CaseError]:
        handle = self._reading = self._open()
        try:
            fmt = self.format
            if fmt is None:
                peek = getattr(handle, "peek", None)
                fmt = sniff_format(peek(64) if peek is not None else b"{")
            yield from _READERS[fmt](handle, self.settings.path, self.settings.max_trace_bytes, self._first_line)
            if handle is not sys.stdin.buffer and stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                self._read_to_end = float(os.fstat(handle.fileno()).st_size)  # read to its end: the total is known
        finally:
            self._reading = None
            if handle is not sys.stdin.buffer:
                handle.close()
