"""The one bounded in-flight loop both engines use (`rmg_executors.in_completion_order`), and the process pool's retry."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from rmg_executors import in_completion_order
from rmg_executors.processes import ProcessExecutor


async def _numbers(n: int, taken: list[int]) -> AsyncIterator[int]:
    for i in range(n):
        taken.append(i)
        yield i


def test_never_more_than_the_bound_in_flight_results_as_they_finish_and_retries_resubmit() -> None:
    async def run() -> tuple[list[Any], int, list[int], list[Any]]:
        loop = asyncio.get_running_loop()
        in_flight, most, taken, cancelled = [0], [0], [], []
        attempts: dict[int, int] = {}

        later_done = asyncio.Event()

        async def work(unit: int, attempt: int) -> int:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            try:
                if unit < 2:
                    await later_done.wait()  # units 0 and 1 finish after unit 2, however loaded the machine
                await asyncio.sleep(0.001 * (10 - unit))
                if unit == 3 and attempt == 0:
                    raise ConnectionError("worker died")
                if unit == 5:
                    raise ValueError("wrapped")
                return unit * 10
            finally:
                in_flight[0] -= 1
                if unit >= 2:
                    later_done.set()

        def submit(unit: int, attempt: int) -> tuple[Any, Any]:
            attempts[unit] = attempt
            return loop.create_task(work(unit, attempt)), f"handle {unit}"

        outcomes = [o async for o in in_completion_order(
            _numbers(8, taken), 3, submit, retry=lambda unit, error, attempt, handle: isinstance(error, ConnectionError),
            unwrap=lambda error: RuntimeError(f"unwrapped {error}"), cancel=cancelled.append)]
        assert attempts[3] == 1
        return outcomes, most[0], taken, cancelled

    outcomes, most, taken, cancelled = asyncio.run(run())
    assert most == 3 and taken == list(range(8)) and cancelled == []
    assert sorted(o.result for o in outcomes if o.error is None) == [0, 10, 20, 30, 40, 60, 70]
    assert [str(o.error) for o in outcomes if o.error is not None] == ["unwrapped wrapped"]
    assert [o.unit for o in outcomes][:2] != [0, 1]  # completion order, not submission order


def test_stopping_early_cancels_what_is_still_pending() -> None:
    async def run() -> list[Any]:
        cancelled: list[Any] = []

        def submit(unit: int, attempt: int) -> tuple[Any, Any]:
            return asyncio.sleep(0 if unit == 0 else 60, result=unit), unit

        stream = in_completion_order(_numbers(10, []), 4, submit, cancel=cancelled.append)
        first = await stream.__anext__()
        await stream.aclose()
        assert first.result == 0
        return cancelled

    # 0 finished, so 4 was submitted in its place before 0 was handed back (a worker must not wait for the
    # caller to merge 0); nothing was taken after that, and everything still pending was cancelled.
    assert sorted(asyncio.run(run())) == [1, 2, 3, 4]


def test_the_next_unit_is_submitted_before_a_finished_one_is_handed_over_and_a_failing_source_comes_last() -> None:
    async def failing(n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i
        raise OSError("source broke")

    async def run() -> tuple[list[Any], list[int]]:
        submitted: list[int] = []
        got: list[Any] = []

        def submit(unit: int, attempt: int) -> tuple[Any, Any]:
            submitted.append(unit)
            return asyncio.sleep(0, result=unit), unit

        with pytest.raises(OSError, match="source broke"):
            async for outcome in in_completion_order(failing(3), 1, submit):
                got.append((outcome.result, list(submitted)))  # what had been submitted when it was handed over
        return got, submitted

    got, submitted = asyncio.run(run())
    # One in flight: unit n+1 was already submitted when unit n came back (the caller merges n meanwhile); the
    # source's error after unit 2 reached the caller only after unit 2 itself.
    assert got == [(0, [0, 1]), (1, [0, 1, 2]), (2, [0, 1, 2])] and submitted == [0, 1, 2]


@pytest.mark.skipif(sys.platform != "linux", reason="a pipe's size is set on Linux only (F_SETPIPE_SZ)")
def test_the_pools_results_pipe_holds_a_units_results() -> None:
    import fcntl

    from rmg_executors.processes import _RESULTS_PIPE_BYTES

    async def run() -> int:
        executor = ProcessExecutor(workers=1, start_method="fork")
        await executor.open()
        try:
            assert executor._pool is not None
            return fcntl.fcntl(executor._pool._result_queue._reader.fileno(), fcntl.F_GETPIPE_SZ)  # type: ignore[attr-defined]
        finally:
            await executor.close()

    # Not 64 KiB: a worker would wait for the driver to read each 64 KiB of a unit's results while it merges.
    limit = int(Path("/proc/sys/fs/pipe-max-size").read_text()) if os.geteuid() != 0 else _RESULTS_PIPE_BYTES
    assert asyncio.run(run()) >= min(_RESULTS_PIPE_BYTES, limit) > 1 << 16


def _die_once(marker_dir: str, unit: int) -> int:
    """A unit whose worker process dies the first time it runs unit 2 (module level: it runs in a worker)."""
    marker = Path(marker_dir) / str(unit)
    if unit == 2 and not marker.exists():
        marker.write_text("died", encoding="utf-8")
        os._exit(9)
    return unit * 10


@pytest.mark.integration
@pytest.mark.parametrize("retries", [3, 0])
def test_a_dead_worker_breaks_the_pool_which_restarts_and_reruns_its_units(tmp_path, retries) -> None:  # type: ignore[no-untyped-def]
    async def run() -> list[Any]:
        executor = ProcessExecutor(workers=2, max_retries=retries, start_method="fork")
        await executor.open()
        try:
            return [o async for o in executor.map_unordered(_die_once, str(tmp_path), _numbers(6, []), max_in_flight=3)]
        finally:
            await executor.close()

    outcomes = asyncio.run(run())
    assert sorted(o.unit for o in outcomes) == list(range(6))  # every unit handed back once, none dropped
    done = sorted(o.result for o in outcomes if o.error is None)
    if retries:
        assert done == [0, 10, 20, 30, 40, 50]
    else:
        lost = [o for o in outcomes if o.error is not None]
        assert any(o.unit == 2 for o in lost) and all(type(o.error).__name__ == "BrokenProcessPool" for o in lost)
        assert len(lost) <= 3  # only the units in flight when the worker died: later ones run in a new pool
