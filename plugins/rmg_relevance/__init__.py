"""Built-in ``relevance`` grader: how relevant a prediction is to the user's question.

``RelevanceGrader()`` is offline and lexical; ``RelevanceGrader(backend="llm",
model=...)`` asks an LLM judge through any OpenAI-compatible endpoint.  See
docs/graders/relevance.md.  Heavy libraries are imported inside methods, so
registering this plugin costs nothing.
"""

from __future__ import annotations

from typing import Any

from rmg_core import hookimpl

from .grader import RelevanceGrader

__all__ = ["RelevanceGrader"]


@hookimpl
def register_graders(register: Any) -> None:
    register(RelevanceGrader)
