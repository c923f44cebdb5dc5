"""The contracts plugins implement: graders, aggregators, trace sources, result sinks, executors.

Every component is a class with a ``name`` (what users type: ``-g similarity``)
and a pydantic ``Settings`` model.  ``Component(**settings)`` validates the
settings; an unknown key is an error that names it and lists the valid ones.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections import abc
from contextlib import nullcontext
from datetime import datetime
from types import UnionType
from typing import Annotated, Any, AsyncContextManager, AsyncIterator, ClassVar, Iterable, Mapping, Optional, Sequence, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, ValidationInfo, field_validator

from .cases import CaseError, EvalCase, RawTrace
from .errors import ConfigError
from .records import ScoreRecord, WriteReport
from .results import GraderResult


class Settings(BaseModel):
    """Base of a component's settings: unknown keys are errors, values are frozen, numbers are numbers.

    pydantic would quietly turn ``true`` into 1 and ``"5"`` into 5, and accept
    ``nan`` and ``inf``; a setting that says ``timeout = true`` means a mistake,
    not one second, so a number setting given a boolean or a string, or a
    float setting given nan or inf, is an error naming it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None:
            problem = lax_number_problem(value, field.annotation)
            if problem is not None:
                raise ValueError(problem)
        return value


_NUMBERS = (int, float)


def lax_number_problem(value: Any, annotation: Any) -> Optional[str]:
    """Why pydantic would silently turn ``value`` (a bool or a string) into a number for ``annotation``, or None.

    Looks inside ``Optional``, unions of numbers, and dict and list values
    (``dict[str, float]`` given ``{"a": "0.6"}``); a union that also takes
    text (``float | str``, a ``Literal``) is left to pydantic.
    """
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    origin, args = get_origin(annotation), [a for a in get_args(annotation) if a is not type(None)]
    if origin in (Union, UnionType):
        return lax_number_problem(value, args[0] if len(args) == 1 else float if set(args) <= set(_NUMBERS) else Any)
    if annotation in _NUMBERS and isinstance(value, (bool, str)):
        what = f"the boolean {str(value).lower()}" if isinstance(value, bool) else f"the string {value!r} (write it without quotes)"
        return f"must be a number, not {what}"
    items = value.items() if isinstance(value, dict) and origin in (dict, abc.Mapping) else (
        enumerate(value) if isinstance(value, list) and origin in (list, abc.Sequence) else ())
    for key, item in items:
        problem = lax_number_problem(item, args[-1])
        if problem is not None:
            return f"{key!r} {problem}" if isinstance(key, str) else f"item {key} {problem}"
    return None


def settings_error(component: str, model: type[BaseModel], exc: ValidationError, where: str = "") -> ConfigError:
    """A `ConfigError` that names the component, each bad key, and the valid keys."""
    valid = ", ".join(sorted(model.model_fields)) or "(none)"
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(settings)"
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown setting {key!r}; valid settings: {valid}")
        else:
            message = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            # A validator that already names its key (`interval: ...`) is not prefixed twice; a check of
            # several settings together has no single key, and its message names them.
            if not err["loc"] or message.startswith(f"{key}: "):
                lines.append(message)
            else:
                lines.append(f"setting {key!r}: {message}")
    place = f" in {where}" if where else ""
    return ConfigError(f"{component}{place}: " + "; ".join(lines))


def fingerprint(value: Any) -> str:
    """The 16-hex-digit hash rmg uses for every fingerprint: sha256 of canonical JSON.

    Components, score plans and whole runs are fingerprinted with it, so the
    same configuration gives the same fingerprint on every machine and run.
    """
    # json.dumps defaults kept: fingerprints stored by earlier versions must still match.
    payload = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class Component:
    """Common base: a registered ``name``, a ``version`` and validated settings."""

    #: The name users refer to the component by; unique per kind across plugins.
    name: ClassVar[str] = ""
    #: Bump when results change for the same settings, so stored scores are redone.
    version: ClassVar[str] = "1"
    #: The pydantic model of the component's settings.
    Settings: ClassVar[type[BaseModel]] = Settings

    def __init__(self, **settings: Any) -> None:
        try:
            self.settings = self.Settings(**settings)
        except ValidationError as exc:
            raise settings_error(self.name or type(self).__name__, self.Settings, exc) from None

    def fingerprint(self) -> str:
        """A short hash of the plugin name, version and settings (secrets excluded).

        A changed fingerprint means a changed configuration: the worker
        re-scores, and stored scores say which configuration made them.
        """
        return fingerprint({"component": type(self).name, "version": self.version, "settings": _public_settings(self.settings)})

    def public_settings(self) -> dict[str, Any]:
        """The settings a fingerprint covers (secrets left out): what a run summary records and compares."""
        return _public_settings(self.settings)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in _public_settings(self.settings).items())
        return f"{type(self).__name__}({shown})"


def _public_settings(settings: BaseModel) -> dict[str, Any]:
    out = {}
    for key in type(settings).model_fields:
        value = getattr(settings, key)
        if isinstance(value, SecretStr) or "key" in key.lower() and isinstance(value, str):
            continue  # secrets never reach a fingerprint, a repr or a log
        out[key] = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    return out


