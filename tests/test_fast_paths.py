"""The pipeline's fast paths give what the plain ones gave: records, statistics, JSONL in and out.

Records are built a column at a time (`ScoreColumn.records`) or kept as columns
(`ScoreRecords`, read by the JSONL sink and the report collector without building
a record), statistics are counted a run at a time (`ScoreStats.add_all`,
`ScoreStats.add_run`), the local source
parses with orjson and the local sink writes with orjson.  The JSONL output's
documented differences from the standard library's encoding (docs/performance.md)
are pinned here.
"""

from __future__ import annotations

import asyncio
import enum
import json
import math
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from rmg_core import GraderError, GraderRank, GraderScore, ResultColumns, ScoreRecord, ScoreRecords, score_id
from rmg_core.records import SCORE_ID_NAMESPACE, ScoreColumn, score_ids
from rmg_core.summary import ScoreStats
from rmg_local.sink import LocalFileSink, json_line, record_row
from rmg_local.source import LocalFileSource

WHEN = datetime(2025, 3, 3, 8, 5, 36, 93000, tzinfo=timezone(timedelta(hours=1)))
RESULTS = [
    GraderScore(score=0.25, reason="close", metadata={"algorithm": "cosine"}),
    GraderScore(score=1.0),
    GraderRank(rank=2, reason="second"),
    GraderRank(rank=[2, 1, 3]),
    GraderError(error="judge timed out", metadata={"timeout": 3}),
]


def column_records() -> list[ScoreRecord]:
    n = len(RESULTS)
    return ScoreColumn("quality", "aggregator", "judge", "2", "f" * 16).records(
        RESULTS, [f"t{i}" for i in range(n)], [None, "obs", None, "", None], [WHEN, None, WHEN, WHEN, None]
    )


def test_column_records_equal_validated_records() -> None:
    built = column_records()
    expected = [
        ScoreRecord(trace_id="t0", name="quality", value=0.25, data_type="NUMERIC", comment="close",
                    score_id=score_id("t0", "quality"), timestamp=WHEN, component="aggregator", grader="judge",
                    grader_version="2", config_fingerprint="f" * 16, metadata={"algorithm": "cosine"}),
        ScoreRecord(trace_id="t1", observation_id="obs", name="quality", value=1.0, data_type="NUMERIC",
                    score_id=score_id("t1", "quality", "obs"), component="aggregator", grader="judge",
                    grader_version="2", config_fingerprint="f" * 16),
        ScoreRecord(trace_id="t2", name="quality", value=2, data_type="NUMERIC", comment="second", kind="rank",
                    score_id=score_id("t2", "quality"), timestamp=WHEN, component="aggregator", grader="judge",
                    grader_version="2", config_fingerprint="f" * 16),
        ScoreRecord(trace_id="t3", observation_id="", name="quality", value="2,1,3", data_type="CATEGORICAL",
                    kind="rank", score_id=score_id("t3", "quality"), timestamp=WHEN, component="aggregator",
                    grader="judge", grader_version="2", config_fingerprint="f" * 16),
        ScoreRecord(trace_id="t4", name="quality", kind="error", error="judge timed out",
                    score_id=score_id("t4", "quality"), component="aggregator", grader="judge", grader_version="2",
                    config_fingerprint="f" * 16, metadata={"timeout": 3}),
    ]
    assert built == expected
    assert [r.model_dump() for r in built] == [r.model_dump() for r in expected]
    # Records stay ordinary pydantic models for sinks: copies, dumps and attribute writes work.
    copy = built[0].model_copy(update={"value": 0.5})
    assert copy.value == 0.5 and built[0].value == 0.25
    assert built[0].model_fields_set == set(ScoreRecord.model_fields)  # as model_construct gave them
    built[1].comment = "edited"
    assert built[1].comment == "edited" and built[2].comment == "second"


def test_score_ids_are_uuid5_in_one_pass() -> None:
    traces = [f"trace-{i}-é" for i in range(300)]
    observations = [None if i % 3 else f"obs-{i}" for i in range(300)]
    assert score_ids("relevance", traces, observations) == [
        str(uuid.uuid5(SCORE_ID_NAMESPACE, f"{t}\x1f{o or ''}\x1frelevance")) for t, o in zip(traces, observations)
    ]


