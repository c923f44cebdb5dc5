"""Grade pairs with every OpenJudge similarity algorithm; runs *inside* the OpenJudge venv (see ``env.py``).

    python=$(python benchmarks/peers/env.py)
    $python benchmarks/peers/openjudge_similarity.py --data pairs.jsonl --out scores.json

Each algorithm grades every pair through OpenJudge's ``GradingRunner`` with
``SimilarityGrader(algorithm=...)`` at its defaults (``show_progress=False``,
timing off, best of ``--repeat`` runs after a warm-up).  Writes
``{algorithm: {"seconds": s, "cpu_seconds": s, "scores": [...], "errors": n, ...}}``
to ``--out``: a pair OpenJudge failed on has score ``None`` when it returned a
``GraderError``; a ``GraderScore`` it returned after catching an error
(OpenJudge turns some failures into 0.0 with the error in ``metadata``) is
counted in ``"zero_on_error"``.

``--meteor-without-wordnet`` also runs METEOR with NLTK's WordNet replaced by
one without synonyms (the WordNet corpus cannot be downloaded here) and
without OpenJudge's ``nltk.download`` call per evaluation, reported as
``meteor_no_wordnet``: it shows what OpenJudge's METEOR computes when only its
exact and stem stages can match.  The shipped ``meteor`` grades only the first
``--meteor-limit`` pairs: each of its calls tries (and fails) to download.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ALGORITHMS = (
    "bleu", "sentence_bleu", "gleu", "chrf", "meteor", "rouge", "rouge1", "rouge2", "rougeL",
    "rouge_ngram", "rouge3", "rouge4", "rouge5", "f1_score", "token_f1", "fuzzy_match", "edit_distance",
    "cosine", "jaccard",
)


class _NoSynonyms:
    """A WordNet with no synsets: METEOR's synonym stage then matches nothing."""

    def synsets(self, word: str, *args: object, **kwargs: object) -> list:
        return []


def _grade(algorithm: str, pairs: list[dict], repeat: int) -> dict:
    """Grade ``pairs`` with ``algorithm`` through OpenJudge's runner; the best of ``repeat`` timed runs."""
    from openjudge.graders.schema import GraderError
    from openjudge.graders.text.similarity import SimilarityGrader
    from openjudge.runner.grading_runner import GradingRunner

    runner = GradingRunner(
        grader_configs={"s": (SimilarityGrader(algorithm=algorithm),
                              {"reference_response": "reference", "response": "prediction"})},
        max_concurrency=256,
        show_progress=False,
    )
    asyncio.run(runner.arun(pairs[: min(len(pairs), 50)]))  # warm-up: imports, jieba's dictionary
    best, best_cpu, column = float("inf"), float("inf"), []
    for _ in range(max(1, repeat)):
        start, start_cpu = time.perf_counter(), time.process_time()
        column = asyncio.run(runner.arun(pairs))["s"]
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    scores, reasons, zero_on_error = [], [], 0
    for result in column:
        if isinstance(result, GraderError):
            scores.append(None)
            reasons.append(result.error[:200])
        else:
            scores.append(float(result.score))
            reasons.append("")
            if "error" in (result.metadata or {}):
                zero_on_error += 1
    return {"seconds": best, "cpu_seconds": best_cpu, "scores": scores, "errors": scores.count(None),
            "zero_on_error": zero_on_error, "first_reason": next((r for r in reasons if r), ""),
            "reason_of_first": getattr(column[0], "reason", "") if column else ""}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="JSONL with 'prediction' and 'reference'")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--meteor-without-wordnet", action="store_true")
    parser.add_argument("--meteor-limit", type=int, default=100,
                        help="grade only this many pairs with the shipped meteor (each call tries a download)")
    args = parser.parse_args()

    from loguru import logger

    logger.remove()  # OpenJudge logs every failure; the counts are reported instead
    pairs = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = {}
    for algorithm in args.algorithms.split(","):
        subset = pairs[: args.meteor_limit] if algorithm == "meteor" else pairs
        # The shipped meteor waits on a failed download per call: timed once.
        out[algorithm] = _grade(algorithm, subset, 1 if algorithm == "meteor" else args.repeat)
        print(f"openjudge {algorithm}: {out[algorithm]['seconds']:.2f}s", file=sys.stderr)
    if args.meteor_without_wordnet:
        import nltk.translate.meteor_score as meteor
        from openjudge.graders.text.similarity import SimilarityGrader

        # No download attempt per call: what is timed is OpenJudge's METEOR itself.
        SimilarityGrader._ensure_nltk_data = lambda self: None

        # OpenJudge calls meteor_score(...) without a wordnet argument: swap the default.
        defaults = list(meteor.single_meteor_score.__defaults__)
        defaults[2] = _NoSynonyms()
        meteor.single_meteor_score.__defaults__ = tuple(defaults)
        meteor_defaults = list(meteor.meteor_score.__defaults__)
        meteor_defaults[2] = _NoSynonyms()
        meteor.meteor_score.__defaults__ = tuple(meteor_defaults)
        out["meteor_no_wordnet"] = _grade("meteor", pairs, args.repeat)
    from importlib.metadata import version

    out["_meta"] = {"openjudge": version("py-openjudge"), "n": len(pairs)}
    args.out.write_text(json.dumps(out), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
