"""Where ``rmg eval``'s work runs: the built-in ``local`` and ``processes`` executors, and the unit driver.

``UnitExecutor`` is what an engine plugin subclasses (the ``ray`` plugin
does): it brings ``map_unordered``; this package brings the rest — cutting
the source into work units, grading a unit on a worker (`grade_unit`, a pure
function of the run's spec and the unit), and merging results on the driver
so that each unit's records are written once, whatever the engine retried.
"""

from __future__ import annotations

from rmg_core import hookimpl

from .base import UnitExecutor, UnitOutcome, UnitSettings, run_spec
from .units import RunSpec, UnitResult, WorkerMismatch, WorkUnit, grade_unit

__all__ = ["RunSpec", "UnitExecutor", "UnitOutcome", "UnitResult", "UnitSettings", "WorkUnit", "WorkerMismatch", "grade_unit",
           "run_spec"]


@hookimpl
def register_executors(register):  # type: ignore[no-untyped-def]
    from .processes import LocalExecutor, ProcessExecutor

    register(LocalExecutor)
    register(ProcessExecutor)
