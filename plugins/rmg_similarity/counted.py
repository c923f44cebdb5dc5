"""``cosine``, ``token_f1`` / ``f1_score`` and ``jaccard``: measures over each pair's term counts (`terms`, `measures`)."""

from __future__ import annotations

from typing import Any, Sequence

from .outcome import Empty, Outcome
from .words import english_stop_words
from .tokenize import make_tokenizer


def _ngram_range(algorithm: str, params: Any) -> tuple[int, int]:
    return params.terms_range() if algorithm == "jaccard" else params.ngram_range


def counted(algorithm: str, docs: Sequence[str], params: Any) -> list[Outcome]:
    """Scores of ``algorithm`` for ``docs`` = [prediction0, reference0, prediction1, ...], one vectorized pass."""
    import numpy as np

    from .measures import MEASURES, side_lengths
    from .terms import count_ngrams, count_unigrams

    tokenize = make_tokenizer(lowercase=params.lowercase, strip_accents=params.strip_accents)
    stop = english_stop_words() if params.stop_words == "english" else None
    ngram_range = _ngram_range(algorithm, params)
    if ngram_range == (1, 1):
        counts = count_unigrams(docs, tokenize, params.lowercase, stop)
    elif algorithm == "cosine" and params.sublinear_tf:
        # Float weights: rows must come in the terms' own order for batch-independent sums (see terms).
        counts = count_ngrams(docs, tokenize, ngram_range, stop)
    else:
        from .ngrams import term_counts, word_units

        words = [tokenize(text) for text in docs]
        if stop:
            words = [[w for w in ws if w not in stop] for ws in words]
        counts = term_counts(*word_units(words), range(ngram_range[0], ngram_range[1] + 1))
    if algorithm == "cosine":
        score, n_terms, n_shared = MEASURES["cosine"](counts, params.sublinear_tf, params.use_tfidf)
    else:
        score, n_terms, n_shared = MEASURES[algorithm](counts)
    len_p, len_r = side_lengths(counts)
    name = "token_f1" if algorithm == "token_f1" else algorithm
    out: list[Outcome] = []
    rows = zip(score.tolist(), n_terms.astype(np.int64).tolist(), n_shared.astype(np.int64).tolist(),
               len_p.tolist(), len_r.tolist())
    for value, terms, shared, lp, lr in rows:
        if lp and lr:
            out.append((value, f"{name} {value:.2f} over {terms} terms ({shared} shared)", {}))
        else:
            out.append(Empty(bool(lp), bool(lr)))
    return out


__all__ = ["counted"]
