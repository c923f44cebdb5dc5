"""`rmg worker --workers 2`: each cycle's due traces graded in work units on the ``processes`` executor.

The window is read and the ledger kept by the worker; units of due traces are
graded in two worker processes; the ledger sink writes and records each
unit's records once.  What is graded, written and remembered must be what an
in-process worker does: every score once, the same ids and values, nothing
graded again on the next cycle, only what is new or changed after that.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.broken_plugins import WORKING, env_with, install_on_path
from tests.conftest import run_rmg
from tests.test_worker_local import trace, write_traces

def _config(tmp: Path, executor: str = "") -> Path:
    config = tmp / "eval.toml"
    config.write_text(f"""
[source]
plugin = "local"
path = {json.dumps(str(tmp / "traces.jsonl"))}

[graders.sim]
plugin = "similarity"

[graders.rel]
plugin = "relevance"

[graders.burn]
plugin = "burn"
ms = 0
marker = {json.dumps(str(tmp / "marker.txt"))}

[[sinks]]
plugin = "local"
path = {json.dumps(str(tmp / "scores.jsonl"))}
mode = "append"

[worker]
state = {json.dumps(str(tmp / "state.sqlite3"))}

{executor}
""", encoding="utf-8")
    return config


def _worker(tmp: Path, plugins: Path, *args: str) -> Any:
    env = {**env_with(plugins), "RMG_DISABLE_PLUGINS": "broken_import,bad_hook,bad_signature"}
    return run_rmg("worker", "-c", str(tmp / "eval.toml"), "--once", *args, env=env, cwd=tmp, timeout=120)


def _scores(tmp: Path) -> list[tuple[str, Any]]:
    return sorted((r["score_id"], r["value"]) for r in map(json.loads, (tmp / "scores.jsonl").read_text().splitlines()))


@pytest.mark.integration
def test_two_worker_processes_grade_each_cycle_with_the_in_process_ledger(tmp_path: Path) -> None:
    plugins = install_on_path(tmp_path / "plugins", WORKING)
    runs = {}
    for name, args in (("local", ()), ("processes", ("--workers", "2"))):
        tmp = tmp_path / name
        tmp.mkdir()
        write_traces(tmp / "traces.jsonl", [trace(f"t{i:03d}") for i in range(300)])
        _config(tmp, "[executor]\nunit_cases = 40")
        first = _worker(tmp, plugins, *args)
        assert first.returncode == 0, first.stderr[-3000:]
        assert "graded 300 (new 300" in first.stderr
        pids = {line.split()[2] for line in (tmp / "marker.txt").read_text().splitlines()}
        runs[name] = (tmp, pids, first.stderr)
    (local, local_pids, _), (tmp, pids, log) = runs["local"], runs["processes"]
    assert "grading on executor 'processes'" in log
    assert len(local_pids) == 1 and len(pids) == 2 and not pids & local_pids  # two other processes graded the units
    scores = _scores(tmp)
    assert len(scores) == 900 and len({score_id for score_id, _ in scores}) == 900
    assert scores == _scores(local)  # the ids and values of the in-process worker

    # The next cycle finds everything in the ledger: nothing is graded or written again.
    again = _worker(tmp, plugins, "--workers", "2")
    assert again.returncode == 0 and "graded 0 (new 0" in again.stderr, again.stderr[-2000:]
    assert _scores(tmp) == scores

    # New and changed traces, and only those, are graded the cycle after.
    write_traces(tmp / "traces.jsonl", [trace(f"n{i:03d}") for i in range(50)], append=True)
    rows = (tmp / "traces.jsonl").read_text().splitlines()
    rows[7] = json.dumps(trace("t007", output="a different answer about refunds"))
    (tmp / "traces.jsonl").write_text("\n".join(rows) + "\n")
    third = _worker(tmp, plugins, "--workers", "2")
    assert third.returncode == 0, third.stderr[-3000:]
    assert "graded 51 (new 50, changed 1" in third.stderr, third.stderr[-2000:]
    assert len(_scores(tmp)) == 900 + 150 + 3  # t007's three scores appended again, with its new content


@pytest.mark.integration
def test_sinks_on_the_workers_and_an_unknown_executor_are_refused_in_the_users_terms(tmp_path: Path) -> None:
    plugins = install_on_path(tmp_path / "plugins", WORKING)
    write_traces(tmp_path / "traces.jsonl", [trace("t1")])
    _config(tmp_path, '[executor]\nsinks = "workers"')
    refused = _worker(tmp_path, plugins, "--workers", "2")
    assert refused.returncode == 2 and '[executor] sinks = "workers"' in refused.stderr and "remove that line" in refused.stderr
    _config(tmp_path)
    unknown = _worker(tmp_path, plugins, "--executor", "nope")
    assert unknown.returncode == 2 and "nope" in unknown.stderr, unknown.stderr
    assert not (tmp_path / "scores.jsonl").exists()


def test_a_unit_run_twice_is_written_once_and_a_lost_unit_is_graded_by_the_next_cycle(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """In process, with the test-double engine: at-least-once units, exactly-once ledger and sink."""
    import asyncio
    import io

    from rmg_core import RunContext, build_components, load_plugins, parse_config
    from rmg_executors import UnitSettings
    from rmg_worker.service import CycleLog, Worker
    from rmg_worker.settings import worker_settings
    from rmg_worker.state import WorkerState
    from tests.test_executors import ThreadExecutor

    monkeypatch.setenv("RMG_LOAD_PLUGINS", "local,relevance,executors")
    write_traces(tmp_path / "traces.jsonl", [trace(f"t{i:03d}") for i in range(120)])
    config = parse_config({
        "source": {"plugin": "local", "path": str(tmp_path / "traces.jsonl")},
        "graders": {"rel": {"plugin": "relevance"}},
        "sinks": [{"plugin": "local", "path": str(tmp_path / "scores.jsonl"), "mode": "append"}],
    }, "test")
    host = load_plugins()

    def cycle(engine: ThreadExecutor) -> str:
        engine.units = UnitSettings(unit_cases=50)  # units of 50, 50, 20 traces
        components = build_components(host, config)
        log = io.StringIO()
        state = WorkerState.open(tmp_path / "state.sqlite3")
        try:
            worker = Worker(components, worker_settings({}, "test"), state, chunk_size=1000, log=CycleLog(log),
                            executor=engine, run=RunContext(host=host, config=config, components=components))
            assert asyncio.run(worker.run(once=True)) in (0, 1)
        finally:
            state.close()
        return log.getvalue()

    # Unit 0 runs twice (its records come back twice), unit 1 is lost: the cycle fails, naming it.
    first = cycle(ThreadExecutor(twice=(0,), lose=(1,)))
    assert "cycle 1 failed" in first and "1 work units (50 cases) were lost" in first, first
    written = [json.loads(line)["trace_id"] for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert len(written) == 70 and len(set(written)) == 70  # units 0 and 2, each once
    # The next cycle grades exactly the lost unit's 50 traces; the ledger knows the other 70.
    second = cycle(ThreadExecutor())
    assert "cycle 2 ok" in second and "graded 50 (new 50" in second, second
    written = [json.loads(line)["trace_id"] for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert sorted(written) == [f"t{i:03d}" for i in range(120)]
    assert "graded 0 (new 0" in cycle(ThreadExecutor())
