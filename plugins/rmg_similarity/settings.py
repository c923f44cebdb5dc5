"""The ``similarity`` grader's settings: one flat model users write, one model per algorithm that checks it.

Users write flat settings, as OpenJudge takes them
(``SimilarityGrader(algorithm="bleu", max_ngram_order=2)``, or
``algorithm = "bleu"`` and ``max_ngram_order = 2`` in a TOML table).  Every
algorithm parameter is optional here: unset means "the algorithm's default",
which is OpenJudge 0.2.4's (``DEFAULT_PARAMS`` in its
``openjudge/graders/text/similarity.py``).  `SimilaritySettings` then builds
the chosen algorithm's own model (`ALGORITHM_PARAMS`) from the parameters
that were set, so a parameter of another algorithm, or a bad value, is an
error naming the setting.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, PrivateAttr, ValidationError, field_validator, model_validator

from rmg_core import Settings

MAX_NGRAM = 6

Algorithm = Literal[
    "bleu", "sentence_bleu", "gleu", "chrf", "meteor",
    "rouge", "rouge1", "rouge2", "rougeL", "rouge_ngram", "rouge3", "rouge4", "rouge5",
    "f1_score", "token_f1", "fuzzy_match", "edit_distance", "cosine", "jaccard",
]
RougeType = Literal["rouge1", "rouge2", "rouge3", "rouge4", "rouge5", "rougeL"]
ScoreKey = Literal["fmeasure", "precision", "recall"]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _WordParams(_Params):
    """Algorithms over rmg's word terms (see "Tokenization" in docs/graders/similarity.md)."""

    lowercase: bool = True
    strip_accents: bool = False
    stop_words: Optional[Literal["english"]] = None


def _check_ngram_range(value: tuple[int, int]) -> tuple[int, int]:
    lo, hi = value
    if not 1 <= lo <= hi <= MAX_NGRAM:
        raise ValueError(f"must be [min_n, max_n] with 1 <= min_n <= max_n <= {MAX_NGRAM}, got [{lo}, {hi}]")
    return value


#: ``[min_n, max_n]``: terms are runs of min_n to max_n consecutive words.
NgramRange = Annotated[tuple[int, int], AfterValidator(_check_ngram_range)]


class CosineParams(_WordParams):
    use_tfidf: bool = True
    ngram_range: NgramRange = (1, 2)
    sublinear_tf: bool = False


class TokenF1Params(_WordParams):
    ngram_range: NgramRange = (1, 1)


class JaccardParams(_WordParams):
    ngram_range: NgramRange = (1, 1)
    #: OpenJudge's spelling of ``ngram_range = [n, n]``.
    use_ngrams: bool = False
    n: int = 2

    @field_validator("n")
    @classmethod
    def _n(cls, value: int) -> int:
        if not 1 <= value <= MAX_NGRAM:
            raise ValueError(f"must be between 1 and {MAX_NGRAM}, got {value}")
        return value

    def terms_range(self) -> tuple[int, int]:
        return (self.n, self.n) if self.use_ngrams else self.ngram_range


class BleuParams(_Params):
    """sacreBLEU's BLEU on sacreBLEU's own ``13a`` tokens (case-sensitive, as sacreBLEU is by default)."""

    max_ngram_order: int = 4
    smooth_method: Literal["exp", "floor", "add-k", "none"] = "exp"
    smooth_value: Optional[float] = None
    effective_order: bool = True
    lowercase: bool = False

    @field_validator("max_ngram_order")
    @classmethod
    def _order(cls, value: int) -> int:
        if not 1 <= value <= MAX_NGRAM:
            raise ValueError(f"must be between 1 and {MAX_NGRAM}, got {value}")
        return value


