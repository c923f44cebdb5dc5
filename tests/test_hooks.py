"""Every hook, exercised through the working example under its section in docs/hooks.md.

Each example is run as a real plugin module registered with a fresh host, so
the documentation's code and the hooks themselves are tested together.
`tests/test_docs.py` fails when a hook has no ``test_hook_<name>`` here.
"""

from __future__ import annotations

import json
import re
import types
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from rmg_core import load_plugins
from rmg_core.cli import build_cli
from tests.conftest import ROOT


def example_plugin(hook: str) -> types.ModuleType:
    """The plugin module written in docs/hooks.md under ``## hook``."""
    text = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    section = text.split(f"## {hook}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    module = types.ModuleType(f"docs_example_{hook}")
    exec(compile(blocks[-1], f"docs/hooks.md ## {hook}", "exec"), module.__dict__)  # noqa: S102 - our own docs
    return module


def run(hook: str, *args: str, builtins: bool = True) -> Any:
    from importlib import metadata

    eps = [ep for ep in metadata.entry_points(group="rmg") if ep.dist is not None and ep.dist.metadata["Name"] == "rmg"]
    host = load_plugins(environ={}, entry_points=eps if builtins else [], plugins=[(hook, example_plugin(hook))], strict=True)
    return host, CliRunner().invoke(build_cli(host), list(args), obj=host)


def traces(tmp_path: Path) -> Path:
    path = tmp_path / "t.jsonl"
    rows = [{"id": "a", "input": "what is rmg?", "output": "rmg grades traces", "expected": "rmg"},
            {"id": "b", "input": "what is rmg?", "output": "no idea", "expected": "rmg"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def scores(path: Path) -> dict[tuple[str, str], Any]:
    return {(r["trace_id"], r["name"]): r["value"] for r in map(json.loads, path.read_text().splitlines())}


def test_hook_register_graders(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    _, result = run("register_graders", "eval", str(traces(tmp_path)), "-g", "keyword", "-s", "graders.keyword.keyword=grades", "-o", str(out), "-q")
    assert result.exit_code == 0, result.output
    assert scores(out) == {("a", "keyword"): 1.0, ("b", "keyword"): 0.0}


def test_lazy_reference_example_imports_the_grader_only_when_a_run_uses_it(tmp_path: Path, monkeypatch: Any) -> None:
    """docs/hooks.md, "Registering without importing": its package, with the grader of the register_graders section."""
    import importlib
    from importlib import metadata
    import sys

    text = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    lazy = re.findall(r"```python\n(.*?)```", text.split("### Registering without importing", 1)[1].split("\n## ", 1)[0], flags=re.S)
    package = tmp_path / "my_plugin"
    package.mkdir()
    (package / "__init__.py").write_text(lazy[-1], encoding="utf-8")
    (package / "grader.py").write_text(re.findall(r"```python\n(.*?)```", text.split("## register_graders\n", 1)[1], flags=re.S)[1],
                                       encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("my_plugin", "my_plugin.grader"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    host = load_plugins(environ={}, entry_points=[], plugins=[("my_plugin", importlib.import_module("my_plugin"))], strict=True)
    listed = CliRunner().invoke(build_cli(host), ["plugins"], obj=host)
    assert "graders:     keyword" in listed.output and "my_plugin.grader" not in sys.modules
    out = tmp_path / "s.jsonl"
    eps = [ep for ep in metadata.entry_points(group="rmg") if ep.name == "local"]
    host = load_plugins(environ={}, entry_points=eps, plugins=[("my_plugin", sys.modules["my_plugin"])], strict=True)
    result = CliRunner().invoke(build_cli(host), ["eval", str(traces(tmp_path)), "-g", "keyword", "-o", str(out), "-q"], obj=host)
    assert result.exit_code == 0, result.output
    assert scores(out) == {("a", "keyword"): 1.0, ("b", "keyword"): 0.0} and "my_plugin.grader" in sys.modules


def test_hook_register_aggregators(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    _, result = run("register_aggregators", "eval", str(traces(tmp_path)), "-g", "similarity", "-g", "relevance", "-a", "minimum", "-o", str(out), "-q")
    assert result.exit_code == 0, result.output
    got = scores(out)
    for trace in ("a", "b"):
        assert got[(trace, "minimum")] == min(got[(trace, "similarity")], got[(trace, "relevance")])


def test_hook_register_sources(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    _, result = run("register_sources", "eval", "--source", "counting", "-s", "source.count=4", "-g", "similarity", "-o", str(out), "-q")
    assert result.exit_code == 0, result.output
    got = scores(out)
    assert sorted(t for t, _ in got) == ["t0", "t1", "t2", "t3"] and got[("t0", "similarity")] == 1.0


def test_hook_register_sinks(tmp_path: Path) -> None:
    host, result = run("register_sinks", "eval", str(traces(tmp_path)), "-g", "similarity", "--sink", "memory", "-q")
    assert result.exit_code == 0, result.output
    sink = host.get("sink", "memory")
    assert sorted((r.trace_id, r.name) for r in sink.stored.values()) == [("a", "similarity"), ("b", "similarity")]


def test_hook_register_run_observers(tmp_path: Path) -> None:
    _, result = run("register_run_observers", "eval", str(traces(tmp_path)), "-g", "similarity", "--count-below", "0.5", "-q")
    assert result.exit_code == 4 and "2 scores below 0.5" in result.stderr, result.output
    _, without = run("register_run_observers", "eval", str(traces(tmp_path)), "-g", "similarity", "-q")
    assert without.exit_code == 0 and "below" not in without.stderr


def test_hook_register_executors(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    rows = [{"id": f"t{i}", "input": f"q {i % 3}", "output": f"a {i % 4}", "expected": "a 1"} for i in range(120)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = {}
    for executor in ("threads", "local"):
        out[executor] = tmp_path / f"{executor}.jsonl"
        _, result = run("register_executors", "eval", str(path), "-g", "similarity", "--executor", executor,
                        "-s", "executor.unit_cases=25", "-o", str(out[executor]), "-q")
        assert result.exit_code == 0, result.output
    assert len(scores(out["threads"])) == 120 and scores(out["threads"]) == scores(out["local"])


def test_hook_register_commands() -> None:
    _, result = run("register_commands", "hello", "rmg", builtins=False)
    assert result.exit_code == 0 and result.stdout == "hello rmg\n"


def test_an_observer_option_is_added_only_to_the_shell_built_for_its_host(tmp_path: Path) -> None:
    run("register_run_observers", "--help")
    bare = load_plugins(environ={}, entry_points=[])
    result = CliRunner().invoke(build_cli(bare), ["eval", "--help"], obj=bare)
    assert "--count-below" not in result.output


def test_plugin_guide_package_registers_its_grader_lazily(tmp_path: Path, monkeypatch: Any) -> None:
    """docs/plugins.md, "A grader in three files": `rmg plugins` lists keyword without importing its module."""
    import importlib
    import sys

    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8").split("## A grader in three files", 1)[1]
    init, grader = re.findall(r"```python\n(.*?)```", text, flags=re.S)[:2]
    (tmp_path / "rmg_keyword").mkdir()
    (tmp_path / "rmg_keyword" / "__init__.py").write_text(init, encoding="utf-8")
    (tmp_path / "rmg_keyword" / "grader.py").write_text(grader, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("rmg_keyword", "rmg_keyword.grader"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    host = load_plugins(environ={}, entry_points=[], plugins=[("keyword", importlib.import_module("rmg_keyword"))], strict=True)
    listed = CliRunner().invoke(build_cli(host), ["plugins"], obj=host)
    assert "graders:     keyword" in listed.output and "rmg_keyword.grader" not in sys.modules
    assert host.get("grader", "keyword").__module__ == "rmg_keyword.grader"
