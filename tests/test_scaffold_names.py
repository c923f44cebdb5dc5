"""``rmg plugins new NAME`` refuses names that would shadow rmg, an installed plugin or a component."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from rmg_core import ConfigError
from rmg_core.cli import build_cli
from rmg_kit.scaffold import create_plugin


@pytest.mark.parametrize(("name", "why"), [
    ("core", "a package 'rmg_core' is already installed"),          # would break every command
    ("rmg-core", "a package 'rmg_core' is already installed"),
    ("kit", "a package 'rmg_kit' is already installed"),
    ("similarity", "grader 'similarity' already exists"),            # would silently replace the built-in
    ("local", "an installed plugin is already called 'local'"),
    ("langfuse", "a package 'rmg_langfuse' is already installed"),
    ("exact", "grader 'exact' already exists (from plugin 'test')"),  # a component only the host knows
    ("foo_", "is not one pip accepts"),
    ("foo__bar", "is not one pip accepts"),
])
def test_shadowing_and_invalid_names_are_refused(test_host, tmp_path: Path, name: str, why: str) -> None:
    result = CliRunner().invoke(build_cli(test_host), ["plugins", "new", name, "-d", str(tmp_path)], obj=test_host)
    assert result.exit_code == 2, result.output
    assert "is refused: " in result.stderr and why in result.stderr and "Choose another name" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_installed_distribution_is_refused_without_a_host(tmp_path: Path) -> None:
    try:
        metadata.distribution("rmg-example-plugin")
    except metadata.PackageNotFoundError:
        pytest.skip("examples/rmg-example-plugin is not installed (README's second command installs it)")
    with pytest.raises(ConfigError, match="a distribution 'rmg-example-plugin' is already installed"):
        create_plugin("example_plugin", tmp_path)
