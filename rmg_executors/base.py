"""`UnitExecutor`: an engine adapter plus rmg's own driver, so an engine only implements ``map_unordered``.

Subclass it (as the built-in ``processes`` and the ``ray`` plugin do), give
``map_unordered`` (and ``open``/``slots``/``close`` if the engine needs them),
and ``rmg eval --executor NAME`` works: the driver cuts the source into units,
ships the run's spec (the config as written: secrets are expanded on each
worker from its own environment), merges results and writes each unit once.

The ``[executor]`` table holds the executor's own settings plus three keys
read here: ``unit_cases``, ``max_in_flight`` and ``sinks``.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterable, AsyncIterator, Callable, Literal, Mapping, Optional, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rmg_core import ConfigError, EvalConfig, Executor, PluginHost, RunContext, RunSummary, settings_error

from .units import PLUGIN_ENV, RunSpec, plugin_versions, prime

@dataclass
class UnitOutcome:
    """One finished work unit, as an executor hands it back: ``result``, or the ``error`` that lost it."""

    unit: Any
    result: Any = None
    error: Optional[BaseException] = None


class UnitSettings(BaseModel):
    """The keys of ``[executor]`` that say how a run is cut into units and where sinks write."""

    model_config = ConfigDict(extra="forbid")

    #: Cases per work unit: big enough to pay for shipping (thousands), small enough to lose little to a dead worker.
    unit_cases: int = Field(5000, ge=1)
    #: Units submitted and not yet finished; ``None``: four times the executor's slots when the workers read their
    #: own partitions of the source, twice when the driver reads the cases and ships them.
    max_in_flight: Optional[int] = Field(None, ge=1)
    #: Where sinks write: "driver" (every sink) or "workers" (sinks that declare ``runs_on_workers``).
    sinks: Literal["driver", "workers"] = "driver"


def run_spec(config: EvalConfig, host: PluginHost, units: UnitSettings, return_cases: bool = True) -> RunSpec:
    """What the workers of ``config`` need: its tables as written (no secrets expanded), versions, options."""
    raw: dict[str, Any] = {k: v for k, v in config.raw.items() if k not in ("executor", "worker")}
    on_workers = units.sinks == "workers"
    if not on_workers:
        raw.pop("sinks", None)  # written on the driver: workers never build them (nor need their credentials)
    return RunSpec(
        config=raw, origin=config.origin, plugin_env={k: os.environ[k] for k in PLUGIN_ENV if k in os.environ},
        versions=plugin_versions(host), chunk_size=config.run.chunk_size, sinks_on_workers=on_workers,
        return_cases=return_cases, cwd=os.getcwd(),
    )


class UnitExecutor(Executor):
    """An executor whose runs go through rmg's unit driver; an engine adds ``map_unordered``."""

    #: How runs are cut into units; set from the ``[executor]`` table by `from_table` (an engine may default ``unit_cases``).
    units: UnitSettings = UnitSettings()

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str = "[executor]") -> "UnitExecutor":
        """The executor configured by an ``[executor]`` table: unit keys here, the rest its settings."""
        settings = {k: v for k, v in table.items() if k != "plugin"}
        unit_keys = {k: settings.pop(k) for k in list(settings) if k in UnitSettings.model_fields}
        try:
            units = UnitSettings(**{"unit_cases": cls.units.unit_cases, **unit_keys})  # the engine's default size
        except ValidationError as exc:
            raise settings_error(where, UnitSettings, exc) from None
        try:
            executor = cls(**settings)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        executor.units = units
        return executor

    @classmethod
    def choose(cls, config: Any, components: Any, workers: Optional[int]) -> Optional[Executor]:
        return cls.from_table(config.executor, f"{config.origin} [executor]") if config.executor.get("plugin") == cls.name else None

    async def run(self, run: RunContext, observers: Sequence[Any] = (), progress: Optional[Any] = None) -> RunSummary:
        from .driver import run_on_executor

        built = run.components
        spec = run_spec(run.config, run.host, self.units)
        prime(spec, run.host)  # forked workers start with the plugins loaded
        return await run_on_executor(
            self, spec, built.source, built.runner, built.sinks,
            unit_cases=self.units.unit_cases, max_in_flight=self.units.max_in_flight, sink_names=built.sink_names,
            observers=observers, progress=progress, write_not_applicable=run.config.run.write_not_applicable,
            graders=built.graders, own_executor=not self._held,
        )

    #: True inside `held`: runs leave opening and closing the engine to it.
    _held: bool = False

    @asynccontextmanager
    async def held(self) -> AsyncIterator["UnitExecutor"]:
        """Open the engine once for many runs (``rmg worker``'s cycles) and close it on every exit path."""
        try:
            await self.open()
            self._held = True
            yield self
        finally:
            self._held = False
            await self.close()

    async def open(self) -> None:
        """Connect to (or start) the engine.  Raise `ConfigError` naming the fix if impossible."""

    def slots(self) -> int:
        """How many units can run at once; the driver keeps about twice as many in flight."""
        return 1

    @abstractmethod
    def map_unordered(
        self, fn: Callable[[Any, Any], Any], shared: Any, units: AsyncIterable[Any], *, max_in_flight: int,
    ) -> AsyncIterator[UnitOutcome]:
        """Run ``fn(shared, unit)`` for every unit, at most ``max_in_flight`` at a time, yielding as each finishes.

        Take the next unit from ``units`` only when fewer than
        ``max_in_flight`` are running, so the driver never holds the
        dataset.  A unit the engine gave up on (its worker died too often)
        is yielded with ``error`` set; never drop one silently.  ``fn`` is a
        module-level function and ``shared``/units pickle: the engine never
        needs to look inside them.  It may run a unit twice: the driver
        writes each unit's records once, by unit id.
        """

    async def close(self) -> None:
        """Release the engine (stop a cluster this executor started).  Called once, on every exit path."""
