"""Unicode-aware tokenization shared by every similarity algorithm.

The rules (also in docs/graders/similarity.md):

1. The text is normalized to NFKC, so composed and decomposed accents,
   full-width Latin letters and ligatures compare equal (``"café"`` written
   either way is one term; ``"ＡＢＣ"`` is ``"abc"``).
2. With ``lowercase`` it is case-folded (``str.casefold``: ``"Straße"`` and
   ``"STRASSE"`` are both ``"strasse"``).
3. With ``strip_accents`` the Latin/Greek/Cyrillic combining accents
   (U+0300–U+036F) are removed (``"café"`` is ``"cafe"``); other marks, such
   as Japanese voicing marks or Indic vowel signs, are kept because they
   change the letter, not just its accent.
4. Terms are:

   * a **word**: a run of letters, digits, underscores and combining marks
     (so Devanagari or Arabic words stay whole), outside the scripts below;
   * in scripts written without spaces (Han, Hiragana, Katakana, Hangul, Thai,
     Lao, Khmer, Myanmar) each run is split into **overlapping character
     bigrams** (``"東京都"`` -> ``"東京"``, ``"京都"``), as Lucene's CJK
     analyzer does; a run of one character is that character;
   * an **emoji or other pictographic symbol** (Unicode category ``So``) is
     a term on its own; skin-tone modifiers and variation selectors are
     dropped so ``"👍🏽"`` matches ``"👍"``.

   Everything else (spaces, punctuation, math and currency signs) separates
   terms.  ``"don't"`` is ``"don"``, ``"t"``; ``"3.14"`` is ``"3"``, ``"14"``.

For ASCII text the rules reduce to ``re.findall(r"[a-z0-9_]+", text.lower())``,
which is the fast path.  Character classes come from the Unicode database of
the running Python (`unicodedata`).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Callable, Pattern

#: Scripts written without spaces between words: runs become character bigrams.
UNSEGMENTED_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0EFF),    # Thai, Lao
    (0x1000, 0x109F),    # Myanmar
    (0x1100, 0x11FF),    # Hangul Jamo
    (0x1780, 0x17FF),    # Khmer
    (0x2E80, 0x2FDF),    # CJK radicals, Kangxi radicals
    (0x3005, 0x3007),    # 々 〆 〇
    (0x3021, 0x3029),    # Hangzhou numerals
    (0x3038, 0x303B),
    (0x3040, 0x30FF),    # Hiragana, Katakana
    (0x3130, 0x318F),    # Hangul compatibility Jamo
    (0x31F0, 0x31FF),    # Katakana phonetic extensions
    (0x3400, 0x4DBF),    # CJK extension A
    (0x4E00, 0x9FFF),    # CJK unified ideographs
    (0xA960, 0xA97F),    # Hangul Jamo extended A
    (0xAC00, 0xD7FF),    # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF),    # CJK compatibility ideographs
    (0xFF66, 0xFF9F),    # half-width Katakana (NFKC widens them anyway)
    (0x1B000, 0x1B16F),  # Kana supplement / extended
    (0x20000, 0x323AF),  # CJK extensions B-H
)

_ASCII_TERM = re.compile(r"[a-z0-9_]+")
_ASCII_TERM_CASED = re.compile(r"[A-Za-z0-9_]+")
_LATIN_ACCENTS = re.compile("[\u0300-\u036f]")


def _in_unsegmented(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in UNSEGMENTED_RANGES)


def _char_class(codepoints: list[int]) -> str:
    """A regex character-class body for ``codepoints`` (sorted), as ranges."""
    parts = []
    start = prev = None
    for cp in codepoints + [-2]:
        if start is None:
            start = prev = cp
        elif cp == prev + 1:
            prev = cp
        else:
            parts.append(re.escape(chr(start)) if start == prev else f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
            start = prev = cp
    return "".join(parts)


@functools.lru_cache(maxsize=1)
def _unicode_pattern() -> tuple[Pattern[str], Pattern[str]]:
    """The term regex for non-ASCII text and the "starts an unsegmented run" test.

    Built on first use (~20 ms) from `unicodedata`, so importing the plugin
    stays instant.  Marks and symbols live in planes 0 and 1.
    """
    marks: list[int] = []
    symbols: list[int] = []
    for cp in range(0x20000):
        cat = unicodedata.category(chr(cp))
        if cat[0] == "M":
            # Variation selectors are marks but carry no letter; unsegmented
            # scripts keep their marks inside their own runs.
            if not (0xFE00 <= cp <= 0xFE0F) and not _in_unsegmented(cp):
                marks.append(cp)
        elif cat == "So" and not _in_unsegmented(cp):
            symbols.append(cp)
    unseg = "".join(
        re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"
        for lo, hi in UNSEGMENTED_RANGES
    )
    pattern = (
        f"[{unseg}]+"                                   # unsegmented run (bigrams later)
        f"|(?:[^\\W{unseg}]|[{_char_class(marks)}])+"  # word: letters, digits, _, marks
        f"|[{_char_class(symbols)}]"                    # one emoji / symbol
    )
    return re.compile(pattern), re.compile(f"[{unseg}]")


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)]


def make_tokenizer(
    lowercase: bool = True, strip_accents: bool = False, ascii_fast_path: bool = True,
) -> Callable[[str], list[str]]:
    """A function text -> list of terms following the module's rules.

    ``ascii_fast_path=False`` sends ASCII text through the general Unicode
    rules too (the tests use it to show both give the same terms).
    """
    ascii_findall = (_ASCII_TERM if lowercase else _ASCII_TERM_CASED).findall
    normalize = unicodedata.normalize

    def tokenize(text: str) -> list[str]:
        if ascii_fast_path and text.isascii():
            # NFKC, casefold and accent stripping are identities on ASCII
            # (casefold equals lower there): the rules reduce to one regex.
            return ascii_findall(text.lower() if lowercase else text)
        term_re, unsegmented = _unicode_pattern()
        text = normalize("NFKC", text)
        if lowercase:
            text = text.casefold()
        if strip_accents:
            text = normalize("NFC", _LATIN_ACCENTS.sub("", normalize("NFD", text)))
        terms: list[str] = []
        starts_unsegmented = unsegmented.match
        for token in term_re.findall(text):
            if starts_unsegmented(token):
                terms.extend(_bigrams(token))
            else:
                terms.append(token)
        return terms

    return tokenize


__all__ = ["make_tokenizer", "UNSEGMENTED_RANGES"]
