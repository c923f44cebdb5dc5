"""Expected outputs from a Langfuse dataset run: trace id -> the linked dataset item's ``expectedOutput``.

No endpoint looks up the dataset item of *many* traces at once (dataset run
items and experiment items cannot be filtered by trace id, and
``GET /api/public/dataset-items?sourceTraceId=`` takes one trace and means
"item created from this trace", not "item this trace ran").  So the run's
links are listed once, before the first page of traces, and kept in memory:

* current servers: ``GET /api/public/experiment-items?experimentName=<run>
  &datasetId=<id>&fields=core,io`` (cursor-paged, 100 per page) gives trace
  id and expected output together;
* older servers (404/405 on that): ``GET /api/public/dataset-run-items``
  (trace id -> item id) and ``GET /api/public/dataset-items`` (item id ->
  expected output), both page-based.

Cost: 1 request for the dataset id plus one per 100 run items (per 100
items twice on older servers), independent of how many traces are read.
Memory grows with the size of the run, not with the number of traces.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional
from urllib.parse import quote

from .client import CursorGuard, LangfuseClient, LangfuseHTTPError, page_data
from .traces import NestedTooDeep, iso, parse_io

PAGE = 100


def _expected(value: Any) -> Any:
    """A dataset item's expected output; JSON nested too deeply stays the text it arrived as."""
    try:
        return parse_io(value)
    except NestedTooDeep:
        return value
_EPOCH = "1970-01-01T00:00:00.000Z"


async def _dataset_id(client: LangfuseClient, dataset: str) -> str:
    label = "GET /api/public/v2/datasets/{datasetName}"
    body = await client.get_json(f"/api/public/v2/datasets/{quote(dataset, safe='')}", label=label)
    if not isinstance(body.get("id"), str):
        from .client import LangfuseReplyError

        raise LangfuseReplyError(label, 200, f"the dataset {dataset!r} has no string 'id' in the reply")
    return body["id"]


async def _experiment_items(
    client: LangfuseClient, dataset_id: str, run: str, since: Optional[datetime]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    params: dict[str, Any] = {
        "experimentName": run,
        "datasetId": dataset_id,
        "fields": "core,io",
        "limit": PAGE,
        "fromStartTime": iso(since) if since else _EPOCH,
    }
    endpoint = "GET /api/public/experiment-items"
    cursors = CursorGuard(endpoint)
    while True:
        body = await client.get_json("/api/public/experiment-items", params=params)
        data = page_data(body, endpoint)
        for item in data:
            if isinstance(item, dict) and isinstance(item.get("traceId"), str):
                out[item["traceId"]] = _expected(item.get("expectedOutput"))
        cursor = cursors.next(body)
        if cursor is None or not data:
            return out
        params["cursor"] = cursor


async def _paged(client: LangfuseClient, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        body = await client.get_json(path, params={**params, "page": page, "limit": PAGE})
        data = page_data(body, f"GET {path}")
        rows.extend(item for item in data if isinstance(item, dict))
        total = (body.get("meta") or {}).get("totalPages")
        if not data or (isinstance(total, int) and page >= total):
            return rows
        page += 1


async def _legacy_run(client: LangfuseClient, dataset: str, dataset_id: str, run: str) -> dict[str, Any]:
    links = await _paged(client, "/api/public/dataset-run-items", {"datasetId": dataset_id, "runName": run})
    wanted = {link.get("datasetItemId") for link in links}
    expected: dict[str, Any] = {}
    for item in await _paged(client, "/api/public/dataset-items", {"datasetName": dataset}):
        if item.get("id") in wanted:
            expected[item["id"]] = _expected(item.get("expectedOutput"))
    return {
        link["traceId"]: expected.get(str(link.get("datasetItemId")))
        for link in links
        if link.get("traceId")
    }


async def load_run_references(
    client: LangfuseClient, dataset: str, run: str, since: Optional[datetime], api: str
) -> dict[str, Any]:
    """trace id -> expected output of the dataset item the trace ran, for every item of the run."""
    dataset_id = await _dataset_id(client, dataset)
    if api != "legacy":
        try:
            return await _experiment_items(client, dataset_id, run, since)
        except LangfuseHTTPError as exc:
            if exc.status not in (404, 405):
                raise
    return await _legacy_run(client, dataset, dataset_id, run)
