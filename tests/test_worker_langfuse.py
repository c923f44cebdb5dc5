"""`rmg worker` against the fake Langfuse server in its own process: crashes, outages, late output.

Every test runs the real `rmg worker` console script in a subprocess
against `FakeLangfuseProcess` on 127.0.0.1 and checks the server's store:
each trace ends up with each score exactly once, with the value its final
content deserves.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from rmg_core import load_plugins
from tests.conftest import ROOT, run_rmg
from tests.fake_langfuse.control import FakeLangfuseProcess

pytestmark = pytest.mark.integration

SCORES = ("similarity", "relevance", "overall")
QUIET_PLUGINS = {"RMG_DISABLE_PLUGINS": "broken_import,bad_hook,bad_signature"}


def write_config(path: Path, fake: FakeLangfuseProcess, state: Path, *, chunk_size: int = 20, sink: str = "",
                 **worker: Any) -> Path:
    """A config grading with similarity + relevance + weighted_sum, reading and writing the fake."""
    connection = (f'base_url = "{fake.base_url}"\npublic_key = "{fake.public_key}"\n'
                  f'secret_key = "{fake.secret_key}"\nmax_retries = 1\nbackoff_initial = 0.05\n'
                  f'backoff_max = 0.2\ntimeout = 10\n')
    settings = {"state": str(state), "interval": "0.3s", "overlap": "1m", "settle": "0s", "lookback": "1h",
                "retry_backoff": "0.5s", "retry_backoff_max": "2s", **worker}
    worker_table = "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items())
    path.write_text(
        f"[run]\nchunk_size = {chunk_size}\n\n"
        f"[source]\nplugin = \"langfuse\"\n{connection}\n"
        "[graders.similarity]\nplugin = \"similarity\"\n\n"
        "[graders.relevance]\nplugin = \"relevance\"\n\n"
        "[aggregators.overall]\nplugin = \"weighted_sum\"\n\n"
        f"[[sinks]]\nplugin = \"langfuse\"\n{connection}{sink}\n"
        f"[worker]\n{worker_table}\n",
        encoding="utf-8",
    )
    return path


class WorkerProcess:
    """`rmg worker -c CONFIG` in a subprocess, its stderr collected line by line."""

    def __init__(self, config: Path, *args: str) -> None:
        rmg = Path(sys.executable).with_name("rmg")
        self.process = subprocess.Popen(
            [str(rmg), "worker", "-c", str(config), "--log-format", "json", *args],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=ROOT,
            env={**os.environ, **QUIET_PLUGINS},
        )
        self.events: list[dict[str, Any]] = []
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            try:
                self.events.append(json.loads(line))
            except ValueError:
                pass

    def cycles(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == "cycle"]

    def wait_for(self, test: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if test():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited ({self.process.returncode}) waiting for {what}:\n{''.join(self.lines)}")
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; worker log:\n{''.join(self.lines[-30:])}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        self._reader.join(timeout=5)


def score_counts(fake: FakeLangfuseProcess) -> Counter[tuple[str, str]]:
    """(trace id, score name) -> how many distinct scores the server holds."""
    return Counter((s["traceId"], s["name"]) for s in fake.scores())


def assert_exactly_once(fake: FakeLangfuseProcess, trace_ids: list[str]) -> list[dict[str, Any]]:
    scores = fake.scores()
    counts = Counter((s["traceId"], s["name"]) for s in scores)
    missing = [(t, n) for t in trace_ids for n in SCORES if counts[(t, n)] == 0]
    doubled = {k: v for k, v in counts.items() if v > 1}
    unexpected = set(counts) - {(t, n) for t in trace_ids for n in SCORES}
    assert not missing, f"{len(missing)} scores missing, e.g. {missing[:5]}"
    assert not doubled, f"scores stored more than once: {list(doubled.items())[:5]}"
    assert not unexpected, f"scores the run should not have made: {sorted(unexpected)[:5]}"
    assert fake.violations() == []
    return scores


def traces(prefix: str, n: int, *, at: Optional[datetime] = None, output: Any = "default") -> list[dict[str, Any]]:
    when = at or datetime.now(timezone.utc)
    out = []
    for i in range(n):
        answer = f"The answer to question {i} of {prefix} is {i * 7}." if output == "default" else output
        out.append({
            "id": f"{prefix}-{i:05d}", "timestamp": (when - timedelta(milliseconds=n - i)).isoformat(),
            "name": "qa", "input": f"What is the answer to question {i} of {prefix}?", "output": answer,
            "metadata": {"expected_output": f"The answer to question {i} of {prefix} is {i * 7}."},
        })
    return out


def expected_values(cases: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    """What `similarity` gives each trace's final output, computed in this process with the same plugin."""
    host = load_plugins(environ=QUIET_PLUGINS)
    similarity = host.get("grader", "similarity")()
    results = similarity.evaluate_batch(
        [{"prediction": c["output"], "reference": c["metadata"]["expected_output"]} for c in cases]
    )
    return {(c["id"], "similarity"): r.score for c, r in zip(cases, results)}


