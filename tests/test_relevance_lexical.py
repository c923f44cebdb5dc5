"""The relevance grader's lexical backend: golden values, text reduction, edge cases, batch independence."""

from __future__ import annotations

import asyncio
import math
import random
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings, strategies as st

from rmg_core import ConfigError, GraderError, GraderScore, GradingRunner, load_plugins
from rmg_kit import check_grader
from rmg_relevance import RelevanceGrader
from rmg_relevance.lexical import score_pair, stem, tokens
from tests.conftest import ROOT

QUESTION = "How do I reset my password?"


def grade(question, prediction, **settings):  # type: ignore[no-untyped-def]
    return asyncio.run(RelevanceGrader(**settings).aevaluate(input=question, prediction=prediction))


# -- golden values (worked out by hand in the comments) -------------------------------
def test_full_coverage_is_one() -> None:
    # terms {reset, password}, both in the answer: term 1.0, 4-grams 1.0.
    result = grade(QUESTION, "Reset your password in Settings.")
    assert isinstance(result, GraderScore)
    assert result.score == 1.0
    assert result.reason.startswith("answer covers 2 of 2 question terms (matched: reset, password)")
    assert result.metadata["term_coverage"] == 1.0 and result.metadata["char_coverage"] == 1.0


def test_unrelated_answer_is_zero() -> None:
    # No stem matches; none of " res","rese","eset","set " or the 7 grams of
    # "password" occurs in "open" or "settings".
    result = grade(QUESTION, "Open Settings.")
    assert result.score == 0.0
    assert "missing: reset, password" in result.reason


def test_stemming_matches_inflections() -> None:
    # "installation" -> "install" and "installs" -> "install".
    assert stem("installation") == stem("install") == stem("installs") == stem("installing") == "install"
    assert stem("configure") == stem("configuration") == "configur"
    assert grade("Install numpy?", "The numpy installation takes a minute.").score == 1.0


def test_char_grams_give_partial_credit() -> None:
    # terms colour (5 grams: " col","colo","olou","lour","our ") and palette
    # (6 grams).  "palette" matches by stem; of colour's grams " col" and
    # "colo" occur in "color": char coverage (6 + 2) / 11, term coverage 1/2.
    result = grade("colour palette", "a color palette")
    expected = 0.5 * 0.5 + 0.5 * (8 / 11)
    assert result.score == pytest.approx(expected, abs=1e-12)
    assert result.metadata["term_coverage"] == 0.5
    assert result.metadata["char_coverage"] == pytest.approx(8 / 11)


def test_coverage_weight_moves_between_the_two_parts() -> None:
    assert grade("colour palette", "a color palette", coverage_weight=1.0).score == 0.5
    assert grade("colour palette", "a color palette", coverage_weight=0.0).score == pytest.approx(8 / 11)


def test_refusal_scores_zero_by_default_and_says_so() -> None:
    answer = "I'm sorry, but I can't help with resetting your password."
    result = grade(QUESTION, answer)
    assert result.score == 0.0
    assert result.metadata["refusal"] == "I'm sorry, but I can't"
    assert "opens with a refusal" in result.reason
    # Without the penalty the same answer covers the question fully.
    assert grade(QUESTION, answer, refusal_factor=1.0).score == 1.0
    assert grade(QUESTION, answer, refusal_factor=0.5).score == 0.5


def test_a_long_answer_that_apologises_first_is_not_a_refusal() -> None:
    answer = ("Sorry, I can't see your screen, but here is how it works: open the sign-in page, choose "
              "'Forgot password', enter the email of your account, wait for the message, click the reset "
              "link in it, type a new password twice, save it, and sign in again with the new password "
              "on every device you use, including the phone app and the desktop client.")
    result = grade(QUESTION, answer)
    assert result.metadata["refusal"] is None and result.score == 1.0


def test_stop_word_only_question_uses_all_its_words() -> None:
    result = grade("What is it?", "It is what it is.")
    assert result.score == 1.0 and result.metadata["question_terms"] == 3


def test_non_ascii_text_is_tokenised_like_ascii() -> None:
    assert tokens("Café crème, 2 façons!") == ["café", "crème", "2", "façons"]
    assert tokens("Hello, World-wide 42") == ["hello", "world", "wide", "42"]
    assert grade("Où est la gare de Lyon ?", "La gare de Lyon est à Paris.").score > 0.5


