"""`rmg eval --executor ray` against a real local Ray cluster on 127.0.0.1: exactly once, under a killed worker too.

One cluster per test session (a start costs 20-40 s and ~0.8 GB here): a
helper process calls ``ray.init(num_cpus=2)`` and keeps the cluster up until
the session ends; each test runs ``rmg eval`` in a subprocess that joins it
by address, as a user's run joins an existing cluster.  At the end the helper
calls ``ray.shutdown()`` and the fixture asserts that no process of the
cluster is left.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed: pip install 'rmg[ray]'"),
]

# Starts a cluster, prints its address, keeps it until stdin closes (or on SIGTERM), then shuts it down.
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


def _tree(pid: int) -> set[int]:
    import psutil

    try:
        return {pid, *(p.pid for p in psutil.Process(pid).children(recursive=True))}
    except psutil.NoSuchProcess:
        return set()


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``{"address": "127.0.0.1:PORT", "env": {...}}``: a 2-CPU Ray cluster whose workers see the `burn` test grader."""
    import psutil

    from tests.broken_plugins import WORKING, env_with, install_on_path

    plugins = install_on_path(tmp_path_factory.mktemp("ray-plugins"), WORKING)
    env = {**os.environ, **env_with(plugins), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0",
           # A test cluster on 127.0.0.1 only; drivers in other processes join it without its token.
           "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    helper = subprocess.Popen([sys.executable, "-c", CLUSTER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    cluster: set[int] = set()
    try:
        address = (helper.stdout.readline() if helper.stdout else "").strip()
        assert address.startswith("127.0.0.1:"), f"the cluster did not start on 127.0.0.1: {address!r}"
        cluster = _tree(helper.pid)
        names = {psutil.Process(p).name() for p in cluster if psutil.pid_exists(p)}
        assert {"raylet", "gcs_server"} <= names, names
        yield {"address": address, "env": env}
    finally:
        cluster |= _tree(helper.pid)
        if helper.stdin:
            helper.stdin.close()  # ray.shutdown() in the helper
        try:
            helper.wait(timeout=60)
        except subprocess.TimeoutExpired:
            helper.terminate()
            helper.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in cluster):
            time.sleep(0.5)
        left = [f"{p} {psutil.Process(p).name()}" for p in cluster if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
        assert left == [], f"Ray processes left after the session: {left}"


def _traces(path: Path, n: int) -> Path:
    rows = [json.dumps({"id": f"t{i:05d}", "input": f"question {i % 13} about refunds", "output": f"answer {i % 7} refund",
                        "expected": f"answer {i % 5} refund"}) for i in range(n)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _rmg(cluster: dict[str, Any], cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from rmg_core.cli import main; main()", "eval", *args, "-q",
         "--executor", "ray", "-s", f"executor.address={cluster['address']}"],
        capture_output=True, text=True, cwd=cwd, env=cluster["env"], timeout=timeout,
    )


def _burn_value(trace_id: str) -> float:
    return int.from_bytes(hashlib.sha256(trace_id.encode()).digest()[:4], "big") / 2**32


def test_the_same_records_as_in_process_with_the_built_in_graders(ray_cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    traces = _traces(tmp_path / "t.jsonl", 3000)
    grading = ["-g", "similarity", "-g", "relevance", "-a", "weighted_sum"]
    ray = _rmg(ray_cluster, tmp_path, "t.jsonl", *grading, "-o", "ray.jsonl", "-s", "executor.unit_cases=400")
    assert ray.returncode == 0, ray.stderr[-3000:]
    local = subprocess.run([sys.executable, "-c", "from rmg_core.cli import main; main()", "eval", str(traces), *grading,
                            "-o", "local.jsonl", "--workers", "1", "-q"], cwd=tmp_path, env=ray_cluster["env"], capture_output=True, text=True)
    assert local.returncode == 0, local.stderr

    def key(name: str) -> list[tuple[Any, ...]]:
        rows = [json.loads(line) for line in (tmp_path / name).read_text().splitlines()]
        return sorted((r["score_id"], r["value"], r["kind"], r["metadata"]["config_fingerprint"]) for r in rows)

    assert len(key("ray.jsonl")) == 9000 and key("ray.jsonl") == key("local.jsonl")


def _kill_first_unit(marker: Path, killed: dict[str, Any]) -> threading.Thread:
    """SIGKILL the process that starts the first unit, 1 s after it starts (the marker's first line)."""
    def watch() -> None:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            lines = marker.read_text().splitlines() if marker.exists() else []
            if lines:
                _, trace_id, pid = lines[0].split()
                time.sleep(1.0)
                os.kill(int(pid), signal.SIGKILL)
                killed.update(trace_id=trace_id, pid=int(pid))
                return
            time.sleep(0.05)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_worker_killed_mid_unit_loses_and_duplicates_nothing(ray_cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _traces(tmp_path / "t.jsonl", 10000)
    marker, killed = tmp_path / "marker.txt", {}
    thread = _kill_first_unit(marker, killed)
    run = _rmg(ray_cluster, tmp_path, "t.jsonl", "-g", "burn", "-s", "graders.burn.ms=1.5", "-s", f"graders.burn.marker={marker}",
               "-s", "executor.unit_cases=1250", "-o", "scores.jsonl")
    thread.join(timeout=10)
    assert killed, "no unit started"
    assert run.returncode == 0, run.stderr[-3000:]
    rows = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert len(rows) == 10000 and len({r["score_id"] for r in rows}) == 10000
    assert all(r["value"] == _burn_value(r["trace_id"]) for r in rows)  # the values an in-process run writes
    starts = [line.split()[1] for line in marker.read_text().splitlines()]
    assert starts.count(killed["trace_id"]) == 2  # the killed unit really was running, and ran again


def test_with_retries_off_the_lost_unit_is_named_and_nothing_else_is_lost(ray_cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _traces(tmp_path / "t.jsonl", 10000)
    marker, killed = tmp_path / "marker.txt", {}
    thread = _kill_first_unit(marker, killed)
    run = _rmg(ray_cluster, tmp_path, "t.jsonl", "-g", "burn", "-s", "graders.burn.ms=1.5", "-s", f"graders.burn.marker={marker}",
               "-s", "executor.unit_cases=1250", "-s", "executor.max_retries=0", "-o", "scores.jsonl")
    thread.join(timeout=10)
    assert killed and run.returncode == 1, run.stderr[-3000:]
    lost = re.search(r"1 work units \((\d+) cases\) were lost and not written; run again to grade them: "
                     r"unit u\d+-\w+ \(\1 cases\): WorkerCrashedError", run.stderr)
    assert lost, run.stderr[-3000:]
    lost_cases = int(lost.group(1))
    # An incomplete run leaves scores.jsonl as it was and keeps what it wrote beside it (as in process).
    assert not (tmp_path / "scores.jsonl").exists()
    rows = [json.loads(line) for line in (tmp_path / "scores.jsonl.partial").read_text().splitlines()]
    assert killed["trace_id"] not in {r["trace_id"] for r in rows}  # nothing of the lost unit was written
    assert len(rows) + lost_cases == 10000 and len({r["score_id"] for r in rows}) == len(rows)
