"""Shared fixtures: fresh plugin hosts, tiny in-test components, CLI runners."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

import pytest

from rmg_core import (
    Aggregator, GraderError, GraderResult, GraderScore, Grader, Settings, hookimpl, load_plugins,
)
from tests.fake_langfuse.fixtures import fake_langfuse  # noqa: F401  (a fixture, re-exported for every test)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "traces.jsonl"


class ExactMatch(Grader):
    """1.0 when prediction equals reference (a per-case grader: the aevaluate path)."""

    name = "exact"
    required_fields = ("prediction", "reference")

    async def aevaluate(self, prediction: Any, reference: Any) -> GraderResult:
        return GraderScore(score=float(prediction == reference), reason="exact match")


class LengthSettings(Settings):
    scale: float = 100.0


class Length(Grader):
    """min(1, len(prediction)/scale): a batch grader."""

    name = "length"
    required_fields = ("prediction",)
    Settings = LengthSettings

    def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> list[GraderResult]:
        scale = self.settings.scale
        return [GraderScore(score=min(1.0, len(str(i["prediction"])) / scale)) for i in items]


class Mean(Aggregator):
    name = "mean"

    def aggregate(self, results: Mapping[str, GraderResult]) -> GraderResult:
        scores = [r.score for r in results.values() if isinstance(r, GraderScore)]
        if not scores:
            return GraderError(error="no scores to average")
        return GraderScore(score=sum(scores) / len(scores))


class TestPlugin:
    """A plugin object registering the in-test components."""

    @hookimpl
    def register_graders(self, register):  # type: ignore[no-untyped-def]
        register(ExactMatch)
        register(Length)

    @hookimpl
    def register_aggregators(self, register):  # type: ignore[no-untyped-def]
        register(Mean)


@pytest.fixture(scope="session")
def broken_plugins_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for a subprocess that sees the deliberately broken plugins (never installed for real)."""
    from tests.broken_plugins import env_with, install_on_path

    return env_with(install_on_path(tmp_path_factory.mktemp("broken-plugins")))


@pytest.fixture
def test_host():
    """A fresh host with the built-in plugins (entry points) and the in-test plugin."""
    return load_plugins(environ={"RMG_DISABLE_PLUGINS": "broken_import,bad_hook,bad_signature"}, plugins=[("test", TestPlugin())])


def run_rmg(*args: str, env: Mapping[str, str] | None = None, input: str | None = None, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the installed ``rmg`` console script in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    rmg = Path(sys.executable).with_name("rmg")
    return subprocess.run([str(rmg), *args], capture_output=True, text=True, env=full_env, input=input, cwd=cwd, timeout=timeout)



#: Modules whose tests start real processes, servers, virtualenvs or a browser: seconds each.
SLOW_MODULES = {
    "test_worker_langfuse", "test_worker_local", "test_langfuse_integration", "test_langfuse_docs", "test_docs_site",
    "test_example_plugin", "test_scaffold", "test_fake_langfuse", "test_cli", "test_reporting_html",
    "test_aggregator_guide", "test_core_boundaries",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark integration tests and the process-starting modules `slow`: `-m "not slow"` is the quick loop."""
    for item in items:
        if item.get_closest_marker("integration") or item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
