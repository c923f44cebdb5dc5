"""Work units: what an executor runs on a worker, and what comes back.

A run that leaves the calling process is cut into units.  A unit is either a
*partition* of the source (a byte range of a file, a time window: a small
dict the worker turns into a narrowed source) or a *chunk* of cases read where
``rmg`` runs and shipped as one pickled blob of the fields its graders read.
`grade_unit` is a pure function of the run's `RunSpec` and one `WorkUnit`: it
builds the graders once per worker process (cached by the spec), grades the
unit in ``chunk_size`` chunks and returns a `UnitResult` — each chunk's
results as plain columns (`transport`), from which the driver builds the
records, plus the sinks' reports when sinks run on the workers.  Engines only
move ``grade_unit``, the spec and units around; they never look inside.

The spec carries the config *as written*, before ``${ENV}`` expansion, so
secrets are expanded from each worker's own environment and never travel in
task arguments.  A worker whose rmg or plugin versions differ from the
driver's refuses the unit and lists the differences (a different version
would write different fingerprints, silently).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import json
import logging
import os
import pickle
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from rmg_core import (
    CaseError, EvalCase, GradingRunner, RmgError, WriteFailure, WriteReport, __version__, build_aggregator, build_grader,
    Source, build_sink, build_source, fewer_collections, load_plugins, parse_config,
)
from rmg_kit import concurrent_copies_of

from .transport import GradedChunk, case_rows, ids_of, reduce_fields, score_identities

#: Environment variables that choose plugins: the workers load what the driver loaded.
PLUGIN_ENV = ("RMG_LOAD_PLUGINS", "RMG_DISABLE_PLUGINS", "RMG_STRICT_PLUGINS")
#: Case errors a unit sends back in full; the rest are only counted.
KEEP_CASE_ERRORS = 50


class WorkerMismatch(RmgError):
    """A worker runs other rmg or plugin versions than the driver: the run must stop."""


@dataclass(frozen=True)
class RunSpec:
    """What every unit of a run shares; shipped once per worker (or per task), never holding secrets."""

    #: The config tables as written (``${ENV}`` unexpanded), without what the workers do not need.
    config: dict[str, Any]
    origin: str
    #: The driver's plugin-selection environment (`PLUGIN_ENV`), so workers load the same plugins.
    plugin_env: dict[str, str]
    #: ``{"rmg": version, "<plugin>": "<distribution> <version>", ...}`` as the driver loaded them.
    versions: dict[str, str]
    chunk_size: int = 1000
    #: True: the unit writes through the sinks itself and returns their reports, not records.
    sinks_on_workers: bool = False
    #: Send back the cases a worker read itself (a partition; without the trace as read): run observers
    #: (breakdowns, samples, the wide export, the lowest cases) see every case, as in process.
    return_cases: bool = True
    #: How "map a key to this field" hints in results are worded (the runner's `HintStyle`); the driver's.
    hints: str = "python"
    #: Whether sinks on the workers get not-applicable records (``[run] write_not_applicable``); the driver's.
    write_not_applicable: bool = True
    #: The driver's working directory: relative paths in the config (a traces file) mean the same on a
    #: worker that has it (a shared volume mounted at the same place).
    cwd: str = ""
    #: Units that may run at once (the executor's slots, at most ``max_in_flight``): components sharing a service's
    #: limit take their part of it (`rmg_kit.share_of`), so N workers do not multiply it by N.
    copies: int = 1

    @property
    def key(self) -> str:
        """Identifies the components this spec builds: a worker rebuilds them only when it changes."""
        payload = json.dumps([self.config, self.origin, self.plugin_env, self.versions], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class WorkUnit:
    """One piece of a run: a partition of the source, or a chunk of cases as one pickled blob (see `chunk_unit`)."""

    unit_id: str
    #: About how many cases the unit holds (exact for a chunk; counted lines for a byte range).
    cases: int
    partition: Optional[dict[str, Any]] = None
    blob: Optional[bytes] = None


@dataclass
class UnitResult:
    """What a worker sends back for one unit; the driver merges these (and writes records) once per unit id."""

    unit_id: str
    cases: int = 0
    bad_cases: int = 0
    bad_case_examples: list[CaseError] = field(default_factory=list)
    #: Each graded chunk's results, in order: the driver builds the unit's records from them (statistics,
    #: observers, and the sinks when they run there).
    chunks: list[GradedChunk] = field(default_factory=list)
    #: Result key -> the `ScoreColumn` the worker's components build records with.
    identities: dict[str, Any] = field(default_factory=dict)
    #: Per sink, the `WriteReport` of this unit's writes, when sinks run on the workers.
    reports: list[Any] = field(default_factory=list)
    #: What the narrowed source counted (its ``partition_stats()``, e.g. traces filtered out), for the driver's.
    source_stats: dict[str, int] = field(default_factory=dict)
    #: A failure that stopped the unit before it was whole (its source failed); the run then fails.
    fatal: Optional[str] = None
    host: str = ""
    pid: int = 0
    seconds: float = 0.0


def unit_id_of(index: int, spec: Any) -> str:
    """A deterministic unit id: the same unit of the same input has the same id on every run and retry.

    Derived from the partition spec (path and byte range, window bounds) or
    the chunk's trace ids — never from a random salt, so a retried unit keeps
    its id (and its part file).
    """
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return f"u{index:05d}-{digest}"


def chunk_unit(index: int, cases: Sequence[EvalCase], keys: Optional[Sequence[str]] = None, with_ids: bool = False) -> WorkUnit:
    """A unit of cases read on the driver, shipped as one pickled blob of what grading reads.

    The blob holds each case's `EvalCase.grader_fields` reduced to ``keys``
    (`transport.needed_keys`; all of them when ``None``) and, ``with_ids``
    (sinks on the workers build records), the cases' ids.  The driver keeps the
    cases themselves for its observers: they never travel.
    """
    fields = [case.grader_fields() for case in cases]
    items = fields if keys is None else [reduce_fields(item, keys) for item in fields]
    payload = (ids_of(cases) if with_ids else None, items)
    ids = [case.id for case in cases]
    return WorkUnit(unit_id_of(index, ids), len(cases), blob=pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))


def plugin_versions(host: Any) -> dict[str, str]:
    """The versions a worker must match: rmg's and every loaded plugin's."""
    out = {"rmg": __version__}
    for info in host.plugins:
        if info.distribution:  # a plugin object registered directly exists in its own process only
            out[info.name] = f"{info.distribution} {info.version}"
    return out


def version_differences(driver: dict[str, str], worker: dict[str, str]) -> list[str]:
    """What the worker lacks or has in another version, of what the driver loaded ([] when nothing).

    A plugin only the worker has is harmless: the run's config names none of its components.
    """
    out = []
    for name in sorted(driver):
        mine, theirs = driver[name], worker.get(name)
        if mine != theirs:
            out.append(f"{name}: driver {mine}, worker {theirs or '(not installed)'}")
    return out


# -- the worker side ---------------------------------------------------------------
@dataclass
class _Built:
    key: str
    runner: Any
    identities: dict[str, Any]
    source: Any  # built lazily: only partition units need it
    sink_configs: list[Any]
    config: Any
    host: Any


_cache: dict[str, _Built] = {}
_cache_lock = threading.Lock()
#: ``(spec key, plugin host)`` the driver loaded (`prime`): a worker forked from it need not load plugins again.
_primed: tuple[str, Any] = ("", None)
_loops = threading.local()


def _plugin_environ(spec: RunSpec) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k not in PLUGIN_ENV}
    environ.update(spec.plugin_env)
    return environ


def _build(spec: RunSpec) -> _Built:
    """The graders, aggregators and runner of ``spec``, built once per process and reused by every unit."""
    with _cache_lock:
        built = _cache.get(spec.key)
        if built is not None:
            return built
        host = _primed[1] if _primed[0] == spec.key else None
        if host is None:
            # The driver has already warned about broken plugins; N workers repeating it is noise.
            plugin_log = logging.getLogger("rmg.plugins")
            level = plugin_log.level
            plugin_log.setLevel(logging.ERROR)
            try:
                host = load_plugins(environ=_plugin_environ(spec))
            finally:
                plugin_log.setLevel(level)
        differences = version_differences(spec.versions, plugin_versions(host))
        if differences:
            raise WorkerMismatch(
                f"worker {socket.gethostname()} (pid {os.getpid()}) runs other versions than the driver: "
                + "; ".join(differences)
                + "; install the same rmg and plugins on every worker (an image, or [executor] runtime_env)"
            )
        # ${ENV} references are expanded here, from this worker's environment.
        config = parse_config(spec.config, spec.origin)
        graders = {name: (build_grader(host, table), table.fields) for name, table in config.graders.items()}
        timeouts = {n: t.timeout or config.run.timeout for n, t in config.graders.items() if t.timeout or config.run.timeout}
        aggregators = {name: build_aggregator(host, table) for name, table in config.aggregators.items()}
        runner = GradingRunner(grader_configs=graders, max_concurrency=config.run.max_concurrency,
                               aggregators=aggregators, timeout=timeouts or None, hints=spec.hints)  # type: ignore[arg-type]
        built = _Built(spec.key, runner, score_identities(runner), None, config.sinks, config, host)
        _cache.clear()  # one run's components per process: a new spec replaces the old
        _cache[spec.key] = built
        return built


def prime(spec: RunSpec, host: Any) -> None:
    """Let units of ``spec`` run here, or in a worker forked from here, use the driver's plugin host.

    Loading plugins again costs each worker ~0.25 CPU-s.  Only the host is
    shared: the graders are still built per process, since one may hold what
    must not cross a fork (an open SQLite cache, a client's connection pool).
    """
    global _primed
    _primed = (spec.key, host)


def _loop() -> asyncio.AbstractEventLoop:
    # One event loop per worker thread, kept across units: graders holding
    # connection pools (an LLM judge) stay bound to the loop they were made on.
    loop = getattr(_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = _loops.loop = asyncio.new_event_loop()
    return loop


def grade_unit(spec: RunSpec, unit: WorkUnit) -> UnitResult:
    """Grade one unit where it runs.  A pure function of its arguments (plus the worker's environment).

    Grader failures are `GraderError` records, never exceptions; an exception
    out of here is infrastructure (a version mismatch, an unreadable part),
    and the driver reports the unit as lost.
    """
    started = time.perf_counter()
    built = _build(spec)
    # Fewer collections, as in process; the clients the unit's source and sinks make see how many units run at once.
    with fewer_collections(), concurrent_copies_of(spec.copies):
        result = _loop().run_until_complete(_grade(built, spec, unit))
    result.host, result.pid, result.seconds = socket.gethostname(), os.getpid(), time.perf_counter() - started
    return result


def _run_dir(spec: RunSpec) -> str:
    return spec.cwd if spec.cwd and os.path.isdir(spec.cwd) else os.getcwd()


async def _cases_of(built: _Built, spec: RunSpec, unit: WorkUnit, result: UnitResult):  # type: ignore[no-untyped-def]
    if built.source is None:
        if built.config.source is None:
            raise RmgError("a partitioned unit arrived, but the run's config has no [source] table")
        with contextlib.chdir(_run_dir(spec)):  # a worker runs one unit at a time; the source resolves its paths here
            built.source = build_source(built.host, built.config.source)
    source = narrowed(built.source, unit.partition)
    try:
        async for item in source.cases():
            yield item
        stats = getattr(source, "partition_stats", None)
        if stats is not None:
            result.source_stats = stats()
    finally:
        await source.aclose()


def narrowed(source: Any, part: dict[str, Any]) -> Any:
    """``source`` (as the config builds it) narrowed to ``part``, with the layers the driver's source wraps it in.

    A part with a ``layer`` (``"module:Class"``) came from a source wrapping
    the configured one (`rmg_intake`'s mapping and filters): its inner part
    ``of`` is narrowed first, then ``Class.on_partition(inner, part)`` wraps it
    again, as on the driver.  The layer must be a `Source` class.
    """
    layer = part.get("layer")
    if layer is None:
        return source.partition(part)
    module, _, name = str(layer).partition(":")
    cls = getattr(importlib.import_module(module), name, None)
    if not (isinstance(cls, type) and issubclass(cls, Source) and hasattr(cls, "on_partition")):
        raise RmgError(f"a partition names the source layer {layer!r}, which is not a source class with on_partition; "
                       f"install the same rmg and plugins on every worker")
    return cls.on_partition(narrowed(source, part["of"]), part)


async def _grade(built: _Built, spec: RunSpec, unit: WorkUnit) -> UnitResult:
    result = UnitResult(unit.unit_id, identities=built.identities)
    sinks = []
    if spec.sinks_on_workers:
        with contextlib.chdir(_run_dir(spec)):  # a sink's relative path means where the run started
            sinks = [build_sink(built.host, table) for table in built.sink_configs]
    result.reports = [WriteReport() for _ in sinks]
    for sink in sinks:
        # A sink that writes per unit (the local sink's directory mode) is told which: a retried
        # unit then replaces its own output.  Others open as they do anywhere.
        open_unit = getattr(sink, "open_unit", None)
        await (open_unit(unit.unit_id) if open_unit is not None else sink.open())

    async def flush(items: Sequence[Any], cases: Optional[Sequence[EvalCase]], ids: Optional[tuple[Any, ...]]) -> None:
        graded = GradedChunk.of(await built.runner.arun(items), len(items))
        if cases is not None:  # read here: the driver has neither the ids nor the cases
            graded.ids = ids = ids_of(cases)
            graded.rows = case_rows(cases) if spec.return_cases else None
        result.cases += len(items)
        result.chunks.append(graded)
        if sinks and ids is not None:
            records = graded.records(built.identities, ids)
            if not spec.write_not_applicable:
                records = records.without("not_applicable")
            for sink, report in zip(sinks, result.reports):
                try:
                    report.merge(await sink.write(records))
                except Exception as exc:  # a sink that raises loses nothing silently
                    message = f"sink raised {type(exc).__name__}: {exc}"
                    report.merge(WriteReport(failed=[WriteFailure.of(r, message) for r in records]))

    try:
        if unit.blob is not None:  # read on the driver: only the fields grading reads came
            ids, items = pickle.loads(unit.blob)
            step = spec.chunk_size
            for start in range(0, len(items), step):
                part = ids and tuple(column[start:start + step] for column in ids)
                await flush(items[start:start + step], None, part)
            return result
        chunk: list[EvalCase] = []
        async for item in _cases_of(built, spec, unit, result):
            if isinstance(item, CaseError):
                result.bad_cases += 1
                if len(result.bad_case_examples) < KEEP_CASE_ERRORS:
                    result.bad_case_examples.append(item)
                continue
            chunk.append(item)
            if len(chunk) >= spec.chunk_size:
                await flush([case.grader_fields() for case in chunk], chunk, None)
                chunk = []
        if chunk:
            await flush([case.grader_fields() for case in chunk], chunk, None)
    except RmgError as exc:  # the unit's source failed: the run must not pass as complete
        result.fatal = f"unit {unit.unit_id}: {exc}"
    finally:
        for sink, report in zip(sinks, result.reports):
            report.merge(await sink.close())
    return result
