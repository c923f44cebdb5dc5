"""The vectorized re-implementations against the libraries they stand in for, on random and hostile text.

``bleu`` (sacreBLEU's 13a tokenizer and ``compute_bleu``), ``chrf``
(``CHRF._compute_f_score``) and ``meteor`` (NLTK's alignment) are computed
for a whole batch at once in rmg; the libraries stay the reference: any
divergence on a hypothesis example fails here.  See "Vectorized
implementations" in docs/graders/similarity.md.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rmg_core import GraderScore
from rmg_similarity import SimilarityGrader
from rmg_similarity.ngrams import _clipped, _grams, shared_counts
from rmg_similarity.tokenize import make_tokenizer
from rmg_similarity.tokenize_13a import tokenizer_13a, units_13a

#: Where sacreBLEU's regexes are subtle: digits next to ".", ",", "-", runs of them, entities, newlines;
#: and where rmg's batch tokenizer could slip: the NUL that joins a batch, every kind of Unicode whitespace
#: (U+3000 is the last), letters whose lower case depends on their neighbours (Σ) or is longer (İ).
HOSTILE = st.lists(
    st.sampled_from(list("ab.,-0123 \t\n&;<>qu()!?'\"/$_É\u00a0\u2009\x1c\x00\x01\u3000\x85\u2028ΣİσΑ") +
                    ["&amp;", "&quot;", "<skipped>", "-\n", "3.14", "1,000", "9-", "..", "👍", "東京",
                     "-.", ".-1", ",,", "1.", ".5"]),
    max_size=30,
).map("".join)
ANY_TEXT = st.text(max_size=40)
def _examples(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _sacrebleu_tokens(text: str, lowercase: bool = False) -> list[str]:
    """What ``BLEU.sentence_score`` counts, without sacreBLEU's per-line caches."""
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
    from sacrebleu.tokenizers.tokenizer_re import TokenizerRegexp

    tokenizer = Tokenizer13a()
    line = (text.lower() if lowercase else text).rstrip()
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    assert Tokenizer13a.__call__.__wrapped__(tokenizer, text.lower().rstrip() if lowercase else text.rstrip()) \
        == TokenizerRegexp.__call__.__wrapped__(tokenizer._post_tokenizer, f" {line} ")
    return TokenizerRegexp.__call__.__wrapped__(tokenizer._post_tokenizer, f" {line} ").split()


@_examples(200)
@given(texts=st.lists(st.one_of(HOSTILE, ANY_TEXT), min_size=1, max_size=6), lowercase=st.booleans())
def test_13a_tokens_are_sacrebleus(texts: list[str], lowercase: bool) -> None:
    # A batch (joined, with placeholders) and each text alone give sacreBLEU's tokens.
    tokenize = tokenizer_13a(lowercase)
    expected = [_sacrebleu_tokens(text, lowercase) for text in texts]
    assert tokenize(texts) == expected
    assert [tokenize([text])[0] for text in texts] == expected
    # The ids BLEU counts: the same tokens, text by text, also where texts repeat (each distinct one is
    # tokenized once and its ids copied).
    for batch, tokens in ((texts, expected), (texts + texts[::-1], expected + expected[::-1])):
        ids, lengths, vocabulary = units_13a(batch, lowercase)
        words = [vocabulary[i] for i in ids.tolist()]
        starts = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        assert [words[a:b] for a, b in zip(starts, starts[1:])] == tokens


def test_the_13a_punctuation_class_is_ascii_only() -> None:
    # tokenize_13a pads only ASCII characters: sacreBLEU's first regex must match no other code point.
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    isolate = Tokenizer13a()._post_tokenizer._re[0][0]
    everything = "".join(chr(cp) for cp in range(128, 0x110000) if not 0xD800 <= cp <= 0xDFFF)
    assert isolate.search(everything) is None