def test_stats_of_a_run_equal_stats_counted_one_by_one() -> None:
    records = column_records() * 3
    one_by_one, at_once = ScoreStats("quality"), ScoreStats("quality")
    for record in records:
        one_by_one.add(record)
    at_once.add_all(records[:7])
    at_once.add_all(records[7:])
    at_once.add_all([])
    assert at_once == one_by_one
    assert (at_once.scored, at_once.errors, at_once.skipped) == (9, 3, 3)
    assert at_once.total == 0.25 + 1.0 + 2 + 0.25 + 1.0 + 2 + 0.25 + 1.0 + 2
    assert (at_once.minimum, at_once.maximum) == (0.25, 2)


class Colour(enum.Enum):
    RED = "red"


def stdlib_line(row: dict[str, Any]) -> str:
    """What the sink wrote before it used orjson."""
    return json.dumps(row, ensure_ascii=False, default=str)


def test_jsonl_lines_hold_the_same_json_as_before_without_spaces() -> None:
    for record in column_records():
        row = record_row(record)
        line = json_line(row)
        assert json.loads(line) == json.loads(stdlib_line(row))
        # The one documented difference for every line: compact separators.
        assert line == json.dumps(json.loads(stdlib_line(row)), ensure_ascii=False, separators=(",", ":"))
    assert json_line({"a": 0.00001, "b": "é€😀", "c": [1, 2]}) == '{"a":0.00001,"b":"é€😀","c":[1,2]}'


def test_jsonl_metadata_values_json_has_no_type_for() -> None:
    np = pytest.importorskip("numpy")
    row = {
        "when": datetime(2025, 1, 1, tzinfo=timezone.utc),  # str(), as before
        "id": uuid.UUID(int=5), "set": {1}, 3: "int key", None: "null key",
        "f64": np.float64(0.5), "i64": np.int64(4), "array": np.array([1, 2]),  # numbers, not their str()
        "enum": Colour.RED,  # its value, not "Colour.RED"
        "nan": math.nan, "inf": math.inf,  # null: the standard library wrote NaN, which is not JSON
    }
    assert json.loads(json_line(row)) == {
        "when": "2025-01-01 00:00:00+00:00", "id": "00000000-0000-0000-0000-000000000005", "set": "{1}",
        "3": "int key", "null": "null key", "f64": 0.5, "i64": 4, "array": [1, 2], "enum": "red",
        "nan": None, "inf": None,
    }
    # Beyond orjson: the whole line is written by the standard library, ASCII-escaped and compact.
    assert json_line({"huge": 2 ** 70, "é": "é"}) == '{"huge":1180591620717411303424,"\\u00e9":"\\u00e9"}'
    assert json_line({"s": "\ud800"}) == '{"s":"\\ud800"}'
    json_line({"s": "\ud800"}).encode("utf-8")  # the line can be written as UTF-8


def test_sink_writes_a_file_every_reader_parses(tmp_path: Path) -> None:
    out = tmp_path / "scores.jsonl"
    records = column_records()
    records[0].metadata["bad"] = "\ud800"  # a lone surrogate from a trace must not lose the batch

    async def go() -> Any:
        sink = LocalFileSink(path=str(out))
        await sink.open()
        report = await sink.write(records)
        await sink.close()
        return report

    report = asyncio.run(go())
    assert report.written == len(records) and not report.failed
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["score_id"] for line in lines] == [r.score_id for r in records]
    assert json.loads(lines[0])["timestamp"] == WHEN.isoformat() == "2025-03-03T08:05:36.093000+01:00"
    assert json.loads(lines[0])["metadata"] == {
        "algorithm": "cosine", "bad": "\ud800", "component": "aggregator", "grader": "judge",
        "grader_version": "2", "config_fingerprint": "f" * 16,
    }


def test_sink_counts_skipped_errors_once(tmp_path: Path) -> None:
    out = tmp_path / "scores.jsonl"

    async def go() -> Any:
        sink = LocalFileSink(path=str(out), write_errors=False)
        report = await sink.write(column_records())
        await sink.close()
        return report

    report = asyncio.run(go())
    assert (report.written, report.skipped) == (4, 1) and len(out.read_text().splitlines()) == 4


def test_source_reads_what_orjson_refuses_as_the_standard_library_does(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"id": "nan", "input": "q", "output": "a", "metadata": {"latency": NaN}}\n'
        '{"id": "surrogate", "input": "\\ud800", "output": "a"}\n'
        '{"id": 123456789012345678901234567890, "input": "q", "output": "a"}\n'
        '{"id": "plain", "input": "q", "output": "a", "expected": "a"}\n'
        '{"id": "cut", "input": \n',
        encoding="utf-8",
    )

    async def go() -> list[Any]:
        return [item async for item in LocalFileSource(path=str(path)).cases()]

    nan, surrogate, big, plain, cut = asyncio.run(go())
    assert math.isnan(nan.metadata["latency"])
    # A lone surrogate is not storable text: a per-trace error naming file and line (issue 11), not a crash later.
    assert str(surrogate).startswith(f"{path}:2") and "lone UTF-16 surrogate" in str(surrogate)
    assert big.id == "123456789012345678901234567890"  # not a float: ids are exact
    assert plain.expected == "a"
    assert str(cut).startswith(f"{path}:5: invalid JSON (Expecting value")  # the standard library's message


