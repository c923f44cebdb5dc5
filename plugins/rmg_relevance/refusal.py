"""Spotting answers that decline to answer ("I'm sorry, I can't help with that").

A refusal often repeats the question's words ("I can't help you reset your
password"), so word coverage alone would call it relevant.  It gives the user
nothing about their question, so the lexical backend multiplies its score by
``refusal_factor``.  Only *short* answers that *open* with a refusal count: an
answer that apologises and then answers at length is an answer.
"""

from __future__ import annotations

import re
from typing import Optional

#: An answer with more word tokens than this is treated as substantive even if
#: it opens with a refusal phrase.
REFUSAL_MAX_TOKENS = 40
#: Only the opening of the answer is searched: refusals come first.
REFUSAL_WINDOW = 240

_APOS = "['\u2019]"
REFUSAL_RE = re.compile(
    r"""
    \b(?:
        (?:i|we)\s*(?:am|APOSm|are|APOSre)?\s*(?:sorry|afraid)\b[^.!?]{0,40}?
            \b(?:can(?:not|APOS?t)|could\s*n(?:o|APOS)t|unable|not\s+able|won(?:APOS)?t|don(?:APOS)?t\s+have)
      | (?:i|we)\s*(?:can(?:not|APOS?t)|could\s*n(?:o|APOS)t|won(?:APOS)?t|(?:do\s+not|don(?:APOS)?t)
            |(?:am|are|APOSm|APOSre)\s+(?:unable|not\s+able|not\s+allowed|not\s+permitted)\s+to)
            \s+(?:help|assist|answer|provide|share|do\s+that|comply|discuss|give|access|respond
            |know|have\s+(?:access|information|enough|the\s+ability|any\s+information))\b
      | as\s+an?\s+(?:ai|language\s+model|large\s+language\s+model|assistant)\b
      | (?:i(?:APOS)?m|i\s+am)\s+(?:just\s+)?an?\s+(?:ai|language\s+model|virtual\s+assistant)\b
      | (?:unfortunately|sorry),?\s+(?:i|we)\s+(?:can|could|do|don|am|have)\w*\W+(?:not\s+)?(?:help|assist|answer|provide|access|know)
      | (?:this|that)\s+(?:is|falls)\s+(?:outside|beyond)\s+(?:my|the)\s+(?:scope|capabilit)
      | i\s+(?:must|have\s+to)\s+decline
    )
    """.replace("APOS", _APOS),
    re.IGNORECASE | re.VERBOSE,
)


#: Every alternative of `REFUSAL_RE` needs one of these lower-case word tokens
#: ("can't" splits into "can" and "t"), so an answer with none of them is not
#: searched: a set test is far cheaper than the regex.
ANCHOR_TOKENS: frozenset[str] = frozenset(
    "sorry afraid cannot cant t not dont wont couldnt couldnot unable ai model assistant "
    "unfortunately outside beyond decline".split()
)


def looks_like_refusal(answer: str, answer_tokens: list[str]) -> Optional[str]:
    """The refusal phrase a short answer opens with, or None.

    ``answer_tokens`` are the answer's lower-case word tokens (the caller has them).
    """
    if len(answer_tokens) > REFUSAL_MAX_TOKENS or ANCHOR_TOKENS.isdisjoint(answer_tokens):
        return None
    match = REFUSAL_RE.search(answer, 0, REFUSAL_WINDOW)
    return match.group(0).strip() if match else None