class SentenceBleuParams(_WordParams):
    """NLTK's ``sentence_bleu`` over rmg's word terms."""

    weights: tuple[float, ...] = (0.25, 0.25, 0.25, 0.25)
    smoothing_function: int = 1

    @field_validator("weights")
    @classmethod
    def _weights(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not 1 <= len(value) <= MAX_NGRAM or any(w < 0 for w in value) or not any(w > 0 for w in value):
            raise ValueError(f"must be 1 to {MAX_NGRAM} weights >= 0, at least one > 0, got {list(value)}")
        return value

    @field_validator("smoothing_function")
    @classmethod
    def _smoothing(cls, value: int) -> int:
        if not 0 <= value <= 7:
            raise ValueError(f"must be NLTK's SmoothingFunction method number 0-7, got {value}")
        return value


class GleuParams(_WordParams):
    min_len: int = 1
    max_len: int = 4

    @model_validator(mode="after")
    def _lengths(self) -> "GleuParams":
        if not 1 <= self.min_len <= self.max_len <= MAX_NGRAM:
            raise ValueError(f"need 1 <= min_len <= max_len <= {MAX_NGRAM}, got min_len={self.min_len}, max_len={self.max_len}")
        return self


class ChrfParams(_Params):
    """sacreBLEU's chrF (character n-grams; ``word_order = 2`` makes it chrF++)."""

    char_order: int = 6
    word_order: int = 0
    beta: float = 2.0
    lowercase: bool = False
    whitespace: bool = False

    @model_validator(mode="after")
    def _orders(self) -> "ChrfParams":
        if not 1 <= self.char_order <= 10 or not 0 <= self.word_order <= 4 or not self.beta > 0:
            raise ValueError(
                f"need 1 <= char_order <= 10, 0 <= word_order <= 4 and beta > 0, got char_order={self.char_order}, "
                f"word_order={self.word_order}, beta={self.beta}"
            )
        return self


class MeteorParams(_WordParams):
    alpha: float = 0.9
    beta: float = 3.0
    gamma: float = 0.5

    @model_validator(mode="after")
    def _ranges(self) -> "MeteorParams":
        if not (0 <= self.alpha <= 1 and self.beta >= 0 and 0 <= self.gamma <= 1):
            raise ValueError(f"need 0 <= alpha <= 1, beta >= 0, 0 <= gamma <= 1; got {self.alpha}, {self.beta}, {self.gamma}")
        return self


class RougeParams(_WordParams):
    """ROUGE-N (N = 1..5) and ROUGE-L as Google's ``rouge-score`` computes them; the score is their mean."""

    rouge_types: tuple[RougeType, ...] = ("rouge1", "rouge2", "rougeL")
    use_stemmer: bool = True
    score_key: ScoreKey = "fmeasure"

    @field_validator("rouge_types")
    @classmethod
    def _types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("is empty; name at least one of rouge1..rouge5, rougeL")
        return value


class RougeNgramParams(_WordParams):
    """ROUGE-N for one N, without stemming (OpenJudge's ``rouge_ngram``)."""

    n: int = 3
    score_type: ScoreKey = "fmeasure"

    @field_validator("n")
    @classmethod
    def _n(cls, value: int) -> int:
        if not 1 <= value <= MAX_NGRAM:
            raise ValueError(f"must be between 1 and {MAX_NGRAM}, got {value}")
        return value


class FuzzyParams(_Params):
    """RapidFuzz over the raw texts (case-sensitive unless ``lowercase``)."""

    method: Literal["ratio", "partial_ratio", "token_sort_ratio"] = "ratio"
    threshold: float = 0.8
    lowercase: bool = False

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, value: float) -> float:
        if not 0 <= value <= 1:
            raise ValueError(f"must be between 0 and 1, got {value}")
        return value


class EditDistanceParams(_Params):
    normalize_by_length: bool = True
    lowercase: bool = False


#: algorithm -> (its parameter model, the defaults that differ from the model's for this name).
ALGORITHM_PARAMS: dict[str, tuple[type[_Params], dict[str, Any]]] = {
    "bleu": (BleuParams, {}),
    "sentence_bleu": (SentenceBleuParams, {}),
    "gleu": (GleuParams, {}),
    "chrf": (ChrfParams, {}),
    "meteor": (MeteorParams, {}),
    "rouge": (RougeParams, {}),
    "rouge1": (RougeParams, {"rouge_types": ("rouge1",)}),
    "rouge2": (RougeParams, {"rouge_types": ("rouge2",)}),
    "rougeL": (RougeParams, {"rouge_types": ("rougeL",)}),
    "rouge_ngram": (RougeNgramParams, {}),
    "rouge3": (RougeNgramParams, {"n": 3}),
    "rouge4": (RougeNgramParams, {"n": 4}),
    "rouge5": (RougeNgramParams, {"n": 5}),
    "f1_score": (TokenF1Params, {}),
    "token_f1": (TokenF1Params, {}),
    "fuzzy_match": (FuzzyParams, {}),
    "edit_distance": (EditDistanceParams, {}),
    "cosine": (CosineParams, {}),
    "jaccard": (JaccardParams, {}),
}

