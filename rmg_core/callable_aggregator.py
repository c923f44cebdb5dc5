"""A plain function used as an aggregator, as OpenJudge's ``GradingRunner`` allows.

OpenJudge calls each aggregator as ``aggregator({grader name: result})`` and
files its results under the function's ``__name__``.  `CallableAggregator`
adapts such a function (or any callable object, e.g. an OpenJudge-style
aggregator class with ``__call__``) to rmg's `Aggregator`, so the runner,
the summary and the sinks treat it like any other.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from .components import Aggregator
from .errors import ConfigError
from .results import GraderResult


class CallableAggregator(Aggregator):
    """``function(results: dict[str, GraderResult]) -> GraderResult`` as an aggregator named ``name``."""

    name = "callable"

    def __init__(self, function: Callable[[Mapping[str, GraderResult]], GraderResult], name: str) -> None:
        super().__init__()
        self.function, self.name = function, name  # type: ignore[misc]  # the instance's own name

    def aggregate(self, results: Mapping[str, GraderResult]) -> GraderResult:
        """Call the function with one case's results; the runner checks what it returns."""
        return self.function(dict(results))


def named_aggregators(aggregators: Any) -> dict[str, Aggregator]:
    """``aggregators`` as given (one, a list, a dict; aggregators or functions) as name -> `Aggregator`."""
    if isinstance(aggregators, Mapping):
        given = list(aggregators.items())
    else:
        listed = [aggregators] if isinstance(aggregators, Aggregator) or callable(aggregators) else aggregators or ()
        given = [(getattr(a, "name", None) or getattr(a, "__name__", None), a) for a in listed]
    named: dict[str, Aggregator] = {}
    for name, agg in given:
        if not isinstance(agg, Aggregator):
            if not callable(agg) or not isinstance(name, str) or not name or name == "<lambda>":
                raise ConfigError(
                    f"aggregator {agg!r} is not an Aggregator or a function with a name; pass functions in a dict, "
                    "aggregators={'my_name': function}, or use a def with a name")
            agg = CallableAggregator(agg, name)
        if name in named:
            raise ConfigError(f"two aggregators are named {name!r}; give them distinct names")
        named[name] = agg
    return named


__all__ = ["CallableAggregator", "named_aggregators"]
