"""The fake's in-memory project: traces with their observations, and scores.

Observations are kept in one list sorted by ``(startTime, id)`` so cursor
pages are a binary search plus a scan, not a sort per request (the benchmark
pages through tens of thousands of them).

Scores are upserted as Langfuse's score table does it: the row key is
``(id, name, day of the score's timestamp)``, so writing an id again on the
same day replaces the row, and writing it with a timestamp on another day
adds a second row with the same id (a duplicate a user sees).  A score body
without ``timestamp`` (the spec's single-object body has no such field) is
stamped with the server's clock (`Clock`, which tests can move forward).
Each row remembers how often it was written.
"""

from __future__ import annotations

import bisect
import re
import threading
import uuid
from datetime import date, datetime, timedelta
from typing import Any, Iterator, Optional

from .model import Observation, StoredScore, Trace, iso, parse_iso, utcnow

#: Score environments: lowercase alphanumerics, hyphens, underscores, not starting with "langfuse".
_ENVIRONMENT = re.compile(r"^(?!langfuse)[a-z0-9_-]+$")
_DATA_TYPES = ("NUMERIC", "BOOLEAN", "CATEGORICAL", "TEXT", "CORRECTION")


class ScoreRejected(ValueError):
    """A score the server refuses for a reason the spec states only in prose (the message says which)."""


#: A stored score row's key: (score id, score name, day of its timestamp).
RowKey = tuple[str, str, date]


class Clock:
    """The server's clock: real UTC time plus an offset a test can move (``advance``)."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return utcnow() + self._offset

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock by ``delta`` (may be negative); returns the new time."""
        with self._lock:
            self._offset += delta
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta(0)


