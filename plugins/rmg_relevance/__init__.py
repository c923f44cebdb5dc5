"""Built-in ``relevance`` grader: how relevant a prediction is to the user's question.

``RelevanceGrader()`` is offline and lexical; ``RelevanceGrader(backend="llm",
model=...)`` asks an LLM judge through any OpenAI-compatible endpoint.  See
docs/graders/relevance.md.  Heavy libraries are imported inside methods, so
registering this plugin costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rmg_core import hookimpl

if TYPE_CHECKING:
    from .grader import RelevanceGrader

_LAZY = {"RelevanceGrader": "grader"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:  # imported on first use: `rmg --help` must not import the grader (nor pydantic)
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["RelevanceGrader"]


@hookimpl
def register_graders(register: Any) -> None:
    register("relevance", "rmg_relevance.grader:RelevanceGrader")
