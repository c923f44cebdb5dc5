"""Conformance checks a plugin runs in its own test suite: ``check_grader`` and ``check_sink``.

Each check exercises a component the way rmg will (fresh instances from
settings, the `GradingRunner`'s batch and per-case paths, sinks opened,
written and closed), collects every problem it finds, and raises one
`ConformanceError` listing them all, so a plugin author sees the whole picture
at once.  On success it returns a `ConformanceReport` naming what was checked.

Imported lazily through `rmg_kit` (the pytest plugin), so pytest
sessions that never call a check do not pay for it.
"""

from __future__ import annotations

import inspect
import math
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import (
    Any,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Optional,
    Sequence,
    TypeVar,
)

from pydantic import BaseModel, SecretStr

from rmg_core import (
    RESULT_TYPES,
    ConfigError,
    Grader,
    GraderError,
    GraderRank,
    GraderResult,
    GraderScore,
    GradingRunner,
    ScoreRecord,
    Sink,
    SinkError,
    WriteReport,
    record_from_result,
    run_sync,
)

T = TypeVar("T")

#: What users type after ``-g`` / ``--sink`` and inside ``-s graders.NAME.key=...``:
#: '=', '.', ',' and spaces would break those, so names avoid them.
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
#: The fields the pipeline hands graders (`EvalCase.grader_fields`); others need a mapper.
PIPELINE_FIELDS = ("trace_id", "input", "prediction", "reference", "metadata")
#: Odd but legal payloads a trace can carry: a grader must return a result for
#: each (a score or a `GraderError`) or raise, never return anything else.
HOSTILE_VALUES: tuple[Any, ...] = (
    "",
    "   \n\t ",
    "é漢字🙂 \u200b",
    "word " * 2000,
    0,
    -3.5,
    [],
    {},
    [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [{"type": "text", "text": "hello"}]}],
    {"content": None},
    {"nested": {"deep": [1, 2, {"x": None}]}},
)


class ConformanceError(AssertionError):
    """A component breaks rmg's contracts; the message lists every problem found."""


@dataclass
class ConformanceReport:
    """What a check verified (``checked``) and what it could not (``notes``)."""

    component: str
    checked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Problems:
    """Collects failures so one run reports all of them."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.items: list[str] = []
        self.report = ConformanceReport(what)

    def check(self, label: str, ok: bool, problem: str) -> bool:
        if ok:
            self.report.checked.append(label)
        else:
            self.items.append(f"{label}: {problem}")
        return ok

    def fail(self, label: str, problem: str) -> None:
        self.items.append(f"{label}: {problem}")

    def done(self) -> ConformanceReport:
        if self.items:
            listing = "\n".join(f"  - {item}" for item in self.items)
            raise ConformanceError(f"{self.what} fails {len(self.items)} conformance check(s):\n{listing}")
        return self.report


def _run(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion, also from inside a running event loop (async tests)."""
    return run_sync(make())  # type: ignore[arg-type]


def _describe(result: Any) -> str:
    if isinstance(result, GraderScore):
        return f"GraderScore(score={result.score!r}, reason={result.reason!r:.80})"
    if isinstance(result, GraderRank):
        return f"GraderRank(rank={result.rank!r})"
    if isinstance(result, GraderError):
        return f"GraderError({result.error!r:.120})"
    return f"{type(result).__name__} {result!r:.80}"


def _difference(a: Any, b: Any, compare_metadata: bool, rel_tol: float, abs_tol: float) -> Optional[str]:
    """Why two results differ, or ``None`` when they are the same grade."""
    if type(a) is not type(b):
        return f"{_describe(a)} vs {_describe(b)}"
    if isinstance(a, GraderScore):
        if not math.isclose(a.score, b.score, rel_tol=rel_tol, abs_tol=abs_tol) or a.reason != b.reason:
            return f"{_describe(a)} vs {_describe(b)}"
    elif isinstance(a, GraderRank):
        if a.rank != b.rank or a.reason != b.reason:
            return f"{_describe(a)} vs {_describe(b)}"
    elif isinstance(a, GraderError):
        if a.error != b.error:
            return f"{_describe(a)} vs {_describe(b)}"
    if compare_metadata and a.metadata != b.metadata:
        return f"metadata {a.metadata!r:.100} vs {b.metadata!r:.100}"
    return None


