"""`rmg eval --wide`: one row per trace with its texts, metadata and every score, error and not-applicable flag."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from rmg_core import EvalCase, GraderScore, ScoreRecord, record_from_result, score_id
from rmg_core.cli import build_cli
from rmg_reporting.wide import WideExport


def traces(path: Path) -> Path:
    rows = []
    for i in range(12):
        row: dict[str, Any] = {"id": f"t{i}", "input": [{"role": "user", "content": f"q{i}"}], "output": "=HYPERLINK(\"x\")" if i == 0 else "x" * i,
                               "metadata": {"app": "a" if i % 2 else "b", "model": {"name": "m1"}}}
        if i % 3:
            row["expected"] = "x" * i
        rows.append(row)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_wide_csv_and_jsonl_from_rmg_eval(tmp_path: Path, test_host: Any) -> None:
    t = traces(tmp_path / "t.jsonl")
    for name in ("wide.csv", "wide.jsonl"):
        out = CliRunner().invoke(build_cli(test_host), [
            "eval", str(t), "-g", "exact", "-g", "length", "-a", "mean", "--group-by", "metadata.app",
            "--wide", str(tmp_path / name), "--wide-column", "metadata.model.name",
        ], obj=test_host)
        assert out.exit_code == 0, out.output
        assert f"wide export written to {tmp_path / name} (12 rows)" in out.stderr
        assert not [p for p in tmp_path.iterdir() if p.name.endswith((".tmp", ".partial"))]
    rows = list(csv.DictReader((tmp_path / "wide.csv").open(encoding="utf-8")))
    assert len(rows) == 12 and list(rows[0])[:7] == ["trace_id", "observation_id", "input", "prediction", "reference", "metadata.app", "metadata.model.name"]
    assert {"exact", "exact.error", "exact.not_applicable", "exact.reason", "mean", "length"} <= set(rows[0])
    by_id = {r["trace_id"]: r for r in rows}
    assert by_id["t0"]["prediction"] == "'=HYPERLINK(\"x\")"  # a formula stays text in a spreadsheet
    # No expected output: not applicable (issue 13), its message as the reason, no error.
    assert by_id["t3"]["exact"] == "" and by_id["t3"]["exact.error"] == "" and by_id["t3"]["exact.not_applicable"] == "True"
    assert "needs field 'reference'" in by_id["t3"]["exact.reason"]
    assert by_id["t4"]["exact"] == "1.0" and by_id["t4"]["input"] == "q4" and by_id["t4"]["metadata.app"] == "b"
    assert by_id["t4"]["metadata.model.name"] == "m1" and by_id["t4"]["length"] == "0.04"
    lines = [json.loads(line) for line in (tmp_path / "wide.jsonl").read_text().splitlines()]
    assert len(lines) == 12 and lines[3]["exact"] is None and lines[3]["exact.not_applicable"] is True
    assert lines[0]["prediction"] == "=HYPERLINK(\"x\")"  # JSON keeps text as it was


def test_not_applicable_is_a_flag_not_an_error(tmp_path: Path) -> None:
    export = WideExport(str(tmp_path / "w.jsonl"), ["sim"], [])
    case = EvalCase(id="t1", input="q", output="a")
    # The record kind helper `data` adds (issue 13); built unvalidated here so this test stands without it.
    na = ScoreRecord.model_construct(trace_id="t1", observation_id=None, name="sim", value=None, kind="not_applicable",
                                     error="no expected answer", comment=None, score_id=score_id("t1", "sim"))
    export([case], [na])
    other = EvalCase(id="t2", input="q", output="a")
    export([other], [record_from_result(GraderScore(score=0.5, reason="half"), trace_id="t2", name="sim", timestamp=None)])
    export.close()
    first, second = (json.loads(line) for line in (tmp_path / "w.jsonl").read_text().splitlines())
    assert first["sim"] is None and first["sim.not_applicable"] is True and first["sim.error"] is None
    assert second["sim"] == 0.5 and second["sim.reason"] == "half" and second["sim.not_applicable"] is False


def test_wide_needs_a_csv_or_jsonl_name(tmp_path: Path, test_host: Any) -> None:
    out = CliRunner().invoke(build_cli(test_host), ["eval", str(traces(tmp_path / "t.jsonl")), "-g", "exact", "--wide", str(tmp_path / "w.xlsx")], obj=test_host)
    assert out.exit_code == 2 and "name the file .csv or .jsonl" in out.stderr
