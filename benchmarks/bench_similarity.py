"""Throughput of the ``similarity`` grader (cosine) against two baselines, on one core.

    /work/venv/bin/python benchmarks/bench_similarity.py            # all three
    /work/venv/bin/python benchmarks/bench_similarity.py --no-openjudge
    /work/venv/bin/python benchmarks/bench_similarity.py --json

On N synthetic (prediction, reference) pairs of 20-60 words (seeded; a Zipf
vocabulary of English stop words and English-like words, partially
overlapping pairs) it measures, in the same process and run:

* **rmg**: ``SimilarityGrader(algorithm="cosine", ngram_range=(1, 1))`` through rmg's
  ``GradingRunner`` (pairs/s) — target >= 25,000 pairs/s;
* **scikit-learn baseline**: one ``TfidfVectorizer`` fitted over the whole
  batch plus the row-wise cosine — the ratio rmg/baseline, target >= 0.7;
* **rmg eval**: the same pairs as a JSONL file (``output`` and ``expected``)
  through ``rmg eval FILE -g similarity -s graders.similarity.ngram_range=[1,1]
  -o OUT -q`` (words only, as above), called in this process
  after a warm-up: reading, grading, building records and writing the scores
  — the ratio rmg eval/baseline, target >= 1.0;
* **OpenJudge** 0.2.4 (``SimilarityGrader(algorithm="cosine")`` through its
  ``GradingRunner``, in its own venv via benchmarks/peers) — the ratio
  rmg/OpenJudge, target >= 40.  OpenJudge is run on the first
  ``--openjudge-n`` pairs (it is slow; pairs/s is what is compared).

Each figure is the best of ``--repeat`` timed runs after a warm-up.  BLAS and
OpenMP are held to one thread and the process is pinned to one CPU.
"""

from __future__ import annotations

import os

# Before numpy / scikit-learn are imported: one thread each.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import asyncio  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

HERE = Path(__file__).resolve().parent
TARGET_PAIRS_PER_S = 25_000
TARGET_VS_SKLEARN = 0.7
TARGET_VS_OPENJUDGE = 40.0
TARGET_CLI_VS_SKLEARN = 1.0

_ONSETS = ("b c d f g h j k l m n p r s t v w y z bl br ch cl cr dr fl fr gl gr pl pr sh sl sm sp st str th tr wh").split()
_VOWELS = ("a e i o u a e i o ai ea ee ie oa oo ou ay").split()
_CODAS = ("", "", "", "n", "r", "s", "t", "l", "m", "d", "nd", "st", "ng", "ck", "rt", "nt", "ss", "ll")


def _vocabulary(rng: random.Random, size: int = 30_000) -> list[str]:
    """Stop words first (the most frequent), then English-like words, shorter ones more frequent.

    Real text follows Zipf's law and frequent words are short; this list is
    ranked that way so a Zipf draw gives realistic token lengths and reuse.
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words: set[str] = set()
    while len(words) < size:
        syllables = rng.choices((1, 2, 3, 4), weights=(35, 40, 20, 5))[0]
        words.add("".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)))
    head = sorted(ENGLISH_STOP_WORDS)
    rng.shuffle(head)
    content = sorted(words - set(head), key=lambda w: (len(w), rng.random()))
    return head + content


def synthetic_pairs(n: int, seed: int = 20240601) -> list[tuple[str, str]]:
    """``n`` (prediction, reference) pairs of 20-60 words; overlap varies from none to full."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    cum = list(itertools.accumulate(1.0 / (rank + 1) ** 1.07 for rank in range(len(vocab))))

    def words(k: int) -> list[str]:
        return rng.choices(vocab, cum_weights=cum, k=k)

    def sentence(tokens: list[str]) -> str:
        text = " ".join(tokens)
        # Capitals, commas and a final period, as in real answers.
        parts = text.split(" ")
        for j in range(7, len(parts) - 1, rng.randint(6, 12)):
            parts[j] += ","
        return (" ".join(parts)).capitalize() + rng.choice((".", ".", "!", "?"))

    pairs = []
    for _ in range(n):
        reference = words(rng.randint(20, 60))
        keep = rng.random()
        prediction = [w if rng.random() < keep else words(1)[0] for w in reference]
        if rng.random() < 0.5:  # reorder a stretch, as paraphrases do
            a = rng.randrange(len(prediction))
            b = min(len(prediction), a + rng.randint(3, 10))
            prediction[a:b] = prediction[a:b][::-1]
        target = rng.randint(20, 60)
        prediction = prediction[:target] if target < len(prediction) else prediction + words(target - len(prediction))
        pairs.append((sentence(prediction), sentence(reference)))
    return pairs


