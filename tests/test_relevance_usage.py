"""The llm judge's accounting: requests, retries, cache hits, merged duplicates, tokens, cost in the run's outputs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rmg_core import GradingRunner
from rmg_core.cli import build_cli
from rmg_relevance import RelevanceGrader
from tests.fake_openai import Answer, FakeOpenAI, RateLimited

pytestmark = pytest.mark.integration
KEY = "sk-test-SECRET-77aa"


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    with FakeOpenAI(api_key=KEY) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


def judge(server: FakeOpenAI, cache_dir: Path | None, **extra: Any) -> RelevanceGrader:
    return RelevanceGrader(backend="llm", base_url=server.base_url, model="judge-1", api_key=KEY, request_timeout=5.0,
                           max_retries=2, retry_backoff=0.01, retry_backoff_max=0.05, cache=cache_dir is not None,
                           cache_dir=cache_dir, **extra)


def grade_all(grader: RelevanceGrader, items: list[dict[str, Any]]) -> list[Any]:
    async def go() -> list[Any]:
        try:
            # Every case starts at once, so each duplicate finds its pair's request still in flight.
            results = await GradingRunner({"relevance": grader}, max_concurrency=len(items)).arun(items)
            return list(results["relevance"])
        finally:
            await grader.aclose()

    return asyncio.run(go())


def items(n: int, distinct: int) -> list[dict[str, Any]]:
    return [{"input": f"question {i % distinct}?", "prediction": f"answer {i % distinct}"} for i in range(n)]


def test_identical_requests_in_flight_are_merged(server: FakeOpenAI) -> None:
    grader = judge(server, None)
    results = grade_all(grader, items(40, 10))
    usage = grader.usage()
    assert usage is not None
    assert server.requests == 10 and usage["requests"] == 10 and usage["merged"] == 30
    assert usage["input_tokens"] == 10 * 120 and usage["output_tokens"] == 10 * 24 and usage["model"] == "judge-1"
    # A merged case gets the very verdict of the request it joined.
    assert [r.score for r in results[:10]] == [r.score for r in results[10:20]]
    assert sum(bool(r.metadata.get("merged")) for r in results) == 30


def test_retries_and_usage_are_counted(server: FakeOpenAI) -> None:
    server.program(RateLimited(retry_after=0), Answer())
    grader = judge(server, None)
    grade_all(grader, items(1, 1))
    usage = grader.usage()
    assert usage is not None and (usage["requests"], usage["retries"], usage["cache_hits"]) == (2, 1, 0)
    assert (usage["input_tokens"], usage["output_tokens"]) == (120, 24)  # the 429 carried no usage


def test_a_cached_rerun_agrees_with_the_first_on_every_case(server: FakeOpenAI, tmp_path: Path) -> None:
    cases = items(30, 30)
    first = judge(server, tmp_path / "cache")
    one = grade_all(first, cases)
    again = judge(server, tmp_path / "cache")
    two = grade_all(again, cases)
    assert server.requests == 30
    usage = again.usage()
    assert usage is not None and usage["requests"] == 0 and usage["cache_hits"] == 30
    assert [(r.score, r.reason) for r in one] == [(r.score, r.reason) for r in two]


def test_usage_and_cost_in_summary_terminal_and_report(server: FakeOpenAI, tmp_path: Path, test_host: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    traces = tmp_path / "t.jsonl"
    traces.write_text("".join(json.dumps({"id": f"t{i}", "input": f"q{i % 5}", "output": f"a{i % 5}"}) + "\n" for i in range(20)))
    out = CliRunner().invoke(build_cli(test_host), [
        "eval", str(traces), "-g", "relevance", "-s", "graders.relevance.backend=llm", "-s", f"graders.relevance.base_url={server.base_url}",
        "-s", "graders.relevance.model=judge-1", "-s", "graders.relevance.cache=false", "--price", "judge-1=1.5,6",
        "--summary-json", str(tmp_path / "s.json"), "--report", str(tmp_path / "r.html"),
    ], obj=test_host)
    assert out.exit_code == 0, out.output
    usage = json.loads((tmp_path / "s.json").read_text())["usage"]["relevance"]
    assert usage["requests"] == server.requests == 5 and usage["merged"] == 15
    assert usage["estimated_cost_usd"] == pytest.approx((5 * 120 * 1.5 + 5 * 24 * 6) / 1e6)
    assert "relevance llm judge judge-1: 5 requests (0 retries), 0 cache hits, 15 merged duplicates, 600 input + 120 output tokens, estimated $0.0016" in out.stderr
    page = (tmp_path / "r.html").read_text()
    assert 'id="usage"' in page and "judge-1" in page and KEY not in page and KEY not in out.stderr
