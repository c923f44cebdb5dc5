"""Checking a dict mapper (``{grader field: data key}``) against the grader it feeds."""

from __future__ import annotations

import difflib
from typing import Any, Literal, Mapping, Optional

from .components import Grader
from .errors import ConfigError
from .results import GraderError


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


#: How a run was configured, so a hint shows the fix in the user's terms.
HintStyle = Literal["python", "cli", "config"]


def mapping_hint(grader: str, field: str, style: HintStyle) -> str:
    """How to map a key of the user's traces to ``field`` of ``grader``, as the run was configured."""
    if style == "cli":
        return f"--map {field}=<key or path> (or --map {grader}.{field}=<path> for this grader only)"
    if style == "config":
        return (f"fields = {{ {field} = \"<key or path>\" }} in the [source] table "
                f"(or in [graders.{grader}] for this grader only)")
    return f"grader_configs={{{grader!r}: (grader, {{{field!r}: '<key or path>'}})}}"


def missing_field_result(grader: str, field: str, source: Optional[str], present: bool, style: HintStyle = "python") -> GraderError:
    """The not-applicable result of a case that lacks ``field``, with the fix in the user's terms."""
    what = "is None" if present else "is missing"
    origin = f" (mapped from data key {source!r})" if source and source != field else ""
    # Not applicable, not an error: a trace without an expected answer is
    # simply not one similarity can grade.
    return GraderError(
        error=(
            f"grader {grader!r} needs field {field!r}, which {what}{origin}: not applicable to this trace; "
            f"to grade it, map a key of your traces to it: {mapping_hint(grader, field, style)}"
        ),
        metadata={"missing_field": field},
        not_applicable=True,
    )
