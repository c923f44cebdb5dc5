"""An `Intake` cut into partitions: each worker reads its own part, mapped and filtered there.

The wrapped source (a local JSONL file, Langfuse) cuts itself into parts;
each intake part is a *layer* around one of them: the part plus what the
intake needs to build exactly the cases it builds in one process.

* The mapping is settled once, on the driver, from the head of the whole
  source (the first traces, as in one process), and travels with every part:
  a worker never detects a shape from its own first lines, which could differ.
  Ids synthesized from content need no state (`content_id`).
* ``where`` and ``sample`` are per trace (the sample is a hash of the trace
  id): they run on the workers unchanged.
* ``limit`` counts across the whole source: an intake with a limit does not
  partition, so the driver reads (at most ``limit`` cases) and ships chunks.

A worker sends its counts back (`partition_stats`: traces read, unreadable,
filtered out, sampled out) and the driver adds them up, so a run that graded
nothing is explained as in one process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator, Iterable, Optional

from rmg_core import CaseError, RawTrace

if TYPE_CHECKING:
    from .intake import Intake

#: How a worker finds the class that rebuilds this layer around the narrowed inner source.
LAYER = "rmg_intake.intake:Intake"
#: The counts a worker's intake sends back, added up by the driver's.
COUNTS = ("read", "unreadable", "filtered_out", "sampled_out")


def intake_partitions(intake: "Intake", target_cases: int, head: int) -> Optional[AsyncIterator[dict[str, Any]]]:
    """The parts of ``intake``: its source's parts, each with the mapping settled from ``head`` traces, or ``None``."""
    if intake.selection.limit is not None:
        return None  # a global count: read on the driver (see the module docstring)
    inner = intake.source.partitions(target_cases)
    if inner is None:
        return None
    return _layered(intake, inner, head)


async def _layered(intake: "Intake", inner: Iterable[dict[str, Any]], head: int) -> AsyncIterator[dict[str, Any]]:
    await plan_from_head(intake, head)
    state = {
        "fields": intake.fields, "plan": intake.plan, "synthesized_ids": intake.synthesized_ids,
        "where": intake.selection.where, "sample": intake.selection.sample, "reference_keys": list(intake.reference_keys),
    }
    if hasattr(inner, "__aiter__"):
        async for part in inner:  # type: ignore[union-attr]
            yield _layer(state, part)
    else:
        for part in inner:
            yield _layer(state, part)


def _layer(state: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    return {"layer": LAYER, "intake": state, "of": part, "cases": int(part.get("cases", 0))}


async def plan_from_head(intake: "Intake", size: int) -> None:
    """Settle ``intake``'s mapping from the whole source's first ``size`` traces, as reading it in one process does.

    The head is read again by the worker whose part holds it; it is not
    counted here.
    """
    raw = intake.source.traces()
    if raw is not None:
        head: list[Any] = []
        try:
            async for item in raw:
                head.append(item)
                if len(head) >= size:
                    break
        finally:
            await raw.aclose()  # type: ignore[attr-defined]
        intake._plan([h.data for h in head if isinstance(h, RawTrace)])
    else:
        cases = intake.source.cases()
        try:
            async for case in cases:
                if not isinstance(case, CaseError):  # as `Intake._remapped`: the first readable case
                    intake._plan([case.trace] if case.trace is not None else [])
                    break
        finally:
            await cases.aclose()  # type: ignore[attr-defined]
    intake.planned = True


def add_counts(intake: "Intake", counts: dict[str, int]) -> None:
    """Add a worker's counts (`COUNTS`) to the driver's ``intake``."""
    for name in COUNTS:
        setattr(intake, name, getattr(intake, name) + int(counts.get(name, 0)))
