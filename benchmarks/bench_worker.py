"""`rmg worker` ledger: cycle overhead at 10,000 vs 1,000,000 recorded traces.

Every worker cycle reads the traces of its window from the source, looks
each one up in the SQLite ledger (one row per trace and score) and grades
only what is new, changed or due for a retry.  This shows that what a cycle
costs does not grow with the ledger: the same measures on a ledger of
``--small`` traces (the baseline, same run) and of ``--big`` traces, each
trace with 3 scores (2 graders + 1 aggregator: 30,000 and 3,000,000 rows).

    /work/venv/bin/python benchmarks/bench_worker.py            # 10,000 vs 1,000,000 traces
    /work/venv/bin/python benchmarks/bench_worker.py --quick    # 10,000 vs 100,000, fewer repeats

Both ledgers are built in temporary files with ``WorkerState.open`` +
``WorkerState.record`` (100,000 traces per transaction), ids random 128-bit
hex like Langfuse's, inserted in random order as a live worker does; 0.1 % of
the traces have failed scores (retry not yet due) and 0.05 % dead ones; trace
times spread over the default ``retain`` (30 days) plus one hour.  Each state
is then closed and opened again, as a restarted worker would, with the
default connection settings and `WorkerSettings` defaults.

Measured, on both ledgers, interleaved repetition by repetition so a change
in machine load hits both alike (median of ``--repeat``):

1. idle cycle: a real `Worker.cycle()` over a source whose window holds
   ``--window`` traces, all already scored with the current configuration
   and content: it reads, looks up, skips all, moves the watermark;
   ``state.lookup`` of ``--window`` random existing ids, on its own;
   the idle cycle that also runs the hourly prune (``retain``): the first
   prune, in the warm-up cycle, forgets the oldest hour; the timed ones find
   nothing more to forget;
2. busy cycle: ``--window`` new traces, graded (similarity + relevance
   lexical + weighted_sum, the built-in plugins) and recorded; a no-op sink;
3. ``worker_status()`` (what ``rmg worker status`` shows), which counts rows.

Each cycle's own ``stats.ledger_seconds`` (ledger lookups and records) is
reported beside its wall time.  The benchmark pins itself to one CPU.
Exit status is 1 if the idle cycle or the lookup is more than 2x slower on
the big ledger than on the small one (0 with ``--no-check``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# Three deliberately broken plugins live in the dev environment's test suite.
os.environ.setdefault("RMG_DISABLE_PLUGINS", "broken_import,bad_hook,bad_signature")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, AsyncIterator, Optional, Sequence  # noqa: E402

from rmg_core import EvalCase, GradingRunner, Sink, Source, WriteReport, load_plugins  # noqa: E402
from rmg_core.cases import CaseError  # noqa: E402
from rmg_core.config import Components  # noqa: E402
from rmg_core.records import ScoreRecord  # noqa: E402
from rmg_worker.ledger import content_hash, score_plan  # noqa: E402
from rmg_worker.service import CycleLog, Worker  # noqa: E402
from rmg_worker.settings import WorkerSettings  # noqa: E402
from rmg_worker.state import Outcome, WorkerState  # noqa: E402
from rmg_worker.status import worker_status  # noqa: E402

from peers.env import pin_to_one_cpu  # noqa: E402

TARGET_RATIO = 2.0
#: Traces per `WorkerState.record` call (one transaction) while building a ledger.
BUILD_BATCH = 100_000
CHUNK_SIZE = 1000  # [run] chunk_size default

# The same vocabulary as the memory benchmark's traces (benchmarks/ is on sys.path when run as a script).
from bench_memory import WORDS  # noqa: E402


# -- components ---------------------------------------------------------------------------
class WindowSource(Source):
    """The traces of the worker's current window: whatever ``self.window`` holds when the cycle reads it."""

    name = "bench_window"

    def __init__(self, cases: Sequence[EvalCase] = ()) -> None:
        super().__init__()
        self.window: list[EvalCase] = list(cases)

    async def cases(self) -> AsyncIterator[EvalCase | CaseError]:
        for case in self.window:
            yield case

    def windowed(self, start: Optional[datetime], end: datetime) -> Optional[Source]:
        # Stands for a server query of [start, end): the list is the window's content.
        return WindowSource(self.window)


