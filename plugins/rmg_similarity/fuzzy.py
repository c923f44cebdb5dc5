"""Character-level measures on the raw texts with RapidFuzz: ``fuzzy_match`` and ``edit_distance``.

RapidFuzz's ``process.cpdist`` scores every (prediction, reference) pair of
a batch in one C++ call.  ``ratio`` is ``Indel`` normalized similarity,
which is what ``python-Levenshtein``'s ``Levenshtein.ratio`` (OpenJudge's
call) returns; ``partial_ratio`` and ``token_sort_ratio`` are RapidFuzz's
(OpenJudge hand-rolls its own, see docs/graders/similarity.md).

These metrics cost RapidFuzz about a microsecond a pair, so everything
around them is done a batch at a time too (`Columns`, `format_values`):
per-pair Python work would otherwise cost more than the metric.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Sequence

from .outcome import Columns, Empty

if TYPE_CHECKING:
    import numpy as np

#: The ``matched`` detail, indexed by the boolean (the grader copies it into each result's own dict).
_MATCHED = ({"matched": False}, {"matched": True})


def format_values(template: str, *columns: Sequence[Any]) -> list[str]:
    """``[template % row for row in zip(*columns)]`` in one C-level ``%`` call.

    ``template`` must not contain NUL: it separates the rows while formatting.
    """
    n, width = len(columns[0]), len(columns)
    if not n:
        return []
    flat: list[Any] = [None] * (n * width)
    for i, column in enumerate(columns):
        flat[i::width] = column
    return ((template + "\x00") * n % tuple(flat)).split("\x00")[:-1]


def _texts(docs: Sequence[str], lowercase: bool) -> tuple[list[str], list[str]]:
    if lowercase:
        docs = [text.lower() for text in docs]
    return list(docs[0::2]), list(docs[1::2])


def _blank_pairs(preds: list[str], refs: list[str]) -> dict[int, Empty]:
    """Pairs where a side is empty or whitespace only (``not text.strip()``)."""
    return {k: Empty(bool(p) and not p.isspace(), bool(r) and not r.isspace())
            for k, (p, r) in enumerate(zip(preds, refs)) if not p or not r or p.isspace() or r.isspace()}


def fuzzy_match(docs: Sequence[str], params: Any) -> Columns:
    """RapidFuzz ``ratio`` (or ``partial_ratio`` / ``token_sort_ratio``) in [0, 1]; ``matched`` = score >= threshold."""
    import numpy as np
    from rapidfuzz import fuzz, process

    preds, refs = _texts(docs, params.lowercase)
    scorer = {"ratio": fuzz.ratio, "partial_ratio": fuzz.partial_ratio,
              "token_sort_ratio": fuzz.token_sort_ratio}[params.method]
    scores = process.cpdist(preds, refs, scorer=scorer, dtype=np.float64, workers=1) / 100.0
    np.clip(scores, 0.0, 1.0, out=scores)
    values = scores.tolist()
    is_matched = scores >= params.threshold
    matched = is_matched.tolist()
    reasons = _fuzzy_reasons(params.method, params.threshold, scores, is_matched, values, matched)
    return Columns(values, reasons, [_MATCHED[m] for m in matched], _blank_pairs(preds, refs))


def _fuzzy_reason(method: str, threshold: float, value: float, matched: bool) -> str:
    return f"fuzzy {method} {value:.2f} ({'matched' if matched else 'not matched'} at threshold {threshold:g})"


@functools.lru_cache(maxsize=16)
def _fuzzy_reason_table(method: str, threshold: float) -> tuple[str, ...]:
    """The reason of every score with two decimals k / 100 (k = 0..100), not matched then matched: entry 2k + m."""
    return tuple(_fuzzy_reason(method, threshold, k / 100, m) for k in range(101) for m in (False, True))


def _fuzzy_reasons(method: str, threshold: float, scores: "np.ndarray", is_matched: "np.ndarray",
                   values: list[float], matched: list[bool]) -> list[str]:
    """Each pair's reason, looked up by its score to two decimals instead of formatted (a third of the
    algorithm's cost): ``%.2f`` rounds a score to the nearest hundredth, which ``rint(100 * score)`` finds
    unless 100 * score is within rounding error of a half (``0.125``), where ``%.2f`` itself decides."""
    import numpy as np

    scaled = scores * 100.0
    hundredths = np.rint(scaled)
    near_half = np.abs(np.abs(scaled - np.trunc(scaled)) - 0.5) < 1e-6
    if not (hundredths.size and 0 <= hundredths.min() and hundredths.max() <= 100):  # NaN fails too
        return [_fuzzy_reason(method, threshold, v, m) for v, m in zip(values, matched)]
    keys = hundredths.astype(np.int64)
    keys *= 2
    keys += is_matched
    reasons = list(map(_fuzzy_reason_table(method, threshold).__getitem__, keys.tolist()))
    for k in np.flatnonzero(near_half).tolist():
        reasons[k] = _fuzzy_reason(method, threshold, values[k], matched[k])
    return reasons


def edit_distance(docs: Sequence[str], params: Any) -> Columns:
    """``1 - levenshtein / max(len)`` (or ``1 / (1 + levenshtein)`` without ``normalize_by_length``)."""
    import numpy as np
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    preds, refs = _texts(docs, params.lowercase)
    distances = process.cpdist(preds, refs, scorer=Levenshtein.distance, dtype=np.int64, workers=1)
    longest = np.maximum(np.fromiter(map(len, preds), dtype=np.int64, count=len(preds)),
                         np.fromiter(map(len, refs), dtype=np.int64, count=len(refs)))
    with np.errstate(divide="ignore", invalid="ignore"):  # both texts empty: an Empty pair, value unused
        if params.normalize_by_length:
            scores = 1.0 - distances / longest
        else:
            scores = 1.0 / (1.0 + distances)
    np.clip(scores, 0.0, 1.0, out=scores)
    values = scores.tolist()
    raw, longest_ = distances.tolist(), longest.tolist()
    reasons = format_values("edit_distance %.2f (%d edits, longer text %d characters)", values, raw, longest_)
    details = [{"raw_distance": d, "max_length": n} for d, n in zip(raw, longest_)]
    return Columns(values, reasons, details, _blank_pairs(preds, refs))


__all__ = ["fuzzy_match", "edit_distance", "format_values"]