# -- text reduction ---------------------------------------------------------------
def test_chat_input_uses_the_last_user_message() -> None:
    chat = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": QUESTION},
    ]
    answer = [{"role": "user", "content": "ignored"}, {"role": "assistant", "content": "Reset your password in Settings."}]
    assert grade(chat, answer).score == 1.0
    # The earlier question is not what is graded.
    assert grade(chat, [{"role": "assistant", "content": "Paris is the capital of France."}]).score == 0.0


def test_openai_content_parts_and_json_objects() -> None:
    chat = [{"role": "user", "content": [{"type": "text", "text": QUESTION}, {"type": "image_url", "image_url": {"url": "x"}}]}]
    assert grade(chat, {"answer": "Reset your password in Settings."}).score == 1.0
    assert grade({"question": QUESTION}, {"output": "Reset the password."}).score == 1.0


# -- empty and odd input -----------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "prediction", "empty"),
    [
        ("", "some answer", "input"),
        ("?!", "some answer", "input"),
        (QUESTION, "", "prediction"),
        (QUESTION, "   \n", "prediction"),
        (QUESTION, [], "prediction"),
        ("", "", "input"),
    ],
)
def test_empty_sides_score_zero_with_a_reason(question, prediction, empty) -> None:  # type: ignore[no-untyped-def]
    result = grade(question, prediction)
    assert isinstance(result, GraderScore)
    assert result.score == 0.0 and result.metadata["empty"] == empty
    assert ("no question text" if empty == "input" else "prediction is empty") in result.reason


def test_none_is_not_applicable_as_the_runner_has_it() -> None:
    """None is missing, not empty: not applicable (a GraderError), never a score of 0 (issue 13)."""
    for question, prediction in ((None, "some answer"), (QUESTION, None)):
        result = grade(question, prediction)
        assert isinstance(result, GraderError) and result.not_applicable


def test_a_missing_field_is_an_error_naming_it() -> None:
    result = asyncio.run(RelevanceGrader().aevaluate(prediction="x"))
    assert isinstance(result, GraderError) and "'input'" in result.error
    [batch] = RelevanceGrader().evaluate_batch([{"input": "x"}])
    assert isinstance(batch, GraderError) and "'prediction'" in batch.error


def test_numbers_and_nested_json_never_give_nan() -> None:
    for question, prediction in [(42, 42), ({"a": [1, 2]}, {"a": [1, 2]}), (["x", "y"], 3.5), (QUESTION, {"k": None})]:
        result = grade(question, prediction)
        assert isinstance(result, GraderScore) and math.isfinite(result.score) and 0.0 <= result.score <= 1.0


def test_one_megabyte_input_and_prediction_are_fast_enough() -> None:
    rng = random.Random(3)
    words = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 10))) for _ in range(30_000)]
    big_q = " ".join(rng.choices(words, k=150_000))[:1_000_000]
    big_a = " ".join(rng.choices(words, k=150_000))[:1_000_000]
    start = time.perf_counter()
    results = RelevanceGrader().evaluate_batch([
        {"input": big_q, "prediction": "short answer"},
        {"input": QUESTION, "prediction": big_a},
        {"input": big_q, "prediction": big_a},
    ])
    elapsed = time.perf_counter() - start
    assert all(isinstance(r, GraderScore) and 0.0 <= r.score <= 1.0 for r in results)
    assert results[2].score > 0.5  # same vocabulary on both sides
    assert elapsed < 30, f"1 MB cases took {elapsed:.1f}s"


# -- per-case semantics -------------------------------------------------------------
texts = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), max_size=80)
plain_words = st.lists(st.sampled_from(
    "reset password install numpy the how do I sorry can't help with email change account capital".split()
), max_size=12).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.one_of(texts, plain_words), st.one_of(texts, plain_words)), min_size=1, max_size=12),
       st.randoms(use_true_random=False))
def test_a_score_does_not_depend_on_its_batch(pairs, rnd) -> None:  # type: ignore[no-untyped-def]
    grader = RelevanceGrader()
    items = [{"input": q, "prediction": a} for q, a in pairs]
    alone = [grader.evaluate_batch([item])[0] for item in items]
    together = grader.evaluate_batch(items)
    order = list(range(len(items)))
    rnd.shuffle(order)
    shuffled = grader.evaluate_batch([items[i] for i in order])
    for i, result in enumerate(together):
        assert result.score == alone[i].score and result.reason == alone[i].reason
        assert 0.0 <= result.score <= 1.0 and math.isfinite(result.score)
    for j, i in enumerate(order):
        assert shuffled[j].score == alone[i].score


