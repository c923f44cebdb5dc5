"""Where ``rmg eval``'s work runs: the built-in ``local`` and ``processes`` executors, and the unit driver.

``UnitExecutor`` is what an engine plugin subclasses (the ``ray`` plugin
does): it brings ``map_unordered`` (usually a call of `in_completion_order`
with the engine's way to submit a unit); this package brings the rest — cutting
the source into work units, grading a unit on a worker (`grade_unit`, a pure
function of the run's spec and the unit), and merging results on the driver
so that each unit's records are written once, whatever the engine retried.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rmg_core import hookimpl
from rmg_kit import lazy_attributes

if TYPE_CHECKING:
    from .base import UnitExecutor, UnitOutcome, UnitSettings, run_spec
    from .inflight import in_completion_order
    from .units import RunSpec, UnitResult, WorkerMismatch, WorkUnit, grade_unit

_LAZY = {**dict.fromkeys(("UnitExecutor", "UnitOutcome", "UnitSettings", "run_spec"), "base"),
         **dict.fromkeys(("RunSpec", "UnitResult", "WorkerMismatch", "WorkUnit", "grade_unit"), "units"),
         "in_completion_order": "inflight"}


# Imported on first use: `rmg --help` must not import the component (nor pydantic).
__getattr__ = lazy_attributes(__name__, _LAZY)

__all__ = ["RunSpec", "UnitExecutor", "UnitOutcome", "UnitResult", "UnitSettings", "WorkUnit", "WorkerMismatch", "grade_unit",
           "in_completion_order", "run_spec"]


@hookimpl
def register_executors(register):  # type: ignore[no-untyped-def]
    register("local", "rmg_executors.processes:LocalExecutor")  # imported when a run considers them
    register("processes", "rmg_executors.processes:ProcessExecutor")
