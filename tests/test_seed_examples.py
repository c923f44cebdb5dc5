"""The seed's worker examples run on rmg with only their imports changed.

`tests/seed_examples/*.py` are the seed document's code blocks with import
lines swapped (see derive.py); the first test proves that against the seed
itself when the shared folder is beside the checkout.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import pytest

from rmg_core import GraderError, GraderRank, GraderScore
from tests.seed_examples import derive


class RecordingLangfuse:
    """Stands in for the seed's global ``langfuse`` client (v2 ``.score()`` API)."""

    def __init__(self) -> None:
        self.scores: list[dict[str, Any]] = []

    def score(self, **kwargs: Any) -> None:
        self.scores.append(kwargs)


TRACES = [
    {"id": "t-1", "input": "How do I reset my password?", "output": "Click 'Forgot password' on the login page and follow the email link.", "expected": "Use the 'Forgot password' link on the login page; we email you a reset link."},
    {"id": "t-2", "input": [{"role": "user", "content": "What is your refund window?"}], "output": "Refunds are accepted within 30 days of purchase.", "expected": "You can get a refund within 30 days of purchase."},
    {"id": "t-3", "input": "Do you ship to Canada?", "output": "I like turtles."},
]


def test_examples_differ_from_the_seed_only_in_imports() -> None:
    seed = derive.find_seed()
    if seed is None:
        pytest.skip("the seed document (shared/seed) is not beside this checkout")
    blocks = derive.seed_blocks(seed.read_text(encoding="utf-8"))
    assert set(blocks) == set(derive.EXAMPLES)
    for name, block in blocks.items():
        committed = (derive.Path(derive.__file__).parent / f"{name}.py").read_text(encoding="utf-8")
        assert committed == derive.with_rmg_imports(block), f"{name}.py drifted from the seed"


def run_example(name: str) -> RecordingLangfuse:
    module = importlib.import_module(f"tests.seed_examples.{name}")
    recorder = RecordingLangfuse()
    # What the seed leaves to the reader: the client and fetch_pending_traces(),
    # and (for the aggregated example) the result types imported in an earlier block.
    module.langfuse = recorder
    module.fetch_pending_traces = lambda: [dict(t) for t in TRACES]
    for cls in (GraderScore, GraderRank, GraderError):
        setattr(module, cls.__name__, cls)
    asyncio.run(getattr(module, derive.EXAMPLES[name])())
    return recorder


def _by_key(recorder: RecordingLangfuse) -> dict[tuple[str, str], dict[str, Any]]:
    return {(s["trace_id"], s["name"]): s for s in recorder.scores}


def test_single_grader_worker_example() -> None:
    scores = _by_key(run_example("single_worker"))
    assert set(scores) == {(t["id"], n) for t in TRACES for n in ("cosine_similarity", "relevance")}
    assert 0.3 < scores["t-1", "cosine_similarity"]["value"] <= 1.0
    # The seed writes 0.0 on errors (its behaviour, shown unchanged); the comment says why.
    assert scores["t-3", "cosine_similarity"]["value"] == 0.0 and scores["t-3", "cosine_similarity"]["comment"].startswith("Error:")
    assert scores["t-2", "relevance"]["value"] > scores["t-3", "relevance"]["value"]


def test_batch_worker_example() -> None:
    scores = _by_key(run_example("batch_worker"))
    assert set(scores) == {(t["id"], n) for t in TRACES for n in ("similarity", "relevance")}
    assert "reference" in scores["t-3", "similarity"]["comment"]


def test_aggregated_worker_example() -> None:
    scores = _by_key(run_example("aggregated_worker"))
    names = {n for _, n in scores}
    assert names == {"similarity", "relevance", "aggregated_weighted_sum", "weighted_sum"}
    t1 = {n: scores["t-1", n]["value"] for n in names}
    assert t1["weighted_sum"] == pytest.approx(0.6 * t1["similarity"] + 0.4 * t1["relevance"])
    # t-3 has no reference: the aggregate renormalizes over relevance alone.
    assert scores["t-3", "weighted_sum"]["value"] == pytest.approx(scores["t-3", "relevance"]["value"])
