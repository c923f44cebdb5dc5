"""The kit's pytest fixtures, its pytest11 entry point, and its import cost."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path

import pytest

from rmg_core import GraderError, GraderScore, PluginError, hookimpl
from tests.conftest import ExactMatch, Length, TestPlugin

HEAVY = ("numpy", "sklearn", "langfuse", "scipy", "httpx")


def test_pytest11_entry_point_names_the_kit() -> None:
    eps = [ep for ep in metadata.entry_points(group="pytest11") if ep.name == "rmg"]
    assert [ep.value for ep in eps] == ["rmg_kit.pytest_plugin"], "reinstall rmg (pip install -e .) to register the pytest plugin"


def test_fixtures_are_available_without_a_conftest(request: pytest.FixtureRequest) -> None:
    # Loaded through the entry point, not through tests/conftest.py.
    for name in ("rmg_host_factory", "rmg_grade", "rmg_cli"):
        assert request.getfixturevalue(name) is not None


def test_importing_the_kit_is_light() -> None:
    script = (
        "import rmg_kit, sys\n"
        "sys.stderr.write('@@ ' + ' '.join(sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = set(out.stderr.split("@@ ", 1)[1].split())
    assert not [m for m in HEAVY if m in loaded]
    # The checks and the CLI wait until a test uses them.
    assert not {"rmg_kit.conformance", "rmg_core.cli", "click.testing"} & loaded
    assert not [m for m in loaded if m.startswith("rmg_") and not m.startswith(("rmg_core", "rmg_kit"))]


def test_host_factory_holds_only_the_given_plugins(rmg_host_factory) -> None:  # type: ignore[no-untyped-def]
    host = rmg_host_factory(("test", TestPlugin()))
    assert host.names("grader") == ["exact", "length"]
    assert host.names("source") == []  # installed plugins are not loaded unless asked
    assert host.get("grader", "length") is Length
    module = types.ModuleType("rmg_demo")
    exec("from rmg_core import hookimpl\n@hookimpl\ndef register_graders(register):\n    from tests.conftest import ExactMatch\n    register(ExactMatch)", module.__dict__)
    host = rmg_host_factory(module, installed=True)
    assert host.plugins[-1].name == "rmg_demo"
    assert "local" in host.names("source")


def test_an_installed_broken_plugin_cannot_break_another_plugins_tests(rmg_host_factory, rmg_cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.broken_plugins import install_on_path

    monkeypatch.syspath_prepend(str(install_on_path(tmp_path)))
    # By default the kit loads the plugin under test and rmg's built-ins only: the broken ones stay out.
    assert rmg_host_factory(("test", TestPlugin()), installed="builtin").warnings == []
    result = rmg_cli("plugins", "--json", plugins=[("test", TestPlugin())])
    assert result.exit_code == 0 and "broken_import" not in result.output
    # Opting in to every installed plugin is lenient: another broken plugin warns instead of failing this test.
    host = rmg_host_factory(("test", TestPlugin()), installed=True)
    assert any("broken_import" in w for w in host.warnings) and "exact" in host.names("grader")


def test_host_factory_is_strict(rmg_host_factory) -> None:  # type: ignore[no-untyped-def]
    class Misspelt:
        @hookimpl
        def register_grader(self, register):  # type: ignore[no-untyped-def]
            register(ExactMatch)

    with pytest.raises(PluginError, match="register_grader"):
        rmg_host_factory(("misspelt", Misspelt()))


def test_grade_uses_the_runner(rmg_grade) -> None:  # type: ignore[no-untyped-def]
    results = rmg_grade(ExactMatch(), [{"prediction": "a", "reference": "a"}, {"prediction": "a"}])
    assert isinstance(results[0], GraderScore) and results[0].score == 1.0
    assert isinstance(results[1], GraderError) and "reference" in results[1].error


def test_cli_runs_eval_with_a_directly_registered_plugin(rmg_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    traces = tmp_path / "t.jsonl"
    traces.write_text('{"id": "1", "output": "abc", "expected": "abc"}\n{"id": "2", "output": "x", "expected": "y"}\n')
    out = tmp_path / "s.jsonl"
    result = rmg_cli("eval", str(traces), "-g", "exact", "-o", str(out), plugins=[("test", TestPlugin())])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["trace_id"], r["value"]) for r in rows] == [("1", 1.0), ("2", 0.0)]
    listing = rmg_cli("plugins", "--json", plugins=[("test", TestPlugin())])
    assert json.loads(listing.output)["components"]["grader"]["exact"] == "test"


def test_cli_commands_added_by_a_plugin_do_not_leak(rmg_cli) -> None:  # type: ignore[no-untyped-def]
    from rmg_core.cli import cli

    class Commands:
        @hookimpl
        def register_commands(self, cli):  # type: ignore[no-untyped-def]
            @cli.command("kit-hello")
            def hello() -> None:
                print("hello from the kit")

    result = rmg_cli("kit-hello", plugins=[("cmds", Commands())])
    assert result.exit_code == 0 and "hello from the kit" in result.output
    assert "kit-hello" not in cli.commands
