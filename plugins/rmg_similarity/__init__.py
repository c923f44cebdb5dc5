"""Built-in rmg plugin: the ``similarity`` grader (OpenJudge's 19 algorithms: BLEU, ROUGE, cosine, ...).

Importing this package loads no numpy, scikit-learn, sacreBLEU, NLTK or
RapidFuzz: they are imported when a batch is first graded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rmg_core import hookimpl

if TYPE_CHECKING:
    from .grader import SimilarityGrader
    from .settings import SimilaritySettings

_LAZY = {"SimilarityGrader": "grader", "SimilaritySettings": "settings"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:  # imported on first use: `rmg --help` must not import the grader (nor pydantic)
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def register_graders(register):  # type: ignore[no-untyped-def]
    register("similarity", "rmg_similarity.grader:SimilarityGrader")


__all__ = ["SimilarityGrader", "SimilaritySettings", "register_graders"]
