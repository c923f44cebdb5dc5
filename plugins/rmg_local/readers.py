"""Readers of trace files, in bounded memory, that never let one bad trace stop the rest.

Each reader takes a binary stream and yields a `RawTrace` (parsed JSON, with
``file:line``) or a `CaseError` naming the file and line:

* `jsonl_traces`: one JSON value per line;
* `json_traces`: one JSON array of traces (what Langfuse's UI exports), or
  JSON values one after another, streamed element by element;
* `csv_traces`: a header row, then one trace per record.

Memory is bounded by ``max_bytes`` per trace: a longer line, element or
record is skipped (read through in small pieces) and reported.  A UTF-8 BOM
is skipped; CRLF line ends are fine.  Bytes that are not UTF-8 and text
nested past `rmg_core.MAX_NESTING` are per-trace errors, and so is text
with a NUL or a lone surrogate (`text_checks`).  A stream
that is plainly binary (a NUL byte in an over-long line: ``/dev/zero``) stops
the read with a `SourceError`.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from typing import IO, Any, Callable, Iterator, Optional

from rmg_core import CaseError, RawTrace, SourceError

from .text_checks import text_problem

BOM = b"\xef\xbb\xbf"
_SKIP_PIECE = 1 << 16


def skip_bom(handle: IO[bytes]) -> None:
    """Drop a UTF-8 byte-order mark at the start (Excel and Windows tools write one)."""
    peek = getattr(handle, "peek", None)
    head = peek(3)[:3] if peek is not None else b""
    if head == BOM:
        handle.read(3)


def _too_long(path: str, lineno: int, max_bytes: int, what: str = "line") -> CaseError:
    return CaseError(
        location=f"{path}:{lineno}",
        message=f"the {what} is longer than max_trace_bytes ({max_bytes:,} bytes) and was skipped; "
                "raise the source setting max_trace_bytes if such traces are expected",
    )


def bounded_lines(handle: IO[bytes], path: str, max_bytes: int, first: int = 1) -> Iterator[tuple[int, Optional[bytes]]]:
    """``(line number, line)``; ``line`` is ``None`` for a line longer than ``max_bytes`` (skipped)."""
    lineno = first - 1
    while True:
        line = handle.readline(max_bytes + 1)
        if not line:
            return
        lineno += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            if b"\x00" in line:
                raise SourceError(
                    f"{path}:{lineno}: the input is binary (NUL bytes, no line end in {max_bytes:,} bytes), "
                    "not JSON lines or CSV; check the path"
                )
            while True:  # read through the rest of the line, a piece at a time
                piece = handle.readline(_SKIP_PIECE)
                if not piece or piece.endswith(b"\n"):
                    break
            yield lineno, None
            continue
        yield lineno, line


def _decode(line: bytes, location: str) -> str | CaseError:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return CaseError(
            location=location,
            message=f"not valid UTF-8 (byte 0x{line[exc.start]:02x} at column {exc.start + 1}); "
                    "save the file as UTF-8 or fix the line",
        )


def checked(location: str, value: Any) -> RawTrace | CaseError:
    """A parsed trace, or the `CaseError` saying why its text cannot be stored."""
    problem = text_problem(value)
    if problem is None:
        return RawTrace(location, value)
    trace_id = value.get("id") if isinstance(value, dict) else None
    return CaseError(location=location, message=f"the trace {problem}; it was skipped",
                     trace_id=str(trace_id)[:200] if isinstance(trace_id, (str, int)) and text_problem(trace_id) is None else None)


def _jsonl_parser() -> Callable[[bytes, str], RawTrace | CaseError]:
    """``parse(line, location)``: orjson's parser (~2-3x the standard library's), with the standard library's answer where they differ.

    orjson reads the line's bytes as they are (no decoding first) and refuses
    bytes that are not UTF-8, NaN, lone surrogates and nesting past 1,024
    levels, which the standard library reads (or fails on with its own
    messages): those lines are decoded and parsed again by it.  orjson reads
    an integer beyond 64 bits as a float: a trace id like that is read again
    too.  A line orjson read needs no walk through its strings (`checked`):
    it holds no lone surrogate, orjson lets none through an escape nor a raw
    control character, so a NUL can only come from the escape ``\\u0000``.
    Its brackets bound how deep it nests (`RawTrace.nesting`).
    """
    import orjson

    strict, refused = orjson.loads, orjson.JSONDecodeError

    def parse(line: bytes, location: str) -> RawTrace | CaseError:
        try:
            obj = strict(line)
        except refused:
            pass
        else:
            if not (type(obj) is dict and type(obj.get("id")) is float):
                if b"\\u0000" in line:
                    return checked(location, obj)
                return RawTrace(location, obj, line.count(b"[") + line.count(b"{"))
        text = _decode(line, location)
        if isinstance(text, CaseError):
            return text
        value = _parse(text, location)
        return value if isinstance(value, CaseError) else checked(location, value)

    return parse


def _parse(text: str, location: str) -> object:
    try:
        return json.loads(text)
    except RecursionError:
        return CaseError(location=location, message="the JSON nests too deeply to read; the line was skipped")
    except ValueError as exc:
        msg = getattr(exc, "msg", str(exc))
        col = getattr(exc, "colno", None)
        where = f" at column {col}" if col else ""
        return CaseError(location=location, message=f"invalid JSON ({msg}{where}); fix or remove the line")


def jsonl_traces(handle: IO[bytes], path: str, max_bytes: int, first: int = 1) -> Iterator[RawTrace | CaseError]:
    """One trace per line (``first``: the number of the first line, for a partition of a file)."""
    skip_bom(handle)
    parse = _jsonl_parser()
    for lineno, line in bounded_lines(handle, path, max_bytes, first):
        if line is None:
            yield _too_long(path, lineno, max_bytes)
            continue
        if line.isspace():  # a blank line (no copy of the line, as strip() made)
            continue
        yield parse(line, f"{path}:{lineno}")


# -- CSV -------------------------------------------------------------------------------
def csv_traces(handle: IO[bytes], path: str, max_bytes: int, first: int = 1) -> Iterator[RawTrace | CaseError]:
    """A header row, then one trace per record; cells that hold JSON (metadata) are parsed."""
    skip_bom(handle)
    long_lines: set[int] = set()

    def text_lines() -> Iterator[str]:
        for lineno, line in bounded_lines(handle, path, max_bytes):
            if line is None:
                long_lines.add(lineno)
                yield "\n"
            else:
                # Bytes that are not UTF-8 become lone surrogates, which the
                # case builder reports for this record only.
                yield line.decode("utf-8", "surrogateescape")

    reader = csv.reader(text_lines())
    header: Optional[list[str]] = None
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield CaseError(location=f"{path}:{start}", message=f"unreadable CSV record ({exc}); it was skipped")
            continue
        end = reader.line_num
        location = f"{path}:{start}"
        if any(start <= n <= end for n in long_lines):
            yield _too_long(path, start, max_bytes, "record")
            continue
        if header is None:
            header = [h.strip() for h in row]
            if not any(header):
                header = None
            continue
        if not row or row == [""]:
            continue
        if len(row) > len(header):
            yield CaseError(location=location, message=f"the record has {len(row)} cells but the header has {len(header)} columns")
            continue
        data = {key: (cell if cell != "" else None) for key, cell in zip(header, row) if key}
        meta = data.get("metadata")
        if isinstance(meta, str):
            parsed = _parse(meta, location)
            if isinstance(parsed, CaseError) or not isinstance(parsed, dict):
                yield CaseError(location=location, message="column 'metadata' is not a JSON object; fix the cell")
                continue
            data["metadata"] = parsed
        yield checked(location, data)
    if header is None:
        yield CaseError(location=f"{path}:1", message="the CSV file has no header row (column names such as id, input, output, expected)")


# -- one JSON array, streamed ----------------------------------------------------------
_WS = re.compile(r"[ \t\r\n]*")
_SPECIAL = re.compile(r'[\[\]{}",\\]')
_DECODER = json.JSONDecoder()


class _Text:
    """Decoded text of a stream in a sliding window, with line numbers for positions in it."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.line = 1  # line of self.pos

    def more(self) -> bool:
        """Read another piece; False at the end of the stream."""
        if self.eof:
            return False
        chunk = self.handle.read(_SKIP_PIECE)
        self.eof = not chunk
        self.buf += self.decoder.decode(chunk, final=self.eof)
        return bool(chunk) or len(self.buf) > self.pos

    def advance(self, to: int) -> None:
        self.line += self.buf.count("\n", self.pos, to)
        self.pos = to
        if self.pos > _SKIP_PIECE:  # drop what is consumed, so the window stays small
            self.buf = self.buf[self.pos:]
            self.pos = 0

    def skip_ws(self) -> Optional[str]:
        """The next non-blank character (not consumed), or None at the end."""
        while True:
            end = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            self.advance(end)
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return None


