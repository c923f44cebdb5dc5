"""The ``similarity`` grader's properties: batch independence, and agreement with independent computations."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rmg_similarity import SimilarityGrader
from rmg_similarity.terms import count_ngrams, count_unigrams
from rmg_similarity.tokenize import make_tokenizer

ALGORITHMS = [
    {"algorithm": "cosine"},
    {"algorithm": "cosine", "sublinear_tf": True},
    {"algorithm": "token_f1"},
    {"algorithm": "jaccard"},
    {"algorithm": "cosine", "ngram_range": (1, 2), "stop_words": "english"},
]

# Text drawn from a small alphabet so that pairs share terms, plus the hard
# parts: long words (> 8 bytes), CJK, accents, emoji, stop words, punctuation.
WORDS = [
    "the", "a", "cat", "sat", "on", "mat", "dog", "of", "is", "extraordinarily", "internationalization",
    "東京都", "京都", "に行く", "café", "cafe\u0301", "naïve", "Straße", "👍", "👍🏽", "❤️", "नमस्ते",
    "Привет", "мир", "3.14", "don't", "x", "_id", "", "!!!", "\n",
]
texts = st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join)
pairs = st.tuples(texts, texts)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(pairs, min_size=1, max_size=25), which=st.sampled_from(range(len(ALGORITHMS))))
def test_a_score_never_depends_on_the_rest_of_the_batch(batch: list[tuple[str, str]], which: int) -> None:
    grader = SimilarityGrader(**ALGORITHMS[which])
    together = grader.evaluate_batch([{"prediction": p, "reference": r} for p, r in batch])
    for (p, r), in_batch in zip(batch, together):
        alone = grader.evaluate_batch([{"prediction": p, "reference": r}])[0]
        assert alone.score == in_batch.score  # exactly: same numbers added in the same order
        assert alone.reason == in_batch.reason


@settings(max_examples=30, deadline=None)
@given(batch=st.lists(pairs, min_size=1, max_size=20), seed=st.integers(0, 2**32 - 1))
def test_shuffling_a_batch_gives_each_case_the_same_score(batch: list[tuple[str, str]], seed: int) -> None:
    grader = SimilarityGrader()
    order = list(range(len(batch)))
    random.Random(seed).shuffle(order)
    first = grader.evaluate_batch([{"prediction": p, "reference": r} for p, r in batch])
    shuffled = grader.evaluate_batch([{"prediction": batch[i][0], "reference": batch[i][1]} for i in order])
    for position, i in enumerate(order):
        assert shuffled[position].score == pytest.approx(first[i].score, abs=1e-12, rel=0)


@settings(max_examples=80, deadline=None)
@given(text=st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_the_ascii_fast_path_follows_the_unicode_rules(text: str) -> None:
    for lowercase in (True, False):
        fast = make_tokenizer(lowercase=lowercase)
        general = make_tokenizer(lowercase=lowercase, ascii_fast_path=False)
        assert fast(text) == general(text)


@settings(max_examples=60, deadline=None)
@given(batch=st.lists(pairs, min_size=1, max_size=15))
def test_byte_counting_equals_counting_the_tokenizer_terms(batch: list[tuple[str, str]]) -> None:
    # count_unigrams (numpy over bytes) against count_ngrams (the tokenizer's
    # terms as Python strings): the same (pair, tf_p, tf_r) multiset.
    tokenize = make_tokenizer()
    docs = [t for pair in batch for t in pair]
    fast, general = count_unigrams(docs, tokenize, True, None), count_ngrams(docs, tokenize, (1, 1), None)

    def rows(counts):  # type: ignore[no-untyped-def]
        return sorted(zip(counts.pair.tolist(), counts.tf_p.tolist(), counts.tf_r.tolist()))

    assert rows(fast) == rows(general)


# -- agreement with scikit-learn, pair by pair --------------------------------
def _dataset(n: int = 500, seed: int = 7) -> list[tuple[str, str]]:
    """ASCII answers with capitals, punctuation, digits, repeats and long words."""
    rng = random.Random(seed)
    vocab = [
        "the", "a", "an", "of", "to", "in", "is", "it", "and", "for", "on", "with", "as", "was", "at", "by",
        "model", "answer", "question", "paris", "france", "capital", "city", "river", "seine", "population",
        "million", "2", "21", "1789", "revolution", "museum", "louvre", "tower", "eiffel", "built",
        "approximately", "internationally", "recognized", "characteristically", "photosynthesis", "x_1",
    ]
    out = []
    for _ in range(n):
        reference = rng.choices(vocab, k=rng.randint(3, 40))
        keep = rng.random()
        prediction = [w if rng.random() < keep else rng.choice(vocab) for w in reference]
        prediction += rng.choices(vocab, k=rng.randint(0, 10))
        fmt = lambda ws: " ".join(w.capitalize() if rng.random() < 0.2 else w for w in ws) + rng.choice([".", "!", ", ok?"])  # noqa: E731
        out.append((fmt(prediction), fmt(reference)))
    return out


@pytest.mark.parametrize(
    "options",
    [{}, {"sublinear_tf": True}, {"ngram_range": (1, 2)}, {"ngram_range": (1, 3), "stop_words": "english"}],
)
def test_cosine_agrees_with_scikit_learn_pair_by_pair(options: dict) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    data = _dataset()
    options = {"ngram_range": (1, 1), **options}  # scikit-learn's default terms are words
    grader = SimilarityGrader(algorithm="cosine", **options)
    ours = grader.evaluate_batch([{"prediction": p, "reference": r} for p, r in data])
    for (p, r), result in zip(data, ours):
        # The definition, straight: TF-IDF fitted on the pair's two texts
        # (smooth IDF, L2 norm), cosine of the two rows.  On ASCII text our
        # terms are runs of [A-Za-z0-9_] lowercased, which is sklearn's \w+.
        vectorizer = TfidfVectorizer(token_pattern=r"\w+", **options)
        rows = vectorizer.fit_transform([p, r])
        expected = float(rows[0].multiply(rows[1]).sum())
        assert result.score == pytest.approx(expected, abs=1e-9, rel=0), (p, r)


@pytest.mark.parametrize("algorithm", ["token_f1", "jaccard"])
def test_set_measures_agree_with_a_direct_computation(algorithm: str) -> None:
    import re

    data = _dataset(seed=11)
    ours = SimilarityGrader(algorithm=algorithm).evaluate_batch([{"prediction": p, "reference": r} for p, r in data])
    for (p, r), result in zip(data, ours):
        tp, tr = Counter(re.findall(r"\w+", p.lower())), Counter(re.findall(r"\w+", r.lower()))
        if algorithm == "token_f1":
            overlap = sum((tp & tr).values())
            precision, recall = overlap / sum(tp.values()), overlap / sum(tr.values())
            expected = 0.0 if overlap == 0 else 2 * precision * recall / (precision + recall)
        else:
            expected = len(tp.keys() & tr.keys()) / len(tp.keys() | tr.keys())
        assert result.score == pytest.approx(expected, abs=1e-12), (p, r)


def test_scores_are_in_range_and_finite() -> None:
    grader = SimilarityGrader()
    for result in grader.evaluate_batch([{"prediction": p, "reference": r} for p, r in _dataset(200, seed=3)]):
        assert math.isfinite(result.score) and 0.0 <= result.score <= 1.0
