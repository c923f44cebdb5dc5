"""The relevance grader's settings (one model for both backends)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Optional

from pydantic import Field, SecretStr, field_validator

from rmg_core import Settings
from rmg_kit import url_credentials_problem

#: Settings only the lexical backend reads.
LEXICAL_ONLY: tuple[str, ...] = ("coverage_weight", "refusal_factor")
#: Settings only the llm backend reads.
LLM_ONLY: tuple[str, ...] = (
    "base_url", "model", "api_key", "request_timeout", "max_retries", "retry_backoff", "retry_backoff_max",
    "max_in_flight", "cache", "cache_dir", "temperature", "max_chars",
)
DEFAULT_BASE_URL = "https://api.openai.com/v1"
API_KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
#: Where the judge's key goes, for messages refusing a key written elsewhere.
KEY_GOES = f"setting 'api_key' or the environment variable {API_KEY_ENV}"


class RelevanceSettings(Settings):
    """Settings of `RelevanceGrader`; docs/graders/relevance.md describes each."""

    backend: Literal["lexical", "llm"] = "lexical"

    # -- lexical --------------------------------------------------------------
    coverage_weight: float = Field(0.5, ge=0.0, le=1.0)
    refusal_factor: float = Field(0.0, ge=0.0, le=1.0)

    # -- llm ------------------------------------------------------------------
    base_url: Optional[str] = None
    model: Optional[str] = Field(None, min_length=1)
    api_key: Optional[SecretStr] = None
    request_timeout: float = Field(30.0, gt=0.0)
    max_retries: int = Field(3, ge=0, le=20)
    retry_backoff: float = Field(0.5, gt=0.0)
    retry_backoff_max: float = Field(30.0, gt=0.0)
    max_in_flight: int = Field(8, ge=1, le=1024)
    cache: bool = True
    cache_dir: Optional[Path] = None
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_chars: int = Field(32_000, ge=100)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: Optional[str]) -> Optional[str]:
        if value is None:
            return value
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                f"must be an http:// or https:// URL such as {DEFAULT_BASE_URL!r}, got {value!r}"
            )
        problem = url_credentials_problem(value, KEY_GOES)
        if problem is not None:
            raise ValueError(problem)
        return value.rstrip("/")
