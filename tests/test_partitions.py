"""Partitioned local JSONL: byte ranges aligned to line ends read every line exactly once, with exact line numbers."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmg_core import ConfigError, EvalCase
from rmg_local.partitions import byte_ranges, line_breaks
from rmg_local.source import LocalFileSource

_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
_line = st.one_of(
    st.builds(lambda i, t: json.dumps({"id": f"t{i}", "input": t, "output": t + "é", "expected": "日本"}, ensure_ascii=False),
              st.integers(0, 10**6), _text),
    st.sampled_from(["", "   ", "\t"]),                                  # blank lines: skipped, still numbered
    st.builds(lambda t: "{not json " + t, _text),                         # a CaseError naming file:line
)


def _write_lines(directory: str, lines: list[str], separators: list[str], final_newline: bool) -> str:
    """``directory``/traces.jsonl holding ``lines``, each ended by its separator (the last one's dropped unless ``final_newline``)."""
    text = "".join(line + sep for line, sep in zip(lines, separators))
    if lines and not final_newline:
        text = text[: -len(separators[len(lines) - 1])]
    path = os.path.join(directory, "traces.jsonl")
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return path


def _read(source: LocalFileSource) -> list[Any]:
    async def go() -> list[Any]:
        out: list[Any] = []
        async for item in source.cases():
            out.append(("case", item.id, item.input) if isinstance(item, EvalCase) else ("error", item.location, item.message))
        return out
    return asyncio.run(go())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(_line, max_size=25),
    separators=st.lists(st.sampled_from(["\n", "\r\n", "\r\n", "\n", "\r"]), min_size=25, max_size=25),
    final_newline=st.booleans(),
    target=st.integers(1, 4000),
)
def test_byte_ranges_read_every_line_once_in_order_with_its_line_number(
    lines: list[str], separators: list[str], final_newline: bool, target: int,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = _write_lines(tmp, lines, separators, final_newline)
        whole = LocalFileSource(path=path)
        expected = _read(whole)
        parts = list(byte_ranges(os.path.abspath(path), target))
        got = [item for part in parts for item in _read(whole.partition(part))]
        assert got == expected
        # The ranges tile the file: no byte read twice or skipped, each boundary just after a \n.
        data = open(path, "rb").read()
        assert [p["start"] for p in parts] == ([0] + [p["end"] for p in parts[:-1]] if parts else [])
        assert (parts[-1]["end"] if parts else 0) == len(data)
        assert all(data[p["end"] - 1:p["end"]] == b"\n" for p in parts[:-1])
        assert all(p["line"] == 1 + line_breaks(data[:p["start"]]) for p in parts)


def test_a_relative_path_and_units_of_cases(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    rows = [json.dumps({"id": str(i), "input": "q", "output": "a"}) for i in range(100)]
    (tmp_path / "t.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    source = LocalFileSource(path="t.jsonl")
    parts = list(source.partitions(30))
    cases = [p["cases"] for p in parts]
    assert sum(cases) == 100 and 28 <= cases[0] <= 32   # about 30 cases a part...
    assert cases == sorted(cases, reverse=True) and cases[-1] <= 30 // 8 + 1   # ...cut shorter towards the end
    assert [item[1] for p in parts for item in _read(source.partition(p))] == [str(i) for i in range(100)]


def test_sources_that_cannot_be_split_say_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "t.jsonl").write_text('{"id": "1"}\n', encoding="utf-8")
    (tmp_path / "t.csv").write_text("id,input\n1,q\n", encoding="utf-8")
    assert LocalFileSource(path=str(tmp_path / "t.jsonl"), limit=5).partitions(10) is None   # limit counts the whole file
    assert LocalFileSource(path=str(tmp_path / "t.csv")).partitions(10) is None             # a quoted field may hold a newline


def test_a_file_changed_after_partitioning_is_an_error_naming_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "1"}\n{"id": "2"}\n', encoding="utf-8")
    source = LocalFileSource(path=str(path))
    part = next(iter(source.partitions(1)))
    path.write_text('{"id": "1"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="changed while it was read"):
        _read(source.partition(part))


# -- the intake in front (rmg eval's normal case): mapping, where and sample applied on each part ------------
def _intake_items(source: Any) -> list[Any]:
    async def go() -> list[Any]:
        return [("case", c.id, c.input, c.output, c.expected) if isinstance(c, EvalCase) else ("error", c.location, c.message)
                async for c in source.cases()]
    return asyncio.run(go())


def _intake_parts(intake: Any, target: int) -> list[Any]:
    async def go() -> list[Any]:
        return [part async for part in intake.partitions(target)]
    return asyncio.run(go())


_ragas = st.builds(  # no ids (derived from content), keys to detect and map, a key to filter on
    lambda t, app: json.dumps({"user_input": t, "response": t + "é", "reference": "日本", "metadata": {"app": app}},
                              ensure_ascii=False),
    _text, st.sampled_from(["a", "b"]),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(st.one_of(_line, _ragas), max_size=25),
    separators=st.lists(st.sampled_from(["\n", "\r\n", "\n", "\r"]), min_size=25, max_size=25),
    final_newline=st.booleans(),
    target=st.integers(1, 40),
    where=st.sampled_from([{}, {"metadata.app": "a"}]),
    sample=st.sampled_from([None, 0.5]),
)
def test_intake_parts_build_the_same_cases_as_one_process(
    lines: list[str], separators: list[str], final_newline: bool, target: int, where: dict[str, str], sample: Any,
) -> None:
    from rmg_executors.units import narrowed
    from rmg_intake.intake import Intake, Selection

    with tempfile.TemporaryDirectory() as tmp:
        path = _write_lines(tmp, lines, separators, final_newline)

        def intake() -> Intake:
            return Intake(LocalFileSource(path=path), selection=Selection(where=where, sample=sample))

        whole = intake()
        expected = _intake_items(whole)
        driver = intake()
        got = []
        for part in _intake_parts(driver, target):  # target in cases: 1 case per part and up
            worker = narrowed(LocalFileSource(path=path), part)  # as a worker builds it: from the config
            got += _intake_items(worker)
            driver.add_partition_stats(worker.partition_stats())
        assert got == expected
        assert driver.partition_stats() == whole.partition_stats()  # so an empty run is explained alike
        assert (driver.plan, driver.synthesized_ids) == (whole.plan, whole.synthesized_ids)


def test_an_intake_with_a_limit_is_read_on_the_driver(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from rmg_intake.intake import Intake, Selection

    (tmp_path / "t.jsonl").write_text('{"id": "1"}\n', encoding="utf-8")
    assert Intake(LocalFileSource(path=str(tmp_path / "t.jsonl")), selection=Selection(limit=5)).partitions(10) is None
    assert Intake(LocalFileSource(path=str(tmp_path / "t.jsonl")), selection=Selection(sample=0.5)).partitions(10) is not None
