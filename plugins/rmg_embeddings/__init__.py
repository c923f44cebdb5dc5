"""Built-in rmg plugin: the ``semantic_similarity`` grader (cosine of sentence embeddings).

Two backends: ``local`` (WordLlama, whose wheel ships its weights: offline,
no download; ``pip install 'rmg[embeddings]'``) and ``openai`` (any
OpenAI-compatible ``/v1/embeddings`` endpoint: OpenAI, vLLM, Ollama, TEI).
Importing this package loads neither numpy, httpx nor WordLlama.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rmg_core import hookimpl

if TYPE_CHECKING:
    from .grader import SemanticSimilarityGrader
    from .settings import SemanticSimilaritySettings

_LAZY = {"SemanticSimilarityGrader": "grader", "SemanticSimilaritySettings": "settings"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:  # imported on first use: `rmg --help` must not import the grader (nor pydantic)
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def register_graders(register):  # type: ignore[no-untyped-def]
    """Register the ``semantic_similarity`` grader."""
    register("semantic_similarity", "rmg_embeddings.grader:SemanticSimilarityGrader")


__all__ = ["SemanticSimilarityGrader", "SemanticSimilaritySettings", "register_graders"]
