"""The deliberately broken test plugins (tests/plugins/*), put on a temporary path instead of installed.

Installing them into the developer's environment would make every ``rmg``
command there start with three warnings.  Here each package is copied into
a directory with a hand-written ``.dist-info`` (the two files
``importlib.metadata`` reads: ``METADATA`` and ``entry_points.txt``), and
tests that want them run ``rmg`` with that directory on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "plugins"
#: Entry point names of the broken plugins.
BROKEN = ("broken_import", "bad_hook", "bad_signature")


#: Working test plugins (a CPU-burning grader) that worker processes must find through entry points too.
WORKING = Path(__file__).resolve().parent / "working_plugins"


def install_on_path(target: Path, source: Path = SOURCE) -> Path:
    """Lay the plugin packages of ``source`` (the broken ones by default) out under ``target``
    as importable, discoverable distributions."""
    for project in sorted(source.iterdir()):
        pyproject = project / "pyproject.toml"
        if not pyproject.is_file():
            continue
        meta = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        name, version = meta["project"]["name"], meta["project"]["version"]
        for package in meta["tool"]["setuptools"]["packages"]:
            shutil.copytree(project / package, target / package, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        info = target / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True, exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
        groups = meta["project"].get("entry-points", {})
        text = "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) for group, eps in groups.items())
        (info / "entry_points.txt").write_text(text, encoding="utf-8")
    return target


def env_with(path: Path) -> dict[str, str]:
    """Environment variables that put ``path`` first on the subprocess's ``sys.path``."""
    current = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": str(path) + (os.pathsep + current if current else "")}
