"""Similarity algorithms, rmg against OpenJudge 0.2.4, in CPU instructions per pair: a figure load cannot move.

    python benchmarks/bench_instructions.py                          # fuzzy_match, edit_distance
    python benchmarks/bench_instructions.py --algorithms bleu,rougeL --n 500

`bench_similarity_openjudge.py` times both tools; on a shared machine its
ratios swing by a third from run to run.  This script counts instead: each
tool grades the same ``--n`` pairs (the same generator) through its own
``GradingRunner`` under valgrind's callgrind, with counting switched on only
around the measured runs.  Instructions per pair = (count over 3 runs - count
over 1 run) / 2 / n, so start-up, warm-up and the switching itself cancel.
For ``fuzzy_match`` and ``edit_distance`` it also counts the bare RapidFuzz
call both tools make (``process.cpdist`` over the same pairs): the floor no
Python around it can go below.  Prints each tool's count, rmg's ratio and the
ratio the floor would allow.

Instructions are not time (a cache miss costs more than an add), so this
complements the timed benchmark rather than replacing its target.  Needs
valgrind (``apt install valgrind``); OpenJudge runs from its own venv
(``benchmarks/peers/env.py``).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_similarity_openjudge import build_pairs  # noqa: E402
from peers.env import openjudge_python, single_core_env  # noqa: E402

PROBE = HERE / "peers" / "callgrind_probe.py"
FLOORED = ("fuzzy_match", "edit_distance")


def instructions(python: str, tool: str, algorithm: str, data: Path, runs: int) -> int:
    """Instructions valgrind counted over ``runs`` measured runs of one tool."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
         python, str(PROBE), "--tool", tool, "--algorithm", algorithm, "--data", str(data), "--runs", str(runs)],
        capture_output=True, text=True, env=single_core_env(),
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not found:
        raise SystemExit(f"{tool} {algorithm} under valgrind failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_pair(python: str, tool: str, algorithm: str, data: Path, n: int) -> float:
    with ThreadPoolExecutor(2) as pool:  # the two counts are independent: one per core
        three, one = pool.map(lambda runs: instructions(python, tool, algorithm, data, runs), (3, 1))
    return (three - one) / 2 / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--algorithms", default=",".join(FLOORED))
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is not installed (apt install valgrind): nothing counted", file=sys.stderr)
        return 2
    peer = openjudge_python()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "pairs.jsonl"
        data.write_text("".join(json.dumps(p) + "\n" for p in build_pairs(args.n)), encoding="utf-8")
        for algorithm in args.algorithms.split(","):
            ours = per_pair(sys.executable, "rmg", algorithm, data, args.n)
            theirs = per_pair(peer, "openjudge", algorithm, data, args.n)
            floor = per_pair(sys.executable, "rapidfuzz", algorithm, data, args.n) if algorithm in FLOORED else None
            rows.append((algorithm, ours, theirs, floor))
            print(f"counted {algorithm}", file=sys.stderr, flush=True)
    print(f"{args.n} pairs; instructions per pair (valgrind callgrind), each tool through its GradingRunner")
    print("| algorithm | rmg | OpenJudge | ratio | RapidFuzz alone (floor) | ratio the floor allows |")
    print("|---|---|---|---|---|---|")
    for algorithm, ours, theirs, floor in rows:
        floor_cells = f"{floor:,.0f} | {theirs / floor:.1f}x" if floor else "- | -"
        print(f"| `{algorithm}` | {ours:,.0f} | {theirs:,.0f} | {theirs / ours:.1f}x | {floor_cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
