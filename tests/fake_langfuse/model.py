"""What the fake stores: traces, their observations, and scores (upserted by id)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(value: Optional[datetime]) -> Optional[str]:
    """Langfuse's timestamp format: UTC, milliseconds, ``Z``."""
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp; a naive one is taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass
class Observation:
    """One observation (span, generation, ...) of a trace."""

    id: str
    trace_id: str
    type: str
    name: Optional[str]
    start_time: datetime
    end_time: Optional[datetime] = None
    parent_observation_id: Optional[str] = None
    level: str = "DEFAULT"
    status_message: Optional[str] = None
    version: Optional[str] = None
    environment: str = "default"
    input: Any = None
    output: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)
    model: Optional[str] = None
    model_parameters: Any = None
    usage_details: dict[str, int] = field(default_factory=dict)
    cost_details: dict[str, float] = field(default_factory=dict)
    completion_start_time: Optional[datetime] = None
    prompt_name: Optional[str] = None
    prompt_version: Optional[int] = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    #: True for the root observation that carries the trace's input/output.
    is_root: bool = False

    @property
    def sort_key(self) -> tuple[datetime, str]:
        return (self.start_time, self.id)

    @property
    def latency(self) -> Optional[float]:
        if self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()

    @property
    def time_to_first_token(self) -> Optional[float]:
        if self.completion_start_time is None:
            return None
        return (self.completion_start_time - self.start_time).total_seconds()

    @property
    def total_cost(self) -> Optional[float]:
        if not self.cost_details:
            return None
        return self.cost_details.get("total", sum(self.cost_details.values()))


@dataclass
class Trace:
    """A trace with its observations; the first observation is the root."""

    id: str
    timestamp: datetime
    name: Optional[str] = None
    input: Any = None
    output: Any = None
    session_id: Optional[str] = None
    release: Optional[str] = None
    version: Optional[str] = None
    user_id: Optional[str] = None
    metadata: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    public: bool = False
    bookmarked: bool = False
    environment: str = "default"
    observations: list[Observation] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    @property
    def root(self) -> Optional[Observation]:
        for obs in self.observations:
            if obs.is_root:
                return obs
        return None

    @property
    def latency(self) -> Optional[float]:
        if not self.observations:
            return None
        start = min(o.start_time for o in self.observations)
        ends = [o.end_time for o in self.observations if o.end_time is not None]
        return (max(ends) - start).total_seconds() if ends else None

    @property
    def total_cost(self) -> Optional[float]:
        costs = [o.total_cost for o in self.observations if o.total_cost is not None]
        return sum(costs) if costs else None

    def to_seed_json(self) -> dict[str, Any]:
        """The trace as the control API and ``FakeLangfuse.traces()`` show it."""
        return {
            "id": self.id,
            "timestamp": iso(self.timestamp),
            "name": self.name,
            "input": self.input,
            "output": self.output,
            "sessionId": self.session_id,
            "release": self.release,
            "version": self.version,
            "userId": self.user_id,
            "metadata": self.metadata,
            "tags": list(self.tags),
            "public": self.public,
            "bookmarked": self.bookmarked,
            "environment": self.environment,
            "observations": [o.id for o in self.observations],
        }


@dataclass
class StoredScore:
    """A score as last written, with how often its id was written.

    ``body`` is the last accepted request object (API field names);
    ``timestamps`` lists the distinct ``timestamp`` values written under this
    id, because Langfuse documents that an update must repeat id *and*
    timestamp.
    """

    id: str
    body: dict[str, Any]
    data_type: str
    timestamp: datetime
    created_at: datetime
    updated_at: datetime
    write_count: int = 1
    timestamps: list[str] = field(default_factory=list)

    @property
    def trace_id(self) -> Optional[str]:
        return self.body.get("traceId")

    @property
    def observation_id(self) -> Optional[str]:
        return self.body.get("observationId")

    @property
    def name(self) -> str:
        return self.body["name"]

    @property
    def value(self) -> Any:
        return self.body["value"]

    @property
    def environment(self) -> str:
        return self.body.get("environment") or "default"

    @property
    def source(self) -> str:
        return self.body.get("source") or "API"

    def to_json(self) -> dict[str, Any]:
        """The stored score for tests: request fields plus bookkeeping."""
        return {
            **self.body,
            "id": self.id,
            "dataType": self.data_type,
            "timestamp": iso(self.timestamp),
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "writeCount": self.write_count,
            "timestampsWritten": list(self.timestamps),
        }
