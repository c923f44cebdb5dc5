"""The ``weighted_sum`` aggregator: arithmetic, missing-input policies, ranks, binding, the runner."""

from __future__ import annotations

import pytest

import rmg_weighted_sum
from rmg_core import ConfigError, GraderError, GraderRank, GraderScore, GradingRunner, load_plugins
from rmg_similarity import SimilarityGrader
from rmg_weighted_sum import WeightedSumAggregator
from tests.conftest import Length

SEED_WEIGHTS = {"similarity": 0.6, "relevance": 0.4}


def agg(**settings: object) -> WeightedSumAggregator:
    aggregator = WeightedSumAggregator(**settings)
    aggregator.bind(["similarity", "relevance"])
    return aggregator


def test_the_seed_weighted_sum() -> None:
    result = agg(weights=SEED_WEIGHTS).aggregate({"similarity": GraderScore(score=0.8), "relevance": GraderScore(score=0.5)})
    # 0.6 * 0.8 + 0.4 * 0.5 = 0.48 + 0.20 = 0.68
    assert isinstance(result, GraderScore)
    assert result.score == pytest.approx(0.68)
    assert result.reason == "0.6*similarity(0.80) + 0.4*relevance(0.50) = 0.68"
    assert result.metadata["weights"] == {"similarity": 0.6, "relevance": 0.4}
    assert result.metadata["missing"] == []


def test_weights_are_relative() -> None:
    # {3, 1} is {0.75, 0.25}: 0.75 * 1.0 + 0.25 * 0.2 = 0.8
    result = agg(weights={"similarity": 3, "relevance": 1}).aggregate(
        {"similarity": GraderScore(score=1.0), "relevance": GraderScore(score=0.2)})
    assert result.score == pytest.approx(0.8)
    assert result.metadata["weights"] == {"similarity": 0.75, "relevance": 0.25}


def test_renormalize_is_the_default_and_says_what_was_missing() -> None:
    result = agg(weights=SEED_WEIGHTS).aggregate(
        {"similarity": GraderScore(score=0.8), "relevance": GraderError(error="judge timed out")})
    # only similarity is left; its weight becomes 0.6 / 0.6 = 1: score 0.8
    assert isinstance(result, GraderScore)
    assert result.score == pytest.approx(0.8)
    assert result.metadata["missing"] == ["relevance"]
    assert result.metadata["weights"] == {"similarity": 1.0}
    assert "judge timed out" in result.metadata["missing_reasons"]["relevance"]
    assert "relevance" in result.reason and "renormalized" in result.reason


def test_an_absent_result_is_missing_too() -> None:
    result = agg(weights=SEED_WEIGHTS).aggregate({"relevance": GraderScore(score=0.5)})
    assert result.score == pytest.approx(0.5)
    assert result.metadata["missing"] == ["similarity"]


def test_error_policy() -> None:
    result = agg(weights=SEED_WEIGHTS, missing="error").aggregate(
        {"similarity": GraderScore(score=0.8), "relevance": GraderError(error="boom")})
    assert isinstance(result, GraderError)
    assert "relevance" in result.error and "boom" in result.error
    assert result.metadata["missing"] == ["relevance"]
    ok = agg(weights=SEED_WEIGHTS, missing="error").aggregate(
        {"similarity": GraderScore(score=0.8), "relevance": GraderScore(score=0.5)})
    assert ok.score == pytest.approx(0.68)


def test_zero_policy_counts_missing_as_zero() -> None:
    result = agg(weights=SEED_WEIGHTS, missing="zero").aggregate(
        {"similarity": GraderScore(score=0.8), "relevance": GraderError(error="boom")})
    # 0.6 * 0.8 + 0.4 * 0 = 0.48
    assert result.score == pytest.approx(0.48)
    assert result.metadata["weights"] == {"similarity": 0.6, "relevance": 0.4}
    assert "counted as 0" in result.reason


@pytest.mark.parametrize("policy", ["renormalize", "error", "zero"])
def test_every_input_errored_is_an_error_never_zero(policy: str) -> None:
    result = agg(weights=SEED_WEIGHTS, missing=policy).aggregate(
        {"similarity": GraderError(error="a"), "relevance": GraderError(error="b")})
    assert isinstance(result, GraderError)
    assert "every weighted input is missing" in result.error
    assert "similarity" in result.error and "relevance" in result.error


