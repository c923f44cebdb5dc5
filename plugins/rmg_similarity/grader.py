"""`SimilarityGrader`: how close a prediction is to its reference, by one of 19 algorithms.

Definitions, tokenization and the empty-input rule are in
docs/graders/similarity.md.  Each algorithm lives in its own module
(`counted`, `translation`, `rouge`, `fuzzy`), imported with its libraries
(numpy, sacreBLEU, NLTK, RapidFuzz) when a batch is first graded, so
registering the plugin costs nothing.
"""

from __future__ import annotations

import importlib
import itertools
import operator
from typing import Any, Mapping, Optional, Sequence

from rmg_core import Grader, GraderError, GraderResult, GraderScore, answer_text, fingerprint

from .outcome import Columns, Empty, Outcome
from .results import score_builder, scores_builder
from .settings import SimilaritySettings

#: algorithm -> (module, function) computing its outcomes; imported on first use.
_FUNCTIONS: dict[str, tuple[str, str]] = {
    "bleu": ("translation", "bleu"), "sentence_bleu": ("translation", "sentence_bleu"),
    "gleu": ("translation", "gleu"), "chrf": ("translation", "chrf"), "meteor": ("translation", "meteor"),
    "rouge": ("rouge", "rouge"), "rouge1": ("rouge", "rouge"), "rouge2": ("rouge", "rouge"),
    "rougeL": ("rouge", "rouge"), "rouge_ngram": ("rouge", "rouge_ngram"), "rouge3": ("rouge", "rouge_ngram"),
    "rouge4": ("rouge", "rouge_ngram"), "rouge5": ("rouge", "rouge_ngram"),
    "fuzzy_match": ("fuzzy", "fuzzy_match"), "edit_distance": ("fuzzy", "edit_distance"),
}
#: Algorithms computed from each pair's term counts (`counted`), with the measure they use.
_COUNTED = {"cosine": "cosine", "token_f1": "token_f1", "f1_score": "token_f1", "jaccard": "jaccard"}


