"""Seed-style and OpenJudge-style code runs with only the imports changed (issue 16's seed-API points)."""

from __future__ import annotations

import asyncio
from typing import Any, Mapping

import pytest

from rmg_core import ConfigError, EvalCase, Grader, GraderError, GraderResult, GraderScore, GradingRunner
from rmg_relevance import RelevanceGrader
from rmg_similarity import SimilarityGrader
from rmg_weighted_sum import WeightedSumAggregator

DATA = [
    {"input": "What is the capital of France?", "prediction": "Paris is the capital.", "reference": "Paris."},
    {"input": "2+2?", "prediction": "4", "expected": "4"},
]


# -- mapper keys and aevaluate keywords: a typo is an error, never ignored ------------------------
def test_a_misspelt_mapper_key_is_an_error_naming_it() -> None:
    with pytest.raises(ConfigError) as info:
        GradingRunner(grader_configs={"similarity": (SimilarityGrader(), {"refrence": "expected"})})
    message = str(info.value)
    assert "'refrence'" in message and "did you mean 'reference'" in message and "similarity" in message


def test_a_correct_mapper_maps_the_field() -> None:
    runner = GradingRunner(grader_configs={"similarity": (SimilarityGrader(), {"reference": "expected"})})
    column = runner.run(DATA)["similarity"]
    assert isinstance(column[0], GraderError) and "'expected'" in column[0].error  # case 0 has no "expected"
    assert isinstance(column[1], GraderScore) and column[1].score == 1.0


@pytest.mark.parametrize("grader", [SimilarityGrader(), RelevanceGrader()])
def test_unknown_aevaluate_keywords_are_errors_that_suggest_rmgs_name(grader: Grader) -> None:
    with pytest.raises(TypeError) as info:
        asyncio.run(grader.aevaluate(response="Paris", reference_response="Paris", input="q"))
    message = str(info.value)
    assert "'response'" in message and "use 'prediction' for OpenJudge's 'response'" in message


def test_known_keywords_still_grade() -> None:
    result = asyncio.run(SimilarityGrader().aevaluate(prediction="Paris", reference="Paris"))
    assert isinstance(result, GraderScore) and result.score == 1.0


# -- results: GraderError.reason, and a name on every result --------------------------------------
def test_grader_error_keeps_reason() -> None:
    error = GraderError(name="judge", error="Timeout occurred", reason="Model took too long", metadata={"s": 30})
    assert error.reason == "Model took too long"
    assert GraderError.model_validate(error.model_dump()) == error
    assert GraderError(error="x").reason == ""


class _Boom(Grader):
    name = "boom"
    required_fields = ("prediction",)

    async def aevaluate(self, **fields: Any) -> GraderResult:
        raise RuntimeError("kaput")


def test_every_result_carries_its_graders_name() -> None:
    runner = GradingRunner(
        grader_configs={"sim": SimilarityGrader(), "boom": _Boom()},
        aggregators=WeightedSumAggregator(weights={"sim": 1.0}),  # one aggregator, not in a list
    )
    results = runner.run(DATA)
    assert [r.name for r in results["sim"]] == ["similarity", "similarity"]  # a score, a missing-field error
    assert isinstance(results["sim"][1], GraderError)
    assert [r.name for r in results["boom"]] == ["boom", "boom"]
    assert [r.name for r in results["aggregated_weighted_sum"]] == ["weighted_sum", "weighted_sum"]


def test_weighted_sum_takes_a_name() -> None:
    runner = GradingRunner(
        grader_configs={"sim": SimilarityGrader()},
        aggregators=[WeightedSumAggregator(name="overall", weights={"sim": 1.0})],
    )
    results = runner.run(DATA[:1])
    assert results.aggregator_names() == ["overall"]
    assert results["aggregated_overall"][0].name == "overall"
    with pytest.raises(ConfigError):
        WeightedSumAggregator(name="")
    assert WeightedSumAggregator(name="a").fingerprint() == WeightedSumAggregator().fingerprint()


