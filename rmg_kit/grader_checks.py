"""``check_grader``: a grader checked the way rmg runs it (runner paths, batches, hostile values)."""

from __future__ import annotations

import inspect
import random
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from rmg_core import ConfigError, Grader, GraderError, GraderResult, GradingRunner

from .conformance import (
    HOSTILE_VALUES, PIPELINE_FIELDS, ConformanceReport, _check_fingerprint, _check_identity, _check_registration,
    _check_settings_model, _describe, _difference, _Problems, _result_problem, _run,
)

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
