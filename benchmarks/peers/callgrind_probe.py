"""Grade pairs once with one similarity algorithm while valgrind counts instructions (child of bench_instructions.py).

    valgrind --tool=callgrind --instr-atstart=no python callgrind_probe.py --tool rmg --algorithm bleu --data P

Runs in rmg's environment (``--tool rmg`` or ``--tool rapidfuzz``, the bare
RapidFuzz call both tools make for ``fuzzy_match`` / ``edit_distance``) or in
OpenJudge's (``--tool openjudge``).  Two warm-up runs (imports, caches, the
allocator's arenas) go uncounted; counting is switched on with
``callgrind_control`` for the ``--runs`` measured runs only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Callable


def _count(on: bool) -> None:
    subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def _rmg(algorithm: str, pairs: list[dict]) -> Callable[[], Any]:
    from rmg_core import GradingRunner
    from rmg_similarity import SimilarityGrader

    runner = GradingRunner(grader_configs={"s": SimilarityGrader(algorithm=algorithm)})
    return lambda: asyncio.run(runner.arun(pairs))


def _openjudge(algorithm: str, pairs: list[dict]) -> Callable[[], Any]:
    from loguru import logger
    from openjudge.graders.text.similarity import SimilarityGrader
    from openjudge.runner.grading_runner import GradingRunner

    logger.remove()
    runner = GradingRunner(
        grader_configs={"s": (SimilarityGrader(algorithm=algorithm),
                              {"reference_response": "reference", "response": "prediction"})},
        max_concurrency=256, show_progress=False,
    )
    return lambda: asyncio.run(runner.arun(pairs))


def _rapidfuzz(algorithm: str, pairs: list[dict]) -> Callable[[], Any]:
    import numpy as np
    from rapidfuzz import fuzz, process
    from rapidfuzz.distance import Levenshtein

    scorer = {"fuzzy_match": fuzz.ratio, "edit_distance": Levenshtein.distance}[algorithm]
    preds, refs = [p["prediction"] for p in pairs], [p["reference"] for p in pairs]
    return lambda: process.cpdist(preds, refs, scorer=scorer, dtype=np.float64, workers=1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tool", choices=("rmg", "openjudge", "rapidfuzz"), required=True)
    parser.add_argument("--algorithm", required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    pairs = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines()]
    work = {"rmg": _rmg, "openjudge": _openjudge, "rapidfuzz": _rapidfuzz}[args.tool](args.algorithm, pairs)
    work()
    work()
    _count(True)
    for _ in range(args.runs):
        work()
    _count(False)


if __name__ == "__main__":
    main()
