"""``check_sink`` and ``sample_records``: a sink checked the way the pipeline drives it."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from rmg_core import GraderError, GraderRank, GraderResult, GraderScore, ScoreRecord, Sink, SinkError, WriteReport, record_from_result, score_id

from .conformance import ConformanceReport, _check_identity, _check_registration, _check_settings_model, _Problems, _run

def sample_records(traces: int = 4, prefix: str = "conformance") -> list[ScoreRecord]:
    """Score records of every shape a sink receives, every score name for every trace.

    Per trace: a numeric score with a reason, an int rank, a listwise rank
    (CATEGORICAL), and a score that is a `GraderError` on odd traces; one trace
    has an observation id, one has no timestamp.
    """
    out = []
    for t in range(traces):
        trace = f"{prefix}-{t}"
        ts = None if t == 1 else datetime(2024, 5, 1, 12, t, tzinfo=timezone.utc)
        obs = "obs-1" if t == 2 else None
        results: dict[str, GraderResult] = {
            "quality": GraderScore(score=round(0.25 * t + 0.1, 3), reason=f"reason é {t}", metadata={"t": t}),
            "position": GraderRank(rank=t + 1),
            "ranking": GraderRank(rank=[(t + i) % 3 + 1 for i in range(3)]),
            "judge": GraderError(error=f"judge failed on {trace}") if t % 2 else GraderScore(score=1.0),
        }
        for name, result in results.items():
            out.append(record_from_result(result, trace_id=trace, name=name, timestamp=ts, observation_id=obs,
                                          plugin="conformance", version="1", fingerprint="0" * 16))
    return out


def _bumped(records: Sequence[ScoreRecord]) -> list[ScoreRecord]:
    """The same records with new values (what a re-run with another grader version writes)."""
    out = []
    for r in records:
        value = r.value + 0.5 if isinstance(r.value, float) else r.value
        out.append(r.model_copy(update={"value": value, "comment": (r.comment or "") + " (rerun)"}))
    return out


async def _write_all(sink: Sink, batches: Sequence[Sequence[ScoreRecord]]) -> list[WriteReport]:
    """One run as the pipeline does it: open, write each batch, close on every path."""
    reports: list[WriteReport] = []
    await sink.open()
    try:
        for batch in batches:
            reports.append(await sink.write(list(batch)))
    finally:
        reports.append(await sink.close())
    return reports


def check_sink(
    sink_class: type[Sink],
    settings: Mapping[str, Any],
    *,
    invalid_settings: Iterable[Mapping[str, Any]] = (),
    batches: Optional[Sequence[Sequence[ScoreRecord]]] = None,
    read_back: Optional[Callable[[Mapping[str, Any]], Iterable[Mapping[str, Any]]]] = None,
    upserts: bool = True,
    unwritable_settings: Optional[Mapping[str, Any]] = None,
    plugin: Any = None,
) -> ConformanceReport:
    """Check that a sink keeps rmg's contracts; raise `ConformanceError` listing every breach.

    :param settings: settings of a sink that can write (e.g. a path in a tmp dir).
    :param batches: the record batches to write; `sample_records` split by
        trace when not given (every batch holds every score name).
    :param read_back: ``read_back(settings)`` returns the rows the sink
        stored, each a mapping with at least ``score_id`` and ``value``.  With
        it, the check verifies each written score is stored exactly once, with
        its value, errors never as a number, and that a re-run does not
        duplicate.
    :param upserts: a re-run with new values replaces the stored values (set
        False for append-only sinks that skip ids already stored).
    :param unwritable_settings: settings with which ``open()`` must raise
        `SinkError` (e.g. a path in a directory that does not exist).
    """
    settings = dict(settings)
    problems = _Problems(f"sink {getattr(sink_class, 'name', '') or sink_class.__name__!r} ({sink_class.__name__})")
    if not (isinstance(sink_class, type) and issubclass(sink_class, Sink)):
        problems.fail("class", f"{sink_class!r} is not a rmg_core.Sink subclass")
        return problems.done()
    _check_identity(problems, sink_class)
    if plugin is not None:
        _check_registration(problems, plugin, "sink", sink_class)
    if _check_settings_model(problems, sink_class, settings, invalid_settings) is None:
        return problems.done()
    if batches is None:
        records = sample_records()
        half = len(records) // 2
        batches = [records[:half], [], records[half:]]
    all_records = [r for batch in batches for r in batch]

    def run_once(batches_: Sequence[Sequence[ScoreRecord]], label: str) -> Optional[list[WriteReport]]:
        try:
            reports = _run(lambda: _write_all(sink_class(**settings), batches_))
        except Exception as exc:
            problems.fail(label, f"raised {type(exc).__name__}: {exc}; report failures in the WriteReport instead")
            return None
        return reports

    reports = run_once(batches, "write")
    if reports is None:
        return problems.done()
    kinds_ok = all(isinstance(r, WriteReport) for r in reports)
    problems.check("write/close return WriteReport", kinds_ok, f"got {[type(r).__name__ for r in reports]}")
    if not kinds_ok:
        return problems.done()
    written = sum(r.written for r in reports)
    # A record the destination already held unchanged is accounted for like a skipped one.
    skipped = sum(r.skipped + r.unchanged for r in reports)
    failed = [f for r in reports for f in r.failed]
    problems.check(
        "every record accounted for",
        written + skipped + len(failed) == len(all_records),
        f"{len(all_records)} records but written={written} skipped+unchanged={skipped} failed={len(failed)}; "
        "count each record exactly once as written, skipped, unchanged or failed",
    )
    problems.check("no negative counts", all(min(r.written, r.skipped, r.unchanged, r.unchecked) >= 0 for r in reports), "negative counts")
    problems.check(
        "valid records are written",
        not failed,
        f"{len(failed)} failed, e.g. {failed[0].message if failed else ''!r}",
    )
    empty_index = next((i for i, b in enumerate(batches) if not b), None)
    if empty_index is not None:
        r = reports[empty_index]
        problems.check("empty batch", (r.written, r.skipped, r.unchanged, len(r.failed)) == (0, 0, 0, 0), f"an empty batch reported {r!r}")
    if read_back is not None:
        _check_stored(problems, read_back, settings, all_records, written, "first run")
        if run_once(batches, "re-run") is not None:
            _check_stored(problems, read_back, settings, all_records, written, "re-run of the same scores")
        changed = [_bumped(b) for b in batches]
        if upserts and run_once(changed, "re-run with new values") is not None:
            _check_stored(problems, read_back, settings, [r for b in changed for r in b], written, "re-run with new values")
    else:
        problems.report.notes.append("stored rows not checked: pass read_back=... to check exactly-once")
    if unwritable_settings is not None:
        try:
            _run(lambda: sink_class(**{**settings, **unwritable_settings}).open())
        except SinkError:
            problems.report.checked.append("unwritable destination is a SinkError")
        except Exception as exc:
            problems.fail("unwritable destination", f"open() raised {type(exc).__name__} instead of rmg_core.SinkError: {exc}")
        else:
            problems.fail("unwritable destination", f"open() with {dict(unwritable_settings)!r} did not raise SinkError")
    return problems.done()


def _cause(unknown: Sequence[str], records: Sequence[ScoreRecord]) -> str:
    """Why a stored id matches no record, when the usual mistake explains it."""
    without_observation = {score_id(r.trace_id, r.name): r for r in records if r.observation_id}
    for stored in unknown:
        record = without_observation.get(stored)
        if record is not None:
            return (
                f"; {stored} is the id of trace {record.trace_id!r} score {record.name!r} without its observation "
                f"{record.observation_id!r}: the sink drops observation_id. Store record.score_id as given "
                "(and observation_id with it) instead of recomputing the id"
            )
    return "; store record.score_id as given, never a new or recomputed id"


def _check_stored(problems: _Problems, read_back: Callable[[Mapping[str, Any]], Iterable[Mapping[str, Any]]], settings: Mapping[str, Any], records: Sequence[ScoreRecord], written: int, when: str) -> None:
    try:
        rows = list(read_back(settings))
    except Exception as exc:
        problems.fail(f"read back ({when})", f"{type(exc).__name__}: {exc}")
        return
    by_id = {r.score_id: r for r in records}
    ids = [str(row.get("score_id")) for row in rows]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    problems.check(f"exactly once ({when})", not dupes, f"score ids stored more than once: {dupes[:3]}")
    unknown = [i for i in ids if i not in by_id]
    problems.check(f"only given records stored ({when})", not unknown, f"unknown score ids stored: {unknown[:3]}{_cause(unknown, records)}")
    problems.check(f"stored count ({when})", len(set(ids)) == written, f"{len(set(ids))} rows stored but {written} reported written")
    wrong = []
    for row in rows:
        record = by_id.get(str(row.get("score_id")))
        if record is None:
            continue
        value = row.get("value")
        if record.is_error:
            if value not in (None, ""):
                wrong.append(f"error record {record.score_id} stored with value {value!r}")
        elif isinstance(record.value, (int, float)):
            try:
                ok = math.isclose(float(value), float(record.value), rel_tol=1e-9, abs_tol=1e-12)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                ok = False
            if not ok:
                wrong.append(f"{record.trace_id}/{record.name}: stored {value!r}, expected {record.value!r}")
        elif str(value) != str(record.value):
            wrong.append(f"{record.trace_id}/{record.name}: stored {value!r}, expected {record.value!r}")
    problems.check(f"stored values ({when})", not wrong, "; ".join(wrong[:3]))


__all__ = ["check_sink", "sample_records"]
