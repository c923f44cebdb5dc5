"""Counting each pair's terms for a whole batch at once, with numpy.

Every measure of this plugin needs, for each (prediction, reference) pair and
each distinct term of the pair, the term's count in the prediction (``tf_p``)
and in the reference (``tf_r``).  `count_terms` returns exactly that as flat
arrays of *groups* (one group = one pair's one term).

Why the result never depends on the batch: a group is identified by the
term's own bytes, never by a batch-wide vocabulary; and each pair's groups
come out in an order fixed by the terms themselves (their bytes), so the
per-pair sums of `measures` add the same numbers in the same order whether
the pair is graded alone or among 100,000 others.

This module is imported lazily (it imports numpy); the plugin's registration
never loads it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

#: Bytes that are part of a term in the byte stream: ASCII word characters
#: and every byte of a multi-byte UTF-8 character (only present in terms that
#: the Unicode tokenizer already produced and joined with spaces).
_WORD_LOWER = np.zeros(256, dtype=bool)
_WORD_LOWER[np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789_", dtype=np.uint8)] = True
_WORD_LOWER[0x80:] = True
_WORD_CASED = _WORD_LOWER.copy()
_WORD_CASED[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)] = True

#: A term of at most 8 bytes is its own key: its bytes packed big-endian into
#: a uint64 (zero-padded; term bytes are never 0, so packing is one-to-one,
#: and numeric order is byte order).  _MASKS[n] keeps the first n bytes.
_PACKED = 8
_MASKS = np.array([0] + [((1 << (8 * n)) - 1) << (8 * (_PACKED - n)) for n in range(1, _PACKED + 1)], dtype=np.uint64)


@dataclass
class TermCounts:
    """One row per (pair, distinct term); each pair's rows in a fixed, batch-independent order."""

    n_pairs: int
    pair: "np.ndarray"   # int64: the pair each group belongs to
    tf_p: "np.ndarray"   # float64: count of the term in the prediction
    tf_r: "np.ndarray"   # float64: count of the term in the reference


def _groups(keys: "np.ndarray", doc: "np.ndarray") -> tuple["np.ndarray", "np.ndarray", "np.ndarray"]:
    """Group tokens by (pair, term key); ``doc`` is ``2*pair + side`` (side 1 = reference).

    A stable sort by key keeps equal keys in document order, so each
    (pair, key) group is one contiguous run: one sort does all the counting.
    """
    if keys.size == 0:
        empty = np.zeros(0, dtype=np.float64)
        return np.zeros(0, dtype=np.int64), empty, empty
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    d = doc[order]
    p = d >> 1
    new = np.empty(k.size, dtype=bool)
    new[0] = True
    np.not_equal(k[1:], k[:-1], out=new[1:])
    new[1:] |= p[1:] != p[:-1]
    gid = np.cumsum(new) - 1
    total = np.bincount(gid).astype(np.float64)
    tf_r = np.bincount(gid, weights=(d & 1).astype(np.float64))
    return p[new], total - tf_r, tf_r


def _rank_keys(terms: Sequence, offset: int = 0) -> "np.ndarray":
    """Keys for terms compared as Python objects: their rank in sorted order (exact)."""
    rank = {term: i for i, term in enumerate(sorted(set(terms)), offset)}
    return np.fromiter(map(rank.__getitem__, terms), dtype=np.uint64, count=len(terms))


