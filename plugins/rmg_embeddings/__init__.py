"""Built-in rmg plugin: the ``semantic_similarity`` grader (cosine of sentence embeddings).

Two backends: ``local`` (WordLlama, whose wheel ships its weights: offline,
no download; ``pip install 'rmg[embeddings]'``) and ``openai`` (any
OpenAI-compatible ``/v1/embeddings`` endpoint: OpenAI, vLLM, Ollama, TEI).
Importing this package loads neither numpy, httpx nor WordLlama.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rmg_core import hookimpl
from rmg_kit import lazy_attributes

if TYPE_CHECKING:
    from .grader import SemanticSimilarityGrader
    from .settings import SemanticSimilaritySettings

_LAZY = {"SemanticSimilarityGrader": "grader", "SemanticSimilaritySettings": "settings"}


# Imported on first use: `rmg --help` must not import the component (nor pydantic).
__getattr__ = lazy_attributes(__name__, _LAZY)


@hookimpl
def register_graders(register):  # type: ignore[no-untyped-def]
    """Register the ``semantic_similarity`` grader."""
    register("semantic_similarity", "rmg_embeddings.grader:SemanticSimilarityGrader")


__all__ = ["SemanticSimilarityGrader", "SemanticSimilaritySettings", "register_graders"]
