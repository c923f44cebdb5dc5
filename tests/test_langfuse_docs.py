"""The Langfuse guide's code and commands work: run against the fake Langfuse server."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, run_rmg

pytestmark = pytest.mark.integration


def env_for(fake) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"LANGFUSE_PUBLIC_KEY": fake.public_key, "LANGFUSE_SECRET_KEY": fake.secret_key,
            "LANGFUSE_BASE_URL": fake.base_url, "RMG_DISABLE_PLUGINS": "broken_import,bad_hook,bad_signature"}


def test_python_block_of_the_guide_runs(fake_langfuse) -> None:  # type: ignore[no-untyped-def]
    fake_langfuse.seed_traces(120, seed=3)
    block = re.search(r"```python\n(.*?)```", (ROOT / "docs" / "langfuse.md").read_text(encoding="utf-8"), re.S).group(1)
    out = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, env={**__import__("os").environ, **env_for(fake_langfuse)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "120 traces to grade" in out.stdout and "120 traces graded" in out.stdout
    by_key = fake_langfuse.scores_by_trace_and_name()
    assert {name for _, name in by_key} >= {"relevance", "weighted_sum"}


def test_cli_workflow_is_exactly_once_across_reruns(fake_langfuse) -> None:  # type: ignore[no-untyped-def]
    fake_langfuse.seed_traces(250, seed=5)
    args = ("eval", "--source", "langfuse", "-g", "similarity", "-g", "relevance", "-a", "weighted_sum", "--sink", "langfuse",
            "-s", "source.page_size=40")
    first = run_rmg(*args, env=env_for(fake_langfuse))
    assert first.returncode == 0, first.stderr
    scores = fake_langfuse.scores()
    keys = [(s["traceId"], s["name"]) for s in scores]
    assert len(keys) == len(set(keys))  # one score per (trace, name)
    assert {n for _, n in keys} == {"similarity", "relevance", "weighted_sum"}
    assert sum(1 for _, n in keys if n == "relevance") == 250
    second = run_rmg(*args, env=env_for(fake_langfuse))
    assert second.returncode == 0, second.stderr
    assert len(fake_langfuse.scores()) == len(scores)  # the re-run overwrote, it added nothing


def test_failed_writes_make_the_exit_status_non_zero(fake_langfuse) -> None:  # type: ignore[no-untyped-def]
    from tests.fake_langfuse import FaultRule, FaultSettings

    fake_langfuse.seed_traces(30, seed=7)
    fake_langfuse.set_faults(rules=[FaultRule(path_prefix="/api/public/scores", method="POST", settings=FaultSettings(error_rate=1.0))])
    out = run_rmg("eval", "--source", "langfuse", "-g", "relevance", "--sink", "langfuse",
                  "-s", "sinks.0.max_retries=1", "-s", "sinks.0.backoff_initial=0.01", env=env_for(fake_langfuse))
    assert out.returncode == 1, out.stderr
    assert "30 FAILED" in out.stderr and "not written: trace" in out.stderr
