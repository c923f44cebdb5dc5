"""Sinks that write on the workers (``[executor] sinks = "workers"``): who may, and the driver's two steps.

A sink may write where units run only if it declares ``runs_on_workers``:
writing the same records twice leaves one copy (an engine runs a unit at
least once) and many processes may write at once.  The Langfuse sink does
(scores are upserted by their deterministic id); the local sink does in its
directory mode (each unit renames its own ``part-<unit id>.jsonl`` into
place).  Any other sink is refused before the run starts, by name.

Such a sink may also take part in the run as a whole, with three optional
methods (an output-committer protocol; a sink without them just opens,
writes and closes on each worker):

* ``open_unit(unit_id)`` — on a worker, instead of ``open``: write one work
  unit's records, named by its deterministic id (the same on a retry);
* ``begin_units()`` — on the driver, before any unit runs (prepare the
  destination);
* ``commit_units(units, *, complete, scores)`` — on the driver, at the end:
  ``units`` are ``{"unit_id", "cases", "written"}`` of every unit whose
  result the driver took, ``complete`` says whether the run lost nothing,
  ``scores`` maps each score name to its identity (component, grader,
  version, config fingerprint); returns a `WriteReport` (notes).
"""

from __future__ import annotations

from typing import Any, Sequence

from rmg_core import RmgError, RunSummary, ScoreColumn, Sink


def refusal(sinks: Sequence[Sink], names: Sequence[str]) -> str:
    """Why ``sinks`` cannot all write on the workers (each named, with the setting that fixes it), or ''."""
    refused = [(name, type(sink).name) for sink, name in zip(sinks, names) if not sink.runs_on_workers]
    if not refused:
        return ""
    hint = ("; the local sink can in directory mode (a directory path such as -o scores/, or mode = \"directory\" "
            "in its [[sinks]] table)" if any(plugin == "local" for _, plugin in refused) else "")
    return (f"sink {', '.join(repr(name) for name, _ in refused)} cannot write on the workers: it does not declare that "
            f"writing the same records twice leaves one copy{hint}; or write on the driver: remove sinks = \"workers\" "
            f"from [executor] (-s executor.sinks=driver)")


async def begin_worker_sinks(sinks: Sequence[Sink], names: Sequence[str]) -> None:
    """Refuse sinks that cannot write on workers; let the others prepare their destination."""
    problem = refusal(sinks, names)
    if problem:
        raise RmgError(problem)
    for sink in sinks:
        begin = getattr(sink, "begin_units", None)
        if begin is not None:
            await begin()


def identities(columns: dict[str, ScoreColumn]) -> dict[str, dict[str, str]]:
    """Each score name's identity, as the records of that name carry it."""
    return {c.name: {"component": c.component, "grader": c.plugin, "grader_version": c.version, "config_fingerprint": c.fingerprint}
            for c in columns.values()}


async def commit_worker_sinks(sinks: Sequence[Sink], summary: RunSummary, taken: list[tuple[str, int, list[int]]],
                              columns: dict[str, ScoreColumn], *, finished: bool) -> None:
    """End the run of each worker-side sink on the driver: complete (a manifest) or not (a note saying so)."""
    scores = identities(columns)
    for index, (sink, tally) in enumerate(zip(sinks, summary.sinks)):
        commit: Any = getattr(sink, "commit_units", None)
        if commit is None:
            continue
        complete = finished and not (summary.interrupted or summary.fatal or tally.failed_count)
        units = [{"unit_id": unit_id, "cases": cases, "written": written[index] if index < len(written) else None}
                 for unit_id, cases, written in taken]
        try:
            tally.add(await commit(units, complete=complete, scores=scores))
        except Exception as exc:
            summary.fatal = summary.fatal or f"sink {tally.sink} failed to finish: {exc}"
