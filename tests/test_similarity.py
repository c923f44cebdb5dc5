"""The ``similarity`` grader: golden values, tokenization, empty inputs, settings, the runner."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys

import pytest

import rmg_similarity
from rmg_core import ConfigError, GraderError, GraderScore, GradingRunner, load_plugins
from rmg_similarity import SimilarityGrader
from rmg_similarity.tokenize import make_tokenizer

#: IDF of a term found in only one of the pair's two texts: ln((1+2)/(1+1)) + 1.
C = math.log(1.5) + 1.0  # 1.4054651081081644


def score(prediction: object, reference: object, **settings: object) -> GraderScore:
    # The hand-computed values below are over single words; cosine's default is word 1-2-grams.
    settings.setdefault("ngram_range", (1, 1))
    result = asyncio.run(SimilarityGrader(**settings).aevaluate(prediction=prediction, reference=reference))
    assert isinstance(result, GraderScore), result
    return result


# -- golden values, hand-computed ------------------------------------------
def test_cosine_identical_texts_is_one() -> None:
    result = score("The cat sat.", "the cat sat")
    assert result.score == 1.0
    assert result.reason == "cosine 1.00 over 3 terms (3 shared)"
    assert result.metadata["algorithm"] == "cosine"


def test_cosine_one_shared_term() -> None:
    # terms a (both: idf 1), b (prediction only: idf C), c (reference only: idf C)
    # w_p = (1, C, 0), w_r = (1, 0, C); dot = 1; |w_p| = |w_r| = sqrt(1 + C^2)
    # C^2 = 1.975332..., so cosine = 1 / (1 + C^2) = 1 / 2.975332... = 0.3360969...
    result = score("a b", "a c")
    assert result.score == pytest.approx(1 / (1 + C * C), abs=1e-15)
    assert result.score == pytest.approx(0.3360969, abs=1e-7)
    assert result.reason == "cosine 0.34 over 3 terms (1 shared)"


def test_cosine_counts_repeats() -> None:
    # prediction: a x2, b x1; reference: a x1.  a shared (idf 1), b only in prediction (idf C)
    # w_p = (2, C), w_r = (1, 0): cosine = 2 / sqrt(4 + C^2) = 2 / 2.44444... = 0.81818...
    assert score("a a b", "a").score == pytest.approx(2 / math.sqrt(4 + C * C), abs=1e-15)


def test_cosine_sublinear_tf() -> None:
    # tf 2 becomes 1 + ln 2 = 1.6931...; w_p = (1.6931, C), w_r = (1, 0)
    # cosine = 1.6931 / sqrt(1.6931^2 + C^2) = 1.6931 / 2.2004 = 0.76945...
    f = 1 + math.log(2)
    assert score("a a b", "a", sublinear_tf=True).score == pytest.approx(f / math.sqrt(f * f + C * C), abs=1e-15)


def test_cosine_disjoint_texts_is_zero() -> None:
    result = score("alpha beta", "gamma delta")
    assert result.score == 0.0
    assert result.reason == "cosine 0.00 over 4 terms (0 shared)"


def test_token_f1() -> None:
    # prediction: the x2, cat, sat, on, mat (6 tokens); reference: the x2, cat, is, on, mat (6)
    # overlap = min counts: the 2 + cat 1 + on 1 + mat 1 = 5; F1 = 2*5 / (6+6) = 0.8333...
    result = score("the cat sat on the mat", "the cat is on the mat", algorithm="token_f1")
    assert result.score == pytest.approx(10 / 12, abs=1e-15)
    assert result.metadata["algorithm"] == "token_f1"
    # precision 1/1, recall 1/3 -> F1 = 2 * 1 * (1/3) / (1 + 1/3) = 0.5 = 2*1 / (1+3)
    assert score("cat", "the cat sat", algorithm="token_f1").score == pytest.approx(0.5, abs=1e-15)


def test_jaccard() -> None:
    # sets {the, cat, sat, on, mat} and {the, cat, is, on, mat}: 4 shared of 6 distinct -> 2/3
    result = score("the cat sat on the mat", "the cat is on the mat", algorithm="jaccard")
    assert result.score == pytest.approx(4 / 6, abs=1e-15)
    assert result.reason == "jaccard 0.67 over 6 terms (4 shared)"


def test_ngram_range() -> None:
    # (1, 2): {a, b, c, "a b", "b c"} vs {a, b, d, "a b", "b d"}: shared a, b, "a b" = 3 of 7
    assert score("a b c", "a b d", algorithm="jaccard", ngram_range=(1, 2)).score == pytest.approx(3 / 7, abs=1e-15)
    # (2, 2): {"a b", "b c"} vs {"a b", "b d"}: 1 of 3
    assert score("a b c", "a b d", algorithm="jaccard", ngram_range=[2, 2]).score == pytest.approx(1 / 3, abs=1e-15)


def test_english_stop_words() -> None:
    # "the" and "a" are dropped: {cat} vs {cat}
    assert score("the cat", "a cat", algorithm="jaccard", stop_words="english").score == 1.0
    # stop words go before n-grams are formed (as scikit-learn does): "cat mat" vs "cat mat"
    assert score("the cat on the mat", "cat mat", ngram_range=(1, 2), stop_words="english").score == pytest.approx(1.0)


# -- tokenization ----------------------------------------------------------
def test_tokenizer_rules() -> None:
    tok = make_tokenizer()
    assert tok("Hello, World! don't 3.14") == ["hello", "world", "don", "t", "3", "14"]
    assert tok("東京都に行く") == ["東京", "京都", "都に", "に行", "行く"]  # overlapping CJK bigrams
    assert tok("猫") == ["猫"]                                            # a one-character run
    assert tok("iPhone手机") == ["iphone", "手机"]
    assert tok("Straße") == tok("STRASSE") == ["strasse"]                # case folding
    assert tok("café") == tok("cafe\u0301") == ["café"]                   # NFKC: one form for accents
    assert tok("ＡＢＣ ﬁne") == ["abc", "fine"]                             # full-width and ligatures
    assert tok("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]                     # vowel signs stay in the word
    assert tok("good 👍🏽 ❤️") == ["good", "👍", "❤"]                        # modifiers and selectors dropped
    assert make_tokenizer(strip_accents=True)("Café naïve が") == ["cafe", "naive", "が"]
    assert make_tokenizer(lowercase=False)("Cat cat") == ["Cat", "cat"]


def test_unicode_scores() -> None:
    # {東京, 京都} vs {京都}: 1 shared of 2 -> 1/2; token F1 = 2*1 / (2+1)
    assert score("東京都", "京都", algorithm="jaccard").score == pytest.approx(0.5)
    assert score("東京都", "京都", algorithm="token_f1").score == pytest.approx(2 / 3)
    assert score("café au lait", "cafe\u0301 au lait").score == 1.0
    assert score("café", "cafe").score == 0.0
    assert score("café", "cafe", strip_accents=True).score == 1.0
    assert score("great 👍", "GREAT 👍🏽").score == 1.0
    assert score("Cat", "cat", lowercase=False).score == 0.0


def test_chat_messages_and_json_are_reduced_to_the_answer() -> None:
    chat = [{"role": "user", "content": "what sat?"}, {"role": "assistant", "content": "the cat sat"}]
    assert score(chat, "the cat sat").score == 1.0
    assert score({"answer": "the cat sat"}, [{"role": "assistant", "content": [{"type": "text", "text": "the cat sat"}]}]).score == 1.0


# -- empty inputs ----------------------------------------------------------
@pytest.mark.parametrize(
    ("prediction", "reference", "expected", "empty"),
    [
        ("", "", 1.0, "both"),
        ("  ", "", 1.0, "both"),         # both blank: the same after stripping
        ("!!!", "!!!", 1.0, "both"),     # no terms, identical text
        ("!!!", "???", 0.0, "both"),     # no terms, different text
        ("", "the answer", 0.0, "prediction"),
        ("an answer", "...", 0.0, "reference"),
    ],
)
def test_empty_inputs_follow_the_rule(prediction: str, reference: str, expected: float, empty: str) -> None:
    for algorithm in ("cosine", "token_f1", "jaccard"):
        result = score(prediction, reference, algorithm=algorithm)
        assert result.score == expected
        assert result.metadata["empty"] == empty
        assert "no terms" in result.reason


def test_stop_words_only_counts_as_empty() -> None:
    result = score("the", "a", stop_words="english")
    assert (result.score, result.metadata["empty"]) == (0.0, "both")


def test_none_is_an_error_not_a_score() -> None:
    result = asyncio.run(SimilarityGrader().aevaluate(prediction="x", reference=None))
    assert isinstance(result, GraderError)
    assert "reference" in result.error


def test_very_long_inputs() -> None:
    words = [f"w{i % 5000}" for i in range(200_000)]          # ~1.2 MB of text
    big = " ".join(words)
    assert len(big) > 1_000_000
    assert score(big, big).score == 1.0
    other = score(big, " ".join(reversed(words[:100_000])))
    assert 0.0 < other.score <= 1.0
    one_token = "x" * 1_000_000                                # a single 1 MB term
    assert score(one_token, one_token).score == 1.0
    assert score(one_token, one_token[:-1]).score == 0.0
    cjk = "東京都に行きました" * 40_000                        # ~1 MB of UTF-8
    assert score(cjk, cjk, algorithm="jaccard").score == 1.0


# -- settings --------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"algorithm": "bm25"}, ["'algorithm'", "'cosine'", "'token_f1'", "'jaccard'"]),
        ({"ngram_range": (2, 1)}, ["'ngram_range'", "min_n <= max_n"]),
        ({"ngram_range": (0, 1)}, ["'ngram_range'"]),
        ({"ngram_range": (1, 9)}, ["'ngram_range'"]),
        ({"stop_words": "french"}, ["'stop_words'", "'english'"]),
        ({"algorithm": "jaccard", "sublinear_tf": True}, ["'sublinear_tf'", "does not apply to algorithm 'jaccard'", "cosine"]),
        ({"lowercase": "maybe"}, ["'lowercase'"]),
        ({"algoritm": "cosine"}, ["'algoritm'", "valid settings", "algorithm"]),
    ],
)
def test_bad_settings_name_the_setting(settings: dict, named: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        SimilarityGrader(**settings)
    message = str(info.value)
    assert message.startswith("similarity")
    for part in named:
        assert part in message, message


def test_settings_change_the_fingerprint() -> None:
    assert SimilarityGrader().fingerprint() == SimilarityGrader(algorithm="cosine").fingerprint()
    assert SimilarityGrader().fingerprint() != SimilarityGrader(algorithm="jaccard").fingerprint()


# -- plugin and runner -----------------------------------------------------
def test_registered_through_the_hook() -> None:
    host = load_plugins(environ={"RMG_LOAD_PLUGINS": "similarity"})
    assert host.get("grader", "similarity") is SimilarityGrader
    assert "similarity" in host.names("grader")


def test_import_loads_no_heavy_library() -> None:
    code = "import sys, rmg_similarity; print(sorted(m for m in ('numpy', 'sklearn', 'scipy', 'sacrebleu', 'nltk', 'rapidfuzz', 'rouge_score') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_through_the_runner_in_input_order_with_errors_for_missing_reference() -> None:
    data = [
        {"prediction": "a b", "reference": "a c"},
        {"prediction": "x"},                               # no reference
        {"prediction": "the cat", "reference": "the cat"},
        {"prediction": "y", "reference": None},
        {"prediction": "", "reference": ""},
    ]
    runner = GradingRunner(grader_configs={"similarity": SimilarityGrader(ngram_range=(1, 1))})
    column = runner.run(data)["similarity"]
    assert [type(r).__name__ for r in column] == ["GraderScore", "GraderError", "GraderScore", "GraderError", "GraderScore"]
    assert column[0].score == pytest.approx(1 / (1 + C * C))
    assert column[2].score == 1.0
    assert "'reference'" in column[1].error and "'reference'" in column[3].error
    assert column[4].score == 1.0


def test_runner_batches_give_the_scores_of_single_calls() -> None:
    data = [{"prediction": f"w{i} w{i % 7} common", "reference": f"w{i % 5} common words"} for i in range(300)]
    grader = SimilarityGrader()
    grader.batch_size = 64  # several batches, the last one partial
    column = GradingRunner(grader_configs={"s": grader}).run(data)["s"]
    singles = [asyncio.run(grader.aevaluate(**item)) for item in data]
    assert [r.score for r in column] == [r.score for r in singles]


def test_passes_the_plugin_kit_conformance_checks() -> None:
    from rmg_kit import check_grader

    cases = [
        {"prediction": "the cat sat", "reference": "the cat sat"},
        {"prediction": "a dog", "reference": "the cat"},
        {"prediction": "", "reference": "x"},
        {"prediction": "東京都に行く", "reference": "京都に行く 👍"},
        {"prediction": [{"role": "assistant", "content": "one two"}], "reference": "one two three"},
    ]
    for settings in ({}, {"algorithm": "token_f1"}, {"algorithm": "jaccard", "ngram_range": (1, 2)}):
        check_grader(
            SimilarityGrader,
            cases,
            settings,
            invalid_settings=[{"algorithm": "nope"}, {"ngram_range": (3, 1)}],
            plugin=rmg_similarity,
        )


@pytest.mark.parametrize("algorithm", ["fuzzy_match", "bleu", "cosine"])
def test_column_built_scores_are_validated_scores_of_their_own(algorithm: str) -> None:
    # rmg_similarity.results builds a batch's scores without validation, sharing one fields set:
    # each must equal a validated GraderScore, and changing one must leave its neighbours alone.
    items = [{"prediction": "the cat sat", "reference": "the cat sat down"},
             {"prediction": "a dog", "reference": "the cat sat down"}]
    first, second = SimilarityGrader(algorithm=algorithm).evaluate_batch(items)
    for result in (first, second):
        validated = GraderScore(name=result.name, score=result.score, reason=result.reason,
                                metadata=dict(result.metadata))
        assert result == validated and repr(result) == repr(validated)
        assert result.model_dump() == validated.model_dump()
        assert result.model_fields_set == validated.model_fields_set
    assert first.metadata is not second.metadata
    before = second.model_dump()
    first.reason = "changed"
    first.metadata["note"] = 1
    copied = first.model_copy(update={"score": 0.5})
    assert copied.score == 0.5 and first.score != 0.5
    assert second.model_dump() == before
