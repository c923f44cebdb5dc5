"""Word terms for the word-based algorithms: rmg's tokenizer, then stop words, then (ROUGE) the Porter stemmer."""

from __future__ import annotations

import functools
from typing import Callable

from .tokenize import make_tokenizer

Tokenize = Callable[[str], list[str]]


@functools.lru_cache(maxsize=1)
def english_stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


@functools.lru_cache(maxsize=1)
def cached_porter_stem() -> Callable[[str], str]:
    """NLTK's Porter stemmer (``PorterStemmer().stem``, as ``rouge-score`` and METEOR use it), memoized.

    Words repeat across texts and stemming is slow (tens of µs a word), so
    each distinct word is stemmed once per process (up to 200,000 words).
    """
    from nltk.stem import porter

    return functools.lru_cache(maxsize=200_000)(porter.PorterStemmer().stem)


def clear_caches() -> None:
    """Forget the memoized stems (benchmarks time a cold run with it)."""
    if cached_porter_stem.cache_info().currsize:
        cached_porter_stem().cache_clear()  # type: ignore[attr-defined]


def word_tokenizer(params: object, stem: bool = False) -> Tokenize:
    """text -> terms for ``params`` (its ``lowercase``, ``strip_accents``, ``stop_words``).

    With ``stem``, words longer than 3 characters are Porter-stemmed, exactly
    as ``rouge-score``'s tokenizer does.
    """
    tokenize = make_tokenizer(lowercase=params.lowercase, strip_accents=params.strip_accents)  # type: ignore[attr-defined]
    stop = english_stop_words() if getattr(params, "stop_words", None) == "english" else None
    stemmer = cached_porter_stem() if stem else None
    if stop is None and stemmer is None:
        return tokenize

    def terms(text: str) -> list[str]:
        words = tokenize(text)
        if stop is not None:
            words = [w for w in words if w not in stop]
        if stemmer is not None:
            words = [stemmer(w) if len(w) > 3 else w for w in words]
        return words

    return terms


__all__ = ["word_tokenizer", "english_stop_words", "cached_porter_stem", "clear_caches", "Tokenize"]
