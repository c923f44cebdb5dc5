"""The plugin kit's conformance checks: they pass good components and name each breach of bad ones."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
from pathlib import Path
from typing import Any, Mapping, Sequence

import pytest
from pydantic import SecretStr, field_validator

from rmg_core import (
    Aggregator, GraderError, GraderResult, GraderScore, Grader, ScoreRecord, Settings, Sink, SinkError, WriteFailure,
    WriteReport, hookimpl,
)
from rmg_kit import ConformanceError, check_aggregator, check_grader, check_sink, sample_records

CASES = [
    {"prediction": "the cat sat", "reference": "the cat sat"},
    {"prediction": "a dog", "reference": "the cat"},
    {"prediction": "", "reference": "x"},
    {"prediction": "one two three four", "reference": "one two"},
]


class WordsSettings(Settings):
    target: int = 4

    @field_validator("target")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value


class Words(Grader):
    """min(1, words/target): a correct batch grader."""

    name = "words"
    required_fields = ("prediction",)
    Settings = WordsSettings

    def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> list[GraderResult]:
        out: list[GraderResult] = []
        for item in items:
            if not isinstance(item["prediction"], str):
                out.append(GraderError(error=f"prediction is {type(item['prediction']).__name__}, not text"))
                continue
            n = len(item["prediction"].split())
            out.append(GraderScore(score=min(1.0, n / self.settings.target), reason=f"{n} words"))
        return out


class Overlap(Grader):
    """Share of reference words in the prediction: a correct per-case grader."""

    name = "overlap"
    required_fields = ("prediction", "reference")

    async def aevaluate(self, prediction: Any, reference: Any) -> GraderResult:
        await asyncio.sleep(0)
        ref = set(str(reference).split())
        if not ref:
            return GraderError(error="reference has no words")
        return GraderScore(score=len(ref & set(str(prediction).split())) / len(ref))


def _fails(match: str, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ConformanceError) as info:
        check_grader(*args, **kwargs)
    assert match in str(info.value), str(info.value)
    return str(info.value)


def test_good_graders_pass_and_report_what_was_checked() -> None:
    report = check_grader(Words, CASES, {"target": 3}, invalid_settings=[{"target": 0}])
    for label in ("batch vs alone", "through GradingRunner", "fingerprint changes with settings", "odd payloads give results",
                  "invalid settings {'target': 0}", "runner, batch_size=1"):
        assert label in report.checked
    report = check_grader(Overlap, CASES, bad_cases=[{"prediction": "x", "reference": "  "}])
    assert "bad case 0 is a GraderError" in report.checked
    assert any("other_settings" in n for n in report.notes)  # no settings to vary: said, not hidden


def test_state_leaking_between_cases_is_caught() -> None:
    class Leaky(Words):
        """Remembers how many cases it has seen."""

        name = "leaky"

        def __init__(self, **settings: Any) -> None:
            super().__init__(**settings)
            self.seen = 0

        def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> list[GraderResult]:
            out = []
            for item in items:
                self.seen += 1
                out.append(GraderScore(score=min(1.0, self.seen / 10)))
            return out

    text = _fails("state leaks", Leaky, CASES)
    assert "batch vs alone" in text


def test_batch_dependent_results_are_caught() -> None:
    class Normalised(Words):
        """Divides by the batch's longest prediction: depends on its neighbours."""

        name = "normalised"

        def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> list[GraderResult]:
            lengths = [len(str(i["prediction"])) for i in items]
            top = max(lengths) or 1
            return [GraderScore(score=n / top) for n in lengths]

    _fails("batch vs alone", Normalised, CASES)


def test_wrong_result_types_and_sync_aevaluate_are_caught() -> None:
    class ReturnsFloat(Overlap):
        """Returns a bare float."""

        name = "floaty"

        async def aevaluate(self, prediction: Any, reference: Any) -> Any:
            return 0.5

    _fails("return GraderScore, GraderRank or GraderError", ReturnsFloat, CASES)

    class ReturnsNaN(Overlap):
        """Builds a NaN score without validation."""

        name = "nan"

        async def aevaluate(self, prediction: Any, reference: Any) -> Any:
            return GraderScore.model_construct(score=math.nan, reason="", name="", metadata={})

    _fails("result types", ReturnsNaN, CASES)

    class Sync(Grader):
        """aevaluate forgot async."""

        name = "sync"
        required_fields = ("prediction",)

        def aevaluate(self, prediction: Any) -> Any:  # type: ignore[override]
            return GraderScore(score=1.0)

    _fails("aevaluate must be `async def`", Sync, CASES)


def test_odd_payloads_that_return_garbage_are_caught() -> None:
    class Fragile(Words):
        """Returns None for non-text predictions instead of an error."""

        name = "fragile"

        def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> list[Any]:
            return [super(Fragile, self).evaluate_batch([i])[0] if isinstance(i["prediction"], str) and i["prediction"].strip() else None for i in items]

    _fails("odd payloads give results", Fragile, [c for c in CASES if c["prediction"]])


