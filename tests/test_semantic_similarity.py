"""The ``semantic_similarity`` grader: the offline WordLlama backend, and the OpenAI-compatible one
against a real server on 127.0.0.1 (tests/fake_embeddings.py), including 429, 500 and garbage."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
from pathlib import Path

import pytest

from rmg_core import ConfigError, GraderError, GraderScore, GradingRunner, load_plugins
from rmg_embeddings import SemanticSimilarityGrader
from tests.fake_embeddings import FakeEmbeddings, fake_embedding

PARAPHRASE = ("The cat sat on the mat.", "A cat was sitting on the rug.")
UNRELATED = ("The cat sat on the mat.", "Quarterly revenue grew by eight percent.")


def grade(grader: SemanticSimilarityGrader, pairs: list[tuple[str, str]]) -> list:
    return grader.evaluate_batch([{"prediction": p, "reference": r} for p, r in pairs])


# -- local (WordLlama, offline) ---------------------------------------------------------------
def test_local_backend_works_offline_and_ranks_meaning() -> None:
    grader = SemanticSimilarityGrader()
    same, para, unrelated = grade(grader, [(PARAPHRASE[0], PARAPHRASE[0]), PARAPHRASE, UNRELATED])
    assert same.score == pytest.approx(1.0, abs=1e-5)
    assert para.score > unrelated.score
    assert para.name == "semantic_similarity" and para.metadata["model"] == "wordllama-l2_supercat-256"
    assert 0.0 <= unrelated.score <= 1.0 and math.isfinite(unrelated.metadata["cosine"])


def test_local_backend_loads_nothing_from_the_network() -> None:
    # Run where any socket use fails: the model must come from the installed wheel.
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = refuse; socket.create_connection = refuse; socket.getaddrinfo = refuse\n"
        "from rmg_embeddings import SemanticSimilarityGrader\n"
        "r = SemanticSimilarityGrader(dim=64).evaluate_batch([{'prediction': 'hello there', 'reference': 'hi there'}])\n"
        "print(r[0].score)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 0.0 < float(done.stdout.strip()) <= 1.0


def test_batch_scores_equal_single_scores_and_empty_rule() -> None:
    grader = SemanticSimilarityGrader()
    pairs = [PARAPHRASE, UNRELATED, ("", ""), ("", "text"), ("Paris", "Paris")]
    batch = grade(grader, pairs)
    alone = [asyncio.run(grader.aevaluate(prediction=p, reference=r)) for p, r in pairs]
    assert [r.score for r in batch] == pytest.approx([r.score for r in alone], abs=1e-6)
    assert (batch[2].score, batch[3].score, batch[3].metadata["empty"]) == (1.0, 0.0, "prediction")
    (missing,) = grader.evaluate_batch([{"prediction": "x", "reference": None}])
    assert isinstance(missing, GraderError) and "'reference'" in missing.error


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="only to backend 'openai'"):
        SemanticSimilarityGrader(batch_size=10)
    with pytest.raises(ConfigError, match="'dim'"):
        SemanticSimilarityGrader(backend="openai", dim=64, cache=False)
    with pytest.raises(ConfigError, match="http"):
        SemanticSimilarityGrader(backend="openai", base_url="localhost:8000", cache=False)


def test_registered_through_the_hook_and_import_is_light() -> None:
    host = load_plugins(environ={"RMG_LOAD_PLUGINS": "embeddings"})
    assert host.get("grader", "semantic_similarity") is SemanticSimilarityGrader
    code = "import sys, rmg_embeddings; print(sorted(m for m in ('numpy', 'httpx', 'wordllama') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# -- openai-compatible endpoint ----------------------------------------------------------------
def remote(server: FakeEmbeddings, tmp_path: Path, **settings: object) -> SemanticSimilarityGrader:
    options = {"backend": "openai", "base_url": server.base_url, "api_key": server.api_key, "model": "fake-embed",
               "cache_dir": tmp_path, "retry_backoff": 0.01, "retry_backoff_max": 0.05, **settings}
    return SemanticSimilarityGrader(**options)


def _cosine(a: str, b: str) -> float:
    x, y = fake_embedding(a), fake_embedding(b)
    return sum(i * j for i, j in zip(x, y)) / math.sqrt(sum(i * i for i in x) * sum(j * j for j in y))


@pytest.mark.integration
def test_remote_batches_caches_and_scores(tmp_path: Path) -> None:
    pairs = [(f"answer number {i} about cats", f"reference {i} about cats") for i in range(10)] + [PARAPHRASE]
    with FakeEmbeddings() as server:
        grader = remote(server, tmp_path, batch_size=4, max_in_flight=2)
        results = grade(grader, pairs)
        assert all(isinstance(r, GraderScore) for r in results)
        assert [r.score for r in results] == pytest.approx([max(0.0, _cosine(p, r)) for p, r in pairs], abs=1e-6)
        sent = [len(body["input"]) for body in server.requests]
        assert sum(sent) == 22 and max(sent) <= 4 and server.requests[0]["model"] == "fake-embed"
        assert set(server.authorizations) == {"Bearer sk-test"}
        # A second grader with the same cache folder sends nothing: every text is cached.
        before = len(server.requests)
        again = grade(remote(server, tmp_path), pairs)
        assert len(server.requests) == before
        assert [r.score for r in again] == pytest.approx([r.score for r in results], abs=1e-6)
        # The same server under another name is another endpoint (another provider, in real life): asked again.
        grade(remote(server, tmp_path, base_url=server.base_url.replace("127.0.0.1", "localhost")), [PARAPHRASE])
        assert len(server.requests) == before + 1
        assert "sk-test" not in (tmp_path / "embeddings-cache.sqlite3").read_bytes().decode("latin-1")


@pytest.mark.integration
def test_remote_retries_429_with_retry_after_and_500(tmp_path: Path) -> None:
    with FakeEmbeddings() as server:
        server.program(("status", 429, "0"), ("status", 500, None), "ok")
        (result,) = grade(remote(server, tmp_path, cache=False), [PARAPHRASE])
        assert isinstance(result, GraderScore) and len(server.requests) == 3


@pytest.mark.integration
@pytest.mark.parametrize("behaviour,words", [
    (("status", 500, None), ["failed after 3 attempt", "HTTP 500"]),
    ("garbage", ["not JSON"]),
    ("short", ["'data' list of 2"]),
    ("nan", ["finite numbers"]),
])
def test_remote_failures_are_errors_never_scores(tmp_path: Path, behaviour: object, words: list[str]) -> None:
    with FakeEmbeddings() as server:
        server.program(*([behaviour] * 3))
        results = grade(remote(server, tmp_path, cache=False, max_retries=2), [PARAPHRASE])
        assert isinstance(results[0], GraderError), results
        for word in words:
            assert word in results[0].error
        assert "sk-test" not in results[0].error


@pytest.mark.integration
def test_a_bad_key_is_an_error_naming_the_setting_and_not_retried(tmp_path: Path) -> None:
    with FakeEmbeddings() as server:
        (result,) = grade(remote(server, tmp_path, api_key="sk-wrong", cache=False), [PARAPHRASE])
        assert isinstance(result, GraderError) and "HTTP 401" in result.error and "api_key" in result.error
        assert len(server.requests) == 1 and "sk-wrong" not in result.error and "sk-wrong" not in repr(
            remote(server, tmp_path, api_key="sk-wrong", cache=False))


@pytest.mark.integration
def test_remote_through_the_runner(tmp_path: Path) -> None:
    with FakeEmbeddings() as server:
        runner = GradingRunner(grader_configs={"meaning": remote(server, tmp_path)})
        column = runner.run([{"prediction": p, "reference": r} for p, r in (PARAPHRASE, UNRELATED)])["meaning"]
        assert [type(r).__name__ for r in column] == ["GraderScore", "GraderScore"]
        assert column[0].score > column[1].score