def column_run(n_copies: int = 1) -> ScoreRecords:
    """`column_records` as the pipeline hands them over: runs of columns (two runs, the second renamed)."""
    n = len(RESULTS) * n_copies
    ids = [f"t{i}" for i in range(n)], [None, "obs", None, "", None] * n_copies, [WHEN, None, WHEN, WHEN, None] * n_copies
    return ScoreRecords([ScoreColumn("quality", "aggregator", "judge", "2", "f" * 16).run(ResultColumns.of(RESULTS * n_copies), *ids),
                         ScoreColumn("other", "grader", "g", "1", "e" * 16).run(ResultColumns.of(RESULTS * n_copies), *ids)])


def test_score_records_read_as_the_records_they_hold() -> None:
    batch = column_run()
    listed = column_records() + ScoreColumn("other", "grader", "g", "1", "e" * 16).records(
        RESULTS, [f"t{i}" for i in range(5)], [None, "obs", None, "", None], [WHEN, None, WHEN, WHEN, None])
    assert len(batch) == 10 and batch == listed and list(batch) == listed and batch[3] == listed[3]
    assert batch[-2:] == listed[-2:] and repr(batch).startswith("ScoreRecords([ScoreRecord(")
    assert [batch.runs[1].record(i) for i in range(5)] == listed[5:]
    assert batch.without("error") == [r for r in listed if r.kind != "error"]
    assert batch.without("not_applicable").runs == batch.runs  # nothing to drop: the same runs
    stats, expected = ScoreStats("quality"), ScoreStats("quality")
    stats.add_run(batch.runs[0])
    expected.add_all(listed[:5])
    assert stats == expected and (stats.scored, stats.errors, stats.skipped) == (3, 1, 1)


@pytest.mark.parametrize("write_errors", [True, False])
def test_sink_writes_score_records_as_it_writes_their_records(tmp_path: Path, write_errors: bool) -> None:
    batch = column_run(3)
    batch.runs[0].results.metadata[1] = {"component": "mine", "z": 1, 7: "int key"}  # the identity overrides, in place
    batch.runs[0].results.metadata[2] = loop = {"k": 1}  # no JSON for a cycle: this score fails alone
    loop["self"] = loop
    batch.runs[1].results.metadata[0] = {"huge": 2 ** 70, "when": WHEN}

    async def write(records: Any, path: Path) -> Any:
        sink = LocalFileSink(path=str(path), write_errors=write_errors)
        report = await sink.write(records)
        await sink.close()
        return report

    fast, plain = asyncio.run(write(batch, tmp_path / "a.jsonl")), asyncio.run(write(list(batch), tmp_path / "b.jsonl"))
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert fast == plain and fast.written == (29 if write_errors else 23) and fast.skipped == (0 if write_errors else 6)
    assert [(f.score_id, f.trace_id, f.name) for f in fast.failed] == [(batch[2].score_id, "t2", "quality")]
    assert json.loads((tmp_path / "a.jsonl").read_text().splitlines()[1])["metadata"] == {
        "component": "aggregator", "z": 1, "7": "int key", "grader": "judge", "grader_version": "2",
        "config_fingerprint": "f" * 16}


def test_report_collector_reads_score_records_as_their_records() -> None:
    from rmg_core import EvalCase
    from rmg_reporting.collector import RunCollector

    batch = column_run(3)
    cases = [EvalCase(id=f"t{i}", input=f"question {i}", output="answer") for i in range(15)]
    fast, plain = RunCollector(worst=4), RunCollector(worst=4)
    fast(cases, batch)
    plain(cases, list(batch))
    for name in ("quality", "other"):
        a, b = fast.scores[name], plain.scores[name]
        assert a.values.raw == b.values.raw and len(a.values.raw) == 9
        assert (a.errors, a.non_numeric, a.component) == (b.errors, b.non_numeric, b.component) == (3, 3, b.component)
        assert [e.as_dict() for e in a.grouped_errors()] == [e.as_dict() for e in b.grouped_errors()]
        assert [w.as_dict() for w in a.worst_cases()] == [w.as_dict() for w in b.worst_cases()]
        assert a.worst_cases()[0].input == "question 0"