def test_the_13a_kind_table_knows_every_whitespace() -> None:
    # tokenize_13a looks code points up in a table that ends at U+3000, the last whitespace Unicode has today.
    from rmg_similarity.tokenize_13a import _LIMIT, _STOP, _rules

    kinds = _rules()[3]
    assert not any(chr(cp).isspace() for cp in range(_LIMIT, 0x110000))
    assert [cp for cp in range(1, _LIMIT) if kinds[cp] & _STOP] == [cp for cp in range(1, _LIMIT) if chr(cp).isspace()]


def _pairs(draw_texts: list[str]) -> list[dict[str, str]]:
    return [{"prediction": p, "reference": r} for p, r in zip(draw_texts[0::2], draw_texts[1::2])]


PAIR_TEXTS = st.lists(st.one_of(HOSTILE, ANY_TEXT, st.sampled_from(["the cat sat on the mat.", "The cats sat, 3.5 mats!"])),
                      min_size=2, max_size=12).filter(lambda t: len(t) % 2 == 0)


@_examples(80)
@given(texts=PAIR_TEXTS, smooth=st.sampled_from(["exp", "floor", "add-k", "none"]), effective=st.booleans(),
       order=st.integers(1, 5))
def test_bleu_is_sacrebleus_sentence_bleu_on_any_text(texts: list[str], smooth: str, effective: bool, order: int) -> None:
    from sacrebleu.metrics import BLEU

    bleu = BLEU(max_ngram_order=order, smooth_method=smooth, effective_order=effective)
    results = SimilarityGrader(algorithm="bleu", max_ngram_order=order, smooth_method=smooth,
                               effective_order=effective).evaluate_batch(_pairs(texts))
    for pair, result in zip(_pairs(texts), results):
        assert isinstance(result, GraderScore)
        if "empty" in result.metadata:
            continue
        expected = bleu.sentence_score(pair["prediction"], [pair["reference"]])
        assert result.score == pytest.approx(expected.score / 100, abs=1e-9), pair
        assert result.metadata["precisions"] == pytest.approx([p / 100 for p in expected.precisions], abs=1e-9)
        assert result.metadata["bp"] == pytest.approx(expected.bp, abs=1e-12)


@_examples(80)
@given(texts=PAIR_TEXTS, word_order=st.integers(0, 2), whitespace=st.booleans(), lowercase=st.booleans())
def test_chrf_is_sacrebleus_on_any_text(texts: list[str], word_order: int, whitespace: bool, lowercase: bool) -> None:
    from sacrebleu.metrics import CHRF

    chrf = CHRF(word_order=word_order, whitespace=whitespace, lowercase=lowercase)
    results = SimilarityGrader(algorithm="chrf", word_order=word_order, whitespace=whitespace,
                               lowercase=lowercase).evaluate_batch(_pairs(texts))
    for pair, result in zip(_pairs(texts), results):
        if "empty" in result.metadata:
            continue
        expected = chrf.sentence_score(pair["prediction"], [pair["reference"]]).score / 100
        assert result.score == pytest.approx(expected, abs=1e-9), pair


class _NoSynonyms:
    def synsets(self, word: str, *args: object, **kwargs: object) -> list:
        return []


@_examples(40)
@given(texts=PAIR_TEXTS, lowercase=st.booleans(),
       words=st.lists(st.sampled_from("cat cats the running runs ran run sat sitting mat mats Généralisation".split()),
                      min_size=2, max_size=30))
