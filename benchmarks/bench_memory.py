"""Peak memory of `rmg eval` over 1,000,000 JSONL lines vs 10,000 lines.

Targets (issue 2): peak RSS under 400 MB at 1,000,000 lines, and within 1.3x of
the peak RSS at 10,000 lines (the baseline, measured in the same run): memory
must not grow with the number of traces.

    python benchmarks/bench_memory.py            # 1,000,000 vs 10,000 lines
    python benchmarks/bench_memory.py --big 200000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = (
    "order refund shipping account password invoice delivery tracking support agent customer "
    "payment card subscription plan upgrade cancel return warranty product service email login "
    "reset update address billing charge receipt discount code store pickup package delayed "
    "the a to of and in for on with your you we our is are can will please thanks help"
).split()


def write_traces(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)

    def sentence() -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60)))

    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            row = {"id": f"trace-{i}", "input": sentence(), "output": sentence(), "expected": sentence(),
                   "timestamp": "2026-11-01T12:00:00Z"}
            handle.write(json.dumps(row) + "\n")


def peak_rss_mb(args: list[str]) -> tuple[float, float]:
    """Run a command in a fresh interpreter that reports its child's peak RSS (MB) and wall time."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.perf_counter() - t, code)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True)
    rss, seconds, code = out.stdout.split()
    if code != "0":
        raise SystemExit(f"rmg eval exited {code}: {' '.join(args)}")
    return float(rss), float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--grader", default="similarity")
    args = parser.parse_args()
    rmg = str(Path(sys.executable).with_name("rmg"))
    with tempfile.TemporaryDirectory() as tmp:
        figures = {}
        for n in (args.small, args.big):
            traces = Path(tmp) / f"traces-{n}.jsonl"
            started = time.perf_counter()
            write_traces(traces, n)
            print(f"wrote {n:,} traces ({traces.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - started:.1f}s", flush=True)
            out = Path(tmp) / "scores.jsonl"
            rss, seconds = peak_rss_mb([rmg, "eval", str(traces), "-g", args.grader, "-o", str(out), "-q"])
            figures[n] = rss
            print(f"rmg eval -g {args.grader}: {n:>9,} lines  peak RSS {rss:7.1f} MB  {seconds:6.1f}s  ({n / seconds:,.0f} traces/s)", flush=True)
            traces.unlink()
            out.unlink()
    ratio = figures[args.big] / figures[args.small]
    print(f"peak RSS at {args.big:,} lines: {figures[args.big]:.1f} MB (target < 400 MB): {'PASS' if figures[args.big] < 400 else 'FAIL'}")
    print(f"ratio to {args.small:,} lines (baseline, same run): {ratio:.2f}x (target <= 1.3x): {'PASS' if ratio <= 1.3 else 'FAIL'}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
