"""From what a source reads to the cases graded: shape detection, field mapping, selection.

`Intake` wraps any source.  When the source offers its traces as read
(``Source.traces()``, as the local file source does), it looks at the first
ones, detects a known shape (`rmg_core.shapes`), and builds each case with
the user's mapping on top of the detected one (an explicit mapping always
wins); otherwise it re-maps the cases the source built from their
``EvalCase.trace``.  Then it keeps the cases that match ``where``, the
deterministic ``sample`` (`rmg_kit.sample_fraction`, as the
worker and the Langfuse source sample), and at most ``limit``.

It remembers what it saw (the keys of the first traces, how many were read,
filtered, sampled out), so a run that graded nothing can say why
(`Intake.diagnose`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Mapping, Optional, Sequence

from rmg_core import (
    DEFAULT_REFERENCE_KEYS, MISSING, CaseError, ConfigError, EvalCase, HintStyle, RawTrace, Source,
    case_from_mapping, get_path,
)
from rmg_kit import sample_fraction

from .mapping import CASE_FIELDS, apply_fields, content_id

from .shapes import Shape, describe_mapping, detect_shape

#: How many traces detection and the mapping checks look at before grading starts.
SAMPLE_SIZE = 20

Notice = Callable[[str], None]


@dataclass
class Selection:
    """Which cases to grade: ``where`` (path -> value, all must match), a sample rate, a limit."""

    where: dict[str, str] = field(default_factory=dict)
    sample: Optional[float] = None
    limit: Optional[int] = None

    def __post_init__(self) -> None:
        if self.sample is not None and not (0 < self.sample <= 1):
            raise ConfigError(f"sample rate must be in (0, 1], got {self.sample!r}; e.g. --sample 0.1 grades a tenth")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be at least 1, got {self.limit!r}")


def parse_assignments(items: Sequence[str], option: str, example: str) -> dict[str, str]:
    """``["a=b", ...]`` (as given to ``--map``/``--where``) as a dict; a malformed one is a `ConfigError`."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"{option} {item!r}: expected {example}")
        out[key.strip()] = value.strip()
    return out


#: Key names that usually hold each field, for the suggestion in `Intake.diagnose`.
_USUAL_KEYS = {
    "input": ("input", "question", "query", "prompt", "user_input", "messages"),
    "prediction": ("output", "answer", "response", "completion", "actual_output", "prediction", "generation"),
    "reference": ("expected", "reference", "ground_truth", "expected_output", "ideal", "gold", "label", "target"),
}


def _likely_key(field: str, keys: Sequence[str]) -> str:
    usual = _USUAL_KEYS.get(field, (field,))
    return next((k for k in keys if k.lower() in usual), "<key>")


