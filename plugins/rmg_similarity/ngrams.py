"""Clipped n-gram counts of many (prediction, reference) pairs at once, with numpy.

BLEU, sentence BLEU, GLEU, ROUGE-N and chrF all need, per pair and per
n-gram order, the same three integers: how many n-grams the prediction has,
how many the reference has, and how many they share (each n-gram counted at
most as often as it occurs in both: ``sum_g min(count_p(g), count_r(g))``).
The libraries build a ``Counter`` per sentence; here a whole batch is
counted with a few numpy sorts, and each library's own formula then turns
the counts into its score.

How: every unit (a word, or a character) of the batch gets an integer id.
An n-gram's id is its (n-1)-gram prefix's id times the number of units plus
its last unit's id (re-ranked with `np.unique` when that could overflow).
N-grams that would cross from one text into the next are dropped.  One sort
of (n-gram id, doc) per order then counts each n-gram in each text.  The
counts are integers, so the result is the same in any batch.

Imported lazily (numpy).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np

if TYPE_CHECKING:
    from .terms import TermCounts


#: Per order n: (n-grams in each prediction, in each reference, shared with clipping), float64 arrays by pair.
Counts = tuple["np.ndarray", "np.ndarray", "np.ndarray"]


def word_units(docs: Sequence[Sequence[str]]) -> tuple["np.ndarray", "np.ndarray"]:
    """Integer ids of every word of ``docs`` (concatenated), and each doc's length."""
    flat = list(itertools.chain.from_iterable(docs))
    table = {word: i for i, word in enumerate(dict.fromkeys(flat))}
    ids = np.fromiter(map(table.__getitem__, flat), dtype=np.int64, count=len(flat))
    return ids, np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))


def char_units(docs: Sequence[str]) -> tuple["np.ndarray", "np.ndarray"]:
    """An integer id of every character of ``docs`` (concatenated), and each doc's length."""
    joined = "".join(docs)
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    # Ranks instead of code points: one "’" would otherwise make every id 13 bits wide, and 6-grams overflow.
    # A table over the code points present ranks them without sorting the characters.
    present = np.zeros(int(codes.max()) + 1 if codes.size else 1, dtype=np.int64)
    present[codes] = 1
    rank = np.cumsum(present) - 1
    return rank[codes], np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))


def shared_counts(units: "np.ndarray", lengths: "np.ndarray", orders: Sequence[int]) -> dict[int, Counts]:
    """The clipped counts of every order in ``orders``, for docs that alternate prediction, reference."""
    n_pairs = len(lengths) // 2
    if int(lengths.sum()) == 0:
        zero = np.zeros(n_pairs, dtype=np.float64)
        return {n: (zero, zero, zero) for n in orders}
    counted = _one_sort_counts(units, lengths, orders)
    if counted is not None:
        return counted
    return {n: _clipped(key, doc, len(lengths), lengths, n) for n, key, doc in _grams(units, lengths, orders)}


def _one_sort_counts(units: "np.ndarray", lengths: "np.ndarray", orders: Sequence[int]) -> "dict[int, Counts] | None":
    """`shared_counts` with a single sort for every order, or None when its keys cannot fit in 63 bits.

    Each position gets one integer key: its pair, then the ids of the
    ``max(orders)`` units starting there, then 1 bit for prediction or
    reference.  Sorted, the keys of equal n-grams of a pair are adjacent for
    *every* n (they share the key's top bits), so each order's counts are a
    pass over runs of equal top bits instead of a sort.  Past the end of a
    text the ids are 0 in a prediction and 1 in a reference (real units
    count from 2), so an n-gram cut by the end never matches anything.
    Batches too large for one key are cut into groups of pairs.
    """
    max_order, n_pairs = max(orders), len(lengths) // 2
    ranks = units.astype(np.int64) + 2
    bits = int(ranks.max()).bit_length()
    room = 62 - max_order * bits  # bits left for the pair
    if room < 6:
        ranks = _ranks_in_pair(ranks, lengths)
        bits = int(ranks.max()).bit_length()
        room = 62 - max_order * bits
        if room < max(1, (n_pairs - 1).bit_length()):
            return None
    group = 1 << room
    if n_pairs <= group:
        return _runs_counts(ranks, bits, lengths, orders)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    parts = [_runs_counts(ranks[bounds[2 * a]:bounds[min(2 * (a + group), len(lengths))]], bits,
                          lengths[2 * a:2 * (a + group)], orders) for a in range(0, n_pairs, group)]
    return {n: tuple(np.concatenate([part[n][i] for part in parts]) for i in range(3)) for n in orders}  # type: ignore[misc]


