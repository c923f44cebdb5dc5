"""sacreBLEU's ``13a`` tokenizer (what ``BLEU.sentence_score`` splits a text into), fast for a batch.

sacreBLEU tokenizes with four regex substitutions over every character
(``TokenizerRegexp``): about 80 µs for a 140-character text, more than the
rest of sentence BLEU.  Their effect is simple except next to digits:

1. each character of the first regex's class (ASCII punctuation such as
   ``( ) ! ? : ; " / $``) becomes a token of its own;
2. a ``.`` or ``,`` becomes a token of its own, unless it touches a digit
   (``3.14``, ``1,000``), where the regexes' left-to-right matching decides;
3. a ``-`` after a digit becomes a token of its own (``1-2``).

So the whole batch is handled as one string (texts joined by a NUL): one
lookup per code point in a table of character kinds (numpy) finds the
whitespace-separated chunks where a ``.``, ``,`` or ``-`` touches a digit;
each such chunk is blanked to a placeholder and goes through sacreBLEU's
own regexes instead (taken from its tokenizer object, not copied; each
distinct chunk once); every other punctuation character of rule 1 or 2 is
padded with spaces in the same numpy pass, and the result is split on
whitespace once.  Token ids for n-gram counting come from one C-level pass
over the words (``dict.setdefault``), never a Python loop per token.  The
tests compare the result with ``Tokenizer13a`` on random and adversarial
text (hypothesis).
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Callable, Sequence

if TYPE_CHECKING:
    import numpy as np

#: Joins the texts of a batch (a text holding it sends the batch through one text at a time).
_SEPARATOR = "\x00"
_ENTITIES = (("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"))
#: A whitespace-separated chunk where the digit rules of sacreBLEU's regexes can apply (slow path only).
_DIGIT_CHUNK = re.compile(r"(?<!\S)\S*?(?:[0-9][.,\-]|[.,][0-9])\S*")
_DIGIT = re.compile(r"[0-9]")
_NEAR_DIGIT = re.compile(r"[0-9][.,\-]|[.,][0-9]")
#: Every whitespace code point is below it (U+3000 is the last); the kind table's last entry stands for all others.
_LIMIT = 0x3001
#: Character kinds, bits: padded to a token of its own; ends a chunk (whitespace, the separator); digit; "." or ","; "-".
_PAD, _STOP, _DIGIT_KIND, _DOT_COMMA, _DASH = 1, 2, 4, 8, 16


@functools.lru_cache(maxsize=1)
def _rules() -> tuple[tuple[tuple[str, str], ...], dict[int, str], list[tuple["re.Pattern[str]", str]], "np.ndarray"]:
    """(char, padded char) for each character made a token of its own; sacreBLEU's first regex as a
    translate table; its other three regexes; and the kind of each code point below `_LIMIT`."""
    import numpy as np
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    regexes = list(Tokenizer13a()._post_tokenizer._re)
    isolate = regexes[0][0]
    # The class is ASCII only (a test checks every code point); whitespace splits anyway.
    isolated = [chr(cp) for cp in range(128) if not chr(cp).isspace() and isolate.fullmatch(chr(cp))]
    pads = tuple((c, f" {c} ") for c in isolated + [".", ","])
    kinds = np.zeros(_LIMIT + 1, dtype=np.uint8)
    kinds[[cp for cp in range(_LIMIT) if chr(cp).isspace()]] = _STOP  # what str.split() splits on
    kinds[ord(_SEPARATOR)] = _STOP | _PAD
    kinds[[ord(c) for c, _ in pads]] |= _PAD
    kinds[[ord(c) for c in ".,"]] |= _DOT_COMMA
    kinds[[ord(c) for c in "0123456789"]] |= _DIGIT_KIND
    kinds[ord("-")] |= _DASH
    return pads, {ord(c): f" {c} " for c in isolated}, regexes[1:], kinds


def _line_level(text: str) -> str:
    """Tokenizer13a.__call__'s replacements before its regexes (none of them can span a separator)."""
    if "<skipped>" in text:
        text = text.replace("<skipped>", "")
    if "\n" in text:
        text = text.replace("-\n", "").replace("\n", " ")
    if "&" in text:
        for entity, char in _ENTITIES:
            text = text.replace(entity, char)
    return text


