"""What graders spent (`Grader.usage`): collected at the end of a run and priced from the user's table."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from rmg_core import RunContext, printable


def grader_usage(run: RunContext, prices: Mapping[str, tuple[float, float]]) -> dict[str, dict[str, Any]]:
    """Score name -> the grader's usage counters, with ``estimated_cost_usd`` when its model has a price."""
    out: dict[str, dict[str, Any]] = {}
    for name, (grader, _) in run.components.graders.items():
        try:
            counters = grader.usage()
        except Exception:  # a report of spending must never break a run
            continue
        if not isinstance(counters, Mapping):
            continue
        row = dict(counters)
        price = prices.get(str(row.get("model")))
        row["price_per_million_tokens"] = {"input": price[0], "output": price[1]} if price else None
        row["estimated_cost_usd"] = estimate_cost(row, price)
        out[name] = row
    return out


def estimate_cost(counters: Mapping[str, Any], price: Optional[tuple[float, float]]) -> Optional[float]:
    """USD for the counters' input and output tokens at ``price`` (per million), or None without a price."""
    if price is None:
        return None
    tokens_in, tokens_out = counters.get("input_tokens"), counters.get("output_tokens")
    if not isinstance(tokens_in, int) or not isinstance(tokens_out, int):
        return None
    return (tokens_in * price[0] + tokens_out * price[1]) / 1_000_000


def usage_lines(usage: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One line per grader that reported usage, e.g. for the llm judge of ``relevance``."""
    lines = []
    for name, u in usage.items():
        parts = [f"{u.get('requests', 0):,} requests ({u.get('retries', 0):,} retries)",
                 f"{u.get('cache_hits', 0):,} cache hits", f"{u.get('merged', 0):,} merged duplicates",
                 f"{u.get('input_tokens', 0):,} input + {u.get('output_tokens', 0):,} output tokens"]
        cost = u.get("estimated_cost_usd")
        parts.append(f"estimated ${cost:,.4f}" if cost is not None else
                     f"no price for {printable(str(u.get('model')))} (add --price MODEL=INPUT,OUTPUT)")
        kind = printable(str(u.get("kind") or "usage"))
        lines.append(f"  {name} {kind} {printable(str(u.get('model') or ''))}: " + ", ".join(parts))
    return lines
