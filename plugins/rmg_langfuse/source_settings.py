"""The Langfuse source's settings, and the dotted paths its ``input_path``/``output_path`` settings read."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Optional

from pydantic import Field, field_validator, model_validator

from rmg_core import DEFAULT_REFERENCE_KEYS

from .settings import ConnectionSettings, utc
from .traces import check_nesting, parse_io

_PATH_ROOTS = ("input", "output", "metadata")


class LangfuseSourceSettings(ConnectionSettings):
    api: Literal["auto", "v2", "legacy"] = Field(
        "auto",
        description="v2: GET /api/public/v2/observations; legacy: GET /api/public/traces (self-hosted v2/v3); "
        "auto: v2, falling back to legacy on 404/405.",
    )
    from_timestamp: Optional[datetime] = Field(None, description="Only traces at or after this time (naive = UTC).")
    to_timestamp: Optional[datetime] = Field(None, description="Only traces before this time (naive = UTC).")
    name: Optional[str] = Field(None, description="Only traces with this name.")
    tags: tuple[str, ...] = Field((), description="Only traces that have all of these tags.")
    user_id: Optional[str] = None
    session_id: Optional[str] = None
    environment: tuple[str, ...] = Field((), description="Only traces from one of these environments.")
    release: Optional[str] = None
    version: Optional[str] = None
    limit: Optional[int] = Field(None, ge=1, description="Yield at most this many traces.")
    sample_rate: float = Field(
        1.0, gt=0, le=1, description="Keep this fraction of traces, chosen by a hash of the trace id (stable across runs)."
    )
    page_size: int = Field(100, ge=1, le=1000, description="Traces per listing request.")
    prefetch_pages: int = Field(2, ge=1, le=16, description="Pages fetched ahead while the current one is graded.")
    input_path: str = Field("input", description="Where the case input comes from: input, output or metadata[.key...].")
    prediction_path: str = Field("output", description="Where the prediction comes from: input, output or metadata[.key...].")
    reference_keys: tuple[str, ...] = Field(
        DEFAULT_REFERENCE_KEYS, description="Metadata keys the reference is read from, first present wins."
    )
    reference_dataset: Optional[str] = Field(None, description="Dataset whose items give the reference (with reference_run).")
    reference_run: Optional[str] = Field(None, description="Dataset run (experiment) that links traces to dataset items.")
    skip_if_scored: tuple[str, ...] = Field(
        (), description="Skip a trace that already has every one of these trace-level scores."
    )
    expand_metadata: tuple[str, ...] = Field(
        (), description="Metadata keys v2 must return in full (it cuts other values at 200 characters)."
    )

    @field_validator("tags", "environment", "reference_keys", "skip_if_scored", "expand_metadata", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        # A config file may give one string where a list is meant: tags = "prod".
        return (value,) if isinstance(value, str) else value

    @field_validator("from_timestamp", "to_timestamp")
    @classmethod
    def _aware(cls, value: Optional[datetime]) -> Optional[datetime]:
        return utc(value)

    @field_validator("input_path", "prediction_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if value.split(".", 1)[0] not in _PATH_ROOTS:
            raise ValueError(f"must start with one of {', '.join(_PATH_ROOTS)} (e.g. 'metadata.question'), got {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "LangfuseSourceSettings":
        if self.from_timestamp and self.to_timestamp and self.from_timestamp >= self.to_timestamp:
            raise ValueError("from_timestamp must be before to_timestamp")
        if (self.reference_dataset is None) != (self.reference_run is None):
            raise ValueError("reference_dataset and reference_run go together: give both or neither")
        return self


def resolve_path(data: dict[str, Any], path: str) -> Any:
    """``metadata.a.b`` -> data["metadata"]["a"]["b"]; ``None`` when any step is missing."""
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _read(value: Any) -> Any:
    """A trace field as JSON: v2 sends text (parsed, depth-checked), the legacy API parsed JSON (depth-checked)."""
    return parse_io(value) if isinstance(value, str) else check_nesting(value)
