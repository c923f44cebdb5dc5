"""What the pipeline costs around the grading: `rmg eval` end to end against `GradingRunner.arun` alone.

    python benchmarks/bench_pipeline.py                  # 20,000 traces, speed only
    python benchmarks/bench_pipeline.py --memory         # and peak RSS at 10,000 vs 1,000,000 traces
    python benchmarks/bench_pipeline.py --n 5000 --repeat 1   # a smoke run

Traces of the bundled example's kind (``examples/make_traces.py``: chat and
plain inputs, Langfuse-shaped and plain lines, references at the top level or
in metadata, empty and null answers), graded with similarity + relevance +
weighted_sum, as the quick start does.

* **baseline**: the traces read and turned into grader fields beforehand
  (untimed), then ``await runner.arun(all fields)`` with the runner `rmg eval`
  builds for the same options: grading and aggregation, nothing else.
* the baseline again inside `rmg_core.pipeline.fewer_collections` (the
  garbage-collector threshold `rmg eval` runs with), for information;
* **rmg eval**: ``rmg eval FILE -g similarity -g relevance -a weighted_sum -o
  OUT -q`` called in this process (imports and plugin loading warmed up by a
  first run), so what is timed is reading, parsing, grading, building records,
  statistics and writing JSONL.  ``--workers 1`` is passed when the command
  has that option, so this stays one process.

Target: end to end >= 0.8x the baseline's rate.  Both wall-clock and CPU time
(all threads) are printed; on a loaded machine the CPU-time ratio is the
steadier figure.  Each figure is the best of ``--repeat`` runs, alternating.

``--memory`` runs ``rmg eval`` in a fresh process over 10,000 and 1,000,000
traces (the 20,000 generated ones repeated with new ids) and prints each peak
RSS: targets under 400 MB at 1,000,000 and at most 1.3x the 10,000 figure.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# The test suite's deliberately broken plugins, if installed, only add warnings.
os.environ.setdefault("RMG_DISABLE_PLUGINS", "broken_import,bad_hook,bad_signature")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

from make_traces import make_traces  # noqa: E402

TARGET_RATIO = 0.8
TARGET_RSS_MB = 400.0
TARGET_RSS_RATIO = 1.3
GRADING = ["-g", "similarity", "-g", "relevance", "-a", "weighted_sum"]


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def write_traces(path: Path, n: int, base: list[dict[str, Any]]) -> None:
    """``n`` lines: the ``base`` traces, repeated with a suffix on the id once they run out."""
    lines = [json.dumps(t, ensure_ascii=False) for t in base]
    ids = [json.dumps(t["id"]) for t in base]
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            k, j = divmod(i, len(base))
            line = lines[j]
            if k:
                line = line.replace(f'"id": {ids[j]}', f'"id": {ids[j][:-1]}-{k}"', 1)
            out.write(line + "\n")


def _timed(fn: Callable[[], Any]) -> tuple[float, float]:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _has_workers_option() -> bool:
    from rmg_core import load_plugins
    from rmg_core.cli import build_cli

    return any("--workers" in getattr(p, "opts", ()) for p in build_cli(load_plugins()).commands["eval"].params)


def run_cli(args: list[str]) -> None:
    from rmg_core.cli import main

    try:
        main(args)
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise RuntimeError(f"rmg {' '.join(args)} exited {exc.code}") from None


def baseline(traces: Path) -> tuple[Callable[[], None], int]:
    """The runner `rmg eval` would build, and the traces' grader fields, read beforehand."""
    from rmg_core import EvalCase, load_plugins
    from rmg_core.config import assemble_config, build_components

    config = assemble_config(path=str(traces), graders=("similarity", "relevance"), aggregators=("weighted_sum",))
    built = build_components(load_plugins(), config)

    async def read() -> list[dict[str, Any]]:
        return [c.grader_fields() async for c in built.source.cases() if isinstance(c, EvalCase)]

    data = asyncio.run(read())

    async def grade() -> None:
        await built.runner.arun(data)

    # A coroutine of our own: asyncio.run(runner.arun(...)) would also time
    # CPython 3.11 repr-ing the result for its SIGINT check.
    return (lambda: asyncio.run(grade())), len(data)


