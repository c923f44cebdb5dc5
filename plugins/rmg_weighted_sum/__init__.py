"""Built-in rmg plugin: the ``weighted_sum`` aggregator."""

from __future__ import annotations

from rmg_core import hookimpl

from .aggregator import WeightedSumAggregator, WeightedSumSettings


@hookimpl
def register_aggregators(register):  # type: ignore[no-untyped-def]
    register(WeightedSumAggregator)


__all__ = ["WeightedSumAggregator", "WeightedSumSettings", "register_aggregators"]