def _pin(cpu: int | None) -> int | None:
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    chosen = allowed[0] if cpu is None else cpu
    if chosen not in allowed:
        raise SystemExit(f"--cpu {chosen}: not one of this process's CPUs {allowed}")
    os.sched_setaffinity(0, {chosen})
    return chosen


def _best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    fn()  # warm-up: imports, regex and Unicode tables, allocator
    best, result = float("inf"), None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def measure_rmg(pairs: list[tuple[str, str]], repeat: int) -> tuple[float, list[float]]:
    from rmg_core import GradingRunner, GraderScore
    from rmg_similarity import SimilarityGrader

    # Words only, like the scikit-learn baseline (TfidfVectorizer's default) and the issue-3 target; the
    # 1-2-gram default (grader version 2) is measured against OpenJudge by bench_similarity_openjudge.py.
    runner = GradingRunner(grader_configs={"similarity": SimilarityGrader(algorithm="cosine", ngram_range=(1, 1))})
    data = [{"prediction": p, "reference": r} for p, r in pairs]
    box: list[Any] = []

    async def worker() -> None:
        # As the seed's workers do: arun is awaited inside the user's own
        # coroutine.  (asyncio.run(runner.arun(data)) would also time
        # CPython 3.11 repr-ing the whole result dict for its SIGINT check.)
        box[:] = [await runner.arun(data)]

    seconds, _ = _best(lambda: asyncio.run(worker()), repeat)
    column = box[0]["similarity"]
    bad = [r for r in column if not isinstance(r, GraderScore)]
    if len(column) != len(pairs) or bad:
        raise SystemExit(f"rmg returned {len(column)} results, {len(bad)} not scores: {bad[:1]}")
    return seconds, [r.score for r in column]


def measure_cli(pairs: list[tuple[str, str]], repeat: int) -> float:
    """``rmg eval PAIRS.jsonl -g similarity -o OUT -q`` in this process: reading, grading, records, writing."""
    from rmg_core.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        traces, out = Path(tmp) / "pairs.jsonl", Path(tmp) / "scores.jsonl"
        with traces.open("w", encoding="utf-8") as handle:
            for i, (p, r) in enumerate(pairs):
                handle.write(json.dumps({"id": f"pair-{i}", "output": p, "expected": r}) + "\n")
        # Words only, as the runner row and the baseline: the 1-2-gram default (issue 16) does twice the TF-IDF work.
        args = ["eval", str(traces), "-g", "similarity", "-s", "graders.similarity.algorithm=cosine",
                "-s", "graders.similarity.ngram_range=[1,1]", "-o", str(out), "-q"]

        def run() -> None:
            try:
                main(args)
            except SystemExit as exc:
                if exc.code not in (0, None):
                    raise RuntimeError(f"rmg {' '.join(args)} exited {exc.code}") from None

        seconds, _ = _best(run, repeat)
        with out.open(encoding="utf-8") as handle:
            written = sum(1 for _ in handle)
    if written != len(pairs):
        raise SystemExit(f"rmg eval wrote {written} scores for {len(pairs)} pairs")
    return seconds


def measure_sklearn(pairs: list[tuple[str, str]], repeat: int) -> tuple[float, Any]:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    predictions = [p for p, _ in pairs]
    references = [r for _, r in pairs]
    n = len(pairs)

    def run() -> Any:
        matrix = TfidfVectorizer().fit_transform(predictions + references)  # rows are L2-normalized
        return np.asarray(matrix[:n].multiply(matrix[n:]).sum(axis=1)).ravel()

    return _best(run, repeat)


