"""Runner overhead: how many case-grader evaluations per second rmg's GradingRunner does
when the grader itself costs nothing, against OpenJudge's GradingRunner in the same run.

    /work/venv/bin/python benchmarks/bench_runner.py            # full run
    /work/venv/bin/python benchmarks/bench_runner.py --quick    # smaller N, for a smoke check

The grader returns one prebuilt constant `GraderScore` for every case, so
what is timed is the runner: mapping each case's fields, batching, the worker
thread hop, result checks and assembling the columns.

* rmg batch path: the grader implements ``evaluate_batch`` (how rmg's CPU
  graders run) — the headline figure, target >= 250,000 evals/s and >= 5x
  OpenJudge.
* rmg per-case path: the grader implements only ``aevaluate`` (how I/O-bound
  graders such as an LLM judge run) — for information.
* OpenJudge: ``benchmarks/peers/openjudge_bench.py --mode constant`` in its own
  virtualenv (created on first use, see ``peers/env.py``).

Every side runs pinned to one CPU with BLAS/OpenMP at one thread; each figure
is the best of ``--repeat`` runs after a warm-up.  Exit status is 1 if a
target is missed (0 with ``--no-check``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any, Mapping, Sequence  # noqa: E402

from rmg_core import Grader, GraderResult, GraderScore, GradingRunner  # noqa: E402

from peers.env import pin_to_one_cpu, run_openjudge_bench  # noqa: E402

TARGET_EVALS_PER_S = 250_000
TARGET_RATIO = 5.0

#: One score shared by every case: building it is the grader's cost, not the runner's.
CONSTANT = GraderScore(name="constant", score=1.0, reason="constant")


class ConstantBatchGrader(Grader):
    """Constant score through the batch path; declares fields like a real reference grader."""

    name = "constant_batch"
    required_fields = ("prediction",)
    optional_fields = ("reference",)

    def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> Sequence[GraderResult]:
        return [CONSTANT] * len(items)


class ConstantCaseGrader(Grader):
    """Constant score through the per-case ``aevaluate`` path."""

    name = "constant_case"
    required_fields = ("prediction",)
    optional_fields = ("reference",)

    async def aevaluate(self, **fields: Any) -> GraderResult:
        return CONSTANT


def make_cases(n: int) -> list[dict]:
    """Cases in the shape `EvalCase.grader_fields` gives the runner."""
    return [
        {
            "trace_id": f"t{i}",
            "input": f"question {i}",
            "prediction": f"answer {i}",
            "reference": f"reference {i}",
            "metadata": {},
        }
        for i in range(n)
    ]


def time_rmg(grader: Grader, cases: list[dict], repeat: int, max_concurrency: int) -> tuple[float, float]:
    """Best wall times of ``repeat`` runs over ``cases``: ``(asyncio.run(arun), arun inside the loop)``.

    The first is what a user's ``asyncio.run(runner.arun(data))`` costs, the
    figure the targets are checked on; the second times ``arun`` alone, so a
    gap between them shows cost outside the runner (event loop start and
    shutdown, and anything asyncio does with the returned results).
    """
    runner = GradingRunner({"constant": grader}, max_concurrency=max_concurrency)
    asyncio.run(runner.arun(cases[:1000]))  # warm-up: thread pool, caches

    async def timed() -> tuple[float, Any]:
        start = time.perf_counter()
        results = await runner.arun(cases)
        return time.perf_counter() - start, results

    best_total = best_inner = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        inner, results = asyncio.run(timed())
        best_total = min(best_total, time.perf_counter() - start)
        best_inner = min(best_inner, inner)
        column = results["constant"]
        if len(column) != len(cases) or any(r is not CONSTANT for r in column):
            raise SystemExit("rmg returned a wrong or missing result; the benchmark is void")
        del results, column
    return best_total, best_inner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="rmg GradingRunner overhead vs OpenJudge")
    parser.add_argument("--n", type=int, default=200_000, help="cases for rmg's batch path")
    parser.add_argument("--n-case", type=int, default=50_000, help="cases for rmg's per-case path")
    parser.add_argument("--n-openjudge", type=int, default=50_000,
                        help="cases for OpenJudge (slower; its rate is what is compared)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-concurrency", type=int, default=32, help="rmg's per-case concurrency")
    parser.add_argument("--quick", action="store_true", help="N/10 everywhere: a smoke run, not a figure")
    parser.add_argument("--skip-openjudge", action="store_true")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--no-check", action="store_true", help="exit 0 even if a target is missed")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.n_case, args.n_openjudge = args.n // 10, args.n_case // 10, args.n_openjudge // 10

    cpu = None if args.no_pin else pin_to_one_cpu()
    print(f"pinned to CPU {cpu}" if cpu is not None else "not pinned", "; best of", args.repeat, "runs")

    cases = make_cases(max(args.n, args.n_case))
    batch_s, batch_inner = time_rmg(ConstantBatchGrader(), cases[: args.n], args.repeat, args.max_concurrency)
    batch_rate = args.n / batch_s
    print(f"rmg batch path     : {batch_rate:>12,.0f} evals/s  ({args.n:,} cases in {batch_s:.3f}s; "
          f"arun alone {args.n / batch_inner:,.0f}/s)")

    case_s, case_inner = time_rmg(ConstantCaseGrader(), cases[: args.n_case], args.repeat, args.max_concurrency)
    case_rate = args.n_case / case_s
    print(f"rmg per-case path  : {case_rate:>12,.0f} evals/s  ({args.n_case:,} cases in {case_s:.3f}s; "
          f"arun alone {args.n_case / case_inner:,.0f}/s; max_concurrency={args.max_concurrency})")
    if batch_s > 2 * batch_inner:
        # CPython 3.11's asyncio.run calls repr() on the main task's result when
        # it restores the SIGINT handler (python/cpython#112559); a result whose
        # repr is as long as the results themselves makes that cost dominate.
        print("note               : over half the time is spent outside arun: asyncio.run repr()s "
              "the returned results on exit (python/cpython#112559); RunResults needs an O(1) __repr__")

    figures: dict[str, Any] = {
        "rmg_batch_evals_per_s": batch_rate,
        "rmg_batch_arun_evals_per_s": args.n / batch_inner,
        "rmg_case_evals_per_s": case_rate,
        "rmg_case_arun_evals_per_s": args.n_case / case_inner,
        "n": args.n,
        "n_case": args.n_case,
    }
    ok = batch_rate >= TARGET_EVALS_PER_S
    print(f"target             : >= {TARGET_EVALS_PER_S:,} evals/s on the batch path: {'met' if ok else 'MISSED'}")

    if not args.skip_openjudge:
        peer = run_openjudge_bench("--mode", "constant", "--n", str(args.n_openjudge), "--repeat", str(args.repeat),
                                   *(["--no-pin"] if args.no_pin else []))
        oj_rate = peer["evals_per_s"]
        ratio, case_ratio = batch_rate / oj_rate, case_rate / oj_rate
        print(f"OpenJudge {peer['version']:<9}: {oj_rate:>12,.0f} evals/s  ({peer['n']:,} cases in "
              f"{peer['seconds']:.3f}s, max_concurrency={peer['max_concurrency']})")
        print(f"ratio batch/OJ     : {ratio:.1f}x  (target >= {TARGET_RATIO:g}x: "
              f"{'met' if ratio >= TARGET_RATIO else 'MISSED'})")
        print(f"ratio per-case/OJ  : {case_ratio:.1f}x  (information)")
        figures.update({"openjudge_evals_per_s": oj_rate, "n_openjudge": peer["n"],
                        "ratio_batch": ratio, "ratio_case": case_ratio})
        ok = ok and ratio >= TARGET_RATIO
    if args.json:
        print(json.dumps(figures))
    return 0 if ok or args.no_check else 1


if __name__ == "__main__":
    sys.exit(main())
