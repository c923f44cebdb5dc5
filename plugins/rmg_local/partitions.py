"""A JSONL file cut into byte ranges aligned to line ends, so many workers read one file.

The driver finds each boundary with one seek and one ``readline`` (the end of
the line under ``start + target``), so a range always ends just after a
``\\n`` (or at the end of the file) and no line is cut.  A worker reads the
lines that *start* in its ``[start, end)``.  To keep ``file:line`` in errors
exact, the driver counts the line breaks of each range as it goes (one pass
over the file, a range at a time, in bounded memory) and gives the range its
first line number.  Line breaks are counted as the whole-file reader sees
them (at ``\\n``, so ``\\r\\n`` once; the reader reads bytes, in bounded lines); a boundary
sits only after ``\\n``, so it never splits ``\\r\\n`` or a UTF-8 character.
"""

from __future__ import annotations

import copy
import io
import os
from typing import IO, TYPE_CHECKING, Any, Iterator, Optional

from rmg_core import ConfigError

if TYPE_CHECKING:
    from .source import LocalFileSource

#: Bytes sampled at the start of the file to turn a target in cases into a target in bytes.
SAMPLE_BYTES = 1 << 16


def line_breaks(data: bytes) -> int:
    """Line breaks in ``data`` as the local source reads lines: at ``\\n`` (so ``\\r\\n`` once; a lone ``\\r`` is no break)."""
    return data.count(b"\n")


def byte_ranges(path: str, target_bytes: int) -> Iterator[dict[str, Any]]:
    """The partitions of ``path``: ``{"path", "start", "end", "line", "cases", "size"}``, in file order.

    Each range holds about ``target_bytes``, except the file's last three
    targets' worth, cut into shorter and shorter ranges (a third of what is
    left each, down to an eighth of the target).  ``line`` is the number of
    the range's first line; ``cases`` counts its non-blank lines (what a lost
    unit held, about).
    """
    size = os.path.getsize(path)
    target_bytes = max(1, target_bytes)
    start, line = 0, 1
    with open(path, "rb") as handle:
        while start < size:
            # At most a third of what is left (not under an eighth of the target): the last ranges get shorter
            # and shorter, so the workers finish together and the driver merges only a small unit at the end.
            step = max(1, target_bytes // 8, min(target_bytes, (size - start) // 3))
            handle.seek(start + step - 1)
            handle.readline()  # to just after the line end at or beyond the target
            end = min(handle.tell(), size)
            handle.seek(start)
            data = handle.read(end - start)
            cases = sum(1 for text in data.splitlines() if text.strip())
            yield {"path": path, "start": start, "end": end, "line": line, "cases": cases, "size": size}
            line += line_breaks(data)
            start = end


def jsonl_partitions(source: "LocalFileSource", target_cases: int) -> Optional[Iterator[dict[str, Any]]]:
    """Byte ranges of about ``target_cases`` lines each, or ``None`` when the input cannot be split.

    Standard input cannot be sought, a CSV field may hold a line break, and
    ``limit`` counts across the whole file: those are read by the driver.
    """
    settings = source.settings
    if settings.path == "-" or source.format != "jsonl" or settings.limit is not None:
        return None
    path = os.path.abspath(settings.path)
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    per_line = len(sample) / max(1, sample.count(b"\n")) if sample else 1
    return byte_ranges(path, int(target_cases * per_line))


class _ByteRange(io.RawIOBase):
    """The bytes ``[start, end)`` of a file, as a raw stream (memory: one read buffer)."""

    def __init__(self, path: str, start: int, end: int) -> None:
        super().__init__()
        self._file = open(path, "rb")
        self._file.seek(start)
        self._left = end - start

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._file.fileno()

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[: min(len(buffer), self._left)]
        count = self._file.readinto(view) or 0
        self._left -= count
        return count

    def close(self) -> None:
        self._file.close()
        super().close()


def open_range(spec: dict[str, Any]) -> IO[str]:
    """The text of one partition, decoded as the whole-file reader decodes it."""
    path = spec["path"]
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise ConfigError(f"source 'local': cannot read {path!r} on this worker: {exc.strerror}; "
                          f"every worker must see the file at the same path (a shared volume)") from None
    if size != spec["size"]:
        raise ConfigError(f"source 'local': {path!r} changed while it was read ({spec['size']} bytes, now {size}); "
                          f"grade a file that is not being written")
    return io.TextIOWrapper(io.BufferedReader(_ByteRange(path, spec["start"], spec["end"])), encoding="utf-8")


def narrowed(source: "LocalFileSource", spec: dict[str, Any]) -> "LocalFileSource":
    """A copy of ``source`` that reads just partition ``spec``, numbering lines from the range's first."""
    # A copy, not a new instance: the path was checked where the source was built, and a
    # relative path need not resolve in this worker's directory (the range's path is absolute).
    narrow = copy.copy(source)
    narrow._range = spec  # type: ignore[attr-defined]
    narrow._first_line = int(spec["line"])  # type: ignore[attr-defined]
    return narrow
