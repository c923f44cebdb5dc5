"""The built-in graders pass the same conformance checks the kit offers third-party plugins."""

from __future__ import annotations

import pytest

import rmg_relevance
import rmg_similarity
from rmg_kit import check_grader
from rmg_relevance import RelevanceGrader
from rmg_similarity import SimilarityGrader

PAIRS = [
    {"prediction": "The cat sat on the mat.", "reference": "A cat was sitting on the mat."},
    {"prediction": "Paris is the capital of France.", "reference": "The capital of France is Paris."},
    {"prediction": "", "reference": "something"},
    {"prediction": [{"role": "assistant", "content": "Refunds take 5 days."}], "reference": {"answer": "Refunds take five business days."}},
    {"prediction": "Café crème, s'il vous plaît", "reference": "cafe creme"},
    {"prediction": "same same same", "reference": "same same same"},
]
QUESTIONS = [
    {"input": "How long do refunds take?", "prediction": "Refunds take five business days after we receive the item."},
    {"input": [{"role": "system", "content": "be nice"}, {"role": "user", "content": "Where is my order #123?"}],
     "prediction": [{"role": "assistant", "content": "Order #123 shipped yesterday."}]},
    {"input": "Do you ship to Canada?", "prediction": "I'm sorry, I can't help with that."},
    {"input": "What is the warranty?", "prediction": "Bananas are yellow."},
    {"input": "¿Puedo devolver unas botas?", "prediction": "Sí, puede devolver las botas en 30 días."},
]


@pytest.mark.parametrize("algorithm", ["cosine", "token_f1", "jaccard"])
def test_similarity_conforms(algorithm: str) -> None:
    report = check_grader(
        SimilarityGrader, PAIRS, {"algorithm": algorithm},
        invalid_settings=[{"algorithm": "euclid"}, {"ngram_range": [3, 1]}, {"lowercase": "sometimes"}],
        other_settings={"algorithm": algorithm, "ngram_range": [1, 3]},
        plugin=rmg_similarity,
    )
    assert "batch vs alone" in report.checked and "odd payloads give results" in report.checked


@pytest.mark.parametrize("algorithm", ["bleu", "chrf", "rouge", "meteor", "fuzzy_match", "edit_distance", "gleu"])
def test_similarity_openjudge_algorithms_conform(algorithm: str) -> None:
    report = check_grader(
        SimilarityGrader, PAIRS, {"algorithm": algorithm},
        invalid_settings=[{"algorithm": algorithm, "ngram_range": [1, 9]}, {"algorithm": algorithm, "bogus": 1}],
        other_settings={"algorithm": "token_f1"},
        plugin=rmg_similarity,
    )
    assert "batch vs alone" in report.checked and "odd payloads give results" in report.checked


def test_semantic_similarity_local_conforms() -> None:
    import rmg_embeddings
    from rmg_embeddings import SemanticSimilarityGrader

    report = check_grader(
        SemanticSimilarityGrader, PAIRS, {}, invalid_settings=[{"dim": 100}, {"backend": "magic"}],
        other_settings={"dim": 64}, plugin=rmg_embeddings,
    )
    assert "batch vs alone" in report.checked


def test_relevance_lexical_conforms() -> None:
    report = check_grader(
        RelevanceGrader, QUESTIONS, {"backend": "lexical", "refusal_factor": 0.2},
        invalid_settings=[{"coverage_weight": 1.5}, {"backend": "oracle"}, {"model": "gpt-4o"}],
        other_settings={"backend": "lexical", "refusal_factor": 0.5},
        plugin=rmg_relevance,
    )
    assert "batch vs alone" in report.checked and "fingerprint changes with settings" in report.checked
