"""sacreBLEU's ``13a`` tokenizer (what ``BLEU.sentence_score`` splits a text into), fast for a batch.

sacreBLEU tokenizes with four regex substitutions over every character
(``TokenizerRegexp``): about 80 µs for a 140-character text, more than the
rest of sentence BLEU.  Their effect is simple except next to digits:

1. each character of the first regex's class (ASCII punctuation such as
   ``( ) ! ? : ; " / $``) becomes a token of its own;
2. a ``.`` or ``,`` becomes a token of its own, unless it touches a digit
   (``3.14``, ``1,000``), where the regexes' left-to-right matching decides;
3. a ``-`` after a digit becomes a token of its own (``1-2``).

So the batch is joined into one string, each of those punctuation
characters padded with spaces by one numpy pass over its code points, and
the result split on whitespace.  A whitespace-separated chunk where a ``.``, ``,`` or ``-``
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
#: Joins the texts of a batch (a text holding it sends the batch through one text at a time).
_SEPARATOR = "\x00"
#: Stands in the joined text for a digit chunk already tokenized (a text holding it: one at a time).
_PLACEHOLDER = "\x01"
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


def _padded(joined: str, codes: frozenset[int]) -> str:
    """``joined`` with a space before and after each character whose code point is in ``codes``.

    One numpy pass over the code points instead of a ``str.replace`` per
    character per text.
    """
    import numpy as np

    chars = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    table = np.zeros(129, dtype=bool)  # ASCII code points, and 128 for any other
    table[list(codes)] = True
    pad = table[np.minimum(chars, 128)]
    width = 1 + 2 * pad.astype(np.int64)
    out = np.full(int(width.sum()), ord(" "), dtype=np.uint32)
    out[np.cumsum(width) - width + pad] = chars
    return out.tobytes().decode("utf-32-le", "surrogatepass")


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
    padded_codes = frozenset(ord(char) for char, _ in pads) | {ord(_SEPARATOR)}

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
        prepared = [_line_level((text.lower() if lowercase else text).rstrip()) for text in texts]
        # Each digit chunk is tokenized by the regexes and stands in the joined text as a placeholder.
        chunks: dict[int, list[list[str]]] = {}
        for k, text in enumerate(prepared):
            if any_digit(text) is not None and near_digit(text) is not None:
                parts, done, found = [], 0, []
                for match in digit_chunks(text):
                    parts.append(text[done:match.start()])
                    found.append(by_regexes(match.group()))
                    done = match.end()
                parts.append(text[done:])
                prepared[k] = f" {_PLACEHOLDER} ".join(parts)
                chunks[k] = found
        joined = _SEPARATOR.join(prepared)
        if (joined.count(_SEPARATOR) != len(prepared) - 1
                or joined.count(_PLACEHOLDER) != sum(map(len, chunks.values()))):
            # A text holds the separator or the placeholder itself: one text at a time.
            return [with_digits(text) if any_digit(text) is not None and near_digit(text) is not None
                    else plain(text) for text in (_line_level((t.lower() if lowercase else t).rstrip()) for t in texts)]
        flat = _padded(joined, padded_codes).split()
        out: list[list[str]] = []
        start, last = 0, len(prepared) - 1
        for k in range(len(prepared)):
            end = flat.index(_SEPARATOR, start) if k < last else len(flat)
            tokens = flat[start:end]
            if k in chunks:
                found = iter(chunks[k])
                tokens = [t for token in tokens for t in (next(found) if token == _PLACEHOLDER else (token,))]
            out.append(tokens)
            start = end + 1
        return out

    return tokenize


__all__ = ["tokenizer_13a"]
