"""Built-in rmg plugin: the ``weighted_sum`` aggregator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rmg_core import hookimpl

if TYPE_CHECKING:
    from .aggregator import WeightedSumAggregator, WeightedSumSettings

_LAZY = {"WeightedSumAggregator": "aggregator", "WeightedSumSettings": "aggregator"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:  # imported on first use: `rmg --help` must not import the aggregator (nor pydantic)
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def register_aggregators(register):  # type: ignore[no-untyped-def]
    register("weighted_sum", "rmg_weighted_sum.aggregator:WeightedSumAggregator")


__all__ = ["WeightedSumAggregator", "WeightedSumSettings", "register_aggregators"]
