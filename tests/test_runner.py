"""GradingRunner: order, mappers, both paths, errors, timeouts, re-use across loops."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from typing import Any, Mapping, Sequence

import pytest

from rmg_core import ConfigError, Grader, GraderError, GraderRank, GraderScore, GradingRunner
from tests.conftest import ExactMatch, Length, Mean


def data(n: int) -> list[dict[str, Any]]:
    return [{"prediction": "x" * i, "reference": "x" * (i % 3)} for i in range(n)]


def test_results_in_input_order_with_aggregate() -> None:
    runner = GradingRunner({"exact": ExactMatch(), "length": Length(scale=10)}, max_concurrency=3, aggregators=[Mean()])
    results = runner.run(data(7))
    assert list(results) == ["exact", "length", "aggregated_mean"]
    assert [r.score for r in results["exact"]] == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    assert [r.score for r in results["length"]] == [min(1.0, i / 10) for i in range(7)]
    assert results["aggregated_mean"][3].score == pytest.approx((0.0 + 0.3) / 2)
    assert results.grader_names() == ["exact", "length"] and results.aggregator_names() == ["mean"]


def test_missing_field_is_a_named_error_not_none() -> None:
    runner = GradingRunner({"exact": ExactMatch()})
    results = runner.run([{"prediction": "a"}, {"prediction": "a", "reference": None}])
    for result in results["exact"]:
        assert isinstance(result, GraderError)
        assert "'reference'" in result.error and result.metadata["missing_field"] == "reference"


def test_dict_and_callable_mappers() -> None:
    rows = [{"answer": "a", "expected": "a"}, {"answer": "b", "expected": "c"}]
    by_dict = GradingRunner({"exact": (ExactMatch(), {"prediction": "answer", "reference": "expected"})}).run(rows)
    by_call = GradingRunner({"exact": (ExactMatch(), lambda d: {"prediction": d["answer"], "reference": d["expected"]})}).run(rows)
    assert [r.score for r in by_dict["exact"]] == [1.0, 0.0] == [r.score for r in by_call["exact"]]
    missing = GradingRunner({"exact": (ExactMatch(), {"reference": "gold"})}).run([{"prediction": "a"}])
    assert "mapped from data key 'gold'" in missing["exact"][0].error


def test_mapper_exception_becomes_error() -> None:
    def broken(_: Mapping[str, Any]) -> dict[str, Any]:
        raise KeyError("answer")

    result = GradingRunner({"exact": (ExactMatch(), broken)}).run([{"x": 1}])["exact"][0]
    assert isinstance(result, GraderError) and "mapper" in result.error


class Flaky(Grader):
    name = "flaky"
    required_fields = ("prediction",)

    async def aevaluate(self, prediction: Any) -> Any:
        if prediction == "raise":
            raise RuntimeError("upstream said no")
        if prediction == "nan":
            return GraderScore.model_construct(score=math.nan, reason="", name="", metadata={})
        if prediction == "wrong":
            return 0.5
        if prediction == "rank":
            return GraderRank(rank=2)
        if prediction == "hang":
            await asyncio.sleep(10)
        return GraderScore(score=1.0)


def test_exceptions_nan_and_wrong_types_become_grader_errors() -> None:
    runner = GradingRunner({"flaky": Flaky()}, timeout=0.2)
    results = runner.run([{"prediction": p} for p in ("ok", "raise", "nan", "wrong", "rank", "hang")])["flaky"]
    assert isinstance(results[0], GraderScore)
    assert isinstance(results[1], GraderError) and "upstream said no" in results[1].error
    assert isinstance(results[2], GraderError) and "non-finite" in results[2].error
    assert isinstance(results[3], GraderError) and "must return GraderScore" in results[3].error
    assert isinstance(results[4], GraderRank)
    assert isinstance(results[5], GraderError) and "timed out after 0.2s" in results[5].error


class PoisonBatch(Grader):
    """Raises when the batch contains 'poison': the runner must isolate that case."""

    name = "poison"
    required_fields = ("prediction",)
    batch_size = 4
    calls: list[int]

    def __init__(self) -> None:
        super().__init__()
        self.calls = []

    def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> list[Any]:
        self.calls.append(len(items))
        if any(i["prediction"] == "poison" for i in items):
            raise ValueError("poison")
        return [GraderScore(score=1.0) for _ in items]


def test_one_bad_case_does_not_fail_its_batch() -> None:
    grader = PoisonBatch()
    rows = [{"prediction": p} for p in ["a", "b", "poison", "c", "d", "e"]]
    results = GradingRunner({"poison": grader}).run(rows)["poison"]
    assert [type(r).__name__ for r in results] == ["GraderScore"] * 2 + ["GraderError"] + ["GraderScore"] * 3
    assert grader.calls[:2] == [4, 1]  # the failing batch of 4 is retried case by case
    assert "ValueError: poison" in results[2].error


def test_batch_path_runs_off_the_event_loop() -> None:
    class Slow(Grader):
        name = "slow"
        required_fields = ("prediction",)

        def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> list[Any]:
            time.sleep(0.3)  # CPU-bound stand-in: blocks its thread, not the loop
            return [GraderScore(score=1.0) for _ in items]

    async def main() -> float:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.ensure_future(ticker())
        await GradingRunner({"slow": Slow()}).arun([{"prediction": "a"}])
        task.cancel()
        return ticks

    assert asyncio.run(main()) >= 10


def test_max_concurrency_bounds_calls_in_flight() -> None:
    in_flight = peak = 0

    class Probe(Grader):
        name = "probe"
        required_fields = ("prediction",)

        async def aevaluate(self, prediction: Any) -> Any:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.005)
            in_flight -= 1
            return GraderScore(score=1.0)

    GradingRunner({"a": Probe(), "b": Probe()}, max_concurrency=5).run([{"prediction": i} for i in range(50)])
    assert peak == 5


def test_runner_runs_again_in_a_new_loop_and_inside_a_running_loop() -> None:
    runner = GradingRunner({"exact": ExactMatch()}, max_concurrency=2)
    first = asyncio.run(runner.arun(data(4)))
    second = asyncio.run(runner.arun(data(4)))
    assert first == second

    async def notebook_cell() -> Any:
        return runner.run(data(4))  # synchronous call while a loop is running

    assert asyncio.run(notebook_cell()) == first


def test_astream_yields_bounded_chunks_in_order() -> None:
    runner = GradingRunner({"length": Length(scale=1000)})

    def endless() -> Any:
        i = 0
        while True:
            yield {"prediction": "x" * i}
            i += 1

    async def take() -> list[float]:
        scores: list[float] = []
        async for chunk, results in runner.astream(endless(), chunk_size=100):
            assert len(chunk) == 100
            scores.extend(r.score for r in results["length"])
            if len(scores) >= 300:
                break
        return scores

    assert asyncio.run(take()) == [min(1.0, i / 1000) for i in range(300)]


def test_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="at least one grader"):
        GradingRunner({})
    with pytest.raises(ConfigError, match="not a Grader"):
        GradingRunner({"x": object()})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="max_concurrency"):
        GradingRunner({"exact": ExactMatch()}, max_concurrency=0)
    with pytest.raises(ConfigError, match="both a grader and an aggregator"):
        GradingRunner({"mean": ExactMatch()}, aggregators=[Mean()])


def test_aggregator_exception_becomes_error() -> None:
    class Boom(Mean):
        name = "boom"

        def aggregate(self, results: Mapping[str, Any]) -> Any:
            raise ZeroDivisionError("nothing")

    result = GradingRunner({"exact": ExactMatch()}, aggregators=[Boom()]).run(data(1))["aggregated_boom"][0]
    assert isinstance(result, GraderError) and "ZeroDivisionError" in result.error


def test_run_from_a_worker_thread() -> None:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(GradingRunner({"exact": ExactMatch()}).run(data(2))))
    thread.start()
    thread.join()
    assert len(out[0]["exact"]) == 2
