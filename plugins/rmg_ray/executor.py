"""The Ray executor: each work unit is one Ray task, at most ``max_in_flight`` pending, taken as each finishes.

Ray runs a task again when its worker dies (``max_retries``, 3 by default);
the core writes each unit's records once, by unit id, so a retried unit never
duplicates a score.  Application exceptions are not retried
(``retry_exceptions=False``): a deterministic failure fails fast and is
reported, instead of running three more times.  Units are consumed in
completion order (waiting in submission order is a Ray anti-pattern).

``address``: ``local`` starts a cluster for this run only (bound to
127.0.0.1, stopped at the end); ``auto`` joins the cluster ``ray start`` or
``RAY_ADDRESS`` names; ``ray://host:10001`` connects through Ray Client
(needs ``ray[client]``).  When Ray is already initialized in the process (a
notebook, a ``ray job submit`` entrypoint that called ``ray.init``), the
executor uses that connection and leaves it open.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from typing import Any, AsyncIterable, AsyncIterator, Callable, Optional

from pydantic import Field

from rmg_core import ConfigError, Settings
from rmg_executors import UnitExecutor, UnitOutcome, in_completion_order

INSTALL = "pip install 'rmg[ray]'"


class RaySettings(Settings):
    address: str = Field("local", description="local (start a cluster for this run), auto (a running cluster), "
                                              "or ray://HOST:10001 (Ray Client).")
    local_cpus: Optional[int] = Field(None, ge=1, description="CPUs of a local cluster (address = local); default: all.")
    cpus_per_unit: float = Field(1.0, gt=0, description="CPUs Ray reserves for each unit (fractions for I/O-bound graders).")
    gpus_per_unit: float = Field(0.0, ge=0, description="GPUs Ray reserves for each unit (a grader holding a model).")
    max_retries: int = Field(3, ge=0, description="Times Ray runs a unit again after its worker died (0: never).")
    runtime_env: dict[str, Any] = Field(default_factory=dict, description="Ray runtime_env for the workers (pip, env_vars, working_dir).")


class RayExecutor(UnitExecutor):
    """Work units as Ray tasks on a local or remote Ray cluster."""

    name = "ray"
    Settings = RaySettings
    settings: RaySettings

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        if importlib.util.find_spec("ray") is None:  # found without importing it (2-3 s)
            raise ConfigError(f"executor 'ray' needs Ray: {INSTALL}")
        self._owns_cluster = False
        self._ray: Any = None

    def __repr__(self) -> str:
        # runtime_env may carry env_vars with secrets: never shown.
        s = self.settings
        return f"RayExecutor(address={s.address!r}, cpus_per_unit={s.cpus_per_unit}, gpus_per_unit={s.gpus_per_unit}, max_retries={s.max_retries})"

    async def open(self) -> None:
        import ray

        self._ray = ray
        if ray.is_initialized():
            return
        options: dict[str, Any] = {"include_dashboard": False, "configure_logging": False}
        if self.settings.runtime_env:
            options["runtime_env"] = self.settings.runtime_env
        address = self.settings.address
        # Owned from before ray.init returns: a Ctrl-C during a local cluster's start still shuts it down.
        self._owns_cluster = True
        try:
            if address == "local":
                # Without it Ray binds the primary interface, not 127.0.0.1 (measured with Ray 2.60).
                os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
                ray.init(num_cpus=self.settings.local_cpus, **options)  # on the main thread: Ray installs its signal handlers
            else:
                ray.init(address=address, **options)
        except Exception as exc:
            raise ConfigError(f"executor 'ray': cannot connect to {address!r}: {type(exc).__name__}: {exc}; "
                              f"check [executor] address (local, auto or ray://HOST:10001)") from None

    def slots(self) -> int:
        resources = self._ray.cluster_resources() if self._ray is not None else {}
        slots = int(resources.get("CPU", 1) // self.settings.cpus_per_unit)
        if self.settings.gpus_per_unit:
            slots = min(slots, int(resources.get("GPU", 0) // self.settings.gpus_per_unit))
        return max(1, slots)

    def map_unordered(
        self, fn: Callable[[Any, Any], Any], shared: Any, units: AsyncIterable[Any], *, max_in_flight: int,
    ) -> AsyncIterator[UnitOutcome]:
        ray = self._ray
        task = ray.remote(
            num_cpus=self.settings.cpus_per_unit, num_gpus=self.settings.gpus_per_unit,
            max_retries=self.settings.max_retries, retry_exceptions=False,
        )(fn)
        shared_ref = ray.put(shared)  # shipped once, not once per unit

        def submit(unit: Any, attempt: int) -> tuple[Any, Any]:
            ref = task.remote(shared_ref, unit)
            return asyncio.wrap_future(ref.future()), ref

        def cancel(ref: Any) -> None:
            try:
                ray.cancel(ref, force=True)
            except Exception:
                pass  # the cluster may be gone already; shutdown follows

        # Ray retries a dead worker's task itself (max_retries); RayTaskError wraps the unit's own exception.
        return in_completion_order(units, max_in_flight, submit, unwrap=lambda error: getattr(error, "cause", None) or error,
                                   cancel=cancel)

    async def close(self) -> None:
        if self._ray is not None and self._owns_cluster:
            self._owns_cluster = False
            await asyncio.to_thread(self._ray.shutdown)
