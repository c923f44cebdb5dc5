"""The ``[report]`` table and the options that add to it: breakdowns and pass/fail thresholds.

```toml
[report]
group_by = ["metadata.app", "metadata.model"]   # breakdowns (as --group-by)
thresholds = { relevance = 0.5, overall = 0.6 }  # a case passes at or above (as --threshold)
small_group = 30                                # groups with fewer scored cases are marked small
prices = { "gpt-4o-mini" = { input = 0.15, output = 0.60 } }  # USD per million tokens (as --price)
```

Command-line values add to the file's: ``--group-by`` appends a field, and
``--threshold SCORE=VALUE`` replaces that score's threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from rmg_core import ConfigError, EvalCase, RmgError

#: Default size below which a group's figures are marked as resting on too few cases.
SMALL_GROUP = 30
#: Distinct values kept per breakdown field; the rest are counted together as `OTHER_GROUP`.
MAX_GROUPS = 100
OTHER_GROUP = "(other values)"
MISSING_GROUP = "(missing)"
#: Characters of a group value kept (metadata values can be whole documents).
GROUP_CHARS = 80
_KNOWN = ("group_by", "thresholds", "small_group", "prices")


@dataclass
class ReportSettings:
    """Validated breakdown fields, per-score thresholds and the small-group size."""

    group_by: list[str] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)
    small_group: int = SMALL_GROUP
    #: model -> (USD per million input tokens, USD per million output tokens)
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"group_by": self.group_by, "thresholds": self.thresholds, "small_group": self.small_group,
                "prices": {m: {"input": i, "output": o} for m, (i, o) in self.prices.items()}}


def _price(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{where}: a price is a number of US dollars per million tokens, at least 0; got {value!r}")
    return float(value)


def parse_prices(table: Any, specs: Sequence[str], where: str) -> dict[str, tuple[float, float]]:
    """``[report] prices`` and ``--price MODEL=INPUT,OUTPUT`` (USD per million tokens); the option wins."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} prices must be a table, e.g. prices = {{ \"gpt-4o-mini\" = {{ input = 0.15, output = 0.6 }} }}")
    out: dict[str, tuple[float, float]] = {}
    for model, entry in table.items():
        if not isinstance(entry, dict) or set(entry) != {"input", "output"}:
            raise ConfigError(f"{where} prices.{model} must be {{ input = USD, output = USD }} per million tokens")
        out[str(model)] = (_price(entry["input"], f"{where} prices.{model}.input"), _price(entry["output"], f"{where} prices.{model}.output"))
    for spec in specs:
        model, sep, numbers = spec.rpartition("=")
        parts = numbers.split(",")
        if not sep or not model.strip() or len(parts) != 2:
            raise RmgError(f"--price {spec!r}: expected MODEL=INPUT,OUTPUT in USD per million tokens, e.g. --price gpt-4o-mini=0.15,0.6")
        try:
            values = tuple(float(p) for p in parts)
        except ValueError:
            raise RmgError(f"--price {spec!r}: {numbers!r} is not two numbers") from None
        out[model.strip()] = (_price(values[0], f"--price {spec}"), _price(values[1], f"--price {spec}"))
    return out


def metadata_field(spec: Any, where: str) -> str:
    """``spec`` if it names a metadata field (``metadata.KEY``), else a `ConfigError` naming ``where`` and the form."""
    if not isinstance(spec, str) or not spec.startswith("metadata.") or spec == "metadata.":
        raise ConfigError(
            f"{where} {spec!r}: a breakdown is a metadata field written metadata.KEY, "
            "e.g. --group-by metadata.app (or group_by = [\"metadata.app\"] in [report])"
        )
    return spec


def _threshold(score: str, value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where} {score}: the threshold must be a finite number, e.g. {score}=0.5; got {value!r}")
    return float(value)


def parse_threshold_specs(specs: Sequence[str]) -> dict[str, float]:
    """``--threshold SCORE=VALUE`` specs as a mapping; a malformed one is an `RmgError` saying how to write it."""
    out: dict[str, float] = {}
    for spec in specs:
        name, sep, number = spec.partition("=")
        name = name.strip()
        if not sep or not name:
            raise RmgError(f"--threshold {spec!r}: expected SCORE=VALUE, e.g. --threshold relevance=0.5")
        try:
            value = float(number)
        except ValueError:
            raise RmgError(f"--threshold {spec!r}: {number.strip()!r} is not a number") from None
        out[name] = _threshold(name, value, "--threshold")
    return out


def report_settings(
    table: Mapping[str, Any], origin: str, group_by: Sequence[str] = (), thresholds: Sequence[str] = (),
    prices: Sequence[str] = (),
) -> ReportSettings:
    """The ``[report]`` table of config ``origin`` with the command line's additions, validated."""
    where = f"{origin} [report]"
    unknown = sorted(set(table) - set(_KNOWN))
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(unknown)}; valid settings: {', '.join(_KNOWN)}")
    fields = table.get("group_by", [])
    if isinstance(fields, str):
        fields = [fields]
    if not isinstance(fields, list):
        raise ConfigError(f"{where} group_by must be a list of fields, e.g. group_by = [\"metadata.app\"]")
    chosen = [metadata_field(f, f"{where} group_by") for f in fields]
    chosen += [metadata_field(f, "--group-by") for f in group_by if f not in chosen]
    table_thresholds = table.get("thresholds", {})
    if not isinstance(table_thresholds, dict):
        raise ConfigError(f"{where} thresholds must be a table, e.g. thresholds = {{ relevance = 0.5 }}")
    limits = {str(k): _threshold(str(k), v, f"{where} thresholds") for k, v in table_thresholds.items()}
    limits.update(parse_threshold_specs(thresholds))
    small = table.get("small_group", SMALL_GROUP)
    if isinstance(small, bool) or not isinstance(small, int) or small < 1:
        raise ConfigError(f"{where} small_group must be a whole number of cases of at least 1, e.g. small_group = 30")
    return ReportSettings(group_by=chosen, thresholds=limits, small_group=small,
                          prices=parse_prices(table.get("prices", {}), prices, where))


def metadata_value(case: Optional[EvalCase], keys: Sequence[str]) -> Any:
    """The value at ``keys`` in a case's metadata, or None."""
    node: Any = case.metadata if case is not None else None
    for key in keys:
        if not isinstance(node, dict):  # dict, not typing.Mapping: this runs per trace and field
            return None
        node = node.get(key)
    return node


def group_label(value: Any) -> str:
    """A metadata value as a group label: one printable line of at most `GROUP_CHARS` characters."""
    if value is None:
        return MISSING_GROUP
    text = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)
    if len(text) <= GROUP_CHARS and text.isprintable() and "  " not in text and text == text.strip():
        return text  # the usual label ("docs-qa"), checked in C: no per-character work
    # One printable line, bounded: a label reaches terminals, tables and JSON, and trace text is hostile.
    text = "".join(ch if ch.isprintable() else "\ufffd" for ch in " ".join(text.split()))
    return text[:GROUP_CHARS] + ("…" if len(text) > GROUP_CHARS else "")


def group_value(case: Optional[EvalCase], path: str) -> str:
    """The group a case falls in for breakdown field ``path`` (``metadata.app``), as short text."""
    return group_label(metadata_value(case, path.split(".")[1:]))
