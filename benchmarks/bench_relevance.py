"""Throughput of the lexical relevance grader through GradingRunner, on one core.

    python benchmarks/bench_relevance.py [--cases 20000] [--repeats 3]

20,000 synthetic cases (questions of 6-16 words, answers of 15-80 words, one
in five as chat-message lists) are graded by ``RelevanceGrader()`` through
``GradingRunner``.  The process is pinned to one CPU and BLAS/OpenMP to one
thread.  The baseline, measured in the same run on the same cases, is a bare
Python loop computing word-overlap Jaccard with ``str.split`` and sets: the
cheapest thing that could be called a relevance score.  Target: 15,000
cases/s.
"""

from __future__ import annotations

import os

# Before numpy/sklearn can be imported by anything: one thread each.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers.env import pin_to_one_cpu  # noqa: E402

TARGET = 15_000.0
STOP = ("the a an of to in for on with and or is are how what why when do does can i my you your it "
        "this that be by as at from").split()


def make_vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    weights = [12, 9, 8, 8, 7, 7, 6, 6, 6, 4, 4, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1]
    words = set()
    while len(words) < size:
        n = rng.randint(3, 11)
        words.add("".join(rng.choices(letters, weights, k=n)) + rng.choice(("", "", "s", "ing", "ed", "ion")))
    return sorted(words)


def make_cases(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    vocab = make_vocabulary(random.Random(1))
    # Zipf-like word frequencies, as in real text.
    cum = list(__import__("itertools").accumulate(1.0 / (i + 1) for i in range(len(vocab))))
    cases = []
    for i in range(n):
        q_words = rng.choices(vocab, cum_weights=cum, k=rng.randint(4, 10)) + rng.sample(STOP, 3)
        rng.shuffle(q_words)
        question = " ".join(q_words).capitalize() + "?"
        a_words = rng.choices(vocab, cum_weights=cum, k=rng.randint(10, 55)) + rng.choices(STOP, k=rng.randint(5, 25))
        if rng.random() < 0.6:  # most answers reuse some of the question's words
            a_words += rng.sample(q_words, k=rng.randint(1, len(q_words)))
        rng.shuffle(a_words)
        answer = " ".join(a_words).capitalize() + "."
        if i % 5 == 0:
            case = {
                "input": [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": question}],
                "prediction": [{"role": "assistant", "content": answer}],
            }
        else:
            case = {"input": question, "prediction": answer}
        case["id"] = str(i)
        cases.append(case)
    return cases


def baseline_loop(cases: list[dict]) -> list[float]:
    """Bare Python token-overlap Jaccard (chat inputs reduced the same way as the grader's)."""
    from rmg_core.text import answer_text, question_text

    out = []
    for case in cases:
        q = case["input"] if isinstance(case["input"], str) else question_text(case["input"])
        a = case["prediction"] if isinstance(case["prediction"], str) else answer_text(case["prediction"])
        qs, as_ = set(q.lower().split()), set(a.lower().split())
        union = qs | as_
        out.append(len(qs & as_) / len(union) if union else 0.0)
    return out


def timed(fn, *args) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    start, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cpu = pin_to_one_cpu()

    from rmg_core import GraderScore, GradingRunner
    from rmg_relevance import RelevanceGrader

    cases = make_cases(args.cases, seed=7)
    runner = GradingRunner({"relevance": RelevanceGrader()})
    runner.run(make_cases(2000, seed=99))  # warm-up: imports, regex compilation, word caches

    grader_times, baseline_times, grader_cpu = [], [], []
    for _ in range(args.repeats):
        wall, cpu_s = timed(runner.run, cases)
        grader_times.append(wall)
        grader_cpu.append(cpu_s)
        baseline_times.append(timed(baseline_loop, cases)[0])
    results = runner.run(cases)["relevance"]
    bad = sum(1 for r in results if not isinstance(r, GraderScore))

    rate = args.cases / statistics.median(grader_times)
    base_rate = args.cases / statistics.median(baseline_times)
    print(f"cases: {args.cases} (1 in 5 as chat messages), pinned to CPU {cpu}, repeats: {args.repeats} (median)")
    print(f"relevance (lexical) through GradingRunner: {rate:,.0f} cases/s "
          f"(by process CPU time: {args.cases / statistics.median(grader_cpu):,.0f} cases/s)")
    print(f"baseline (bare Python word-overlap Jaccard loop): {base_rate:,.0f} cases/s")
    print(f"ratio grader/baseline: {rate / base_rate:.2f}x")
    print(f"non-score results: {bad}")
    verdict = "PASS" if rate >= TARGET and bad == 0 else "FAIL"
    print(f"{verdict}: target >= {TARGET:,.0f} cases/s on one core")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
