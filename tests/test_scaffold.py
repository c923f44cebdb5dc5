"""``rmg plugins new``: the generated plugin package is complete and its own tests pass out of the box."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from rmg_core import ConfigError
from rmg_kit.scaffold import create_plugin, new_plugin_command, plugin_names
from tests.conftest import ROOT

TEMPLATES = ROOT / "rmg_kit" / "templates" / "plugin"


def _run_its_tests(package_dir: Path) -> subprocess.CompletedProcess:
    # Not installed: PYTHONPATH makes the package importable, and the kit's fixtures
    # come from rmg's pytest11 entry point, as they would for the plugin's author.
    env = {**os.environ, "PYTHONPATH": str(package_dir)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=package_dir, env=env, capture_output=True, text=True, timeout=300,
    )


@pytest.mark.parametrize("kind", ["grader", "sink"])
def test_the_generated_package_is_complete_and_its_tests_pass(tmp_path: Path, kind: str) -> None:
    result = CliRunner().invoke(new_plugin_command, ["Word-Count", "--kind", kind, "-d", str(tmp_path)])
    assert result.exit_code == 0, result.output
    target = tmp_path / "rmg-word-count"
    assert f"created {target}" in result.output and "pip install -e '.[test]'" in result.output
    module = "grader" if kind == "grader" else "sink"
    files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert files == ["README.md", "pyproject.toml", "rmg_word_count/__init__.py", f"rmg_word_count/{module}.py", "tests/test_word_count.py"]
    for path in target.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert "{{" not in text and "__package__" not in str(path), path
            if path.suffix == ".py":
                compile(text, str(path), "exec")
    project = tomllib.loads((target / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == "rmg-word-count"
    assert project["project"]["entry-points"]["rmg"] == {"word_count": "rmg_word_count"}
    # rmg is not on the package index: the package must not depend on that unclaimed name (docs/plugins.md).
    assert not any(d.split("[")[0].split(">")[0].split("=")[0].strip() == "rmg" for d in project["project"]["dependencies"])
    assert project["tool"]["setuptools"]["packages"] == ["rmg_word_count"]
    init = (target / "rmg_word_count" / "__init__.py").read_text(encoding="utf-8")
    assert f"def register_{kind}s(register)" in init
    out = _run_its_tests(target)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "passed" in out.stdout and "skipped" not in out.stdout


def test_create_plugin_returns_the_directory_and_never_overwrites(tmp_path: Path) -> None:
    target = create_plugin("tone", tmp_path)
    assert target == tmp_path / "rmg-tone" and (target / "rmg_tone" / "grader.py").is_file()
    with pytest.raises(ConfigError, match="already exists and is not empty"):
        create_plugin("tone", tmp_path)
    (tmp_path / "rmg-empty").mkdir()
    assert create_plugin("empty", tmp_path, kind="sink") == tmp_path / "rmg-empty"


def test_bad_names_and_kinds_are_refused_with_the_rule(tmp_path: Path) -> None:
    assert plugin_names("rmg-Word-Count") == {
        "name": "word_count", "package": "rmg_word_count", "dist": "rmg-word-count", "class_prefix": "WordCount",
    }
    for bad in ("9lives", "has space", "", "class", "dots.no"):
        with pytest.raises(ConfigError, match="lowercase letters"):
            create_plugin(bad, tmp_path)
    with pytest.raises(ConfigError, match="unknown plugin kind 'source'; choose one of: grader, sink"):
        create_plugin("ok", tmp_path, kind="source")
    result = CliRunner().invoke(new_plugin_command, ["9lives", "-d", str(tmp_path)])
    assert result.exit_code == 2 and "rmg: error: plugin name '9lives' is not usable" in result.output
    assert list(tmp_path.iterdir()) == []


def test_the_command_is_a_click_command_named_new() -> None:
    assert new_plugin_command.name == "new"
    assert [p.name for p in new_plugin_command.params] == ["name", "kind", "directory"]


def test_every_template_is_package_data() -> None:
    # What setuptools ships is what these globs match; a template outside them would
    # be missing from a non-editable install (`pip install .`).
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = project["tool"]["setuptools"]["package-data"]["rmg_kit"]
    shipped = {Path(p) for pattern in patterns for p in glob.glob(str(ROOT / "rmg_kit" / pattern)) if Path(p).is_file()}
    templates = {p for p in TEMPLATES.rglob("*.tmpl")}
    assert templates and templates <= shipped, sorted(str(p) for p in templates - shipped)
