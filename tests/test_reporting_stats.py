"""Per-score statistics against a direct numpy computation on the same data."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from rmg_reporting import stats
from rmg_reporting.stats import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, ValueStore, describe, histogram


def direct_bootstrap(x: np.ndarray, seed: int = BOOTSTRAP_SEED, resamples: int = BOOTSTRAP_RESAMPLES) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


@pytest.fixture
def values() -> np.ndarray:
    return np.random.default_rng(3).beta(2, 5, size=500)


def test_describe_matches_numpy(values: np.ndarray) -> None:
    d = describe(values, errors=7, skipped=2)
    assert (d.scored, d.errors, d.skipped) == (500, 7, 2)
    assert d.mean == pytest.approx(values.mean(), abs=1e-12)
    assert d.std == pytest.approx(values.std(ddof=1), abs=1e-12)  # sample std
    expected = np.percentile(values, [0, 10, 50, 90, 100])
    assert [d.min, d.p10, d.p50, d.p90, d.max] == pytest.approx(list(expected), abs=1e-12)
    assert (d.ci_low, d.ci_high) == direct_bootstrap(values)
    assert d.ci_low < d.mean < d.ci_high
    assert d.ci_method is not None and "bootstrap" in d.ci_method


def test_interval_is_deterministic_and_input_type_does_not_matter(values: np.ndarray) -> None:
    store = ValueStore()
    for v in values:
        store.append(float(v))
    a, b, c = describe(values), describe(store), describe(list(values))
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high) == (c.ci_low, c.ci_high)
    assert describe(values, seed=1).ci_low != a.ci_low  # the seed is what fixes it


def test_blocked_resampling_draws_what_one_call_would(values: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    # Force many small blocks (3 resamples each): the interval must not change.
    monkeypatch.setattr(stats, "_BLOCK_ELEMENTS", 3 * len(values) + 1)
    d = describe(values)
    assert (d.ci_low, d.ci_high) == direct_bootstrap(values)


def test_normal_interval_above_the_bootstrap_limit(values: np.ndarray) -> None:
    d = describe(values, max_bootstrap_n=100)
    half = NormalDist().inv_cdf(0.975) * values.std(ddof=1) / math.sqrt(len(values))
    assert d.ci_low == pytest.approx(values.mean() - half) and d.ci_high == pytest.approx(values.mean() + half)
    assert d.ci_method is not None and d.ci_method.startswith("normal approximation")
    # At this size both intervals agree closely: the fallback is not a different answer.
    boot = describe(values)
    assert abs(boot.ci_low - d.ci_low) < 0.1 * (d.ci_high - d.ci_low)


def test_a_million_values_in_a_value_store() -> None:
    x = np.random.default_rng(5).random(1_000_000)
    store = ValueStore()
    store.raw.frombytes(x.tobytes())  # as the collector would after a million appends
    assert len(store) == 1_000_000
    d = describe(store)
    assert d.scored == 1_000_000 and d.mean == pytest.approx(x.mean(), abs=1e-12)
    assert d.p90 == pytest.approx(np.percentile(x, 90), abs=1e-12)
    assert d.ci_method is not None and d.ci_method.startswith("normal") and d.ci_low < d.mean < d.ci_high


def test_empty_and_single_value() -> None:
    empty = describe([], errors=4)
    assert empty.scored == 0 and empty.errors == 4 and empty.mean is None and empty.ci_low is None
    one = describe([0.25])
    assert one.mean == 0.25 and one.p50 == 0.25 and one.std is None and one.ci_low is None


def test_histogram() -> None:
    x = np.random.default_rng(1).random(1000)
    h = histogram(x, bins=20)
    assert h.edges[0] == 0.0 and h.edges[-1] == 1.0 and len(h.edges) == 21 and sum(h.counts) == 1000
    assert h.counts == list(np.histogram(x, bins=20, range=(0.0, 1.0))[0])
    wide = histogram([-2.0, 3.0, 3.0])
    assert wide.edges[0] == -2.0 and wide.edges[-1] == 3.0 and sum(wide.counts) == 3
    flat = histogram([5.0, 5.0])
    assert flat.edges[0] < 5.0 < flat.edges[-1] and sum(flat.counts) == 2
