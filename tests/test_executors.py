"""Executors: each unit's records written once whatever the engine does; lost units named; the same records as in-process."""

from __future__ import annotations

import asyncio
import json
import re
import os
import subprocess
import sys
import threading
from typing import Any, AsyncIterable, AsyncIterator, Callable, Optional, Sequence

import pytest

from rmg_core import ScoreRecord, Sink, WriteReport, assemble_config, build_components, load_plugins
from rmg_executors import UnitExecutor, UnitOutcome, UnitSettings, run_spec
from rmg_executors.driver import run_on_executor
from rmg_executors.units import WorkerMismatch, grade_unit, version_differences


class ThreadExecutor(UnitExecutor):
    """A test double engine: units in threads, with the faults real engines have.

    ``twice``: unit indexes run twice and both results handed back (at-least-once);
    ``lose``: unit indexes given up on, as an engine does after its retries.
    """

    name = "threads"

    def __init__(self, twice: Sequence[int] = (), lose: Sequence[int] = ()) -> None:
        super().__init__()
        self.twice, self.lose = set(twice), set(lose)
        self.runs: list[str] = []
        self.most_in_flight = 0

    def slots(self) -> int:
        return 2

    async def map_unordered(self, fn: Callable[[Any, Any], Any], shared: Any, units: AsyncIterable[Any], *,
                            max_in_flight: int) -> AsyncIterator[UnitOutcome]:
        index = 0
        in_flight = 0
        async for unit in units:
            in_flight += 1
            self.most_in_flight = max(self.most_in_flight, in_flight)
            if index in self.lose:
                yield UnitOutcome(unit, error=RuntimeError("worker died 4 times"))
            else:
                for _ in range(2 if index in self.twice else 1):
                    self.runs.append(unit.unit_id)
                    yield UnitOutcome(unit, await asyncio.to_thread(fn, shared, unit))
            in_flight -= 1
            index += 1


class CountingSink(Sink):
    name = "counting"
    runs_on_workers = False

    def __init__(self) -> None:
        super().__init__()
        self.records: list[ScoreRecord] = []

    async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
        self.records.extend(records)
        return WriteReport(written=len(records))


