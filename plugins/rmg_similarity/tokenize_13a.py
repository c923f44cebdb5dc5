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
from typing import TYPE_CHECKING, Callable, Sequence

if TYPE_CHECKING:
    import numpy as np

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


class _Tokenizer13a:
    """The batch machinery behind `tokenizer_13a` and `units_13a`."""

    def __init__(self, lowercase: bool) -> None:
        self.lowercase = lowercase
        self.pads, self.table, self.regexes = _rules()
        self.padded_codes = frozenset(ord(char) for char, _ in self.pads) | {ord(_SEPARATOR)}

    def plain(self, text: str) -> list[str]:
        for char, padded in self.pads:
            if char in text:
                text = text.replace(char, padded)
        return text.split()

    def by_regexes(self, chunk: str) -> list[str]:
        # sacreBLEU's four regexes on one whitespace-separated chunk (its neighbours are spaces).
        line = f" {chunk.translate(self.table)} "
        for pattern, replacement in self.regexes:
            line = pattern.sub(replacement, line)
        return line.split()

    def prepare(self, texts: Sequence[str]) -> tuple[list[str], list[list[str]], set[int]]:
        """Each text as Tokenizer13a sees it, its digit chunks replaced by placeholders; their tokens in order."""
        prepared = [_line_level((text.lower() if self.lowercase else text).rstrip()) for text in texts]
        chunks: list[list[str]] = []
        seen: dict[str, list[str]] = {}  # "1." and "2024," recur: each distinct chunk through the regexes once
        with_chunks: set[int] = set()
        any_digit, near_digit = _DIGIT.search, _NEAR_DIGIT.search
        for k, text in enumerate(prepared):
            if any_digit(text) is None or near_digit(text) is None:
                continue
            parts, done = [], 0
            for match in _DIGIT_CHUNK.finditer(text):
                parts.append(text[done:match.start()])
                chunk = match.group()
                tokens = seen.get(chunk)
                if tokens is None:
                    tokens = seen[chunk] = self.by_regexes(chunk)
                chunks.append(tokens)
                done = match.end()
            parts.append(text[done:])
            prepared[k] = f" {_PLACEHOLDER} ".join(parts)
            with_chunks.add(k)
        return prepared, chunks, with_chunks

    def one_by_one(self, texts: Sequence[str]) -> list[list[str]]:
        """The slow, simple way (for a batch holding the separator or the placeholder itself)."""
        out = []
        for text in texts:
            text = _line_level((text.lower() if self.lowercase else text).rstrip())
            tokens: list[str] = []
            done = 0
            if _DIGIT.search(text) is not None and _NEAR_DIGIT.search(text) is not None:
                for match in _DIGIT_CHUNK.finditer(text):  # chunks start and end at whitespace
                    tokens += self.plain(text[done:match.start()])
                    tokens += self.by_regexes(match.group())
                    done = match.end()
            out.append(tokens + self.plain(text[done:]))
        return out

    def joined_words(self, prepared: list[str], chunks: list[list[str]]) -> "list[str] | None":
        joined = _SEPARATOR.join(prepared)
        if joined.count(_SEPARATOR) != len(prepared) - 1 or joined.count(_PLACEHOLDER) != len(chunks):
            return None
        if any(_SEPARATOR in token or _PLACEHOLDER in token for tokens in chunks for token in tokens):
            return None
        return _padded(joined, self.padded_codes).split()


def tokenizer_13a(lowercase: bool = False) -> Callable[[Sequence[str]], list[list[str]]]:
    """texts -> each text's tokens, as ``BLEU(lowercase=...)._preprocess_segment(text).split()``."""
    machinery = _Tokenizer13a(lowercase)

    def tokenize(texts: Sequence[str]) -> list[list[str]]:
        prepared, chunks, with_chunks = machinery.prepare(texts)
        flat = machinery.joined_words(prepared, chunks)
        if flat is None:
            return machinery.one_by_one(texts)
        out: list[list[str]] = []
        start, last = 0, len(prepared) - 1
        found = iter(chunks)
        for k in range(len(prepared)):
            end = flat.index(_SEPARATOR, start) if k < last else len(flat)
            tokens = flat[start:end]
            if k in with_chunks:
                tokens = [t for token in tokens for t in (next(found) if token == _PLACEHOLDER else (token,))]
            out.append(tokens)
            start = end + 1
        return out

    return tokenize


def units_13a(texts: Sequence[str], lowercase: bool = False) -> tuple["np.ndarray", "np.ndarray", list[str]]:
    """`tokenizer_13a`'s tokens as integer ids, for n-gram counting: (ids of all texts' tokens, each
    text's number of tokens, the vocabulary: ``vocabulary[id]`` is the token).

    Never builds a list per text: the joined batch's words get ids at once,
    placeholders are replaced by their chunks' ids and separators dropped
    with numpy.
    """
    import itertools

    import numpy as np

    if not texts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), []
    machinery = _Tokenizer13a(lowercase)
    prepared, chunks, _ = machinery.prepare(texts)
    flat = machinery.joined_words(prepared, chunks)
    if flat is None:
        tokens = machinery.one_by_one(texts)
        flat = list(itertools.chain.from_iterable(tokens))
        table = {word: i for i, word in enumerate(dict.fromkeys(flat))}
        ids = np.fromiter(map(table.__getitem__, flat), dtype=np.int64, count=len(flat))
        return ids, np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens)), list(table)
    chunk_words = list(itertools.chain.from_iterable(chunks))
    table = {word: i for i, word in enumerate(dict.fromkeys(itertools.chain(flat, chunk_words)))}
    ids = np.fromiter(map(table.__getitem__, flat), dtype=np.int64, count=len(flat))
    if chunks:
        # Each placeholder gives way to its chunk's tokens.
        chunk_lengths = np.fromiter(map(len, chunks), dtype=np.int64, count=len(chunks))
        is_placeholder = ids == table[_PLACEHOLDER]
        width = np.ones(ids.size, dtype=np.int64)
        width[is_placeholder] = chunk_lengths
        first = np.cumsum(width) - width
        expanded = np.empty(int(width.sum()), dtype=np.int64)
        expanded[first[~is_placeholder]] = ids[~is_placeholder]
        within = np.arange(len(chunk_words), dtype=np.int64) - np.repeat(np.cumsum(chunk_lengths) - chunk_lengths,
                                                                          chunk_lengths)
        expanded[np.repeat(first[is_placeholder], chunk_lengths) + within] = np.fromiter(
            map(table.__getitem__, chunk_words), dtype=np.int64, count=len(chunk_words))
        ids = expanded
    separator = table.get(_SEPARATOR, -1)
    is_separator = ids == separator
    bounds = np.concatenate([[-1], np.flatnonzero(is_separator), [ids.size]])
    return ids[~is_separator], np.diff(bounds) - 1, list(table)


__all__ = ["tokenizer_13a", "units_13a"]
