"""Config values are what they say: a wrong type, a non-finite number or a bad shape is a one-line error, exit 2."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from rmg_core import ConfigError
from rmg_core.cli import cli
from rmg_core.config import parse_config, read_toml
from rmg_core.config_file import MAX_CONFIG_BYTES
from rmg_relevance import RelevanceGrader
from rmg_weighted_sum import WeightedSumAggregator


def eval_with(host, tmp_path: Path, config: str, *args: str):  # type: ignore[no-untyped-def]
    traces = tmp_path / "t.jsonl"
    traces.write_text('{"id": "a", "input": "q", "output": "x", "expected": "x"}\n')
    path = tmp_path / "eval.toml"
    path.write_text(config)
    return CliRunner().invoke(cli, ["eval", str(traces), "-c", str(path), "-q", *args], obj=host)


def one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rmg: error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(("config", "expected"), [
    ("run = 5\n[graders.exact]\nplugin = 'exact'\n", "[run] must be a table"),
    ("sinks = 5\n[graders.exact]\nplugin = 'exact'\n", "sinks must be [[sinks]] tables"),
    ("sinks = ['scores.jsonl']\n[graders.exact]\nplugin = 'exact'\n", "sinks.0 must be a table"),
    ("graders = 5\n", "[graders] must hold tables"),
    ("worker = 5\n[graders.exact]\nplugin = 'exact'\n", "[worker] must be a table"),
    ("[run]\nmax_concurrency = true\n[graders.exact]\nplugin = 'exact'\n", "setting 'max_concurrency': must be a number, not the boolean true"),
    ("[run]\nchunk_size = '5'\n[graders.exact]\nplugin = 'exact'\n", "setting 'chunk_size': must be a number, not the string '5'"),
    ("[run]\ntimeout = nan\n[graders.exact]\nplugin = 'exact'\n", "setting 'timeout': Input should be a finite number"),
    ("[graders.exact]\nplugin = 'exact'\ntimeout = true\n", "timeout must be a positive number of seconds"),
    ("[graders.exact]\nplugin = 'exact'\ntimeout = inf\n", "timeout must be a positive number of seconds"),
    ("[graders.exact]\nplugin = 'exact'\nfields = { refrence = 'expected' }\n", "'refrence' is not a field grader 'exact' takes"),
    ("[graders.relevance]\nplugin = 'relevance'\nbackend = 'llm'\nrequest_timeout = true\n", "setting 'request_timeout': must be a number, not the boolean true"),
    ("[graders.exact]\nplugin = 'exact'\n[aggregators.w]\nplugin = 'weighted_sum'\nweights = { exact = 1e308, other = 1e308 }\n", "add up to more than a float can hold"),
    ("x = " + "[" * 2000 + "]" * 2000 + "\n", "nested"),
    ("[graders.exact]\nplugin = 'exact'\n[worker]\nx = " + "[" * 40 + "]" * 40 + "\n", "nested more than 32 deep"),
])
def test_bad_values_are_one_line_errors(test_host, tmp_path: Path, config: str, expected: str) -> None:
    assert expected in one_line_error(eval_with(test_host, tmp_path, config))


@pytest.mark.parametrize(("override", "expected"), [
    ("run=5", "[run] must be a table"),
    ("sinks=5", "sinks must be [[sinks]] tables"),
    ("graders=5", "[graders] must hold tables"),
    ("run.max_concurrency=true", "must be a number, not the boolean true"),
    ("run.max_concurrency=\"4\"", "must be a number, not the string '4'"),
])
def test_bad_overrides_are_one_line_errors(test_host, tmp_path: Path, override: str, expected: str) -> None:
    assert expected in one_line_error(eval_with(test_host, tmp_path, "[graders.exact]\nplugin = 'exact'\n", "-s", override))


def test_component_settings_are_strict() -> None:
    with pytest.raises(ConfigError, match="'max_retries': must be a number, not the boolean true"):
        RelevanceGrader(backend="llm", max_retries=True)
    with pytest.raises(ConfigError, match="'a' must be a number, not the string '0.6'"):
        WeightedSumAggregator(weights={"a": "0.6"})
    assert RelevanceGrader(backend="lexical", coverage_weight=1).settings.coverage_weight == 1.0  # an int is a number


def test_a_directory_device_or_fifo_is_not_read_as_a_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory, not a file"):
        read_toml(tmp_path)
    with pytest.raises(ConfigError, match="is a device, not a file"):
        read_toml("/dev/zero")
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    outcome: list[object] = []
    reader = threading.Thread(target=lambda: outcome.append(_raises(lambda: read_toml(fifo))), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert outcome and "a pipe (FIFO)" in str(outcome[0])  # an answer, not a hang


def _raises(call):  # type: ignore[no-untyped-def]
    try:
        call()
    except ConfigError as exc:
        return exc
    return None


def test_a_huge_config_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * MAX_CONFIG_BYTES + "\n")
    with pytest.raises(ConfigError, match="larger than 1,048,576 bytes"):
        read_toml(big)


def test_parse_config_refuses_shapes_directly() -> None:
    with pytest.raises(ConfigError, match=r"x\.toml: \[run\] must be a table of run settings.*got a number \(5\)"):
        parse_config({"run": 5}, "x.toml")