def test_a_bad_case_graded_as_zero_is_caught() -> None:
    class ZeroOnFailure(Overlap):
        """Swallows the failure as 0.0: what rmg forbids."""

        name = "zero"

        async def aevaluate(self, prediction: Any, reference: Any) -> GraderResult:
            try:
                return await super().aevaluate(prediction=prediction, reference=reference)
            except Exception:
                return GraderScore(score=0.0)

    class Raises(Overlap):
        """Raises on a blank reference: the runner turns that into a GraderError, which passes."""

        name = "raises"

        async def aevaluate(self, prediction: Any, reference: Any) -> GraderResult:
            if not str(reference).strip():
                raise ValueError("blank reference")
            return await super().aevaluate(prediction=prediction, reference=reference)

    bad = [{"prediction": "x", "reference": 12.5}]
    _fails("bad case 0 is a GraderError", ZeroOnFailure, CASES, bad_cases=bad)
    check_grader(Raises, CASES, bad_cases=[{"prediction": "x", "reference": " "}])


def test_settings_checks() -> None:
    class LooseSettings(Settings):
        model_config = {"extra": "allow"}
        target: int = 4

    class Loose(Words):
        """Accepts any key."""

        name = "loose"
        Settings = LooseSettings

    _fails("an unknown setting was accepted", Loose, CASES)

    class ValidatesLate(Words):
        """Raises a bare ValueError from __init__ instead of a ConfigError."""

        name = "late"

        def __init__(self, **settings: Any) -> None:
            if settings.get("target") == 0:
                raise ValueError("bad")
            super().__init__(**settings)

    _fails("raised ValueError instead of rmg_core.ConfigError", ValidatesLate, CASES, invalid_settings=[{"target": 0}])
    _fails("was accepted", Words, CASES, invalid_settings=[{"target": 7}])


def test_fingerprint_and_secret_checks() -> None:
    counter = itertools.count()

    class Unstable(Words):
        """Fingerprint changes on every call."""

        name = "unstable"

        def fingerprint(self) -> str:
            return str(next(counter))

    _fails("fingerprint stable", Unstable, CASES)

    class Blind(Words):
        """Fingerprint ignores settings."""

        name = "blind"

        def fingerprint(self) -> str:
            return "constant"

    text = _fails("fingerprint changes with settings", Blind, CASES, {"target": 3})
    assert "fingerprint changes with version" in text

    class TokenSettings(Settings):
        token: SecretStr = SecretStr("s3cr3t-token")

    class Leaks(Words):
        """Shows its token in repr."""

        name = "leaks"
        Settings = TokenSettings

        def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> list[GraderResult]:
            return [GraderScore(score=1.0) for _ in items]

        def __repr__(self) -> str:
            return f"Leaks(token={self.settings.token.get_secret_value()})"

    _fails("secrets hidden", Leaks, CASES, other_settings={"token": "other"})


def test_identity_and_registration_checks() -> None:
    class Nameless(Words):
        name = "has space"
        version = ""

    text = _fails("name must be", Nameless, CASES)
    assert "version must be" in text and "docstring" in text

    class Plugin:
        @hookimpl
        def register_graders(self, register):  # type: ignore[no-untyped-def]
            register(Overlap)

    check_grader(Overlap, CASES, plugin=Plugin())
    _fails("plugin registers the grader", Words, CASES, plugin=Plugin())


def test_cases_missing_a_required_field_are_a_usage_error() -> None:
    with pytest.raises(ValueError, match="required field 'reference'"):
        check_grader(Overlap, [{"prediction": "x"}])


# -- sinks ----------------------------------------------------------------------
class FileSettings(Settings):
    path: str
    write_errors: bool = True


class JsonFileSink(Sink):
    """JSONL file, replaced per run; errors written with value null."""

    name = "jsonfile"
    Settings = FileSettings

    async def open(self) -> None:
        try:
            self.handle = open(self.settings.path, "w", encoding="utf-8")
        except OSError as exc:
            raise SinkError(f"cannot write {self.settings.path}: {exc.strerror}") from None

    async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
        report = WriteReport()
        for r in records:
            if r.is_error and not self.settings.write_errors:
                report.skipped += 1
                continue
            self.handle.write(json.dumps({"score_id": r.score_id, "value": r.value}) + "\n")
            report.written += 1
        return report

    async def close(self) -> WriteReport:
        self.handle.close()
        return WriteReport()


def _read(settings: Mapping[str, Any]) -> list[dict]:
    return [json.loads(line) for line in Path(settings["path"]).read_text().splitlines()]


