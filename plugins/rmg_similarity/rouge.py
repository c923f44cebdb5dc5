"""ROUGE as Google's ``rouge-score`` computes it (``rouge``, ``rouge1/2/L``), and OpenJudge's ``rouge_ngram``.

ROUGE-N's precision, recall and F-measure come from clipped n-gram counts
(`ngrams.shared_counts`, a whole batch at once) with ``rouge-score``'s
formulas (``_score_ngrams``); ROUGE-L's from the longest common subsequence
of the two word lists, computed by RapidFuzz's ``LCSseq`` (C++) instead of
``rouge-score``'s pure-Python table (``_score_lcs``).  Words are rmg's terms,
Porter-stemmed like ``rouge-score`` does (only words longer than 3
characters) when ``use_stemmer``.  The tests check both against
``RougeScorer`` pair by pair.
"""

from __future__ import annotations

from typing import Any, Sequence

from .outcome import Empty, Outcome, f_measure
from .words import word_tokenizer


def _prf(shared: float, n_pred: float, n_ref: float) -> tuple[float, float, float]:
    # rouge-score's _score_ngrams: divide by max(count, 1).
    precision = shared / max(n_pred, 1)
    recall = shared / max(n_ref, 1)
    return precision, recall, f_measure(precision, recall)


def _rouge_ngram_prf(shared: float, n_pred: float, n_ref: float) -> tuple[float, float, float]:
    # OpenJudge's compute_rouge_ngram: 0 when a side has no n-grams.
    precision = shared / n_pred if n_pred else 0.0
    recall = shared / n_ref if n_ref else 0.0
    return precision, recall, f_measure(precision, recall)


def rouge(docs: Sequence[str], params: Any) -> list[Outcome]:
    """The mean over ``rouge_types`` of each type's ``score_key`` (F-measure by default)."""
    from rapidfuzz.distance import LCSseq

    from .ngrams import shared_counts, word_units

    tokenize = word_tokenizer(params, stem=params.use_stemmer)
    tokens = [tokenize(text) for text in docs]
    orders = [int(t[5:]) for t in params.rouge_types if t != "rougeL"]
    by_order = shared_counts(*word_units(tokens), orders) if orders else {}
    counts = {t: by_order[int(t[5:])] for t in params.rouge_types if t != "rougeL"}
    key = ("precision", "recall", "fmeasure").index(params.score_key)
    out: list[Outcome] = []
    for k in range(len(docs) // 2):
        pred, ref = tokens[2 * k], tokens[2 * k + 1]
        if not pred or not ref:
            out.append(Empty(bool(pred), bool(ref)))
            continue
        details: dict[str, Any] = {}
        for rouge_type in params.rouge_types:
            if rouge_type == "rougeL":
                lcs = LCSseq.similarity(pred, ref)
                prf = _prf(lcs, len(pred), len(ref))
            else:
                n_p, n_r, shared = counts[rouge_type]
                prf = _prf(float(shared[k]), float(n_p[k]), float(n_r[k]))
            details[rouge_type] = {"precision": prf[0], "recall": prf[1], "fmeasure": prf[2]}
        value = sum(details[t][params.score_key] for t in params.rouge_types) / len(params.rouge_types)
        parts = ", ".join(f"{t} {details[t][params.score_key]:.2f}" for t in params.rouge_types)
        out.append((value, f"rouge {params.score_key} {value:.2f} ({parts})", details))
    return out


def rouge_ngram(docs: Sequence[str], params: Any) -> list[Outcome]:
    """ROUGE-N for one ``n``, no stemming: precision, recall or F-measure (``score_type``)."""
    from .ngrams import shared_counts, word_units

    tokenize = word_tokenizer(params)
    tokens = [tokenize(text) for text in docs]
    n_p, n_r, shared = shared_counts(*word_units(tokens), [params.n])[params.n]
    out: list[Outcome] = []
    for k in range(len(docs) // 2):
        if not tokens[2 * k] or not tokens[2 * k + 1]:
            out.append(Empty(bool(tokens[2 * k]), bool(tokens[2 * k + 1])))
            continue
        precision, recall, fmeasure = _rouge_ngram_prf(float(shared[k]), float(n_p[k]), float(n_r[k]))
        value = {"precision": precision, "recall": recall, "fmeasure": fmeasure}[params.score_type]
        out.append((value, f"rouge-{params.n} {params.score_type} {value:.2f} "
                           f"({int(shared[k])} of {int(n_p[k])}/{int(n_r[k])} {params.n}-grams shared)", {
            "precision": precision, "recall": recall, "fmeasure": fmeasure,
            "overlap_count": int(shared[k]), "response_count": int(n_p[k]), "reference_count": int(n_r[k]),
        }))
    return out


__all__ = ["rouge", "rouge_ngram"]
