"""`fetch_pending_traces`: the seed guide's missing function, as a real one.

The seed's workers call ``traces = fetch_pending_traces()`` and leave it to
the reader to write; this is that function, built on `LangfuseSource`.  The
seed's code indexes each trace (``trace["id"]``, ``trace.get("expected")``),
so the traces are `PendingTrace`: an `EvalCase` that also reads like a dict.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

from rmg_core import CaseError, EvalCase, run_sync

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("rmg.langfuse")


class PendingTrace(EvalCase):
    """An `EvalCase` the seed's code can index: ``trace["id"]``, ``["input"]``, ``["output"]``,
    ``.get("expected")``, ``["metadata"]`` (and any other field: ``timestamp``, ``observation_id``)."""

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in type(self).model_fields else default

    def keys(self) -> list[str]:
        return list(type(self).model_fields)


async def afetch_pending_traces(
    score_name: Union[str, Sequence[str], None] = None,
    *,
    since: Optional[datetime] = None,
    until: Optional[datetime] = None,
    limit: Optional[int] = None,
    transport: Optional["httpx.AsyncBaseTransport"] = None,
    **filters: Any,
) -> list[PendingTrace]:
    """The traces that do not have score ``score_name`` yet (all of them, if a list), as `EvalCase`.

    :param score_name: score name(s); a trace that already has every one is left out.
        ``None`` returns every trace that matches the filters.
    :param since: only traces at or after this time (naive = UTC).
    :param until: only traces before this time.
    :param limit: at most this many traces.
    :param filters: any other `LangfuseSource` setting: ``name``, ``tags``, ``user_id``,
        ``session_id``, ``environment``, ``release``, ``version``, ``sample_rate``,
        ``public_key``, ``secret_key``, ``base_url``...

    A trace that cannot be read is logged as a warning and left out.
    Credentials come from ``LANGFUSE_PUBLIC_KEY`` / ``LANGFUSE_SECRET_KEY`` /
    ``LANGFUSE_BASE_URL`` unless given.
    """
    from .source import LangfuseSource

    names = (score_name,) if isinstance(score_name, str) else tuple(score_name or ())
    source = LangfuseSource(
        transport=transport, skip_if_scored=names, from_timestamp=since, to_timestamp=until, limit=limit, **filters
    )
    out: list[PendingTrace] = []
    try:
        async for item in source.cases():
            if isinstance(item, CaseError):
                log.warning("langfuse: skipped %s", item)
            else:
                out.append(PendingTrace.model_construct(_fields_set=item.model_fields_set, **dict(item)))
    finally:
        await source.aclose()
    return out


def fetch_pending_traces(
    score_name: Union[str, Sequence[str], None] = None,
    *,
    since: Optional[datetime] = None,
    until: Optional[datetime] = None,
    limit: Optional[int] = None,
    **filters: Any,
) -> list[PendingTrace]:
    """Synchronous `afetch_pending_traces`; also works inside a running event loop (a notebook)."""
    return run_sync(afetch_pending_traces(score_name, since=since, until=until, limit=limit, **filters))
