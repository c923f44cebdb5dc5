"""`LangfuseSource`: traces from a Langfuse project as a stream of `EvalCase`.

Requests of a run over N traces with page size P (default 100):

* ``ceil(N / P)`` listing pages (``GET /api/public/v2/observations``, or
  ``GET /api/public/traces`` on older servers; ``api = "auto"`` costs one
  extra 404 on those, once per source);
* with ``skip_if_scored``: one ``GET /api/public/v3/scores`` per 100 traces
  of a page, plus one per further 100 matching scores;
* with ``reference_dataset``/``reference_run``: see `datasets` (once per run).

Client-side filters (sampling, ``release`` on v2, which has no server-side
release filter) drop traces after they are listed, so they save grading but
not listing.  Retries are extra requests (see `client`).

The next page is fetched (up to ``prefetch_pages`` ahead) while the current
one is graded; memory holds at most that many pages, whatever N is.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import datetime
from typing import TYPE_CHECKING, Any, AsyncIterator, Iterator, Optional, Sequence


from rmg_core import CaseError, EvalCase, Source, SourceError, case_from_mapping
from rmg_kit import sample_fraction

from .settings import require_credentials, utc
from .source_settings import LangfuseSourceSettings, _read, resolve_path
from .traces import MISSING, NestedTooDeep, TraceQuery, TraceRow, parse_io

if TYPE_CHECKING:
    import httpx

    from .client import LangfuseClient, LangfuseHTTPError

log = logging.getLogger("rmg.langfuse")

#: How many recent trace ids are remembered to drop a trace listed twice
#: (two root observations on different pages); bounded so memory stays flat.
_RECENT_IDS = 10_000
_DONE = object()


class LangfuseSource(Source):
    """Traces from Langfuse (root observations of the v2 API, or legacy traces), streamed page by page.

    Each trace becomes an `EvalCase` whose id and timestamp are the trace's;
    scores go on the trace (``observation_id`` is ``None``).  The trace's
    name, tags, user, session, environment, release and version are added to
    its metadata as ``langfuse_trace_name``, ``langfuse_tags``,
    ``langfuse_user_id``, ``langfuse_session_id``, ``langfuse_environment``,
    ``langfuse_release`` and ``langfuse_version``.
    """

    name = "langfuse"
    Settings = LangfuseSourceSettings
    settings: LangfuseSourceSettings

    def __init__(self, *, transport: Optional["httpx.AsyncBaseTransport"] = None, **settings: Any) -> None:
        super().__init__(**settings)
        require_credentials(self.settings, "source 'langfuse'")
        self._transport = transport
        self._client: Optional[LangfuseClient] = None
        #: Which API answers; "auto" until the first request tells.  Shared with the copies
        #: `windowed` and `only` make, so a worker probes an old server once, not every cycle.
        self._api: dict[str, str] = {"api": self.settings.api}
        s = self.settings
        expand = tuple(dict.fromkeys(
            list(s.reference_keys)
            + [p.split(".")[1] for p in (s.input_path, s.prediction_path) if p.startswith("metadata.")]
            + list(s.expand_metadata)
        ))
        self.query = TraceQuery(
            from_timestamp=s.from_timestamp, to_timestamp=s.to_timestamp, name=s.name, tags=s.tags,
            user_id=s.user_id, session_id=s.session_id, environment=s.environment, release=s.release,
            version=s.version, expand_metadata=expand, page_size=s.page_size,
        )

        #: Set by `only`: read just these traces, by id.
        self._only: Optional[list[str]] = None
        #: Set by `windowed` when the asked window and the configured range do not meet.
        self._empty = False

    @property
    def api(self) -> str:
        return self._api["api"]

    @api.setter
    def api(self, value: str) -> None:
        self._api["api"] = value

    @property
    def client(self) -> "LangfuseClient":
        if self._client is None:
            from .client import LangfuseClient

            self._client = LangfuseClient(self.settings, "source 'langfuse'", self._transport)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def trace_url_template(self) -> Optional[str]:
        """``{base_url}/project/{id}/traces/{trace_id}``, the project id from ``GET /api/public/projects``."""
        try:
            response = await self.client.request("GET", "/api/public/projects")
            project = response.json()["data"][0]["id"]
        except Exception:  # a link is a convenience: no project id, no link
            return None
        finally:
            await self.aclose()
        if not isinstance(project, str) or not project:
            return None
        from urllib.parse import quote

        return f"{self.settings.base_url.rstrip('/')}/project/{quote(project, safe='')}/traces/{{trace_id}}"

    # -- for rmg worker ----------------------------------------------------------------------
    def _copy(self, **changes: Any) -> "LangfuseSource":
        settings = {name: getattr(self.settings, name) for name in type(self.settings).model_fields}
        settings.update(changes)
        clone = type(self)(transport=self._transport, **settings)
        clone._api = self._api
        return clone

    def windowed(self, start: Optional[datetime], end: datetime) -> "LangfuseSource":
        """The traces with a timestamp in ``[start, end)``, inside the configured from/to range."""
        s = self.settings
        lo = max((t for t in (utc(start), s.from_timestamp) if t is not None), default=None)
        hi = min(t for t in (utc(end), s.to_timestamp) if t is not None)
        if lo is not None and lo >= hi:
            clone = self._copy(from_timestamp=None, to_timestamp=hi)
            clone._empty = True
            return clone
        return self._copy(from_timestamp=lo, to_timestamp=hi)

    def partitions(self, target_cases: int) -> Optional[Iterator[dict[str, Any]]]:
        """Hour-long windows of the configured range, for executors (see `partitions.time_windows`)."""
        from .partitions import time_windows

        return time_windows(self, target_cases)

    def partition(self, spec: dict[str, Any]) -> "LangfuseSource":
        from .partitions import window

        return window(self, spec)

    def only(self, trace_ids: Sequence[str]) -> "LangfuseSource":
        """Just these traces, looked up one by one (v2: ``?traceId=``; legacy: ``/traces/{id}``).

        Every configured filter still applies, except the time range: these
        are traces the worker already read once, retried after a failure.
        """
        clone = self._copy(from_timestamp=None, to_timestamp=None, limit=None)
        clone._only = list(dict.fromkeys(trace_ids))
        return clone

    async def cases(self) -> AsyncIterator[EvalCase | CaseError]:
        if self._empty:
            return
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=self.settings.prefetch_pages)
        producer = asyncio.create_task(self._produce(queue))
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                for case in item:
                    yield case
        finally:
            producer.cancel()
            await asyncio.gather(producer, return_exceptions=True)

    # -- the producer: list, filter, look up, map -------------------------------------------
    async def _produce(self, queue: asyncio.Queue[Any]) -> None:
        from .client import LangfuseHTTPError

        try:
            await self._produce_pages(queue)
        except LangfuseHTTPError as exc:
            await queue.put(SourceError(f"source 'langfuse' ({self.settings.base_url}): {exc}"))
        except Exception as exc:  # handed to the consumer, which raises it
            await queue.put(exc)
        else:
            await queue.put(_DONE)

    async def _produce_pages(self, queue: asyncio.Queue[Any]) -> None:
        s = self.settings
        references: Optional[dict[str, Any]] = None
        if s.reference_dataset and s.reference_run:
            from .datasets import load_run_references

            references = await load_run_references(self.client, s.reference_dataset, s.reference_run, s.from_timestamp, self.api)
        recent: deque[str] = deque(maxlen=_RECENT_IDS)
        seen: set[str] = set()
        count = 0
        async for page in self._pages():
            rows = []
            for row in page:
                if row.id and row.id in seen:
                    continue
                if row.id:
                    if len(recent) == recent.maxlen:
                        seen.discard(recent[0])
                    recent.append(row.id)
                    seen.add(row.id)
                if self._matches(row) and (not row.id or s.sample_rate >= 1 or sample_fraction(row.id) < s.sample_rate):
                    rows.append(row)
            if s.skip_if_scored and rows:
                rows = await self._unscored(rows)
            cases = [self._to_case(row, references) for row in rows]
            if s.limit is not None:
                kept = []
                for case in cases:
                    if count >= s.limit:
                        break
                    kept.append(case)
                    count += isinstance(case, EvalCase)
                cases = kept
            if cases:
                await queue.put(cases)
            if s.limit is not None and count >= s.limit:
                return

    async def _pages(self) -> AsyncIterator[list[TraceRow]]:
        from .client import LangfuseHTTPError
        from .traces import legacy_pages, v2_pages

        if self._only is not None:
            async for page in self._pages_by_id(self._only):
                yield page
            return
        if self.api != "legacy":
            pages = v2_pages(self.client, self.query)
            try:
                first = await pages.__anext__()
            except StopAsyncIteration:
                return
            except LangfuseHTTPError as exc:
                self._fall_back_to_legacy(exc)
            else:
                self.api = "v2"
                yield first
                async for page in pages:
                    yield page
                return
        async for page in legacy_pages(self.client, self.query):
            yield page

    def _fall_back_to_legacy(self, exc: "LangfuseHTTPError") -> None:
        """With ``api = "auto"``, a v2 endpoint answering 404/405 means a server without it: use legacy from now on."""
        if self.api != "auto" or exc.status not in (404, 405):
            raise exc
        log.info("langfuse: %s answered %s; using the legacy GET /api/public/traces", exc.endpoint, exc.status)
        self.api = "legacy"

    async def _pages_by_id(self, ids: Sequence[str]) -> AsyncIterator[list[TraceRow]]:
        from .client import LangfuseHTTPError
        from .traces import legacy_row_of_trace, v2_rows_of_trace

        async def one(trace_id: str) -> list[TraceRow]:
            if self.api != "legacy":
                try:
                    rows = await v2_rows_of_trace(self.client, trace_id, self.query)
                    self.api = "v2"
                    return rows
                except LangfuseHTTPError as exc:
                    self._fall_back_to_legacy(exc)
            return await legacy_row_of_trace(self.client, trace_id)

        step = max(1, self.settings.max_concurrency)
        for start in range(0, len(ids), step):
            found = await asyncio.gather(*(one(t) for t in ids[start:start + step]))
            yield [row for rows in found for row in rows]

    def _matches(self, row: TraceRow) -> bool:
        """Re-check the filters on what came back: v2 cannot filter on release, and a server may ignore a filter."""
        q = self.query
        for wanted, got in (
            (q.name, row.name), (q.user_id, row.user_id), (q.session_id, row.session_id),
            (q.release, row.release), (q.version, row.version),
        ):
            if wanted is not None and got is not MISSING and got != wanted:
                return False
        if q.tags and row.tags is not MISSING and not set(q.tags) <= set(row.tags or ()):
            return False
        if q.environment and row.environment is not MISSING and row.environment not in q.environment:
            return False
        if (q.from_timestamp or q.to_timestamp) and isinstance(row.timestamp, str):
            try:
                when = utc(datetime.fromisoformat(row.timestamp.replace("Z", "+00:00")))
            except ValueError:
                return True  # the case reports the bad timestamp
            assert when is not None
            if q.from_timestamp and when < q.from_timestamp or q.to_timestamp and when >= q.to_timestamp:
                return False
        return True

    async def _unscored(self, rows: Sequence[TraceRow]) -> list[TraceRow]:
        from .scores import score_trace_id, scores_of_traces

        names = set(self.settings.skip_if_scored)
        have: dict[str, set[str]] = {}
        ids = [row.id for row in rows if row.id]
        async for score in scores_of_traces(self.client, ids, sorted(names)):
            trace_id, observation_id = score_trace_id(score)
            if trace_id and observation_id is None and score.get("name") in names:
                have.setdefault(trace_id, set()).add(score["name"])
        return [row for row in rows if not (row.id and names <= have.get(row.id, set()))]

    def _to_case(self, row: TraceRow, references: Optional[dict[str, Any]]) -> EvalCase | CaseError:
        if not row.id:
            return CaseError(
                location=f"langfuse observation {row.observation_id or '(no id)'}",
                message="the root observation has no traceId, so its scores could not be attached to a trace",
            )
        if row.unreadable:
            return CaseError(
                location=f"langfuse ({self.settings.base_url})", trace_id=row.id,
                message=f"its input, output or metadata is {row.unreadable}; the trace is skipped",
            )
        try:
            return self._map(row, references)
        except (NestedTooDeep, RecursionError) as exc:
            # Text an application's end user wrote must not stop the run: this trace is skipped, the rest graded.
            reason = str(exc) if isinstance(exc, NestedTooDeep) else "JSON nested too deeply to read"
            return CaseError(
                location=f"langfuse ({self.settings.base_url})", trace_id=row.id,
                message=f"its input, output or metadata is {reason}; the trace is skipped",
            )

    def _map(self, row: TraceRow, references: Optional[dict[str, Any]]) -> EvalCase | CaseError:
        assert row.id
        s = self.settings
        metadata = _read(row.metadata)
        if metadata is None:
            metadata = {}
        elif not isinstance(metadata, dict):
            metadata = {"value": metadata}
        data = {"input": _read(row.input), "output": _read(row.output), "metadata": metadata}
        expected = None
        if references is not None and row.id in references:
            expected = references[row.id]
        else:
            for key in s.reference_keys:
                if metadata.get(key) is not None:
                    expected = parse_io(metadata[key])
                    break
        extra = {
            "langfuse_trace_name": row.name, "langfuse_tags": row.tags, "langfuse_user_id": row.user_id,
            "langfuse_session_id": row.session_id, "langfuse_environment": row.environment,
            "langfuse_release": row.release, "langfuse_version": row.version,
        }
        mapping = {
            "id": row.id,
            "input": resolve_path(data, s.input_path),
            "output": resolve_path(data, s.prediction_path),
            "expected": expected,
            "metadata": {**metadata, **{k: v for k, v in extra.items() if v is not MISSING and v is not None}},
            "timestamp": row.timestamp,
            "observation_id": None,
        }
        if row.end_time is not MISSING:  # v2: the root observation's end time says whether the trace is done
            mapping["ended_at"] = row.end_time
            mapping["running"] = row.end_time is None
        return case_from_mapping(
            mapping, location=f"langfuse trace {row.id}", reference_keys=(), parse_json_strings=False
        )


__all__ = ["LangfuseSource", "LangfuseSourceSettings", "sample_fraction"]
