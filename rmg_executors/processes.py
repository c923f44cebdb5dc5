"""The built-in executors: ``local`` (this process, today's pipeline) and ``processes`` (every core).

``processes`` runs units in a pool of worker processes on this machine
(stdlib `concurrent.futures`).  Workers are forked where that is safe (Linux,
while the driver has no other thread), so they start with rmg and the plugins
already imported; otherwise spawned.  Either way they are children of ``rmg``,
so ``time`` and the OS count their CPU with the driver's.  Each worker builds the graders
once and grades whole units; records come back to the driver, which writes
them.  A worker that dies takes the pool with it: the pool is started again
and the units that were in it are resubmitted, at most ``max_retries`` times
each; a unit still failing then is reported as lost, never dropped.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from typing import Any, AsyncIterable, AsyncIterator, Callable, Literal, Optional

from pydantic import Field

from rmg_core import ConfigError, Settings

from .base import UnitExecutor, UnitOutcome, UnitSettings
from .inflight import in_completion_order

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

#: ``processes`` is chosen automatically for inputs of `AUTO_UNITS_PER_CORE` times this many cases per core.
AUTO_UNIT_CASES = 5000
#: Units' worth of `AUTO_UNIT_CASES` per core the input must hold before ``processes`` is chosen automatically.
AUTO_UNITS_PER_CORE = 2
#: Cases per unit on this machine's cores (``[executor] unit_cases``): a unit costs the pipe a few milliseconds,
#: and the driver merges each as it arrives, so small units keep it merging all along, not in a heap at the end.
UNIT_CASES = 1250
#: Imported before the workers fork: numpy is a dependency every run imports sooner or later, on the driver for
#: the statistics at the end (`rmg_reporting`), on each worker as most CPU-bound graders first grade (~0.1 CPU-s).
_BEFORE_FORK = ("numpy",)
#: How often a worker checks that the driver that started it is still alive.
_PARENT_CHECK_SECONDS = 1.0
#: The results pipe's size (Linux's default ``/proc/sys/fs/pipe-max-size``): see `_widen_results_pipe`.
_RESULTS_PIPE_BYTES = 1 << 20
#: Thread pools of numeric libraries: one thread per worker process, or N workers oversubscribe the cores.
_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


class LocalExecutor(UnitExecutor):
    """Everything in this process: ``rmg eval``'s own pipeline (the default, when no executor is named)."""

    name = "local"

    @classmethod
    def choose(cls, config: Any, components: Any, workers: Optional[int]) -> None:
        return None  # `rmg eval` then runs its pipeline in this process, unchanged

    async def map_unordered(
        self, fn: Callable[[Any, Any], Any], shared: Any, units: AsyncIterable[Any], *, max_in_flight: int,
    ) -> AsyncIterator[UnitOutcome]:
        # Used when a caller asks for units explicitly (tests, embedding); `rmg eval`
        # runs the pipeline directly.  One unit at a time, in a thread: `fn` runs its own loop.
        async for unit in units:
            try:
                yield UnitOutcome(unit, await asyncio.to_thread(fn, shared, unit))
            except Exception as exc:
                yield UnitOutcome(unit, error=exc)


class ProcessSettings(Settings):
    workers: Optional[int] = Field(None, ge=1, description="Worker processes; default: one per available core.")
    max_retries: int = Field(3, ge=0, description="Times a unit is run again after its worker process died.")
    start_method: Literal["auto", "fork", "spawn", "forkserver"] = Field(
        "auto", description="How worker processes start; auto: fork where it is safe (Linux, no other thread yet), else spawn.")


def _init_worker() -> None:
    # Ctrl-C is the driver's to handle: it stops the pool.  A worker that took
    # the signal too would die mid-unit and look like a crash.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the driver's asyncio signal set-up: a SIGTERM sent to the worker
    # (the pool stopping it) must not be written to the driver's wake-up socket and stop the run.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for name in _THREAD_ENV:
        os.environ.setdefault(name, "1")
    # A driver killed outright (SIGKILL, the OOM killer) never stops its pool, and a worker waiting on the
    # call queue would wait forever (it holds the queue's write end too): it leaves when its parent does.
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="rmg-parent-watch", daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(1)