def _digit_chunks(kind: "np.ndarray") -> "tuple[np.ndarray, np.ndarray] | None":
    """(starts, ends) of the chunks between stops (whitespace, separators) where a digit touches ".,-"
    as ``[0-9][.,-]`` or ``[.,][0-9]``, in order; None if there are none."""
    import numpy as np

    digit = (kind & _DIGIT_KIND).astype(bool)
    if kind.size < 2 or not digit.any():
        return None
    near = digit[:-1] & (kind[1:] & (_DOT_COMMA | _DASH)).astype(bool)
    near |= (kind[:-1] & _DOT_COMMA).astype(bool) & digit[1:]
    at = np.flatnonzero(near)
    if not at.size:
        return None
    stops = np.flatnonzero(kind & _STOP)
    bounds = np.concatenate([[-1], stops, [kind.size]])
    which = np.unique(np.searchsorted(stops, at))  # the chunk of each spot: how many stops precede it
    return bounds[which] + 1, bounds[which + 1]


def _padded(codes: "np.ndarray", pad: "np.ndarray") -> str:
    """The text of ``codes`` with a space before and after each code point where ``pad`` is 1.

    One numpy pass over the code points instead of a ``str.replace`` per
    character per text: each padded code point is written three times, then
    its first and last copies become spaces.
    """
    import codecs

    import numpy as np

    at = np.flatnonzero(pad)
    out = np.repeat(codes, pad * 2 + 1)
    at += np.arange(0, 2 * at.size, 2)  # where each padded code point's first copy landed
    out[at] = ord(" ")
    at += 2
    out[at] = ord(" ")
    return codecs.utf_32_le_decode(out, "surrogatepass", True)[0]


class _Tokenizer13a:
    """The batch machinery behind `tokenizer_13a` and `units_13a`."""

    def __init__(self, lowercase: bool) -> None:
        self.lowercase = lowercase
        self.pads, self.table, self.regexes, self.kinds = _rules()

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

    def one_by_one(self, texts: Sequence[str]) -> list[list[str]]:
        """The slow, simple way (for a batch holding the separator itself)."""
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

    def chunk_pads(self, chunk: str) -> list[int]:
        """Which code points of a digit chunk sacreBLEU's regexes make tokens of their own.

        Its regexes only ever insert spaces around one character, so the
        chunk's tokens are the chunk cut around its one-character tokens:
        padding exactly those gives the same split.
        """
        out, at = [], 0
        for token in self.by_regexes(chunk):
            if len(token) == 1:
                out.append(at)
            at += len(token)
        return out

    def words(self, texts: Sequence[str]) -> "list[str] | None":
        """Every text's tokens in one list, the texts separated by a `_SEPARATOR` token; None if a text
        holds the separator (`one_by_one` then)."""
        import numpy as np

        if self.lowercase:
            texts = list(map(str.lower, texts))  # text by text: lower() of a Greek sigma looks at its neighbours
        joined = _line_level(_SEPARATOR.join(map(str.rstrip, texts)))
        if joined.count(_SEPARATOR) != len(texts) - 1:
            return None
        codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        kind = np.take(self.kinds, codes, mode="clip")  # code points past the table: its last entry, "other"
        pad = kind & _PAD
        chunks = _digit_chunks(kind)
        if chunks is not None:
            starts, ends = chunks
            # Blank every chunk's pads, then pad the characters its regexes make tokens of their own.
            lengths = ends - starts
            pad[np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))] = 0
            seen: dict[str, list[int]] = {}  # "1." and "2024," recur: each distinct chunk through the regexes once
            ones: list[int] = []
            for start, end in zip(starts.tolist(), ends.tolist()):
                chunk = joined[start:end]
                offsets = seen.get(chunk)
                if offsets is None:
                    offsets = seen[chunk] = self.chunk_pads(chunk)
                ones += map(start.__add__, offsets)
            pad[ones] = 1
        return _padded(codes, pad).split()