def test_meteor_is_nltks_on_any_text(texts: list[str], lowercase: bool, words: list[str]) -> None:
    from nltk.translate.meteor_score import single_meteor_score

    texts = texts + [" ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2:])]
    tokenize = make_tokenizer(lowercase=lowercase)
    preprocess = str.lower if lowercase else str
    results = SimilarityGrader(algorithm="meteor", lowercase=lowercase).evaluate_batch(_pairs(texts))
    for pair, result in zip(_pairs(texts), results):
        if "empty" in result.metadata:
            continue
        expected = single_meteor_score(tokenize(pair["reference"]), tokenize(pair["prediction"]),
                                       preprocess=preprocess, wordnet=_NoSynonyms())
        assert result.score == pytest.approx(expected, abs=1e-12), pair


@_examples(60)
@given(texts=PAIR_TEXTS)
def test_fuzzy_match_and_edit_distance_are_rapidfuzzs_on_any_text(texts: list[str]) -> None:
    from rapidfuzz.distance import Indel, Levenshtein

    fuzzy = SimilarityGrader(algorithm="fuzzy_match").evaluate_batch(_pairs(texts))
    edit = SimilarityGrader(algorithm="edit_distance").evaluate_batch(_pairs(texts))
    for pair, f, e in zip(_pairs(texts), fuzzy, edit):
        if "empty" in f.metadata:
            continue
        p, r = pair["prediction"], pair["reference"]
        assert f.score == pytest.approx(Indel.normalized_similarity(p, r), abs=1e-12)
        assert e.score == pytest.approx(1 - Levenshtein.distance(p, r) / max(len(p), len(r)), abs=1e-12)
        assert f.reason.startswith(f"fuzzy ratio {f.score:.2f} (")
        assert e.reason == (f"edit_distance {e.score:.2f} ({Levenshtein.distance(p, r)} edits, "
                            f"longer text {max(len(p), len(r))} characters)")


@pytest.mark.parametrize("vocabulary,max_order,n_pairs,longest", [
    (5, 6, 40, 40),         # a few characters: one key for the whole batch
    (10_000, 4, 100, 40),   # a large vocabulary: the pairs are cut into groups (of 64)
    (100_000, 6, 30, 40),   # ids renumbered within each pair
    (3000, 6, 20, 700),     # pairs too varied for 63 bits even so: the sort per order
])
def test_the_one_sort_counts_equal_a_sort_per_order(vocabulary: int, max_order: int, n_pairs: int, longest: int) -> None:
    rng = random.Random(vocabulary)
    lengths = np.array([rng.randint(0, longest) for _ in range(2 * n_pairs)], dtype=np.int64)
    units = np.array([rng.randrange(vocabulary) for _ in range(int(lengths.sum()))], dtype=np.int64)
    # Share n-grams: every reference starts with a copy of its prediction's start.
    start = np.concatenate([[0], np.cumsum(lengths)])
    for k in range(n_pairs):
        n = min(lengths[2 * k], lengths[2 * k + 1]) // 2
        units[start[2 * k + 1]:start[2 * k + 1] + n] = units[start[2 * k]:start[2 * k] + n]
    orders = range(1, max_order + 1)
    fast = shared_counts(units, lengths, orders)
    slow = {n: _clipped(key, doc, len(lengths), lengths, n) for n, key, doc in _grams(units, lengths, orders)}
    for n in orders:
        for got, expected in zip(fast[n], slow[n]):
            assert np.array_equal(got, expected), n


@_examples(200)
@given(values=st.lists(st.one_of(st.floats(0.0, 1.0), st.integers(0, 199).map(lambda k: (k + 0.5) / 200),
                                 st.integers(0, 99).map(lambda k: float(np.nextafter((k + 0.5) / 100, k % 2)))),
                       max_size=50),
       threshold=st.sampled_from([0.0, 0.5, 0.8, 1.0]), method=st.sampled_from(["ratio", "partial_ratio"]))
def test_fuzzy_reasons_by_table_are_the_formatted_ones(values: list[float], threshold: float, method: str) -> None:
    # fuzzy_match looks its reasons up by the score to two decimals; "%.2f" is the reference, ties included.
    from rmg_similarity.fuzzy import _fuzzy_reasons

    scores = np.array(values, dtype=np.float64)
    matched = scores >= threshold
    expected = [f"fuzzy {method} " + "%.2f" % v + f" ({'matched' if m else 'not matched'} at threshold {threshold:g})"
                for v, m in zip(values, matched.tolist())]
    assert _fuzzy_reasons(method, threshold, scores, matched, scores.tolist(), matched.tolist()) == expected