# -- plain functions as aggregators ---------------------------------------------------------------
def best_of(results: Mapping[str, GraderResult]) -> GraderResult:
    scores = [r.score for r in results.values() if isinstance(r, GraderScore)]
    return GraderScore(score=max(scores), reason="best") if scores else GraderError(error="no score")


def test_a_plain_function_is_an_aggregator_named_after_it() -> None:
    runner = GradingRunner(grader_configs={"sim": SimilarityGrader(), "jac": SimilarityGrader(algorithm="jaccard")},
                           aggregators=best_of)
    results = runner.run(DATA[:1])
    (aggregate,) = results["aggregated_best_of"]
    assert aggregate.score == max(results["sim"][0].score, results["jac"][0].score) and aggregate.name == "best_of"
    in_dict = GradingRunner(grader_configs={"sim": SimilarityGrader()}, aggregators={"top": lambda r: r["sim"]})
    assert in_dict.run(DATA[:1])["aggregated_top"][0].score == in_dict.run(DATA[:1])["sim"][0].score


def test_a_function_that_cannot_be_an_aggregator_is_an_error_at_construction() -> None:
    with pytest.raises(ConfigError) as info:
        GradingRunner(grader_configs={"sim": SimilarityGrader()}, aggregators=[lambda r: r["sim"]])
    assert "not an Aggregator or a function with a name" in str(info.value)
    assert "aggregators={'my_name': function}" in str(info.value)
    with pytest.raises(ConfigError) as info:
        GradingRunner(grader_configs={"sim": SimilarityGrader()}, aggregators=["weighted_sum"])
    assert "not an Aggregator or a function" in str(info.value)


def test_a_function_aggregator_that_raises_gives_errors_not_scores() -> None:
    def broken(results: Mapping[str, GraderResult]) -> GraderResult:
        raise ValueError("nope")

    results = GradingRunner(grader_configs={"sim": SimilarityGrader()}, aggregators=broken).run(DATA)
    assert all(isinstance(r, GraderError) and r.name == "broken" for r in results["aggregated_broken"])


# -- show_progress and arun_multiple_datasets -------------------------------------------------------
def test_show_progress_grades_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    quiet = GradingRunner(grader_configs={"sim": SimilarityGrader()}).run(DATA)
    shown = GradingRunner(grader_configs={"sim": SimilarityGrader()}, show_progress=True).run(DATA)
    assert [r.model_dump() for r in quiet["sim"]] == [r.model_dump() for r in shown["sim"]]


class _Counting(Grader):
    """Records the most calls in flight at once."""

    name = "counting"
    required_fields = ("prediction",)

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = self.most = 0

    async def aevaluate(self, **fields: Any) -> GraderResult:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(0.001)
        self.in_flight -= 1
        return GraderScore(score=len(fields["prediction"]) / 10)


def test_arun_multiple_datasets_keeps_order_and_shares_the_concurrency_limit() -> None:
    grader = _Counting()
    runner = GradingRunner(grader_configs={"n": grader}, max_concurrency=3)
    datasets = [[{"prediction": "x" * i} for i in range(1, 8)], [{"prediction": "yy"}], []]
    out = asyncio.run(runner.arun_multiple_datasets(datasets))
    assert [len(r["n"]) for r in out] == [7, 1, 0]
    assert [r.score for r in out[0]["n"]] == [i / 10 for i in range(1, 8)] and out[1]["n"][0].score == 0.2
    assert grader.most <= 3


# -- rmg_langfuse.fetch_pending_traces(): what the seed's code indexes --------------------------------
def test_pending_traces_read_like_the_seeds_dicts() -> None:
    from rmg_langfuse.pending import PendingTrace

    case = EvalCase(id="t-1", input="q?", output="a.", expected="a", metadata={"env": "prod"})
    trace = PendingTrace.model_construct(_fields_set=case.model_fields_set, **dict(case))
    assert (trace["id"], trace["input"], trace["output"], trace["expected"], trace["metadata"]) == (
        "t-1", "q?", "a.", "a", {"env": "prod"})
    assert trace.get("expected") == "a" and trace.get("nope", 7) == 7 and trace.id == "t-1"
    assert isinstance(trace, EvalCase) and "expected" in trace.keys()
    with pytest.raises(KeyError):
        trace["nope"]