def test_a_good_sink_passes(tmp_path: Path) -> None:
    settings = {"path": str(tmp_path / "s.jsonl")}
    report = check_sink(JsonFileSink, settings, read_back=_read, unwritable_settings={"path": str(tmp_path / "no" / "s.jsonl")},
                        invalid_settings=[{"write_errors": "maybe"}])
    for label in ("every record accounted for", "exactly once (re-run of the same scores)",
                  "stored values (re-run with new values)", "unwritable destination is a SinkError"):
        assert label in report.checked
    check_sink(JsonFileSink, {**settings, "write_errors": False}, read_back=_read)


def _sink_fails(match: str, cls: type[Sink], tmp_path: Path, **kwargs: Any) -> str:
    with pytest.raises(ConformanceError) as info:
        check_sink(cls, {"path": str(tmp_path / "s.jsonl")}, read_back=_read, **kwargs)
    assert match in str(info.value), str(info.value)
    return str(info.value)


def test_sink_breaches_are_caught(tmp_path: Path) -> None:
    class Drops(JsonFileSink):
        """Loses ranks without counting them."""

        async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
            return await super().write([r for r in records if r.kind != "rank"])

    _sink_fails("every record accounted for", Drops, tmp_path)

    class Appends(JsonFileSink):
        """Appends on every run: duplicates on re-run."""

        async def open(self) -> None:
            self.handle = open(self.settings.path, "a", encoding="utf-8")

    _sink_fails("exactly once (re-run of the same scores)", Appends, tmp_path)

    class ZeroErrors(JsonFileSink):
        """Writes errors as 0.0."""

        async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
            fixed = [r.model_copy(update={"value": 0.0}) if r.is_error else r for r in records]
            return await super().write(fixed)

    _sink_fails("stored with value 0.0", ZeroErrors, tmp_path)

    class Raises(JsonFileSink):
        """Raises instead of reporting failures."""

        async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
            raise OSError("disk full")

    _sink_fails("report failures in the WriteReport", Raises, tmp_path)

    class Fails(JsonFileSink):
        """Reports every record failed."""

        async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
            return WriteReport(failed=[WriteFailure.of(r, "nope") for r in records])

    _sink_fails("valid records are written", Fails, tmp_path)

    class OpenLeaksOSError(JsonFileSink):
        """open() lets OSError escape."""

        async def open(self) -> None:
            self.handle = open(self.settings.path, "w", encoding="utf-8")

    _sink_fails("instead of rmg_core.SinkError", OpenLeaksOSError, tmp_path, unwritable_settings={"path": str(tmp_path / "no" / "x")})

    class DropsObservation(JsonFileSink):
        """Recomputes score ids from trace and name, losing the observation id."""

        async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
            from rmg_core import score_id

            for r in records:
                self.handle.write(json.dumps({"score_id": score_id(r.trace_id, r.name), "value": r.value}) + "\n")
            return WriteReport(written=len(records))

    _sink_fails("the sink drops observation_id", DropsObservation, tmp_path)


def test_a_good_aggregator_passes_and_a_bad_one_is_named() -> None:
    import rmg_weighted_sum
    from rmg_weighted_sum import WeightedSumAggregator

    report = check_aggregator(
        WeightedSumAggregator, {"weights": {"quality": 0.5, "safety": 0.5}}, plugin=rmg_weighted_sum,
        invalid_settings=[{"weights": {"quality": -1.0}}], other_settings={"weights": {"quality": 0.9, "safety": 0.1}},
    )
    assert "case 3: every input failed" in report.checked and "case 0: through GradingRunner" in report.checked

    class ZeroOnFailure(Aggregator):
        """Writes 0.0 when every grader failed, and depends on input order."""

        name = "zero_on_failure"

        def aggregate(self, results: Mapping[str, GraderResult]) -> GraderResult:
            scores = [r.score for r in results.values() if isinstance(r, GraderScore)]
            first = next(iter(results.values()))
            bonus = 0.01 if isinstance(first, GraderScore) and first.score > 0.5 else 0.0
            return GraderScore(score=(sum(scores) / len(scores) if scores else 0.0) + bonus)

    with pytest.raises(ConformanceError) as caught:
        check_aggregator(ZeroOnFailure, {})
    text = str(caught.value)
    assert "every input failed: gave GraderScore(score=0.0" in text and "never a number" in text
    assert "depend on the order of the inputs" in text


def test_sample_records_cover_every_shape() -> None:
    records = sample_records()
    assert {r.kind for r in records} == {"score", "rank", "error"}
    assert {r.data_type for r in records} == {"NUMERIC", "CATEGORICAL", None}
    assert any(r.observation_id for r in records) and any(r.timestamp is None for r in records)
    assert len({r.score_id for r in records}) == len(records)
    by_trace: dict[str, set[str]] = {}
    for r in records:
        by_trace.setdefault(r.trace_id, set()).add(r.name)
    assert len({frozenset(v) for v in by_trace.values()}) == 1  # every trace has every score name


def test_checks_work_inside_a_running_event_loop() -> None:
    async def inside() -> Any:
        return check_grader(Words, random.Random(1).sample(CASES, 3))

    assert "batch vs alone" in asyncio.run(inside()).checked
