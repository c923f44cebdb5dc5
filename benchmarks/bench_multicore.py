"""`rmg eval` in one process vs on every core (the built-in `processes` executor), same traces, same run.

Targets (issue 15, "every core"): on an idle 2-core machine, every core grades
at >= 1.7x the one-process rate (judged only when the 1-minute load average at
start is <= 0.5; otherwise the script says "not judged"); on any machine the
records are identical and the total CPU time (driver plus workers) is <= 1.2x
the one-process run's.  The baseline (one process, `--workers 1`) is measured
in the same run.

    python benchmarks/bench_multicore.py                   # 20,000 traces, similarity + relevance + weighted_sum
    python benchmarks/bench_multicore.py -n 50000 --repeat 3
    python benchmarks/bench_multicore.py --driver-reads    # rmg reads every trace and ships grader fields

By default the workers read and parse their own newline-aligned byte ranges
of the file, through the intake's mapping (as ``rmg eval`` does).
``--driver-reads`` adds ``--limit N`` (N = every trace) to both sides: a
limited run cannot be cut into byte ranges, so ``rmg`` itself reads and parses
every trace and ships each unit's grader fields to the workers.
``--no-intake`` runs both sides with ``RMG_DISABLE_PLUGINS=intake`` (the
local source's byte ranges without the intake's wrapper).

CPU is the process tree's: the workers are children of `rmg` (forked on
Linux), reaped when its pool shuts down, so the kernel adds their CPU to
`rmg`'s children time, which this script reads with `getrusage(RUSAGE_CHILDREN)`.
With ``--repeat N`` the runs alternate (one process, then workers) and each
side's best wall time and least CPU time are compared: on a shared machine
other work only ever adds to either.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRADING = ["-g", "similarity", "-g", "relevance", "-a", "weighted_sum"]


def run(traces: Path, out: Path, workers: int, env: dict[str, str], extra: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (rmg and every process it started) of one `rmg eval`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    code = subprocess.run(
        [sys.executable, "-c", "from rmg_core.cli import main; main()", "eval", str(traces), *GRADING,
         "-o", str(out), "--workers", str(workers), "-q", *extra],
        stderr=subprocess.DEVNULL, env=env,
    ).returncode
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0:
        raise SystemExit(f"rmg eval --workers {workers} exited {code}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=20000, help="traces (default 20,000)")
    parser.add_argument("--workers", type=int, default=0, help="worker processes (default: every available core)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, alternating; best wall and least CPU kept")
    parser.add_argument("--no-intake", action="store_true", help="without the intake plugin (its mapping and filters)")
    parser.add_argument("--driver-reads", action="store_true", help="--limit N: rmg reads the traces, workers only grade")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from rmg_executors.processes import available_cores

    workers = args.workers or available_cores()
    load = os.getloadavg()[0]
    env = dict(os.environ)
    if args.no_intake:
        env["RMG_DISABLE_PLUGINS"] = ",".join(filter(None, [env.get("RMG_DISABLE_PLUGINS", ""), "intake"]))
    print(f"load average at start: {load:.2f} ({os.cpu_count()} cores; {workers} workers; "
          f"{'rmg reads, workers grade' if args.driver_reads else 'workers read byte ranges'}"
          f"{', no intake' if args.no_intake else ''})")
    extra = ["--limit", str(args.n)] if args.driver_reads else []
    with tempfile.TemporaryDirectory() as tmp:
        traces = Path(tmp) / "traces.jsonl"
        subprocess.run([sys.executable, str(ROOT / "examples" / "make_traces.py"), "-n", str(args.n), "-o", str(traces)],
                       check=True, stdout=subprocess.DEVNULL)
        one, many = [], []
        for i in range(args.repeat):
            for label, runs, count in (("one process", one, 1), (f"{workers} workers", many, workers)):
                runs.append(run(traces, Path(tmp) / f"{'one' if count == 1 else 'many'}.jsonl", count, env, extra))
                print(f"  run {i + 1}, {label}: {runs[-1][0]:.2f} s wall, {runs[-1][1]:.2f} CPU-s "
                      f"(load {os.getloadavg()[0]:.2f})", flush=True)
        same = sorted((Path(tmp) / "one.jsonl").read_text().splitlines()) == sorted((Path(tmp) / "many.jsonl").read_text().splitlines())
        lines = len((Path(tmp) / "one.jsonl").read_text().splitlines())
    wall1, wall_n = min(w for w, _ in one), min(w for w, _ in many)
    cpu1, cpu_n = min(c for _, c in one), min(c for _, c in many)
    speedup, cpu_ratio = wall1 / wall_n, cpu_n / cpu1
    print(f"one process:   {args.n / wall1:8,.0f} traces/s  ({wall1:.2f} s wall, {cpu1:.2f} CPU-s)")
    print(f"{workers} workers:     {args.n / wall_n:8,.0f} traces/s  ({wall_n:.2f} s wall, {cpu_n:.2f} CPU-s)")
    print(f"records: {lines} lines, {'identical' if same else 'DIFFERENT'} to one process")
    print(f"speed-up: {speedup:.2f}x (target >= 1.7x on an idle 2-core machine): "
          + ("not judged, load average at start > 0.5" if load > 0.5 else ("PASS" if speedup >= 1.7 else "FAIL")))
    print(f"total CPU: {cpu_ratio:.2f}x one process (target <= 1.2x): {'PASS' if cpu_ratio <= 1.2 else 'FAIL'}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
