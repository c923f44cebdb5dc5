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

from .fuzzy import format_values
from .outcome import Columns, Empty, Outcome
from .words import word_tokenizer


# -- bleu (sacreBLEU) ------------------------------------------------------------
def bleu(docs: Sequence[str], params: Any) -> Columns:
    """sacreBLEU sentence BLEU (13a tokens) of each pair, in [0, 1]; details: precisions, bp, lengths.

    sacreBLEU's tokenizer (`tokenize_13a`), the batch's clipped n-gram counts
    (`ngrams`) and ``BLEU.compute_bleu``'s formula on numpy arrays
    (`bleu_formula`): the tests check every pair against ``BLEU.sentence_score``.
    """
    import numpy as np

    from .ngrams import shared_counts
    from .tokenize_13a import units_13a

    order = params.max_ngram_order
    units, lengths, _ = units_13a(docs, params.lowercase)
    counts = shared_counts(units, lengths, range(1, order + 1))
    correct = np.stack([counts[n][2] for n in range(1, order + 1)], axis=1)
    total = np.stack([counts[n][0] for n in range(1, order + 1)], axis=1)
    sys_len, ref_len = lengths[0::2], lengths[1::2]
    score, precisions, bp = bleu_formula(correct, total, sys_len.astype(np.float64), ref_len.astype(np.float64),
                                         params.smooth_method, params.smooth_value, params.effective_order)
    values = np.clip(score / 100.0, 0.0, 1.0).tolist()
    sys_list, ref_list, bp_list = sys_len.tolist(), ref_len.tolist(), bp.tolist()
    reasons = format_values("bleu %.2f (brevity penalty %.2f, %d/%d tokens)", values, bp_list, sys_list, ref_list)
    details = [{"precisions": p, "bp": b, "sys_len": s, "ref_len": r}
               for p, b, s, r in zip((precisions / 100.0).tolist(), bp_list, sys_list, ref_list)]
    empty = {k: Empty(bool(s), bool(r)) for k, (s, r) in enumerate(zip(sys_list, ref_list)) if not s or not r}
    return Columns(values, reasons, details, empty)


def bleu_formula(
    correct: "np.ndarray", total: "np.ndarray", sys_len: "np.ndarray", ref_len: "np.ndarray",
    smooth_method: str, smooth_value: Any, effective_order: bool,
) -> tuple["np.ndarray", "np.ndarray", "np.ndarray"]:
    """sacreBLEU's ``BLEU.compute_bleu`` for every pair at once: (score in [0, 100], precisions, bp).

    ``correct`` and ``total`` are (pairs, orders).  The same floating-point
    operations in the same order as sacreBLEU's loop, one order at a time
    (its ``break`` at the first order without n-grams becomes a mask).
    """
    import numpy as np
    from sacrebleu.metrics import BLEU

    if smooth_value is None:
        smooth_value = BLEU.SMOOTH_DEFAULTS[smooth_method]
    n_pairs, max_order = correct.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        bp = np.where(sys_len < ref_len, np.where(sys_len > 0, np.exp(1 - ref_len / sys_len), 0.0), 1.0)
        any_correct = (correct > 0).any(axis=1)
        precisions = np.zeros((n_pairs, max_order))
        smooth_mteval = np.ones(n_pairs)
        eff_order = np.full(n_pairs, max_order)
        going = np.ones(n_pairs, dtype=bool)  # not yet at sacreBLEU's `break`
        for i in range(max_order):
            c, t = correct[:, i], total[:, i]
            if smooth_method == "add-k" and i > 0:
                c, t = c + smooth_value, t + smooth_value
            going &= t != 0
            if effective_order:
                eff_order = np.where(going, i + 1, eff_order)
            zero = going & (c == 0)
            if smooth_method == "exp":
                smooth_mteval = np.where(zero, smooth_mteval * 2, smooth_mteval)
                p_zero = 100.0 / (smooth_mteval * t)
            elif smooth_method == "floor":
                p_zero = 100.0 * smooth_value / t
            else:
                p_zero = np.zeros(n_pairs)
            precisions[:, i] = np.where(going, np.where(c == 0, p_zero, 100.0 * c / t), 0.0)
        # my_log: log, or -9999999999 for 0; summed left to right over the effective orders.
        logs = np.where(precisions == 0, -9999999999.0, np.log(np.where(precisions == 0, 1.0, precisions)))
        total_log = np.zeros(n_pairs)
        for i in range(max_order):
            total_log = total_log + np.where(i < eff_order, logs[:, i], 0.0)
        score = bp * np.exp(total_log / eff_order)
    score = np.where(any_correct, score, 0.0)
    precisions[~any_correct] = 0.0
    return score, precisions, bp


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
def chrf(docs: Sequence[str], params: Any) -> Columns:
    """sacreBLEU chrF (chrF++ with ``word_order``), in [0, 1].

    The batch's clipped character (and word) n-gram counts (`ngrams`) and
    ``CHRF._compute_f_score``'s formula on numpy arrays (`chrf_formula`);
    the tests check every pair against ``CHRF.sentence_score``.
    """
    import numpy as np

    from .ngrams import char_units, shared_counts, word_units

    prepared = [text.lower() for text in docs] if params.lowercase else list(docs)
    # What sacreBLEU's extract_all_char_ngrams counts: the text without whitespace (unless `whitespace`).
    chars = prepared if params.whitespace else ["".join(text.split()) for text in prepared]
    by_order = shared_counts(*char_units(chars), range(1, params.char_order + 1))
    stats = [by_order[n] for n in range(1, params.char_order + 1)]
    if params.word_order:
        metric = _sacrebleu_chrf(params.char_order, params.word_order, params.beta, params.lowercase,
                                 params.whitespace)
        words = [metric._remove_punctuation(text) for text in prepared]
        by_order = shared_counts(*word_units(words), range(1, params.word_order + 1))
        stats += [by_order[n] for n in range(1, params.word_order + 1)]
    score = chrf_formula(np.stack([s[0] for s in stats], axis=1), np.stack([s[1] for s in stats], axis=1),
                         np.stack([s[2] for s in stats], axis=1), params.beta)
    values = np.clip(score / 100.0, 0.0, 1.0).tolist()
    reasons = format_values(f"chrf %.2f over character 1-{params.char_order}-grams", values)
    empty = {k: Empty(bool(chars[2 * k]), bool(chars[2 * k + 1]))
             for k in range(len(values)) if not chars[2 * k] or not chars[2 * k + 1]}
    return Columns(values, reasons, None, empty)