def _skip_value(text: _Text) -> bool:
    """Move past the value at ``text.pos`` without keeping it; False if the stream ends inside it."""
    depth, in_string, i = 0, False, text.pos
    while True:
        if i - text.pos > _SKIP_PIECE:  # let go of what is skipped: memory stays bounded
            text.advance(i)
            i = text.pos
        match = _SPECIAL.search(text.buf, i)
        if match is None:
            text.advance(len(text.buf))
            i = text.pos
            if not text.more():
                return False
            continue
        ch, i = match.group(), match.end()
        if in_string:
            if ch == "\\":
                if i >= len(text.buf):
                    text.advance(i - 1)
                    i = text.pos
                    if not text.more():
                        return False
                    i += 1
                else:
                    i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth <= 0:
                text.advance(i if depth == 0 else i - 1)
                return True
        elif ch == "," and depth == 0:
            text.advance(i - 1)
            return True


def json_traces(handle: IO[bytes], path: str, max_bytes: int, first: int = 1) -> Iterator[RawTrace | CaseError]:
    """The elements of one top-level JSON array, or JSON values one after another; streamed."""
    skip_bom(handle)
    text = _Text(handle)
    first = text.skip_ws()
    in_array = first == "["
    if in_array:
        text.advance(text.pos + 1)
    count = 0
    while True:
        ch = text.skip_ws()
        if ch is None:
            if in_array:
                yield CaseError(location=f"{path}:{text.line}", message="the JSON array is not closed with ']'; the file may be cut short")
            return
        if in_array and ch == "]":
            return
        if in_array and count and ch == ",":
            text.advance(text.pos + 1)
            ch = text.skip_ws()
            if ch is None:
                continue
        count += 1
        location = f"{path}:{text.line}"
        while True:
            try:
                value, end = _DECODER.raw_decode(text.buf, text.pos)
            except RecursionError:
                problem = "the JSON nests too deeply to read"
            except json.JSONDecodeError as exc:
                room = len(text.buf) - text.pos < max_bytes
                at_end = exc.pos >= len(text.buf) - 6 or exc.msg.startswith("Unterminated string")
                if at_end and room and text.more():
                    continue  # the element goes on past what is read so far
                problem = "too long" if not room else f"invalid JSON ({exc.msg})"
            else:
                if end >= len(text.buf) and not text.eof and len(text.buf) - text.pos < max_bytes and text.more():
                    continue  # a number may go on in the next piece
                too_long = end - text.pos > max_bytes
                text.advance(end)
                yield _too_long(path, int(location.rsplit(":", 1)[1]), max_bytes, "trace") if too_long else checked(location, value)
                break
            if problem == "too long":
                yield _too_long(path, int(location.rsplit(":", 1)[1]), max_bytes, "trace")
            else:
                yield CaseError(location=location, message=f"{problem}; the trace was skipped")
            start = (text.line, len(text.buf) - text.pos)
            if not _skip_value(text):
                return
            if (text.line, len(text.buf) - text.pos) == start:
                text.advance(text.pos + 1)  # a stray ',', ']' or '}': step over it, always making progress
            break
        if not in_array:
            continue
