"""The machine-translation measures: ``bleu`` and ``chrf`` (sacreBLEU), ``sentence_bleu``, ``gleu`` and ``meteor`` (NLTK).

For BLEU, sentence BLEU, GLEU and chrF, the clipped n-gram counts of a whole
batch are computed at once (`ngrams.shared_counts`) and each library's own
formula (``BLEU.compute_bleu``, NLTK's smoothing functions, chrF's F-score)
turns them into the score; the tests check the result against the
library's sentence-level call pair by pair.  METEOR aligns words one pair at
a time, so it calls NLTK per pair.

WordNet: NLTK's METEOR matches exact words, then Porter stems, then WordNet
synonyms.  The WordNet corpus is not shipped by any package on PyPI that
NLTK can read, and rmg never downloads at run time, so the synonym stage is
given an empty WordNet: a pair's METEOR here is what NLTK computes when no
two different words are synonyms (equal to NLTK's full score whenever the
texts have no synonym pair, lower otherwise; see docs/graders/similarity.md).
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Any, Sequence

from .outcome import Empty, Outcome
from .words import word_tokenizer


# -- bleu (sacreBLEU) ------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _sacrebleu_bleu(max_ngram_order: int, smooth_method: str, smooth_value: Any, effective_order: bool, lowercase: bool):  # type: ignore[no-untyped-def]
    from sacrebleu.metrics import BLEU

    return BLEU(max_ngram_order=max_ngram_order, smooth_method=smooth_method, smooth_value=smooth_value,
                effective_order=effective_order, lowercase=lowercase)


def bleu(docs: Sequence[str], params: Any) -> list[Outcome]:
    """sacreBLEU sentence BLEU (13a tokens) of each pair, in [0, 1]; details: precisions, bp, lengths."""
    from .ngrams import shared_counts, word_units

    metric = _sacrebleu_bleu(params.max_ngram_order, params.smooth_method, params.smooth_value,
                             params.effective_order, params.lowercase)
    # What BLEU.sentence_score does to each text before counting (sacreBLEU's 13a tokenizer, cached per text).
    tokens = [metric._preprocess_segment(text).split() for text in docs]
    order = params.max_ngram_order
    counts = shared_counts(*word_units(tokens), range(1, order + 1))
    stats = [counts[n] for n in range(1, order + 1)]
    out: list[Outcome] = []
    for k in range(len(docs) // 2):
        sys_len, ref_len = len(tokens[2 * k]), len(tokens[2 * k + 1])
        if not sys_len or not ref_len:
            out.append(Empty(bool(sys_len), bool(ref_len)))
            continue
        correct = [int(s[2][k]) for s in stats]
        total = [int(s[0][k]) for s in stats]
        result = metric.compute_bleu(correct, total, sys_len, ref_len, smooth_method=params.smooth_method,
                                     smooth_value=params.smooth_value, effective_order=params.effective_order,
                                     max_ngram_order=order)
        value = min(1.0, max(0.0, result.score / 100.0))
        out.append((value, f"bleu {value:.2f} (brevity penalty {result.bp:.2f}, {sys_len}/{ref_len} tokens)", {
            "precisions": [p / 100.0 for p in result.precisions], "bp": result.bp,
            "sys_len": sys_len, "ref_len": ref_len,
        }))
    return out


# -- sentence_bleu (NLTK) ----------------------------------------------------------
def sentence_bleu(docs: Sequence[str], params: Any) -> list[Outcome]:
    """NLTK ``sentence_bleu`` over rmg's word terms, with its ``SmoothingFunction().method<N>``."""
    from nltk.translate.bleu_score import SmoothingFunction, brevity_penalty

    from .ngrams import shared_counts, word_units

    tokenize = word_tokenizer(params)
    tokens = [tokenize(text) for text in docs]
    weights = params.weights
    counts = shared_counts(*word_units(tokens), range(1, len(weights) + 1))
    stats = [counts[n] for n in range(1, len(weights) + 1)]
    smoothing = getattr(SmoothingFunction(), f"method{params.smoothing_function}")
    out: list[Outcome] = []
    for k in range(len(docs) // 2):
        hyp, ref = tokens[2 * k], tokens[2 * k + 1]
        if not hyp or not ref:
            out.append(Empty(bool(hyp), bool(ref)))
            continue
        # NLTK's modified_precision: Fraction(clipped, max(1, hypothesis n-grams)), unnormalized.
        p_n = [Fraction(int(s[2][k]), max(1, int(s[0][k])), _normalize=False) for s in stats]
        bp = brevity_penalty(len(ref), len(hyp))
        if p_n[0].numerator == 0:
            value = 0.0  # NLTK returns 0 when no unigram matches, whatever the smoothing
        else:
            p_n = smoothing(p_n, references=[ref], hypothesis=hyp, hyp_len=len(hyp))
            value = bp * math.exp(math.fsum(w * math.log(p) for w, p in zip(weights, p_n) if p > 0))
        value = min(1.0, max(0.0, value))
        out.append((value, f"sentence_bleu {value:.2f} over {len(hyp)}/{len(ref)} words", {"bp": bp}))
    return out


# -- gleu (NLTK) ---------------------------------------------------------------------
def gleu(docs: Sequence[str], params: Any) -> list[Outcome]:
    """NLTK ``sentence_gleu``: shared n-grams / max(prediction n-grams, reference n-grams), summed over orders."""
    import numpy as np

    from .ngrams import shared_counts, word_units

    tokenize = word_tokenizer(params)
    tokens = [tokenize(text) for text in docs]
    # NLTK: matched / max(all prediction n-grams, all reference n-grams), every order together.
    counts = list(shared_counts(*word_units(tokens), range(params.min_len, params.max_len + 1)).values())
    matched = sum(c[2] for c in counts)
    total = np.maximum(sum(c[0] for c in counts), sum(c[1] for c in counts))
    out: list[Outcome] = []
    for k in range(len(docs) // 2):
        hyp, ref = tokens[2 * k], tokens[2 * k + 1]
        if not hyp or not ref:
            out.append(Empty(bool(hyp), bool(ref)))
            continue
        value = float(matched[k] / total[k]) if total[k] > 0 else 0.0
        out.append((value, f"gleu {value:.2f}: {int(matched[k])} of {int(total[k])} n-grams matched",
                    {"matched_ngrams": int(matched[k]), "max_ngrams": int(total[k])}))
    return out


# -- chrf (sacreBLEU) ----------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _sacrebleu_chrf(char_order: int, word_order: int, beta: float, lowercase: bool, whitespace: bool):  # type: ignore[no-untyped-def]
    from sacrebleu.metrics import CHRF

    return CHRF(char_order=char_order, word_order=word_order, beta=beta, lowercase=lowercase, whitespace=whitespace)


def chrf(docs: Sequence[str], params: Any) -> list[Outcome]:
    """sacreBLEU chrF (chrF++ with ``word_order``), in [0, 1]."""
    from .ngrams import char_units, shared_counts, word_units

    metric = _sacrebleu_chrf(params.char_order, params.word_order, params.beta, params.lowercase, params.whitespace)
    prepared = [metric._preprocess_segment(text) for text in docs]
    # What sacreBLEU's extract_all_char_ngrams counts: the text without whitespace (unless `whitespace`).
    chars = prepared if params.whitespace else ["".join(text.split()) for text in prepared]
    by_order = shared_counts(*char_units(chars), range(1, params.char_order + 1))
    stats = [by_order[n] for n in range(1, params.char_order + 1)]
    if params.word_order:
        words = [metric._remove_punctuation(text) for text in prepared]
        by_order = shared_counts(*word_units(words), range(1, params.word_order + 1))
        stats += [by_order[n] for n in range(1, params.word_order + 1)]
    out: list[Outcome] = []
    for k in range(len(docs) // 2):
        if not chars[2 * k] or not chars[2 * k + 1]:
            out.append(Empty(bool(chars[2 * k]), bool(chars[2 * k + 1])))
            continue
        flat: list[int] = []
        for n_p, n_r, shared in stats:
            flat += [int(n_p[k]), int(n_r[k]), int(shared[k])]
        value = min(1.0, max(0.0, metric._compute_f_score(flat) / 100.0))
        out.append((value, f"chrf {value:.2f} over character 1-{params.char_order}-grams", {}))
    return out


# -- meteor (NLTK) ---------------------------------------------------------------------
class _NoSynonyms:
    """Stands in for NLTK's WordNet reader: no word has synsets, so only exact and stem matches count."""

    def synsets(self, word: str, *args: Any, **kwargs: Any) -> list:
        return []


def meteor(docs: Sequence[str], params: Any) -> list[Outcome]:
    """NLTK ``meteor_score`` (exact and Porter-stem matching; see the module docstring about WordNet)."""
    from nltk.stem.porter import PorterStemmer
    from nltk.translate.meteor_score import single_meteor_score

    tokenize = word_tokenizer(params)
    stemmer, wordnet = PorterStemmer(), _NoSynonyms()
    preprocess = str.lower if params.lowercase else str
    out: list[Outcome] = []
    for k in range(len(docs) // 2):
        hyp, ref = tokenize(docs[2 * k]), tokenize(docs[2 * k + 1])
        if not hyp or not ref:
            out.append(Empty(bool(hyp), bool(ref)))
            continue
        value = single_meteor_score(ref, hyp, preprocess=preprocess, stemmer=stemmer, wordnet=wordnet,
                                    alpha=params.alpha, beta=params.beta, gamma=params.gamma)
        value = min(1.0, max(0.0, float(value)))
        out.append((value, f"meteor {value:.2f} (exact and stem matches; no WordNet synonyms)",
                    {"wordnet_synonyms": False}))
    return out


__all__ = ["bleu", "sentence_bleu", "gleu", "chrf", "meteor"]
