"""sacreBLEU's ``13a`` tokenizer (what ``BLEU.sentence_score`` splits a text into), fast for a batch.

sacreBLEU tokenizes with four regex substitutions over every character
(``TokenizerRegexp``): about 80 µs for a 140-character text, more than the
rest of sentence BLEU.  Their effect is simple except next to digits:

1. each character of the first regex's class (ASCII punctuation such as
   ``( ) ! ? : ; " / $``) becomes a token of its own;
2. a ``.`` or ``,`` becomes a token of its own, unless it touches a digit
   (``3.14``, ``1,000``), where the regexes' left-to-right matching decides;
3. a ``-`` after a digit becomes a token of its own (``1-2``).

So each of those punctuation characters present in a text is padded with
spaces by ``str.replace`` (a C loop, no regex), and the text split on
whitespace.  A whitespace-separated chunk where a ``.``, ``,`` or ``-``
touches a digit goes through sacreBLEU's own regexes instead (taken from
its tokenizer object, not copied).  The tests compare the result with
``Tokenizer13a`` on random and adversarial text (hypothesis).
"""

from __future__ import annotations

import functools
import re
from typing import Callable, Sequence

#: A whitespace-separated chunk where the digit rules of sacreBLEU's regexes can apply.
_DIGIT_CHUNK = re.compile(r"(?<!\S)\S*?(?:[0-9][.,\-]|[.,][0-9])\S*")
#: Whether a text has such a chunk (quicker tests: first any digit, then a digit next to ".,-").
_DIGIT = re.compile(r"[0-9]")
_NEAR_DIGIT = re.compile(r"[0-9][.,\-]|[.,][0-9]")
_ENTITIES = (("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"))


@functools.lru_cache(maxsize=1)
def _rules() -> tuple[tuple[tuple[str, str], ...], dict[int, str], list[tuple["re.Pattern[str]", str]]]:
    """(char, padded char) for each character made a token of its own; sacreBLEU's first regex as a
    translate table; and its other three regexes."""
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    regexes = list(Tokenizer13a()._post_tokenizer._re)
    isolate = regexes[0][0]
    # The class is ASCII only (a test checks every code point); whitespace splits anyway.
    isolated = [chr(cp) for cp in range(128) if not chr(cp).isspace() and isolate.fullmatch(chr(cp))]
    pads = tuple((c, f" {c} ") for c in isolated + [".", ","])
    return pads, {ord(c): f" {c} " for c in isolated}, regexes[1:]


def _line_level(text: str) -> str:
    """Tokenizer13a.__call__'s replacements before its regexes."""
    if "<skipped>" in text:
        text = text.replace("<skipped>", "")
    if "\n" in text:
        text = text.replace("-\n", "").replace("\n", " ")
    if "&" in text:
        for entity, char in _ENTITIES:
            text = text.replace(entity, char)
    return text


def tokenizer_13a(lowercase: bool = False) -> Callable[[Sequence[str]], list[list[str]]]:
    """texts -> each text's tokens, as ``BLEU(lowercase=...)._preprocess_segment(text).split()``."""
    pads, table, regexes = _rules()
    digit_chunks, any_digit, near_digit = _DIGIT_CHUNK.finditer, _DIGIT.search, _NEAR_DIGIT.search

    def plain(text: str) -> list[str]:
        for char, padded in pads:
            if char in text:
                text = text.replace(char, padded)
        return text.split()

    def by_regexes(chunk: str) -> list[str]:
        # sacreBLEU's four regexes on one whitespace-separated chunk (its neighbours are spaces).
        line = f" {chunk.translate(table)} "
        for pattern, replacement in regexes:
            line = pattern.sub(replacement, line)
        return line.split()

    def with_digits(text: str) -> list[str]:
        tokens: list[str] = []
        done = 0
        for match in digit_chunks(text):
            tokens += plain(text[done:match.start()])
            tokens += by_regexes(match.group())
            done = match.end()
        return tokens + plain(text[done:])

    def tokenize(texts: Sequence[str]) -> list[list[str]]:
        out = []
        for text in texts:
            if lowercase:
                text = text.lower()
            text = _line_level(text.rstrip())
            if any_digit(text) is not None and near_digit(text) is not None:
                out.append(with_digits(text))
            else:
                out.append(plain(text))
        return out

    return tokenize


__all__ = ["tokenizer_13a"]
