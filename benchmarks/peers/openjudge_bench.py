"""Measure OpenJudge (py-openjudge 0.2.4), the peer rmg is compared against.

Runs *inside* the OpenJudge virtualenv (see ``env.py``), never in rmg's, so
the two tools' pins never meet.  Prints one JSON object on stdout and
nothing else there, so callers can ``json.loads`` it:

    python=$(/work/venv/bin/python benchmarks/peers/env.py)
    $python benchmarks/peers/openjudge_bench.py --mode constant --n 20000
    $python benchmarks/peers/openjudge_bench.py --mode cosine --data pairs.jsonl

Modes:

* ``constant``: N cases through OpenJudge's ``GradingRunner`` with one
  grader whose ``_aevaluate`` returns a prebuilt constant ``GraderScore`` —
  what is measured is the runner's own cost per case-grader evaluation.
* ``cosine``: (prediction, reference) pairs from a JSONL file (one object per
  line with the two keys, names set by ``--pred-key`` / ``--ref-key``)
  through ``GradingRunner`` with OpenJudge's ``SimilarityGrader(algorithm=
  "cosine")`` (TF-IDF over jieba tokens, uni+bigrams: its defaults).

OpenJudge is given its fastest settings: ``show_progress=False`` (no tqdm),
timing collection off, and ``--max-concurrency`` 256 (1, 32, 256 and 4096
measured within noise of each other on the constant mode: neither grader
waits on I/O, so the value only changes semaphore bookkeeping).  One warm-up
run precedes the timed runs, and the best of ``--repeat`` runs is reported.
BLAS/OpenMP are held to one thread and the process is pinned to one CPU
unless ``--no-pin``.
"""

from __future__ import annotations

import os

# Before numpy/scikit-learn load: one BLAS/OpenMP thread, like rmg's side.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

DEFAULT_MAX_CONCURRENCY = 256


def _pin() -> int | None:
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = sorted(os.sched_getaffinity(0))[0]
    os.sched_setaffinity(0, {cpu})
    return cpu


def _quiet_openjudge_logs() -> None:
    # OpenJudge logs each grader failure through loguru at ERROR level; the
    # benchmark counts errors itself, so console logging would only add noise
    # (and cost) to the timed loop.
    from loguru import logger

    logger.remove()


def _constant_grader() -> Any:
    from openjudge.graders.base_grader import BaseGrader
    from openjudge.graders.schema import GraderMode, GraderScore

    # Held outside the grader: OpenJudge deep-copies the grader for every case,
    # and a score stored on it would be copied too (about 25% slower here).
    constant = GraderScore(name="constant", score=1.0, reason="constant")

    class ConstantGrader(BaseGrader):
        """Returns the same prebuilt score for every case: only the runner's work is measured."""

        def __init__(self) -> None:
            super().__init__(name="constant", mode=GraderMode.POINTWISE, description="constant score")

        async def _aevaluate(self, **kwargs: Any) -> Any:
            return constant

    return ConstantGrader()


def _run(runner: Any, data: list[dict]) -> tuple[float, dict]:
    start = time.perf_counter()
    results = asyncio.run(runner.arun(data))
    return time.perf_counter() - start, results


def _best_of(runner: Any, data: list[dict], repeat: int) -> tuple[float, dict]:
    _run(runner, data[: min(len(data), 1000)])  # warm-up: imports, jieba's dictionary, caches
    best, results = float("inf"), {}
    for _ in range(max(1, repeat)):
        seconds, results = _run(runner, data)
        best = min(best, seconds)
    return best, results


def _count_errors(column: list) -> int:
    from openjudge.graders.schema import GraderError

    return sum(1 for r in column if isinstance(r, GraderError))


