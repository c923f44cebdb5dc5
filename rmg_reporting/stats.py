"""Describing one score's values: counts, mean, spread, percentiles and a confidence interval.

Definitions (docs/reports.md repeats them):

* ``std`` is the *sample* standard deviation (``ddof=1``); ``None`` below 2 values.
* ``p10``/``p50``/``p90`` are numpy's default (linear interpolation) percentiles.
* ``ci_low``/``ci_high`` is a 95% interval of the mean.  Up to
  `BOOTSTRAP_MAX_N` values it is a percentile bootstrap: `BOOTSTRAP_RESAMPLES`
  resamples drawn with ``numpy.random.default_rng(BOOTSTRAP_SEED)``, so the
  same values always give the same interval.  Above that it is the normal
  interval ``mean ± z·std/√n``: a bootstrap costs ``n × resamples`` draws,
  and at that size the bootstrap distribution of a mean is normal to well
  within the interval's own noise (central limit theorem).  ``ci_method``
  says which was used.  Below 2 values there is no interval (``None``).

numpy is imported inside functions: this module is imported by the CLI.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20260501
#: Above this many values the interval is the normal one (see the module docstring).
BOOTSTRAP_MAX_N = 10_000
CONFIDENCE = 0.95
#: Resample indices drawn per block: 4 Mi int64 = 32 MiB, whatever n is.
_BLOCK_ELEMENTS = 1 << 22


class ValueStore:
    """The numeric values of one score, kept as C doubles (8 bytes each, not a Python float each)."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values = array("d")

    def append(self, value: float) -> None:
        self._values.append(value)

    @property
    def raw(self) -> array:
        """The underlying ``array('d')``: hot loops bind its ``append`` once."""
        return self._values

    def __len__(self) -> int:
        return len(self._values)

    def to_numpy(self) -> "np.ndarray":
        """A float64 copy of the values (the copy leaves the store appendable)."""
        import numpy as np

        return np.frombuffer(self._values, dtype=np.float64).copy() if self._values else np.empty(0)


@dataclass
class ScoreDescription:
    """The statistics of one score name over a run (errors are counted, never averaged)."""

    scored: int
    errors: int = 0
    skipped: int = 0
    mean: Optional[float] = None
    std: Optional[float] = None
    min: Optional[float] = None
    p10: Optional[float] = None
    p50: Optional[float] = None
    p90: Optional[float] = None
    max: Optional[float] = None
    ci_low: Optional[float] = None
    ci_high: Optional[float] = None
    ci_method: Optional[str] = None
    confidence: float = CONFIDENCE

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _values_array(values: Union["np.ndarray", Sequence[float], ValueStore]) -> "np.ndarray":
    import numpy as np

    if isinstance(values, ValueStore):
        return values.to_numpy()
    return np.asarray(values, dtype=np.float64)


def bootstrap_mean_ci(
    values: "np.ndarray",
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = CONFIDENCE,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (at least one value).

    The resamples are drawn in blocks of rows so memory stays near
    `_BLOCK_ELEMENTS` indices; blocks draw the same numbers, in the same
    order, as one ``rng.integers(0, n, (resamples, n))`` call would.
    """
    import numpy as np

    n = len(values)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    rows = max(1, _BLOCK_ELEMENTS // n)
    for start in range(0, resamples, rows):
        stop = min(resamples, start + rows)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = values[idx].mean(axis=1)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(low), float(high)


def normal_mean_ci(mean: float, std: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """``mean ± z·std/√n``: the large-sample interval of a mean."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    half = z * std / math.sqrt(n)
    return mean - half, mean + half


def describe(
    values: Union["np.ndarray", Sequence[float], ValueStore],
    *,
    errors: int = 0,
    skipped: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = CONFIDENCE,
    max_bootstrap_n: int = BOOTSTRAP_MAX_N,
) -> ScoreDescription:
    """Describe one score's successful values; ``errors``/``skipped`` are only reported."""
    import numpy as np

    data = _values_array(values)
    n = int(data.size)
    out = ScoreDescription(scored=n, errors=errors, skipped=skipped, confidence=confidence)
    if n == 0:
        return out
    out.mean = float(data.mean())
    out.min, out.p10, out.p50, out.p90, out.max = (float(v) for v in np.percentile(data, [0, 10, 50, 90, 100]))
    if n >= 2:
        out.std = float(data.std(ddof=1))
        if n <= max_bootstrap_n:
            out.ci_low, out.ci_high = bootstrap_mean_ci(data, resamples=resamples, seed=seed, confidence=confidence)
            out.ci_method = f"percentile bootstrap ({resamples} resamples, seed {seed})"
        else:
            out.ci_low, out.ci_high = normal_mean_ci(out.mean, out.std, n, confidence)
            out.ci_method = f"normal approximation (n > {max_bootstrap_n})"
    return out


@dataclass
class Histogram:
    """Counts of values in equal-width bins; ``edges`` has one more item than ``counts``."""

    edges: list[float]
    counts: list[int]


def histogram(values: Union["np.ndarray", Sequence[float], ValueStore], bins: int = 20) -> Histogram:
    """Bin the values; scores that all lie in [0, 1] get the fixed range [0, 1] so runs compare by eye."""
    import numpy as np

    data = _values_array(values)
    if data.size == 0:  # an empty chart on [0, 1], laid out like a full one
        return Histogram(edges=[k / bins for k in range(bins + 1)], counts=[0] * bins)
    lo, hi = float(data.min()), float(data.max())
    if lo >= 0.0 and hi <= 1.0:
        lo, hi = 0.0, 1.0
    elif lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(data, bins=bins, range=(lo, hi))
    return Histogram(edges=[float(e) for e in edges], counts=[int(c) for c in counts])


@dataclass
class PassRate:
    """How many scored values met a threshold (``value >= threshold``), with a Wilson 95% interval."""

    threshold: float
    passed: int
    scored: int
    rate: Optional[float]
    low: Optional[float]
    high: Optional[float]

    def as_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "passed": self.passed, "pass_rate": self.rate,
                "pass_rate_ci_low": self.low, "pass_rate_ci_high": self.high}


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[Optional[float], Optional[float]]:
    """The Wilson score interval of a proportion: sound near 0 and 1 and for small n, unlike ``p ± z·se``."""
    if n == 0:
        return None, None
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def pass_rate(values: Union["np.ndarray", Sequence[float], ValueStore], threshold: float) -> PassRate:
    """The share of ``values`` at or above ``threshold`` (a case passes when its score reaches it)."""
    data = _values_array(values)
    n = int(data.size)
    passed = int((data >= threshold).sum()) if n else 0
    low, high = wilson_interval(passed, n)
    return PassRate(threshold, passed, n, passed / n if n else None, low, high)