class NullSink(Sink):
    """Reports every record written, stores nothing."""

    name = "bench_null"

    async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
        return WriteReport(written=len(records))


def make_components(host: Any, source: WindowSource) -> Components:
    """Similarity + relevance (lexical) + weighted_sum, the built-in plugins, as a config would build them."""
    graders = {
        "similarity": (host.get("grader", "similarity")(), None),
        "relevance": (host.get("grader", "relevance")(), None),
    }
    aggregators = {"weighted_sum": host.get("aggregator", "weighted_sum")()}
    runner = GradingRunner(grader_configs=dict(graders), max_concurrency=32, aggregators=aggregators)
    return Components(source, graders, aggregators, [NullSink()], ["bench_null"], runner)


# -- data -----------------------------------------------------------------------------------
class Ids:
    """Random 128-bit hex trace ids (the shape of Langfuse / OpenTelemetry trace ids), one stream per run."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def take(self, n: int) -> list[str]:
        return [f"{self.rng.getrandbits(128):032x}" for _ in range(n)]


def make_cases(ids: Sequence[str], rng: random.Random, when: datetime) -> list[EvalCase]:
    def sentence() -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))

    return [EvalCase(id=i, input=sentence(), output=sentence(), expected=sentence(), timestamp=when) for i in ids]


def build_ledger(path: Path, ids: Sequence[str], plan: dict[str, str], window: Sequence[EvalCase],
                 rng: random.Random, retain: float) -> tuple[float, int]:
    """Record 3 scores for each of ``ids`` then of ``window`` (with their real content hash); seconds, rows.

    The traces' times spread evenly over ``retain`` plus one hour: the oldest
    hour is what the worker's hourly prune forgets (1/721 of the traces).
    """
    state = WorkerState.open(path)
    now = time.time()
    oldest, step = now - retain - 3600, (retain + 3600 - 900) / max(1, len(ids))
    scores = list(plan.items())
    rows = 0
    started = time.perf_counter()
    try:
        for start in range(0, len(ids), BUILD_BATCH):
            outcomes = []
            for n, trace_id in enumerate(ids[start:start + BUILD_BATCH], start):
                content = f"{rng.getrandbits(64):016x}"
                if n % 1000 == 7:  # a sink failed: every score of the trace, retry in an hour
                    status, attempts, error, retry = "failed", 2, "sink langfuse: HTTP 503", now + 3600
                elif n % 2000 == 13:
                    status, attempts, error, retry = "dead", 5, "grader error: timed out after 30s", None
                else:
                    status, attempts, error, retry = "scored", 1, None, None
                outcomes += [Outcome(trace_id, score, fingerprint, content, status, attempts, error, retry,
                                     oldest + n * step) for score, fingerprint in scores]
            rows += state.record(outcomes)
        # The window's traces are the newest: scored with this configuration and their content.
        rows += state.record([
            Outcome(case.id, score, fingerprint, content_hash(case), "scored", 1, None, None, case.timestamp.timestamp())
            for case in window for score, fingerprint in scores
        ])
    finally:
        state.close()
    return time.perf_counter() - started, rows


# -- timing -----------------------------------------------------------------------------------
class Side:
    """One ledger under test: its state, worker, source and measurements."""

    def __init__(self, label: str, traces: int, path: Path, ids: list[str], window: list[EvalCase], host: Any,
                 settings: WorkerSettings) -> None:
        self.label, self.traces, self.path, self.ids = label, traces, path, ids
        self.state = WorkerState.open(path)  # a restarted worker: default connection settings
        self.pruned: list[tuple[float, int]] = []
        prune = self.state.prune

        def timed_prune(before: float) -> int:
            start = time.perf_counter()
            rows = prune(before)
            self.pruned.append((time.perf_counter() - start, rows))
            return rows

        self.state.prune = timed_prune  # type: ignore[method-assign]
        self.source = WindowSource(window)
        self.log = io.StringIO()
        self.worker = Worker(make_components(host, self.source), settings, self.state, chunk_size=CHUNK_SIZE,
                             log=CycleLog(self.log, "text"))
        self.window = window
        self.times: dict[str, list[float]] = {}

    def add(self, key: str, seconds: float) -> None:
        self.times.setdefault(key, []).append(seconds)

    def median(self, key: str) -> float:
        return statistics.median(self.times[key])

    async def cycle(self, kind: str, expect_graded: int = 0) -> None:
        if kind == "prune":
            self.state.set_meta("last_prune", "0")  # an hour has passed: this cycle prunes
        pruned = len(self.pruned)
        gc.collect()
        start = time.perf_counter()
        stats = await self.worker.cycle()
        seconds = time.perf_counter() - start
        if stats.status != "ok" or stats.graded != expect_graded or stats.read != len(self.source.window):
            raise SystemExit(f"{self.label}: unexpected cycle {stats.as_dict()}; the benchmark is void")
        if (len(self.pruned) > pruned) != (kind == "prune"):
            raise SystemExit(f"{self.label}: a {kind} cycle {'did not prune' if kind == 'prune' else 'pruned'}")
        self.add(f"{kind}_cycle", seconds)
        self.add(f"{kind}_ledger", stats.ledger_seconds)
        if kind == "prune":
            self.add("prune", self.pruned[-1][0])

    def lookup(self, n: int, rng: random.Random) -> None:
        sample = rng.sample(self.ids, n)
        gc.collect()
        start = time.perf_counter()
        found = self.state.lookup(sample)
        self.add("lookup", time.perf_counter() - start)
        if len(found) < n * 0.99 or any(len(rows) != 3 for rows in found.values()):  # some were pruned
            raise SystemExit(f"{self.label}: lookup found {len(found)} of {n} traces; the benchmark is void")

    def status(self) -> None:
        gc.collect()
        start = time.perf_counter()
        status = worker_status(self.path, self.worker.settings.settle)
        self.add("status", time.perf_counter() - start)
        if status["counts"]["traces"] < self.traces * 0.99:
            raise SystemExit(f"{self.label}: status counts {status['counts']}; the benchmark is void")
        reader = WorkerState.read_only(self.path)
        try:
            start = time.perf_counter()
            reader.counts()
            self.add("counts", time.perf_counter() - start)
        finally:
            reader.close()

    def close(self) -> None:
        self.state.close()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="rmg worker: cycle overhead on a small vs a big ledger",
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--small", type=int, default=10_000, help="traces in the baseline ledger")
    parser.add_argument("--big", type=int, default=1_000_000, help="traces in the big ledger")
    parser.add_argument("--window", type=int, default=1000, help="traces in a cycle's window")
    parser.add_argument("--repeat", type=int, default=9, help="repetitions of each measure (median)")
    parser.add_argument("--prune-repeat", type=int, default=3, help="repetitions of the pruning cycle (median)")
    parser.add_argument("--status-repeat", type=int, default=3, help="repetitions of worker_status (median)")
    parser.add_argument("--quick", action="store_true", help="--big 100000 and 3 repeats: a smoke run, not a figure")
    parser.add_argument("--dir", help="where to build the ledgers (default: a temporary directory, removed)")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--no-check", action="store_true", help="exit 0 even if a target is missed")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args(argv)
    if args.quick:
        args.big, args.repeat, args.prune_repeat, args.status_repeat = min(args.big, 100_000), 3, 1, 1

    cpu = None if args.no_pin else pin_to_one_cpu()
    print(f"{'pinned to CPU ' + str(cpu) if cpu is not None else 'not pinned'}; SQLite "
          f"{__import__('sqlite3').sqlite_version}; median of {args.repeat} cycles per measure; "
          f"window {args.window:,} traces, 3 scores each", flush=True)

    host = load_plugins()
    settings = WorkerSettings()  # the defaults: overlap 10m, settle 2m, retain 30d
    components = make_components(host, WindowSource())
    plan = score_plan(components.graders, components.aggregators)
    ids = Ids(seed=20261101)
    text_rng = random.Random(7)
    when = datetime.now(timezone.utc) - timedelta(minutes=5)  # settled, inside the overlap window

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        sides: list[Side] = []
        for label, traces in (("small", args.small), ("big", args.big)):
            filler = ids.take(traces - args.window)
            window = make_cases(ids.take(args.window), text_rng, when)
            path = Path(tmp) / f"ledger-{traces}.sqlite3"
            seconds, rows = build_ledger(path, filler, plan, window, random.Random(traces),
                                         settings.retain or 0)
            size = path.stat().st_size / 1e6
            print(f"built {traces:>9,} traces = {rows:>9,} rows in {seconds:6.1f}s ({rows / seconds:>9,.0f} rows/s), "
                  f"{size:7.1f} MB", flush=True)
            sides.append(Side(label, traces, path, filler + [c.id for c in window], window, host, settings))
            del filler
        small, big = sides
        figures = asyncio.run(measure(small, big, args, ids, text_rng, when))
        for side in sides:
            side.close()

    print_figures(small, big, args)
    ok = figures["idle_cycle_ratio"] <= TARGET_RATIO and figures["lookup_ratio"] <= TARGET_RATIO
    if args.json:
        print(json.dumps(figures))
    return 0 if ok or args.no_check else 1


async def measure(small: Side, big: Side, args: argparse.Namespace, ids: Ids, text_rng: random.Random,
                  when: datetime) -> dict[str, Any]:
    sides = (small, big)
    rng = random.Random(3)
    # Warm-up: the first cycle sets the watermark and runs the first prune (the oldest hour); not timed.
    for side in sides:
        stats = await side.worker.cycle()
        if stats.status != "ok" or stats.skipped != args.window:
            raise SystemExit(f"{side.label}: warm-up cycle went wrong: {stats.as_dict()}")
        side.lookup(args.window, rng)
        side.times.clear()
    for _ in range(args.repeat):  # 1. idle cycles and bare lookups, interleaved
        for side in sides:
            await side.cycle("idle")
            side.lookup(args.window, rng)
    for _ in range(args.prune_repeat):  # 1b. the hourly idle cycle that also prunes
        for side in sides:
            await side.cycle("prune")
    idle_windows = {side.label: side.source.window for side in sides}
    for _ in range(args.repeat):  # 2. busy cycles: a window of new traces each time
        for side in sides:
            side.source.window = make_cases(ids.take(args.window), text_rng, when)
            await side.cycle("busy", expect_graded=args.window)
    for side in sides:
        side.source.window = idle_windows[side.label]
    for _ in range(args.status_repeat):  # 3. worker_status
        for side in sides:
            side.status()
    figures: dict[str, Any] = {"small_traces": small.traces, "big_traces": big.traces, "window": args.window}
    for side in sides:
        seconds, rows = side.pruned[0]
        figures[f"{side.label}_first_prune_s"], figures[f"{side.label}_first_prune_rows"] = seconds, rows
    for key, _ in ROWS:
        figures[f"small_{key}_s"], figures[f"big_{key}_s"] = small.median(key), big.median(key)
        figures[f"{key}_ratio"] = big.median(key) / small.median(key)
    return figures


ROWS = (
    ("idle_cycle", "idle cycle (window read, all skipped)"),
    ("idle_ledger", "  of which ledger (stats.ledger_seconds)"),
    ("lookup", "state.lookup(window of random ids)"),
    ("prune_cycle", "idle cycle + hourly prune"),
    ("prune", "  of which state.prune()"),
    ("busy_cycle", "busy cycle (window new, graded)"),
    ("busy_ledger", "  of which ledger (stats.ledger_seconds)"),
    ("status", "worker_status()"),
    ("counts", "  of which state.counts()"),
)


def print_figures(small: Side, big: Side, args: argparse.Namespace) -> None:
    for side in (small, big):
        seconds, rows = side.pruned[0]
        print(f"first prune ({side.traces:,}-trace ledger, the oldest hour of traces): {rows:,} rows forgotten "
              f"in {seconds * 1000:.1f} ms")
    head = f"{'ledger traces (window ' + format(args.window, ',') + ')':<42}{small.traces:>12,}{big.traces:>12,}   ratio"
    print(head)
    print("-" * len(head))
    for key, label in ROWS:
        a, b = small.median(key), big.median(key)
        print(f"{label:<42}{ms(a):>12}{ms(b):>12}   {b / a:5.2f}x", flush=True)
    for key, what in (("idle_cycle", "idle cycle"), ("lookup", "lookup")):
        ratio = big.median(key) / small.median(key)
        print(f"target: {what} at {big.traces:,} <= {TARGET_RATIO:g}x at {small.traces:,}: "
              f"{ratio:.2f}x {'met' if ratio <= TARGET_RATIO else 'MISSED'}")


if __name__ == "__main__":
    sys.exit(main())
