"""The offline relevance measure: how much of the question the answer covers.

Definition (docs/graders/relevance.md has the evaluation behind it):

* Both texts are lower-cased and split into word tokens (runs of letters and
  digits).
* The question's *terms* are its distinct tokens that are not stop words
  (`STOP_WORDS`: function words and request phrasing such as "how", "please",
  "explain").  A question made only of stop words keeps all its tokens.
* ``term_coverage`` = share of the question's terms whose light stem
  (`stem`) occurs among the stems of the answer's tokens.
* ``char_coverage`` = share of the question terms' character 4-grams (each
  term padded with one space on both sides) that are covered: all 4-grams of
  a term matched by its stem, and those of the other terms that occur inside
  a non-stop-word answer token.  It gives partial credit to morphological
  variants and typos ("colour" / "color", "analyse" / "analysis") that the
  light stemmer misses.
* ``relevance`` = ``coverage_weight`` * term_coverage + (1 - coverage_weight)
  * char_coverage, times ``refusal_factor`` when the answer is a short
  refusal (`refusal.looks_like_refusal`).

Each case is scored on its own: there is no IDF or other statistic fitted on
the batch, so a score never depends on its neighbours.
"""

from __future__ import annotations

import re
from itertools import compress
from typing import Callable, Iterable, NamedTuple, Optional

from .refusal import looks_like_refusal

#: Word tokens: runs of letters/digits (``_`` is not a letter here).
TOKEN_RE = re.compile(r"[^\W_]+")

#: English function words plus the words people use to *ask* ("how", "please",
#: "explain"), which carry no topic and rarely reappear in a good answer.
STOP_WORDS: frozenset[str] = frozenset("""
a about above after again against all also am an and any are aren as at be because been before
being below between both but by can cannot could couldn did didn do does doesn doing don down during
each either else ever every few for from further get gets getting got had hadn has hasn have haven
having he her here hers herself him himself his how however i if in into is isn it its itself
just let lets like ll may me might mine more most much must mustn my myself neither no nor not now
of off on once only or other ought our ours ourselves out over own please re really same shall
shan she should shouldn so some such than that the their theirs them themselves then there these
they this those through to too under until up upon us ve very was wasn we were weren what whats
when where whether which while who whom whose why will with won would wouldn yes yet you your
yours yourself yourselves
tell explain describe give show know want need help thanks thank hi hello hey kindly wondering
anyone somebody someone something anything thing things way ways one ones use using used
""".split())

GRAM = 4
#: The stem of a word is computed once and kept; the cache is emptied when it
#: grows past this many words (a 1 MB input of random tokens cannot exhaust memory).
_STEM_CACHE_LIMIT = 200_000

# (suffix, replacement, minimum word length for the rule): the first rule that
# applies wins.  Deliberately light: it merges inflections and the commonest
# derivations (install/installation/installing) and leaves the rest alone.
_SUFFIX_RULES: tuple[tuple[str, str, int], ...] = (
    ("ational", "ate", 8),
    ("ations", "", 8),
    ("ation", "", 7),
    ("itions", "", 8),
    ("ition", "", 7),
    ("ments", "", 8),
    ("ment", "", 7),
    ("ness", "", 7),
    ("ions", "", 7),
    ("ion", "", 6),
    ("ies", "y", 5),
    ("ied", "y", 5),
    ("sses", "ss", 5),
    ("ing", "", 6),
    ("ed", "", 5),
    ("ly", "", 6),
    ("able", "", 7),
    ("ible", "", 7),
    ("es", "e", 5),
    ("s", "", 4),
)
_NO_S_STRIP = ("ss", "us", "is", "os")
_DOUBLE_OK = frozenset("lsz")


def _compute_stem(word: str) -> str:
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, replacement, min_len in _SUFFIX_RULES:
        if len(word) >= min_len and word.endswith(suffix):
            if suffix == "s" and word.endswith(_NO_S_STRIP):
                return word
            word = word[: len(word) - len(suffix)] + replacement
            # "running" -> "runn" -> "run"; "install" keeps its "ll".
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in _DOUBLE_OK and not word[-1].isdigit():
                word = word[:-1]
            break
    # A final silent "e" would keep "configure" apart from "configur(ation)".
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


class _StemCache(dict):
    """word -> stem, computed on first use (dict lookups are the fast path)."""

    def __missing__(self, word: str) -> str:
        if len(self) >= _STEM_CACHE_LIMIT:
            self.clear()
        value = self[word] = _compute_stem(word)
        return value


_STEMS = _StemCache()


class _GramCache(dict):
    """term -> its padded 4-grams, computed on first use."""

    def __missing__(self, term: str) -> tuple[str, ...]:
        if len(self) >= _STEM_CACHE_LIMIT:
            self.clear()
        padded = f" {term} "
        value = self[term] = tuple(padded[i:i + GRAM] for i in range(len(padded) - GRAM + 1))
        return value