def _ranks_in_pair(ranks: "np.ndarray", lengths: "np.ndarray") -> "np.ndarray":
    """Unit ids (from 2) numbered within each pair: a pair has far fewer distinct units than a batch."""
    n_pairs = len(lengths) // 2
    pair = np.repeat(np.arange(n_pairs, dtype=np.int64), lengths[0::2] + lengths[1::2])
    vocabulary = int(ranks.max()) + 1
    distinct, inverse = np.unique(pair * vocabulary + ranks, return_inverse=True)
    first_of_pair = np.searchsorted(distinct, np.arange(n_pairs, dtype=np.int64) * vocabulary)
    return inverse.ravel().astype(np.int64) - first_of_pair[pair] + 2


def _runs_counts(ranks: "np.ndarray", bits: int, lengths: "np.ndarray", orders: Sequence[int]) -> dict[int, Counts]:
    n_docs, max_order = len(lengths), max(orders)
    n_pairs = n_docs // 2
    padded_lengths = lengths + max_order
    size = int(padded_lengths.sum())
    doc = np.repeat(np.arange(n_docs, dtype=np.int64), padded_lengths)
    # Every text followed by max_order padding ids: 0 after a prediction, 1 after a reference.
    padded = np.zeros(size + max_order, dtype=np.int64)
    padded[:size] = doc & 1
    where = np.arange(len(ranks), dtype=np.int64) + np.repeat(np.arange(n_docs, dtype=np.int64) * max_order, lengths)
    padded[where] = ranks
    key = doc >> 1
    for j in range(max_order):
        key <<= bits
        key |= padded[j:j + size]
    key <<= 1
    key |= doc & 1
    key.sort()
    in_reference = np.cumsum(key & 1)  # references among the keys up to each one
    # A pair's keys are contiguous once sorted (its number is their top bits): where each pair's keys begin.
    pair_starts = np.zeros(n_pairs + 1, dtype=np.int64)
    np.cumsum(padded_lengths[0::2] + padded_lengths[1::2], out=pair_starts[1:])
    prefix = np.empty_like(key)
    new = np.ones(size, dtype=bool)
    out: dict[int, Counts] = {}
    for n in orders:
        np.right_shift(key, 1 + bits * (max_order - n), out=prefix)  # (pair, first n units)
        np.not_equal(prefix[1:], prefix[:-1], out=new[1:])
        starts = np.flatnonzero(new)  # where each run of equal n-grams of a pair begins
        # The references and predictions in each run, from the running count of references at its start.
        n_r = np.take(in_reference, starts - 1)
        n_r[0] = 0
        n_r = np.diff(n_r, append=in_reference[-1])
        n_p = np.diff(starts, append=size)
        n_p -= n_r
        # Each run's clipped count, summed pair by pair: a pair's runs are contiguous too.
        running = np.zeros(starts.size + 1, dtype=np.int64)
        np.cumsum(np.minimum(n_p, n_r), out=running[1:])
        shared = np.diff(np.take(running, np.searchsorted(starts, pair_starts))).astype(np.float64)
        grams = np.maximum(lengths - n + 1, 0).astype(np.float64)
        out[n] = (grams[0::2], grams[1::2], shared)
    return out


