"""``--wide FILE``: one row per trace with its texts, chosen metadata and every score, for notebooks and spreadsheets.

Columns, in order: ``trace_id``, ``observation_id``, ``input``, ``prediction``,
``reference`` (reduced to text as graders see them, in full), one column per
chosen metadata field (``metadata.app``), then per score ``NAME`` (the value,
empty when there is none), ``NAME.error`` (the grader's error message),
``NAME.not_applicable`` (``true`` when the grader does not apply to the
trace) and ``NAME.reason``.  A ``.csv`` file gets those columns; a
``.jsonl`` file one object per line with the same keys.

Rows are written as each chunk is graded, to a temporary file beside
``FILE`` that is renamed into place when the run ends (`rmg_kit.AtomicFile`):
memory stays bounded, and a reader never sees a half-written file under the
final name.  In CSV, a text cell that a spreadsheet would run as a formula
is prefixed with ``'`` (`rmg_kit.spreadsheet_safe`).
"""

from __future__ import annotations

import csv
import json
from typing import Any, Optional, Sequence

from rmg_core import EvalCase, RmgError, ScoreRecord, answer_text, question_text
from rmg_kit import AtomicFile, spreadsheet_safe

from .settings import group_value


def wide_format(path: str) -> str:
    """``csv`` or ``jsonl`` from the file name; anything else is an `RmgError` saying how to name it."""
    lower = path.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    raise RmgError(f"--wide {path!r}: name the file .csv or .jsonl, e.g. --wide results.csv")


class WideExport:
    """A chunk observer writing one row per trace."""

    def __init__(self, path: str, scores: Sequence[str], metadata: Sequence[str]) -> None:
        self.path = path
        self.format = wide_format(path)
        self.scores = list(scores)
        self.metadata = list(metadata)
        self.columns = ["trace_id", "observation_id", "input", "prediction", "reference", *self.metadata]
        for name in self.scores:
            self.columns += [name, f"{name}.error", f"{name}.not_applicable", f"{name}.reason"]
        self.rows = 0
        self._file: Optional[AtomicFile] = None
        self._csv: Any = None

    def _open(self) -> None:
        self._file = AtomicFile(self.path, newline="" if self.format == "csv" else None)
        if self.format == "csv":
            self._csv = csv.DictWriter(self._file.handle, fieldnames=self.columns, extrasaction="ignore")
            self._csv.writeheader()

    def __call__(self, cases: Sequence[EvalCase], records: Sequence[ScoreRecord]) -> None:
        if self._file is None:
            self._open()
        rows: dict[tuple[str, Optional[str]], dict[str, Any]] = {}
        for case in cases:
            row: dict[str, Any] = {
                "trace_id": case.id, "observation_id": case.observation_id, "input": question_text(case.input),
                "prediction": answer_text(case.output), "reference": answer_text(case.expected),
            }
            for path in self.metadata:
                row[path] = group_value(case, path) if self.format == "csv" else _metadata(case, path)
            for name in self.scores:
                row[name] = None
                row[f"{name}.error"] = None
                row[f"{name}.not_applicable"] = False
                row[f"{name}.reason"] = None
            rows[(case.id, case.observation_id)] = row
        for record in records:
            row = rows.get((record.trace_id, record.observation_id))
            if row is None or record.name not in self.scores:
                continue
            name = record.name
            if record.kind == "not_applicable":
                row[f"{name}.not_applicable"] = True
                row[f"{name}.reason"] = record.error
            elif record.kind == "error":
                row[f"{name}.error"] = record.error
            else:
                row[name] = record.value
                row[f"{name}.reason"] = record.comment
        assert self._file is not None
        if self._csv is not None:
            self._csv.writerows({k: spreadsheet_safe(v) for k, v in row.items()} for row in rows.values())
        else:
            self._file.handle.writelines(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows.values())
        self.rows += len(rows)

    def close(self) -> None:
        """Flush and move the file to its final name (an empty run still gets its header); `OutputError` if impossible."""
        if self._file is None:
            self._open()
        assert self._file is not None
        self._file.commit()


def _metadata(case: EvalCase, path: str) -> Any:
    node: Any = case.metadata
    for key in path.split(".")[1:]:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node
