"""Start-up: `rmg --help` and `rmg plugins` against `import click, pluggy` plus entry-point discovery.

    python benchmarks/bench_startup.py              # best of 15 runs each
    python benchmarks/bench_startup.py --runs 5 --top 0

The baseline is the least any plugin-based click CLI can do: a fresh
interpreter that imports click and pluggy and lists the ``rmg`` entry points.
Each command runs ``--runs`` times in a fresh interpreter, alternating; the
best wall-clock time and the best CPU time (user + system) count.  Target:
each rmg command within 1.5x of the baseline.  It also checks that no heavy
library (numpy, scikit-learn, langfuse, httpx, pydantic, ray) is imported, and prints what
``python -X importtime`` says the most expensive top-level imports of
``rmg --help`` are.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

TARGET = 1.5
HEAVY = ("numpy", "sklearn", "langfuse", "httpx", "pydantic", "ray")
RMG = str(Path(sys.executable).with_name("rmg"))
BASELINE = (
    "import click, pluggy\n"
    "from importlib.metadata import entry_points\n"
    "names = [ep.name for ep in entry_points(group='rmg')]\n"
)
COMMANDS = {
    "baseline: import click, pluggy + entry points": [sys.executable, "-c", BASELINE],
    "rmg --help": [RMG, "--help"],
    "rmg plugins": [RMG, "plugins"],
}


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def run_once(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one run in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def heavy_imports(env: dict[str, str]) -> dict[str, list[str]]:
    """The heavy libraries each rmg command imports (should be none)."""
    found = {}
    for label, args in COMMANDS.items():
        if not label.startswith("rmg"):
            continue
        probe = (
            "import sys\nfrom rmg_core.cli import main\n"
            f"try:\n    main({args[1:]!r})\nexcept SystemExit:\n    pass\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
        )
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
        found[label] = [m for m in done.stderr.strip().splitlines()[-1].split(",") if m] if done.stderr.strip() else []
    return found


def import_costs(env: dict[str, str], top: int) -> list[tuple[str, float]]:
    """Self time (ms) of ``rmg --help``'s imports, summed by top-level package, most expensive first."""
    probe = "from rmg_core.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", probe], capture_output=True, text=True, env=env)
    costs: Counter[str] = Counter()
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            costs[match.group(2).split(".")[0]] += int(match.group(1))
    return [(name, us / 1000) for name, us in costs.most_common(top)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command; the best counts")
    parser.add_argument("--top", type=int, default=12, help="packages to list from -X importtime (0: none)")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    # A user's Python caches compiled modules; without the cache every run
    # would compile rmg's own modules from source (the warm-up writes it).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # The test suite's deliberately broken plugins, if installed, only add warnings.
    env.setdefault("RMG_DISABLE_PLUGINS", "broken_import,bad_hook,bad_signature")

    print(f"load average at start: {load_average()} (figures taken under load are noisy; ratios count)")
    for cmd in COMMANDS.values():  # warm the file cache
        run_once(cmd, env)
    walls: dict[str, list[float]] = {label: [] for label in COMMANDS}
    cpus: dict[str, list[float]] = {label: [] for label in COMMANDS}
    for _ in range(max(1, args.runs)):
        for label, cmd in COMMANDS.items():
            wall, cpu = run_once(cmd, env)
            walls[label].append(wall)
            cpus[label].append(cpu)
    base = next(iter(COMMANDS))
    base_wall, base_cpu = min(walls[base]), min(cpus[base])
    ok = True
    print(f"start-up, best of {args.runs} fresh processes each:")
    for label in COMMANDS:
        wall, cpu = min(walls[label]), min(cpus[label])
        line = f"  {label:<46} {wall * 1000:7.0f} ms wall {cpu * 1000:7.0f} ms CPU"
        if label != base:
            ratio_wall, ratio_cpu = wall / base_wall, cpu / base_cpu
            verdict = "PASS" if ratio_wall <= TARGET else "FAIL"
            line += f"   {ratio_wall:5.2f}x wall {ratio_cpu:5.2f}x CPU  (target <= {TARGET}x wall): {verdict}"
            ok &= ratio_wall <= TARGET
        print(line)
    for label, found in heavy_imports(env).items():
        print(f"  heavy imports of {label}: {', '.join(found) if found else 'none'}")
        ok &= not found
    if args.top:
        print(f"  rmg --help, self time of imports by package (python -X importtime, one run):")
        for name, ms in import_costs(env, args.top):
            print(f"    {name:<24} {ms:7.1f} ms")
    print(f"load average at end: {load_average()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
