"""The ``[worker]`` table of a config file: schedule, window, retries, limits, state path."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Mapping, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rmg_core import ConfigError, settings_error

from .durations import parse_duration

_DURATIONS = ("interval", "overlap", "settle", "lookback", "retry_backoff", "retry_backoff_max", "retain")


class WorkerSettings(BaseModel):
    """How ``rmg worker`` schedules cycles and what it remembers between them.

    Durations accept ``30s``, ``10m``, ``1h30m`` or a number of seconds.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: Optional[str] = Field(
        None, description="SQLite state file; default: one per config file under the user data directory."
    )
    interval: float = Field(600.0, gt=0, description="Time between the starts of two cycles (default 10m).")
    overlap: float = Field(600.0, description="Each cycle re-reads this far behind the watermark, to catch late traces (default 10m).")
    settle: float = Field(120.0, description="Traces younger than this, or (where the source knows when a trace ended, as Langfuse does) still running or ended less than this ago, are left for a later cycle: their output may still change (default 2m).")
    lookback: float = Field(86400.0, description="How far back the first cycle reads, when the state has no watermark yet (default 24h).")
    sample_rate: float = Field(1.0, gt=0, le=1, description="Grade this fraction of traces, chosen by a hash of the trace id (stable).")
    max_traces_per_minute: Optional[int] = Field(None, ge=1, description="Grade at most this many traces per minute (paced).")
    max_attempts: int = Field(5, ge=1, description="Attempts at a failed score before it is marked dead.")
    retry_backoff: float = Field(60.0, description="Wait before the first retry of a failed score; doubles per attempt (default 1m).")
    retry_backoff_max: float = Field(3600.0, description="Longest wait between two retries (default 1h).")
    retry_batch: int = Field(500, ge=1, description="Most failed traces fetched again by id per cycle.")
    retain: Optional[float] = Field(
        2592000.0,
        description="Forget scored and dead ledger rows of traces older than this (default 30d), so the state "
        "stays bounded; only with a source that reads time windows. 0 keeps everything.",
    )

    @field_validator(*_DURATIONS, mode="before")
    @classmethod
    def _duration(cls, value: Any, info: Any) -> Optional[float]:
        if value is None:
            return None
        return parse_duration(value, info.field_name)


def worker_settings(table: Mapping[str, Any], origin: str, overrides: Mapping[str, Any] = {}) -> WorkerSettings:
    """Validate a ``[worker]`` table (plus command-line overrides); errors name the file and key."""
    data = {**dict(table), **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return WorkerSettings(**data)
    except ValidationError as exc:
        raise settings_error(f"{origin} [worker]", WorkerSettings, exc) from None


def default_state_path(config_file: str) -> Path:
    """One state file per config file, under the user data directory (``platformdirs``).

    The name keeps the config's stem for people and a hash of its absolute
    path so two ``eval.toml`` in different projects never share a ledger.
    """
    import platformdirs

    resolved = str(Path(config_file).resolve())
    digest = hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:10]
    return Path(platformdirs.user_data_dir("rmg")) / "worker" / f"{Path(config_file).stem}-{digest}.sqlite3"


def state_path(settings: WorkerSettings, config_file: Optional[str], explicit: Optional[str] = None) -> Path:
    """``--state``, else ``[worker] state``, else the per-config default."""
    if explicit:
        return Path(explicit)
    if settings.state:
        return Path(settings.state).expanduser()
    if config_file:
        return default_state_path(config_file)
    raise ConfigError("rmg worker: no state file: give -c FILE (its state lives under the user data directory) or --state PATH")