def worker_status(config: Path) -> dict[str, Any]:
    result = run_rmg("worker", "status", "-c", str(config), "--json", env=QUIET_PLUGINS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_killed_mid_cycle_and_restarted_every_trace_has_every_score_exactly_once(tmp_path: Path) -> None:
    """SIGKILL while a cycle is writing, traces still arriving; after a restart nothing is missing or doubled."""
    with FakeLangfuseProcess() as fake:
        fake.add_traces(traces("seed", 300, at=datetime.now(timezone.utc) - timedelta(seconds=5)))
        # Slow score writes: the first cycle takes seconds, so the kill lands inside it.
        fake.set_faults(rules=[{"path_prefix": "/api/public/scores", "method": "POST",
                                "settings": {"latency_ms": 150}}])
        config = write_config(tmp_path / "eval.toml", fake, tmp_path / "state.sqlite3")
        added: list[str] = [f"seed-{i:05d}" for i in range(300)]
        stop_adding = threading.Event()

        def keep_adding() -> None:
            batch = 0
            while not stop_adding.is_set():
                new = traces(f"live{batch}", 10)
                fake.add_traces(new)
                added.extend(t["id"] for t in new)
                batch += 1
                stop_adding.wait(0.25)

        adder = threading.Thread(target=keep_adding)
        adder.start()
        try:
            first = WorkerProcess(config)
            first.wait_for(lambda: len(fake.scores()) >= 120, 60, "some scores written")
            assert first.cycles() == [], "the kill must land inside the first cycle"
            first.kill()
            written_before_restart = len(fake.scores())
            assert 0 < written_before_restart < 3 * 300
            # The restart happens "the next day" on the server's clock: a re-write would be a new row there.
            fake.advance_clock(86_400)

            second = WorkerProcess(config)
            time.sleep(1.5)  # traces keep arriving while the restarted worker runs
            stop_adding.set()
            adder.join()
            expected = {(t, n) for t in added for n in SCORES}
            second.wait_for(lambda: expected <= set(score_counts(fake)), 90, "every trace scored")
            second.wait_for(lambda: any(c["graded"] == 0 and c["status"] == "ok" for c in second.cycles()), 30,
                            "an idle cycle")
            assert second.stop() == 0
        finally:
            stop_adding.set()
            adder.join()

        scores = assert_exactly_once(fake, added)
        # The chunk in flight at the kill was written but not committed to the ledger: the restarted
        # worker grades it again, finds it stored unchanged, and does not write it again.
        rewrites = sum(s["writeCount"] - 1 for s in scores)
        assert rewrites == 0, rewrites
        status = worker_status(config)
        assert status["counts"] == {"traces": len(added), "scored": 3 * len(added), "failed": 0, "dead": 0}
        assert status["running"] is False


@pytest.mark.parametrize("dialect", ["object", "array"])
def test_a_lost_state_file_the_next_day_writes_nothing_again(tmp_path: Path, dialect: str) -> None:
    """A new machine (no ledger) re-reads traces already scored, the server's clock a day later: no write, no second row."""
    with FakeLangfuseProcess(["--score-dialect", dialect]) as fake:
        batch = traces("kept", 40, at=datetime.now(timezone.utc) - timedelta(seconds=5))
        fake.add_traces(batch)
        state = tmp_path / "state.sqlite3"
        config = write_config(tmp_path / "eval.toml", fake, state, sink=f'dialect = "{dialect}"\n')
        first = run_rmg("worker", "-c", str(config), "--once", env=QUIET_PLUGINS)
        assert first.returncode == 0, first.stderr
        writes = fake.stats()["scoreWrites"]
        first_requests = sum(fake.stats()["requests"].values())
        assert writes == 3 * 40

        for path in tmp_path.glob("state.sqlite3*"):
            path.unlink()
        fake.advance_clock(86_400)
        before = fake.stats()["requests"]
        again = run_rmg("worker", "-c", str(config), "--once", env=QUIET_PLUGINS)
        assert again.returncode == 0, again.stderr
        assert "graded 40 (new 40" in again.stderr  # the new ledger knew nothing ...
        assert fake.stats()["scoreWrites"] == writes  # ... and the server got no write
        after = fake.stats()["requests"]
        delta = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
        assert "POST /api/public/scores" not in delta and sum(delta.values()) < first_requests
        scores = assert_exactly_once(fake, [t["id"] for t in batch])
        assert all(s["writeCount"] == 1 for s in scores)


def test_outage_is_survived_and_caught_up_without_wrong_scores(tmp_path: Path) -> None:
    """The server answers 503 for a while: the worker keeps running, writes nothing wrong, then catches up."""
    with FakeLangfuseProcess() as fake:
        first_batch = traces("before", 40, at=datetime.now(timezone.utc) - timedelta(seconds=5))
        fake.add_traces(first_batch)
        config = write_config(tmp_path / "eval.toml", fake, tmp_path / "state.sqlite3")
        worker = WorkerProcess(config)
        worker.wait_for(lambda: len(fake.scores()) == 3 * 40, 60, "the first traces scored")

        fake.set_faults(down=True)
        during = traces("during", 30)
        # The control API is never faulted: traces arrive while the public API is down.
        fake.add_traces(during)
        n_cycles = len(worker.cycles())
        worker.wait_for(lambda: sum(c["status"] == "failed" for c in worker.cycles()[n_cycles:]) >= 3, 60,
                        "three failed cycles during the outage")
        watermarks = {c["watermark"] for c in worker.cycles()[n_cycles:] if c["status"] == "failed"}
        assert len(watermarks) == 1, "the watermark must not move while the source is down"
        assert len(fake.scores()) == 3 * 40
        assert worker.process.poll() is None

        fake.set_faults(down=False)
        worker.wait_for(lambda: len(fake.scores()) == 3 * 70, 60, "catching up after the outage")
        assert worker.stop(signal.SIGINT) == 0
        assert any(e.get("event") == "stopped" and e.get("exit_code") == 0 for e in worker.events)

        scores = assert_exactly_once(fake, [t["id"] for t in first_batch + during])
        values = {(s["traceId"], s["name"]): s["value"] for s in scores}
        for key, value in expected_values(first_batch + during).items():
            assert values[key] == pytest.approx(value), key
        assert all(isinstance(s["value"], float) and s["name"] in SCORES for s in scores)


def test_late_output_is_graded_on_the_final_output(tmp_path: Path) -> None:
    """A trace whose output arrives (or changes) after its first grading is re-graded inside the overlap."""
    with FakeLangfuseProcess() as fake:
        base = datetime.now(timezone.utc) - timedelta(seconds=5)
        pending = traces("late", 5, at=base, output=None)
        drafts = traces("draft", 5, at=base, output="Something unrelated about tea.")
        fake.add_traces(pending + drafts)
        config = write_config(tmp_path / "eval.toml", fake, tmp_path / "state.sqlite3")
        worker = WorkerProcess(config)
        worker.wait_for(lambda: {(t["id"], "similarity") for t in drafts} <= set(score_counts(fake)), 60,
                        "the drafts graded")
        worker.wait_for(lambda: len(worker.cycles()) >= 2, 30, "a second cycle")
        before = {(s["traceId"], s["name"]): s for s in fake.scores()}
        # No output yet is a grader error (retried with backoff), never a 0.0 score.
        assert not any(t == f"late-{i:05d}" and n == "similarity" for (t, n) in before for i in range(5))

        finals = traces("late", 5, at=base) + traces("draft", 5, at=base)
        for trace in finals:
            fake.update_trace(trace["id"], output=trace["output"])
        expected = expected_values(finals)
        worker.wait_for(
            lambda: all(
                values.get(k) == pytest.approx(v) for values in [{(s["traceId"], s["name"]): s["value"] for s in fake.scores()}]
                for k, v in expected.items()
            ),
            60, "the final outputs graded",
        )
        assert worker.stop() == 0
        scores = assert_exactly_once(fake, [t["id"] for t in finals])
        by_key = {(s["traceId"], s["name"]): s for s in scores}
        for trace in drafts:
            # The draft's score was overwritten under the same id, not duplicated.
            assert by_key[(trace["id"], "similarity")]["id"] == before[(trace["id"], "similarity")]["id"]
            assert by_key[(trace["id"], "similarity")]["writeCount"] == 2


def test_an_idle_cycle_costs_one_request_and_grades_nothing(tmp_path: Path) -> None:
    """With nothing new, a cycle is one listing request: no score reads, no writes."""
    with FakeLangfuseProcess() as fake:
        fake.add_traces(traces("idle", 50, at=datetime.now(timezone.utc) - timedelta(seconds=5)))
        config = write_config(tmp_path / "eval.toml", fake, tmp_path / "state.sqlite3")
        first = run_rmg("worker", "-c", str(config), "--once", env=QUIET_PLUGINS)
        assert first.returncode == 0, first.stderr
        assert len(fake.scores()) == 150

        before = fake.stats()["requests"]
        again = run_rmg("worker", "-c", str(config), "--once", env=QUIET_PLUGINS)
        assert again.returncode == 0, again.stderr
        assert "graded 0" in again.stderr
        after = fake.stats()["requests"]
        delta = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
        assert delta == {"GET /api/public/v2/observations": 1}

        worker = WorkerProcess(config)
        worker.wait_for(lambda: len(worker.cycles()) >= 1, 30, "a cycle")
        mark = fake.stats()["requests"]
        seen = len(worker.cycles())
        worker.wait_for(lambda: len(worker.cycles()) >= seen + 3, 30, "three more cycles")
        assert worker.stop() == 0
        cycles_run = len(worker.cycles()) - seen
        now = fake.stats()["requests"]
        delta = {k: now[k] - mark.get(k, 0) for k in now if now[k] != mark.get(k, 0)}
        # One listing per idle cycle: the cycle in progress at the mark may add one more, and one
        # that ended between the mark and `seen` listed before the mark (interval 0.3 s, a loaded machine).
        assert set(delta) == {"GET /api/public/v2/observations"}
        assert cycles_run - 1 <= delta["GET /api/public/v2/observations"] <= cycles_run + 1
        assert fake.stats()["scoreWrites"] == 150
        # Secrets never reach the log or the state file.
        state_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("state.sqlite3*"))
        for text in (first.stderr, again.stderr, "".join(worker.lines)):
            assert fake.secret_key not in text
        assert fake.secret_key.encode() not in state_bytes