def speed(n: int, repeat: int, tmp: Path, base: list[dict[str, Any]]) -> dict[str, float]:
    traces, out = tmp / "traces.jsonl", tmp / "scores.jsonl"
    write_traces(traces, n, base)
    cli_args = ["eval", str(traces), *GRADING, "-o", str(out), "-q"]
    if _has_workers_option():
        cli_args += ["--workers", "1"]
    runner_only, graded = baseline(traces)
    runner_only()  # warm-up: imports, tokenizer tables, allocator
    run_cli(cli_args)
    from rmg_core.pipeline import fewer_collections

    def runner_gc() -> None:
        with fewer_collections():
            runner_only()

    best: dict[str, list[float]] = {k: [] for k in ("runner_wall", "runner_cpu", "gc_wall", "gc_cpu", "eval_wall", "eval_cpu")}
    for _ in range(max(1, repeat)):
        wall, cpu = _timed(runner_only)
        best["runner_wall"].append(wall)
        best["runner_cpu"].append(cpu)
        wall, cpu = _timed(runner_gc)
        best["gc_wall"].append(wall)
        best["gc_cpu"].append(cpu)
        wall, cpu = _timed(lambda: run_cli(cli_args))
        best["eval_wall"].append(wall)
        best["eval_cpu"].append(cpu)
    with out.open(encoding="utf-8") as handle:
        lines = sum(1 for _ in handle)
    figures = {k: n / min(v) for k, v in best.items()}
    figures["lines"] = lines
    figures["graded"] = graded
    return figures


def peak_rss_mb(args: list[str]) -> tuple[float, float]:
    """Run ``args`` in a fresh interpreter that reports its child's peak RSS (MB) and wall time."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.perf_counter() - t, code)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True)
    rss, seconds, code = done.stdout.split()
    if code != "0":
        raise SystemExit(f"rmg eval exited {code}: {' '.join(args)}")
    return float(rss), float(seconds)


def memory(small: int, big: int, tmp: Path, base: list[dict[str, Any]]) -> dict[int, float]:
    rmg = str(Path(sys.executable).with_name("rmg"))
    figures = {}
    for n in (small, big):
        traces, out = tmp / f"traces-{n}.jsonl", tmp / "scores.jsonl"
        write_traces(traces, n, base)
        args = [rmg, "eval", str(traces), *GRADING, "-o", str(out), "-q"]
        if _has_workers_option():
            args += ["--workers", "1"]
        rss, seconds = peak_rss_mb(args)
        figures[n] = rss
        print(f"  {n:>9,} traces  peak RSS {rss:7.1f} MB  {seconds:7.1f}s ({n / seconds:,.0f} traces/s)"
              f"  load {load_average()}", flush=True)
        traces.unlink()
        out.unlink()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="traces for the speed figures (default 20000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each side; the best counts")
    parser.add_argument("--memory", action="store_true", help="also measure peak RSS at --small and --big traces")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    args = parser.parse_args(argv)

    ok = True
    print(f"load average at start: {load_average()} (figures taken under load are noisy; ratios count)")
    base = make_traces(args.n)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        f = speed(args.n, args.repeat, tmp, base)
        print(f"pipeline: {args.n:,} traces of the bundled example's kind, similarity + relevance + weighted_sum, "
              f"best of {args.repeat}")
        print(f"  GradingRunner.arun alone (baseline)  {f['runner_wall']:>9,.0f} traces/s wall  "
              f"{f['runner_cpu']:>9,.0f} traces/s of CPU")
        print(f"  the same, with rmg eval's GC setting {f['gc_wall']:>9,.0f} traces/s wall  "
              f"{f['gc_cpu']:>9,.0f} traces/s of CPU   (for information)")
        print(f"  rmg eval, one process                {f['eval_wall']:>9,.0f} traces/s wall  "
              f"{f['eval_cpu']:>9,.0f} traces/s of CPU   ({f['lines']:,} lines written)")
        wall_ratio, cpu_ratio = f["eval_wall"] / f["runner_wall"], f["eval_cpu"] / f["runner_cpu"]
        verdict = "PASS" if wall_ratio >= TARGET_RATIO else "FAIL"
        print(f"  ratio rmg eval / runner              {wall_ratio:>9.2f}x wall      {cpu_ratio:>9.2f}x of CPU"
              f"      target >= {TARGET_RATIO}x (wall): {verdict}")
        ok &= wall_ratio >= TARGET_RATIO
        print(f"  ratio rmg eval / runner with the same GC setting  {f['eval_wall'] / f['gc_wall']:.2f}x wall  "
              f"{f['eval_cpu'] / f['gc_cpu']:.2f}x of CPU (for information)")
        print(f"load average at end: {load_average()}")
        if args.memory:
            print(f"memory: rmg eval in a fresh process, {args.small:,} vs {args.big:,} traces")
            rss = memory(args.small, args.big, tmp, base)
            ratio = rss[args.big] / rss[args.small]
            print(f"  peak RSS at {args.big:,}: {rss[args.big]:.1f} MB (target < {TARGET_RSS_MB:.0f} MB): "
                  f"{'PASS' if rss[args.big] < TARGET_RSS_MB else 'FAIL'}")
            print(f"  ratio to {args.small:,} (baseline, same run): {ratio:.2f}x (target <= {TARGET_RSS_RATIO}x): "
                  f"{'PASS' if ratio <= TARGET_RSS_RATIO else 'FAIL'}")
            ok &= rss[args.big] < TARGET_RSS_MB and ratio <= TARGET_RSS_RATIO
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
