"""Built-in rmg plugin: the ``similarity`` grader (OpenJudge's 19 algorithms: BLEU, ROUGE, cosine, ...).

Importing this package loads no numpy, scikit-learn, sacreBLEU, NLTK or
RapidFuzz: they are imported when a batch is first graded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rmg_core import hookimpl
from rmg_kit import lazy_attributes

if TYPE_CHECKING:
    from .grader import SimilarityGrader
    from .settings import SimilaritySettings

_LAZY = {"SimilarityGrader": "grader", "SimilaritySettings": "settings"}


# Imported on first use: `rmg --help` must not import the component (nor pydantic).
__getattr__ = lazy_attributes(__name__, _LAZY)


@hookimpl
def register_graders(register):  # type: ignore[no-untyped-def]
    register("similarity", "rmg_similarity.grader:SimilarityGrader")


__all__ = ["SimilarityGrader", "SimilaritySettings", "register_graders"]
