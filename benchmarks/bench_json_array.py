"""Peak memory of streaming one JSON array of 1,000,000 traces vs one of 10,000.

Target (issue 13): reading a 1,000,000-element JSON array (what Langfuse's UI
exports) keeps peak RSS within 1.3x of a 10,000-element one, measured in the
same run: the local source streams the array element by element instead of
loading it.  Each size runs in a fresh interpreter that reads every trace the
way ``rmg eval`` does (the local source, then `rmg_intake.Intake`: shape
detection, case building) and counts them; ``--eval`` runs the whole
``rmg eval FILE -g similarity`` instead.

    python benchmarks/bench_json_array.py              # 1,000,000 vs 10,000 elements
    python benchmarks/bench_json_array.py --big 200000 --eval
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
    "the a to of and in for on with your you we our is are can will please thanks help"
).split()

#: Reads every trace of the file as rmg eval does and prints how many there were.
READ = """
import asyncio, sys
from rmg_intake.intake import Intake
from rmg_local.source import LocalFileSource
async def main():
    n = bad = 0
    async for item in Intake(LocalFileSource(path=sys.argv[1])).cases():
        if hasattr(item, "grader_fields"):
            n += 1
        else:
            bad += 1
    print(n, bad)
asyncio.run(main())
"""


def write_array(path: Path, n: int, seed: int = 7) -> None:
    """A Langfuse-UI-style export: one JSON array, pretty-printed, one trace per element."""
    rng = random.Random(seed)
    # A pool of sentences, drawn from per trace: writing a 1 GB file stays quick.
    pool = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60))) for _ in range(4096)]

    def sentence() -> str:
        return pool[rng.randrange(len(pool))]

    with path.open("w", encoding="utf-8") as handle:
        handle.write("[\n")
        for i in range(n):
            trace = {
                "id": f"trace-{i}", "timestamp": "2026-11-01T12:00:00Z", "name": "support-chat",
                "input": {"messages": [{"role": "user", "content": sentence()}]},
                "output": {"role": "assistant", "content": sentence()},
                "metadata": {"expected_output": sentence(), "app": "support"},
                "sessionId": f"s{i % 100}", "latency": 1.5, "htmlPath": f"/project/p/traces/trace-{i}",
            }
            handle.write(("  " if i == 0 else ",\n  ") + json.dumps(trace))
        handle.write("\n]\n")


def peak_rss_mb(args: list[str]) -> tuple[float, float, str]:
    """Run a command in a fresh interpreter that reports its child's peak RSS (MB), wall time and output."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "out = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "if out.returncode: sys.exit(out.stderr[-2000:])\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.perf_counter() - t, out.stdout.strip().replace(' ', '/') or '-')\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    rss, seconds, printed = out.stdout.split()
    return float(rss), float(seconds), printed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--eval", action="store_true", help="run `rmg eval FILE -g similarity` instead of reading only")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f} on {os.cpu_count()} CPUs", flush=True)
    rmg = str(Path(sys.executable).with_name("rmg"))
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (args.small, args.big):
            data = Path(tmp) / f"traces-{n}.json"
            started = time.perf_counter()
            write_array(data, n)
            print(f"wrote a {n:,}-element JSON array ({data.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - started:.1f}s", flush=True)
            if args.eval:
                command = [rmg, "eval", str(data), "-g", "similarity", "-o", str(Path(tmp) / "scores.jsonl"), "-q"]
            else:
                command = [sys.executable, "-c", READ, str(data)]
            rss, seconds, printed = peak_rss_mb(command)
            figures[n] = rss
            what = "rmg eval -g similarity" if args.eval else f"read (cases/unreadable {printed})"
            print(f"{what}: {n:>9,} elements  peak RSS {rss:7.1f} MB  {seconds:6.1f}s  ({n / seconds:,.0f} traces/s)", flush=True)
            data.unlink()
    ratio = figures[args.big] / figures[args.small]
    print(f"ratio of peak RSS, {args.big:,} to {args.small:,} elements (baseline, same run): {ratio:.2f}x "
          f"(target <= 1.3x): {'PASS' if ratio <= 1.3 else 'FAIL'}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