def count_unigrams(
    docs: Sequence[str],
    tokenize: Callable[[str], list[str]],
    lowercase: bool,
    stop_words: frozenset[str] | None,
) -> TermCounts:
    """Term counts for single-word terms; ``docs`` alternate prediction, reference.

    ASCII documents (the common case) are tokenized with numpy on their bytes;
    others go through ``tokenize`` and its terms are re-joined with spaces, so
    both kinds become one byte stream of space-separated terms.
    """
    n_docs = len(docs)
    if all(map(str.isascii, docs)):
        # The common case: one join, one lower, one encode for the whole batch.
        joined = " ".join(docs)
        stream = (joined.lower() if lowercase else joined).encode()
        lengths = np.fromiter(map(len, docs), dtype=np.int64, count=n_docs)
    else:
        encoded = []
        for text in docs:
            if text.isascii():
                encoded.append((text.lower() if lowercase else text).encode())
            else:
                encoded.append(" ".join(tokenize(text)).encode())
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=n_docs)
        stream = b" ".join(encoded)
    n = len(stream)
    padded = stream + bytes(_PACKED)
    data = np.frombuffer(padded, dtype=np.uint8)
    word = (_WORD_LOWER if lowercase else _WORD_CASED)[data[:n]].view(np.int8)
    edges = np.diff(word, prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    doc_start = np.zeros(n_docs, dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=doc_start[1:])
    doc = np.searchsorted(doc_start, starts, side="right") - 1
    size = ends - starts

    short = size <= _PACKED
    s_start = starts[short]
    # A stride-1 view reads the 8 bytes that begin at any offset as a
    # big-endian uint64; the mask then zeroes bytes past the term's end.
    windows = np.ndarray(shape=(n,), dtype=">u8", buffer=padded, strides=(1,))
    s_keys = windows[s_start].astype(np.uint64) & _MASKS[size[short]]
    s_doc = doc[short]

    long_ = ~short
    l_doc = doc[long_]
    l_terms = [padded[a:b] for a, b in zip(starts[long_].tolist(), ends[long_].tolist())]

    if stop_words:
        s_stop, l_stop = _stop_keys(stop_words)
        if s_stop.size:
            at = np.minimum(np.searchsorted(s_stop, s_keys), s_stop.size - 1)
            keep = s_stop[at] != s_keys
            s_keys, s_doc = s_keys[keep], s_doc[keep]
        if l_terms and l_stop:
            keep_l = [t not in l_stop for t in l_terms]
            l_terms = [t for t, k in zip(l_terms, keep_l) if k]
            l_doc = l_doc[np.array(keep_l, dtype=bool)]

    # Short and long terms form two groups of rows, short first: a fixed
    # order, so per-pair sums stay batch-independent.
    sp, sp_tf_p, sp_tf_r = _groups(s_keys, s_doc)
    lp, lp_tf_p, lp_tf_r = _groups(_rank_keys(l_terms), l_doc)
    return TermCounts(
        n_pairs=n_docs // 2,
        pair=np.concatenate([sp, lp]),
        tf_p=np.concatenate([sp_tf_p, lp_tf_p]),
        tf_r=np.concatenate([sp_tf_r, lp_tf_r]),
    )


@functools.lru_cache(maxsize=4)
def _stop_keys(stop_words: frozenset[str]) -> tuple["np.ndarray", frozenset[bytes]]:
    short, long_ = [], []
    for word in stop_words:
        raw = word.encode()
        if len(raw) <= _PACKED:
            short.append(int.from_bytes(raw.ljust(_PACKED, b"\0"), "big"))
        else:
            long_.append(raw)
    return np.array(sorted(short), dtype=np.uint64), frozenset(long_)


def count_ngrams(
    docs: Sequence[str],
    tokenize: Callable[[str], list[str]],
    ngram_range: tuple[int, int],
    stop_words: frozenset[str] | None,
) -> TermCounts:
    """Term counts for word n-grams (``min_n`` to ``max_n`` consecutive terms, joined by a space).

    Stop words are removed before n-grams are formed, as scikit-learn does.
    """
    lo, hi = ngram_range
    terms: list[str] = []
    counts: list[int] = []
    for text in docs:
        tokens = tokenize(text)
        if stop_words:
            tokens = [t for t in tokens if t not in stop_words]
        grams: list[str] = tokens[:] if lo == 1 else []
        for size in range(max(lo, 2), hi + 1):
            grams.extend(" ".join(tokens[i:i + size]) for i in range(len(tokens) - size + 1))
        terms.extend(grams)
        counts.append(len(grams))
    doc = np.repeat(np.arange(len(docs), dtype=np.int64), counts)
    pair, tf_p, tf_r = _groups(_rank_keys(terms), doc)
    return TermCounts(n_pairs=len(docs) // 2, pair=pair, tf_p=tf_p, tf_r=tf_r)


__all__ = ["TermCounts", "count_unigrams", "count_ngrams"]
