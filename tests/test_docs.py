"""Docs that cannot drift: every hook is documented with its exact signature."""

from __future__ import annotations

import inspect
import re

from rmg_core import hookspecs, load_plugins
from tests.conftest import ROOT


def _signature(hook_name: str, function) -> str:  # type: ignore[no-untyped-def]
    sig = inspect.signature(function)
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{hook_name}({params}) -> {sig.return_annotation}"


def test_every_hook_is_documented_with_its_exact_signature() -> None:
    text = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    host = load_plugins(environ={}, entry_points=[])
    hooks = [name for name in dir(host.pm.hook) if not name.startswith("_")]
    assert hooks == sorted(n for n in dir(hookspecs) if n.startswith("register_")), "hooks and rmg_core.hookspecs disagree"
    for name in hooks:
        spec = getattr(host.pm.hook, name).spec
        assert f"## {name}\n" in text, f"docs/hooks.md has no section for {name}"
        assert _signature(name, spec.function) in text, f"docs/hooks.md: signature of {name} differs from the spec"


def test_plugin_hooks_have_tests() -> None:
    """Every hook has a ``test_hook_<name>`` test (datasette's rule): a new hook cannot land untested."""
    tests = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "tests").glob("test_*.py"))
    host = load_plugins(environ={}, entry_points=[])
    for name in (n for n in dir(host.pm.hook) if not n.startswith("_")):
        assert re.search(rf"^def test_hook_{name}\b", tests, flags=re.M), f"hook {name} has no test_hook_{name} test"
        section = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8").split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
        assert section.count("```python") >= 2, f"docs/hooks.md: {name} has no example plugin under its signature"


def test_documented_hooks_exist() -> None:
    text = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    host = load_plugins(environ={}, entry_points=[])
    for name in re.findall(r"^## (\w+)$", text, flags=re.M):
        assert hasattr(host.pm.hook, name), f"docs/hooks.md documents {name}, which is not a hook"


def test_every_cli_command_and_option_is_in_the_cli_reference() -> None:
    import click

    from rmg_core.cli import build_cli

    host = load_plugins(environ={})
    cli = build_cli(host)
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")

    def walk(command: click.Command, path: str) -> None:
        assert f"## {path}\n" in text, f"docs/cli.md has no section for `{path}`"
        for param in command.params:
            if isinstance(param, click.Option):
                for opt in param.opts:
                    assert f"`{opt}" in text or f"{opt}`" in text or f" {opt}" in text, f"`{path}` option {opt} is not in docs/cli.md"
            else:
                assert param.name.upper() in text, f"`{path}` argument {param.name} is not in docs/cli.md"
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")

    walk(cli, "rmg")
