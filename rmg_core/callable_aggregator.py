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


def callable_name(function: Callable[..., Any]) -> str:
    """The name a callable aggregator's results are filed under, or a `ConfigError` saying how to give one."""
    name = getattr(function, "name", None) or getattr(function, "__name__", None)
    if not isinstance(name, str) or not name or name == "<lambda>":
        raise ConfigError(
            f"aggregator {function!r} has no name to file its results under; pass it in a dict, "
            "aggregators={'my_name': function}, or use a def with a name"
        )
    return name


class CallableAggregator(Aggregator):
    """``function(results: dict[str, GraderResult]) -> GraderResult`` as an aggregator."""

    name = "callable"

    def __init__(self, function: Callable[[Mapping[str, GraderResult]], GraderResult], name: str) -> None:
        super().__init__()
        if not callable(function):
            raise ConfigError(f"aggregator {name!r} is {type(function).__name__}, not an Aggregator or a function")
        self.function = function
        self.name = name  # type: ignore[misc]  # the instance's own name, as OpenJudge's aggregators have

    def aggregate(self, results: Mapping[str, GraderResult]) -> GraderResult:
        """Call the function with one case's results; the runner checks what it returns."""
        return self.function(dict(results))

    def __repr__(self) -> str:
        return f"CallableAggregator({getattr(self.function, '__qualname__', self.function)!r}, name={self.name!r})"


__all__ = ["CallableAggregator", "callable_name"]
