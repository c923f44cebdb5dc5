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

#: The fake Langfuse project the cluster's workers have credentials for.
LF_PUBLIC, LF_SECRET = "pk-lf-fake-ray-session", "sk-lf-fake-ray-session"

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
           "RAY_AUTH_MODE": "disabled",
           # The fake Langfuse project's secret, as a worker's own environment holds it (never shipped in tasks).
           "RMG_TEST_LF_SECRET": LF_SECRET}
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


def _traces(path: Path, n: int, no_expected_every: int = 0) -> Path:
    """``n`` traces; every ``no_expected_every``-th has no expected output (similarity is not applicable to it)."""
    rows = [json.dumps({"id": f"t{i:05d}", "input": f"question {i % 13} about refunds", "output": f"answer {i % 7} refund",
                        **({} if no_expected_every and i % no_expected_every == 0 else {"expected": f"answer {i % 5} refund"})})
            for i in range(n)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _rmg(cluster: dict[str, Any], cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from rmg_core.cli import main; main()", "eval", *args, "-q",
         "--executor", "ray", "-s", f"executor.address={cluster['address']}"],
        capture_output=True, text=True, cwd=cwd, env=cluster["env"], timeout=timeout,
    )


def _units(path: Path, unit_cases: int) -> int:
    """How many units the driver cuts ``path`` into (about ``unit_cases`` each, shorter ones at the file's end)."""
    from rmg_local.source import LocalFileSource

    return len(list(LocalFileSource(path=str(path)).partitions(unit_cases)))


def _burn_value(trace_id: str) -> float:
    return int.from_bytes(hashlib.sha256(trace_id.encode()).digest()[:4], "big") / 2**32


