"""Built-in rmg plugin: the ``weighted_sum`` aggregator."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rmg_core import hookimpl
from rmg_kit import lazy_attributes

if TYPE_CHECKING:
    from .aggregator import WeightedSumAggregator, WeightedSumSettings

_LAZY = {"WeightedSumAggregator": "aggregator", "WeightedSumSettings": "aggregator"}


# Imported on first use: `rmg --help` must not import the component (nor pydantic).
__getattr__ = lazy_attributes(__name__, _LAZY)


@hookimpl
def register_aggregators(register):  # type: ignore[no-untyped-def]
    register("weighted_sum", "rmg_weighted_sum.aggregator:WeightedSumAggregator")


__all__ = ["WeightedSumAggregator", "WeightedSumSettings", "register_aggregators"]
