"""sacreBLEU's ``13a`` tokenizer (what ``BLEU.sentence_score`` splits a text into), fast for plain text.

sacreBLEU tokenizes with four regex substitutions over every character
(``TokenizerRegexp``): about 80 µs for a 140-character text, more than the
rest of sentence BLEU.  Their effect is simple except next to digits:

1. each character of the first regex's class (ASCII punctuation such as
   ``( ) ! ? : ; " / $``) becomes a token of its own: one ``str.translate``;
2. a ``.`` or ``,`` becomes a token of its own, unless it touches a digit
   (``3.14``, ``1,000``) where the regexes' left-to-right matching decides;
3. a ``-`` after a digit becomes a token of its own (``1-2``).

So a text where no ``.``, ``,`` or ``-`` touches a digit is tokenized with
one ``translate`` and one ``findall``; any other text goes through
sacreBLEU's own regexes (taken from its tokenizer object, not copied).
Both give sacreBLEU's tokens: the tests compare them with
``Tokenizer13a`` on random and adversarial text (hypothesis).
"""

from __future__ import annotations

import functools
import re
from typing import Callable, Sequence

#: Where the digit rules of sacreBLEU's regexes can apply (a "." or "," touching a digit, a "-" after one).
_NEAR_DIGIT = re.compile(r"[0-9][.,\-]|[.,][0-9]")
_DIGITS = "0123456789"
_ENTITIES = (("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"))


@functools.lru_cache(maxsize=1)
def _rules() -> tuple["re.Pattern[str]", dict[int, str], list[tuple["re.Pattern[str]", str]]]:
    """The plain-text token regex, the translate table of sacreBLEU's first regex, and its other three.

    A plain token is a run of characters that are neither whitespace, nor
    in the first regex's class, nor "." or ","; or any other single
    non-space character.
    """
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    regexes = list(Tokenizer13a()._post_tokenizer._re)
    isolate = regexes[0][0]
    # The class is ASCII only (a test checks every code point); whitespace splits anyway.
    isolated = [chr(cp) for cp in range(128) if not chr(cp).isspace() and isolate.fullmatch(chr(cp))]
    token = re.compile(f"[^\\s{''.join(map(re.escape, isolated))}.,]+|\\S")
    return token, {ord(c): f" {c} " for c in isolated}, regexes[1:]


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
    token, table, regexes = _rules()
    findall, near_digit = token.findall, _NEAR_DIGIT.search

    def by_regexes(chunk: str) -> list[str]:
        # sacreBLEU's steps 1-4 on one run of non-space characters (its neighbours are spaces).
        line = f" {chunk.translate(table)} "
        for pattern, replacement in regexes:
            line = pattern.sub(replacement, line)
        return line.split()

    def tokenize(texts: Sequence[str]) -> list[list[str]]:
        out = []
        for text in texts:
            if lowercase:
                text = text.lower()
            text = _line_level(text.rstrip())
            if any(digit in text for digit in _DIGITS) and near_digit(text) is not None:
                # Only whitespace-separated chunks with a digit rule go through the regexes.
                out.append([t for chunk in text.split()
                            for t in (by_regexes(chunk) if near_digit(chunk) else findall(chunk))])
            else:
                out.append(findall(text))
        return out

    return tokenize


__all__ = ["tokenizer_13a"]
