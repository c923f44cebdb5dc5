"""`RelevanceGrader`: how relevant a prediction is to the user's question, on 0..1."""

from __future__ import annotations

import os
from typing import Any, Callable, ClassVar, Mapping, Optional, Sequence

from rmg_core import ConfigError, Grader, GraderError, GraderResult, GraderScore, answer_text, question_text
from rmg_kit import check_url_has_no_credentials

from .lexical import LexicalScore, score_pair
from .settings import (
    API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL, KEY_GOES, LEXICAL_ONLY, LLM_ONLY, RelevanceSettings,
)

_REASON_TERMS = 8


class _SupportsBatchByBackend:
    """``supports_batch()``: per instance, by backend (the class answers for the default, lexical).

    The lexical backend is CPU-bound and batches; the llm backend is I/O-bound
    and must go through ``aevaluate`` so the runner bounds its concurrency.
    """

    def __get__(self, obj: Optional["RelevanceGrader"], objtype: Any = None) -> Callable[[], bool]:
        if obj is None:
            return lambda: True
        return lambda: obj.settings.backend == "lexical"


class RelevanceGrader(Grader):
    """Scores how relevant a prediction is to the input (the user's question), 0..1, with a reason.

    ``backend="lexical"`` (default) is offline and deterministic: coverage of
    the question's terms by the answer, with a refusal penalty.
    ``backend="llm"`` asks a judge model through any OpenAI-compatible
    chat-completions endpoint, with retries and an on-disk cache.

    The input is reduced to the user's question (the last user message of a
    chat) and the prediction to the answer (the last assistant message) with
    `rmg_core.question_text` / `rmg_core.answer_text`.
    """

    name: ClassVar[str] = "relevance"
    version: ClassVar[str] = "1"
    Settings = RelevanceSettings
    required_fields: ClassVar[tuple[str, ...]] = ("input", "prediction")
    supports_batch = _SupportsBatchByBackend()  # type: ignore[assignment]

    settings: RelevanceSettings

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        s = self.settings
        given = s.model_fields_set
        foreign = LEXICAL_ONLY if s.backend == "llm" else LLM_ONLY
        stray = sorted(k for k in given if k in foreign)
        if stray:
            other = "lexical" if s.backend == "llm" else "llm"
            raise ConfigError(
                f"relevance: setting(s) {', '.join(repr(k) for k in stray)} apply only to backend "
                f"{other!r}, but backend is {s.backend!r}; remove them or set backend = {other!r}"
            )
        self._judge = self._build_judge() if s.backend == "llm" else None

    def _build_judge(self) -> Any:
        from pydantic import SecretStr

        from .judge import JudgeConfig, LLMJudge

        s = self.settings
        if not s.model:
            raise ConfigError(
                "relevance: backend 'llm' needs setting 'model' (the judge model name, "
                "e.g. model = \"gpt-4o-mini\")"
            )
        key = s.api_key.get_secret_value() if s.api_key is not None else os.environ.get(API_KEY_ENV, "")
        if not key.strip():
            raise ConfigError(
                f"relevance: backend 'llm' needs an API key: set setting 'api_key' or the "
                f"environment variable {API_KEY_ENV}"
            )
        base_url = s.base_url or os.environ.get(BASE_URL_ENV, "").strip().rstrip("/") or DEFAULT_BASE_URL
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"relevance: environment variable {BASE_URL_ENV} must be an http(s) URL, got {base_url!r}"
            )
        check_url_has_no_credentials(base_url, f"relevance: environment variable {BASE_URL_ENV}", KEY_GOES)
        cache_dir = None
        if s.cache:
            cache_dir = s.cache_dir if s.cache_dir is not None else _default_cache_dir()
        config = JudgeConfig(
            base_url=base_url, model=s.model, api_key=SecretStr(key.strip()), timeout=s.request_timeout,
            max_retries=s.max_retries, retry_backoff=s.retry_backoff,
            retry_backoff_max=s.retry_backoff_max, max_in_flight=s.max_in_flight,
            temperature=s.temperature, max_chars=s.max_chars, cache_dir=cache_dir,
        )
        try:
            return LLMJudge(config)
        except OSError as exc:
            raise ConfigError(
                f"relevance: cannot open the judge cache in {cache_dir} ({exc}); "
                "set setting 'cache_dir' to a writable folder or cache = false"
            ) from None

    # -- grading ----------------------------------------------------------------
    async def aevaluate(self, **fields: Any) -> GraderResult:
        """Grade one case: ``input`` (the question) and ``prediction`` (the answer)."""
        self.check_fields(fields)
        missing = _missing_field(fields)
        if missing is not None:
            return missing
        if self._judge is None:
            return self._lexical_one(fields["input"], fields["prediction"])
        question = question_text(fields["input"]).strip()
        answer = answer_text(fields["prediction"]).strip()
        if not question or not answer:
            return _empty_score("input" if not question else "prediction", "llm")
        return await self._judge.grade(question, answer)

    def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> Sequence[GraderResult]:
        """Grade many cases with the lexical backend; each score depends on its own case only."""
        if self._judge is not None:
            raise NotImplementedError("the llm backend grades through aevaluate, one case at a time")
        out: list[GraderResult] = []
        append = out.append
        one = self._lexical_one
        for item in items:
            q = item.get("input")
            p = item.get("prediction")
            if q is None or p is None:
                append(_missing_field(item))  # type: ignore[arg-type]
            else:
                append(one(q, p))
        return out

    def _lexical_one(self, question: Any, prediction: Any) -> GraderResult:
        s = self.settings
        q = question if type(question) is str else question_text(question)
        a = prediction if type(prediction) is str else answer_text(prediction)
        parts = score_pair(q, a, s.coverage_weight, s.refusal_factor)
        if parts.empty is not None:
            return _empty_score(parts.empty, "lexical")
        # model_construct skips validation: the score is a float in [0, 1] by
        # construction and the runner re-checks finiteness anyway.
        return GraderScore.model_construct(
            name="relevance",
            score=parts.score,
            reason=_lexical_reason(parts, s.refusal_factor),
            metadata={
                "backend": "lexical",
                "term_coverage": parts.term_coverage,
                "char_coverage": parts.char_coverage,
                "question_terms": len(parts.matched) + len(parts.missing),
                "refusal": parts.refusal,
            },
        )

    def usage(self) -> Optional[dict[str, Any]]:
        """The llm judge's requests, retries, cache hits, merged duplicates and tokens (``None`` for lexical)."""
        return self._judge.usage.as_dict() if self._judge is not None else None

    async def aclose(self) -> None:
        """Close the llm backend's HTTP client for the running event loop (no-op for lexical)."""
        if self._judge is not None:
            await self._judge.aclose()