def _traces(path: Any, n: int) -> str:
    rows = [json.dumps({"id": f"t{i}", "input": f"question {i % 7}", "output": f"answer {i % 5} question",
                        "expected": f"answer {i % 5}"}) for i in range(n)]
    rows.insert(n // 2, "{broken")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


PLUGINS = "local,similarity,relevance,weighted_sum,executors,ray,reporting"


@pytest.fixture(autouse=True)
def _plugins(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Workers load the plugins the driver's environment selects: the same set here.
    monkeypatch.setenv("RMG_LOAD_PLUGINS", PLUGINS)


def _setup(path: str, *extra: str) -> tuple[Any, Any, Any]:
    host = load_plugins()
    config = assemble_config(path=path, graders=("similarity", "relevance"), aggregators=("weighted_sum",), overrides=extra,
                             chunk_size=50)
    return host, config, build_components(host, config)


def _run(host: Any, config: Any, built: Any, executor: Executor, sink: Sink, unit_cases: int = 100) -> Any:
    spec = run_spec(config, host, UnitSettings())
    return asyncio.run(run_on_executor(executor, spec, built.source, built.runner, [sink], unit_cases=unit_cases, max_in_flight=2))


def _in_process(host: Any, built: Any) -> list[ScoreRecord]:
    from rmg_core import run_evaluation

    sink = CountingSink()
    asyncio.run(run_evaluation(built.source, built.runner, [sink], chunk_size=50))
    return sink.records


def _key(records: Sequence[ScoreRecord]) -> list[tuple[Any, ...]]:
    return sorted((r.score_id, r.value, r.kind, r.config_fingerprint, r.trace_id, r.name) for r in records)


def test_a_unit_run_twice_is_written_once_with_the_same_records_as_in_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    host, config, built = _setup(_traces(tmp_path / "t.jsonl", 1000))
    engine, sink = ThreadExecutor(twice=(1, 4)), CountingSink()
    summary = _run(host, config, built, engine, sink)
    assert len(engine.runs) > len(set(engine.runs))  # the double really ran units twice
    assert summary.exit_code == 0 and summary.cases == 1000 and summary.bad_cases == 1
    assert len(sink.records) == 3000 and len({r.score_id for r in sink.records}) == 3000
    assert _key(sink.records) == _key(_in_process(host, build_components(host, config)))
    assert str(tmp_path / "t.jsonl") + ":501: invalid JSON" in str(summary.bad_case_examples[0])
    assert summary.sinks[0].report.written == 3000


def test_with_the_intake_in_front_units_are_byte_ranges_mapped_and_filtered_on_the_workers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from rmg_intake.intake import Intake, Selection

    rows = [json.dumps({"user_input": f"question {i % 7}", "response": f"answer {i % 5}", "reference": f"answer {i % 3}",
                        "metadata": {"app": "ab"[i % 2]}}) for i in range(600)]  # a Ragas file: detected, no ids
    rows.insert(301, "{broken")
    (tmp_path / "r.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    host, config, built = _setup(str(tmp_path / "r.jsonl"))

    def intake(source: Any) -> Intake:
        return Intake(source, selection=Selection(where={"metadata.app": "a"}, sample=0.5))

    built.source = intake(built.source)
    engine, sink = ThreadExecutor(), CountingSink()
    spec = run_spec(config, host, UnitSettings())
    units: list[Any] = []
    real = engine.map_unordered

    def watching(fn: Any, shared: Any, source: Any, **kw: Any) -> Any:
        async def seen() -> Any:
            async for unit in source:
                units.append(unit)
                yield unit
        return real(fn, shared, seen(), **kw)

    engine.map_unordered = watching  # type: ignore[method-assign]
    summary = asyncio.run(run_on_executor(engine, spec, built.source, built.runner, [sink], unit_cases=100, max_in_flight=2))
    assert len(units) >= 5 and all(u.partition is not None and u.blob is None for u in units)  # nothing read on the driver
    local = build_components(host, config)
    local.source = intake(local.source)
    assert _key(sink.records) == _key(_in_process(host, local)) and 0 < len(sink.records) < 3 * 300
    assert summary.bad_cases == 1 and str(tmp_path / "r.jsonl") + ":302: invalid JSON" in str(summary.bad_case_examples[0])
    assert (built.source.filtered_out, built.source.sampled_out) == (local.source.filtered_out, local.source.sampled_out)


def test_a_lost_unit_is_named_with_its_case_count_and_fails_the_run(tmp_path) -> None:  # type: ignore[no-untyped-def]
    host, config, built = _setup(_traces(tmp_path / "t.jsonl", 1000))
    sink = CountingSink()
    summary = _run(host, config, built, ThreadExecutor(lose=(2,)), sink)
    assert summary.exit_code == 1
    match = re.search(r"1 work units \((\d+) traces\) were lost and not written; run again to grade them: "
                      r"unit (u00002-\w+) \(\1 traces\): RuntimeError: worker died 4 times", summary.fatal or "")
    assert match, summary.fatal
    lost_cases = int(match.group(1))
    assert 90 <= lost_cases <= 110 and summary.cases + lost_cases == 1000
    assert len(sink.records) == 3 * summary.cases  # nothing of the lost unit, all of the others
    assert match.group(2) in summary.render()


def test_a_source_that_cannot_partition_is_read_on_the_driver_and_shipped_in_chunks(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.csv"
    path.write_text("id,input,output,expected\n" + "".join(f"t{i},q {i},a {i % 3},a 1\n" for i in range(250)), encoding="utf-8")
    host, config, built = _setup(str(path))
    assert built.source.partitions(100) is None
    sink = CountingSink()
    summary = _run(host, config, built, ThreadExecutor(twice=(0,)), sink)
    assert summary.exit_code == 0 and len(sink.records) == 750
    assert _key(sink.records) == _key(_in_process(host, build_components(host, config)))


def test_observers_see_every_record_and_the_lowest_cases(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from rmg_reporting.collector import RunCollector

    host, config, built = _setup(_traces(tmp_path / "t.jsonl", 600))
    remote, local = RunCollector(worst=3), RunCollector(worst=3)
    from rmg_core import run_evaluation

    spec = run_spec(config, host, UnitSettings())
    asyncio.run(run_on_executor(ThreadExecutor(), spec, built.source, built.runner, [], unit_cases=100, observers=[remote]))
    built = build_components(host, config)
    asyncio.run(run_evaluation(built.source, built.runner, [], chunk_size=50, observers=[local]))
    assert remote.cases == local.cases == 600
    for name, score in local.scores.items():
        assert sorted(remote.scores[name].values.raw) == sorted(score.values.raw)
        assert sorted(c.value for c in remote.scores[name].worst_cases()) == sorted(c.value for c in score.worst_cases())
        assert all(c.input for c in remote.scores[name].worst_cases())  # the texts came back with the cases


def test_a_worker_with_other_versions_refuses_and_lists_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from rmg_executors.units import WorkUnit

    host, config, built = _setup(_traces(tmp_path / "t.jsonl", 10))
    spec = run_spec(config, host, UnitSettings())
    spec = replace(spec, versions={**spec.versions, "similarity": "rmg 0.0.9"})
    part = next(iter(built.source.partitions(100)))
    with pytest.raises(WorkerMismatch, match="similarity: driver rmg 0.0.9, worker rmg"):
        grade_unit(spec, WorkUnit("u0", 10, partition=part))
    assert version_differences({"a": "1", "b": "2", "d": "4"}, {"a": "1", "c": "3", "d": "5"}) == [
        "b: driver 2, worker (not installed)", "d: driver 4, worker 5"]
    summary = asyncio.run(run_on_executor(ThreadExecutor(), spec, built.source, built.runner, [CountingSink()]))
    assert summary.exit_code == 1 and "runs other versions than the driver" in (summary.fatal or "")


def test_secrets_stay_unexpanded_in_what_is_shipped(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RMG_TEST_SECRET", "sk-very-secret")
    host = load_plugins()
    data = {"source": {"plugin": "local", "path": _traces(tmp_path / "t.jsonl", 10)},
            "graders": {"similarity": {"plugin": "similarity"}},
            "sinks": [{"plugin": "local", "path": "${RMG_TEST_SECRET}"}]}
    from rmg_core import parse_config

    config = parse_config(data, "test")
    assert config.sinks[0].settings["path"] == "sk-very-secret"  # expanded for the driver's own use
    spec = run_spec(config, host, UnitSettings(sinks="workers"))
    shipped = json.dumps(spec.config)
    assert "${RMG_TEST_SECRET}" in shipped and "sk-very-secret" not in shipped
    assert "sinks" not in run_spec(config, host, UnitSettings()).config  # written on the driver


def _choose(host: Any, config: Any, built: Any, workers: Optional[int] = None) -> Any:
    # What `rmg eval` does: the first executor, in name order, that takes the run.
    return next((e for n in host.names("executor") if (e := host.get("executor", n).choose(config, built, workers))), None)


def test_choosing_runs_in_process_unless_it_pays(tmp_path) -> None:  # type: ignore[no-untyped-def]
    small = _traces(tmp_path / "small.jsonl", 100)
    host, config, built = _setup(small)
    assert _choose(host, config, built) is None                               # too small to pay for processes
    executor = _choose(host, config, built, workers=3)
    assert executor is not None and executor.name == "processes" and executor.slots() == 3
    from rmg_executors.processes import UNIT_CASES

    assert executor.units.unit_cases == UNIT_CASES < UnitSettings().unit_cases  # its own default: small units
    assert _choose(host, config, built, workers=1) is None
    host, config, built = _setup(small, "executor.unit_cases=7")
    assert _choose(host, config, built, workers=2).units.unit_cases == 7     # a plugin-less table's unit keys apply
    big = _traces(tmp_path / "big.jsonl", 30000)
    host, config, built = _setup(big)
    from rmg_executors.processes import available_cores

    assert (_choose(host, config, built) is not None) == (available_cores() > 1)  # CPU-bound graders, a large file
    assert _choose(host, config, built, workers=1) is None
    host, config, built = _setup(big, "executor.plugin=ray")
    with pytest.raises(Exception, match="--workers is for the built-in 'processes' executor"):
        _choose(host, config, built, workers=2)
    host, config, built = _setup(small, "executor.plugin=processes", "executor.unit_cases=0")
    with pytest.raises(Exception, match="unit_cases"):
        _choose(host, config, built)


@pytest.mark.integration
def test_processes_write_the_same_records_as_one_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _traces(tmp_path / "t.jsonl", 3000)
    outputs = {}
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}.jsonl"
        run = subprocess.run(
            [sys.executable, "-c", "from rmg_core.cli import main; main()", "eval", path, "-g", "similarity", "-g", "relevance",
             "-a", "weighted_sum", "-o", str(out), "--workers", workers, "-s", "executor.unit_cases=500", "-q"],
            capture_output=True, text=True, cwd=tmp_path, timeout=300,
        )
        assert run.returncode == 0, run.stderr
        outputs[workers] = sorted(out.read_text(encoding="utf-8").splitlines())
    assert len(outputs["1"]) == 9000 and outputs["1"] == outputs["2"]


def test_no_ray_import_without_the_ray_executor(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _traces(tmp_path / "t.jsonl", 20)
    code = (
        "import sys\nfrom rmg_core.cli import main\n"
        "for args in (['--help'], ['eval', sys.argv[1], '-g', 'similarity', '-q']):\n"
        "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
        "print('RAY' if any(m == 'ray' or m.startswith('ray.') for m in sys.modules) else 'NO RAY')\n"
    )
    run = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, timeout=120)
    assert run.stdout.strip().splitlines()[-1] == "NO RAY", run.stdout + run.stderr


def test_without_ray_the_ray_executor_is_one_line_naming_the_install(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    import rmg_ray.executor
    from rmg_core.cli import cli

    real = rmg_ray.executor.importlib.util.find_spec
    monkeypatch.setattr(rmg_ray.executor.importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    path = _traces(tmp_path / "t.jsonl", 5)
    host = load_plugins()
    result = CliRunner().invoke(cli, ["eval", path, "-g", "similarity", "--executor", "ray"], obj=host)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == ["rmg: error: command line [executor]: executor 'ray' needs Ray: pip install 'rmg[ray]'"]


def test_a_sink_that_does_not_declare_it_is_refused_on_the_workers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from rmg_core import build_sink

    host, config, built = _setup(_traces(tmp_path / "t.jsonl", 50))
    spec = run_spec(config, host, UnitSettings(sinks="workers"))
    sink = build_sink(host, parse_sink(str(tmp_path / "out.jsonl")))
    summary = asyncio.run(run_on_executor(ThreadExecutor(), spec, built.source, built.runner, [sink]))
    assert summary.exit_code == 1 and summary.cases == 0
    assert ("sink 'local' cannot write on the workers: it does not declare that writing the same records twice leaves one "
            "copy; the local sink can in directory mode") in (summary.fatal or "")
    assert 'remove sinks = "workers" from [executor]' in (summary.fatal or "")
    assert not (tmp_path / "out.jsonl").exists()  # refused before anything ran


def parse_sink(path: str) -> Any:
    from rmg_core import ComponentConfig

    return ComponentConfig(plugin="local", settings={"path": path})


def test_workers_leave_when_their_driver_is_killed_outright(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL (or the OOM killer) gives the driver no chance to stop its pool: the workers notice and exit."""
    import contextlib
    import signal
    import subprocess
    import sys
    import time

    import psutil

    workers: list[psutil.Process] = []
    driver = subprocess.Popen([sys.executable, "-c", (
        "import time\n"
        "from rmg_executors.processes import ProcessExecutor\n"
        "pool = ProcessExecutor(workers=2)._start()\n"
        "futures = [pool.submit(time.sleep, 120) for _ in range(2)]\n"
        "print('started', flush=True)\n"
        "time.sleep(120)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert driver.stdout is not None and driver.stdout.readline().strip() == "started"
        deadline = time.monotonic() + 30
        while len(workers) < 2 and time.monotonic() < deadline:
            workers = psutil.Process(driver.pid).children()
            time.sleep(0.05)
        assert len(workers) == 2
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=10)
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, f"workers {[p.pid for p in alive]} outlived their driver"
    finally:
        driver.kill()
        for worker in workers:  # orphans of a failed run are no longer our children
            with contextlib.suppress(psutil.Error):
                worker.kill()
