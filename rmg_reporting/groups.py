"""Breakdowns: each score's figures per group of traces (``--group-by metadata.app``).

Per breakdown field, per group value, per score it keeps the numeric values
(8 bytes each), the error and not-applicable counts, and how many traces
fell in the group.  At most `MAX_GROUPS` values are kept per field; traces
with further values are counted together under `OTHER_GROUP`, so a field
with a trace id in it cannot exhaust memory.  A group with fewer than
``small_group`` scored cases is marked ``small``: shown, never hidden, but
its figures rest on too few cases to act on.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from rmg_core import EvalCase, ScoreRecord

from .settings import MAX_GROUPS, OTHER_GROUP, ReportSettings, group_label, metadata_value
from .stats import ValueStore, describe, pass_rate

#: Raw values whose labels are remembered per field (the rest are worked out each time).
_KNOWN_LABELS = 1000
#: Up to this many values a group's interval is a bootstrap; above it, normal (groups are many, time is short).
GROUP_BOOTSTRAP_MAX_N = 500


class _Cell:
    """One group's figures for one score."""

    __slots__ = ("values", "errors", "not_applicable")

    def __init__(self) -> None:
        self.values = ValueStore()
        self.errors = 0
        self.not_applicable = 0


class _Group:
    __slots__ = ("cases", "scores")

    def __init__(self) -> None:
        self.cases = 0
        self.scores: dict[str, _Cell] = {}

    def cell(self, name: str) -> _Cell:
        cell = self.scores.get(name)
        if cell is None:
            cell = self.scores[name] = _Cell()
        return cell


class GroupCollector:
    """A chunk observer gathering every breakdown field's groups."""

    def __init__(self, settings: ReportSettings) -> None:
        self.settings = settings
        self.fields = list(settings.group_by)
        self.groups: list[dict[str, _Group]] = [{} for _ in self.fields]
        self._keys = [path.split(".")[1:] for path in self.fields]
        self._known: list[dict[str, str]] = [{} for _ in self.fields]

    def labels(self, case: Optional[EvalCase]) -> list[str]:
        """The group of ``case`` under each field (an unkept value is `OTHER_GROUP`)."""
        out = []
        for groups, keys, known in zip(self.groups, self._keys, self._known):
            value = metadata_value(case, keys)
            # Labels of string values are remembered (bounded): most traces repeat a few app names.
            label = known.get(value) if type(value) is str else None
            if label is None:
                label = group_label(value)
                if type(value) is str and len(known) < _KNOWN_LABELS:
                    known[value] = label
            if label not in groups and len(groups) >= MAX_GROUPS:
                label = OTHER_GROUP
            out.append(label)
        return out

    def __call__(self, cases: Sequence[EvalCase], records: Sequence[ScoreRecord]) -> None:
        if not self.fields:
            return
        row_of: dict[str, tuple[_Group, ...]] = {}
        for case in cases:
            row = []
            for groups, label in zip(self.groups, self.labels(case)):
                group = groups.get(label)
                if group is None:
                    group = groups[label] = _Group()
                group.cases += 1
                row.append(group)
            row_of[case.id] = tuple(row)
        # Values are bucketed by row (the combination of a trace's groups: few distinct ones) and handed to
        # each group's array in bulk, so a record costs two dictionary lookups whatever the number of fields.
        buckets: dict[tuple[str, tuple[_Group, ...]], list[Any]] = {}
        name: Optional[str] = None
        for record in records:
            row = row_of.get(record.trace_id)
            if row is None:
                continue
            name = record.name
            bucket = buckets.get((name, row))
            if bucket is None:
                bucket = buckets[(name, row)] = [[], 0, 0]
            value = record.value
            if type(value) is float or isinstance(value, int) and not isinstance(value, bool):
                bucket[0].append(value)
            elif record.kind == "error":
                bucket[1] += 1
            elif record.kind == "not_applicable":
                bucket[2] += 1
        for (score, row), (values, errors, not_applicable) in buckets.items():
            for group in row:
                cell = group.cell(score)
                cell.values.raw.extend(values)
                cell.errors += errors
                cell.not_applicable += not_applicable

    def breakdowns(self) -> list[dict[str, Any]]:
        """Per field, each group (largest first) with each score's count, mean and interval, and pass rate."""
        out = []
        thresholds = self.settings.thresholds
        for path, groups in zip(self.fields, self.groups):
            rows = []
            for label, group in sorted(groups.items(), key=lambda kv: (-kv[1].cases, kv[0])):
                scores: dict[str, Any] = {}
                small = False
                for name, cell in group.scores.items():
                    d = describe(cell.values, errors=cell.errors, max_bootstrap_n=GROUP_BOOTSTRAP_MAX_N, resamples=1000)
                    row: dict[str, Any] = {
                        "scored": d.scored, "errors": d.errors, "not_applicable": cell.not_applicable,
                        "mean": d.mean, "ci_low": d.ci_low, "ci_high": d.ci_high, "small": d.scored < self.settings.small_group,
                    }
                    if name in thresholds:
                        row.update(pass_rate(cell.values, thresholds[name]).as_dict())
                    small = small or row["small"]
                    scores[name] = row
                rows.append({"group": label, "cases": group.cases, "small": small, "scores": scores})
            out.append({"field": path, "groups": rows, "small_group": self.settings.small_group})
        return out
