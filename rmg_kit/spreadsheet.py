"""Keeping text written to a CSV file from running as a spreadsheet formula.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is read as a formula by Excel, LibreOffice and Google Sheets
("CSV injection"); trace ids, comments and error messages come from data rmg
does not control.  As OWASP advises, such a cell is prefixed with a single
quote, which spreadsheets show as text.  A cell that is just a number
(``-0.5``, ``+3``) cannot be a formula and is left alone.
"""

from __future__ import annotations

import re
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(value: Any) -> Any:
    """``value``, with a string that a spreadsheet would run as a formula prefixed by ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value
