"""Conformance checks a plugin runs in its own test suite: what every check shares.

The checks themselves live beside this module: `grader_checks.check_grader`,
`aggregator_checks.check_aggregator`, `sink_checks.check_sink`.

Each check exercises a component the way rmg will (fresh instances from
settings, the `GradingRunner`'s batch and per-case paths, sinks opened,
written and closed), collects every problem it finds, and raises one
`ConformanceError` listing them all, so a plugin author sees the whole picture
at once.  On success it returns a `ConformanceReport` naming what was checked.

Imported lazily through `rmg_kit` (the pytest plugin), so pytest
sessions that never call a check do not pay for it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import (
    Any,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Optional,
    TypeVar,
)

from pydantic import BaseModel, SecretStr

from rmg_core import (
    RESULT_TYPES,
    ConfigError,
    GraderError,
    GraderRank,
    GraderScore,
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

