"""Character-level measures on the raw texts with RapidFuzz: ``fuzzy_match`` and ``edit_distance``.

RapidFuzz's ``process.cpdist`` scores every (prediction, reference) pair of
a batch in one C++ call.  ``ratio`` is ``Indel`` normalized similarity,
which is what ``python-Levenshtein``'s ``Levenshtein.ratio`` (OpenJudge's
call) returns; ``partial_ratio`` and ``token_sort_ratio`` are RapidFuzz's
(OpenJudge hand-rolls its own, see docs/graders/similarity.md).
"""

from __future__ import annotations

from typing import Any, Sequence

from .outcome import Empty, Outcome


def _texts(docs: Sequence[str], lowercase: bool) -> tuple[list[str], list[str]]:
    if lowercase:
        docs = [text.lower() for text in docs]
    return list(docs[0::2]), list(docs[1::2])


def fuzzy_match(docs: Sequence[str], params: Any) -> list[Outcome]:
    """RapidFuzz ``ratio`` (or ``partial_ratio`` / ``token_sort_ratio``) in [0, 1]; ``matched`` = score >= threshold."""
    import numpy as np
    from rapidfuzz import fuzz, process

    preds, refs = _texts(docs, params.lowercase)
    scorer = {"ratio": fuzz.ratio, "partial_ratio": fuzz.partial_ratio,
              "token_sort_ratio": fuzz.token_sort_ratio}[params.method]
    scores = process.cpdist(preds, refs, scorer=scorer, dtype=np.float64, workers=1) / 100.0
    out: list[Outcome] = []
    for pred, ref, value in zip(preds, refs, scores.tolist()):
        if not pred.strip() or not ref.strip():
            out.append(Empty(bool(pred.strip()), bool(ref.strip())))
            continue
        value = min(1.0, max(0.0, value))
        matched = value >= params.threshold
        out.append((value, f"fuzzy {params.method} {value:.2f} ({'matched' if matched else 'not matched'} "
                           f"at threshold {params.threshold:g})", {"matched": matched}))
    return out


def edit_distance(docs: Sequence[str], params: Any) -> list[Outcome]:
    """``1 - levenshtein / max(len)`` (or ``1 / (1 + levenshtein)`` without ``normalize_by_length``)."""
    import numpy as np
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    preds, refs = _texts(docs, params.lowercase)
    distances = process.cpdist(preds, refs, scorer=Levenshtein.distance, dtype=np.int64, workers=1).tolist()
    out: list[Outcome] = []
    for pred, ref, distance in zip(preds, refs, distances):
        if not pred.strip() or not ref.strip():
            out.append(Empty(bool(pred.strip()), bool(ref.strip())))
            continue
        longest = max(len(pred), len(ref))
        value = 1.0 - distance / longest if params.normalize_by_length else 1.0 / (1.0 + distance)
        value = min(1.0, max(0.0, value))
        out.append((value, f"edit_distance {value:.2f} ({distance} edits, longer text {longest} characters)",
                    {"raw_distance": distance, "max_length": longest}))
    return out


__all__ = ["fuzzy_match", "edit_distance"]
