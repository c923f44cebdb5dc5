"""The local source against hostile bytes: every bad trace is a CaseError naming file and line; the rest are read."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmg_core import CaseError, EvalCase, SourceError, to_text
from rmg_local.source import LocalFileSource

DEEP = "[" * 1000 + "]" * 1000


def collect(source: LocalFileSource) -> list[EvalCase | CaseError]:
    async def run() -> list[EvalCase | CaseError]:
        return [item async for item in source.cases()]

    return asyncio.run(run())


def good(i: int) -> bytes:
    return json.dumps({"id": f"ok{i}", "input": "q", "output": "a", "expected": "a"}).encode() + b"\n"


def split(items: list[EvalCase | CaseError]) -> tuple[list[str], list[str]]:
    return [c.id for c in items if isinstance(c, EvalCase)], [str(c) for c in items if isinstance(c, CaseError)]


@pytest.mark.parametrize("bad, why", [
    (b'{"id": "x", "output": ' + DEEP.encode() + b"}\n", "nest"),
    (b'{"id": "x", "output": "\\ud800"}\n', "surrogate"),
    (b'{"id": "x", "output": "a\\u0000b"}\n', "NUL"),
    (b'{"id": "x", "metadata": {"k\\u0000": 1}}\n', "NUL"),
    (b'{"id": "x", "output": "\\udfff"}\n', "surrogate"),
    (b'{"id": "x", "output": "caf\xe9"}\n', "UTF-8"),
    (b'{"id": "x", "output": "' + b"a" * 5000 + b'"}\n', "max_trace_bytes"),
    (b"{oops\n", "invalid JSON"),
])
def test_a_bad_jsonl_line_is_one_case_error_naming_file_and_line(tmp_path: Path, bad: bytes, why: str) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(good(1) + bad + good(2))
    ids, errors = split(collect(LocalFileSource(path=str(path), max_trace_bytes=4096)))
    assert ids == ["ok1", "ok2"]
    assert len(errors) == 1 and errors[0].startswith(f"{path}:2") and why in errors[0], errors


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(tmp_path: Path) -> None:
    """The fast reader re-checks a line whose text holds ``\\u0000``: here a backslash, then ``u0000``, is fine."""
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"id": "x", "output": "a\\\\u0000b"}\n')
    [case] = collect(LocalFileSource(path=str(path)))
    assert isinstance(case, EvalCase) and case.output == "a\\u0000b"


def test_deep_nesting_written_by_a_user_is_graded_as_text(tmp_path: Path) -> None:
    """The issue's 2 KB output of 1,000 '[' then 1,000 ']' as a *string*: read, and reduced to text, no RecursionError."""
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"id": "deep", "input": DEEP, "output": DEEP, "expected": "x"}) + "\n")
    [case] = collect(LocalFileSource(path=str(path)))
    assert isinstance(case, EvalCase) and case.output == DEEP and to_text(case.output) == DEEP


def test_bom_and_crlf_cost_nothing(tmp_path: Path) -> None:
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + good(1).replace(b"\n", b"\r\n") + good(2).replace(b"\n", b"\r\n"))
    assert split(collect(LocalFileSource(path=str(jsonl)))) == (["ok1", "ok2"], [])
    csv_path = tmp_path / "t.csv"
    csv_path.write_bytes(b"\xef\xbb\xbfid,input,output\r\na,q,x\r\nb,q,y\r\n")
    assert split(collect(LocalFileSource(path=str(csv_path)))) == (["a", "b"], [])


def test_csv_bad_records_are_errors_and_the_rest_is_read(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    big = b"x" * (200 * 1024)
    path.write_bytes(
        b"id,input,output\n"
        b"a,q,x\n"
        b'b,q,"' + big + b'"\n'
        b"c,q,caf\xe9\n"
        b"d,q,a\x00b\n"
        b"e,q,y\n"
    )
    ids, errors = split(collect(LocalFileSource(path=str(path))))
    assert ids == ["a", "e"]
    assert [e.split(":")[1].split()[0] for e in errors] == ["3", "4", "5"], errors
    assert "field larger than field limit" in errors[0] and "not UTF-8" in errors[1] and "NUL" in errors[2]


def test_a_json_array_is_streamed_and_a_bad_element_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('[\n {"id": "a", "output": "x"},\n {"id": "b", "output": ' + DEEP + '},\n'
                    ' {"id": "c", "output": "' + "y" * 5000 + '"},\n {"id": "d", "output": "z"}\n]\n')
    ids, errors = split(collect(LocalFileSource(path=str(path), max_trace_bytes=4096)))
    assert ids == ["a", "d"]
    assert [e.split(":")[1].split()[0] for e in errors] == ["3", "4"], errors
    assert "deep" in errors[0] and "max_trace_bytes" in errors[1]


def test_binary_input_stops_with_a_source_error_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "zeros.jsonl"
    path.write_bytes(b"\x00" * (64 * 1024))
    with pytest.raises(SourceError, match="binary"):
        collect(LocalFileSource(path=str(path), max_trace_bytes=4096))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_yield_only_cases_and_case_errors(data: bytes) -> None:
    import tempfile

    for suffix in (".jsonl", ".csv", ".json"):
        with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
            handle.write(data)
            handle.flush()
            try:
                items = collect(LocalFileSource(path=handle.name, max_trace_bytes=1024))
            except SourceError:
                continue  # binary input refused as a whole, with a message
            assert all(isinstance(i, (EvalCase, CaseError)) for i in items)
            for case in items:
                if isinstance(case, EvalCase):
                    json.dumps(case.model_dump(mode="json"), ensure_ascii=False).encode("utf-8")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(json_values, max_size=5))
def test_arbitrary_json_yields_only_cases_and_case_errors_and_text_always_reduces(values: list) -> None:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8", errors="surrogatepass") as handle:
        for value in values:
            handle.write(json.dumps(value) + "\n")
            assert isinstance(to_text(value), str) and isinstance(to_text(value, "input"), str)
        handle.flush()
        items = collect(LocalFileSource(path=handle.name))
    assert all(isinstance(i, (EvalCase, CaseError)) for i in items)
    assert len(items) == len(values)
