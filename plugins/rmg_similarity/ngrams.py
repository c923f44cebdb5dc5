"""Clipped n-gram counts of many (prediction, reference) pairs at once, with numpy.

BLEU, GLEU, ROUGE-N and chrF all need, per pair and per n-gram order, the
same three integers: how many n-grams the prediction has, how many the
reference has, and how many they share (each n-gram counted at most as often
as it occurs in both: ``sum_g min(count_p(g), count_r(g))``).  The libraries
compute them with a ``Counter`` per sentence; here one stable sort per order
counts a whole batch (`terms._groups`), and each library's own formula is
then applied to the counts.  The counts are integers, so the result is the
same in any batch.

Imported lazily (numpy).
"""

from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np

from .terms import _groups


def _ids(grams: list[Hashable]) -> "np.ndarray":
    """A distinct integer per distinct n-gram (first-seen order: the ids only need to be consistent)."""
    table: dict[Hashable, int] = {}
    setdefault = table.setdefault
    return np.fromiter((setdefault(g, len(table)) for g in grams), dtype=np.uint64, count=len(grams))


def shared_counts(docs: Sequence[Sequence[Hashable]], n: int) -> tuple["np.ndarray", "np.ndarray", "np.ndarray"]:
    """Per pair: (n-grams of the prediction, of the reference, shared with clipping), for n-grams of ``n`` items.

    ``docs`` alternate prediction, reference (token lists, or strings for
    character n-grams).
    """
    n_pairs = len(docs) // 2
    grams: list[Hashable] = []
    lengths = np.empty(len(docs), dtype=np.int64)
    extend = grams.extend
    for k, items in enumerate(docs):
        if n == 1:
            extend(items)
            lengths[k] = len(items)
        else:
            before = len(grams)
            extend(zip(*(items[i:] for i in range(n))))
            lengths[k] = len(grams) - before
    doc = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    pair, tf_p, tf_r = _groups(_ids(grams), doc)
    shared = np.bincount(pair, weights=np.minimum(tf_p, tf_r), minlength=n_pairs)
    return lengths[0::2].astype(np.float64), lengths[1::2].astype(np.float64), shared


__all__ = ["shared_counts"]
