"""The peer tool's own virtualenv: OpenJudge, installed from PyPI, never vendored.

OpenJudge pins its own dependencies; installing it into rmg's environment
could move ours.  So it lives in ``benchmarks/.venv-openjudge`` (git-ignored),
created on first use and reused afterwards.

Usage from another benchmark::

    from peers.env import openjudge_python
    python = openjudge_python()          # creates the venv once (needs PyPI)
    subprocess.run([python, "benchmarks/peers/openjudge_bench.py", ...])

or from a shell: ``python benchmarks/peers/env.py`` prints the interpreter path.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

#: The peer and version the benchmarks compare against (the issues name it).
OPENJUDGE_REQUIREMENT = "py-openjudge==0.2.4"
OPENJUDGE_DISTRIBUTION = "py-openjudge"
OPENJUDGE_VERSION = "0.2.4"

BENCHMARKS_DIR = Path(__file__).resolve().parent.parent
VENV_DIR = BENCHMARKS_DIR / ".venv-openjudge"


def _venv_python(venv_dir: Path) -> Path:
    if os.name == "nt":
        return venv_dir / "Scripts" / "python.exe"
    return venv_dir / "bin" / "python"


def _installed_version(python: Path) -> str | None:
    """The version of OpenJudge installed in the venv, or None if it is absent or broken."""
    probe = (
        "import importlib.metadata as m, sys\n"
        "try:\n"
        f"    print(m.version({OPENJUDGE_DISTRIBUTION!r}))\n"
        "except m.PackageNotFoundError:\n"
        "    sys.exit(3)\n"
        "import openjudge\n"
    )
    try:
        done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def openjudge_python(venv_dir: Path = VENV_DIR, quiet: bool = True) -> str:
    """Return the python of a virtualenv holding OpenJudge 0.2.4, creating or fixing it if needed.

    A venv that already has the right version is reused as is (no network).
    Raises ``RuntimeError`` with pip's output if the install fails.
    """
    python = _venv_python(venv_dir)
    if python.exists() and _installed_version(python) == OPENJUDGE_VERSION:
        return str(python)
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", OPENJUDGE_REQUIREMENT]
    if quiet:
        command.insert(4, "--quiet")
    done = subprocess.run(command, capture_output=quiet, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout or "").strip()[-4000:] if quiet else "(see output above)"
        raise RuntimeError(
            f"could not install {OPENJUDGE_REQUIREMENT} into {venv_dir}: pip exited {done.returncode}\n{detail}\n"
            f"delete {venv_dir} and retry, or check that PyPI is reachable"
        )
    found = _installed_version(python)
    if found != OPENJUDGE_VERSION:
        raise RuntimeError(
            f"{venv_dir} has {OPENJUDGE_DISTRIBUTION} {found or '(not importable)'} after install, "
            f"expected {OPENJUDGE_VERSION}; delete the folder and retry"
        )
    return str(python)


def single_core_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for a benchmark subprocess with BLAS/OpenMP held to one thread.

    Both sides of every comparison run with it, so neither gets extra cores.
    """
    env = dict(os.environ if base is None else base)
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "TOKENIZERS_PARALLELISM"):
        env[key] = "false" if key == "TOKENIZERS_PARALLELISM" else "1"
    return env


def pin_to_one_cpu() -> int | None:
    """Pin this process to one CPU (the first it may use); return it, or None where unsupported."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[0]})
    return cpus[0]


OPENJUDGE_BENCH = Path(__file__).resolve().parent / "openjudge_bench.py"


def run_openjudge_bench(*args: str, timeout: float = 3600) -> dict:
    """Run ``openjudge_bench.py`` with ``args`` in the OpenJudge venv, one core; return its JSON.

    Example: ``run_openjudge_bench("--mode", "cosine", "--data", "pairs.jsonl")``
    returns ``{"pairs_per_s": ..., "seconds": ..., "n": ..., ...}``.
    """
    import json

    command = [openjudge_python(), str(OPENJUDGE_BENCH), *args]
    done = subprocess.run(command, capture_output=True, text=True, env=single_core_env(), timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr.strip()[-4000:]}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError(f"{' '.join(command)} printed no result; stderr:\n{done.stderr.strip()[-4000:]}")
    return json.loads(lines[-1])


if __name__ == "__main__":
    print(openjudge_python(quiet="--verbose" not in sys.argv))