def _result_problem(value: Any) -> Optional[str]:
    """Why a grader's raw return value is not a valid result, or ``None``."""
    if not isinstance(value, RESULT_TYPES):
        return f"returned {type(value).__name__} {value!r:.80}; return GraderScore, GraderRank or GraderError"
    try:
        type(value).model_validate(value.model_dump())
    except Exception as exc:  # a result built with model_construct can hold anything
        return f"returned an invalid {type(value).__name__}: {' '.join(str(exc).split())[:200]}"
    return None


def _named_keys(settings: Mapping[str, Any]) -> list[str]:
    return [str(k) for k in settings]


def _check_settings_model(problems: _Problems, cls: type, settings: Mapping[str, Any], invalid_settings: Iterable[Mapping[str, Any]]) -> Any:
    """Instantiate ``cls`` and check that bad settings are `ConfigError`s naming the key."""
    model = getattr(cls, "Settings", None)
    problems.check(
        "Settings model",
        isinstance(model, type) and issubclass(model, BaseModel),
        f"{cls.__name__}.Settings must be a pydantic model (subclass rmg_core.Settings)",
    )
    try:
        instance = cls(**settings)
    except Exception as exc:
        problems.fail("valid settings", f"{cls.__name__}(**{dict(settings)!r}) raised {type(exc).__name__}: {exc}")
        return None
    problems.report.checked.append("valid settings")
    unknown = "__rmg_conformance_unknown__"
    try:
        cls(**{**settings, unknown: 1})
    except ConfigError as exc:
        problems.check("unknown setting", unknown in str(exc), f"the ConfigError does not name the key: {exc}")
    except Exception as exc:
        problems.fail("unknown setting", f"raised {type(exc).__name__} instead of rmg_core.ConfigError: {exc}")
    else:
        problems.fail("unknown setting", "an unknown setting was accepted; subclass rmg_core.Settings (extra='forbid')")
    for bad in invalid_settings:
        merged = {**settings, **bad}
        label = f"invalid settings {dict(bad)!r}"
        try:
            cls(**merged)
        except ConfigError as exc:
            missing = [k for k in _named_keys(bad) if k not in str(exc)]
            problems.check(label, not missing, f"the ConfigError does not name {missing}: {exc}")
        except Exception as exc:
            problems.fail(label, f"raised {type(exc).__name__} instead of rmg_core.ConfigError: {exc}")
        else:
            problems.fail(label, "was accepted; validate it in the Settings model")
    return instance


def _check_identity(problems: _Problems, cls: type) -> None:
    name = getattr(cls, "name", "")
    problems.check(
        "name",
        isinstance(name, str) and bool(NAME_PATTERN.match(name)),
        f"name must be a non-empty string of letters, digits, '_' or '-' (users type it after -g/--sink), got {name!r}",
    )
    version = getattr(cls, "version", None)
    problems.check("version", isinstance(version, str) and bool(version), f"version must be a non-empty string, got {version!r}")
    problems.check("docstring", bool((cls.__doc__ or "").strip()), f"{cls.__name__} has no docstring; `rmg plugins` users read it")


