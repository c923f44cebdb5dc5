"""Built-in rmg plugin: the ``similarity`` grader (OpenJudge's 19 algorithms: BLEU, ROUGE, cosine, ...).

Importing this package loads no numpy, scikit-learn, sacreBLEU, NLTK or
RapidFuzz: they are imported when a batch is first graded.
"""

from __future__ import annotations

from rmg_core import hookimpl

from .grader import SimilarityGrader
from .settings import SimilaritySettings


@hookimpl
def register_graders(register):  # type: ignore[no-untyped-def]
    register(SimilarityGrader)


__all__ = ["SimilarityGrader", "SimilaritySettings", "register_graders"]
