"""Connection settings shared by the Langfuse source and sink.

Credentials default from the environment variables the Langfuse SDK reads,
so a user who already has the SDK configured needs no rmg-specific setup.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Optional
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from rmg_core import ConfigError, Settings
from rmg_kit import url_credentials_problem

DEFAULT_BASE_URL = "https://cloud.langfuse.com"


def _env(*names: str) -> Optional[str]:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _env_secret() -> Optional[SecretStr]:
    value = _env("LANGFUSE_SECRET_KEY")
    return SecretStr(value) if value else None


def utc(value: Optional[datetime]) -> Optional[datetime]:
    """A timezone-aware datetime; a naive one is taken as UTC (never the machine's zone)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


class ConnectionSettings(Settings):
    """Where Langfuse is, how to authenticate, and how hard to push it."""

    public_key: Optional[str] = Field(
        default_factory=lambda: _env("LANGFUSE_PUBLIC_KEY"),
        description="Langfuse public key (pk-lf-...); default: $LANGFUSE_PUBLIC_KEY.",
    )
    secret_key: Optional[SecretStr] = Field(
        default_factory=_env_secret,
        description="Langfuse secret key (sk-lf-...); default: $LANGFUSE_SECRET_KEY. Never logged.",
    )
    base_url: str = Field(
        default_factory=lambda: _env("LANGFUSE_BASE_URL", "LANGFUSE_HOST") or DEFAULT_BASE_URL,
        validate_default=True,  # a URL from the environment is checked like a given one
        description="Langfuse server; default: $LANGFUSE_BASE_URL, then $LANGFUSE_HOST, then Langfuse Cloud (EU).",
    )
    timeout: float = Field(
        30.0, gt=0, allow_inf_nan=False,
        description="Seconds one HTTP request may take in all (connect, send, the whole reply), per attempt.",
    )
    max_response_bytes: int = Field(
        128 * 1024 * 1024, ge=1024, description="Largest reply body read; a larger one fails the request."
    )
    max_retries: int = Field(6, ge=0, description="Retries of one request after 429, 5xx or a dropped connection.")
    backoff_initial: float = Field(0.5, gt=0, description="First retry wait in seconds (jittered, doubling).")
    backoff_max: float = Field(30.0, gt=0, description="Longest wait between two retries, in seconds.")
    max_retry_after: float = Field(
        120.0, gt=0, description="Longest Retry-After (seconds) honoured; a longer one fails the request."
    )
    max_concurrency: int = Field(
        16, ge=1, description="Most requests in flight; lowered automatically on 429. On an executor the units "
        "running at once share it (each takes max_concurrency // units, at least 1).",
    )
    requests_per_minute: Optional[float] = Field(
        None, gt=0, allow_inf_nan=False,
        description="Most requests a minute, spaced evenly: your plan's limit, so the run is not answered 429 "
        "(Langfuse Cloud allows 30 a minute on Hobby, 100 on Core, 1,000 on Pro for most of the public API). "
        "On an executor the units running at once share it. Default: no limit (a 429 still pauses the run).",
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL}, got {value!r}")
        # Credentials in a URL (user:pass@, ?token=) end up in logs, errors and stored scores.
        problem = url_credentials_problem(value, "settings public_key and secret_key (or the environment "
                                                 "variables LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY)")
        if problem is not None:
            raise ValueError(problem)
        return value.rstrip("/")


def require_credentials(settings: ConnectionSettings, component: str) -> tuple[str, str]:
    """The (public, secret) key pair, or a `ConfigError` saying how to provide it."""
    missing = []
    if not settings.public_key:
        missing.append("public_key (or $LANGFUSE_PUBLIC_KEY)")
    if settings.secret_key is None or not settings.secret_key.get_secret_value():
        missing.append("secret_key (or $LANGFUSE_SECRET_KEY)")
    if missing:
        raise ConfigError(
            f"{component}: missing Langfuse credentials: {' and '.join(missing)}; set the environment "
            f"variables LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY (and LANGFUSE_BASE_URL for a "
            f"self-hosted server), or give the settings in the [{component}] config table"
        )
    assert settings.public_key and settings.secret_key  # narrowed above
    return settings.public_key, settings.secret_key.get_secret_value()