def _derived_other_settings(cls: type, settings: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    """Settings that differ from ``settings`` in one value, found by nudging a simple field."""
    model = getattr(cls, "Settings", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    try:
        current = model(**settings)
    except Exception:
        return None
    for key in model.model_fields:
        value = getattr(current, key)
        candidates: list[Any] = []
        if isinstance(value, bool):
            candidates = [not value]
        elif isinstance(value, int):
            candidates = [value + 1, value - 1]
        elif isinstance(value, float):
            candidates = [value * 2 + 1, value / 2]
        elif isinstance(value, str) and not isinstance(value, SecretStr):
            candidates = [value + "x"]
        for candidate in candidates:
            other = {**settings, key: candidate}
            try:
                cls(**other)
            except Exception:
                continue
            return other
    return None


def _check_fingerprint(problems: _Problems, cls: type, settings: Mapping[str, Any], other_settings: Optional[Mapping[str, Any]]) -> None:
    first, second = cls(**settings), cls(**dict(reversed(list(settings.items()))))
    fp = first.fingerprint()
    problems.check("fingerprint is a string", isinstance(fp, str) and bool(fp), f"fingerprint() returned {fp!r}")
    problems.check(
        "fingerprint stable",
        fp == first.fingerprint() == second.fingerprint(),
        "two instances with the same settings have different fingerprints; "
        "it must depend only on name, version and settings",
    )
    bumped = type(cls.__name__, (cls,), {"version": f"{cls.version}+conformance", "__doc__": cls.__doc__})
    problems.check(
        "fingerprint changes with version",
        bumped(**settings).fingerprint() != fp,
        "a new version gives the same fingerprint; include the version",
    )
    other = dict(other_settings) if other_settings is not None else _derived_other_settings(cls, settings)
    if other is None:
        problems.report.notes.append("fingerprint vs settings not checked: pass other_settings={...}")
    else:
        try:
            changed = cls(**other).fingerprint() != fp
        except Exception as exc:
            problems.fail("fingerprint changes with settings", f"other_settings {other!r} raised {type(exc).__name__}: {exc}")
        else:
            problems.check(
                "fingerprint changes with settings",
                changed,
                f"settings {other!r} give the same fingerprint as {dict(settings)!r}",
            )
    secrets = [
        getattr(first.settings, k).get_secret_value()
        for k in type(first.settings).model_fields
        if isinstance(getattr(first.settings, k), SecretStr)
    ]
    shown = repr(first) + fp
    leaked = [s for s in secrets if s and len(s) >= 4 and s in shown]
    problems.check("secrets hidden", not leaked, "a SecretStr setting's value appears in repr() or fingerprint()")


# -- graders --------------------------------------------------------------------
def _fields(grader_cls: type[Grader], case: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments the runner would pass for ``case``."""
    fields = {}
    for name in grader_cls.required_fields:
        if case.get(name) is None:
            raise ConfigError(
                f"check_grader: case {dict(case)!r:.120} has no value for required field {name!r}; "
                "every case must hold the grader's required_fields"
            )
        fields[name] = case[name]
    for name in grader_cls.optional_fields:
        if case.get(name) is not None:
            fields[name] = case[name]
    return fields


async def _direct(grader: Grader, items: Sequence[dict[str, Any]]) -> list[Any]:
    """``aevaluate`` case by case on one instance; an exception is kept as the value."""
    out = []
    for item in items:
        try:
            out.append(await grader.aevaluate(**item))
        except Exception as exc:
            out.append(exc)
    return out


def _runner_results(grader: Grader, cases: Sequence[Mapping[str, Any]], **options: Any) -> list[GraderResult]:
    runner = GradingRunner({"conformance": grader}, **options)
    return list(runner.run(list(cases))["conformance"])


def check_grader(
    grader_class: type[Grader],
    cases: Sequence[Mapping[str, Any]],
    settings: Optional[Mapping[str, Any]] = None,
    *,
    invalid_settings: Iterable[Mapping[str, Any]] = (),
    other_settings: Optional[Mapping[str, Any]] = None,
    bad_cases: Sequence[Mapping[str, Any]] = (),
    plugin: Any = None,
    hostile: bool = True,
    compare_metadata: bool = False,
    rel_tol: float = 1e-9,
    abs_tol: float = 1e-12,
) -> ConformanceReport:
    """Check that a grader keeps rmg's contracts; raise `ConformanceError` listing every breach.

    :param cases: grader inputs, one mapping per case, keyed like the runner's
        fields (``prediction``, ``reference``, ``input``, ...).  Give a few
        different ones: they are graded alone, in batches, in other orders.
    :param settings: the settings to build the grader with.
    :param invalid_settings: settings (merged over ``settings``) that must be
        refused with a `ConfigError` naming each key.
    :param other_settings: settings that must give a different fingerprint;
        derived by nudging a simple setting when not given.
    :param bad_cases: cases the grader cannot grade: each must come out of the
        runner as a `GraderError`, never a score.
    :param plugin: the plugin module; checked to register ``grader_class``.
    :param hostile: also feed odd payloads (empty, unicode, numbers, nested
        JSON) in place of each required field.  Turn off for graders that call
        a paid API.
    :param compare_metadata: also require identical ``metadata`` on every path.
    """
    settings = dict(settings or {})
    problems = _Problems(f"grader {getattr(grader_class, 'name', '') or grader_class.__name__!r} ({grader_class.__name__})")
    if not (isinstance(grader_class, type) and issubclass(grader_class, Grader)):
        problems.fail("class", f"{grader_class!r} is not a rmg_core.Grader subclass")
        return problems.done()
    if not cases:
        raise ConfigError("check_grader needs at least one case (give three or more different ones)")
    _check_identity(problems, grader_class)
    required, optional = grader_class.required_fields, grader_class.optional_fields
    fields_ok = all(isinstance(f, str) and f for f in (*required, *optional))
    problems.check("fields", fields_ok, f"required_fields/optional_fields must be strings, got {required!r} / {optional!r}")
    problems.check(
        "fields disjoint",
        not set(required) & set(optional) and len(set(required)) == len(required),
        f"a field is listed twice in required_fields {required!r} / optional_fields {optional!r}",
    )
    unusual = [f for f in (*required, *optional) if f not in PIPELINE_FIELDS]
    if unusual:
        problems.report.notes.append(f"fields {unusual} are not among {PIPELINE_FIELDS}: `rmg eval` users need a fields mapper")
    overrides_single = grader_class.aevaluate is not Grader.aevaluate
    problems.check(
        "grading path",
        overrides_single or grader_class.supports_batch(),
        "implement async aevaluate(**fields) and/or evaluate_batch(items)",
    )
    if overrides_single:
        problems.check(
            "aevaluate is async",
            inspect.iscoroutinefunction(grader_class.aevaluate),
            "aevaluate must be `async def` (the runner awaits it)",
        )
    if plugin is not None:
        _check_registration(problems, plugin, "grader", grader_class)
    grader = _check_settings_model(problems, grader_class, settings, invalid_settings)
    if grader is None:
        return problems.done()
    _check_fingerprint(problems, grader_class, settings, other_settings)

    items = [_fields(grader_class, c) for c in cases]
    fresh = lambda: grader_class(**settings)  # noqa: E731 - a new, untouched instance per path

    def agree(label: str, got: Sequence[Any], fix: str) -> None:
        if len(got) != len(expected):
            problems.fail(label, f"{len(got)} results for {len(expected)} cases")
            return
        diffs = [
            f"case {i}: {d}"
            for i, (a, b) in enumerate(zip(expected, got))
            if (d := _difference(a, b, compare_metadata, rel_tol, abs_tol)) is not None
        ]
        problems.check(label, not diffs, f"{'; '.join(diffs[:3])}{' ...' if len(diffs) > 3 else ''} ({fix})")

    # Each case alone, on its own fresh instance: the reference every other path must match.
    alone = [_run(lambda item=item: _direct(fresh(), [item]))[0] for item in items]
    for i, value in enumerate(alone):
        if isinstance(value, Exception):
            problems.fail("grades the cases", f"case {i} raised {type(value).__name__}: {value} (cases must be gradable)")
        elif (why := _result_problem(value)) is not None:
            problems.fail("result types", f"case {i}: {why}")
    if any(isinstance(v, Exception) or _result_problem(v) for v in alone):
        return problems.done()
    problems.report.checked.append("result types")
    expected = alone
    agree("through GradingRunner", _runner_results(fresh(), cases), "the runner must give what aevaluate gives")
    one = fresh()
    agree("one instance, in order", _run(lambda: _direct(one, items)), "state leaks between cases")
    agree(
        "same instance, reversed order",
        list(reversed(_run(lambda: _direct(one, list(reversed(items)))))),
        "state leaks between cases: a result depends on the cases graded before it",
    )
    order = list(range(len(cases)))
    random.Random(0).shuffle(order)
    shuffled = _runner_results(fresh(), [cases[i] for i in order], max_concurrency=16)
    unshuffled: list[Any] = [None] * len(cases)
    for pos, i in enumerate(order):
        unshuffled[i] = shuffled[pos]
    agree("shuffled, concurrent", unshuffled, "results depend on order or on concurrent calls")
    agree("concurrency 1", _runner_results(fresh(), cases, max_concurrency=1), "results depend on concurrency")
    if grader.supports_batch():  # per instance: a grader may batch for one backend and not another
        _check_batches(problems, fresh, items, cases, agree)
    if bad_cases:
        _check_bad_cases(problems, fresh, cases, bad_cases, expected, compare_metadata, rel_tol, abs_tol)
    if hostile and required:
        _check_hostile(problems, fresh, grader_class, cases, expected, compare_metadata, rel_tol, abs_tol)
    return problems.done()


def _check_batches(problems: _Problems, fresh: Callable[[], Grader], items: list[dict], cases: Sequence[Mapping[str, Any]], agree: Callable[..., None]) -> None:
    grader = fresh()
    try:
        whole = list(grader.evaluate_batch(items))
        again = list(grader.evaluate_batch(items))
        backwards = list(reversed(list(grader.evaluate_batch(list(reversed(items))))))
    except Exception as exc:
        problems.fail("evaluate_batch", f"raised {type(exc).__name__}: {exc} on valid cases")
        return
    bad = [f"case {i}: {w}" for i, r in enumerate(whole) if (w := _result_problem(r))]
    problems.check("batch result types", not bad, "; ".join(bad[:3]))
    agree("batch vs alone", whole, "a case's result must not depend on the other cases of its batch")
    agree("batch repeated on one instance", again, "state leaks between batches")
    agree("batch reversed", backwards, "results depend on their position in the batch")
    for size in (1, 2):
        small = fresh()
        small.batch_size = size  # type: ignore[misc] - per-instance override of the class default
        agree(f"runner, batch_size={size}", _runner_results(small, cases), "results depend on batch boundaries")


def _check_bad_cases(problems: _Problems, fresh: Callable[[], Grader], cases: Sequence[Mapping[str, Any]], bad_cases: Sequence[Mapping[str, Any]], expected: Sequence[Any], *tolerances: Any) -> None:
    mixed = [*cases, *bad_cases]
    results = _runner_results(fresh(), mixed)
    for i, result in enumerate(results[len(cases):]):
        problems.check(
            f"bad case {i} is a GraderError",
            isinstance(result, GraderError),
            f"got {_describe(result)}; a case the grader cannot grade must be a GraderError, never a score",
        )
    diffs = [i for i, (a, b) in enumerate(zip(expected, results)) if _difference(a, b, *tolerances) is not None]
    problems.check("bad cases do not affect others", not diffs, f"cases {diffs} changed when graded next to bad cases")


def _check_hostile(problems: _Problems, fresh: Callable[[], Grader], grader_class: type[Grader], cases: Sequence[Mapping[str, Any]], expected: Sequence[Any], *tolerances: Any) -> None:
    base = dict(cases[0])
    odd = [(name, value, {**base, name: value}) for name in grader_class.required_fields for value in HOSTILE_VALUES]
    grader = fresh()
    raw_problems = []
    for name, odd_value, case in odd:
        try:
            value = _run(lambda case=case: grader.aevaluate(**_fields(grader_class, case)))
        except Exception:
            continue  # raising is allowed: the runner turns it into a GraderError
        if (why := _result_problem(value)) is not None:
            raw_problems.append(f"{name}={odd_value!r:.40}: {why}")
    problems.check("odd payloads give results", not raw_problems, "; ".join(raw_problems[:3]))
    results = _runner_results(fresh(), [*cases, *(case for _, _, case in odd)], timeout=60)
    diffs = [i for i, (a, b) in enumerate(zip(expected, results)) if _difference(a, b, *tolerances) is not None]
    problems.check("odd payloads do not affect others", not diffs, f"cases {diffs} changed when graded next to odd payloads")


def _check_registration(problems: _Problems, plugin: Any, kind: str, cls: type) -> None:
    from rmg_core import load_plugins

    label = f"plugin registers the {kind}"
    try:
        host = load_plugins(environ={}, entry_points=[], plugins=[("conformance", plugin)], strict=True)
        registered = host.get(kind, cls.name)
    except Exception as exc:
        problems.fail(label, f"{type(exc).__name__}: {exc}")
        return
    problems.check(label, registered is cls, f"{kind} {cls.name!r} is registered as {registered!r}, not {cls!r}")


# -- sinks ----------------------------------------------------------------------
def sample_records(traces: int = 4, prefix: str = "conformance") -> list[ScoreRecord]:
    """Score records of every shape a sink receives, every score name for every trace.

    Per trace: a numeric score with a reason, an int rank, a listwise rank
    (CATEGORICAL), and a score that is a `GraderError` on odd traces; one trace
    has an observation id, one has no timestamp.
    """
    out = []
    for t in range(traces):
        trace = f"{prefix}-{t}"
        ts = None if t == 1 else datetime(2024, 5, 1, 12, t, tzinfo=timezone.utc)
        obs = "obs-1" if t == 2 else None
        results: dict[str, GraderResult] = {
            "quality": GraderScore(score=round(0.25 * t + 0.1, 3), reason=f"reason é {t}", metadata={"t": t}),
            "position": GraderRank(rank=t + 1),
            "ranking": GraderRank(rank=[(t + i) % 3 + 1 for i in range(3)]),
            "judge": GraderError(error=f"judge failed on {trace}") if t % 2 else GraderScore(score=1.0),
        }
        for name, result in results.items():
            out.append(record_from_result(result, trace_id=trace, name=name, timestamp=ts, observation_id=obs,
                                          plugin="conformance", version="1", fingerprint="0" * 16))
    return out


def _bumped(records: Sequence[ScoreRecord]) -> list[ScoreRecord]:
    """The same records with new values (what a re-run with another grader version writes)."""
    out = []
    for r in records:
        value = r.value + 0.5 if isinstance(r.value, float) else r.value
        out.append(r.model_copy(update={"value": value, "comment": (r.comment or "") + " (rerun)"}))
    return out


async def _write_all(sink: Sink, batches: Sequence[Sequence[ScoreRecord]]) -> list[WriteReport]:
    """One run as the pipeline does it: open, write each batch, close on every path."""
    reports: list[WriteReport] = []
    await sink.open()
    try:
        for batch in batches:
            reports.append(await sink.write(list(batch)))
    finally:
        reports.append(await sink.close())
    return reports


def check_sink(
    sink_class: type[Sink],
    settings: Mapping[str, Any],
    *,
    invalid_settings: Iterable[Mapping[str, Any]] = (),
    batches: Optional[Sequence[Sequence[ScoreRecord]]] = None,
    read_back: Optional[Callable[[Mapping[str, Any]], Iterable[Mapping[str, Any]]]] = None,
    upserts: bool = True,
    unwritable_settings: Optional[Mapping[str, Any]] = None,
    plugin: Any = None,
) -> ConformanceReport:
    """Check that a sink keeps rmg's contracts; raise `ConformanceError` listing every breach.

    :param settings: settings of a sink that can write (e.g. a path in a tmp dir).
    :param batches: the record batches to write; `sample_records` split by
        trace when not given (every batch holds every score name).
    :param read_back: ``read_back(settings)`` returns the rows the sink
        stored, each a mapping with at least ``score_id`` and ``value``.  With
        it, the check verifies each written score is stored exactly once, with
        its value, errors never as a number, and that a re-run does not
        duplicate.
    :param upserts: a re-run with new values replaces the stored values (set
        False for append-only sinks that skip ids already stored).
    :param unwritable_settings: settings with which ``open()`` must raise
        `SinkError` (e.g. a path in a directory that does not exist).
    """
    settings = dict(settings)
    problems = _Problems(f"sink {getattr(sink_class, 'name', '') or sink_class.__name__!r} ({sink_class.__name__})")
    if not (isinstance(sink_class, type) and issubclass(sink_class, Sink)):
        problems.fail("class", f"{sink_class!r} is not a rmg_core.Sink subclass")
        return problems.done()
    _check_identity(problems, sink_class)
    if plugin is not None:
        _check_registration(problems, plugin, "sink", sink_class)
    if _check_settings_model(problems, sink_class, settings, invalid_settings) is None:
        return problems.done()
    if batches is None:
        records = sample_records()
        half = len(records) // 2
        batches = [records[:half], [], records[half:]]
    all_records = [r for batch in batches for r in batch]

    def run_once(batches_: Sequence[Sequence[ScoreRecord]], label: str) -> Optional[list[WriteReport]]:
        try:
            reports = _run(lambda: _write_all(sink_class(**settings), batches_))
        except Exception as exc:
            problems.fail(label, f"raised {type(exc).__name__}: {exc}; report failures in the WriteReport instead")
            return None
        return reports

    reports = run_once(batches, "write")
    if reports is None:
        return problems.done()
    kinds_ok = all(isinstance(r, WriteReport) for r in reports)
    problems.check("write/close return WriteReport", kinds_ok, f"got {[type(r).__name__ for r in reports]}")
    if not kinds_ok:
        return problems.done()
    written = sum(r.written for r in reports)
    skipped = sum(r.skipped for r in reports)
    failed = [f for r in reports for f in r.failed]
    problems.check(
        "every record accounted for",
        written + skipped + len(failed) == len(all_records),
        f"{len(all_records)} records but written={written} skipped={skipped} failed={len(failed)}; "
        "count each record exactly once as written, skipped or failed",
    )
    problems.check("no negative counts", all(r.written >= 0 and r.skipped >= 0 for r in reports), "negative counts")
    problems.check(
        "valid records are written",
        not failed,
        f"{len(failed)} failed, e.g. {failed[0].message if failed else ''!r}",
    )
    empty_index = next((i for i, b in enumerate(batches) if not b), None)
    if empty_index is not None:
        r = reports[empty_index]
        problems.check("empty batch", (r.written, r.skipped, len(r.failed)) == (0, 0, 0), f"an empty batch reported {r!r}")
    if read_back is not None:
        _check_stored(problems, read_back, settings, all_records, written, "first run")
        if run_once(batches, "re-run") is not None:
            _check_stored(problems, read_back, settings, all_records, written, "re-run of the same scores")
        changed = [_bumped(b) for b in batches]
        if upserts and run_once(changed, "re-run with new values") is not None:
            _check_stored(problems, read_back, settings, [r for b in changed for r in b], written, "re-run with new values")
    else:
        problems.report.notes.append("stored rows not checked: pass read_back=... to check exactly-once")
    if unwritable_settings is not None:
        try:
            _run(lambda: sink_class(**{**settings, **unwritable_settings}).open())
        except SinkError:
            problems.report.checked.append("unwritable destination is a SinkError")
        except Exception as exc:
            problems.fail("unwritable destination", f"open() raised {type(exc).__name__} instead of rmg_core.SinkError: {exc}")
        else:
            problems.fail("unwritable destination", f"open() with {dict(unwritable_settings)!r} did not raise SinkError")
    return problems.done()


def _check_stored(problems: _Problems, read_back: Callable[[Mapping[str, Any]], Iterable[Mapping[str, Any]]], settings: Mapping[str, Any], records: Sequence[ScoreRecord], written: int, when: str) -> None:
    try:
        rows = list(read_back(settings))
    except Exception as exc:
        problems.fail(f"read back ({when})", f"{type(exc).__name__}: {exc}")
        return
    by_id = {r.score_id: r for r in records}
    ids = [str(row.get("score_id")) for row in rows]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    problems.check(f"exactly once ({when})", not dupes, f"score ids stored more than once: {dupes[:3]}")
    unknown = [i for i in ids if i not in by_id]
    problems.check(f"only given records stored ({when})", not unknown, f"unknown score ids stored: {unknown[:3]}")
    problems.check(f"stored count ({when})", len(set(ids)) == written, f"{len(set(ids))} rows stored but {written} reported written")
    wrong = []
    for row in rows:
        record = by_id.get(str(row.get("score_id")))
        if record is None:
            continue
        value = row.get("value")
        if record.is_error:
            if value not in (None, ""):
                wrong.append(f"error record {record.score_id} stored with value {value!r}")
        elif isinstance(record.value, (int, float)):
            try:
                ok = math.isclose(float(value), float(record.value), rel_tol=1e-9, abs_tol=1e-12)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                ok = False
            if not ok:
                wrong.append(f"{record.trace_id}/{record.name}: stored {value!r}, expected {record.value!r}")
        elif str(value) != str(record.value):
            wrong.append(f"{record.trace_id}/{record.name}: stored {value!r}, expected {record.value!r}")
    problems.check(f"stored values ({when})", not wrong, "; ".join(wrong[:3]))


__all__ = [
    "ConformanceError", "ConformanceReport", "HOSTILE_VALUES", "check_grader", "check_sink", "sample_records",
]
