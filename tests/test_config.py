"""Config files: tables, env-var references, validation errors that name file, table and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmg_core import ConfigError
from rmg_core import assemble_config
from rmg_core.config import build_grader, load_config, parse_config
from rmg_core.errors import RmgError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "eval.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_config_parses(tmp_path: Path) -> None:
    path = write(tmp_path, """
[run]
max_concurrency = 4
chunk_size = 10
[source]
plugin = "local"
path = "${TRACES:-examples/traces.jsonl}"
[graders.len]
plugin = "length"
scale = 5
fields = { prediction = "output" }
timeout = 3
[aggregators.overall]
plugin = "mean"
[[sinks]]
plugin = "local"
path = "out.jsonl"
""")
    config = load_config(path, environ={})
    assert config.run.max_concurrency == 4 and config.source.settings == {"path": "examples/traces.jsonl"}
    assert config.graders["len"].fields == {"prediction": "output"} and config.graders["len"].timeout == 3
    assert config.graders["len"].settings == {"scale": 5}
    assert [s.settings["path"] for s in config.sinks] == ["out.jsonl"]
    assert load_config(path, environ={"TRACES": "other.jsonl"}).source.settings["path"] == "other.jsonl"


def test_unset_env_var_is_an_error_naming_table_and_variable(tmp_path: Path) -> None:
    path = write(tmp_path, '[[sinks]]\nplugin = "langfuse"\nsecret_key = "${LF_SECRET}"\n')
    with pytest.raises(ConfigError, match=r"eval.toml sinks.0.secret_key: environment variable LF_SECRET is not set"):
        load_config(path, environ={})


def test_unknown_setting_names_file_table_key_and_valid_keys(tmp_path: Path, test_host) -> None:
    path = write(tmp_path, '[graders.len]\nplugin = "length"\nscael = 5\n')
    config = load_config(path, environ={})
    with pytest.raises(ConfigError) as info:
        build_grader(test_host, config.graders["len"])
    message = str(info.value)
    assert "eval.toml [graders.len]" in message and "unknown setting 'scael'" in message and "valid settings: scale" in message


def test_structural_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown table"):
        parse_config({"grader": {}}, "x.toml")
    with pytest.raises(ConfigError, match="missing plugin"):
        parse_config({"source": {"path": "a"}}, "x.toml")
    with pytest.raises(ConfigError, match=r"\[run\]: setting 'chunk_size'"):
        parse_config({"run": {"chunk_size": 0}}, "x.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[source\n"))


def test_command_line_assembly_and_overrides(tmp_path: Path) -> None:
    config = assemble_config(
        path="t.jsonl", graders=("similarity", "rel=relevance"), aggregators=("weighted_sum",), outputs=("out.jsonl",),
        sinks=("langfuse",), overrides=("graders.similarity.algorithm=jaccard", "source.limit=10", "run.chunk_size=7"),
        max_concurrency=3,
    )
    assert config.source.plugin == "local" and config.source.settings == {"path": "t.jsonl", "limit": 10}
    assert config.graders["similarity"].settings == {"algorithm": "jaccard"} and config.graders["rel"].plugin == "relevance"
    assert [s.plugin for s in config.sinks] == ["local", "langfuse"]
    assert config.run.max_concurrency == 3 and config.run.chunk_size == 7
    with pytest.raises(RmgError, match="no graders"):
        assemble_config(path="t.jsonl")
    with pytest.raises(RmgError, match="either a PATH"):
        assemble_config(path="t.jsonl", source="langfuse", graders=("x",))
    with pytest.raises(RmgError, match="KEY=VALUE"):
        assemble_config(path="t.jsonl", graders=("x",), overrides=("novalue",))


def test_assemble_config_takes_keywords_only() -> None:
    with pytest.raises(TypeError):
        assemble_config("t.jsonl")  # type: ignore[misc]


def test_sinks_count_from_zero_and_an_explicit_output_is_never_overridden(tmp_path: Path) -> None:
    config_file = write(tmp_path, '[source]\nplugin = "local"\npath = "t.jsonl"\n[graders.g]\nplugin = "similarity"\n[[sinks]]\nplugin = "local"\npath = "a.jsonl"\n')
    config = assemble_config(config_file=config_file, outputs=("b.jsonl",), overrides=("sinks.0.path=c.jsonl",))
    assert [s.settings["path"] for s in config.sinks] == ["c.jsonl", "b.jsonl"]
    with pytest.raises(RmgError, match=r"sinks.1 is the sink of -o b.jsonl"):
        assemble_config(config_file=config_file, outputs=("b.jsonl",), overrides=("sinks.1.path=d.jsonl",))
    with pytest.raises(RmgError, match="count from 0"):
        assemble_config(config_file=config_file, overrides=("sinks.5.path=d.jsonl",))
    bad = write(tmp_path, '[source]\nplugin = "local"\npath = "t.jsonl"\n[graders.g]\nplugin = "similarity"\n[[sinks]]\npath = "a.jsonl"\n')
    with pytest.raises(ConfigError, match=r"sinks\.0: missing plugin"):
        assemble_config(config_file=bad)
