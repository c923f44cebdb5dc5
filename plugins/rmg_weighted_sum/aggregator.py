"""`WeightedSumAggregator`: one score from several graders' scores, with declared rules.

The rules (also in docs/graders/weighted_sum.md):

* Weights are relative: the score is ``sum(w_i * s_i) / sum(w_i)``, so
  ``{"similarity": 0.6, "relevance": 0.4}`` is the plain weighted sum and
  ``{"a": 3, "b": 1}`` weighs ``a`` three times ``b``.  Graders of the run
  that the weights do not name take no part.  ``weights=None`` weighs every
  grader of the run equally.
* An input is *missing* when its grader returned a `GraderError`, returned
  nothing for the case, or returned a `GraderRank` (a rank is a position, not
  a score on the same scale, so it is never added to scores).
* ``missing`` says what a missing input does: ``renormalize`` (default) sums
  over the inputs that are present with their weights rescaled to total 1;
  ``error`` makes the aggregate a `GraderError` naming the missing graders;
  ``zero`` counts a missing input as a score of 0.
* When every weighted input is missing the aggregate is a `GraderError`,
  whatever the policy: there is nothing to sum, and 0.0 would be a lie.
  When every one of them is *not applicable* (a `GraderError` with
  ``not_applicable=True``: the case lacks what the grader needs), so is the
  aggregate; a not-applicable input is otherwise missing like any other.
"""

from __future__ import annotations

import math
from typing import Any, Literal, Mapping, Optional, Sequence

from pydantic import field_validator

from rmg_core import Aggregator, ConfigError, GraderError, GraderRank, GraderResult, GraderScore, Settings

MissingPolicy = Literal["renormalize", "error", "zero"]
_MAX_ERROR_TEXT = 160


class WeightedSumSettings(Settings):
    """Settings of the ``weighted_sum`` aggregator."""

    #: grader name -> weight (>= 0, at least one > 0); None weighs the run's graders equally.
    weights: Optional[dict[str, float]] = None
    #: What an errored, absent or rank input does: renormalize, error or zero.
    missing: MissingPolicy = "renormalize"

    @field_validator("weights")
    @classmethod
    def _valid_weights(cls, value: Optional[dict[str, float]]) -> Optional[dict[str, float]]:
        if value is None:
            return None
        if not value:
            raise ValueError("is empty; name at least one grader, e.g. {\"similarity\": 1.0}, or leave it unset")
        for name, weight in value.items():
            if not math.isfinite(weight) or weight < 0:
                raise ValueError(f"weight of {name!r} is {weight!r}; every weight must be a finite number >= 0")
        if not any(weight > 0 for weight in value.values()):
            raise ValueError("are all 0; at least one weight must be positive")
        if not math.isfinite(sum(value.values())):
            raise ValueError("add up to more than a float can hold; weights are relative, so scale them down "
                             "(e.g. {\"a\": 3, \"b\": 1} rather than {\"a\": 3e308, \"b\": 1e308})")
        return value


