"""`SemanticSimilarityGrader`: the cosine of the prediction's and the reference's sentence embeddings.

The score is ``max(0, cosine)``: a cosine below 0 (opposite directions,
rare for sentence embeddings) counts as "not similar", and the raw cosine is
kept in ``metadata["cosine"]``.  A batch is embedded at once (each distinct
text once), so ``evaluate_batch`` is one model call locally, or
``ceil(texts / batch_size)`` requests remotely.  The empty-input rule is the
``similarity`` grader's.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional, Sequence

from rmg_core import ConfigError, Grader, GraderError, GraderResult, GraderScore, answer_text, run_sync

from .settings import (
    API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL, DEFAULT_REMOTE_MODEL, SemanticSimilaritySettings,
)


class SemanticSimilarityGrader(Grader):
    """Similarity of meaning of ``prediction`` and ``reference``, in [0, 1], from sentence embeddings.

    ``SemanticSimilarityGrader()`` embeds offline with WordLlama;
    ``SemanticSimilarityGrader(backend="openai", model="text-embedding-3-small")``
    calls an OpenAI-compatible ``/v1/embeddings`` endpoint.
    """

    name = "semantic_similarity"
    version = "1"
    required_fields = ("prediction", "reference")
    batch_size = 2048
    Settings = SemanticSimilaritySettings

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        s: SemanticSimilaritySettings = self.settings  # type: ignore[assignment]
        self._cache = None
        self._endpoint = None
        if s.backend == "local":
            from .local import check_installed

            check_installed()
            self.model = f"wordllama-l2_supercat-{s.dim}"
            return
        from .remote import Endpoint

        base_url = s.base_url or os.environ.get(BASE_URL_ENV, "").rstrip("/") or DEFAULT_BASE_URL
        key = s.api_key.get_secret_value() if s.api_key is not None else os.environ.get(API_KEY_ENV)
        self.model = s.model or DEFAULT_REMOTE_MODEL
        self._endpoint = Endpoint(
            url=f"{base_url}/embeddings", model=self.model, api_key=key or None, batch_size=s.batch_size,
            max_in_flight=s.max_in_flight, request_timeout=s.request_timeout, max_retries=s.max_retries,
            retry_backoff=s.retry_backoff, retry_backoff_max=s.retry_backoff_max,
            max_response_bytes=s.max_response_bytes,
        )
        if s.cache:
            from rmg_kit import SqliteCache

            directory = s.cache_dir if s.cache_dir is not None else _default_cache_dir()
            try:
                self._cache = SqliteCache(directory / CACHE_FILE)
            except Exception as exc:
                raise ConfigError(
                    f"semantic_similarity: cannot open the embedding cache in {directory} ({exc}); "
                    "set setting 'cache_dir' to a writable folder or cache = false"
                ) from None

    async def aevaluate(self, prediction: Any = None, reference: Any = None, **unknown: Any) -> GraderResult:
        """Grade one pair (``await grader.aevaluate(prediction=..., reference=...)``)."""
        self.check_fields(unknown)
        return (await self._grade([{"prediction": prediction, "reference": reference}]))[0]

    def evaluate_batch(self, items: Sequence[Mapping[str, Any]]) -> list[GraderResult]:
        """Grade every item at once (the runner calls this in a worker thread)."""
        return run_sync(self._grade(items))

    # -- internals -----------------------------------------------------------------------------
    async def _grade(self, items: Sequence[Mapping[str, Any]]) -> list[GraderResult]:
        s: SemanticSimilaritySettings = self.settings  # type: ignore[assignment]
        results: list[Optional[GraderResult]] = [None] * len(items)
        pairs: list[tuple[int, str, str]] = []
        for i, item in enumerate(items):
            prediction, reference = item.get("prediction"), item.get("reference")
            if prediction is None or reference is None:
                field = "prediction" if prediction is None else "reference"
                results[i] = GraderError(
                    name=self.name, error=f"semantic_similarity needs a {field}, got None; give the case a {field!r}",
                    metadata={"missing_field": field})
                continue
            p = (prediction if type(prediction) is str else answer_text(prediction)).strip()[: s.max_chars]
            r = (reference if type(reference) is str else answer_text(reference)).strip()[: s.max_chars]
            if not p or not r:
                results[i] = self._empty(p, r)
                continue
            pairs.append((i, p, r))
        if pairs:
            distinct = list(dict.fromkeys(t for _, p, r in pairs for t in (p, r)))
            vectors = await self._embed(distinct)
            position = {text: k for k, text in enumerate(distinct)}
            for i, p, r in pairs:
                results[i] = self._score(vectors[position[p]], vectors[position[r]])
        return results  # type: ignore[return-value]

    async def _embed(self, texts: list[str]) -> list[Any]:
        """One entry per text: a unit float32 vector, or the exception that prevented it."""
        import numpy as np

        s: SemanticSimilaritySettings = self.settings  # type: ignore[assignment]
        if self._endpoint is None:
            from .local import embed

            return list(embed(texts, s.dim))
        from rmg_kit import cache_key

        from .remote import embed_all

        # The endpoint is in the key: another provider's model of the same name is another model.
        keys = [cache_key(["embedding", self._endpoint.url, self.model, t]) for t in texts]
        cached = self._cache.get_many(keys) if self._cache is not None else {}
        missing = [k for k, key in enumerate(keys) if key not in cached]
        fetched = await embed_all(self._endpoint, [texts[k] for k in missing]) if missing else []
        out: list[Any] = [None] * len(texts)
        new_rows = []
        for k, value in zip(missing, fetched):
            if isinstance(value, Exception):
                out[k] = value
            else:
                vector = np.asarray(value, dtype=np.float32)
                out[k] = vector
                new_rows.append((keys[k], vector.tobytes()))
        if self._cache is not None and new_rows:
            self._cache.put_many(new_rows)
        for k, key in enumerate(keys):
            if out[k] is None:
                out[k] = np.frombuffer(cached[key], dtype=np.float32)
        return [_unit(v) if not isinstance(v, Exception) else v for v in out]

    def _score(self, a: Any, b: Any) -> GraderResult:
        failed = a if isinstance(a, Exception) else b if isinstance(b, Exception) else None
        if failed is not None:
            return GraderError(name=self.name, error=f"semantic_similarity: {failed}",
                               reason="embedding request failed", metadata={"model": self.model})
        if a.shape != b.shape:
            return GraderError(name=self.name, error=(
                f"semantic_similarity: the model returned embeddings of {a.shape[0]} and {b.shape[0]} dimensions "
                "for the two texts; clear the cache (setting 'cache_dir') if the model changed"))
        cosine = float(a @ b)
        score = min(1.0, max(0.0, cosine))
        return GraderScore(name=self.name, score=score, reason=f"embedding cosine {cosine:.2f} ({self.model})",
                           metadata={"backend": self.settings.backend, "model": self.model,  # type: ignore[attr-defined]
                                     "cosine": cosine})

    def _empty(self, p: str, r: str) -> GraderScore:
        if not p and not r:
            return GraderScore(name=self.name, score=1.0, reason="semantic_similarity 1.00: both texts are empty",
                               metadata={"empty": "both", "model": self.model})
        side = "prediction" if not p else "reference"
        return GraderScore(name=self.name, score=0.0, reason=f"semantic_similarity 0.00: the {side} is empty",
                           metadata={"empty": side, "model": self.model})


CACHE_FILE = "embeddings-cache.sqlite3"


def _default_cache_dir() -> Any:
    from pathlib import Path

    import platformdirs

    return Path(platformdirs.user_cache_dir("rmg")) / "embeddings"


def _unit(vector: Any) -> Any:
    import numpy as np

    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


__all__ = ["SemanticSimilarityGrader"]
