"""Throughput of the fake server: ``python -m tests.fake_langfuse.loadtest``.

Starts the server in a child process (so client and server do not share a
GIL), then sends a bounded number of requests from ``--concurrency`` threads,
each on its own keep-alive connection (``http.client``, lighter than httpx, so
the figure is the server's).  Prints requests/s per request kind.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import threading
import time
from typing import Callable, Optional, Sequence
from urllib.parse import urlsplit

from .control import FakeLangfuseProcess


def _worker(host: str, port: int, auth: str, make: Callable[[int], tuple[str, str, Optional[bytes]]],
            indices: range, errors: list[str]) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    for i in indices:
        method, path, body = make(i)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status >= 400:
                errors.append(f"{method} {path}: {response.status}")
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{method} {path}: {exc}")
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.close()


def _kinds(trace_ids: list[str]) -> dict[str, Callable[[int], tuple[str, str, Optional[bytes]]]]:
    def scores(i: int) -> tuple[str, str, Optional[bytes]]:
        batch = [{"id": f"load-{i}-{k}", "traceId": trace_ids[(i * 10 + k) % len(trace_ids)],
                  "name": f"metric-{k % 3}", "value": k / 10, "dataType": "NUMERIC",
                  "timestamp": "2026-01-01T00:00:00.000Z"} for k in range(10)]
        return "POST", "/api/public/scores", json.dumps(batch).encode()

    return {
        "health": lambda i: ("GET", "/api/public/health", None),
        "scores(10/batch)": scores,
        "observations(limit=50,io)": lambda i: (
            "GET", "/api/public/v2/observations?limit=50&fields=core,basic,io,metadata&isRootObservation=true",
            None),
    }


def run(requests: int, concurrency: int, latency_ms: float, validate: bool, traces: int) -> dict[str, float]:
    args = ["--latency-ms", str(latency_ms)] + ([] if validate else ["--no-validate"])
    results: dict[str, float] = {}
    with FakeLangfuseProcess(args) as proc:
        trace_ids = proc.seed_traces(traces)
        split = urlsplit(proc.base_url)
        auth = "Basic " + base64.b64encode(f"{proc.public_key}:{proc.secret_key}".encode()).decode()
        for kind, make in _kinds(trace_ids).items():
            errors: list[str] = []
            per = [range(w, requests, concurrency) for w in range(concurrency)]
            threads = [threading.Thread(target=_worker, args=(split.hostname, split.port, auth, make, idx, errors))
                       for idx in per]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
            if errors:
                raise RuntimeError(f"{len(errors)} failed requests, first: {errors[0]}")
            results[kind] = requests / elapsed
        violations = proc.violations()
        if violations:
            raise RuntimeError(f"spec violations during the load test: {violations[:3]}")
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_langfuse.loadtest", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="requests per kind (bounded)")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--traces", type=int, default=1000, help="traces seeded before the run")
    parser.add_argument("--no-validate", action="store_true")
    args = parser.parse_args(argv)
    results = run(args.requests, args.concurrency, args.latency_ms, not args.no_validate, args.traces)
    ideal = args.concurrency / (args.latency_ms / 1000) if args.latency_ms else float("inf")
    print(f"fake Langfuse throughput: {args.requests} requests/kind, concurrency {args.concurrency}, "
          f"latency {args.latency_ms:g} ms, validation {'off' if args.no_validate else 'on'} "
          f"(latency-bound ceiling {ideal:.0f} req/s)")
    for kind, rate in results.items():
        print(f"  {kind:28s} {rate:8.0f} req/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