class WeightedSumAggregator(Aggregator):
    """Weighted mean of the named graders' scores, with a declared policy for missing inputs.

    ``WeightedSumAggregator(weights={"similarity": 0.6, "relevance": 0.4})``
    gives ``0.6 * similarity + 0.4 * relevance`` for each case.
    """

    name = "weighted_sum"
    version = "1"
    Settings = WeightedSumSettings

    def __init__(self, name: Optional[str] = None, **settings: Any) -> None:
        """``name`` files the results under ``aggregated_<name>`` (OpenJudge's ``WeightedSumAggregator(name=...)``)."""
        super().__init__(**settings)
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"weighted_sum: name must be a non-empty string, got {name!r}")
            self.name = name  # type: ignore[misc]  # this instance's name; the plugin stays "weighted_sum"
        self._weights: Optional[dict[str, float]] = (
            dict(self.settings.weights) if self.settings.weights is not None else None
        )

    def bind(self, grader_names: Sequence[str]) -> None:
        """Check the weights against the run's graders; with no weights, weigh them all equally."""
        if self.settings.weights is None:
            if not grader_names:
                raise ConfigError("weighted_sum: the run has no graders to weigh")
            self._weights = {name: 1.0 for name in grader_names}
            return
        unknown = [name for name in self.settings.weights if name not in grader_names]
        if unknown:
            listed = ", ".join(repr(n) for n in unknown)
            run = ", ".join(repr(n) for n in grader_names) or "(none)"
            raise ConfigError(
                f"weighted_sum: setting 'weights' names {listed}, which "
                f"{'is not a grader' if len(unknown) == 1 else 'are not graders'} in this run; "
                f"the run's graders are {run}. Fix the spelling or add the grader to the run."
            )
        self._weights = dict(self.settings.weights)

    def aggregate(self, results: Mapping[str, GraderResult]) -> GraderResult:
        """Combine one case's results (grader name -> result) following the settings."""
        weights = self._weights if self._weights is not None else {name: 1.0 for name in results}
        present: list[tuple[str, float, float]] = []
        missing: dict[str, str] = {}
        for name, weight in weights.items():
            if weight == 0:
                continue  # a zero weight takes no part, present or not
            result = results.get(name)
            why = _why_missing(result)
            if why is None:
                present.append((name, weight, float(result.score)))  # type: ignore[union-attr]
            else:
                missing[name] = why
        policy = self.settings.missing
        missing_meta = {"missing": sorted(missing), "missing_reasons": missing}
        if not present:
            inapplicable = all(
                isinstance(results.get(n), GraderError) and results[n].not_applicable  # type: ignore[union-attr]
                for n in missing
            )
            return GraderError(
                error="weighted_sum: every weighted input is "
                      + ("not applicable: " if inapplicable else "missing: ") + _describe(missing),
                metadata={**missing_meta, "policy": policy},
                not_applicable=inapplicable,
            )
        if missing and policy == "error":
            return GraderError(
                error=f"weighted_sum (missing='error'): {len(missing)} input(s) missing: " + _describe(missing),
                metadata={**missing_meta, "policy": policy},
            )
        if policy == "zero":
            total = sum(w for w in weights.values() if w > 0)
        else:
            total = sum(w for _, w, _ in present)
        effective = {name: w / total for name, w, _ in present}
        score = sum(effective[name] * s for name, _, s in present)
        terms = " + ".join(f"{effective[name]:.3g}*{name}({s:.2f})" for name, _, s in present)
        reason = f"{terms} = {score:.2f}"
        if missing:
            how = (
                f"counted as 0 with weight {', '.join(f'{weights[n] / total:.3g}' for n in sorted(missing))}"
                if policy == "zero" else "weights renormalized over the rest"
            )
            reason += f"; missing: {_describe(missing)} ({how})"
        if policy == "zero":
            effective.update({name: weights[name] / total for name in missing})
        return GraderScore(
            score=score,
            reason=reason,
            metadata={"weights": effective, **missing_meta, "policy": policy},
        )


def _why_missing(result: Any) -> Optional[str]:
    """None when ``result`` is a usable score, else why it is missing."""
    if isinstance(result, GraderScore):
        return None
    if result is None:
        return "no result for this case"
    if isinstance(result, GraderError):
        text = result.error if len(result.error) <= _MAX_ERROR_TEXT else result.error[:_MAX_ERROR_TEXT] + "..."
        return f"{'not applicable' if result.not_applicable else 'error'}: {text}"
    if isinstance(result, GraderRank):
        return "returned a rank, not a score (ranks are never summed with scores)"
    return f"returned {type(result).__name__}, not a GraderScore"


def _describe(missing: Mapping[str, str]) -> str:
    return "; ".join(f"{name} ({why})" for name, why in missing.items())


__all__ = ["WeightedSumAggregator", "WeightedSumSettings"]
