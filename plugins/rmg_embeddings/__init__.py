"""Built-in rmg plugin: the ``semantic_similarity`` grader (cosine of sentence embeddings).

Two backends: ``local`` (WordLlama, whose wheel ships its weights: offline,
no download; ``pip install 'rmg[embeddings]'``) and ``openai`` (any
OpenAI-compatible ``/v1/embeddings`` endpoint: OpenAI, vLLM, Ollama, TEI).
Importing this package loads neither numpy, httpx nor WordLlama.
"""

from __future__ import annotations

from rmg_core import hookimpl

from .grader import SemanticSimilarityGrader
from .settings import SemanticSimilaritySettings


@hookimpl
def register_graders(register):  # type: ignore[no-untyped-def]
    """Register the ``semantic_similarity`` grader."""
    register(SemanticSimilarityGrader)


__all__ = ["SemanticSimilarityGrader", "SemanticSimilaritySettings", "register_graders"]