def _default_cache_dir() -> Any:
    from pathlib import Path

    import platformdirs

    return Path(platformdirs.user_cache_dir("rmg")) / "relevance"


def _missing_field(fields: Mapping[str, Any]) -> Optional[GraderError]:
    # None is missing too, as the runner has it: a trace whose call failed has
    # no output, and is not applicable (not a score of 0, not an error).
    for field in RelevanceGrader.required_fields:
        if fields.get(field) is None:
            what = "is None" if field in fields else "is missing"
            return GraderError(
                name="relevance",
                error=f"grader 'relevance' needs field {field!r}, which {what}: not applicable; pass {field}=... "
                      f"(input: the user's question, prediction: the answer)",
                metadata={"missing_field": field},
                not_applicable=True,
            )
    return None


def _empty_score(side: str, backend: str) -> GraderScore:
    if side == "input":
        reason = "the input has no question text (no words after reduction): nothing to be relevant to, score 0"
    else:
        reason = "the prediction is empty (no words after reduction): it answers nothing, score 0"
    return GraderScore(name="relevance", score=0.0, reason=reason, metadata={"backend": backend, "empty": side})


def _terms(words: Sequence[str]) -> str:
    shown = ", ".join(words[:_REASON_TERMS])
    return shown + (f", ... (+{len(words) - _REASON_TERMS})" if len(words) > _REASON_TERMS else "")


def _lexical_reason(parts: LexicalScore, refusal_factor: float) -> str:
    total = len(parts.matched) + len(parts.missing)
    text = f"answer covers {len(parts.matched)} of {total} question terms"
    if parts.matched:
        text += f" (matched: {_terms(parts.matched)}"
        text += f"; missing: {_terms(parts.missing)})" if parts.missing else ")"
    elif parts.missing:
        text += f" (missing: {_terms(parts.missing)})"
    text += f" and {parts.char_coverage:.0%} of their character 4-grams"
    if parts.refusal is not None:
        text += f"; it opens with a refusal ({parts.refusal!r}), so the score is multiplied by {refusal_factor:g}"
    return text