def test_failed_writes_of_old_traces_are_retried_by_id(tmp_path: Path) -> None:
    """Writes fail, the window moves on; the failed traces are fetched again by id and written once."""
    with FakeLangfuseProcess() as fake:
        old = traces("old", 12, at=datetime.now(timezone.utc) - timedelta(seconds=30))
        fake.add_traces(old)
        fake.set_faults(rules=[{"path_prefix": "/api/public/scores", "method": "POST",
                                "settings": {"error_rate": 1.0, "error_statuses": [503]}}])
        # overlap 0: the next window starts where the failed one ended, so only a by-id fetch finds them.
        config = write_config(tmp_path / "eval.toml", fake, tmp_path / "state.sqlite3", overlap="0s")
        failing = run_rmg("worker", "-c", str(config), "--once", env=QUIET_PLUGINS)
        assert failing.returncode == 1
        assert "36 failed" in failing.stderr or "failed" in failing.stderr
        status = worker_status(config)
        assert status["counts"]["failed"] == 36 and status["counts"]["scored"] == 0
        assert "503" in status["problems"][0]["last_error"]
        assert fake.scores() == []

        fake.set_faults(rules=[])
        time.sleep(0.6)  # past the first retry's backoff
        listed = fake.stats()["requests"]["GET /api/public/v2/observations"]
        retried = run_rmg("worker", "-c", str(config), "--once", env=QUIET_PLUGINS)
        assert retried.returncode == 0, retried.stderr
        assert "retried 12" in retried.stderr
        # One listing of the (empty) new window, and one lookup per failed trace.
        assert fake.stats()["requests"]["GET /api/public/v2/observations"] - listed == 1 + 12
        assert_exactly_once(fake, [t["id"] for t in old])
        assert worker_status(config)["counts"] == {"traces": 12, "scored": 36, "failed": 0, "dead": 0}