#: OpenJudge's ``normalize`` (f1_score/token_f1) is rmg's ``lowercase``.
_ALIASES = {"normalize": "lowercase"}


class SimilaritySettings(Settings):
    """Settings of the ``similarity`` grader (see docs/graders/similarity.md).

    ``algorithm`` picks the measure; every other setting is a parameter of
    some algorithms, unset meaning that algorithm's default.
    """

    algorithm: Algorithm = "cosine"
    # -- word terms (every word-based algorithm) --
    lowercase: Optional[bool] = None
    normalize: Optional[bool] = None
    strip_accents: Optional[bool] = None
    stop_words: Optional[Literal["english"]] = None
    # -- cosine, token_f1, jaccard --
    ngram_range: Optional[tuple[int, int]] = None
    use_tfidf: Optional[bool] = None
    sublinear_tf: Optional[bool] = None
    use_ngrams: Optional[bool] = None
    n: Optional[int] = None
    # -- bleu, sentence_bleu, gleu, chrf --
    max_ngram_order: Optional[int] = None
    smooth_method: Optional[str] = None
    smooth_value: Optional[float] = None
    effective_order: Optional[bool] = None
    weights: Optional[tuple[float, ...]] = None
    smoothing_function: Optional[int] = None
    min_len: Optional[int] = None
    max_len: Optional[int] = None
    char_order: Optional[int] = None
    word_order: Optional[int] = None
    whitespace: Optional[bool] = None
    # -- meteor (beta is chrF's too) --
    alpha: Optional[float] = None
    beta: Optional[float] = None
    gamma: Optional[float] = None
    # -- rouge family --
    rouge_types: Optional[tuple[str, ...]] = None
    use_stemmer: Optional[bool] = None
    score_key: Optional[str] = None
    score_type: Optional[str] = None
    # -- fuzzy_match, edit_distance --
    method: Optional[str] = None
    threshold: Optional[float] = None
    normalize_by_length: Optional[bool] = None

    _params: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _build_params(self) -> "SimilaritySettings":
        model, defaults = ALGORITHM_PARAMS[self.algorithm]
        given = {key: value for key, value in self if key != "algorithm" and value is not None}
        for alias, target in _ALIASES.items():
            if alias in given:
                if target in given:
                    raise ValueError(f"setting {alias!r} is OpenJudge's name for {target!r}; give only one of them")
                given[target] = given.pop(alias)
        wrong = sorted(key for key in given if key not in model.model_fields)
        if wrong:
            raise ValueError("; ".join(_not_applicable(key, self.algorithm) for key in wrong))
        try:
            params = model(**{**defaults, **given})
        except ValidationError as exc:
            raise ValueError("; ".join(_describe(err) for err in exc.errors())) from None
        self._params = params
        return self

    @property
    def params(self) -> _Params:
        """The chosen algorithm's parameters, with its defaults filled in."""
        return self._params

    def params_dict(self) -> dict[str, Any]:
        """The parameters as plain JSON values (tuples as lists), for result metadata."""
        return self._params.model_dump(mode="json")


def _not_applicable(key: str, algorithm: str) -> str:
    users = sorted(name for name, (model, _) in ALGORITHM_PARAMS.items() if key in model.model_fields or
                   (key in _ALIASES and _ALIASES[key] in model.model_fields))
    if not users:
        return f"setting {key!r} is not a similarity setting"
    shown = ", ".join(users) if len(users) <= 6 else ", ".join(users[:6]) + ", ..."
    return f"setting {key!r} does not apply to algorithm {algorithm!r} (it is a setting of {shown}); remove it"


def _describe(err: Any) -> str:
    key = ".".join(str(p) for p in err["loc"])
    message = err["msg"].removeprefix("Value error, ")
    return f"setting {key!r}: {message}" if key else message


__all__ = ["ALGORITHM_PARAMS", "Algorithm", "SimilaritySettings", "MAX_NGRAM"]