def constant_mode(n: int, repeat: int, max_concurrency: int) -> dict:
    from openjudge.runner.grading_runner import GradingRunner

    runner = GradingRunner(
        grader_configs={"constant": _constant_grader()},
        max_concurrency=max_concurrency,
        show_progress=False,
    )
    # The same case shape rmg's benchmark uses.
    data = [{"input": f"question {i}", "prediction": f"answer {i}", "reference": f"reference {i}"} for i in range(n)]
    seconds, results = _best_of(runner, data, repeat)
    column = results["constant"]
    errors = _count_errors(column)
    if len(column) != n or errors:
        raise SystemExit(f"OpenJudge returned {len(column)} results with {errors} errors for {n} cases")
    return {"mode": "constant", "n": n, "seconds": seconds, "evals_per_s": n / seconds}


def _read_pairs(path: Path, pred_key: str, ref_key: str, limit: int | None) -> list[dict]:
    pairs = []
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise SystemExit(f"{path}:{lineno}: not valid JSON ({exc})") from None
            if not isinstance(obj, dict) or not isinstance(obj.get(pred_key), str) or not isinstance(obj.get(ref_key), str):
                raise SystemExit(
                    f"{path}:{lineno}: expected an object with string fields {pred_key!r} and {ref_key!r} "
                    f"(set --pred-key/--ref-key to the file's names)"
                )
            pairs.append({"prediction": obj[pred_key], "reference": obj[ref_key]})
            if limit is not None and len(pairs) >= limit:
                break
    if not pairs:
        raise SystemExit(f"{path}: no pairs found")
    return pairs


def cosine_mode(data_path: Path, repeat: int, max_concurrency: int, pred_key: str, ref_key: str,
                limit: int | None, scores_out: Path | None) -> dict:
    from openjudge.graders.text.similarity import SimilarityGrader
    from openjudge.runner.grading_runner import GradingRunner

    pairs = _read_pairs(data_path, pred_key, ref_key, limit)
    runner = GradingRunner(
        grader_configs={
            "similarity": (
                SimilarityGrader(algorithm="cosine"),
                {"reference_response": "reference", "response": "prediction"},
            ),
        },
        max_concurrency=max_concurrency,
        show_progress=False,
    )
    seconds, results = _best_of(runner, pairs, repeat)
    column = results["similarity"]
    scores = [getattr(r, "score", None) for r in column]
    errors = _count_errors(column)
    valid = [s for s in scores if s is not None]
    digest = hashlib.sha256(json.dumps([round(s, 6) if s is not None else None for s in scores]).encode()).hexdigest()
    if scores_out is not None:
        with scores_out.open("w", encoding="utf-8") as out:
            for s in scores:
                out.write(json.dumps({"score": s}) + "\n")
    return {
        "mode": "cosine",
        "n": len(pairs),
        "seconds": seconds,
        "pairs_per_s": len(pairs) / seconds,
        "errors": errors,
        "mean_score": sum(valid) / len(valid) if valid else None,
        "scores_sha256": digest,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("constant", "cosine"), required=True)
    parser.add_argument("--n", type=int, default=20000, help="cases for --mode constant")
    parser.add_argument("--data", type=Path, help="JSONL of pairs for --mode cosine")
    parser.add_argument("--pred-key", default="prediction")
    parser.add_argument("--ref-key", default="reference")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N pairs of --data")
    parser.add_argument("--scores-out", type=Path, default=None, help="write each pair's score as JSONL")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is reported")
    parser.add_argument("--max-concurrency", type=int, default=DEFAULT_MAX_CONCURRENCY)
    parser.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    args = parser.parse_args(argv)

    cpu = None if args.no_pin else _pin()
    _quiet_openjudge_logs()
    if args.mode == "constant":
        if args.n < 1:
            parser.error("--n must be at least 1")
        result = constant_mode(args.n, args.repeat, args.max_concurrency)
    else:
        if args.data is None:
            parser.error("--mode cosine needs --data FILE.jsonl")
        if not args.data.is_file():
            parser.error(f"--data {args.data}: no such file")
        result = cosine_mode(args.data, args.repeat, args.max_concurrency, args.pred_key, args.ref_key,
                             args.limit, args.scores_out)
    from importlib.metadata import version

    result.update({
        "tool": "openjudge",
        "version": version("py-openjudge"),
        "python": platform.python_version(),
        "max_concurrency": args.max_concurrency,
        "repeat": args.repeat,
        "pinned_cpu": cpu,
    })
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
