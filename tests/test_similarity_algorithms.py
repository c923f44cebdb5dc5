"""Every OpenJudge similarity algorithm: golden values from the reference libraries, and properties.

The golden tests grade random English-like pairs in one batch and compare
each pair's score with the library's own sentence-level call on that pair
(sacreBLEU, NLTK, rouge-score, RapidFuzz), to 1e-9.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rmg_core import ConfigError, GraderScore
from rmg_similarity import SimilarityGrader
from rmg_similarity.settings import ALGORITHM_PARAMS
from rmg_similarity.tokenize import make_tokenizer

ALGORITHMS = sorted(ALGORITHM_PARAMS)
WORDS = (
    "the a an is was are were cat cats dog dogs sat sitting sits run running runs ran quick quickly model models "
    "answer answers answered question questions capital Paris France of and to in on mat mats generalization "
    "connection connected connecting happily happiness 2024 3.14 don't e-mail U.S. GPU GPUs"
).split()
PUNCT = ("", "", "", ",", ".", "!", "?", ";")


def _sentence(rng: random.Random, k: int) -> str:
    words = [rng.choice(WORDS) + rng.choice(PUNCT) for _ in range(k)]
    if words and rng.random() < 0.5:
        words[0] = words[0].capitalize()
    return " ".join(words)


def _pairs(n: int = 150, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ref = _sentence(rng, rng.randint(1, 25))
        if rng.random() < 0.6:  # a partial copy: shared n-grams of every order
            words = ref.split()
            start = rng.randint(0, len(words) - 1)
            pred = " ".join(words[start:start + rng.randint(1, len(words))] + _sentence(rng, rng.randint(0, 8)).split())
        else:
            pred = _sentence(rng, rng.randint(1, 25))
        out.append((pred, ref))
    return out


PAIRS = _pairs()


def batch_scores(algorithm: str, pairs: list[tuple[str, str]] = PAIRS, **settings: object) -> list[GraderScore]:
    results = SimilarityGrader(algorithm=algorithm, **settings).evaluate_batch(
        [{"prediction": p, "reference": r} for p, r in pairs])
    assert all(isinstance(r, GraderScore) for r in results), results
    return results


def words(text: str) -> list[str]:
    return make_tokenizer()(text)


# -- golden values, from the reference libraries, pair by pair ----------------------------
def test_bleu_is_sacrebleu_sentence_bleu() -> None:
    from sacrebleu.metrics import BLEU

    bleu = BLEU(max_ngram_order=4, smooth_method="exp", effective_order=True)
    for (p, r), result in zip(PAIRS, batch_scores("bleu")):
        expected = bleu.sentence_score(p, [r])
        assert result.score == pytest.approx(expected.score / 100, abs=1e-9), (p, r)
        assert result.metadata["precisions"] == pytest.approx([x / 100 for x in expected.precisions], abs=1e-9)
        assert result.metadata["max_ngram_order"] == 4 and result.metadata["smooth_method"] == "exp"


def test_bleu_other_settings_follow_sacrebleu() -> None:
    from sacrebleu.metrics import BLEU

    bleu = BLEU(max_ngram_order=2, smooth_method="floor", smooth_value=0.1, effective_order=False, lowercase=True)
    results = batch_scores("bleu", max_ngram_order=2, smooth_method="floor", smooth_value=0.1,
                           effective_order=False, lowercase=True)
    for (p, r), result in zip(PAIRS, results):
        assert result.score == pytest.approx(bleu.sentence_score(p, [r]).score / 100, abs=1e-9), (p, r)


def test_chrf_is_sacrebleu_chrf() -> None:
    from sacrebleu.metrics import CHRF

    for settings_, chrf in (({}, CHRF(char_order=6, beta=2.0)),
                            ({"word_order": 2}, CHRF(char_order=6, word_order=2, beta=2.0))):
        for (p, r), result in zip(PAIRS, batch_scores("chrf", **settings_)):
            assert result.score == pytest.approx(chrf.sentence_score(p, [r]).score / 100, abs=1e-9), (p, r)


@pytest.mark.parametrize("method", [1, 0, 4, 7])
def test_sentence_bleu_is_nltk(method: int) -> None:
    import warnings

    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    smoothing = getattr(SmoothingFunction(), f"method{method}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NLTK warns about zero counts with method0
        for (p, r), result in zip(PAIRS, batch_scores("sentence_bleu", smoothing_function=method)):
            expected = sentence_bleu([words(r)], words(p), smoothing_function=smoothing)
            assert result.score == pytest.approx(expected, abs=1e-9), (p, r)


def test_gleu_is_nltk() -> None:
    from nltk.translate.gleu_score import sentence_gleu

    for (p, r), result in zip(PAIRS, batch_scores("gleu")):
        assert result.score == pytest.approx(sentence_gleu([words(r)], words(p)), abs=1e-12), (p, r)


def test_meteor_is_nltk_without_synonyms() -> None:
    from nltk.translate.meteor_score import single_meteor_score

    class NoSynonyms:
        def synsets(self, word: str) -> list:
            return []

    for (p, r), result in zip(PAIRS, batch_scores("meteor")):
        assert result.score == pytest.approx(single_meteor_score(words(r), words(p), wordnet=NoSynonyms()), abs=1e-12)
    # A stem match counts ("cats" ~ "cat"); a synonym ("feline") does not, without WordNet.
    stem, synonym = batch_scores("meteor", [("the cats sat", "the cat sat"), ("the feline sat", "the cat sat")])
    assert stem.score > 0.9 and synonym.score < stem.score


@pytest.mark.parametrize("rouge_type", ["rouge1", "rouge2", "rougeL"])
def test_rouge_is_rouge_score(rouge_type: str) -> None:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer([rouge_type], use_stemmer=True)
    for (p, r), result in zip(PAIRS, batch_scores(rouge_type)):
        expected = scorer.score(r, p)[rouge_type]
        assert result.score == pytest.approx(expected.fmeasure, abs=1e-12), (p, r)
        got = result.metadata[rouge_type]
        assert (got["precision"], got["recall"]) == pytest.approx((expected.precision, expected.recall), abs=1e-12)


def test_rouge_mean_and_score_key() -> None:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
    for (p, r), result in zip(PAIRS, batch_scores("rouge", use_stemmer=False, score_key="recall")):
        expected = scorer.score(r, p)
        mean = sum(expected[t].recall for t in ("rouge1", "rouge2", "rougeL")) / 3
        assert result.score == pytest.approx(mean, abs=1e-12), (p, r)


@pytest.mark.parametrize("algorithm,n", [("rouge_ngram", 3), ("rouge3", 3), ("rouge4", 4), ("rouge5", 5)])
def test_rouge_ngram_is_openjudges_formula(algorithm: str, n: int) -> None:
    for (p, r), result in zip(PAIRS, batch_scores(algorithm)):
        wp, wr = words(p), words(r)
        cp = Counter(tuple(wp[i:i + n]) for i in range(len(wp) - n + 1))
        cr = Counter(tuple(wr[i:i + n]) for i in range(len(wr) - n + 1))
        overlap = sum((cp & cr).values())
        precision = overlap / sum(cp.values()) if cp else 0.0
        recall = overlap / sum(cr.values()) if cr else 0.0
        f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        assert result.score == pytest.approx(f, abs=1e-12) and result.metadata["n"] == n


def test_fuzzy_match_is_levenshtein_ratio() -> None:
    from rapidfuzz.distance import Indel

    for (p, r), result in zip(PAIRS, batch_scores("fuzzy_match")):
        assert result.score == pytest.approx(Indel.normalized_similarity(p, r), abs=1e-9)
        assert result.metadata["matched"] == (result.score >= 0.8) and result.metadata["method"] == "ratio"


def test_edit_distance_is_normalized_levenshtein() -> None:
    from rapidfuzz.distance import Levenshtein

    for (p, r), result in zip(PAIRS, batch_scores("edit_distance")):
        distance = Levenshtein.distance(p, r)
        assert result.metadata["raw_distance"] == distance
        assert result.score == pytest.approx(1 - distance / max(len(p), len(r)), abs=1e-12)
    (plain,) = batch_scores("edit_distance", [("kitten", "sitting")], normalize_by_length=False)
    assert plain.score == pytest.approx(1 / (1 + 3))


def test_cosine_defaults_to_word_1_2_grams_and_says_so() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    for (p, r), result in zip(PAIRS, batch_scores("cosine")):
        if not words(p) or not words(r):
            continue
        vectors = TfidfVectorizer(token_pattern=r"[a-z0-9_]+", ngram_range=(1, 2)).fit_transform([p, r])
        assert result.score == pytest.approx(cosine_similarity(vectors[0], vectors[1])[0, 0], abs=1e-9)
        assert result.metadata["ngram_range"] == [1, 2] and result.metadata["use_tfidf"] is True


def test_f1_score_is_token_f1_and_jaccard_ngrams() -> None:
    assert [r.score for r in batch_scores("f1_score")] == [r.score for r in batch_scores("token_f1")]
    (result,) = batch_scores("jaccard", [("a b c", "a b d")], use_ngrams=True, n=2)
    assert result.score == pytest.approx(1 / 3)  # {a b, b c} vs {a b, b d}


# -- settings ---------------------------------------------------------------------------------
def test_each_algorithm_has_openjudges_defaults() -> None:
    assert SimilarityGrader(algorithm="bleu").settings.params_dict() == {
        "max_ngram_order": 4, "smooth_method": "exp", "smooth_value": None, "effective_order": True, "lowercase": False}
    assert SimilarityGrader(algorithm="chrf").settings.params.char_order == 6
    assert SimilarityGrader(algorithm="chrf").settings.params.beta == 2.0
    assert SimilarityGrader(algorithm="meteor").settings.params.beta == 3.0
    assert SimilarityGrader(algorithm="rougeL").settings.params.rouge_types == ("rougeL",)
    assert SimilarityGrader(algorithm="rouge4").settings.params.n == 4
    assert SimilarityGrader(algorithm="fuzzy_match").settings.params.threshold == 0.8
    assert SimilarityGrader(algorithm="cosine").settings.params.ngram_range == (1, 2)
    assert SimilarityGrader(algorithm="f1_score", normalize=False).settings.params.lowercase is False


def test_the_fingerprint_follows_the_parameters_used() -> None:
    assert SimilarityGrader().fingerprint() == SimilarityGrader(algorithm="cosine", ngram_range=(1, 2)).fingerprint()
    assert SimilarityGrader().fingerprint() != SimilarityGrader(ngram_range=(1, 1)).fingerprint()
    assert SimilarityGrader(algorithm="f1_score", normalize=False).fingerprint() == SimilarityGrader(
        algorithm="f1_score", lowercase=False).fingerprint()
    assert "ngram_range=[1, 2]" in repr(SimilarityGrader())


@pytest.mark.parametrize("settings_,named", [
    ({"algorithm": "rouge1", "max_ngram_order": 3}, ["max_ngram_order", "bleu", "remove it"]),
    ({"algorithm": "bleu", "max_ngram_order": 9}, ["max_ngram_order", "between 1 and 6"]),
    ({"algorithm": "fuzzy_match", "method": "best"}, ["method", "ratio"]),
    ({"algorithm": "blue"}, ["algorithm", "bleu"]),
    ({"algorithm": "rouge", "rouge_types": ["rouge9"]}, ["rouge_types"]),
    ({"algorithm": "token_f1", "normalize": True, "lowercase": True}, ["normalize", "lowercase"]),
])
def test_bad_settings_name_the_setting(settings_: dict, named: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        SimilarityGrader(**settings_)
    for text in named:
        assert text in str(info.value)


# -- properties ----------------------------------------------------------------------------------
SYMMETRIC = ("cosine", "token_f1", "f1_score", "jaccard", "rouge1", "rouge2", "rougeL", "rouge", "rouge_ngram",
             "rouge3", "rouge4", "rouge5", "fuzzy_match", "edit_distance", "gleu")
LOW = st.lists(st.sampled_from("alpha bravo charlie delta echo foxtrot golf hotel".split()), min_size=6, max_size=20)
HIGH = st.lists(st.sampled_from("quebec romeo sierra tango uniform victor whiskey xray".split()), min_size=6, max_size=20)
QUICK = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@QUICK
@given(LOW)
def test_identical_texts_score_one(text: list[str]) -> None:
    sentence = " ".join(text)
    for algorithm in ALGORITHMS:
        (result,) = batch_scores(algorithm, [(sentence, sentence)])
        if algorithm == "meteor":
            # METEOR's fragmentation penalty never reaches 0: one chunk of m words costs 0.5 / m**3.
            assert result.score == pytest.approx(1 - 0.5 / len(text) ** 3, abs=1e-9)
        else:
            assert result.score == pytest.approx(1.0, abs=1e-12), algorithm


@QUICK
@given(LOW, HIGH)
def test_disjoint_texts_score_zero(a: list[str], b: list[str]) -> None:
    # The two vocabularies share no word; they share letters, which only the character measures see.
    for algorithm in ALGORITHMS:
        (result,) = batch_scores(algorithm, [(" ".join(a), " ".join(b))])
        if algorithm in ("chrf", "fuzzy_match", "edit_distance"):
            assert result.score < 0.6, algorithm
        else:
            assert result.score == 0.0, algorithm


@QUICK
@given(LOW, LOW)
def test_symmetric_algorithms_are_symmetric(a: list[str], b: list[str]) -> None:
    p, r = " ".join(a), " ".join(b)
    for algorithm in SYMMETRIC:
        forward, backward = batch_scores(algorithm, [(p, r), (r, p)])
        assert forward.score == pytest.approx(backward.score, abs=1e-12), algorithm


def test_every_algorithm_scores_in_range_names_itself_and_reports_its_parameters() -> None:
    for algorithm in ALGORITHMS:
        for result in batch_scores(algorithm):
            assert 0.0 <= result.score <= 1.0 and result.name == "similarity"
            assert result.metadata["algorithm"] == algorithm
        params = SimilarityGrader(algorithm=algorithm).settings.params_dict()
        assert params.items() <= result.metadata.items()


def test_empty_inputs_follow_the_rule_for_every_algorithm() -> None:
    for algorithm in ALGORITHMS:
        both, same, one = batch_scores(algorithm, [("", ""), ("  ", " "), ("", "some words here")])
        assert (both.score, same.score, one.score) == (1.0, 1.0, 0.0), algorithm
        assert one.metadata["empty"] == "prediction"


def test_a_score_never_depends_on_the_batch() -> None:
    for algorithm in ALGORITHMS:
        together = [r.score for r in batch_scores(algorithm)]
        alone = [batch_scores(algorithm, [pair])[0].score for pair in PAIRS[:20]]
        assert together[:20] == alone, algorithm
