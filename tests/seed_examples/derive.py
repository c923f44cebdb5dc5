"""Derive the seed document's examples with only their import lines changed.

The seed (`shared/seed/langfuse-integration-guide.md`) is the recipe users copy
today.  Its code must run on rmg with nothing changed but imports; this module
is the single place that says which imports change, and how.
"""

from __future__ import annotations

import re
from pathlib import Path

#: seed import line -> rmg import line ("" drops an import the example never uses).
IMPORTS = {
    "from rm_gallery.core.graders.text.similarity import SimilarityGrader": "from rmg_similarity import SimilarityGrader",
    "from rm_gallery.core.graders.text.relevance_grader import RelevanceGrader": "from rmg_relevance import RelevanceGrader",
    "from rm_gallery.core.graders.schema import GraderResult, GraderScore, GraderRank, GraderError": "from rmg_core import GraderResult, GraderScore, GraderRank, GraderError",
    "from rm_gallery.core.runner.grading_runner import GradingRunner": "from rmg_core import GradingRunner",
    "from rm_gallery.core.analyzer.aggregator.weighted_sum_aggregator import WeightedSumAggregator": "from rmg_weighted_sum import WeightedSumAggregator",
    "import pandas as pd": "",  # imported by the seed, never used
}

#: Example name -> the seed function it defines.
EXAMPLES = {
    "single_worker": "rm_gallery_eval_worker",
    "batch_worker": "rm_gallery_batch_eval_worker",
    "aggregated_worker": "rm_gallery_aggregated_eval_worker",
}


def seed_blocks(seed_text: str) -> dict[str, str]:
    """The seed's Python code blocks, by the worker function each defines."""
    out = {}
    for block in re.findall(r"```python\n(.*?)```", seed_text, flags=re.S):
        for name, function in EXAMPLES.items():
            if f"async def {function}(" in block:
                out[name] = block
    return out


def with_rmg_imports(block: str) -> str:
    """The block with its import lines swapped for rmg's; every other line untouched."""
    lines = []
    for line in block.splitlines():
        stripped = line.strip()
        if stripped.startswith(("import ", "from ")) and stripped in IMPORTS:
            replacement = IMPORTS[stripped]
            if replacement:
                lines.append(line.replace(stripped, replacement))
            continue
        if stripped.startswith("from rm_gallery") or stripped.startswith("import rm_gallery"):
            raise ValueError(f"seed import with no rmg equivalent: {stripped}")
        lines.append(line)
    return "\n".join(lines) + "\n"


def find_seed() -> Path | None:
    """The seed document, when the shared folder sits beside the checkout (as in CI)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent.parent / "shared" / "seed" / "langfuse-integration-guide.md"
        if candidate.is_file():
            return candidate
    return None
