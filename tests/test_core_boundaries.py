"""The core stays minimal: it never imports a plugin, and start-up imports nothing heavy."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

# pydantic too: importing it alone costs more than `import click, pluggy` and the entry points (issue 15),
# so components (whose settings are pydantic models) load when a run first asks for them.
HEAVY = ("numpy", "sklearn", "langfuse", "scipy", "httpx", "sacrebleu", "nltk", "rapidfuzz", "rouge_score", "pydantic", "ray")




def _modules_after(code: str) -> set[str]:
    # The module list goes to stderr after a marker: the command's own output may name "langfuse".
    script = code + "\nimport sys; sys.stderr.write('@@MODULES@@ ' + ' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(out.stderr.split("@@MODULES@@", 1)[1].split())


def test_import_rmg_core_is_light() -> None:
    loaded = _modules_after("import rmg_core")
    assert not [m for m in HEAVY if m in loaded]


def test_rmg_help_and_plugins_import_nothing_heavy() -> None:
    # Runs the real console entry point (plugins loaded through entry points) in-process.
    for args in (["--help"], ["plugins"], ["plugins", "--json"]):
        code = f"import sys\nfrom rmg_core.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass"
        loaded = _modules_after(code)
        assert not [m for m in HEAVY if m in loaded], (args, [m for m in HEAVY if m in loaded])


def test_lazy_exports_match_what_type_checkers_see() -> None:
    # rmg_core imports its pydantic-backed names on first use (`_LAZY`); type checkers read the imports under
    # `if TYPE_CHECKING:`. Both must name the same things from the same modules, and together with the
    # names imported at once, exactly `__all__`.
    import rmg_core

    tree = ast.parse((ROOT / "rmg_core" / "__init__.py").read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test))
    typed = {a.name: n.module for n in block.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert typed == rmg_core._LAZY
    eager = {a.name for n in tree.body if isinstance(n, ast.ImportFrom) and n.level for a in n.names}
    assert sorted(eager | set(typed) | {"__version__"}) == sorted(rmg_core.__all__)