class Grader(Component, ABC):
    """Grades one case at a time (``aevaluate``) and, optionally, many at once.

    ``required_fields`` are the keyword arguments ``aevaluate`` needs; the
    runner turns a case without one into a `GraderError` naming it.
    ``optional_fields`` are passed when the case has them.

    A CPU-bound grader overrides ``evaluate_batch``: the runner then calls it
    with up to ``batch_size`` cases at a time in a worker thread, so the event
    loop stays free for I/O.  Its results must not depend on which other cases
    share the batch.
    """

    required_fields: ClassVar[tuple[str, ...]] = ()
    optional_fields: ClassVar[tuple[str, ...]] = ()
    batch_size: ClassVar[int] = 4096

    async def aevaluate(self, **fields: Any) -> GraderResult:
        """Grade one case.  The default runs ``evaluate_batch`` on a batch of one."""
        self.check_fields(fields)
        if not self.supports_batch():
            raise NotImplementedError(f"{type(self).__name__} implements neither aevaluate nor evaluate_batch")
        return self.evaluate_batch([fields])[0]

    def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> Sequence[GraderResult]:
        """Grade many cases at once (each item holds one case's fields); optional."""
        raise NotImplementedError

    @classmethod
    def supports_batch(cls) -> bool:
        return cls.evaluate_batch is not Grader.evaluate_batch

    def usage(self) -> Optional[dict[str, Any]]:
        """What this grader spent so far, for reports, or ``None`` (the default: nothing worth counting).

        Optional.  A grader that calls a paid API returns counters here, e.g.
        ``{"kind": "llm judge", "model": "gpt-4o-mini", "requests": 241,
        "retries": 3, "cache_hits": 0, "input_tokens": 30120, "output_tokens": 5210}``;
        the reporting observer shows them at the end of ``rmg eval``, puts them in
        the summary JSON and the report, and prices ``input_tokens`` and
        ``output_tokens`` of ``model`` from the user's ``[report] prices`` table.
        """
        return None

    def fields_of(self) -> tuple[str, ...]:
        return tuple(self.required_fields) + tuple(self.optional_fields)

    def check_fields(self, fields: Mapping[str, Any]) -> None:
        """Raise ``TypeError`` naming each keyword that is not one of the grader's declared fields.

        A misspelt keyword would otherwise be dropped and the case graded
        without it; OpenJudge's ``response`` gets the hint ``prediction``.
        """
        unknown = [key for key in fields if key not in self.fields_of()]
        if unknown and self.fields_of():
            hints = "".join(f"; use {_OPENJUDGE_FIELDS[k]!r} for OpenJudge's {k!r}" for k in unknown if k in _OPENJUDGE_FIELDS)
            raise TypeError(f"{type(self).__name__}.aevaluate() got unexpected keyword argument(s) "
                            f"{', '.join(map(repr, unknown))}; its fields are {', '.join(self.fields_of())}{hints}")


#: OpenJudge's grader keyword -> rmg's field of the same meaning.
_OPENJUDGE_FIELDS = {"response": "prediction", "reference_response": "reference", "candidate": "prediction",
                     "query": "input", "answer": "prediction"}


class Aggregator(Component, ABC):
    """Combines one case's grader results into one result."""

    def bind(self, grader_names: Sequence[str]) -> None:
        """Check the aggregator against the run's graders before anything runs.

        Raise `ConfigError` for a setting that names a grader not in the run.
        """

    @abstractmethod
    def aggregate(self, results: Mapping[str, GraderResult]) -> GraderResult:
        """Combine ``results`` (grader name -> that grader's result for the case)."""


