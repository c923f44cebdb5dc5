"""``check_aggregator``: an aggregator checked the way the runner uses it.

What is checked: the class, its name, version and settings model; its
fingerprint; that ``bind`` accepts the run's graders (and refuses a grader
that is not in the run when its settings name one); that every sample case
gives a valid result; that a case whose inputs are all errors gives a
`GraderError`, never a number; that results do not depend on the order of
the inputs; and that the runner gives what ``aggregate`` gives.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Sequence

from rmg_core import Aggregator, Grader, GraderError, GraderResult, GraderScore, GradingRunner, check_result

from .conformance import (
    ConformanceReport, _check_fingerprint, _check_identity, _check_registration, _check_settings_model, _describe,
    _difference, _Problems,
)


def _default_cases(names: Sequence[str]) -> list[dict[str, GraderResult]]:
    """Sample cases: all scored, mixed, one input failed, all failed."""
    scored = {n: GraderScore(score=round(0.2 + 0.6 * i / max(1, len(names) - 1), 3), reason="sample") for i, n in enumerate(names)}
    mixed = {n: GraderScore(score=1.0 if i % 2 else 0.0) for i, n in enumerate(names)}
    one_failed = {**scored, names[0]: GraderError(error="sample grader error")}
    all_failed = {n: GraderError(error=f"{n} failed") for n in names}
    return [scored, mixed, one_failed, all_failed]


class _Replay(Grader):
    """A grader that returns the results it is given, so the runner can be fed chosen inputs."""

    name = "conformance-replay"
    required_fields = ("trace_id",)

    def __init__(self, column: Mapping[str, GraderResult]) -> None:
        super().__init__()
        self.column = column

    async def aevaluate(self, trace_id: str, **_: Any) -> GraderResult:
        return self.column[trace_id]


def check_aggregator(
    aggregator_class: type[Aggregator],
    settings: Mapping[str, Any],
    *,
    grader_names: Sequence[str] = ("quality", "safety"),
    cases: Optional[Sequence[Mapping[str, GraderResult]]] = None,
    invalid_settings: Iterable[Mapping[str, Any]] = (),
    other_settings: Optional[Mapping[str, Any]] = None,
    plugin: Any = None,
) -> ConformanceReport:
    """Check that an aggregator keeps rmg's contracts; raise `ConformanceError` listing every breach.

    :param settings: valid settings for a run whose graders are ``grader_names``.
    :param cases: each case's grader results (grader name -> result); samples
        covering scored, mixed, partly and wholly failed cases when not given.
    :param invalid_settings: settings (merged over ``settings``) that must be
        refused with a `ConfigError` naming the key.
    :param other_settings: settings that must give another fingerprint.
    :param plugin: the plugin module, to check that it registers the class.
    """
    settings = dict(settings)
    label = getattr(aggregator_class, "name", "") or getattr(aggregator_class, "__name__", repr(aggregator_class))
    problems = _Problems(f"aggregator {label!r}")
    if not (isinstance(aggregator_class, type) and issubclass(aggregator_class, Aggregator)):
        problems.fail("class", f"{aggregator_class!r} is not a rmg_core.Aggregator subclass")
        return problems.done()
    _check_identity(problems, aggregator_class)
    if plugin is not None:
        _check_registration(problems, plugin, "aggregator", aggregator_class)
    instance = _check_settings_model(problems, aggregator_class, settings, invalid_settings)
    if instance is None:
        return problems.done()
    _check_fingerprint(problems, aggregator_class, settings, other_settings)
    names = list(grader_names)
    try:
        instance.bind(names)
    except Exception as exc:
        problems.fail("bind", f"bind({names!r}) raised {type(exc).__name__}: {exc}; the settings fit these graders")
        return problems.done()
    problems.report.checked.append("bind accepts the run's graders")
    samples = [dict(c) for c in (cases if cases is not None else _default_cases(names))]
    direct: list[GraderResult] = []
    for i, case in enumerate(samples):
        try:
            result = check_result(instance.aggregate(case), label)
        except Exception as exc:
            problems.fail(f"case {i}", f"aggregate raised {type(exc).__name__}: {exc}; return a GraderError instead")
            return problems.done()
        direct.append(result)
        if case and all(isinstance(r, GraderError) for r in case.values()):
            problems.check(
                f"case {i}: every input failed", isinstance(result, GraderError),
                f"gave {_describe(result)}; with nothing to combine the result must be a GraderError, never a number",
            )
        reordered = check_result(instance.aggregate(dict(reversed(list(case.items())))), label)
        diff = _difference(result, reordered, True, 1e-9, 1e-12)
        problems.check(f"case {i}: input order", diff is None, f"results depend on the order of the inputs: {diff}")
    columns = {n: {f"t{i}": case[n] for i, case in enumerate(samples) if n in case} for n in names}
    if all(len(column) == len(samples) for column in columns.values()):
        runner = GradingRunner({n: _Replay(columns[n]) for n in names}, aggregators={label: aggregator_class(**settings)})
        through = runner.run([{"trace_id": f"t{i}"} for i in range(len(samples))])["aggregated_" + label]
        for i, (a, b) in enumerate(zip(direct, through)):
            diff = _difference(a, b, False, 1e-9, 1e-12)
            problems.check(f"case {i}: through GradingRunner", diff is None, f"the runner gave another result: {diff}")
    return problems.done()
