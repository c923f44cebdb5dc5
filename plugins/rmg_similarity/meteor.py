"""NLTK's METEOR (``single_meteor_score``) without WordNet synonyms, for a batch, each word stemmed once.

NLTK aligns a pair's words in three stages: exact matches, then Porter
stems of the words left, then WordNet synonyms; each stage walks the
prediction from its last word back and takes the last unmatched reference
word that matches (``_match_enums``).  rmg has no WordNet (see
`translation`), and with none the third stage only re-tries the stems the
second already exhausted, so it never matches.  The first two stages are
written out here as NLTK does them, but a word's stem comes from a cache
instead of being recomputed for every pair it appears in (stemming is
most of NLTK's time).  The score is NLTK's formula, operation for
operation.  The tests compare every pair with ``single_meteor_score``
(hypothesis included).
"""

from __future__ import annotations

from typing import Callable, Sequence

from .outcome import Empty
from .words import cached_porter_stem


def _align(hyp: list[str], ref: list[str], stem: Callable[[str], str]) -> list[tuple[int, int]]:
    """NLTK's ``_enum_align_words`` with an empty WordNet: (prediction index, reference index) matches."""
    positions: dict[str, list[int]] = {}
    for j, word in enumerate(ref):
        positions.setdefault(word, []).append(j)
    matches: list[tuple[int, int]] = []
    hyp_left: list[int] = []  # unmatched prediction words, last first (the order NLTK visits them)
    for i in range(len(hyp) - 1, -1, -1):
        found = positions.get(hyp[i])
        if found:
            matches.append((i, found.pop()))
        else:
            hyp_left.append(i)
    if hyp_left and len(matches) < len(ref):
        stems: dict[str, list[int]] = {}
        for j in sorted(j for found in positions.values() for j in found):
            stems.setdefault(stem(ref[j]), []).append(j)
        for i in hyp_left:
            found = stems.get(stem(hyp[i]))
            if found:
                matches.append((i, found.pop()))
    matches.sort()
    return matches


def _chunks(matches: list[tuple[int, int]]) -> int:
    """NLTK's ``_count_chunks``: runs of matches adjacent in both texts."""
    chunks = 1
    for (i0, j0), (i1, j1) in zip(matches, matches[1:]):
        if not (i1 == i0 + 1 and j1 == j0 + 1):
            chunks += 1
    return chunks


def meteor_scores(
    words: Sequence[list[str]], alpha: float, beta: float, gamma: float,
) -> tuple[list[float], dict[int, Empty]]:
    """METEOR of each pair of ``words`` = [prediction0, reference0, ...] (already preprocessed), and the empty pairs."""
    stem = cached_porter_stem()
    values: list[float] = []
    empty: dict[int, Empty] = {}
    for k in range(len(words) // 2):
        hyp, ref = words[2 * k], words[2 * k + 1]
        if not hyp or not ref:
            empty[k] = Empty(bool(hyp), bool(ref))
            values.append(0.0)
            continue
        matches = _align(hyp, ref, stem)
        matches_count = len(matches)
        if not matches_count:
            values.append(0.0)  # NLTK: ZeroDivisionError -> 0.0
            continue
        # single_meteor_score, operation for operation.
        precision = float(matches_count) / len(hyp)
        recall = float(matches_count) / len(ref)
        fmean = (precision * recall) / (alpha * precision + (1 - alpha) * recall)
        frag_frac = float(_chunks(matches)) / matches_count
        penalty = gamma * frag_frac ** beta
        values.append(min(1.0, max(0.0, (1 - penalty) * fmean)))
    return values, empty


__all__ = ["meteor_scores"]
