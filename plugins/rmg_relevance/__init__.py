"""Built-in ``relevance`` grader: how relevant a prediction is to the user's question.

``RelevanceGrader()`` is offline and lexical; ``RelevanceGrader(backend="llm",
model=...)`` asks an LLM judge through any OpenAI-compatible endpoint.  See
docs/graders/relevance.md.  Heavy libraries are imported inside methods, so
registering this plugin costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rmg_core import hookimpl
from rmg_kit import lazy_attributes

if TYPE_CHECKING:
    from .grader import RelevanceGrader

_LAZY = {"RelevanceGrader": "grader"}


# Imported on first use: `rmg --help` must not import the component (nor pydantic).
__getattr__ = lazy_attributes(__name__, _LAZY)

__all__ = ["RelevanceGrader"]


@hookimpl
def register_graders(register: Any) -> None:
    register("relevance", "rmg_relevance.grader:RelevanceGrader")