def term_counts(units: "np.ndarray", lengths: "np.ndarray", orders: Sequence[int]) -> "TermCounts":
    """Every pair's distinct n-grams (of the sizes in ``orders``) with their count in each text, as `TermCounts`.

    Rows come in an order that depends on the batch: fine for the integer
    sums of token F1, Jaccard and plain-tf cosine, which `measures` adds
    exactly.
    """
    from .terms import TermCounts

    n_docs = len(lengths)
    pairs, tf_p, tf_r = [np.zeros(0, dtype=np.int64)], [np.zeros(0)], [np.zeros(0)]
    for _, key, doc in (_grams(units, lengths, orders) if int(lengths.sum()) else ()):
        code, count = np.unique(key * n_docs + doc, return_counts=True)
        gram, which = np.divmod(code, n_docs)
        pair = which >> 1
        new = np.ones(code.size, dtype=bool)
        new[1:] = (gram[1:] != gram[:-1]) | (pair[1:] != pair[:-1])
        group = np.cumsum(new) - 1
        in_r = np.bincount(group, weights=count * (which & 1))
        pairs.append(pair[new])
        tf_r.append(in_r)
        tf_p.append(np.bincount(group, weights=count) - in_r)
    return TermCounts(n_pairs=n_docs // 2, pair=np.concatenate(pairs), tf_p=np.concatenate(tf_p),
                      tf_r=np.concatenate(tf_r))


def _grams(units: "np.ndarray", lengths: "np.ndarray", orders: Sequence[int]) -> Iterator[tuple[int, "np.ndarray", "np.ndarray"]]:
    """``(n, key, doc)`` for each n in ``orders``: an id per n-gram occurrence (equal n-grams, equal ids), and its doc."""
    n_docs = len(lengths)
    total = int(lengths.sum())
    doc = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    start = np.zeros(n_docs, dtype=np.int64)
    np.cumsum(lengths[:-1], out=start[1:])
    room = lengths[doc] - (np.arange(total, dtype=np.int64) - start[doc])  # units from each position to its doc's end
    base = int(units.max()) + 1
    key, bound = units.astype(np.int64), base  # every key < bound
    for n in range(1, max(orders) + 1):
        if n > 1:
            if bound > _KEY_LIMIT // base:
                # Re-rank so the extended keys cannot overflow (long n-grams of a large vocabulary).
                _, key = np.unique(key, return_inverse=True)
                key, bound = key.astype(np.int64).ravel(), int(key.max()) + 1
            key = key[:-1] * base + units[n - 1:]  # the (n-1)-gram extended by the next unit
            bound *= base
        if n in orders:
            valid = room[: key.size] >= n
            k = key[valid]
            if k.size and int(k.max()) >= _KEY_LIMIT // max(n_docs, 1):
                _, k = np.unique(k, return_inverse=True)
                k = k.astype(np.int64).ravel()
            yield n, k, doc[: key.size][valid]


#: Keys stay below 2**62: a key times the number of docs must still fit in an int64.
_KEY_LIMIT = 2 ** 62


def _clipped(key: "np.ndarray", doc: "np.ndarray", n_docs: int, lengths: "np.ndarray", n: int) -> Counts:
    n_pairs = n_docs // 2
    # One sort counts each (n-gram, doc): equal n-grams sit together, a pair's prediction just before its reference.
    code, count = np.unique(key * n_docs + doc, return_counts=True)
    gram, which = np.divmod(code, n_docs)
    both = (gram[1:] == gram[:-1]) & ((which[1:] >> 1) == (which[:-1] >> 1))
    shared = np.bincount(which[1:][both] >> 1, weights=np.minimum(count[1:], count[:-1])[both], minlength=n_pairs)
    grams = np.maximum(lengths - n + 1, 0).astype(np.float64)
    return grams[0::2], grams[1::2], shared.astype(np.float64)


__all__ = ["Counts", "char_units", "shared_counts", "term_counts", "word_units"]
