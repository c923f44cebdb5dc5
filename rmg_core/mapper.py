"""Checking a dict mapper (``{grader field: data key}``) against the grader it feeds."""

from __future__ import annotations

import difflib
from typing import Any, Mapping

from .components import Grader
from .errors import ConfigError


def check_mapper_keys(score: str, grader: Grader, mapper: Mapping[str, Any]) -> None:
    """A dict mapper's keys are the grader's parameters: one that is not is a typo, never ignored."""
    fields = grader.fields_of()
    for key in (k for k in mapper if k not in fields):
        close = difflib.get_close_matches(str(key), fields, n=1)
        raise ConfigError(
            f"grader_configs[{score!r}]: mapper key {key!r} is not a field of grader {grader.name or score!r} "
            f"(its fields: {', '.join(fields) or '(none)'}){f'; did you mean {close[0]!r}?' if close else ''} "
            "A mapper is {grader field: data key}."
        )


__all__ = ["check_mapper_keys"]
