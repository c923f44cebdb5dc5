"""The relevance grader's llm backend against a real local fake of the OpenAI API."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest

from rmg_core import ConfigError, GraderError, GraderScore, GradingRunner
from rmg_relevance import RelevanceGrader
from rmg_relevance.judge import parse_retry_after
from rmg_relevance.rubric import RUBRIC_VERSION, SYSTEM_PROMPT, MalformedVerdict, parse_verdict
from tests.fake_openai import Answer, CloseConnection, Content, FakeOpenAI, RateLimited, ServerError, Slow

pytestmark = pytest.mark.integration

KEY = "sk-test-SECRET-4d1f9c"
QUESTION = "How do I reset my password?"
ANSWER = "Open the sign-in page and click 'Forgot password'."


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    with FakeOpenAI(api_key=KEY) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def judge(server: FakeOpenAI, tmp_path: Path, **overrides) -> RelevanceGrader:  # type: ignore[no-untyped-def]
    settings = dict(backend="llm", base_url=server.base_url, model="judge-1", api_key=KEY,
                    request_timeout=2.0, max_retries=2, retry_backoff=0.01, retry_backoff_max=2.0,
                    cache_dir=tmp_path / "cache")
    settings.update(overrides)
    return RelevanceGrader(**settings)


def run(grader: RelevanceGrader, question=QUESTION, answer=ANSWER):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        try:
            return await grader.aevaluate(input=question, prediction=answer)
        finally:
            await grader.aclose()

    return asyncio.run(go())


def test_normal_answer_is_normalised_with_the_explanation_as_reason(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.program(Answer(rating=4, explanation="It explains the reset steps."))
    result = run(judge(server, tmp_path))
    assert isinstance(result, GraderScore)
    assert result.score == 0.75 and result.reason == "It explains the reset steps."
    assert result.metadata["rating"] == 4 and result.metadata["cached"] is False
    assert result.metadata["rubric_version"] == RUBRIC_VERSION and result.metadata["model"] == "judge-1"
    [request] = server.received
    assert request.body["model"] == "judge-1" and request.body["temperature"] == 0.0
    system, user = request.body["messages"]
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert QUESTION in user["content"] and ANSWER in user["content"]
    assert server.unauthorized == 0


@pytest.mark.parametrize(("rating", "score"), [(1, 0.0), (2, 0.25), (3, 0.5), (5, 1.0), (4.0, 0.75)])
def test_every_rating_maps_to_zero_one(server, tmp_path, rating, score) -> None:  # type: ignore[no-untyped-def]
    server.program(Answer(rating=rating))
    assert run(judge(server, tmp_path, cache=False)).score == score


def test_chat_inputs_are_reduced_before_judging(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}]
    run(judge(server, tmp_path), chat, [{"role": "assistant", "content": ANSWER}])
    user = server.received[0].body["messages"][1]["content"]
    assert "Be brief." not in user and QUESTION in user and ANSWER in user


def test_slow_beyond_timeout_is_an_error_and_not_retried(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.program(Slow(delay=1.5))
    result = run(judge(server, tmp_path, request_timeout=0.3))
    assert isinstance(result, GraderError)
    assert "did not answer within 0.3s" in result.error and server.base_url in result.error
    assert server.requests == 1


def test_429_is_retried_after_retry_after(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.program(RateLimited(retry_after="1"), Answer(rating=5))
    start = time.monotonic()
    result = run(judge(server, tmp_path))
    assert isinstance(result, GraderScore) and result.score == 1.0
    assert server.requests == 2
    assert time.monotonic() - start >= 0.9  # the header's wait, not the 0.01 s backoff


def test_500_then_success(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.program(ServerError(500), ServerError(503), Answer(rating=3))
    result = run(judge(server, tmp_path))
    assert isinstance(result, GraderScore) and result.score == 0.5 and server.requests == 3


def test_closed_connection_then_success(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.program(CloseConnection(), Answer(rating=2))
    result = run(judge(server, tmp_path))
    assert isinstance(result, GraderScore) and result.score == 0.25 and server.requests == 2


def test_persistent_500_is_an_error_naming_status_and_url(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.default = ServerError(500, message="upstream exploded")
    result = run(judge(server, tmp_path, max_retries=2))
    assert isinstance(result, GraderError)
    assert "HTTP 500" in result.error and server.base_url in result.error and "after 3 attempts" in result.error
    assert result.metadata["status"] == 500
    assert server.requests == 3


def test_client_errors_are_not_retried(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = run(judge(server, tmp_path, api_key="sk-wrong-key-123"))
    assert isinstance(result, GraderError) and "HTTP 401" in result.error
    assert "sk-wrong-key-123" not in result.error
    assert server.requests == 1 and server.unauthorized == 1


@pytest.mark.parametrize(
    "content",
    [
        "The answer is relevant, I'd give it a 4.",
        '{"rating": 7, "explanation": "very relevant"}',
        '{"rating": 0, "explanation": "x"}',
        '{"rating": "4", "explanation": "x"}',
        '{"rating": true, "explanation": "x"}',
        '{"rating": 3.5, "explanation": "x"}',
        '{"explanation": "no rating"}',
        '{"rating": 4}',
        '[4, "list"]',
        None,
    ],
)
def test_malformed_judge_answers_are_errors_with_the_raw_answer(server, tmp_path, content) -> None:  # type: ignore[no-untyped-def]
    server.program(Content(content))
    grader = judge(server, tmp_path)
    result = run(grader)
    assert isinstance(result, GraderError) and "malformed" in result.error
    raw = result.metadata["raw_answer"]
    assert (content in raw) if content is not None else ("'content': None" in raw)
    # A failure is not cached: the next run asks again.
    server.program(Answer(rating=4))
    assert run(judge(server, tmp_path)).score == 0.75 and server.requests == 2


def test_fenced_json_is_accepted() -> None:
    assert parse_verdict('```json\n{"rating": 5, "explanation": "Direct."}\n```') == (5, "Direct.")
    with pytest.raises(MalformedVerdict):
        parse_verdict('Sure! {"rating": 5, "explanation": "Direct."}')


def test_rerun_hits_the_cache_with_zero_requests(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = [{"input": f"Question {i}?", "prediction": f"Answer {i}."} for i in range(5)]
    first = GradingRunner({"relevance": judge(server, tmp_path)}, max_concurrency=4).run(data)["relevance"]
    assert server.requests == 5 and all(r.metadata["cached"] is False for r in first)
    # A new grader (a new process, in real life) over the same cache folder.
    second = GradingRunner({"relevance": judge(server, tmp_path)}, max_concurrency=4).run(data)["relevance"]
    assert server.requests == 5
    assert [r.score for r in second] == [r.score for r in first]
    assert all(r.metadata["cached"] is True and r.reason == first[0].reason for r in second)
    # Another model is another key.
    GradingRunner({"relevance": judge(server, tmp_path, model="judge-2")}).run(data[:1])
    assert server.requests == 6


def test_cache_off_always_asks(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    grader = judge(server, tmp_path, cache=False)
    run(grader)
    run(grader)
    assert server.requests == 2 and not (tmp_path / "cache").exists()


def test_in_flight_requests_are_bounded(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    server.default = Answer(rating=4, delay=0.15)
    grader = judge(server, tmp_path, max_in_flight=2, cache=False)
    data = [{"input": f"Q{i}?", "prediction": f"A{i}."} for i in range(8)]
    results = GradingRunner({"relevance": grader}, max_concurrency=8).run(data)["relevance"]
    assert all(isinstance(r, GraderScore) for r in results)
    assert server.requests == 8 and server.max_in_flight == 2


def test_the_grader_works_across_event_loops(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    grader = judge(server, tmp_path, cache=False)
    assert asyncio.run(grader.aevaluate(input=QUESTION, prediction=ANSWER)).score == 0.75
    assert asyncio.run(grader.aevaluate(input=QUESTION, prediction=ANSWER)).score == 0.75
    assert server.requests == 2


def test_empty_sides_score_zero_without_a_request(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    grader = judge(server, tmp_path)
    assert run(grader, QUESTION, "  ").score == 0.0
    assert run(grader, "  ", ANSWER).metadata["empty"] == "input"
    # No question at all (None) is not applicable (issue 13), never 0.0, and costs no request either.
    missing = run(grader, None, ANSWER)
    assert isinstance(missing, GraderError) and missing.not_applicable
    assert server.requests == 0


def test_runner_goes_through_aevaluate(server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    grader = judge(server, tmp_path)
    assert grader.supports_batch() is False
    with pytest.raises(NotImplementedError):
        grader.evaluate_batch([{"input": QUESTION, "prediction": ANSWER}])


def test_the_key_never_leaks(server, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    grader = judge(server, tmp_path)
    texts = [repr(grader), str(grader.settings), grader.fingerprint(), repr(grader._judge)]
    server.program(RateLimited(retry_after="0"), ServerError(500), Answer(rating=4))
    texts.append(run(grader).model_dump_json())
    server.default = ServerError(500, message=f"echoing {KEY}")  # a server that echoes the key back
    texts.append(run(grader, "other question", "other answer").model_dump_json())
    server.default = Content(f"not json {KEY}")
    texts.append(run(grader, "third question", "third answer").model_dump_json())
    texts.extend(record.getMessage() for record in caplog.records)
    assert any("retrying" in t for t in texts)  # the retries were logged...
    for text in texts:
        assert KEY not in text  # ...and nothing shows the key
    for file in (tmp_path / "cache").iterdir():
        assert KEY.encode() not in file.read_bytes()
    assert server.received[0].headers["Authorization"] == f"Bearer {KEY}"


def test_missing_key_is_a_config_error_naming_setting_and_env(tmp_path) -> None:
    with pytest.raises(ConfigError) as info:
        RelevanceGrader(backend="llm", model="judge-1", cache_dir=tmp_path)
    assert "'api_key'" in str(info.value) and "OPENAI_API_KEY" in str(info.value)
    with pytest.raises(ConfigError, match="'model'"):
        RelevanceGrader(backend="llm", api_key="k", cache_dir=tmp_path)


def test_key_and_base_url_from_the_environment(server, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url + "/")
    grader = RelevanceGrader(backend="llm", model="judge-1", cache_dir=tmp_path, max_retries=0)
    assert run(grader).score == 0.75 and server.unauthorized == 0


def test_default_cache_dir_is_under_the_user_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    grader = RelevanceGrader(backend="llm", model="judge-1", api_key="k")
    assert grader._judge.cache.path == tmp_path / "rmg" / "relevance" / "judge-cache.sqlite3"


def test_retry_after_parsing() -> None:
    assert parse_retry_after("2") == 2.0 and parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait


def test_rubric_asks_for_strict_json() -> None:
    assert '{"rating": <integer from 1 to 5>' in SYSTEM_PROMPT
    assert json.loads('{"rating": 3, "explanation": "x"}')  # the shape parse_verdict reads
