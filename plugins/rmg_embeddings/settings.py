"""Settings of the ``semantic_similarity`` grader (docs/graders/semantic_similarity.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

from pydantic import Field, SecretStr, field_validator, model_validator

from rmg_core import Settings

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_REMOTE_MODEL = "text-embedding-3-small"
API_KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
#: Settings only the openai backend reads.
REMOTE_ONLY = ("base_url", "api_key", "batch_size", "max_in_flight", "request_timeout", "max_retries",
               "retry_backoff", "retry_backoff_max", "max_response_bytes", "cache", "cache_dir")


class SemanticSimilaritySettings(Settings):
    """``backend`` picks where embeddings come from; the rest tunes it."""

    backend: Literal["local", "openai"] = "local"
    #: local: WordLlama's ``l2_supercat`` (256 dimensions, truncatable); openai: the server's model name.
    model: Optional[str] = Field(None, min_length=1)
    #: local: keep the first 64, 128 or 256 dimensions (Matryoshka embeddings: smaller is faster, a bit worse).
    dim: Literal[64, 128, 256] = 256
    #: Longer texts are cut to this many characters before embedding (bounds memory and request size).
    max_chars: int = Field(8_000, ge=10)
    # -- openai ------------------------------------------------------------------------------
    base_url: Optional[str] = None
    api_key: Optional[SecretStr] = None
    batch_size: int = Field(64, ge=1, le=2048)
    max_in_flight: int = Field(4, ge=1, le=256)
    request_timeout: float = Field(30.0, gt=0.0)
    max_retries: int = Field(3, ge=0, le=20)
    retry_backoff: float = Field(0.5, gt=0.0)
    retry_backoff_max: float = Field(30.0, gt=0.0)
    max_response_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    cache: bool = True
    cache_dir: Optional[Path] = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return value
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL such as {DEFAULT_BASE_URL!r}, got {value!r}")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _backend_settings(self) -> "SemanticSimilaritySettings":
        if self.backend == "local":
            wrong = sorted(k for k in REMOTE_ONLY if k in self.model_fields_set)
            if wrong:
                raise ValueError(
                    f"setting(s) {', '.join(repr(k) for k in wrong)} apply only to backend 'openai'; "
                    "set backend = \"openai\" or remove them"
                )
            if self.model not in (None, "l2_supercat"):
                raise ValueError(f"setting 'model': the local backend has one model, 'l2_supercat', not {self.model!r}")
        elif "dim" in self.model_fields_set:
            raise ValueError("setting 'dim' applies only to backend 'local'; the server's model sets the dimensions")
        return self


__all__ = ["SemanticSimilaritySettings", "API_KEY_ENV", "BASE_URL_ENV", "DEFAULT_BASE_URL", "DEFAULT_REMOTE_MODEL"]
