"""`LangfuseSink`: scores written to Langfuse exactly once, every record accounted for.

Exactly once, by default: before writing, the sink reads the scores the
server already has for the traces in hand (`scores.scores_of_traces`: one
``GET /api/public/v3/scores`` per page of traces) and writes only the scores
that are missing or whose value, comment or grader config fingerprint
changed; the rest are counted as ``unchanged``.  This is not only a saving:
the spec's single-object body has no ``timestamp``, so an object-dialect
server stamps a score with its own clock and keys it by (id, name, day) -
writing an unchanged score again on another day would add a second row.
``rewrite = true`` skips the read and writes everything.  When the read
fails (after retries), the scores of those traces are written anyway
(at-least-once beats lost) and counted as ``unchecked``.

Each score is posted with its deterministic ``score_id`` (and, in the array
dialect, its trace's timestamp), so a score that is written again (a retry,
a changed value) replaces the stored one on a server that keys by id - and,
in the object dialect, on the same server day.

Two dialects of ``POST /api/public/scores``:

* ``object`` (the published spec): one ``CreateScoreRequest`` per request,
  ``200 {id}``.  Requests for one write run concurrently, bounded by the
  adaptive limit of the client.
* ``array`` (langfuse SDK 5): a JSON array of up to ``batch_size`` scores
  (and under 1 MB) per request, ``202 Accepted`` or ``207
  {accepted, rejected, errors}``.  On a 207 the batch's scores are re-sent
  one per request, so each is either written or failed with its own message.
* ``auto``: the first batch is sent as an array; a 400/422 means the server
  takes objects, and the same batch is sent again as objects.  The answer is
  remembered for the life of the sink.

Requests for S scores to write (missing or changed): ``object``: S.
``array``: ``ceil(S / batch_size)`` (plus one per score of a batch answered
207).  ``auto`` against an object server: S + 1.  The check before writing
adds one ``GET /api/public/v3/scores`` per 100 traces of a write (plus one
per further 100 stored scores); a re-run with nothing changed makes
only those.  ``open()`` makes one request to check the credentials.
Retries are extra.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any, Iterable, Literal, Optional, Sequence

from pydantic import Field

from rmg_core import ScoreRecord, Sink, SinkError, WriteFailure, WriteReport

from .payloads import error_payload, score_payload, unchanged
from .settings import ConnectionSettings, require_credentials

if TYPE_CHECKING:
    import httpx

    from .client import LangfuseClient

log = logging.getLogger("rmg.langfuse")

SCORES_PATH = "/api/public/scores"
#: POST /api/public/scores has the default Next.js body limit of 1 MiB.
MAX_BODY_BYTES = 1_000_000
#: Statuses meaning "this server does not take a JSON array here".
_NOT_ARRAY = (400, 415, 422)

Item = tuple[ScoreRecord, dict[str, Any]]


class LangfuseSinkSettings(ConnectionSettings):
    dialect: Literal["auto", "object", "array"] = Field(
        "auto",
        description="object: one score per POST (published API); array: batches (SDK 5 servers); auto: detect.",
    )
    batch_size: int = Field(100, ge=1, le=1000, description="Scores per POST in the array dialect.")
    write_errors: bool = Field(
        False,
        description="Write a grader error as a CATEGORICAL score '<name>_error' (value 'error', comment the message) "
        "instead of skipping it.  An error is never written as a number.",
    )
    rewrite: bool = Field(
        False,
        description="Write every score, without first reading which are stored unchanged (by default those are "
        "not written again: in the object dialect a rewrite on another day is a second row).",
    )
    environment: Optional[str] = Field(None, description="Langfuse environment of the written scores.")


class _KeyRejected(Exception):
    """The server refused the credentials while reading: writing would be refused too."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _failure(item: Item, message: str) -> WriteFailure:
    record, body = item
    return WriteFailure(score_id=body.get("id", record.score_id), trace_id=record.trace_id, name=body.get("name", record.name), message=message)


def _batches(items: Sequence[Item], size: int) -> Iterable[list[Item]]:
    batch: list[Item] = []
    used = 2  # the brackets
    for item in items:
        item_bytes = len(json.dumps(item[1])) + 1
        if batch and (len(batch) >= size or used + item_bytes > MAX_BODY_BYTES):
            yield batch
            batch, used = [], 2
        batch.append(item)
        used += item_bytes
    if batch:
        yield batch


