"""The local sink's directory mode: one part per work unit (on the workers too), a manifest only for a complete run."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from rmg_core import ConfigError, SinkError, assemble_config, build_components, load_plugins
from rmg_executors import UnitSettings, run_spec
from rmg_executors.driver import run_on_executor
from tests.test_executors import ThreadExecutor, _plugins, _traces  # noqa: F401 - _plugins: the fixture


def _lines(directory: Path) -> list[str]:
    return sorted(line for part in sorted(directory.glob("part-*.jsonl")) for line in part.read_text().splitlines())


def _on_workers(tmp_path: Path, engine: ThreadExecutor, out: Path) -> Any:
    host = load_plugins()
    config = assemble_config(path=_traces(tmp_path / "t.jsonl", 1000), graders=("similarity", "relevance"),
                             aggregators=("weighted_sum",), outputs=(str(out) + "/",), chunk_size=50)
    built = build_components(host, config)
    spec = run_spec(config, host, UnitSettings(sinks="workers"))
    return asyncio.run(run_on_executor(engine, spec, built.source, built.runner, built.sinks, unit_cases=100, max_in_flight=2))


def _units(tmp_path: Path) -> int:
    """How many units `_on_workers` cuts its traces into (100 cases each, shorter ones at the end)."""
    from rmg_local.source import LocalFileSource

    return len(list(LocalFileSource(path=str(tmp_path / "t.jsonl")).partitions(100)))


def _rmg(cwd: Path, *args: str) -> Any:
    from click.testing import CliRunner

    from rmg_core.cli import cli

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        return CliRunner().invoke(cli, ["eval", *args, "-q"], obj=load_plugins())


def test_a_unit_run_twice_leaves_one_part_and_the_manifest_describes_the_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "scores"
    out.mkdir()
    # What a killed attempt and an earlier run into the same directory leave behind: not this run's scores.
    (out / ".part-u00001-0123456789.jsonl.abcd1234.tmp").write_text('{"half": ')
    (out / "part-u09999-0123456789.jsonl").write_text('{"earlier": 1}\n')
    engine = ThreadExecutor(twice=(1, 4))
    summary = _on_workers(tmp_path, engine, out)
    assert summary.exit_code == 0, summary.render()
    assert len(engine.runs) == len(set(engine.runs)) + 2  # units 1 and 4 wrote their part twice
    manifest = json.loads((out / "_manifest.json").read_text())
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([*(p["part"] for p in manifest["parts"]), "_manifest.json"])  # nothing else is left
    assert manifest["complete"] and manifest["units"] == _units(tmp_path) and manifest["cases"] == 1000 and manifest["lines"] == 3000
    for part in manifest["parts"]:
        data = (out / part["part"]).read_bytes()
        assert part["sha256"] == hashlib.sha256(data).hexdigest() and part["lines"] == data.count(b"\n") == 3 * part["cases"]
    assert summary.sinks[0].report.written == 3000
    # The same lines as one process writes to a file, and the same fingerprint as one process's directory.
    (tmp_path / "t.jsonl").rename(tmp_path / "in.jsonl")
    one = _rmg(tmp_path, "in.jsonl", "-g", "similarity", "-g", "relevance", "-a", "weighted_sum", "--workers", "1",
               "-o", "one.jsonl", "-o", "one/")
    assert one.exit_code == 0, one.output
    ids = sorted(json.loads(line)["score_id"] for line in _lines(out))
    assert len(ids) == len(set(ids)) == 3000
    assert _lines(out) == sorted((tmp_path / "one.jsonl").read_text().splitlines()) == _lines(tmp_path / "one")
    whole = json.loads((tmp_path / "one" / "_manifest.json").read_text())
    assert whole["fingerprint"] == manifest["fingerprint"] and whole["scores"] == manifest["scores"]
    assert [p["part"] for p in whole["parts"]] == ["part-all.jsonl"]


def test_a_run_that_lost_a_unit_leaves_no_manifest_and_says_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "scores"
    summary = _on_workers(tmp_path, ThreadExecutor(lose=(2,)), out)
    assert summary.exit_code == 1 and "1 work units" in (summary.fatal or "")
    assert not (out / "_manifest.json").exists()
    assert f"the run did not complete: {str(out)!r} has no _manifest.json" in summary.render()
    assert len(list(out.glob("part-*.jsonl"))) == _units(tmp_path) - 1 and len(_lines(out)) == 3 * summary.cases


def test_a_crashed_run_over_a_complete_directory_reads_as_incomplete(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "scores"
    assert _on_workers(tmp_path, ThreadExecutor(), out).exit_code == 0 and (out / "_manifest.json").exists()
    summary = _on_workers(tmp_path, ThreadExecutor(lose=(0,)), out)
    assert summary.exit_code == 1 and not (out / "_manifest.json").exists()


def test_the_directory_never_touches_files_it_did_not_write_nor_an_input(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _traces(tmp_path / "t.jsonl", 20)
    (tmp_path / "scores").mkdir()
    (tmp_path / "scores" / "notes.txt").write_text("mine")
    run = _rmg(tmp_path, "t.jsonl", "-g", "similarity", "-o", "scores/")
    assert run.exit_code == 1 and "holds files rmg did not write ('notes.txt')" in run.output
    assert "give a new or empty directory" in run.output and (tmp_path / "scores" / "notes.txt").read_text() == "mine"
    assert _rmg(tmp_path, "t.jsonl", "-g", "similarity", "-o", "out/").exit_code == 0
    again = _rmg(tmp_path, "out/part-all.jsonl", "-g", "similarity", "-o", "out/")
    assert again.exit_code == 2 and "writing it would destroy what is read" in again.output
    assert (tmp_path / "out" / "_manifest.json").exists()  # refused before anything was opened


def test_directory_mode_settings_are_checked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from rmg_local.sink import LocalFileSink

    with pytest.raises(ConfigError, match='mode = "directory" writes JSONL parts into a directory, not CSV'):
        LocalFileSink(path=str(tmp_path / "d"), mode="directory", format="csv")
    (tmp_path / "f").write_text("")
    sink = LocalFileSink(path=str(tmp_path / "f"), mode="directory")
    assert sink.runs_on_workers and not LocalFileSink(path=str(tmp_path / "x.jsonl")).runs_on_workers
    assert "is for `rmg eval`" in (sink.worker_problem() or "")
    with pytest.raises(Exception, match="is a file, and mode = \"directory\" writes a directory"):
        asyncio.run(sink.open())
    # A unit id comes from an executor, maybe a third party's: it names a file in the directory, never a path.
    with pytest.raises(SinkError, match="cannot name a part file"):
        asyncio.run(LocalFileSink(path=str(tmp_path / "d"), mode="directory").open_unit("../../etc/x"))


def test_a_full_disk_under_one_units_part_is_counted_and_fails_the_run_while_the_others_land(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import errno

    from rmg_local import directory

    class FullDisk:
        """A part's handle on a disk that filled up: every write fails as the OS says so."""

        def __init__(self, handle: Any) -> None:
            self._handle = handle

        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name: str) -> Any:
            return getattr(self._handle, name)

    real_init = directory.PartWriter.__init__
    full: list[str] = []

    def init(self: Any, where: str, unit_id: str) -> None:
        real_init(self, where, unit_id)
        if not full or full[0] == unit_id:  # the first unit to open a part, on every attempt
            full[:1] = [unit_id]
            self.handle = FullDisk(self.handle)

    monkeypatch.setattr(directory.PartWriter, "__init__", init)
    out = tmp_path / "scores"
    summary = _on_workers(tmp_path, ThreadExecutor(), out)
    tally = summary.sinks[0]
    # 100 cases x 3 scores of the unit on the full disk could not be written: counted, reported, exit 1.
    # Every score of the unit on the full disk (a byte range of about 100 cases, 3 scores each) failed, and only those.
    failed = tally.failed_count
    assert failed % 3 == 0 and 250 <= failed <= 350 and failed + tally.report.written == 3000
    part = str(out / directory.part_name(full[0]))
    assert {f.message for f in tally.report.failed} == {f"cannot write {part!r}: No space left on device"}
    assert summary.exit_code == 1, summary.render()
    text = summary.render()
    assert "No space left on device" in text and f"{failed:,}" in text
    assert not (out / "_manifest.json").exists() and "has no _manifest.json" in text
    assert len(_lines(out)) == 3000 - failed and summary.cases == 1000