def tokenizer_13a(lowercase: bool = False) -> Callable[[Sequence[str]], list[list[str]]]:
    """texts -> each text's tokens, as ``BLEU(lowercase=...)._preprocess_segment(text).split()``."""
    machinery = _Tokenizer13a(lowercase)

    def tokenize(texts: Sequence[str]) -> list[list[str]]:
        words = machinery.words(texts) if texts else []
        if words is None:
            return machinery.one_by_one(texts)
        out: list[list[str]] = []
        start = 0
        for _ in range(len(texts) - 1):
            end = words.index(_SEPARATOR, start)
            out.append(words[start:end])
            start = end + 1
        if texts:
            out.append(words[start:])
        return out

    return tokenize


def units_13a(texts: Sequence[str], lowercase: bool = False) -> tuple["np.ndarray", "np.ndarray", list[str]]:
    """`tokenizer_13a`'s tokens as integer ids, for n-gram counting: (ids of all texts' tokens, each
    text's number of tokens, the vocabulary: ``vocabulary[id]`` is the token).

    Each distinct text is tokenized once: a reference graded against several
    predictions, or an answer given twice, is common in a batch (as
    sacreBLEU's own per-line cache assumes); its ids are copied with numpy.
    """
    import numpy as np

    distinct = dict.fromkeys(texts)
    if len(distinct) == len(texts):
        return _distinct_units(texts, lowercase)
    ids, lengths, vocabulary = _distinct_units(list(distinct), lowercase)
    which = np.fromiter(map(dict(zip(distinct, range(len(distinct)))).__getitem__, texts), dtype=np.int64,
                        count=len(texts))
    out_lengths = lengths[which]
    # Text k's ids are its distinct text's, from where that one starts.
    shift = (np.cumsum(lengths) - lengths)[which] - (np.cumsum(out_lengths) - out_lengths)
    return ids[np.repeat(shift, out_lengths) + np.arange(int(out_lengths.sum()))], out_lengths, vocabulary


def _distinct_units(texts: Sequence[str], lowercase: bool) -> tuple["np.ndarray", "np.ndarray", list[str]]:
    """`units_13a` without looking for repeated texts.

    Never builds a list per text: each word of the batch gets the position of
    its first occurrence in one ``dict.setdefault`` pass, the positions are
    ranked into dense ids and the separators dropped with numpy.
    """
    import itertools
    from array import array

    import numpy as np

    if not texts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), []
    machinery = _Tokenizer13a(lowercase)
    words = machinery.words(texts)
    if words is None:
        tokens = machinery.one_by_one(texts)
        flat = list(itertools.chain.from_iterable(tokens))
        table = {word: i for i, word in enumerate(dict.fromkeys(flat))}
        ids = np.fromiter(map(table.__getitem__, flat), dtype=np.int64, count=len(flat))
        return ids, np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens)), list(table)
    first: dict[str, int] = {}
    # Each word's first position, in one C-level pass; array("Q") converts a list of ints several times
    # faster than numpy does (and its items go in without the argument parsing of array("q")).
    at = np.frombuffer(array("Q", list(map(first.setdefault, words, range(len(words))))), dtype=np.int64)
    # Dense ids in order of first occurrence, which is the dict's order: the vocabulary.
    rank = np.cumsum(at == np.arange(len(words), dtype=np.int64))
    rank -= 1
    ids = np.take(rank, at)
    is_separator = at == first.get(_SEPARATOR, -1)
    bounds = np.concatenate([[-1], np.flatnonzero(is_separator), [ids.size]])
    return ids[~is_separator], np.diff(bounds) - 1, list(first)


__all__ = ["tokenizer_13a", "units_13a"]
