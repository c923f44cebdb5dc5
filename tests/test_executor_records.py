"""On an executor, the records are byte for byte those of one process: not-applicable cases, hints and all.

Two things once differed on the worker path: not-applicable records were
written although the run said not to (``write_not_applicable``), and the
"map a key to this field" hint in errors and aggregate comments was worded for
Python (``grader_configs=...``) instead of the command line (``--map ...``) or
the config file (``fields = {...}``).  The unit tests drive the unit driver
in this process; the integration tests compare ``rmg eval --workers 2`` output
files with ``--workers 1``.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

import pytest

from rmg_core import (
    EvalCase, ResultColumns, RunObserver, ScoreRecord, assemble_config, build_components, load_plugins, run_evaluation,
)
from rmg_executors import UnitSettings, run_spec
from rmg_executors.driver import run_on_executor
from rmg_executors.transport import GradedChunk, ids_of, needed_keys, reduce_fields, score_identities

from .test_executors import PLUGINS, CountingSink, ThreadExecutor

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "traces.jsonl"
GRADING = ["-g", "similarity", "-g", "relevance", "-a", "weighted_sum"]


@pytest.fixture(autouse=True)
def _plugins(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RMG_LOAD_PLUGINS", PLUGINS)


def _traces(path: Path, n: int) -> str:
    # Every third trace lacks an expected answer (similarity: not applicable), every fifth an output.
    rows = [json.dumps({"id": f"t{i}", "input": f"question {i % 7}", "output": "" if i % 5 == 0 else f"answer {i % 5} question",
                        **({} if i % 3 == 0 else {"expected": f"answer {i % 5}"})}) for i in range(n)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def _lines(records: Sequence[ScoreRecord]) -> list[str]:
    return sorted(r.model_dump_json() for r in records)


@pytest.mark.parametrize("write_not_applicable", [False, True])
def test_the_driver_writes_what_one_process_writes_not_applicable_and_hints_included(tmp_path, write_not_applicable) -> None:  # type: ignore[no-untyped-def]
    host = load_plugins()
    config = assemble_config(path=_traces(tmp_path / "t.jsonl", 400), graders=("similarity", "relevance"),
                             aggregators=("weighted_sum",), chunk_size=60)
    built = build_components(host, config)
    assert built.runner.hints == "cli"
    one = CountingSink()
    asyncio.run(run_evaluation(built.source, built.runner, [one], chunk_size=60, write_not_applicable=write_not_applicable))
    built = build_components(host, config)
    many = CountingSink()
    summary = asyncio.run(run_on_executor(
        ThreadExecutor(twice=(1,)), run_spec(config, host, UnitSettings()), built.source, built.runner, [many],
        unit_cases=100, write_not_applicable=write_not_applicable, graders=built.graders))
    assert summary.exit_code == 0 and summary.scores["similarity"].not_applicable > 0
    not_applicable = [r for r in one.records if r.kind == "not_applicable"]
    assert bool(not_applicable) == write_not_applicable
    assert _lines(many.records) == _lines(one.records)
    hinted = [r for r in one.records if "map a key" in (r.error or r.comment or "")]
    assert hinted and all("--map" in (r.error or r.comment or "") for r in hinted)


def test_a_chunk_read_on_the_driver_carries_only_what_its_graders_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    host = load_plugins()
    config = assemble_config(path=_traces(tmp_path / "t.jsonl", 3), graders=("similarity",), maps=("similarity.reference=extra.gold",))
    built = build_components(host, config)
    keys = needed_keys(built.graders)
    assert keys is not None and "extra.gold" in keys and "reference" not in keys and "trace" not in keys
    item = {"prediction": "p", "metadata": {}, "trace": {"extra": {"gold": "g"}, "big": "x" * 10_000}}
    reduced = reduce_fields(item, keys)
    assert reduced["extra.gold"] == "g" and "trace" not in reduced and len(pickle.dumps(reduced)) < 1000
    assert "extra.gold" not in reduce_fields({"prediction": "p", "trace": {}}, keys)        # missing stays missing
    assert reduce_fields({"prediction": None, "trace": {}}, keys)["prediction"] is None     # null stays null


def test_a_graded_chunk_sends_a_repeated_message_once_and_builds_the_same_records(tmp_path) -> None:  # type: ignore[no-untyped-def]
    host = load_plugins()
    config = assemble_config(path=_traces(tmp_path / "t.jsonl", 300), graders=("similarity", "relevance"), aggregators=("weighted_sum",))
    built = build_components(host, config)

    async def grade() -> tuple[list[EvalCase], Any]:
        cases = [c async for c in built.source.cases() if isinstance(c, EvalCase)]
        return cases, await built.runner.arun([c.grader_fields() for c in cases])

    cases, results = asyncio.run(grade())
    chunk = GradedChunk.of(results, len(cases))
    unshared = GradedChunk(len(cases), {key: ResultColumns.of(column) for key, column in results.items()})
    errors = [e for e in chunk.columns["similarity"].errors if e is not None]
    assert len(errors) == 100 and len({id(e) for e in errors}) == 1  # every third trace lacks a reference: one message
    identities, ids = score_identities(built.runner), ids_of(cases)
    assert chunk.records(identities, ids) == unshared.records(identities, ids)
    assert len(pickle.dumps(chunk)) < 0.8 * len(pickle.dumps(unshared))


class Reads(RunObserver):
    def __init__(self, needs: bool) -> None:
        self.needs, self.seen = needs, []  # type: list[Any]

    def observe(self, cases: Sequence[Any], records: Sequence[ScoreRecord]) -> None:
        self.seen += cases

    def needs_cases(self) -> bool:
        return self.needs


@pytest.mark.parametrize("needs", [False, True])
def test_cases_read_on_the_workers_come_back_only_to_observers_that_read_them(tmp_path, needs) -> None:  # type: ignore[no-untyped-def]
    host = load_plugins()
    config = assemble_config(path=_traces(tmp_path / "t.jsonl", 300), graders=("similarity",), chunk_size=60)
    built = build_components(host, config)
    assert built.source.partitions(100) is not None  # the workers read byte ranges themselves
    observer = Reads(needs)
    summary = asyncio.run(run_on_executor(ThreadExecutor(), run_spec(config, host, UnitSettings()), built.source,
                                          built.runner, [CountingSink()], unit_cases=100, observers=[observer.observe]))
    assert summary.exit_code == 0
    assert sorted(c.id for c in observer.seen) == sorted(f"t{i}" for i in range(300))
    assert all((c.input is not None) == needs for c in observer.seen)  # only the ids travelled back, unless read


def _eval(tmp_path: Path, workers: str, *args: str) -> list[str]:
    out = tmp_path / f"w{workers}.jsonl"
    run = subprocess.run(
        [sys.executable, "-c", "from rmg_core.cli import main; main()", "eval", *args, "-o", str(out), "--workers", workers,
         "-s", "executor.unit_cases=40", "-q"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env={k: v for k, v in os.environ.items() if k != "RMG_LOAD_PLUGINS"},  # every built-in, as a user runs it
    )
    assert run.returncode == 0, run.stderr
    return sorted(out.read_text(encoding="utf-8").splitlines())


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("how", ["command line", "--write-not-applicable", "config file"])
def test_two_workers_write_the_bytes_one_process_writes(tmp_path, how) -> None:  # type: ignore[no-untyped-def]
    if how == "config file":
        config = tmp_path / "eval.toml"
        config.write_text(f'[source]\nplugin = "local"\npath = "{EXAMPLE}"\n[graders.similarity]\nplugin = "similarity"\n'
                          '[graders.relevance]\nplugin = "relevance"\n[aggregators.weighted_sum]\nplugin = "weighted_sum"\n',
                          encoding="utf-8")
        args: tuple[str, ...] = ("-c", str(config))
    else:
        args = (str(EXAMPLE), *GRADING, *(["--write-not-applicable"] if how == "--write-not-applicable" else []))
    one, two = _eval(tmp_path, "1", *args), _eval(tmp_path, "2", *args)
    assert two == one
    not_applicable = [line for line in one if '"kind":"not_applicable"' in line]
    assert bool(not_applicable) == (how == "--write-not-applicable")
    hint = {"command line": "--map reference=", "--write-not-applicable": "--map reference=", "config file": "fields = {"}[how]
    assert any(hint in line for line in one)
