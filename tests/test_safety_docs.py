"""The exit-status table is one table: the same in docs/safety.md, docs/cli.md and README, and true to the code."""

from __future__ import annotations

import re

from rmg_core import EXIT_CONFIG
from rmg_core.summary import EXIT_ALL_ERRORS, EXIT_INCOMPLETE, EXIT_NOTHING_GRADED
from rmg_reporting.gate import EXIT_GATE
from tests.conftest import ROOT

MARKER = "<!-- exit-status-table:"


def table_of(path: str) -> str:
    text = (ROOT / path).read_text(encoding="utf-8")
    start = text.index("\n", text.index(MARKER)) + 1
    lines = text[start:].splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("When several apply"))
    return "\n".join(lines[:end + 1])


def test_the_exit_status_table_is_the_same_everywhere() -> None:
    safety = table_of("docs/safety.md")
    assert table_of("README.md") == safety
    assert table_of("docs/cli.md") == safety


def test_the_table_lists_every_status_the_code_gives() -> None:
    documented = {int(n) for n in re.findall(r"^\| `(\d+)` \|", table_of("docs/safety.md"), re.M)}
    assert documented >= {0, EXIT_INCOMPLETE, EXIT_CONFIG, EXIT_GATE, EXIT_NOTHING_GRADED, EXIT_ALL_ERRORS, 130}


def test_the_safety_page_is_in_the_site_navigation() -> None:
    assert "Safety: safety.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
