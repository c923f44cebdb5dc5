"""The docs site builds, covers every page, and its tutorials' code runs as written.

Tutorial pages (writing a grader, writing a sink, testing a plugin) show
whole files: a code block whose first line is ``# file: PATH``.  These tests
write those files into a temporary directory and run the tutorial's own
tests; the integration test goes further and follows the grader tutorial
exactly — its files, then its shell block (``pip install -e .``, ``rmg eval``,
``pytest``) in a fresh virtualenv.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCS = ROOT / "docs"
TUTORIALS = ("writing-a-grader.md", "writing-a-sink.md", "testing-plugins.md")
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
FILE_MARK = re.compile(r"^#\s*file:\s*(\S+)\s*$")


def blocks(page: str) -> list[tuple[str, str | None, str]]:
    """(language, file name or None, code) of each fenced block of a docs page."""
    out = []
    for lang, body in BLOCK.findall((DOCS / page).read_text(encoding="utf-8")):
        mark = FILE_MARK.match(body.split("\n", 1)[0])
        out.append((lang, mark.group(1) if mark else None, body))
    return out


def write_files(target: Path, *pages: str) -> dict[str, Path]:
    written: dict[str, Path] = {}
    for page in pages:
        for _, name, code in blocks(page):
            if name is not None:
                assert name not in written, f"{page}: {name} is shown twice"
                path = target / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(code, encoding="utf-8")
                written[name] = path
    return written


def run_pytest(package_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(package_dir)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "tests"],
        cwd=package_dir, env=env, capture_output=True, text=True, timeout=300,
    )


# -- the site -------------------------------------------------------------------
def nav_pages() -> list[str]:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text[text.index("\nnav:"):]
    return re.findall(r":\s*([\w./-]+\.md)\s*$", nav, flags=re.M)


def test_every_page_is_in_the_nav_and_every_nav_entry_exists() -> None:
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    nav = nav_pages()
    assert len(nav) == len(set(nav)), "a page is in the nav twice"
    assert sorted(set(pages) - set(nav)) == [], "pages missing from mkdocs.yml's nav"
    assert sorted(set(nav) - set(pages)) == [], "nav entries without a page in docs/"
    for required in ("index.md", "concepts.md", "cli.md", "configuration.md", "hooks.md", *TUTORIALS,
                     "langfuse.md", "performance.md", "reports.md"):
        assert required in nav


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="install the docs extra: pip install -e '.[docs]'")
    pytest.importorskip("material", reason="install the docs extra: pip install -e '.[docs]'")
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert out.returncode == 0, out.stderr[-4000:]
    for page in ("index.html", "writing-a-grader/index.html", "testing-plugins/index.html"):
        assert (tmp_path / "site" / page).is_file()


# -- the tutorials --------------------------------------------------------------
@pytest.mark.parametrize("page", TUTORIALS)
def test_tutorial_code_blocks_are_whole_files(page: str) -> None:
    found = blocks(page)
    assert found, f"{page} has no code blocks"
    for lang, name, code in found:
        if lang in ("python", "toml"):
            assert name is not None, f"{page}: a {lang} block does not start with '# file: PATH':\n{code[:200]}"
        if name is not None and name.endswith(".py"):
            compile(code, f"{page}:{name}", "exec")


@pytest.mark.parametrize("page, package", [("writing-a-grader.md", "rmg_keyword"), ("writing-a-sink.md", "rmg_widecsv")])
def test_tutorial_package_is_declared_and_its_tests_pass(tmp_path: Path, page: str, package: str) -> None:
    files = write_files(tmp_path, page)
    project = tomllib.loads(files["pyproject.toml"].read_text(encoding="utf-8"))
    assert package in project["project"]["entry-points"]["rmg"].values()
    assert project["tool"]["setuptools"]["packages"] == [package]
    assert f"{package}/__init__.py" in files and any(n.startswith("tests/") for n in files)
    out = run_pytest(tmp_path)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert " passed" in out.stdout and "skipped" not in out.stdout


def test_testing_plugins_examples_pass_on_the_grader_tutorial_package(tmp_path: Path) -> None:
    files = write_files(tmp_path, "writing-a-grader.md", "testing-plugins.md")
    assert "tests/test_conformance_catches.py" in files
    out = run_pytest(tmp_path)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    # Each test of both pages ran.
    count = sum(len(re.findall(r"^def test_", p.read_text(), re.M)) for n, p in files.items() if n.startswith("tests/"))
    assert f"{count} passed" in out.stdout, out.stdout[-500:]


def _fresh_venv(path: Path) -> Path:
    """A virtualenv seeing /work/venv's packages (rmg, pip, pytest) without downloading them.

    ``--system-site-packages`` exposes only the *base* interpreter's packages
    (a venv made from a venv inherits its base, not its parent), so a .pth file
    adds the current environment's site-packages; ``pip`` and ``rmg`` get the
    tiny launchers pip itself would have written.
    """
    import sysconfig

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(path)], check=True)
    site_dir = Path(subprocess.run(
        [str(path / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip())
    parent_site = sysconfig.get_paths()["purelib"]
    (site_dir / "_rmg_parent_env.pth").write_text(f"import site; site.addsitedir({parent_site!r})\n")
    python = path / "bin" / "python"
    for name, entry in (("pip", "from pip._internal.cli.main import main"), ("rmg", "from rmg_core.cli import main")):
        launcher = path / "bin" / name
        launcher.write_text(f"#!{python}\nimport sys\n{entry}\nsys.exit(main())\n")
        launcher.chmod(0o755)
    return path


@pytest.mark.integration
@pytest.mark.slow
def test_following_the_grader_tutorial_gives_a_plugin_rmg_eval_uses(tmp_path: Path) -> None:
    venv = _fresh_venv(tmp_path / "venv")
    package = tmp_path / "rmg-keyword"
    write_files(package, "writing-a-grader.md")
    shell = [code for lang, _, code in blocks("writing-a-grader.md") if lang == "bash"]
    assert len(shell) == 1 and "pip install -e ." in shell[0] and "rmg eval" in shell[0]
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv),
        "PYTHONPATH": "",
        "RMG_DISABLE_PLUGINS": "broken_import,bad_hook,bad_signature",
    }
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", shell[0]], cwd=package, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    # Installed into the fresh venv, as a distribution with its entry point.
    assert re.search(r"^keyword\s+rmg-keyword 0\.1\.0$", out.stdout, re.M), out.stdout
    rows = [json.loads(line) for line in (package / "scores.jsonl").read_text().splitlines()]
    assert [(r["trace_id"], r["name"], r["value"]) for r in rows] == [("t1", "keyword", 1.0), ("t2", "keyword", 0.0), ("t3", "keyword", 0.5)]
    assert {r["metadata"]["grader"] for r in rows} == {"keyword"}
    assert re.search(r"\d+ passed", out.stdout)
    # Nothing leaked into the environment running this test.
    check = subprocess.run([sys.executable, "-c", "import rmg_keyword"], capture_output=True)
    assert check.returncode != 0