def printable(text: str) -> str:
    """``text`` with control characters escaped: trace keys and values never reach a terminal raw."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def check_fields(fields: Mapping[str, str], taken: Mapping[str, Sequence[str]], how: str) -> None:
    """Refuse a mapping whose field no grader takes (a misspelling), naming what each grader takes.

    ``taken`` is grader name -> the fields it takes; rmg's own case fields
    (id, input, prediction, reference, metadata, timestamp, ...) are always
    accepted.
    """
    wanted = {f for names in taken.values() for f in names}
    for target in fields:
        if target in CASE_FIELDS or target in wanted:
            continue
        graders = "; ".join(f"{g} takes {', '.join(f) or '(nothing)'}" for g, f in taken.items()) or "no graders"
        raise ConfigError(
            f"{how} maps {target!r}, which is neither a trace field (id, input, prediction, reference, metadata, "
            f"timestamp, observation_id) nor a field any grader of this run takes ({graders}); fix the name"
        )


class Intake(Source):
    """A source's cases, mapped, filtered, sampled and limited; see the module docstring."""

    name = "intake"

    def __init__(
        self,
        source: Source,
        *,
        fields: Optional[Mapping[str, str]] = None,
        selection: Optional[Selection] = None,
        detect: bool = True,
        notice: Optional[Notice] = None,
        hints: HintStyle = "python",
        reference_keys: Sequence[str] = DEFAULT_REFERENCE_KEYS,
        needs: Optional[Mapping[str, Sequence[str]]] = None,
    ) -> None:
        # Not a configured plugin: no settings of its own.  ``wrapped`` lets a run's
        # observers (the reporting metadata) describe the plugin underneath.
        self.source = self.wrapped = source
        self.settings = source.settings
        self.fields = dict(fields or {})
        self.selection = selection or Selection()
        self.detect = detect
        self.notice: Notice = notice or (lambda _message: None)
        self.hints = hints
        self.reference_keys = tuple(reference_keys)
        #: grader name -> the fields it requires, for `why_empty`.
        self.needs = dict(needs or {})
        # What was seen, for `diagnose`.
        self.shape: Optional[Shape] = None
        self.plan: dict[str, str] = dict(self.fields)
        self.first_keys: list[str] = []
        self.read = 0
        self.unreadable = 0
        self.filtered_out = 0
        self.sampled_out = 0
        self.synthesized_ids = False
        #: The mapping is settled (from the head, or sent by the driver with a partition): no detection.
        self.planned = False

    def _wrap(self, inner: Optional[Source]) -> Optional[Source]:
        if inner is None:
            return None
        return Intake(inner, fields=self.fields, selection=self.selection, detect=self.detect,
                      notice=None, hints=self.hints, reference_keys=self.reference_keys, needs=self.needs)

    def windowed(self, start: Any, end: Any) -> Optional[Source]:
        return self._wrap(self.source.windowed(start, end))

    def only(self, trace_ids: Sequence[str]) -> Optional[Source]:
        return self._wrap(self.source.only(trace_ids))

    # -- partitions: read on many workers (`rmg_intake.partitions`) --------------------------
    def partitions(self, target_cases: int) -> Optional[AsyncIterator[dict[str, Any]]]:  # type: ignore[override]
        """The source's parts, each read on a worker with this intake's mapping and filters; ``None`` with a limit.

        An async iterator: the mapping is settled from the source's first
        traces before the first part is handed out.
        """
        from .partitions import intake_partitions

        return intake_partitions(self, target_cases, SAMPLE_SIZE)

    @classmethod
    def on_partition(cls, inner: Source, part: dict[str, Any]) -> "Intake":
        """On a worker: the intake of one of `partitions`' parts around ``inner``, the source narrowed to it."""
        state = part["intake"]  # the driver's mapping (no detection here: see rmg_intake.partitions)
        intake = cls(inner, fields=state["fields"], selection=Selection(where=dict(state["where"]), sample=state["sample"]),
                     detect=False, reference_keys=state["reference_keys"])
        intake.plan, intake.synthesized_ids, intake.planned = dict(state["plan"]), bool(state["synthesized_ids"]), True
        return intake

    def partition_stats(self) -> dict[str, int]:
        """What a worker's intake counted, for the driver's (`add_partition_stats`)."""
        from .partitions import COUNTS

        return {name: getattr(self, name) for name in COUNTS}

    def add_partition_stats(self, counts: dict[str, int]) -> None:
        """Add a worker's `partition_stats`, so `why_empty` speaks of the whole run."""
        from .partitions import add_counts

        add_counts(self, counts)

    async def aclose(self) -> None:
        await self.source.aclose()

    def progress(self) -> Optional[tuple[float, float]]:
        return self.source.progress()

    async def trace_url_template(self) -> Optional[str]:
        return await self.source.trace_url_template()

    # -- reading ---------------------------------------------------------------------------
    async def cases(self) -> AsyncIterator[EvalCase | CaseError]:
        kept = 0
        limit = self.selection.limit
        async for item in self._built():
            if isinstance(item, CaseError):
                self.unreadable += 1
                yield item
                continue
            if not self._selected(item):
                continue
            yield item
            kept += 1
            if limit is not None and kept >= limit:
                return

    def _selected(self, case: EvalCase) -> bool:
        for path, wanted in self.selection.where.items():
            value = get_path(case.trace, path) if case.trace is not None else MISSING
            if value is MISSING:
                value = get_path(case.grader_fields(), path)
            if value is MISSING or _text(value) != wanted:
                self.filtered_out += 1
                return False
        rate = self.selection.sample
        if rate is not None and rate < 1 and sample_fraction(case.id) >= rate:
            self.sampled_out += 1
            return False
        return True

    async def _built(self) -> AsyncIterator[EvalCase | CaseError]:
        raw = self.source.traces()
        if raw is None:
            async for item in self._remapped():
                yield item
            return
        if self.planned:  # a worker's part: the driver settled the mapping from the whole source's head
            async for item in raw:
                yield self._case(item)
            return
        head: list[RawTrace | CaseError] = []
        async for item in raw:
            head.append(item)
            if len(head) >= SAMPLE_SIZE:
                break
        self._plan([h.data for h in head if isinstance(h, RawTrace)])
        for item in head:
            yield self._case(item)
        async for item in raw:
            yield self._case(item)

    def _case(self, item: RawTrace | CaseError) -> EvalCase | CaseError:
        self.read += 1
        if isinstance(item, CaseError):
            return item
        return self._build(item.data, item.location, self.reference_keys, True, item.nesting)

    def _build(self, obj: Any, location: str, reference_keys: Sequence[str], parse: bool,
               nesting: Optional[int] = None) -> EvalCase | CaseError:
        data = apply_fields(obj, self.plan) if self.plan else obj
        if self.synthesized_ids and isinstance(data, Mapping) and data.get("id") in (None, ""):
            data = {**data, "id": content_id(obj)}
        # A mapped value may be JSON parsed out of a string, deeper than the trace's own bound says.
        return case_from_mapping(data, location=location, reference_keys=reference_keys, parse_json_strings=parse,
                                 nesting=None if self.plan else nesting)

    async def _remapped(self) -> AsyncIterator[EvalCase | CaseError]:
        planned = self.planned
        async for item in self.source.cases():
            self.read += 1
            if isinstance(item, CaseError):
                yield item
                continue
            if not planned:
                planned = True
                self._plan([item.trace] if item.trace is not None else [])
            if self.plan and item.trace is not None:
                yield self._build(item.trace, f"trace {item.id}", (), False)
            else:
                yield item

    def _plan(self, samples: list[Any]) -> None:
        """Detect the shape of the first traces and settle the mapping; announce both."""
        dicts = [s if not isinstance(s, list) else {"messages": s} for s in samples]
        dicts = [d for d in dicts if isinstance(d, Mapping)]
        keys: list[str] = []
        for d in dicts:
            keys += [k for k in d if k not in keys]
        self.first_keys = keys[:40]
        plan: dict[str, str] = {}
        if self.detect:
            self.shape = detect_shape(dicts)
            if self.shape is not None:
                detected = self.shape.mapping_for(dicts)
                shown = {t: p for t, p in detected.items() if t not in self.fields}
                if shown:
                    self.notice(f"detected a {self.shape.name}: {describe_mapping(shown)}")
                else:
                    self.notice(f"detected a {self.shape.name}")
                plan.update(detected)
        plan.update(self.fields)  # an explicit mapping always wins
        self.plan = plan
        for target, path in self.fields.items():
            if dicts and all(get_path(d, path) is MISSING for d in dicts):
                self.notice(
                    f"WARNING: the mapping {target}={path} matches nothing in the first {len(dicts)} traces; "
                    f"their keys are: {', '.join(self.first_keys) or '(none)'}"
                )
        if dicts and "id" not in plan and not any("id" in d for d in dicts):
            self.synthesized_ids = True
            self.notice(
                "the traces have no 'id': each gets one derived from its content, stable across runs "
                f"(to use a key of yours: {self._map_hint('id')})"
            )

    # -- explaining an empty run ---------------------------------------------------------------
    def why_empty(self) -> Optional[str]:
        """Asked by the pipeline after a run that graded nothing: `diagnose`, in the user's terms."""
        return self.diagnose(0, self.needs)

    def _map_hint(self, field: str, key: str = "<key>") -> str:
        if self.hints == "cli":
            return f"--map {field}={key}"
        if self.hints == "config":
            return f"fields = {{ {field} = \"{key}\" }} in [source]"
        return f"Intake(source, fields={{{field!r}: {key!r}}})"

    def diagnose(self, graded: int, needs: Mapping[str, Sequence[str]]) -> Optional[str]:
        """Why a run graded nothing, in the user's terms, or ``None`` if it graded something.

        ``graded`` is how many grader results were scores or ranks; ``needs``
        is grader name -> the fields it requires.
        """
        if graded:
            return None
        if self.read == 0 and self.unreadable == 0:
            return "the source yielded no trace: is the input empty (or only blank lines), or a filter too narrow?"
        if self.read == 0:
            return f"none of the {self.unreadable} traces could be read (see the unreadable lines above)"
        kept = self.read - self.unreadable - self.filtered_out - self.sampled_out
        if kept <= 0:
            parts = []
            if self.filtered_out:
                parts.append(f"{self.filtered_out} did not match the where filter")
            if self.sampled_out:
                parts.append(f"{self.sampled_out} were sampled out")
            return f"every trace read was left out: {', '.join(parts) or 'none kept'}"
        wanted = sorted({f for fields in needs.values() for f in fields})
        hint = " ".join(self._map_hint(f, _likely_key(f, self.first_keys)) for f in wanted)
        needs_text = "; ".join(f"{g} needs {', '.join(f)}" for g, f in needs.items())
        return (
            f"no trace had the fields the graders need ({needs_text}); the first traces have the keys "
            f"{', '.join(self.first_keys) or '(none)'}. Map yours to them: {hint}"
        )


__all__ = ["Intake", "Selection", "check_fields", "parse_assignments", "printable", "SAMPLE_SIZE"]