@functools.lru_cache(maxsize=8)
def _sacrebleu_chrf(char_order: int, word_order: int, beta: float, lowercase: bool, whitespace: bool):  # type: ignore[no-untyped-def]
    from sacrebleu.metrics import CHRF

    return CHRF(char_order=char_order, word_order=word_order, beta=beta, lowercase=lowercase, whitespace=whitespace)


def chrf_formula(n_hyp: "np.ndarray", n_ref: "np.ndarray", n_match: "np.ndarray", beta: float) -> "np.ndarray":
    """sacreBLEU's ``CHRF._compute_f_score`` (without eps smoothing) for every pair: arrays (pairs, orders) -> [0, 100].

    The same floating-point operations in the same order as sacreBLEU's loop.
    """
    import numpy as np

    eps = 1e-16
    factor = beta ** 2
    n_pairs, orders = n_hyp.shape
    avg_prec, avg_rec = np.zeros(n_pairs), np.zeros(n_pairs)
    effective_order = np.zeros(n_pairs)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(orders):
            h, r, m = n_hyp[:, i], n_ref[:, i], n_match[:, i]
            prec = np.where(h > 0, m / h, eps)
            rec = np.where(r > 0, m / r, eps)
            both = (h > 0) & (r > 0)
            avg_prec = avg_prec + np.where(both, prec, 0.0)
            avg_rec = avg_rec + np.where(both, rec, 0.0)
            effective_order = effective_order + both
        none = effective_order == 0
        avg_prec = np.where(none, 0.0, avg_prec / effective_order)
        avg_rec = np.where(none, 0.0, avg_rec / effective_order)
        score = (1 + factor) * avg_prec * avg_rec
        score = score / ((factor * avg_prec) + avg_rec)
        return np.where(avg_prec + avg_rec != 0, 100 * score, 0.0)


# -- meteor (NLTK) ---------------------------------------------------------------------
def meteor(docs: Sequence[str], params: Any) -> Columns:
    """NLTK ``single_meteor_score`` with exact and Porter-stem matching (see the module docstring about WordNet).

    `meteor_align` is NLTK's alignment with each distinct word stemmed once;
    the tests check every pair against ``single_meteor_score``.
    """
    from .meteor import meteor_scores

    tokenize = word_tokenizer(params)
    lower = params.lowercase
    words = []
    for text in docs:
        terms = tokenize(text)
        # NLTK's preprocess (str.lower) on each word; rmg's ASCII terms are already lower case.
        words.append([w.lower() for w in terms] if lower and not text.isascii() else terms)
    values, empty = meteor_scores(words, params.alpha, params.beta, params.gamma)
    reasons = format_values("meteor %.2f (exact and stem matches; no WordNet synonyms)", values)
    return Columns(values, reasons, [_NO_WORDNET] * len(values), empty)


_NO_WORDNET = {"wordnet_synonyms": False}


__all__ = ["bleu", "bleu_formula", "sentence_bleu", "gleu", "chrf", "chrf_formula", "meteor"]