def test_the_same_lines_as_in_process_with_the_built_in_graders_wherever_sinks_run(ray_cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Some traces have no expected output: similarity is not applicable to them, and what is written of
    # that (not by default; its hint in the user's terms) must be what one process writes.
    traces = _traces(tmp_path / "t.jsonl", 3000, no_expected_every=10)
    grading = ["-g", "similarity", "-g", "relevance", "-a", "weighted_sum"]
    on_driver = _rmg(ray_cluster, tmp_path, "t.jsonl", *grading, "-o", "ray.jsonl", "-s", "executor.unit_cases=400")
    assert on_driver.returncode == 0, on_driver.stderr[-3000:]
    on_workers = _rmg(ray_cluster, tmp_path, "t.jsonl", *grading, "-o", "ray/", "-s", "executor.unit_cases=400",
                      "-s", "executor.sinks=workers")
    assert on_workers.returncode == 0, on_workers.stderr[-3000:]
    local = subprocess.run([sys.executable, "-c", "from rmg_core.cli import main; main()", "eval", str(traces), *grading,
                            "-o", "local.jsonl", "--workers", "1", "-q"], cwd=tmp_path, env=ray_cluster["env"], capture_output=True, text=True)
    assert local.returncode == 0, local.stderr
    expected = sorted((tmp_path / "local.jsonl").read_text().splitlines())
    assert len(expected) == 9000 - 300 and len({json.loads(line)["score_id"] for line in expected}) == len(expected)
    assert sorted((tmp_path / "ray.jsonl").read_text().splitlines()) == expected
    parts = json.loads((tmp_path / "ray" / "_manifest.json").read_text())["parts"]
    assert len(parts) == _units(traces, 400) > 7
    assert sorted(line for p in parts for line in (tmp_path / "ray" / p["part"]).read_text().splitlines()) == expected


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
    lost = re.search(r"1 work units \((\d+) traces\) were lost and not written; run again to grade them: "
                     r"unit u\d+-\w+ \(\1 traces\): WorkerCrashedError", run.stderr)
    assert lost, run.stderr[-3000:]
    lost_cases = int(lost.group(1))
    # An incomplete run leaves scores.jsonl as it was and keeps what it wrote beside it (as in process).
    assert not (tmp_path / "scores.jsonl").exists()
    rows = [json.loads(line) for line in (tmp_path / "scores.jsonl.partial").read_text().splitlines()]
    assert killed["trace_id"] not in {r["trace_id"] for r in rows}  # nothing of the lost unit was written
    assert len(rows) + lost_cases == 10000 and len({r["score_id"] for r in rows}) == len(rows)


def test_a_day_of_langfuse_traces_in_hour_windows_every_score_once_and_the_in_process_ids(ray_cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Acceptance A8: 10,000 traces over 24 hours, read by the Ray workers in 24 one-hour windows."""
    from datetime import datetime, timedelta, timezone

    from tests.fake_langfuse import FakeLangfuse

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    # Validation off: it would double the time of 2 x 100 pages of 100 traces, and the very same requests
    # (hour windows, cursor pages) are validated against the spec and the SDK's models in
    # tests/test_executor_langfuse.py.
    with FakeLangfuse(public_key=LF_PUBLIC, secret_key=LF_SECRET, validate=False) as fake:
        fake.seed_traces(10_000, start=start, interval=timedelta(hours=24) / 10_000, with_generation=False)
        source = f"""
[source]
plugin = "langfuse"
base_url = "{fake.base_url}"
public_key = "{LF_PUBLIC}"
secret_key = "${{RMG_TEST_LF_SECRET}}"
from_timestamp = "{start.isoformat()}"
to_timestamp = "{(start + timedelta(hours=24)).isoformat()}"

[graders.relevance]
plugin = "relevance"
"""
        (tmp_path / "local.toml").write_text(source)
        # rewrite: every score is posted (no check of what is stored first), so a unit written twice would show.
        (tmp_path / "ray.toml").write_text(source + '[[sinks]]\nplugin = "langfuse"\nrewrite = true\n')
        lf_env = {**ray_cluster["env"], "LANGFUSE_PUBLIC_KEY": LF_PUBLIC, "LANGFUSE_SECRET_KEY": LF_SECRET,
                  "LANGFUSE_BASE_URL": fake.base_url}
        ray = _rmg({**ray_cluster, "env": lf_env}, tmp_path, "-c", "ray.toml", "-o", "ray.jsonl")
        assert ray.returncode == 0, ray.stderr[-3000:]
        ray_requests = fake.request_counts()
        ray_listing = ray_requests["GET /api/public/v2/observations"]
        stored = fake.score_write_counts()
        fake.reset(traces=False, scores=False, violations=False, faults=False)  # counters only
        local = subprocess.run([sys.executable, "-c", "from rmg_core.cli import main; main()", "eval", "-c", "local.toml",
                                "-o", "local.jsonl", "--workers", "1", "-q"], cwd=tmp_path, env=lf_env, capture_output=True, text=True)
        assert local.returncode == 0, local.stderr[-3000:]
        local_requests = fake.request_counts()
        local_listing = local_requests["GET /api/public/v2/observations"]

    def scores(name: str) -> list[tuple[str, Any]]:
        return sorted((r["score_id"], r["value"]) for r in map(json.loads, (tmp_path / name).read_text().splitlines()))

    assert len(scores("local.jsonl")) == 10_000
    assert scores("ray.jsonl") == scores("local.jsonl")
    # The server holds every score once, written once, under the ids the in-process run computes.
    assert sorted(stored) == [score_id for score_id, _ in scores("local.jsonl")] and set(stored.values()) == {1}
    # Each window's listing ends with a short page: at most one request more per window than one listing.
    print(f"A8 requests: Ray {ray_requests}; in process {local_requests} (listing: Ray {ray_listing} in 24 windows, "
          f"in process {local_listing})")
    assert local_listing < ray_listing <= local_listing + 24  # more: the workers listed the 24 windows themselves


def test_rmg_worker_grades_each_cycle_on_the_cluster_and_keeps_its_ledger(ray_cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _traces(tmp_path / "t.jsonl", 2000)
    (tmp_path / "eval.toml").write_text(f"""
[source]
plugin = "local"
path = "t.jsonl"

[graders.burn]
plugin = "burn"
ms = 0

[[sinks]]
plugin = "local"
path = "scores.jsonl"
mode = "append"

[worker]
state = "state.sqlite3"

[executor]
plugin = "ray"
address = "{ray_cluster['address']}"
unit_cases = 400
""")

    def cycle() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from rmg_core.cli import main; main()", "worker", "-c", "eval.toml", "--once"],
                              capture_output=True, text=True, cwd=tmp_path, env=ray_cluster["env"], timeout=300)

    first = cycle()
    assert first.returncode == 0, first.stderr[-3000:]
    assert "grading on executor 'ray'" in first.stderr and "graded 2000 (new 2000" in first.stderr, first.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert len(rows) == 2000 and len({r["score_id"] for r in rows}) == 2000
    assert all(r["value"] == _burn_value(r["trace_id"]) for r in rows)
    second = cycle()  # the ledger on the driver: nothing is graded or written again
    assert second.returncode == 0 and "graded 0 (new 0" in second.stderr, second.stderr[-2000:]
    assert len((tmp_path / "scores.jsonl").read_text().splitlines()) == 2000


def _worker_sinks_config(tmp_path: Path, fake: Any, marker: Path, cases: int = 10000) -> Path:
    """Burn ``cases``; the Langfuse sink and a local directory, both on the workers; the secret from their environment."""
    _traces(tmp_path / "t.jsonl", cases)
    config = tmp_path / "eval.toml"
    config.write_text(f"""
[source]
plugin = "local"
path = "t.jsonl"

[run]
chunk_size = 250        # the killed attempt has written some of its unit before it dies

[graders.burn]
plugin = "burn"
ms = 1.5
marker = "{marker}"

[[sinks]]
plugin = "langfuse"
base_url = "{fake.base_url}"
public_key = "{fake.public_key}"
secret_key = "${{RMG_TEST_LF_SECRET}}"

[[sinks]]
plugin = "local"
path = "scores/"

[executor]
plugin = "ray"
sinks = "workers"
unit_cases = 1250
""", encoding="utf-8")
    return config


def _stored(fake: Any) -> dict[str, dict[str, Any]]:
    rows = fake.scores()
    assert len(rows) == len({r["id"] for r in rows})  # one row per score id
    return {r["id"]: r for r in rows}


def test_worker_side_sinks_under_a_killed_worker_store_each_score_once(ray_cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.fake_langfuse import FakeLangfuse

    marker, killed = tmp_path / "marker.txt", {}
    with FakeLangfuse(secret_key=ray_cluster["env"]["RMG_TEST_LF_SECRET"]) as fake:
        config = _worker_sinks_config(tmp_path, fake, marker)
        thread = _kill_first_unit(marker, killed)
        run = _rmg(ray_cluster, tmp_path, "-c", str(config))
        thread.join(timeout=10)
        assert killed, f"no unit started: {run.stderr[-3000:]}"
        assert run.returncode == 0, run.stderr[-3000:]
        stored = _stored(fake)
        assert not fake.violations()
    starts = [line.split()[1] for line in marker.read_text().splitlines()]
    assert starts.count(killed["trace_id"]) == 2  # the killed unit really was running, and ran again
    rows = [json.loads(line) for part in sorted((tmp_path / "scores").glob("part-*.jsonl")) for line in part.read_text().splitlines()]
    manifest = json.loads((tmp_path / "scores" / "_manifest.json").read_text())
    assert manifest["units"] == _units(tmp_path / "t.jsonl", 1250) > 8 and manifest["cases"] == manifest["lines"] == 10000
    assert sorted(p.name for p in (tmp_path / "scores").iterdir()) == sorted(["_manifest.json", *(p["part"] for p in manifest["parts"])])
    # Exactly N x S scores with unique ids, on the server and in the directory, with the values one process writes.
    assert len(stored) == 10000 and len(rows) == 10000 and {r["score_id"] for r in rows} == set(stored)
    assert all(r["value"] == _burn_value(r["trace_id"]) == stored[r["score_id"]]["value"] for r in rows)


def test_worker_side_sinks_with_retries_off_name_the_lost_unit(ray_cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.fake_langfuse import FakeLangfuse

    marker, killed = tmp_path / "marker.txt", {}
    with FakeLangfuse(secret_key=ray_cluster["env"]["RMG_TEST_LF_SECRET"]) as fake:
        config = _worker_sinks_config(tmp_path, fake, marker, cases=5000)  # 4 units: enough to lose one of them
        thread = _kill_first_unit(marker, killed)
        run = _rmg(ray_cluster, tmp_path, "-c", str(config), "-s", "executor.max_retries=0")
        thread.join(timeout=10)
        stored = _stored(fake)
    assert killed and run.returncode == 1, run.stderr[-3000:]
    lost = re.search(r"1 work units \((\d+) traces\) were lost: their scores were not all written \(sinks on the workers may "
                     r"have written some before the worker died; a re-run writes each score once\); run again to grade them: "
                     r"unit (u\d+-\w+) \(\1 traces\): WorkerCrashedError", run.stderr)
    assert lost, run.stderr[-3000:]
    lost_cases, unit = int(lost.group(1)), lost.group(2)
    # The directory reads as incomplete: no manifest, and no part of the lost unit (only what its worker left hidden).
    scores = tmp_path / "scores"
    assert not (scores / "_manifest.json").exists() and "has no _manifest.json" in run.stderr
    assert not (scores / f"part-{unit}.jsonl").exists()
    rows = [json.loads(line) for part in sorted(scores.glob("part-*.jsonl")) for line in part.read_text().splitlines()]
    assert len(rows) + lost_cases == 5000 and killed["trace_id"] not in {r["trace_id"] for r in rows}
    # Every other unit is complete on the server too; of the lost unit, at most what was written before the kill.
    assert {r["score_id"] for r in rows} <= set(stored) and len(stored) < 5000
