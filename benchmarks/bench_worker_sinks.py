"""What writing on the workers saves the driver: its own CPU with sinks on the driver vs on the workers.

One driver writes every record when sinks run where ``rmg`` runs
(``[executor] sinks = "driver"``, the default); with ``sinks = "workers"``
each unit writes its own part of a directory (the local sink's directory
mode) and the driver only takes statistics and writes the manifest.  This
script runs the same traces three ways, in the same run:

1. one process (``--workers 1 -o one.jsonl``): the baseline, total CPU;
2. 2 workers, sinks on the driver (``-o driver.jsonl``);
3. 2 workers, sinks on the workers (``-o parts/ -s executor.sinks=workers``);

and prints each driver's own CPU-seconds (``RUSAGE_SELF`` of the ``rmg``
process: the workers are not in it), the difference per record (what one
record's write costs the driver), and checks that the three outputs hold the
same lines.  The engine is the built-in ``processes`` executor: the driver
code is the one every executor shares (Ray's too), and a local Ray cluster
costs 20-40 s to start.

    python benchmarks/bench_worker_sinks.py            # 20,000 traces, similarity + relevance + weighted_sum
    python benchmarks/bench_worker_sinks.py -n 50000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRADING = ["-g", "similarity", "-g", "relevance", "-a", "weighted_sum"]
# The driver reports its own CPU (not its children's) as it exits.
DRIVER = """
import atexit, resource, sys
def _report():
    r = resource.getrusage(resource.RUSAGE_SELF)
    print(f"DRIVER_CPU {r.ru_utime + r.ru_stime:.3f}", file=sys.stderr)
atexit.register(_report)
from rmg_core.cli import main
main()
"""


def run(cwd: Path, *args: str) -> tuple[float, float]:
    """Wall seconds and the driver's own CPU seconds of one `rmg eval`."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", DRIVER, "eval", "traces.jsonl", *GRADING, *args, "-q"],
                          cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    found = re.search(r"DRIVER_CPU ([\d.]+)", done.stderr)
    if done.returncode != 0 or not found:
        raise SystemExit(f"rmg eval {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    return wall, float(found.group(1))


def lines(path: Path) -> list[str]:
    files = sorted(path.glob("part-*.jsonl")) if path.is_dir() else [path]
    return sorted(line for f in files for line in f.read_text(encoding="utf-8").splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=20000, help="traces (default 20,000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, the least driver CPU kept")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        subprocess.run([sys.executable, str(ROOT / "examples" / "make_traces.py"), "-n", str(args.n), "-o", str(where / "traces.jsonl")],
                       check=True, stdout=subprocess.DEVNULL)
        units = ["-s", "executor.unit_cases=2000"]
        one = min((run(where, "-o", "one.jsonl", "--workers", "1") for _ in range(args.repeat)), key=lambda r: r[1])
        on_driver = min((run(where, "-o", "driver.jsonl", "--workers", "2", *units) for _ in range(args.repeat)), key=lambda r: r[1])
        on_workers = min((run(where, "-o", "parts/", "--workers", "2", *units, "-s", "executor.sinks=workers")
                          for _ in range(args.repeat)), key=lambda r: r[1])
        expected = lines(where / "one.jsonl")
        same = lines(where / "driver.jsonl") == expected == lines(where / "parts")
        records = len(expected)
    saved = on_driver[1] - on_workers[1]
    print(f"records: {records:,} lines, {'identical' if same else 'DIFFERENT'} in the three outputs")
    print(f"one process (baseline):  {one[0]:6.2f} s wall, {one[1]:6.2f} CPU-s")
    print(f"sinks on the driver:     {on_driver[0]:6.2f} s wall, driver {on_driver[1]:6.2f} CPU-s "
          f"({on_driver[1] / one[1]:.2f}x the one process's CPU)")
    print(f"sinks on the workers:    {on_workers[0]:6.2f} s wall, driver {on_workers[1]:6.2f} CPU-s "
          f"({on_workers[1] / one[1]:.2f}x the one process's CPU; {on_workers[1] / on_driver[1]:.2f}x sinks on the driver)")
    print(f"driver CPU saved by writing on the workers: {saved:.2f} CPU-s, {saved / records * 1e6:.1f} us per record")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