class SimilarityGrader(Grader):
    """Similarity of ``prediction`` to ``reference``, in [0, 1], by one of OpenJudge's 19 algorithms.

    ``SimilarityGrader(algorithm="bleu")`` is sacreBLEU's sentence BLEU;
    ``SimilarityGrader(algorithm="cosine")`` the TF-IDF cosine of word 1-2
    grams with the IDF of the pair's own two texts (so a case's score never
    depends on the other cases graded with it).  Every algorithm grades a
    batch in one call (`evaluate_batch`); see docs/graders/similarity.md.
    """

    name = "similarity"
    #: 2: every OpenJudge algorithm; cosine's default terms became word 1-2-grams (were words).
    version = "2"
    required_fields = ("prediction", "reference")
    batch_size = 4096
    Settings = SimilaritySettings

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        s: SimilaritySettings = self.settings  # type: ignore[assignment]
        self.algorithm = s.algorithm
        self._params_meta = {"algorithm": s.algorithm, **s.params_dict()}

    def fingerprint(self) -> str:
        """A hash of the algorithm and its parameters as used: a default given explicitly or left unset is the same."""
        return fingerprint({"component": type(self).name, "version": self.version, "settings": self._params_meta})

    def __repr__(self) -> str:
        return f"SimilarityGrader({', '.join(f'{k}={v!r}' for k, v in self._params_meta.items())})"

    async def aevaluate(self, prediction: Any = None, reference: Any = None, **unknown: Any) -> GraderResult:
        """Grade one pair (the seed's ``await grader.aevaluate(prediction=..., reference=...)``).

        An unknown keyword is an error naming it; OpenJudge's ``response`` and
        ``reference_response`` are rmg's ``prediction`` and ``reference``.
        """
        self.check_fields(unknown)
        return self.evaluate_batch([{"prediction": prediction, "reference": reference}])[0]

    def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> list[GraderResult]:
        """Grade every item (``{"prediction": ..., "reference": ...}``) in one vectorized pass."""
        predictions = [item.get("prediction") for item in items]
        references = [item.get("reference") for item in items]
        if set(map(type, predictions)) | set(map(type, references)) == {str}:
            # The common case, plain strings on both sides: no per-item checks (cheap metrics feel them).
            docs = [None] * (2 * len(items))
            docs[0::2], docs[1::2] = predictions, references
            return self._score_texts(docs)  # type: ignore[arg-type]
        results: list[Optional[GraderResult]] = [None] * len(items)
        docs = []
        todo: list[int] = []
        for i, (prediction, reference) in enumerate(zip(predictions, references)):
            if prediction is None or reference is None:
                field = "prediction" if prediction is None else "reference"
                results[i] = GraderError(
                    name=self.name,
                    error=f"similarity needs a {field}, got None: not applicable; give the case a {field!r} "
                          "(a trace's reference is its expected output)",
                    metadata={"missing_field": field},
                    not_applicable=True,
                )
                continue
            docs.append(prediction if type(prediction) is str else answer_text(prediction))
            docs.append(reference if type(reference) is str else answer_text(reference))
            todo.append(i)
        if todo:
            for i, result in zip(todo, self._score_texts(docs)):
                results[i] = result
        return results  # type: ignore[return-value]

    # -- internals ---------------------------------------------------------
    def _outcomes(self, docs: list[str]) -> "list[Outcome] | Columns":
        params = self.settings.params  # type: ignore[attr-defined]
        measure = _COUNTED.get(self.algorithm)
        if measure is not None:
            from .counted import counted

            return counted(measure, docs, params)
        module, function = _FUNCTIONS[self.algorithm]
        return getattr(importlib.import_module(f"{__package__}.{module}"), function)(docs, params)

    def _score_texts(self, docs: list[str]) -> list[GraderResult]:
        """Scores for ``docs`` = [prediction0, reference0, prediction1, ...]."""
        name, meta = self.name, self._params_meta
        outcomes = self._outcomes(docs)
        if type(outcomes) is Columns:
            values, reasons, details, empty = outcomes
            metas = list(map(operator.or_, itertools.repeat(meta), details)) if details is not None \
                else list(map(dict, itertools.repeat(meta, len(values))))
            out: list[GraderResult] = scores_builder()(name, values, reasons, metas)  # type: ignore[assignment]
            for k, (has_p, has_r) in empty.items():
                out[k] = _empty_result(name, meta, docs[2 * k], docs[2 * k + 1], has_p, has_r)
            return out
        build = score_builder()
        out = []
        for k, outcome in enumerate(outcomes):
            if type(outcome) is Empty:
                out.append(_empty_result(name, meta, docs[2 * k], docs[2 * k + 1], *outcome))
            else:
                value, reason, details = outcome  # type: ignore[misc]
                out.append(build(name, value, reason, {**meta, **details} if details else dict(meta)))
        return out


def _empty_result(
    name: str, meta: dict[str, Any], prediction: str, reference: str, has_p: bool, has_r: bool,
) -> GraderScore:
    """The documented rule for a side without terms (empty, spaces, punctuation or stop words only)."""
    algorithm = meta["algorithm"]
    if not has_p and not has_r:
        same = prediction.strip() == reference.strip()
        score = 1.0 if same else 0.0
        why = "identical" if same else "different"
        return GraderScore.model_construct(
            name=name, score=score,
            reason=f"{algorithm} {score:.2f}: no terms in either text, and the texts are {why}",
            metadata={**meta, "empty": "both"},
        )
    side = "prediction" if not has_p else "reference"
    return GraderScore.model_construct(
        name=name, score=0.0,
        reason=f"{algorithm} 0.00: the {side} has no terms (empty, punctuation or stop words only)",
        metadata={**meta, "empty": side},
    )


__all__ = ["SimilarityGrader", "SimilaritySettings"]
