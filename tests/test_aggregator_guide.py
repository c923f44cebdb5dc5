"""docs/writing-an-aggregator.md, run: its files are written out and its test passes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_the_aggregator_guide_builds_a_conforming_plugin(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "writing-an-aggregator.md").read_text(encoding="utf-8")
    files = re.findall(r"```python\n# file: (\S+)\n(.*?)```", text, flags=re.S)
    assert [name for name, _ in files] == ["rmg_harmonic/aggregator.py", "rmg_harmonic/__init__.py", "tests/test_harmonic.py"]
    for name, body in files:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_harmonic.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(tmp_path), "PATH": ""},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout
