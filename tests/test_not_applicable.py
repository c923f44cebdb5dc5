"""Not applicable: a case without a field a grader needs is its own outcome, not an error and never 0.0."""

from __future__ import annotations

import asyncio

from rmg_core import GraderError, GraderScore, GradingRunner, ScoreStats, record_from_result

from rmg_relevance import RelevanceGrader
from rmg_similarity import SimilarityGrader
from rmg_weighted_sum import WeightedSumAggregator


def test_missing_field_is_not_applicable_and_still_a_grader_error() -> None:
    runner = GradingRunner({"similarity": SimilarityGrader()})
    result = runner.run([{"prediction": "a cat", "reference": None}])["similarity"][0]
    assert isinstance(result, GraderError) and result.not_applicable  # seed-style isinstance checks still hold
    record = record_from_result(result, trace_id="t", name="similarity", timestamp=None)
    assert record.kind == "not_applicable" and record.value is None and not record.is_error
    stats = ScoreStats("similarity")
    stats.add(record)
    stats.add(record_from_result(GraderError(error="judge down"), trace_id="u", name="similarity", timestamp=None))
    assert (stats.not_applicable, stats.errors, stats.scored) == (1, 1, 0)
    assert stats.as_dict()["not_applicable"] == 1


def test_real_failures_stay_errors() -> None:
    class Boom(SimilarityGrader):
        def evaluate_batch(self, items):  # type: ignore[no-untyped-def]
            raise RuntimeError("model crashed")

    result = GradingRunner({"b": Boom()}).run([{"prediction": "a", "reference": "a"}])["b"][0]
    assert isinstance(result, GraderError) and not result.not_applicable


def test_relevance_agrees_with_the_runner_on_a_missing_prediction() -> None:
    grader = RelevanceGrader()
    direct = asyncio.run(grader.aevaluate(input="how do I reset my password?", prediction=None))
    batch = grader.evaluate_batch([{"input": "how do I reset my password?", "prediction": None}])[0]
    via_runner = GradingRunner({"relevance": grader}).run([{"input": "how do I reset my password?", "prediction": None}])
    for result in (direct, batch, via_runner["relevance"][0]):
        assert isinstance(result, GraderError) and result.not_applicable, result


def test_hints_follow_how_the_run_was_configured() -> None:
    rows = [{"prediction": "a"}]
    texts = {
        style: GradingRunner({"similarity": SimilarityGrader()}, hints=style).run(rows)["similarity"][0].error
        for style in ("python", "cli", "config")
    }
    assert "grader_configs=" in texts["python"] and "--map" not in texts["python"]
    assert "--map reference=" in texts["cli"] and "grader_configs" not in texts["cli"]
    assert 'fields = { reference = ' in texts["config"] and "[graders.similarity]" in texts["config"]


def test_weighted_sum_ignores_not_applicable_and_is_not_applicable_when_all_are() -> None:
    agg = WeightedSumAggregator(weights={"similarity": 0.6, "relevance": 0.4})
    agg.bind(["similarity", "relevance"])
    na = GraderError(error="needs reference", not_applicable=True)
    mixed = agg.aggregate({"similarity": na, "relevance": GraderScore(score=0.5)})
    assert isinstance(mixed, GraderScore) and mixed.score == 0.5 and "not applicable" in mixed.reason
    both = agg.aggregate({"similarity": na, "relevance": na})
    assert isinstance(both, GraderError) and both.not_applicable
    one_failed = agg.aggregate({"similarity": na, "relevance": GraderError(error="timeout")})
    assert isinstance(one_failed, GraderError) and not one_failed.not_applicable


def test_paths_in_a_mapper_reach_nested_keys_and_list_items() -> None:
    rows = [{"out": {"choices": [{"message": {"content": "a cat"}}]}, "meta": {"gold": "a cat"}}]
    runner = GradingRunner({"s": (SimilarityGrader(), {"prediction": "out.choices.0.message.content",
                                                       "reference": "meta.gold"})})
    result = runner.run(rows)["s"][0]
    assert isinstance(result, GraderScore) and result.score == 1.0
