"""`FakeLangfuse`: the in-process handle on a fake server running in a background thread."""

from __future__ import annotations

import secrets
import threading
from collections import defaultdict
from dataclasses import fields, replace
from datetime import datetime, timedelta
from typing import Any, Iterable, Optional, Union

from .faults import Faults
from .model import Trace, utcnow
from .seed import SeedOptions, generate_traces, trace_from_json
from .server import FakeLangfuseApp, _Server
from .spec import Violation


class FakeLangfuse:
    """A fake Langfuse API on ``127.0.0.1`` (ephemeral port), validated against the official spec.

    Use it as a context manager::

        with FakeLangfuse() as fake:
            fake.seed_traces(100)
            client = Langfuse(public_key=fake.public_key, secret_key=fake.secret_key,
                              base_url=fake.base_url)
            ...
            assert not fake.violations()

    Keys default to fresh random ones per instance (SDK 5.x caches its
    client per public key, so sharing a key across servers misroutes).
    ``score_dialect`` picks what ``POST /api/public/scores`` accepts: ``"array"``
    (Langfuse SDK 5.x batches; also takes a single object like the spec) or
    ``"object"`` (the spec only; an array body is a 400).  ``validate=False``
    turns spec validation off (only to measure its cost).
    """

    def __init__(
        self,
        *,
        public_key: Optional[str] = None,
        secret_key: Optional[str] = None,
        project_id: str = "fake-project",
        score_dialect: str = "array",
        faults: Optional[Faults] = None,
        validate: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError(f"the fake Langfuse server binds 127.0.0.1 only, not {host!r}")
        # Unique keys by default: the SDK keeps one client per public key per
        # process, so a reused key would send a later test to an old server.
        token = secrets.token_hex(6)
        public_key = public_key or f"pk-lf-fake-{token}"
        secret_key = secret_key or f"sk-lf-fake-{token}"
        self.public_key = public_key
        self.secret_key = secret_key
        self.app = FakeLangfuseApp(
            public_key=public_key, secret_key=secret_key, project_id=project_id,
            score_dialect=score_dialect, faults=faults, validate=validate,
        )
        self._address = (host, port)
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        #: Set by `allow_violations`; the pytest fixture then skips its assertion.
        self.violations_allowed = False

    def __repr__(self) -> str:  # no secrets
        state = self.base_url if self._server else "stopped"
        return f"<FakeLangfuse {state} dialect={self.app.score_dialect}>"

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> "FakeLangfuse":
        if self._server is not None:
            return self
        self._server = _Server(self._address, self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-langfuse:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeLangfuse":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake Langfuse server is not started; call start() or use it in a with block")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (what ``Langfuse(base_url=...)`` takes)."""
        return f"http://127.0.0.1:{self.port}"

    # -- data -----------------------------------------------------------------
    def seed_traces(self, n: int, **options: Any) -> list[str]:
        """Add ``n`` generated traces (see `SeedOptions` for ``options``); returns their ids, oldest first."""
        known = {f.name for f in fields(SeedOptions)}
        unknown = set(options) - known
        if unknown:
            raise TypeError(f"unknown seed options {sorted(unknown)}; known: {sorted(known)}")
        traces = generate_traces(n, SeedOptions(**options))
        self.app.store.put_traces(traces)
        return [t.id for t in traces]

    def add_traces(self, traces: Iterable[Union[Trace, dict[str, Any]]]) -> list[str]:
        """Add (or replace, by id) traces given as `Trace` objects or API-shaped dicts."""
        built = []
        now = utcnow()
        for i, trace in enumerate(traces):
            built.append(trace if isinstance(trace, Trace)
                         else trace_from_json(trace, default_timestamp=now + timedelta(microseconds=i)))
        self.app.store.put_traces(built)
        return [t.id for t in built]

    def add_trace(self, **fields_: Any) -> str:
        """Add one trace from API field names (``id``, ``input``, ``output``, ``metadata``, ...)."""
        return self.add_traces([fields_])[0]

    def update_trace(self, trace_id: str, **changes: Any) -> None:
        """Change a stored trace (e.g. ``output=`` for late-output tests); its root observation follows."""
        self.app.store.update_trace(trace_id, changes)

    def traces(self) -> list[dict[str, Any]]:
        with self.app.store.lock:
            return [t.to_seed_json() for t in self.app.store.traces.values()]

    def trace(self, trace_id: str) -> Optional[Trace]:
        return self.app.store.get_trace(trace_id)

    # -- scores ---------------------------------------------------------------
    def scores(self) -> list[dict[str, Any]]:
        """Every stored score row (last write of a row wins) with ``writeCount`` and ``timestampsWritten``."""
        return [s.to_json() for s in self.app.store.scores_snapshot()]

    def score(self, score_id: str) -> Optional[dict[str, Any]]:
        """The newest stored row with this id (see `score_rows` for all of them)."""
        rows = self.score_rows(score_id)
        return rows[-1] if rows else None

    def score_rows(self, score_id: str) -> list[dict[str, Any]]:
        """Every stored row with this id, oldest timestamp first (two rows: written on two days)."""
        rows = sorted(self.app.store.rows_of(score_id), key=lambda s: s.timestamp)
        return [s.to_json() for s in rows]

    def score_write_counts(self) -> dict[str, int]:
        """How many accepted writes each score id received (over all its rows)."""
        counts: dict[str, int] = defaultdict(int)
        for s in self.app.store.scores_snapshot():
            counts[s.id] += s.write_count
        return dict(counts)

    # -- the server's clock ----------------------------------------------------
    def now(self) -> datetime:
        """The server's clock (what a score without a timestamp is stamped with)."""
        return self.app.store.clock.now()

    def advance_clock(self, delta: Union[timedelta, float]) -> datetime:
        """Move the server's clock forward by ``delta`` (a timedelta or seconds); returns the new time.

        ``fake.advance_clock(timedelta(days=1))`` makes the next object-dialect
        write of an existing score id land on another day: a second row.
        """
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=float(delta))
        return self.app.store.clock.advance(delta)

    def scores_by_trace_and_name(self) -> dict[tuple[Optional[str], str], list[str]]:
        """Stored score ids per (trace id, score name), one entry per row; "exactly once" means one per key."""
        grouped: dict[tuple[Optional[str], str], list[str]] = defaultdict(list)
        for s in self.app.store.scores_snapshot():
            grouped[(s.trace_id, s.name)].append(s.id)
        return dict(grouped)

    @property
    def score_writes(self) -> int:
        """Accepted score writes in total (a rewrite of an id counts again)."""
        with self.app.store.lock:
            return len(self.app.store.score_writes)

    # -- counters, violations, faults ------------------------------------------
    def request_counts(self) -> dict[str, int]:
        """Requests per endpoint, e.g. ``{"GET /api/public/v2/observations": 3}`` (faulted ones included)."""
        with self.app._lock:
            return dict(self.app.requests)

    def status_counts(self) -> dict[str, int]:
        """Replies per endpoint and status, e.g. ``{"POST /api/public/scores 202": 5}``."""
        with self.app._lock:
            return dict(self.app.statuses)

    def fault_counts(self) -> dict[str, int]:
        """How many requests got each fault decision ("none", "error", "rate_limit", "close", "down")."""
        return dict(self.app.faults.counts)

    @property
    def peak_in_flight(self) -> int:
        """The most public-API requests answered at once since the counters were reset (injected latency included)."""
        return self.app.peak_in_flight

    def stats(self) -> dict[str, Any]:
        return {
            "peakInFlight": self.app.peak_in_flight,
            "requests": self.request_counts(),
            "statuses": self.status_counts(),
            "faults": self.fault_counts(),
            "pauseSeconds": round(self.app.faults.pause_seconds, 3),
            "scoreKeys": len({(s.trace_id, s.name) for s in self.app.store.scores_snapshot()}),
            "scoreWrites": self.score_writes,
            "scores": len(self.app.store.scores),
            "traces": len(self.app.store.traces),
            "otelRequests": self.app.otel_requests,
            "otelSpans": self.app.otel_spans,
            "violations": len(self.app.violations()),
        }

    def violations(self) -> list[Violation]:
        """Spec violations seen so far (requests, responses, unsupported-but-specified calls)."""
        return self.app.violations()

    def clear_violations(self) -> None:
        self.app.clear_violations()

    def allow_violations(self) -> None:
        """Tell the ``fake_langfuse`` fixture this test provokes violations on purpose."""
        self.violations_allowed = True

    @property
    def faults(self) -> Faults:
        return self.app.faults.faults

    def set_faults(self, faults: Optional[Faults] = None, **changes: Any) -> Faults:
        """Replace the fault settings (``faults``), or change some of the current ones (``changes``).

        Takes effect for the next request; the random sequence restarts from the seed.
        """
        base = faults if faults is not None else self.faults
        new = replace(base, **changes) if changes else base
        self.app.faults.configure(new)
        return new

    def clear_faults(self) -> None:
        self.app.faults.configure(Faults())

    @property
    def score_dialect(self) -> str:
        return self.app.score_dialect

    @score_dialect.setter
    def score_dialect(self, value: str) -> None:
        if value not in ("array", "object"):
            raise ValueError(f"score_dialect must be 'array' or 'object', got {value!r}")
        self.app.score_dialect = value

    def reset(self, *, traces: bool = True, scores: bool = True, counters: bool = True,
              violations: bool = True, faults: bool = True) -> None:
        """Forget what the chosen parts hold (all by default)."""
        self.app.store.clear(traces=traces, scores=scores)
        if scores:
            self.app.store.clock.reset()
        if counters:
            self.app.reset_counters()
        if violations:
            self.app.clear_violations()
        if faults:
            self.clear_faults()