class Source(Component, ABC):
    """Yields the cases to grade as an async stream, without holding them all."""

    @abstractmethod
    def cases(self) -> AsyncIterator[EvalCase | CaseError]:
        """Yield cases in order; a trace that cannot be read is a `CaseError`, and the stream goes on."""

    async def aclose(self) -> None:
        """Release connections and files.  Called once, on every exit path."""

    async def trace_url_template(self) -> Optional[str]:
        """A link to one trace in the system the traces came from, with ``{trace_id}`` in it, or ``None``.

        Optional.  Reports link trace ids with it; it is asked once, after
        the run, and only when a report is written (it may make a request).
        """
        return None

    def progress(self) -> Optional[tuple[float, float]]:
        """How far reading has got, as ``(done, total)`` in one unit of the source's choosing, or ``None``.

        Optional; progress displays turn it into a percentage and an ETA while
        ``cases`` runs.  A local file answers in bytes read of its size; a
        source that cannot know its size keeps the default ``None``.
        """
        return None

    def why_empty(self) -> Optional[str]:
        """Why the run found nothing to grade, in the user's terms, or None; asked after a run that graded nothing.

        E.g. the keys the first lines have and how to map them, or that the
        file is a JSON array; shown after ``NOTHING GRADED:`` in the summary.
        """
        return None

    def traces(self) -> Optional[AsyncIterator[RawTrace | CaseError]]:
        """Optional: the traces as read (parsed JSON and where each was), before they become cases.

        A source of users' files offers this so that rmg can detect the
        file's shape (a Ragas dataset, a Langfuse export, ...) and apply
        ``--map``/``fields`` before building cases (`rmg_core.intake`).
        Return ``None`` (the default) to be read through ``cases()`` only.
        """
        return None

    # -- optional: what `rmg worker` uses when a source offers it --------------------------
    def windowed(self, start: Optional[datetime], end: datetime) -> Optional["Source"]:
        """A new source of just the traces whose timestamp is in ``[start, end)`` (aware UTC datetimes).

        ``start`` is ``None`` for "from the beginning".  The result must keep
        every other setting of this source and narrow (never widen) a time
        range the user configured.  Return ``None`` (the default) when the
        source cannot filter by time: the worker then reads all of it each
        cycle and relies on its ledger to grade only what is new.
        """
        return None

    def only(self, trace_ids: Sequence[str]) -> Optional["Source"]:
        """A new source of just these traces, in any order; a trace that no longer exists is left out.

        The worker uses it to retry failed traces older than the current
        window.  Return ``None`` (the default) when the source cannot look
        traces up by id: failed traces are then retried only while they are
        inside the window the worker reads.
        """
        return None

    # -- optional: what executors use to read a source on many workers --------------------
    def partitions(self, target_cases: int) -> Optional[Iterable[dict[str, Any]]]:
        """Split the source into parts of about ``target_cases`` cases each, or ``None`` (the default).

        Each part is a small JSON-serializable dict (a byte range, a time
        window) from which `partition` rebuilds a narrowed source on another
        machine (a source that offers parts implements ``partition(spec) -> Source``,
        the narrowed copy); the same source must always yield the same parts, because a
        part's unit id is derived from it.  Together the parts yield every
        case exactly once.  ``None`` means "cannot partition": the executor
        then reads the source where ``rmg`` runs and ships cases in chunks.
        An async iterator is accepted too (a source wrapping another that must
        read before it can cut, as ``rmg_intake``; see `rmg_executors.units.narrowed`).
        """
        return None


class Sink(Component, ABC):
    """Writes score records and says exactly which it could not write.

    ``rmg worker`` records a score as done once ``write`` has returned and
    reported it written, so ``write`` must not return before its records are
    stored (or handed to the operating system); a sink that buffers flushes
    in ``write``, not only in ``close``.
    """

    #: True when writing the same records twice leaves one copy and many processes may write
    #: at once, so an executor may run the sink on its workers (``[executor] sinks = "workers"``).
    runs_on_workers: ClassVar[bool] = False

    async def open(self) -> None:
        """Prepare to write (open files, check credentials).  Raise `SinkError` if impossible."""

    @abstractmethod
    async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
        """Write a batch; every record is counted as written, skipped, or failed with a message."""

    async def close(self) -> WriteReport:
        """Flush what is buffered and release resources; report what that flush wrote or failed."""
        return WriteReport()

    async def close_incomplete(self) -> WriteReport:
        """Called instead of `close` when the run did not complete.

        That is: it was interrupted, the source failed, or a write to this
        sink failed.  A sink that replaces a result users read (a file in
        replace mode) must not leave an incomplete one in its place: keep
        what was written elsewhere and say where in ``WriteReport.notes``.
        The default is `close`.
        """
        return await self.close()

    def worker_problem(self) -> Optional[str]:
        """Why this sink, as configured, would lose or duplicate scores under ``rmg worker``, or ``None``.

        The worker keeps a sink open across cycles and opens it again after
        every restart; it refuses to start with a sink that says it cannot
        take that (a file replaced on every open, say), showing this message.
        """
        return None



class Executor(Component, ABC):
    """Where a run's work goes when not in this process: local worker processes, a cluster.

    ``rmg eval`` asks each registered executor class, in name order, whether
    it takes the run (`choose`); the first that does grades it (`run`).
    Engine plugins subclass ``rmg_executors.UnitExecutor``, which brings the
    rest: work units, exactly-once writes, lost units counted.
    """

    @classmethod
    def choose(cls, config: Any, components: Any, workers: Optional[int]) -> Optional["Executor"]:
        """This executor for the run (an `EvalConfig` and its `Components`), or ``None`` (the default) to leave it.

        ``workers`` is ``--workers N``.  ``rmg_executors.UnitExecutor`` takes
        the run when the ``[executor]`` table names it, with the table's other
        keys as settings.
        """

    async def run(self, run: Any, observers: Sequence[Any] = (), progress: Any = None) -> Any:
        """Grade the whole run (a `RunContext`) and return its `RunSummary`; ``observers`` see every graded chunk."""

    def held(self) -> AsyncContextManager[Any]:
        """Keep the engine up across many `run`\\ s (``rmg worker``'s cycles): started on entry, stopped on exit.

        The default does nothing, and each `run` starts and stops what it needs.
        """
        return nullcontext(self)