class LangfuseSink(Sink):
    """Writes scores to Langfuse with deterministic ids; reports every score written, skipped or failed.

    Grader errors are skipped by default (counted as ``skipped``; the run
    reports them); ``write_errors = true`` writes them as ``<name>_error``.
    ``write()`` sends everything it is given before it returns, so ``close()``
    has nothing buffered and returns an empty report.
    """

    name = "langfuse"
    Settings = LangfuseSinkSettings
    settings: LangfuseSinkSettings
    #: Scores are upserted by their deterministic id: a unit written twice leaves one copy of each.
    runs_on_workers = True

    def __init__(self, *, transport: Optional["httpx.AsyncBaseTransport"] = None, **settings: Any) -> None:
        super().__init__(**settings)
        require_credentials(self.settings, "sink 'langfuse'")
        self._transport = transport
        self._client: Optional[LangfuseClient] = None
        #: "auto" until the server has told us which dialect it speaks.
        self.dialect: str = self.settings.dialect
        self._probe_lock: Optional[asyncio.Lock] = None

    @property
    def client(self) -> "LangfuseClient":
        if self._client is None:
            from .client import LangfuseClient

            self._client = LangfuseClient(self.settings, "sink 'langfuse'", self._transport)
        return self._client

    async def open(self) -> None:
        """Check the credentials with one cheap read, so a bad key fails before any grading."""
        from .client import LangfuseHTTPError

        try:
            await self.client.request("GET", "/api/public/v3/scores", params={"limit": 1})
        except LangfuseHTTPError as exc:
            if exc.status in (401, 403) or exc.status is None or exc.status >= 500 or exc.status == 429:
                raise SinkError(f"sink 'langfuse' ({self.settings.base_url}): {exc}") from None
            # 404/405: an older server without v3 scores can still take writes.

    async def close(self) -> WriteReport:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        return WriteReport()

    async def write(self, records: Sequence[ScoreRecord]) -> WriteReport:
        report = WriteReport()
        items: list[Item] = []
        for record in records:
            try:
                if record.kind == "not_applicable":  # no value to write (issue 13's result kind), never a number
                    report.skipped += 1
                    continue
                if record.is_error:
                    if not self.settings.write_errors:
                        report.skipped += 1
                        continue
                    items.append((record, error_payload(record, self.settings.environment)))
                else:
                    items.append((record, score_payload(record, self.settings.environment)))
            except (ValueError, TypeError) as exc:
                report.failed.append(WriteFailure.of(record, f"not written: {exc}"))
        unchecked: set[str] = set()
        if items and not self.settings.rewrite:
            try:
                items, report.unchanged, unchecked = await self._changed(items)
            except _KeyRejected as exc:  # every write would be refused the same way
                report.failed.extend(_failure(item, f"not sent: {exc.error}") for item in items)
                return report
        if items:
            await self._send(items, report)
        if unchecked:
            report.unchecked = len(unchecked) - sum(f.score_id in unchecked for f in report.failed)
        return report

    # -- sending ----------------------------------------------------------------------
    async def _send(self, items: list[Item], report: WriteReport) -> None:
        if self.dialect == "object":
            await self._send_objects(items, report)
            return
        batches = list(_batches(items, self.settings.batch_size))
        if self.dialect == "auto":
            if self._probe_lock is None:
                self._probe_lock = asyncio.Lock()
            async with self._probe_lock:  # one probe, even if writes overlap
                # A probe that fails for another reason (5xx after retries)
                # decides nothing: the next batch probes again.
                while self.dialect == "auto" and batches:
                    await self._probe(batches.pop(0), report)
            if self.dialect == "object":
                await self._send_objects([item for batch in batches for item in batch], report)
                return
        await self._run_all([self._send_array(batch, report) for batch in batches])

    async def _probe(self, batch: list[Item], report: WriteReport) -> None:
        from .client import LangfuseHTTPError

        try:
            response = await self.client.request("POST", SCORES_PATH, json=[body for _, body in batch], label="POST /api/public/scores (array)")
        except LangfuseHTTPError as exc:
            if exc.status in _NOT_ARRAY:
                log.info("langfuse: the server refused a score array (%s); sending one score per request", exc.status)
                self.dialect = "object"
                await self._send_objects(batch, report)
                return
            self._fail_batch(batch, exc, report)
            return
        self.dialect = "array"
        await self._array_answer(batch, response, report)

    async def _send_array(self, batch: list[Item], report: WriteReport) -> None:
        from .client import LangfuseHTTPError

        try:
            response = await self.client.request("POST", SCORES_PATH, json=[body for _, body in batch], label="POST /api/public/scores (array)")
        except LangfuseHTTPError as exc:
            self._fail_batch(batch, exc, report)
            return
        await self._array_answer(batch, response, report)

    async def _array_answer(self, batch: list[Item], response: "httpx.Response", report: WriteReport) -> None:
        if response.status_code != 207:
            report.written += len(batch)
            return
        try:
            body = response.json()
            rejected = int(body.get("rejected", 0))
        except (ValueError, TypeError, AttributeError):
            body, rejected = {}, -1
        if rejected == 0:
            report.written += len(batch)
            return
        messages = [str(e.get("message", e)) for e in body.get("errors") or () if isinstance(e, dict)]
        log.debug("langfuse: 207 on %d scores (%s rejected): %s", len(batch), rejected, "; ".join(messages)[:500])
        # A 207 does not say reliably which scores were rejected; the ids are
        # deterministic, so sending each score again on its own is safe and
        # gives each its own answer.
        await self._run_all([self._send_one_array(item, report) for item in batch])

    async def _send_one_array(self, item: Item, report: WriteReport) -> None:
        from .client import LangfuseHTTPError

        try:
            response = await self.client.request("POST", SCORES_PATH, json=[item[1]], label="POST /api/public/scores (array)")
        except LangfuseHTTPError as exc:
            report.failed.append(_failure(item, str(exc)))
            return
        if response.status_code == 207:
            try:
                body = response.json()
                errors = [str(e.get("message", e)) for e in body.get("errors") or ()]
                rejected = int(body.get("rejected", 1))
            except (ValueError, TypeError, AttributeError):
                errors, rejected = [response.text[:300]], 1
            if rejected:
                report.failed.append(_failure(item, "rejected by the server: " + ("; ".join(errors) or "no message")))
                return
        report.written += 1

    async def _send_objects(self, items: list[Item], report: WriteReport) -> None:
        from .client import LangfuseHTTPError

        auth_error: list[LangfuseHTTPError] = []

        async def one(item: Item) -> None:
            if auth_error:  # a rejected key fails every request: do not send the rest
                report.failed.append(_failure(item, f"not sent: {auth_error[0]}"))
                return
            try:
                await self.client.request("POST", SCORES_PATH, json=item[1], label="POST /api/public/scores")
            except LangfuseHTTPError as exc:
                if exc.status in (401, 403):
                    auth_error.append(exc)
                report.failed.append(_failure(item, str(exc)))
                return
            report.written += 1

        await self._run_all(one(item) for item in items)

    def _fail_batch(self, batch: list[Item], exc: Exception, report: WriteReport) -> None:
        report.failed.extend(_failure(item, str(exc)) for item in batch)

    async def _run_all(self, coros: Iterable[Any]) -> None:
        """Run coroutines with at most the client's ``max_concurrency`` pending, without making them all up front."""
        iterator = iter(coros)

        async def worker() -> None:
            for coro in iterator:
                await coro

        await asyncio.gather(*(worker() for _ in range(self.client.max_concurrency)))

    # -- what is stored already --------------------------------------------------------
    async def _changed(self, items: list[Item]) -> tuple[list[Item], int, set[str]]:
        """The items to write (missing or changed), how many are stored unchanged, and the ids not checked."""
        from .scores import stored_scores

        names = sorted({body["name"] for _, body in items})
        trace_ids = list(dict.fromkeys(record.trace_id for record, _ in items))
        stored, unreadable = await stored_scores(self.client, trace_ids, names, {body["id"] for _, body in items})
        refused = next((exc for exc in unreadable.values() if exc.status in (401, 403)), None)
        if refused is not None:
            raise _KeyRejected(refused)
        keep = []
        unchecked: set[str] = set()
        for item in items:
            record, body = item
            if record.trace_id in unreadable:
                unchecked.add(body["id"])
                keep.append(item)
            elif not any(unchanged(body, old) for old in stored.get(body["id"], ())):
                keep.append(item)
        if unreadable:
            # Writing is still right (at-least-once beats lost), but the check was skipped.
            log.warning("langfuse: could not read the stored scores of %d trace(s) (%s); writing their %d "
                        "score(s) without the check", len(unreadable), next(iter(unreadable.values())), len(unchecked))
        return keep, len(items) - len(keep), unchecked