def measure_openjudge(pairs: list[tuple[str, str]], limit: int, repeat: int) -> dict:
    sys.path.insert(0, str(HERE))
    from peers.env import openjudge_python, single_core_env

    python = openjudge_python()
    script = HERE / "peers" / "openjudge_bench.py"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pairs.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for p, r in pairs[:limit]:
                out.write(json.dumps({"prediction": p, "reference": r}) + "\n")
        done = subprocess.run(
            [python, str(script), "--mode", "cosine", "--data", str(path), "--repeat", str(repeat)],
            capture_output=True, text=True, env=single_core_env(),
        )
    if done.returncode != 0:
        raise RuntimeError(f"openjudge_bench.py exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="pairs (default 20000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per tool; the best counts")
    parser.add_argument("--openjudge-n", type=int, default=2_000, help="pairs given to OpenJudge (default 2000)")
    parser.add_argument("--no-openjudge", action="store_true", help="skip OpenJudge (no venv needed)")
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: the first allowed)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = parser.parse_args(argv)

    cpu = _pin(args.cpu)
    pairs = synthetic_pairs(args.n)
    words = [len(p.split()) + len(r.split()) for p, r in pairs]
    report: dict[str, Any] = {"n": args.n, "pinned_cpu": cpu, "mean_words_per_pair": sum(words) / len(words)}

    os.environ.setdefault("RMG_DISABLE_PLUGINS", "broken_import,bad_hook,bad_signature")
    report["load_average"] = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    rmg_s, rmg_scores = measure_rmg(pairs, args.repeat)
    sk_s, _ = measure_sklearn(pairs, args.repeat)
    cli_s = measure_cli(pairs, args.repeat)
    rmg_rate, sk_rate, cli_rate = args.n / rmg_s, args.n / sk_s, args.n / cli_s
    report.update({
        "rmg_pairs_per_s": rmg_rate,
        "sklearn_pairs_per_s": sk_rate,
        "ratio_vs_sklearn": rmg_rate / sk_rate,
        "rmg_eval_pairs_per_s": cli_rate,
        "rmg_eval_ratio_vs_sklearn": cli_rate / sk_rate,
        "rmg_mean_score": sum(rmg_scores) / len(rmg_scores),
    })
    checks = {
        "rmg_pairs_per_s": rmg_rate >= TARGET_PAIRS_PER_S,
        "ratio_vs_sklearn": rmg_rate / sk_rate >= TARGET_VS_SKLEARN,
        "rmg_eval_ratio_vs_sklearn": cli_rate / sk_rate >= TARGET_CLI_VS_SKLEARN,
    }
    if not args.no_openjudge:
        limit = min(args.openjudge_n, args.n)
        oj = measure_openjudge(pairs, limit, repeat=max(1, min(args.repeat, 3)))
        report.update({
            "openjudge_n": oj["n"],
            "openjudge_pairs_per_s": oj["pairs_per_s"],
            "openjudge_version": oj.get("version"),
            "ratio_vs_openjudge": rmg_rate / oj["pairs_per_s"],
        })
        checks["ratio_vs_openjudge"] = rmg_rate / oj["pairs_per_s"] >= TARGET_VS_OPENJUDGE
    report["checks"] = {k: _verdict(v) for k, v in checks.items()}

    if args.json:
        print(json.dumps(report))
    else:
        print(f"similarity (cosine) benchmark: {args.n} pairs, ~{report['mean_words_per_pair']:.0f} words/pair, "
              f"pinned to CPU {cpu}, best of {args.repeat}, load average {report['load_average']}")
        print(f"  rmg GradingRunner      {rmg_rate:>12,.0f} pairs/s   target >= {TARGET_PAIRS_PER_S:,}   "
              f"{report['checks']['rmg_pairs_per_s']}")
        print(f"  scikit-learn baseline  {sk_rate:>12,.0f} pairs/s")
        print(f"  ratio rmg / sklearn    {rmg_rate / sk_rate:>12.2f}x         target >= {TARGET_VS_SKLEARN}   "
              f"{report['checks']['ratio_vs_sklearn']}")
        print(f"  rmg eval (JSONL in and out) {cli_rate:>7,.0f} pairs/s")
        print(f"  ratio rmg eval / sklearn {cli_rate / sk_rate:>10.2f}x         target >= {TARGET_CLI_VS_SKLEARN}   "
              f"{report['checks']['rmg_eval_ratio_vs_sklearn']}")
        if not args.no_openjudge:
            print(f"  OpenJudge {report['openjudge_version']} runner {report['openjudge_pairs_per_s']:>9,.0f} pairs/s"
                  f"   (on the first {report['openjudge_n']} pairs)")
            print(f"  ratio rmg / OpenJudge  {report['ratio_vs_openjudge']:>12.1f}x         target >= "
                  f"{TARGET_VS_OPENJUDGE:g}    {report['checks']['ratio_vs_openjudge']}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
