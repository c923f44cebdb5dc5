"""End to end against a fake Langfuse with 50 ms added to every response: rmg vs the SDK.

Issue 4's target: on 10,000 traces, similarity + relevance (lexical) + weighted
sum, scores written back, rmg is at least 5x faster end to end than the
langfuse SDK's own `run_batched_evaluation` with the same graders wrapped as
evaluators at its default settings, measured in the same run, with the number
of HTTP requests each made.

    python benchmarks/bench_langfuse.py                  # 10,000 traces
    python benchmarks/bench_langfuse.py --traces 2000    # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_langfuse.control import FakeLangfuseProcess  # noqa: E402


def requests_made(server: FakeLangfuseProcess) -> int:
    return sum(server.stats()["requests"].values())


def run(server: FakeLangfuseProcess, command: list[str]) -> tuple[float, int, str]:
    env = {**os.environ, "LANGFUSE_PUBLIC_KEY": server.public_key, "LANGFUSE_SECRET_KEY": server.secret_key,
           "LANGFUSE_BASE_URL": server.base_url, "PYTHONPATH": str(ROOT)}
    before = requests_made(server)
    started = time.perf_counter()
    out = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return seconds, requests_made(server) - before, out.stdout + out.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--traces", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()
    rmg = str(Path(sys.executable).with_name("rmg"))
    flags = ["--latency-ms", str(args.latency_ms), "--score-dialect", "array"]
    results = {}
    for side in ("rmg", "sdk"):
        with FakeLangfuseProcess(flags) as server:
            server.seed_traces(args.traces, seed=11)
            if side == "rmg":
                command = [rmg, "eval", "--source", "langfuse", "-g", "similarity", "-g", "relevance",
                           "-a", "weighted_sum", "--sink", "langfuse", "-q"]
            else:
                command = [sys.executable, str(ROOT / "benchmarks" / "langfuse_sdk_baseline.py")]
            seconds, requests, output = run(server, command)
            stored = server.stats()["scores"]
            results[side] = (seconds, requests, stored)
            if side == "sdk":
                print(f"      SDK report: {output.strip().splitlines()[-1]}")
            print(f"{side:>4}: {seconds:7.1f}s  {requests:6,} HTTP requests  {stored:6,} scores stored  "
                  f"({args.traces / seconds:,.0f} traces/s)", flush=True)
    ratio = results["sdk"][0] / results["rmg"][0]
    print(f"rmg is {ratio:.1f}x faster than the SDK's run_batched_evaluation (target >= 5x): {'PASS' if ratio >= 5 else 'FAIL'}")
    print(f"requests: rmg {results['rmg'][1]:,} vs SDK {results['sdk'][1]:,}; scores: rmg {results['rmg'][2]:,} vs SDK {results['sdk'][2]:,}")


if __name__ == "__main__":
    main()