def test_second_signal_exits_at_once_and_the_state_stays_usable(tmp_path: Path) -> None:
    """SIGTERM twice during a slow write: exit 143 at once; a restart finishes the job exactly once."""
    with FakeLangfuseProcess() as fake:
        batch = traces("slow", 60, at=datetime.now(timezone.utc) - timedelta(seconds=5))
        fake.add_traces(batch)
        fake.set_faults(rules=[{"path_prefix": "/api/public/scores", "method": "POST",
                                "settings": {"latency_ms": 3000}}])
        config = write_config(tmp_path / "eval.toml", fake, tmp_path / "state.sqlite3")
        worker = WorkerProcess(config)
        worker.wait_for(lambda: fake.stats()["requests"].get("POST /api/public/scores", 0) >= 1, 30, "a write in flight")
        started = time.monotonic()
        worker.process.send_signal(signal.SIGTERM)
        worker.wait_for(lambda: any(e.get("event") == "stopping" for e in worker.events), 10, "the first signal noted")
        assert worker.stop(signal.SIGTERM, timeout=10) == 128 + signal.SIGTERM
        assert time.monotonic() - started < 2.5, "the second signal must not wait for the slow write"

        fake.set_faults(rules=[])
        again = run_rmg("worker", "-c", str(config), "--once", env=QUIET_PLUGINS)
        assert again.returncode == 0, again.stderr
        assert_exactly_once(fake, [t["id"] for t in batch])


