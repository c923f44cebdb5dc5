"""Built-in rmg plugin: the ``similarity`` grader (TF-IDF cosine, token F1, Jaccard).

Importing this package loads no numpy or scikit-learn: they are imported when
a batch is first graded.
"""

from __future__ import annotations

from rmg_core import hookimpl

from .grader import SimilarityGrader, SimilaritySettings


@hookimpl
def register_graders(register):  # type: ignore[no-untyped-def]
    register(SimilarityGrader)


__all__ = ["SimilarityGrader", "SimilaritySettings", "register_graders"]
