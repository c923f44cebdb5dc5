"""`rmg eval` in one process vs `--executor ray` on a local 2-CPU Ray cluster, same traces, same run.

Targets (issue 18, design note A1 and A4):

* speed: 20,000 cases with a test grader burning 2 ms of CPU per case; Ray's
  wall clock (cluster start excluded, reported apart) >= 1.6x faster than in
  process, judged only when the 1-minute load average at start is <= 0.5
  ("not judged" otherwise);
* on any machine: Ray's total CPU (the driver plus every process of the
  cluster) <= 1.25x in process, and each of the 2 worker processes grades
  >= 35% of the units;
* ``--memory``: the driver's peak RSS grading ``--big`` cases (default
  1,000,000) through Ray <= 1.3x its peak at 10,000 cases, and <= 400 MB.

    pip install -e '.[ray]'
    python benchmarks/bench_scaleout.py                 # speed and CPU
    python benchmarks/bench_scaleout.py --memory        # driver memory, 10,000 vs 1,000,000 cases

The `burn` test grader (tests/working_plugins) is laid out on a temporary path
that the cluster's workers and the drivers share through ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = """
import signal, sys, ray
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
ctx = ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
print(ctx.address_info["gcs_address"], flush=True)
try:
    sys.stdin.read()
finally:
    ray.shutdown()