def _widen_results_pipe(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    # A unit's results are megabytes, sent through a 64 KiB pipe: the worker blocks until the driver has read
    # each 64 KiB, and the driver's reading thread waits for the GIL (held by the merge of the previous unit)
    # before every read.  A 1 MiB pipe (Linux's limit for unprivileged processes) lets the worker go on to its
    # next unit sooner.  Best effort: elsewhere, or if the pool's internals change, the pipe stays as it is.
    reader = getattr(getattr(pool, "_result_queue", None), "_reader", None)
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if reader is None or set_size is None:
        return
    with contextlib.suppress(OSError, ValueError):
        fcntl.fcntl(reader.fileno(), set_size, _RESULTS_PIPE_BYTES)


def _import_before_fork() -> None:
    """Import `_BEFORE_FORK` once here, not once per worker (and again here for the statistics at the end)."""
    # With the thread pools sized as a worker's (`_init_worker`): the workers inherit numpy as it loaded here.
    unset = [name for name in _THREAD_ENV if name not in os.environ]
    os.environ.update(dict.fromkeys(unset, "1"))
    try:
        for module in _BEFORE_FORK:
            with contextlib.suppress(ImportError):
                importlib.import_module(module)
    finally:
        for name in unset:
            os.environ.pop(name, None)


class ProcessExecutor(UnitExecutor):
    """Units graded in worker processes on this machine, one per core (``--workers N``)."""

    name = "processes"
    Settings = ProcessSettings
    settings: ProcessSettings
    units = UnitSettings(unit_cases=UNIT_CASES)

    @classmethod
    def choose(cls, config: Any, components: Any, workers: Optional[int]) -> Optional["ProcessExecutor"]:
        """``--workers N``, ``[executor] plugin = "processes"``, or every core when it pays (see `pays`)."""
        table, where = dict(config.executor), f"{config.origin} [executor]"
        named = table.get("plugin")
        if workers is not None:
            if named not in (None, "local", "processes"):
                raise ConfigError(f"--workers is for the built-in 'processes' executor, but {where} names {named!r}; "
                                  f"size that executor with its own settings (-s executor.KEY=VALUE)")
            if named != "processes":  # the unit keys of a plugin-less table still apply
                table = {k: v for k, v in table.items() if k in ("unit_cases", "max_in_flight", "sinks")}
            return cls.from_table({**table, "workers": workers}, where) if workers > 1 else None
        if named == cls.name:
            return cls.from_table(table, where)
        if named is None and cls.pays(components):
            return cls.from_table({**table, "workers": available_cores()}, where)
        return None

    @staticmethod
    def pays(components: Any) -> bool:
        """More than one core, every grader CPU-bound (it grades in batches) and a source that splits into at
        least `AUTO_UNITS_PER_CORE` units' worth of `AUTO_UNIT_CASES` per core (some 20,000 traces on 2 cores)."""
        cores = available_cores()
        if cores < 2 or not all(grader.supports_batch() for grader, _ in components.graders.values()):
            return False
        parts = components.source.partitions(AUTO_UNIT_CASES)
        if parts is None:
            return False
        # Cases, not parts: a source cuts its end into shorter parts (a part that does not say counts as a full one).
        wanted, found = AUTO_UNITS_PER_CORE * cores * AUTO_UNIT_CASES, 0
        for part in parts:
            found += int(part.get("cases", AUTO_UNIT_CASES))
            if found >= wanted:
                return True
        return False

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.workers = self.settings.workers or available_cores()
        self._pool: Optional[concurrent.futures.ProcessPoolExecutor] = None

    def slots(self) -> int:
        return self.workers

    async def open(self) -> None:
        self._start()

    def _start(self) -> concurrent.futures.ProcessPoolExecutor:
        method = self.settings.start_method
        if method == "auto":
            # fork: the workers start with rmg and its plugins already imported (about 1 CPU-s saved per
            # worker); only safe while this process has no other thread (a forked lock could be held).
            single = threading.active_count() == 1
            method = "fork" if single and sys.platform == "linux" else "spawn"
        if method == "fork":
            _import_before_fork()
        context = multiprocessing.get_context(method)
        self._pool = concurrent.futures.ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker)
        _widen_results_pipe(self._pool)
        return self._pool

    def map_unordered(
        self, fn: Callable[[Any, Any], Any], shared: Any, units: AsyncIterable[Any], *, max_in_flight: int,
    ) -> AsyncIterator[UnitOutcome]:
        def submit(unit: Any, attempt: int) -> tuple[Any, Any]:
            pool = self._pool or self._start()
            try:
                future = pool.submit(fn, shared, unit)
            except BrokenProcessPool:
                # A dead worker broke the whole pool (its units fail with BrokenProcessPool, retried or
                # reported lost): the first unit submitted after it starts a new pool, for retries and
                # for the units that follow alike.
                pool.shutdown(wait=False, cancel_futures=True)
                pool = self._start()
                future = pool.submit(fn, shared, unit)
            return asyncio.wrap_future(future), pool

        def retry(unit: Any, error: BaseException, attempt: int, its_pool: Any) -> bool:
            return isinstance(error, BrokenProcessPool) and attempt < self.settings.max_retries

        return in_completion_order(units, max_in_flight, submit, retry=retry)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # Workers still grading (Ctrl-C, a fatal error) are stopped, not waited for.
        for process in list(getattr(pool, "_processes", {}).values()):
            if process.is_alive():
                process.terminate()
        await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)