_GRAMS = _GramCache()


def stem(word: str) -> str:
    """The light stem of a lower-case word (``"installations"`` -> ``"install"``)."""
    return _STEMS[word]


_findall = TOKEN_RE.findall
# ASCII text takes a faster path with the same result: every ASCII character
# that is not a lower-case letter or digit becomes a space, then split.
_ASCII_SEPARATORS = str.maketrans(
    {chr(c): " " for c in range(128) if not (chr(c).isdigit() or "a" <= chr(c) <= "z")}
)


def tokens(text: str) -> list[str]:
    """Lower-case word tokens (one-letter words such as "a" and "i" are stop words)."""
    low = text.lower()
    if low.isascii():
        return low.translate(_ASCII_SEPARATORS).split()
    return _findall(low)


def question_terms(question_tokens: Iterable[str]) -> list[str]:
    """Distinct non-stop-word tokens in first-seen order; all tokens if every one is a stop word."""
    seen: dict[str, None] = {}
    for t in question_tokens:
        if t not in STOP_WORDS:
            seen[t] = None
    if not seen:
        seen = dict.fromkeys(question_tokens)
    return list(seen)


class LexicalScore(NamedTuple):
    """The parts of one lexical relevance score."""

    score: float
    term_coverage: float
    char_coverage: float
    matched: tuple[str, ...]
    missing: tuple[str, ...]
    refusal: Optional[str]
    #: "input" or "prediction" when that side had no words (score is then 0.0).
    empty: Optional[str] = None


# Above this many (question 4-grams x answer characters), substring search gets
# slow; the answer's 4-gram set is built once instead (same result).
_SEARCH_BUDGET = 20_000_000


def _gram_hits(terms: list[str], answer_words: set[str]) -> int:
    """How many 4-grams of ``terms`` occur inside one of ``answer_words``."""
    grams = [g for t in terms for g in _GRAMS[t]]
    if not grams:
        return 0
    # Question 4-grams never contain an inner space, so a hit in the joined
    # words is a hit inside one word (with its padding); the join order does
    # not matter.
    joined = " " + " ".join(answer_words) + " "
    if len(grams) * len(joined) <= _SEARCH_BUDGET:
        return sum(map(joined.__contains__, grams))
    have: set[str] = set()
    for word in answer_words:
        have.update(_GRAMS[word])
    return sum(map(have.__contains__, grams))


def score_pair(
    question: str,
    answer: str,
    coverage_weight: float = 0.5,
    refusal_factor: float = 0.0,
    refusal_check: Callable[[str, list[str]], Optional[str]] = looks_like_refusal,
) -> LexicalScore:
    """Score one (question, answer) pair; see the module docstring for the definition."""
    q_tokens = tokens(question)
    if not q_tokens:
        return LexicalScore(0.0, 0.0, 0.0, (), (), None, "input")
    a_tokens = tokens(answer)
    if not a_tokens:
        return LexicalScore(0.0, 0.0, 0.0, (), tuple(question_terms(q_tokens)), None, "prediction")
    terms = question_terms(q_tokens)
    stem_of = _STEMS.__getitem__
    # Unique words first: each is hashed once and stemmed once.
    a_words = set(a_tokens)
    flags = list(map(set(map(stem_of, a_words)).__contains__, map(stem_of, terms)))
    n_matched = sum(flags)
    term_cov = n_matched / len(terms)
    term_grams = list(map(_GRAMS.__getitem__, terms))
    n_grams = sum(map(len, term_grams))
    if n_matched == len(terms):
        matched, missing = tuple(terms), ()
        char_cov = 1.0 if n_grams else term_cov
    else:
        matched = tuple(compress(terms, flags))
        missing = tuple(t for t, hit in zip(terms, flags) if not hit)
        if n_grams:
            # A term matched by its stem is covered in full; the 4-grams of
            # the others earn partial credit for near-misses.  Answer stop
            # words are left out of the search so "ther" in "there" earns nothing.
            covered = sum(len(g) for g, hit in zip(term_grams, flags) if hit)
            covered += _gram_hits(missing, a_words - STOP_WORDS)
            char_cov = covered / n_grams
        else:  # only one-letter terms ("C?"): no 4-grams to compare
            char_cov = term_cov
    score = coverage_weight * term_cov + (1.0 - coverage_weight) * char_cov
    refusal = refusal_check(answer, a_tokens)
    if refusal is not None:
        score *= refusal_factor
    return LexicalScore(min(1.0, max(0.0, score)), term_cov, char_cov, matched, missing, refusal)


def jaccard_baseline(question: str, answer: str) -> float:
    """Plain word-overlap Jaccard (no stop words, no stemming): the evaluation's baseline."""
    q, a = set(TOKEN_RE.findall(question.lower())), set(TOKEN_RE.findall(answer.lower()))
    union = q | a
    return len(q & a) / len(union) if union else 0.0