"""


def write_traces(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            handle.write(json.dumps({"id": f"t{i:07d}", "input": f"question {i % 13}", "output": f"answer {i % 7}"}) + "\n")


def measured(env: dict[str, str], *args: str, cwd: Path | None = None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one `rmg ARGS` process (and any process it waited for)."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "sys.stderr.write(code.stderr[-2000:] if code.returncode else '')\n"
        "print(time.perf_counter() - t, u.ru_utime + u.ru_stime, u.ru_maxrss / 1024, code.returncode)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, sys.executable, "-c", "from rmg_core.cli import main; main()", *args],
                         capture_output=True, text=True, env=env, cwd=cwd, check=True)
    wall, cpu, rss, code = out.stdout.split()
    if code != "0":
        raise SystemExit(f"rmg {' '.join(args)} exited {code}:\n{out.stderr}")
    return float(wall), float(cpu), float(rss)


def rmg(env: dict[str, str], *args: str) -> tuple[float, float, float]:
    """`measured` for one quiet `rmg eval ARGS`."""
    return measured(env, "eval", *args, "-q")


class TreeCpu:
    """CPU seconds a process tree spends while it is watched (sampled every 0.2 s: a process that
    exits between two samples loses at most 0.2 s; Ray's worker processes live across units)."""

    def __init__(self, pid: int) -> None:
        import threading

        self.pid, self.first, self.last, self.names = pid, {}, {}, {}
        self._stop = threading.Event()
        self._sample()
        self.first = dict(self.last)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psutil

        try:
            procs = [psutil.Process(self.pid), *psutil.Process(self.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for proc in procs:
            try:
                times = proc.cpu_times()
                key = (proc.pid, proc.create_time())
                self.last[key] = times.user + times.system
                if key not in self.names:
                    self.names[key] = proc.name()
            except psutil.NoSuchProcess:
                pass

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._sample()
        return sum(cpu - self.first.get(key, 0.0) for key, cpu in self.last.items())

    def by_name(self) -> dict[str, float]:
        """The CPU seconds of `stop`, by process name (the units' workers are ``ray::grade_unit``), largest first."""
        out: Counter[str] = Counter()
        for key, cpu in self.last.items():
            out[self.names.get(key, "?")] += cpu - self.first.get(key, 0.0)
        return dict(out.most_common())


def start_cluster(env: dict[str, str]) -> tuple[subprocess.Popen[str], str, float]:
    started = time.perf_counter()
    helper = subprocess.Popen([sys.executable, "-c", CLUSTER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    address = (helper.stdout.readline() if helper.stdout else "").strip()
    if not address:
        raise SystemExit("the Ray cluster did not start")
    return helper, address, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=20000, help="cases for the speed run (default 20,000)")
    parser.add_argument("--ms", type=float, default=2.0, help="CPU milliseconds per case (default 2)")
    parser.add_argument("--unit-cases", type=int, default=1000, help="cases per work unit (default 1,000)")
    parser.add_argument("--memory", action="store_true", help="measure the driver's peak RSS instead")
    parser.add_argument("--big", type=int, default=1_000_000, help="cases of the big memory run (default 1,000,000)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.broken_plugins import WORKING, env_with, install_on_path

    load = os.getloadavg()[0]
    print(f"load average at start: {load:.2f} ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **env_with(install_on_path(Path(tmp) / "plugins", WORKING)), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
               "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1"}
        helper, address, start_seconds = start_cluster(env)
        print(f"Ray cluster start: {start_seconds:.1f} s (not counted below)")
        ray_args = ["--executor", "ray", "-s", f"executor.address={address}", "-s", f"executor.unit_cases={args.unit_cases}"]
        try:
            if args.memory:
                memory(tmp, env, ray_args, args.big)
            else:
                speed(tmp, env, ray_args, helper.pid, args, load)
        finally:
            if helper.stdin:
                helper.stdin.close()
            helper.wait(timeout=120)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def speed(tmp: str, env: dict[str, str], ray_args: list[str], cluster_pid: int, args: Any, load: float) -> None:
    traces, marker = Path(tmp) / "traces.jsonl", Path(tmp) / "marker.txt"
    write_traces(traces, args.n)
    # The same settings on both sides (the marker is a setting: it is in the config fingerprint).
    grading = [str(traces), "-g", "burn", "-s", f"graders.burn.ms={args.ms}", "-s", f"graders.burn.marker={marker}"]
    wall1, cpu1, _ = rmg(env, *grading, "-o", str(Path(tmp) / "local.jsonl"), "--workers", "1")
    marker.unlink()
    cluster = TreeCpu(cluster_pid)
    wall_r, cpu_driver, _ = rmg(env, *grading, "-o", str(Path(tmp) / "ray.jsonl"), *ray_args)
    cpu_r = cpu_driver + cluster.stop()
    same = sorted((Path(tmp) / "local.jsonl").read_text().splitlines()) == sorted((Path(tmp) / "ray.jsonl").read_text().splitlines())
    # The burn grader marks each batch it starts with its process id: the share of batches is the share of units.
    shares = Counter(line.split()[2] for line in marker.read_text().splitlines())
    total = sum(shares.values())
    share_text = ", ".join(f"pid {pid}: {count / total:.0%}" for pid, count in shares.most_common())
    speedup, cpu_ratio = wall1 / wall_r, cpu_r / cpu1
    print(f"in process: {args.n / wall1:8,.0f} cases/s ({wall1:.2f} s wall, {cpu1:.2f} CPU-s)")
    print(f"Ray, 2 CPUs: {args.n / wall_r:7,.0f} cases/s ({wall_r:.2f} s wall, {cpu_r:.2f} CPU-s: driver {cpu_driver:.2f}, cluster {cpu_r - cpu_driver:.2f})")
    print("  cluster CPU-s by process: " + ", ".join(f"{name} {cpu:.2f}" for name, cpu in cluster.by_name().items() if cpu >= 0.05))
    print(f"records identical to in process: {'yes' if same else 'NO'}")
    print(f"speed-up: {speedup:.2f}x (target >= 1.6x on an idle machine): "
          + ("not judged, load average at start > 0.5" if load > 0.5 else ("PASS" if speedup >= 1.6 else "FAIL")))
    print(f"total CPU: {cpu_ratio:.2f}x in process (target <= 1.25x): {'PASS' if cpu_ratio <= 1.25 else 'FAIL'}")
    top = [count / total for count in shares.values()]
    print(f"units per worker process: {share_text} (target: 2 workers, each >= 35%): "
          + ("PASS" if len(top) >= 2 and sorted(top)[-2] >= 0.35 else "FAIL"))


def memory(tmp: str, env: dict[str, str], ray_args: list[str], big: int) -> None:
    peaks = {}
    # A first run not counted: the first driver to connect also pays one-off costs (compiling
    # Ray's modules, the cluster starting its first workers) that are not the run's memory.
    for n in (1_000, 10_000, big):
        traces = Path(tmp) / f"traces-{n}.jsonl"
        write_traces(traces, n)
        _, _, peaks[n] = rmg(env, str(traces), "-g", "burn", "-s", "graders.burn.ms=0", "-o", str(Path(tmp) / "scores.jsonl"), *ray_args)
        traces.unlink()
        print(f"{n:>9,} cases: driver peak RSS {peaks[n]:.0f} MB" + ("  (warm-up, not counted)" if n == 1_000 else ""))
    ratio = peaks[big] / peaks[10_000]
    print(f"ratio {ratio:.2f}x (target <= 1.3x): {'PASS' if ratio <= 1.3 else 'FAIL'}; "
          f"peak {peaks[big]:.0f} MB (target <= 400 MB): {'PASS' if peaks[big] <= 400 else 'FAIL'}")


if __name__ == "__main__":
    main()