class Store:
    """Traces, observations and scores of one fake project; all methods are thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.traces: dict[str, Trace] = {}
        self._obs_keys: list[tuple[datetime, str]] = []
        self._obs: dict[str, tuple[Observation, Trace]] = {}
        #: Score rows by (id, name, day); see the module docstring.
        self.scores: dict[RowKey, StoredScore] = {}
        #: Every accepted score write, in order: (score id, trace id, name).
        self.score_writes: list[tuple[str, Optional[str], str]] = []

    # -- traces ---------------------------------------------------------------
    def put_traces(self, traces: list[Trace]) -> None:
        """Add traces; a trace whose id exists replaces the old one (and its observations)."""
        with self.lock:
            replaced = False
            new_keys = []
            for trace in traces:
                old = self.traces.get(trace.id)
                if old is not None:
                    replaced = True
                    for obs in old.observations:
                        self._obs.pop(obs.id, None)
                self.traces[trace.id] = trace
                for obs in trace.observations:
                    replaced = replaced or obs.id in self._obs
                    self._obs[obs.id] = (obs, trace)
                    new_keys.append(obs.sort_key)
            if replaced:
                self._obs_keys = sorted(obs.sort_key for obs, _ in self._obs.values())
            else:
                # Timsort merges the two sorted runs in linear time; readers
                # keep iterating the old list, which is never mutated.
                self._obs_keys = sorted(self._obs_keys + new_keys)

    def update_trace(self, trace_id: str, changes: dict[str, Any]) -> Trace:
        """Change fields of a stored trace (API names); input/output/metadata also change its root observation.

        Keys: name, input, output, metadata (merged), tags, userId, sessionId,
        release, version, environment, public, bookmarked, endTime (root).
        """
        mapping = {"name": "name", "input": "input", "output": "output", "tags": "tags",
                   "userId": "user_id", "sessionId": "session_id", "release": "release",
                   "version": "version", "environment": "environment", "public": "public",
                   "bookmarked": "bookmarked"}
        unknown = set(changes) - set(mapping) - {"metadata", "endTime"}
        if unknown:
            raise KeyError(f"cannot update trace fields {sorted(unknown)}; allowed: "
                           f"{sorted(set(mapping) | {'metadata', 'endTime'})}")
        with self.lock:
            trace = self.traces.get(trace_id)
            if trace is None:
                raise KeyError(f"no trace with id {trace_id!r}")
            now = utcnow()
            for key, attr in mapping.items():
                if key in changes:
                    setattr(trace, attr, changes[key])
            if "metadata" in changes:
                trace.metadata = {**trace.metadata, **(changes["metadata"] or {})}
            trace.updated_at = now
            root = trace.root
            if root is not None:
                for key in ("name", "input", "output", "version", "environment"):
                    if key in changes:
                        setattr(root, key, changes[key])
                if "metadata" in changes:
                    root.metadata = {**root.metadata, **(changes["metadata"] or {})}
                if "endTime" in changes:
                    root.end_time = parse_iso(changes["endTime"]) if changes["endTime"] else None
                elif "output" in changes and root.end_time is None and changes["output"] is not None:
                    root.end_time = now if now > root.start_time else root.start_time
                root.updated_at = now
            return trace

    def get_trace(self, trace_id: str) -> Optional[Trace]:
        with self.lock:
            return self.traces.get(trace_id)

    def observations_desc(self, before: Optional[tuple[datetime, str]] = None) -> Iterator[tuple[Observation, Trace]]:
        """Observations newest first (by startTime, then id), starting strictly after ``before``."""
        with self.lock:
            keys = self._obs_keys
            end = len(keys) if before is None else bisect.bisect_left(keys, before)
            obs = self._obs
        for i in range(end - 1, -1, -1):
            entry = obs.get(keys[i][1])
            if entry is not None and entry[0].sort_key == keys[i]:
                yield entry

    # -- scores ---------------------------------------------------------------
    def check_score(self, body: dict[str, Any], *, server_time: bool = False) -> tuple[str, datetime]:
        """The data type and timestamp of a score body, or `ScoreRejected` saying what is wrong.

        ``server_time``: the body's ``timestamp`` is ignored and the server's
        clock used (the spec's single-object endpoint has no timestamp field).
        """
        data_type = body.get("dataType") or "NUMERIC"
        value = body.get("value")
        if data_type not in _DATA_TYPES:
            raise ScoreRejected(f"dataType must be one of {list(_DATA_TYPES)}, got {data_type!r}")
        if data_type in ("NUMERIC", "BOOLEAN"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ScoreRejected(f"value must be a number for a {data_type} score, got {value!r}")
            if data_type == "BOOLEAN" and value not in (0, 1):
                raise ScoreRejected(f"value of a BOOLEAN score must be 0 or 1, got {value!r}")
        else:
            if not isinstance(value, str):
                raise ScoreRejected(f"value must be a string for a {data_type} score, got {value!r}")
            if data_type == "TEXT" and not 1 <= len(value) <= 500:
                raise ScoreRejected("value of a TEXT score must be 1 to 500 characters")
        if not (body.get("traceId") or body.get("sessionId") or body.get("datasetRunId")):
            raise ScoreRejected("a score needs traceId, sessionId or datasetRunId")
        if body.get("observationId") and not body.get("traceId"):
            raise ScoreRejected("observationId requires traceId")
        if body.get("traceId") and body.get("sessionId"):
            raise ScoreRejected("a score belongs to a trace or a session, not both")
        env = body.get("environment")
        if env is not None and not _ENVIRONMENT.match(env):
            raise ScoreRejected(f"environment {env!r} must be lowercase letters, digits, '-' or '_' "
                                "and must not start with 'langfuse'")
        if body.get("source") == "ANNOTATION" and not body.get("configId") and data_type != "CORRECTION":
            raise ScoreRejected("source ANNOTATION requires configId (unless dataType is CORRECTION)")
        raw_ts = None if server_time else body.get("timestamp")
        if raw_ts is None:
            timestamp = self.clock.now()
        else:
            if not isinstance(raw_ts, str):
                raise ScoreRejected("timestamp must be an ISO 8601 string with a UTC offset")
            try:
                parsed = datetime.fromisoformat(raw_ts.replace("Z", "+00:00"))
            except ValueError:
                raise ScoreRejected(f"timestamp {raw_ts!r} is not ISO 8601") from None
            if parsed.tzinfo is None:
                raise ScoreRejected(f"timestamp {raw_ts!r} has no UTC offset")
            timestamp = parsed
        return data_type, timestamp

    def upsert_score(self, body: dict[str, Any], *, server_time: bool = False) -> StoredScore:
        """Store a score (already checked) under (id, name, day): the same key overwrites and counts a write."""
        data_type, timestamp = self.check_score(body, server_time=server_time)
        now = self.clock.now()
        with self.lock:
            score_id = body.get("id") or str(uuid.uuid4())
            stored_body = {k: v for k, v in body.items() if v is not None}
            stored_body["id"] = score_id
            if server_time:
                stored_body.pop("timestamp", None)
            ts_text = iso(timestamp) or ""
            key = (score_id, str(stored_body["name"]), timestamp.astimezone(now.tzinfo).date())
            old = self.scores.get(key)
            if old is None:
                score = StoredScore(id=score_id, body=stored_body, data_type=data_type, timestamp=timestamp,
                                    created_at=now, updated_at=now, timestamps=[ts_text])
                self.scores[key] = score
            else:
                score = old
                score.body = stored_body
                score.data_type = data_type
                score.timestamp = timestamp
                score.updated_at = now
                score.write_count += 1
                if ts_text not in score.timestamps:
                    score.timestamps.append(ts_text)
            self.score_writes.append((score_id, stored_body.get("traceId"), stored_body["name"]))
            return score

    def scores_snapshot(self) -> list[StoredScore]:
        with self.lock:
            return list(self.scores.values())

    def rows_of(self, score_id: str) -> list[StoredScore]:
        """Every stored row with this id (more than one: the same id written on different days)."""
        with self.lock:
            return [s for s in self.scores.values() if s.id == score_id]

    def clear(self, *, traces: bool = True, scores: bool = True) -> None:
        with self.lock:
            if traces:
                self.traces.clear()
                self._obs.clear()
                self._obs_keys = []
            if scores:
                self.scores.clear()
                self.score_writes.clear()