def test_score_pair_is_deterministic_across_cache_states() -> None:
    from rmg_relevance import lexical

    first = score_pair("analysing colours quickly", "the colour analysis was quick")
    lexical._STEMS.clear()
    lexical._GRAMS.clear()
    assert score_pair("analysing colours quickly", "the colour analysis was quick") == first


# -- through the runner and the plugin system ----------------------------------------
def test_runner_uses_the_batch_path_and_keeps_order() -> None:
    grader = RelevanceGrader()
    assert grader.supports_batch() and RelevanceGrader.supports_batch()
    data = [{"input": QUESTION, "prediction": p} for p in ("Reset your password.", "Open Settings.", "")] + [{"input": QUESTION}]
    results = GradingRunner({"relevance": grader}).run(data)["relevance"]
    assert [r.score for r in results[:2]] == [1.0, 0.0]
    assert isinstance(results[2], GraderScore) and results[2].metadata["empty"] == "prediction"
    assert isinstance(results[3], GraderError) and "prediction" in results[3].error


def test_conformance_kit_passes() -> None:
    import rmg_relevance

    check_grader(
        RelevanceGrader,
        [
            {"input": QUESTION, "prediction": "Reset your password in Settings."},
            {"input": "colour palette", "prediction": "a color palette"},
            {"input": [{"role": "user", "content": "Capital of France?"}], "prediction": "Paris is the capital."},
            {"input": QUESTION, "prediction": "I'm sorry, I can't help with that."},
        ],
        invalid_settings=[{"backend": "bm25"}, {"coverage_weight": 1.5}, {"refusal_factor": -0.1}],
        other_settings={"coverage_weight": 0.7},
        plugin=rmg_relevance,
    )


def test_registered_under_its_name_and_light_to_import() -> None:
    host = load_plugins(environ={"RMG_LOAD_PLUGINS": "relevance"})
    assert host.get("grader", "relevance") is RelevanceGrader
    code = ("import sys, rmg_relevance; heavy = [m for m in ('numpy', 'sklearn', 'httpx', 'tenacity', 'sqlite3') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


# -- settings -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"backend": "bm25"}, "'backend'"),
        ({"coverage_weight": 2}, "'coverage_weight'"),
        ({"refusal_factor": "lots"}, "'refusal_factor'"),
        ({"bakend": "llm"}, "'bakend'"),
        ({"model": "gpt-4o-mini"}, "'model'"),
        ({"api_key": "sk-x", "request_timeout": 3}, "'api_key', 'request_timeout'"),
        ({"backend": "llm", "model": "m", "api_key": "k", "refusal_factor": 0.5}, "'refusal_factor'"),
        ({"backend": "llm", "model": "m", "api_key": "k", "request_timeout": 0}, "'request_timeout'"),
        ({"backend": "llm", "model": "m", "api_key": "k", "base_url": "localhost:8000"}, "'base_url'"),
        ({"backend": "llm", "model": "m", "api_key": "k", "max_in_flight": 0}, "'max_in_flight'"),
    ],
)
def test_bad_settings_are_config_errors_naming_the_setting(settings, named) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        RelevanceGrader(**settings)
    assert named in str(info.value)
    assert "relevance" in str(info.value)


def test_the_docs_toml_example_builds_both_backends(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import re
    import tomllib

    from rmg_core.config import build_grader, parse_config

    text = (ROOT / "docs" / "graders" / "relevance.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    config = parse_config(tomllib.loads(block), "relevance.md",
                          environ={"OPENAI_API_KEY": "sk-doc", "XDG_CACHE_HOME": str(tmp_path)})
    host = load_plugins(environ={"RMG_LOAD_PLUGINS": "relevance"})
    lexical = build_grader(host, config.graders["relevance"])
    judge = build_grader(host, config.graders["relevance_judge"])
    assert lexical.settings.backend == "lexical" and judge.settings.backend == "llm"
    assert judge.settings.request_timeout == 30 and config.graders["relevance_judge"].timeout == 120
    # Every setting of the model is in the docs' table.
    for name in RelevanceGrader.Settings.model_fields:
        assert f"| `{name}` |" in text, f"setting {name!r} is not documented"