def test_a_trace_nested_too_deep_is_one_bad_trace_and_the_worker_moves_on(tmp_path: Path) -> None:
    """1,000 '[' then 1,000 ']' as a trace's output: a per-trace CaseError, never a RecursionError; the watermark moves."""
    with FakeLangfuseProcess() as fake:
        good = traces("ok", 5, at=datetime.now(timezone.utc) - timedelta(seconds=5))
        deep = traces("deep", 1, at=datetime.now(timezone.utc) - timedelta(seconds=5), output="[" * 1000 + "]" * 1000)
        fake.add_traces(good + deep)
        config = write_config(tmp_path / "eval.toml", fake, tmp_path / "state.sqlite3")
        first = run_rmg("worker", "-c", str(config), "--once", env=QUIET_PLUGINS)
        assert "RecursionError" not in first.stderr and "Traceback" not in first.stderr, first.stderr
        assert "bad traces 1" in first.stderr, first.stderr
        assert_exactly_once(fake, [t["id"] for t in good])
        watermark = worker_status(config)["watermark"]
        assert watermark is not None
        # Started 2 s ago: the fake ends a root observation 0.8 s after it starts, and the worker waits
        # for traces that have not ended yet (issue 12), so a trace stamped "now" could still be running.
        fake.add_traces(traces("later", 3, at=datetime.now(timezone.utc) - timedelta(seconds=2)))
        time.sleep(0.05)
        second = run_rmg("worker", "-c", str(config), "--once", env=QUIET_PLUGINS)
        assert "Traceback" not in second.stderr, second.stderr
        assert worker_status(config)["watermark"] > watermark
        assert_exactly_once(fake, [t["id"] for t in good + traces("later", 3)])


def test_a_running_trace_is_graded_once_it_has_ended_never_on_its_partial_output(tmp_path: Path) -> None:
    """The root observation's end time decides: a trace still running waits (and holds the watermark back)."""
    with FakeLangfuseProcess() as fake:
        at = datetime.now(timezone.utc) - timedelta(seconds=5)
        done = traces("done", 3, at=at)
        [live] = traces("live", 1, at=at - timedelta(seconds=1), output="Partial draft about something else")
        fake.add_traces(done + [live])
        fake.update_trace(live["id"], endTime=None)  # its root observation is still running
        config = write_config(tmp_path / "eval.toml", fake, tmp_path / "state.sqlite3")
        first = run_rmg("worker", "-c", str(config), "--once", "--log-format", "json", env=QUIET_PLUGINS)
        assert first.returncode == 0, first.stderr
        [cycle] = [e for e in map(json.loads, first.stderr.splitlines()) if e.get("event") == "cycle"]
        assert (cycle["graded"], cycle["deferred"]) == (3, 1)
        assert not [s for s in fake.scores() if s["traceId"] == live["id"]]
        held = datetime.fromisoformat(worker_status(config)["watermark"].replace("Z", "+00:00"))
        assert held <= datetime.fromisoformat(live["timestamp"])

        final = traces("live", 1, at=at - timedelta(seconds=1))[0]
        fake.update_trace(live["id"], output=final["output"],
                          endTime=(datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat())
        second = run_rmg("worker", "-c", str(config), "--once", env=QUIET_PLUGINS)
        assert second.returncode == 0, second.stderr
        scores = assert_exactly_once(fake, [t["id"] for t in done] + [live["id"]])
        by_key = {(s["traceId"], s["name"]): s for s in scores}
        assert by_key[(live["id"], "similarity")]["value"] == pytest.approx(expected_values([final])[(live["id"], "similarity")])
        assert all(s["writeCount"] == 1 for s in scores)  # no partial score was ever written
