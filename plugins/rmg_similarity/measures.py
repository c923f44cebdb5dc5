"""The similarity measures, computed for every pair of a batch at once from `TermCounts`.

Each function returns ``(score, n_terms, n_shared)`` arrays indexed by pair.
Sums per pair use ``np.bincount``, which adds a pair's rows in row order; the
row order is fixed by the terms (see `terms`), so a pair's score is the same
in any batch.  Pairs where a side has no terms get NaN here; the grader
replaces them by the documented empty-input rule.
"""

from __future__ import annotations

import math

import numpy as np

from .terms import TermCounts

#: scikit-learn's smooth IDF over a corpus of the pair's two documents,
#: ``ln((1 + n) / (1 + df)) + 1`` with n = 2: 1 for a term in both texts,
#: 1 + ln(3/2) for a term in only one.
IDF_IN_BOTH = math.log(3.0 / 3.0) + 1.0
IDF_IN_ONE = math.log(3.0 / 2.0) + 1.0


def _per_pair(counts: TermCounts, values: "np.ndarray | None" = None) -> "np.ndarray":
    return np.bincount(counts.pair, weights=values, minlength=counts.n_pairs).astype(np.float64, copy=False)


def _sizes(counts: TermCounts, both: "np.ndarray") -> tuple["np.ndarray", "np.ndarray"]:
    return _per_pair(counts), _per_pair(counts, both.astype(np.float64))


def cosine(
    counts: TermCounts, sublinear_tf: bool = False, use_idf: bool = True,
) -> tuple["np.ndarray", "np.ndarray", "np.ndarray"]:
    """TF-IDF cosine with the IDF of the pair's own two documents (see docs/graders/similarity.md).

    Weight of a term in a text: ``tf * idf`` (``tf`` replaced by ``1 + ln(tf)``
    with ``sublinear_tf``; ``idf`` = 1 without ``use_idf``); the score is the
    cosine of the two weight vectors.
    """
    tf_p, tf_r = counts.tf_p, counts.tf_r
    both = (tf_p > 0) & (tf_r > 0)
    if not sublinear_tf:
        # Integer counts: the dot product (shared terms have idf 1) and each norm's two parts are exact
        # integer sums, so the score does not depend on the order of the rows (nor on the batch).
        idf2 = IDF_IN_ONE * IDF_IN_ONE if use_idf else 1.0
        dot = _per_pair(counts, tf_p * tf_r)
        sq_p, sq_r = tf_p * tf_p, tf_r * tf_r
        norm2_p = _per_pair(counts, np.where(both, sq_p, 0.0)) + idf2 * _per_pair(counts, np.where(both, 0.0, sq_p))
        norm2_r = _per_pair(counts, np.where(both, sq_r, 0.0)) + idf2 * _per_pair(counts, np.where(both, 0.0, sq_r))
        with np.errstate(invalid="ignore", divide="ignore"):
            score = dot / np.sqrt(norm2_p * norm2_r)
        np.minimum(score, 1.0, out=score)
        n_terms, n_shared = _sizes(counts, both)
        return score, n_terms, n_shared
    if sublinear_tf:
        tf_p = np.where(tf_p > 0, 1.0 + np.log(np.maximum(tf_p, 1.0)), 0.0)
        tf_r = np.where(tf_r > 0, 1.0 + np.log(np.maximum(tf_r, 1.0)), 0.0)
    if use_idf:
        idf = np.where(both, IDF_IN_BOTH, IDF_IN_ONE)
        w_p = tf_p * idf
        w_r = tf_r * idf
    else:
        w_p, w_r = tf_p, tf_r
    dot = _per_pair(counts, w_p * w_r)
    norm2 = _per_pair(counts, w_p * w_p) * _per_pair(counts, w_r * w_r)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = dot / np.sqrt(norm2)
    # Rounding can put identical texts a hair above 1.
    np.minimum(score, 1.0, out=score)
    n_terms, n_shared = _sizes(counts, both)
    return score, n_terms, n_shared


def token_f1(counts: TermCounts) -> tuple["np.ndarray", "np.ndarray", "np.ndarray"]:
    """Token-level F1 over term multisets: ``2 * overlap / (len_p + len_r)``.

    ``overlap`` is the sum over terms of ``min(tf_p, tf_r)``; this equals the
    harmonic mean of precision ``overlap / len_p`` and recall ``overlap / len_r``.
    """
    both = (counts.tf_p > 0) & (counts.tf_r > 0)
    overlap = _per_pair(counts, np.minimum(counts.tf_p, counts.tf_r))
    total = _per_pair(counts, counts.tf_p) + _per_pair(counts, counts.tf_r)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = 2.0 * overlap / total
    n_terms, n_shared = _sizes(counts, both)
    return score, n_terms, n_shared


def jaccard(counts: TermCounts) -> tuple["np.ndarray", "np.ndarray", "np.ndarray"]:
    """Jaccard index of the two sets of distinct terms: ``|P ∩ R| / |P ∪ R|``."""
    both = (counts.tf_p > 0) & (counts.tf_r > 0)
    n_terms, n_shared = _sizes(counts, both)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = n_shared / n_terms
    return score, n_terms, n_shared


def side_lengths(counts: TermCounts) -> tuple["np.ndarray", "np.ndarray"]:
    """Number of term occurrences in each prediction and each reference."""
    return _per_pair(counts, counts.tf_p), _per_pair(counts, counts.tf_r)


MEASURES = {"cosine": cosine, "token_f1": token_f1, "jaccard": jaccard}

__all__ = ["MEASURES", "cosine", "token_f1", "jaccard", "side_lengths", "IDF_IN_BOTH", "IDF_IN_ONE"]
