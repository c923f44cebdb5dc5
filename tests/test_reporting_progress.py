"""Progress: a total from the source's size, a rate and ETA, ticks during a chunk, plain lines for logs."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from rmg_core import Grader, GraderScore, RunSummary, hookimpl, load_plugins
from rmg_core.cli import build_cli
from rmg_local.source import LocalFileSource
from rmg_reporting.terminal import ProgressTracker
from tests.conftest import TestPlugin


class Slow(Grader):
    """A per-case grader that takes 10 ms, as a (very fast) judge would."""

    name = "slow"
    required_fields = ("prediction",)

    async def aevaluate(self, **fields: Any) -> GraderScore:
        await asyncio.sleep(0.01)
        return GraderScore(score=0.5)


class SlowPlugin:
    @hookimpl
    def register_graders(self, register):  # type: ignore[no-untyped-def]
        register(Slow)


def test_plain_progress_lines_move_within_a_chunk_with_total_rate_and_eta(tmp_path: Path) -> None:
    traces = tmp_path / "t.jsonl"
    traces.write_text("".join(json.dumps({"id": f"t{i}", "output": "x"}) + "\n" for i in range(200)))
    host = load_plugins(environ={"RMG_DISABLE_PLUGINS": "broken_import,bad_hook,bad_signature"},
                        plugins=[("test", TestPlugin()), ("slow", SlowPlugin())])
    out = CliRunner().invoke(build_cli(host), [
        "eval", str(traces), "-g", "slow", "--max-concurrency", "1", "--progress-every", "0.5", "--summary-json", str(tmp_path / "s.json"),
    ], obj=host)
    assert out.exit_code == 0, out.output
    # stderr is not a terminal here, so "auto" prints plain lines; the whole file is one chunk of 200.
    lines = [line for line in out.stderr.splitlines() if re.match(r"rmg eval: \d[\d,]*/200 traces", line)]
    assert len(lines) >= 2, out.stderr
    done = [int(re.match(r"rmg eval: ([\d,]+)/", line).group(1).replace(",", "")) for line in lines]  # type: ignore[union-attr]
    assert any(0 < d < 200 for d in done)  # it moved while the chunk was being graded
    assert any("/s, ETA " in line and "%)" in line for line in lines)
    assert f"summary written to {tmp_path / 's.json'}" in out.stderr
    quiet = CliRunner().invoke(build_cli(host), ["eval", str(traces), "-g", "slow", "--progress", "none", "--max-concurrency", "8"], obj=host)
    assert quiet.exit_code == 0 and "traces (" not in quiet.stderr


def test_tracker_estimates_the_total_from_bytes_read(tmp_path: Path) -> None:
    class Runner:
        grader_names = ["a", "b"]
        completed = 30  # 15 cases graded by both graders

    class Source:
        def progress(self) -> tuple[float, float]:
            return 250.0, 1000.0

    summary = RunSummary(cases=10, read=40, seconds=3.0)
    state = ProgressTracker(Runner(), Source()).state(summary)
    assert (state.done, state.total, state.rate) == (15, 160, 5.0) and state.eta == (160 - 15) / 5.0
    assert "15/160 traces (9%), 5/s, ETA 29s" in state.line()
    assert ProgressTracker().state(summary).total is None  # no source hint: no total


def test_local_source_reports_bytes_read(tmp_path: Path) -> None:
    traces = tmp_path / "t.jsonl"
    traces.write_text("".join(json.dumps({"id": f"t{i}", "output": "x" * 100}) + "\n" for i in range(2000)))
    source = LocalFileSource(path=str(traces))
    size = traces.stat().st_size
    seen: list[Any] = []

    async def read() -> None:
        n = 0
        async for _ in source.cases():
            n += 1
            if n % 500 == 0:
                seen.append(source.progress())

    assert source.progress() is None
    asyncio.run(read())
    assert all(0 < done <= total == size for done, total in seen)
    assert source.progress() == (size, size)
