"""`SimilarityGrader`: how close a prediction is to its reference, from their terms.

Definitions, tokenization and the empty-input rule are in
docs/graders/similarity.md.  numpy and scikit-learn are imported inside the
methods that need them, so registering the plugin costs nothing.
"""

from __future__ import annotations

import functools
from typing import Any, Literal, Mapping, Optional, Sequence

from pydantic import field_validator, ValidationInfo

from rmg_core import Grader, GraderError, GraderResult, GraderScore, Settings, answer_text

from .results import score_builder
from .tokenize import make_tokenizer

Algorithm = Literal["cosine", "token_f1", "jaccard"]
MAX_NGRAM = 6


class SimilaritySettings(Settings):
    """Settings of the ``similarity`` grader (see docs/graders/similarity.md)."""

    #: ``cosine`` (TF-IDF cosine), ``token_f1`` or ``jaccard``.
    algorithm: Algorithm = "cosine"
    #: Case-fold text before splitting it into terms.
    lowercase: bool = True
    #: Remove Latin/Greek/Cyrillic combining accents (U+0300–U+036F).
    strip_accents: bool = False
    #: Terms are word n-grams of these sizes, e.g. (1, 2) = words and word pairs.
    ngram_range: tuple[int, int] = (1, 1)
    #: ``"english"`` drops scikit-learn's English stop-word list; None keeps every word.
    stop_words: Optional[Literal["english"]] = None
    #: cosine only: use ``1 + ln(tf)`` instead of the raw count ``tf``.
    sublinear_tf: bool = False

    @field_validator("ngram_range")
    @classmethod
    def _ngram_range(cls, value: tuple[int, int]) -> tuple[int, int]:
        lo, hi = value
        if not 1 <= lo <= hi <= MAX_NGRAM:
            raise ValueError(
                f"must be [min_n, max_n] with 1 <= min_n <= max_n <= {MAX_NGRAM}, got [{lo}, {hi}]"
            )
        return value

    @field_validator("sublinear_tf")
    @classmethod
    def _sublinear_for_cosine(cls, value: bool, info: ValidationInfo) -> bool:
        algorithm = info.data.get("algorithm")
        if value and algorithm is not None and algorithm != "cosine":
            raise ValueError(f"applies only to algorithm 'cosine', not {algorithm!r}; remove it")
        return value


class SimilarityGrader(Grader):
    """Lexical similarity of ``prediction`` to ``reference``, in [0, 1].

    ``SimilarityGrader(algorithm="cosine")`` is the TF-IDF cosine of the two
    texts, with the IDF computed over the pair's own two documents (so a
    case's score never depends on the other cases graded with it).  Batches
    are graded in one vectorized pass (`evaluate_batch`).
    """

    name = "similarity"
    version = "1"
    required_fields = ("prediction", "reference")
    batch_size = 4096
    Settings = SimilaritySettings

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        s = self.settings
        self._tokenize = make_tokenizer(lowercase=s.lowercase, strip_accents=s.strip_accents)

    async def aevaluate(self, prediction: Any = None, reference: Any = None, **_: Any) -> GraderResult:
        """Grade one pair (the seed's ``await grader.aevaluate(prediction=..., reference=...)``)."""
        return self.evaluate_batch([{"prediction": prediction, "reference": reference}])[0]

    def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> list[GraderResult]:
        """Grade every item (``{"prediction": ..., "reference": ...}``) in one vectorized pass."""
        results: list[Optional[GraderResult]] = [None] * len(items)
        docs: list[str] = []
        todo: list[int] = []
        for i, item in enumerate(items):
            prediction, reference = item.get("prediction"), item.get("reference")
            if prediction is None or reference is None:
                field = "prediction" if prediction is None else "reference"
                results[i] = GraderError(
                    error=f"similarity needs a {field}, got None: not applicable; give the case a {field!r} "
                          "(a trace's reference is its expected output)",
                    metadata={"missing_field": field},
                    not_applicable=True,
                )
                continue
            # The common case (plain strings) skips answer_text's dispatch.
            docs.append(prediction if type(prediction) is str else answer_text(prediction))
            docs.append(reference if type(reference) is str else answer_text(reference))
            todo.append(i)
        if todo:
            for i, result in zip(todo, self._score_texts(docs)):
                results[i] = result
        return results  # type: ignore[return-value]

    # -- internals ---------------------------------------------------------
    def _score_texts(self, docs: list[str]) -> list[GraderResult]:
        """Scores for ``docs`` = [prediction0, reference0, prediction1, ...]."""
        import numpy as np

        from .measures import MEASURES, side_lengths
        from .terms import count_ngrams, count_unigrams

        s = self.settings
        stop = _stop_words() if s.stop_words == "english" else None
        if s.ngram_range == (1, 1):
            counts = count_unigrams(docs, self._tokenize, s.lowercase, stop)
        else:
            counts = count_ngrams(docs, self._tokenize, s.ngram_range, stop)
        if s.algorithm == "cosine":
            score, n_terms, n_shared = MEASURES["cosine"](counts, s.sublinear_tf)
        else:
            score, n_terms, n_shared = MEASURES[s.algorithm](counts)
        len_p, len_r = side_lengths(counts)

        algorithm = s.algorithm
        build = score_builder()
        out: list[GraderResult] = []
        rows = zip(
            score.tolist(), n_terms.astype(np.int64).tolist(), n_shared.astype(np.int64).tolist(),
            len_p.tolist(), len_r.tolist(),
        )
        for k, (value, terms, shared, lp, lr) in enumerate(rows):
            if lp and lr:
                out.append(build(
                    value,
                    f"{algorithm} {value:.2f} over {terms} terms ({shared} shared)",
                    {"algorithm": algorithm},
                ))
            else:
                out.append(_empty_result(algorithm, docs[2 * k], docs[2 * k + 1], bool(lp), bool(lr)))
        return out


def _empty_result(algorithm: str, prediction: str, reference: str, has_p: bool, has_r: bool) -> GraderScore:
    """The documented rule for a side without terms (empty, spaces, punctuation or stop words only)."""
    if not has_p and not has_r:
        same = prediction.strip() == reference.strip()
        score = 1.0 if same else 0.0
        why = "identical" if same else "different"
        return GraderScore.model_construct(
            score=score,
            reason=f"{algorithm} {score:.2f}: no terms in either text, and the texts are {why}",
            metadata={"algorithm": algorithm, "empty": "both"},
        )
    side = "prediction" if not has_p else "reference"
    return GraderScore.model_construct(
        score=0.0,
        reason=f"{algorithm} 0.00: the {side} has no terms (empty, punctuation or stop words only)",
        metadata={"algorithm": algorithm, "empty": side},
    )


@functools.lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


__all__ = ["SimilarityGrader", "SimilaritySettings"]
