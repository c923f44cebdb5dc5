"""`GradingRunner`: runs graders over cases, then aggregators over each case's results.

The runner the seed's users know: ``GradingRunner(grader_configs={name: grader
| (grader, mapper)}, max_concurrency=N, aggregators=[...])`` and ``await
runner.arun(list_of_dicts)`` returning grader name -> results in input order,
plus ``aggregated_<aggregator name>`` for each aggregator.

Two paths, chosen per grader:

* **batch** — a grader that implements ``evaluate_batch`` (CPU-bound,
  vectorized) is called with up to ``batch_size`` cases at a time in a worker
  thread, so the event loop keeps serving I/O.  If a batch raises, its cases
  are retried one by one, so one bad case cannot fail its neighbours.
* **per case** — ``aevaluate`` is awaited for each case, with at most
  ``max_concurrency`` calls in flight across all graders (I/O-bound graders,
  such as an LLM judge).

Every result is checked: an exception, a timeout, a NaN or a value of the
wrong type becomes a `GraderError`, never a score.  Every result is named
(its grader's or aggregator's name).  OpenJudge-style calls work as is (one
aggregator or a function as ``aggregators``, ``show_progress``,
``arun_multiple_datasets``); a mapper key that is no field of its grader is an error.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass
from typing import (
    Any,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
    Optional,
    Sequence,
    TypeVar,
    Union,
)

from .callable_aggregator import named_aggregators
from .components import Aggregator, Grader
from .errors import ConfigError
from .mapper import HintStyle, check_mapper_keys, missing_field_result
from .paths import MISSING, lookup_field
from .results import GraderError, GraderResult, check_result, error_from_exception

Mapper = Union[Mapping[str, str], Callable[[Mapping[str, Any]], Mapping[str, Any]]]
GraderConfig = Union[Grader, tuple[Grader, Optional[Mapper]]]
AggregatorLike = Union[Aggregator, Callable[[Mapping[str, GraderResult]], GraderResult]]
AGGREGATED_PREFIX = "aggregated_"


T = TypeVar("T")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, also inside a running event loop (a notebook).

    ``asyncio.run`` refuses to nest, so with a loop already running in this
    thread the coroutine runs in a fresh loop on another thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class RunResults(dict):
    """grader name -> list of results, and ``aggregated_<name>`` -> aggregate results.

    It is a plain ``dict`` (the seed's code iterates ``.items()``), with
    helpers to tell the two apart.
    """

    def grader_names(self) -> list[str]:
        return [k for k in self if not k.startswith(AGGREGATED_PREFIX)]

    def aggregator_names(self) -> list[str]:
        return [k[len(AGGREGATED_PREFIX):] for k in self if k.startswith(AGGREGATED_PREFIX)]

    def __repr__(self) -> str:
        # Short on purpose: CPython 3.11's asyncio.run() reprs the main task's
        # result (python/cpython#112559); a full repr of 100k pydantic results
        # cost more than grading them.
        n = len(next(iter(self.values()), ()))
        return f"RunResults(graders={self.grader_names()!r}, aggregators={self.aggregator_names()!r}, cases={n})"


@dataclass
class _Plan:
    name: str
    grader: Grader
    mapper: Optional[Mapper]
    timeout: Optional[float]


def _timeout_error(grader: str, seconds: float) -> GraderError:
    return GraderError(
        error=f"grader {grader!r} timed out after {seconds:g}s",
        metadata={"timeout": seconds},
    )


class GradingRunner:
    """Runs graders and aggregators over a list (or a stream) of cases.

    :param grader_configs: score name -> grader, or -> ``(grader, mapper)``
        where the mapper is ``{grader_param: data_key}`` or a callable that
        takes a case's dict and returns the grader's keyword arguments.
    :param max_concurrency: most per-case grader calls in flight at once.
    :param aggregators: an aggregator, a list of them (named by their
        ``name``) or a dict ``{name: aggregator}``.  A plain function
        ``f(results) -> GraderResult`` is an aggregator named ``f.__name__``.
    :param timeout: seconds one grader call (one case, or one batch) may take.
        ``{score name: seconds}`` sets it per grader.
    :param show_progress: draw a progress bar on stderr while grading (off by
        default, unlike OpenJudge: rmg's CLI reports its own progress).
    :param hints: how the run was configured (``"python"``, ``"cli"`` or
        ``"config"``), so a missing-field message shows the fix that way.

    A mapper's value may be a path (``"metadata.gold"``,
    ``"output.choices.0.message.content"``; see `rmg_core.paths`).  A case
    that lacks a field the grader requires gets a `GraderError` with
    ``not_applicable=True``: counted apart from errors, never a score.
    """

    def __init__(
        self,
        grader_configs: Mapping[str, GraderConfig],
        max_concurrency: int = 32,
        aggregators: Union[AggregatorLike, Sequence[AggregatorLike], Mapping[str, AggregatorLike], None] = None,
        timeout: Union[float, Mapping[str, float], None] = None,
        show_progress: bool = False,
        hints: HintStyle = "python",
    ) -> None:
        if max_concurrency < 1:
            raise ConfigError(f"max_concurrency must be at least 1, got {max_concurrency}")
        if not grader_configs:
            raise ConfigError("GradingRunner needs at least one grader in grader_configs")
        self.max_concurrency = max_concurrency
        #: Grader results produced so far (one per case and grader): a cheap per-case tick for progress displays.
        self.completed = 0
        self.show_progress = bool(show_progress)
        self.hints: HintStyle = hints
        self._plans: list[_Plan] = []
        for name, config in grader_configs.items():
            grader, mapper = config if isinstance(config, tuple) else (config, None)
            if not isinstance(grader, Grader):
                raise ConfigError(
                    f"grader_configs[{name!r}] is {type(grader).__name__}, not a Grader; "
                    "give a grader instance or a (grader, mapper) tuple"
                )
            if mapper is not None and not (callable(mapper) or isinstance(mapper, Mapping)):
                raise ConfigError(f"grader_configs[{name!r}]: the mapper must be a dict or a callable")
            if isinstance(mapper, Mapping):
                check_mapper_keys(name, grader, mapper)
            seconds = timeout.get(name) if isinstance(timeout, Mapping) else timeout
            self._plans.append(_Plan(name, grader, mapper, seconds))
        self.aggregators = named_aggregators(aggregators)
        names = [p.name for p in self._plans]
        for agg_name, agg in self.aggregators.items():
            if agg_name in names:
                raise ConfigError(f"{agg_name!r} names both a grader and an aggregator; rename one")
            agg.bind(names)

    @property
    def grader_names(self) -> list[str]:
        return [p.name for p in self._plans]

    @property
    def graders(self) -> dict[str, Grader]:
        """Score name -> grader, in run order."""
        return {p.name: p.grader for p in self._plans}

    # -- public API --------------------------------------------------------
    async def arun(self, data: Sequence[Mapping[str, Any]]) -> RunResults:
        """Grade ``data`` (one dict per case) and return results in input order."""
        return (await self.arun_multiple_datasets([data]))[0]

    async def arun_multiple_datasets(self, datasets: Sequence[Sequence[Mapping[str, Any]]]) -> list[RunResults]:
        """Grade several datasets concurrently, sharing one ``max_concurrency``; one `RunResults` each, in order."""
        datasets = [d if isinstance(d, Sequence) else list(d) for d in datasets]
        # Asyncio primitives are made per call, so the runner can run again in another event loop.
        semaphore = asyncio.Semaphore(self.max_concurrency)
        work = asyncio.gather(*(self._arun(d, semaphore) for d in datasets))
        if self.show_progress:
            from .progress import with_progress

            return list(await with_progress(self, sum(map(len, datasets)) * len(self._plans), work))
        return list(await work)

    async def _arun(self, data: Sequence[Mapping[str, Any]], semaphore: asyncio.Semaphore) -> RunResults:
        columns = await asyncio.gather(*(self._grade(plan, data, semaphore) for plan in self._plans))
        results = RunResults(zip(self.grader_names, columns))
        for agg_name, agg in self.aggregators.items():
            results[AGGREGATED_PREFIX + agg_name] = self._aggregate(agg_name, agg, results, len(data))
        return results

    def run(self, data: Sequence[Mapping[str, Any]]) -> RunResults:
        """Synchronous `arun`; works inside a running event loop too (a notebook)."""
        return run_sync(self.arun(data))

    async def astream(
        self,
        items: Union[Iterable[Mapping[str, Any]], AsyncIterable[Mapping[str, Any]]],
        chunk_size: int = 1000,
    ) -> AsyncIterator[tuple[list[Mapping[str, Any]], RunResults]]:
        """Grade an unbounded stream in chunks of ``chunk_size``; memory stays bounded.

        Yields ``(chunk, results)`` for each chunk, in order.
        """
        if chunk_size < 1:
            raise ConfigError(f"chunk_size must be at least 1, got {chunk_size}")
        chunk: list[Mapping[str, Any]] = []
        if isinstance(items, AsyncIterable):
            async for item in items:
                chunk.append(item)
                if len(chunk) >= chunk_size:
                    yield chunk, await self.arun(chunk)
                    chunk = []
        else:
            for item in items:
                chunk.append(item)
                if len(chunk) >= chunk_size:
                    yield chunk, await self.arun(chunk)
                    chunk = []
        if chunk:
            yield chunk, await self.arun(chunk)

    # -- internals ---------------------------------------------------------
    def _inputs(self, plan: _Plan, data: Sequence[Mapping[str, Any]]) -> tuple[list[Any], list[int], list[dict]]:
        """Each case's keyword arguments for the grader; missing fields become errors."""
        grader = plan.grader
        required, optional = tuple(grader.required_fields), tuple(grader.optional_fields)
        mapper = plan.mapper
        out: list[Any] = [None] * len(data)
        todo_idx: list[int] = []
        todo: list[dict] = []
        if callable(mapper):
            for i, item in enumerate(data):
                try:
                    fields = dict(mapper(item))
                except Exception as exc:
                    out[i] = GraderError(error=f"mapper of grader {plan.name!r} failed: {type(exc).__name__}: {exc}")
                    continue
                bad = next((f for f in required if fields.get(f) is None), None)
                if bad is not None:
                    out[i] = missing_field_result(plan.name, bad, "mapper", bad in fields, self.hints)
                    continue
                todo_idx.append(i)
                todo.append(fields)
            return out, todo_idx, todo
        rename = dict(mapper or {})
        req = [(f, rename.get(f, f)) for f in required]
        opt = [(f, rename.get(f, f)) for f in optional]
        for i, item in enumerate(data):
            fields = {}
            for field, key in req:
                value = item[key] if key in item else lookup_field(item, key)
                if value is None or value is MISSING:
                    out[i] = missing_field_result(plan.name, field, key, value is None, self.hints)
                    break
                fields[field] = value
            else:
                for field, key in opt:
                    value = item[key] if key in item else lookup_field(item, key)
                    if value is not None and value is not MISSING:
                        fields[field] = value
                todo_idx.append(i)
                todo.append(fields)
        return out, todo_idx, todo

    async def _grade(self, plan: _Plan, data: Sequence[Mapping[str, Any]], semaphore: asyncio.Semaphore) -> list[GraderResult]:
        out, idx, todo = self._inputs(plan, data)
        self.completed += len(data) - len(todo)
        if todo:
            if plan.grader.supports_batch():
                graded = await self._grade_batches(plan, todo)
            else:
                graded = await self._grade_each(plan, todo, semaphore)
            for i, result in zip(idx, graded):
                out[i] = result
        # Every result names its grader (OpenJudge's results do): the grader's
        # own name, else the score name; errors made here had none.
        name = plan.grader.name or plan.name
        for result in out:
            if not result.name:
                result.name = name
        return out

    def _batch_call(self, plan: _Plan, items: list[dict]) -> list[GraderResult]:
        """Runs in a worker thread: one ``evaluate_batch`` call, results checked."""
        name = plan.name
        try:
            raw = plan.grader.evaluate_batch(items)
        except Exception:
            if len(items) == 1:
                raise
            # Isolate the case that broke the batch: grade each on its own.
            return [self._single_batch_call(plan, item) for item in items]
        if len(raw) != len(items):
            err = GraderError(error=f"grader {name!r} returned {len(raw)} results for {len(items)} cases")
            return [err] * len(items)
        return [check_result(r, name) for r in raw]

    def _single_batch_call(self, plan: _Plan, item: dict) -> GraderResult:
        try:
            raw = plan.grader.evaluate_batch([item])
            if len(raw) != 1:
                return GraderError(error=f"grader {plan.name!r} returned {len(raw)} results for 1 case")
            return check_result(raw[0], plan.name)
        except Exception as exc:
            return error_from_exception(exc, plan.name)

    async def _grade_batches(self, plan: _Plan, todo: list[dict]) -> list[GraderResult]:
        size = max(1, int(plan.grader.batch_size))
        graded: list[GraderResult] = []
        for start in range(0, len(todo), size):
            items = todo[start:start + size]
            call = asyncio.to_thread(self._batch_call, plan, items)
            try:
                if plan.timeout is None:
                    graded.extend(await call)
                else:
                    # The worker thread cannot be stopped; its late answer is dropped.
                    graded.extend(await asyncio.wait_for(call, plan.timeout))
            except asyncio.TimeoutError:
                graded.extend([_timeout_error(plan.name, plan.timeout)] * len(items))
            except Exception as exc:
                graded.extend([error_from_exception(exc, plan.name)] * len(items))
            self.completed += len(items)
        return graded

    async def _grade_each(self, plan: _Plan, todo: list[dict], semaphore: asyncio.Semaphore) -> list[GraderResult]:
        graded: list[Any] = [None] * len(todo)
        grader, name, timeout = plan.grader, plan.name, plan.timeout
        next_index = iter(range(len(todo)))

        async def worker() -> None:
            for i in next_index:
                async with semaphore:
                    try:
                        if timeout is None:
                            raw = await grader.aevaluate(**todo[i])
                        else:
                            raw = await asyncio.wait_for(grader.aevaluate(**todo[i]), timeout)
                        graded[i] = check_result(raw, name)
                    except asyncio.TimeoutError:
                        graded[i] = _timeout_error(name, timeout or 0.0)
                    except Exception as exc:
                        graded[i] = error_from_exception(exc, name)
                    self.completed += 1

        await asyncio.gather(*(worker() for _ in range(min(self.max_concurrency, len(todo)))))
        return graded

    def _aggregate(self, agg_name: str, agg: Aggregator, results: RunResults, n: int) -> list[GraderResult]:
        names = self.grader_names
        columns = [results[name] for name in names]
        out: list[GraderResult] = []
        for i in range(n):
            case = {name: column[i] for name, column in zip(names, columns)}
            try:
                result = check_result(agg.aggregate(case), agg_name)
            except Exception as exc:
                result = error_from_exception(exc, agg_name)
            if not result.name:
                result.name = agg_name
            out.append(result)
        return out


__all__ = ["GradingRunner", "RunResults", "Mapper", "GraderConfig", "AGGREGATED_PREFIX", "run_sync", "HintStyle"]