def test_a_rank_is_never_summed_with_scores() -> None:
    results = {"similarity": GraderScore(score=0.8), "relevance": GraderRank(rank=1)}
    renorm = agg(weights=SEED_WEIGHTS).aggregate(results)
    assert renorm.score == pytest.approx(0.8)
    assert "rank" in renorm.metadata["missing_reasons"]["relevance"]
    assert isinstance(agg(weights=SEED_WEIGHTS, missing="error").aggregate(results), GraderError)
    only_ranks = agg(weights=SEED_WEIGHTS).aggregate({"similarity": GraderRank(rank=2), "relevance": GraderRank(rank=[1, 2])})
    assert isinstance(only_ranks, GraderError)


def test_a_zero_weight_takes_no_part() -> None:
    result = agg(weights={"similarity": 1.0, "relevance": 0.0}, missing="error").aggregate(
        {"similarity": GraderScore(score=0.3), "relevance": GraderError(error="ignored")})
    assert result.score == pytest.approx(0.3)


def test_no_weights_weighs_the_runs_graders_equally() -> None:
    aggregator = WeightedSumAggregator()
    aggregator.bind(["a", "b", "c"])
    # (0.9 + 0.6 + 0.0) / 3 = 0.5
    result = aggregator.aggregate({"a": GraderScore(score=0.9), "b": GraderScore(score=0.6), "c": GraderScore(score=0.0)})
    assert result.score == pytest.approx(0.5)
    unbound = WeightedSumAggregator().aggregate({"x": GraderScore(score=1.0), "y": GraderScore(score=0.0)})
    assert unbound.score == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"weights": {"similarity": -0.1}}, ["'weights'", "'similarity'", ">= 0"]),
        ({"weights": {"similarity": 0, "relevance": 0}}, ["'weights'", "positive"]),
        ({"weights": {}}, ["'weights'", "empty"]),
        ({"weights": {"similarity": float("nan")}}, ["'weights.similarity'", "finite"]),
        ({"weights": {"similarity": "heavy"}}, ["'weights"]),
        ({"missing": "skip"}, ["'missing'", "'renormalize'", "'error'", "'zero'"]),
        ({"wieghts": {"a": 1}}, ["'wieghts'", "valid settings"]),
    ],
)
def test_bad_settings_name_the_setting(settings: dict, named: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        WeightedSumAggregator(**settings)
    for part in named:
        assert part in str(info.value), str(info.value)


def test_a_weight_typo_fails_the_runner_at_construction() -> None:
    with pytest.raises(ConfigError) as info:
        GradingRunner(
            grader_configs={"similarity": SimilarityGrader(), "length": Length()},
            aggregators=[WeightedSumAggregator(weights={"similarty": 0.6, "length": 0.4})],
        )
    message = str(info.value)
    assert "'similarty'" in message and "'similarity'" in message and "'length'" in message


def test_through_the_runner() -> None:
    runner = GradingRunner(
        grader_configs={"similarity": SimilarityGrader(), "length": Length(scale=10)},
        aggregators=[WeightedSumAggregator(weights={"similarity": 0.5, "length": 0.5})],
    )
    data = [
        {"prediction": "the cat sat", "reference": "the cat sat"},  # similarity 1, length 11/10 -> 1
        {"prediction": "abcde"},                                    # no reference: similarity errors
        {"prediction": "x y", "reference": "z"},                    # similarity 0, length 0.3
    ]
    results = runner.run(data)
    column = results["aggregated_weighted_sum"]
    assert [type(r).__name__ for r in column] == ["GraderScore", "GraderScore", "GraderScore"]
    assert column[0].score == pytest.approx(1.0)
    assert column[1].score == pytest.approx(0.5)          # renormalized over length alone
    assert column[1].metadata["missing"] == ["similarity"]
    assert column[2].score == pytest.approx(0.5 * 0.0 + 0.5 * 0.3)


def test_registered_through_the_hook() -> None:
    host = load_plugins(environ={"RMG_LOAD_PLUGINS": "weighted_sum"})
    assert host.get("aggregator", "weighted_sum") is WeightedSumAggregator
    registered: list[tuple[object, ...]] = []
    rmg_weighted_sum.register_aggregators(lambda *args: registered.append(args))
    # By reference: `rmg --help` does not import the aggregator (nor pydantic).
    assert registered == [("weighted_sum", "rmg_weighted_sum.aggregator:WeightedSumAggregator")]
