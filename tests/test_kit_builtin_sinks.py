"""The built-in local sink passes the kit's sink conformance check, in JSONL and CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Mapping

import pytest

import rmg_local
from rmg_kit import check_sink
from rmg_local.sink import LocalFileSink


def _read(settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    path = Path(settings["path"])
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("filename", ["scores.jsonl", "scores.csv"])
@pytest.mark.parametrize("write_errors", [True, False])
def test_local_sink_conforms(tmp_path: Path, filename: str, write_errors: bool) -> None:
    report = check_sink(
        LocalFileSink, {"path": str(tmp_path / filename), "write_errors": write_errors},
        read_back=_read, plugin=rmg_local,
        invalid_settings=[{"format": "xml"}, {"write_errors": "sometimes"}],
        unwritable_settings={"path": str(tmp_path / "missing" / filename)},
    )
    assert "exactly once (re-run of the same scores)" in report.checked
    assert "unwritable destination is a SinkError" in report.checked
