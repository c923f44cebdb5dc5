"""One `rmg worker --once` cycle graded in this process vs on an executor, same traces, same run.

A cycle of ``-n`` due traces (default 10,000) with the `burn` test grader
(``--ms`` of thread CPU per trace, default 2 ms, deterministic scores): the
worker's own process (the baseline), then ``--workers 2`` (the ``processes``
executor), and with ``--ray`` also ``--executor ray`` on a local 2-CPU Ray
cluster started first (its start is reported apart and not counted).  Each
run has its own state file and output; the outputs must hold the same lines.
Printed: wall clock, CPU seconds (the worker and the processes it waited
for; with Ray, plus every process of the cluster), the speed-up and CPU
ratio against the baseline, and the load average, since the machine is shared.

    python benchmarks/bench_worker_executor.py            # in process vs --workers 2
    python benchmarks/bench_worker_executor.py --ray      # ... and vs --executor ray
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_scaleout import TreeCpu, measured, start_cluster, write_traces  # noqa: E402


def cycle(env: dict[str, str], workdir: Path, *args: str) -> tuple[float, float]:
    """Wall and CPU seconds of one `rmg worker --once` (its children's CPU included)."""
    wall, cpu, _ = measured(env, "worker", "-c", "eval.toml", "--once", "-q", *args, cwd=workdir)
    return wall, cpu


def setup(tmp: Path, name: str, traces: Path, ms: float, unit_cases: int) -> Path:
    workdir = tmp / name
    workdir.mkdir()
    (workdir / "eval.toml").write_text(f"""
[source]
plugin = "local"
path = {json.dumps(str(traces))}

[graders.burn]
plugin = "burn"
ms = {ms}

[[sinks]]
plugin = "local"
path = "scores.jsonl"
mode = "append"

[worker]
state = "state.sqlite3"

[executor]
unit_cases = {unit_cases}
""", encoding="utf-8")
    return workdir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10_000, help="due traces in the cycle (default 10,000)")
    parser.add_argument("--ms", type=float, default=2.0, help="CPU milliseconds per trace (default 2)")
    parser.add_argument("--unit-cases", type=int, default=1000, help="traces per work unit (default 1,000)")
    parser.add_argument("--ray", action="store_true", help="also measure --executor ray on a local 2-CPU cluster")
    args = parser.parse_args()
    from tests.broken_plugins import WORKING, env_with, install_on_path

    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        env = {**os.environ, **env_with(install_on_path(tmp / "plugins", WORKING)), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
               "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1",
               "RMG_DISABLE_PLUGINS": "broken_import,bad_hook,bad_signature"}
        traces = tmp / "traces.jsonl"
        write_traces(traces, args.n)
        runs: dict[str, tuple[float, float]] = {}
        base = setup(tmp, "local", traces, args.ms, args.unit_cases)
        runs["in process"] = cycle(env, base)
        runs["--workers 2"] = cycle(env, setup(tmp, "processes", traces, args.ms, args.unit_cases), "--workers", "2")
        if args.ray:
            helper, address, seconds = start_cluster(env)
            print(f"Ray cluster start: {seconds:.1f} s (not counted below)")
            try:
                cluster = TreeCpu(helper.pid)
                wall, cpu = cycle(env, setup(tmp, "ray", traces, args.ms, args.unit_cases), "--executor", "ray",
                                  "-s", f"executor.address={address}")
                runs["--executor ray"] = (wall, cpu + cluster.stop())
            finally:
                if helper.stdin:
                    helper.stdin.close()
                helper.wait(timeout=120)
        expected = sorted((base / "scores.jsonl").read_text().splitlines())
        assert len(expected) == args.n
        wall1, cpu1 = runs["in process"]
        for label, (wall, cpu) in runs.items():
            same = sorted((tmp / {"in process": "local", "--workers 2": "processes", "--executor ray": "ray"}[label]
                           / "scores.jsonl").read_text().splitlines()) == expected
            print(f"{label:>15}: {args.n / wall:7,.0f} traces/s ({wall:6.2f} s wall, {cpu:6.2f} CPU-s); "
                  f"speed-up {wall1 / wall:.2f}x, CPU {cpu / cpu1:.2f}x in process; records identical: {'yes' if same else 'NO'}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
