"""The control API under ``/_fake/`` (not Langfuse's, never validated or faulted), and a client for it.

Endpoints (JSON in, JSON out):

=======  ===========================  ==================================================
GET      /_fake/health                ``{"ok": true, "baseUrl": ...}``
POST     /_fake/seed                  ``{"n": 100, "options": {SeedOptions fields}}`` -> ``{"traceIds": [...]}``
POST     /_fake/traces                a trace object or a list of them (API field names) -> ``{"ids": [...]}``
GET      /_fake/traces                ``{"traces": [...]}``
PATCH    /_fake/traces/{id}           fields to change (e.g. ``{"output": "..."}``) -> ``{"trace": {...}}``
GET      /_fake/scores                ``{"scores": [... with writeCount ...]}``
GET      /_fake/stats                 request/status/fault counters, score and trace totals
GET      /_fake/violations            ``{"violations": [{kind, method, path, message}]}``
DELETE   /_fake/violations            forget them
GET      /_fake/faults                the current `Faults` as JSON
PUT      /_fake/faults                replace them (`Faults` JSON; omitted keys take defaults)
PATCH    /_fake/faults                change some keys of the current ones
PUT      /_fake/config                ``{"scoreDialect": "array" | "object"}``
GET      /_fake/clock                 ``{"now": iso}``: the server's clock (stamps scores without a timestamp)
POST     /_fake/clock                 ``{"advanceSeconds": 86400}`` moves it forward -> ``{"now": iso}``
POST     /_fake/reset                 ``{"traces": true, "scores": true, "counters": true,
                                      "violations": true, "faults": true}`` (all default true)
=======  ===========================  ==================================================

Seed option ``start`` is an ISO timestamp and ``interval_s`` a number of seconds.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .faults import Faults
from .model import iso, parse_iso

if TYPE_CHECKING:
    from .fake import FakeLangfuse


def _seed_options(raw: dict[str, Any]) -> dict[str, Any]:
    options = dict(raw)
    if "start" in options:
        options["start"] = parse_iso(options["start"])
    if "interval_s" in options:
        options["interval"] = timedelta(seconds=float(options.pop("interval_s")))
    return options


def handle_control(fake: "FakeLangfuse", method: str, raw_path: str, body: bytes) -> tuple[int, Any]:
    """Serve one control request; errors come back as 400/404 ``{"message"}``."""
    path = raw_path.split("?", 1)[0].rstrip("/")
    try:
        data = json.loads(body) if body else {}
    except ValueError as exc:
        return 400, {"message": f"control body is not JSON: {exc}"}
    try:
        if path == "/_fake/health" and method == "GET":
            return 200, {"ok": True, "baseUrl": fake.base_url}
        if path == "/_fake/seed" and method == "POST":
            ids = fake.seed_traces(int(data.get("n", 10)), **_seed_options(data.get("options") or {}))
            return 200, {"traceIds": ids}
        if path == "/_fake/traces":
            if method == "POST":
                items = data if isinstance(data, list) else [data]
                return 200, {"ids": fake.add_traces(items)}
            if method == "GET":
                return 200, {"traces": fake.traces()}
        if path.startswith("/_fake/traces/") and method == "PATCH":
            trace_id = path[len("/_fake/traces/"):]
            fake.update_trace(trace_id, **data)
            trace = fake.trace(trace_id)
            return 200, {"trace": trace.to_seed_json() if trace else None}
        if path == "/_fake/scores" and method == "GET":
            return 200, {"scores": fake.scores()}
        if path == "/_fake/stats" and method == "GET":
            return 200, fake.stats()
        if path == "/_fake/violations":
            if method == "GET":
                return 200, {"violations": [v.to_json() for v in fake.violations()]}
            if method == "DELETE":
                fake.clear_violations()
                return 200, {"violations": []}
        if path == "/_fake/faults":
            if method == "GET":
                return 200, fake.faults.to_json()
            if method == "PUT":
                return 200, fake.set_faults(Faults.from_json(data)).to_json()
            if method == "PATCH":
                merged = {**fake.faults.to_json(), **data}
                return 200, fake.set_faults(Faults.from_json(merged)).to_json()
        if path == "/_fake/config" and method == "PUT":
            if "scoreDialect" in data:
                fake.score_dialect = data["scoreDialect"]
            return 200, {"scoreDialect": fake.score_dialect}
        if path == "/_fake/clock":
            if method == "POST":
                fake.advance_clock(float(data.get("advanceSeconds", 0)))
            if method in ("GET", "POST"):
                return 200, {"now": iso(fake.now())}
        if path == "/_fake/reset" and method == "POST":
            fake.reset(**{k: bool(data.get(k, True)) for k in ("traces", "scores", "counters", "violations", "faults")})
            return 200, {"ok": True}
    except (KeyError, TypeError, ValueError) as exc:
        return 400, {"message": f"{type(exc).__name__}: {exc}"}
    return 404, {"message": f"no control endpoint {method} {path}; see tests/fake_langfuse/control.py"}


class FakeLangfuseProcess:
    """A fake server in a child process (``python -m tests.fake_langfuse``) and a client for its control API.

    ``args`` are extra CLI flags, e.g. ``["--latency-ms", "50"]``.  Use as a
    context manager; `stop` terminates the process.
    """

    def __init__(self, args: Optional[list[str]] = None, *, public_key: Optional[str] = None,
                 secret_key: Optional[str] = None, startup_timeout: float = 30.0) -> None:
        # Fresh keys by default: SDK 5.x caches one client per public key per process.
        token = secrets.token_hex(6)
        self.public_key = public_key or f"pk-lf-fake-{token}"
        self.secret_key = secret_key or f"sk-lf-fake-{token}"
        public_key, secret_key = self.public_key, self.secret_key
        repo = Path(__file__).resolve().parents[2]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))}
        # stderr goes to a file: a pipe nobody reads could fill and stall the server.
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_langfuse", "--port", "0",
             "--public-key", public_key, "--secret-key", secret_key, *(args or [])],
            cwd=str(repo), env=env, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
        )
        line = self._first_line(startup_timeout)
        if not line.startswith("http://"):
            self.process.kill()
            self.process.wait()
            self._stderr.seek(0)
            err = self._stderr.read()
            self._stderr.close()
            raise RuntimeError(f"fake Langfuse process did not print its URL; got {line!r}; stderr: {err[-2000:]}")
        self.base_url = line.strip()
        import httpx

        self._http = httpx.Client(base_url=self.base_url, timeout=30.0)

    def _first_line(self, timeout: float) -> str:
        import threading

        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(self.process.stdout.readline() if self.process.stdout else ""),
                                  daemon=True)
        reader.start()
        reader.join(timeout)
        return box[0] if box else ""

    def __enter__(self) -> "FakeLangfuseProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._http.close()
        if self.process.stdout:
            self.process.stdout.close()
        self._stderr.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._http.request(method, path, json=body)
        if response.status_code >= 400:
            raise RuntimeError(f"control {method} {path} failed: {response.status_code} {response.text}")
        return response.json()

    def seed_traces(self, n: int, **options: Any) -> list[str]:
        return self._call("POST", "/_fake/seed", {"n": n, "options": options})["traceIds"]

    def add_traces(self, traces: list[dict[str, Any]]) -> list[str]:
        return self._call("POST", "/_fake/traces", traces)["ids"]

    def update_trace(self, trace_id: str, **changes: Any) -> None:
        self._call("PATCH", f"/_fake/traces/{trace_id}", changes)

    def scores(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_fake/scores")["scores"]

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_fake/stats")

    def violations(self) -> list[dict[str, str]]:
        return self._call("GET", "/_fake/violations")["violations"]

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """Change some fault settings (PATCH); pass ``rules=[...]`` as JSON dicts."""
        return self._call("PATCH", "/_fake/faults", settings)

    def replace_faults(self, faults: Faults) -> dict[str, Any]:
        return self._call("PUT", "/_fake/faults", faults.to_json())

    def advance_clock(self, seconds: float) -> str:
        """Move the server's clock forward; returns its new time (ISO)."""
        return self._call("POST", "/_fake/clock", {"advanceSeconds": seconds})["now"]

    def score_rows(self) -> int:
        """Stored score rows (two rows for one id: the same score written on two days)."""
        return int(self.stats()["scores"])

    def set_score_dialect(self, dialect: str) -> None:
        self._call("PUT", "/_fake/config", {"scoreDialect": dialect})

    def reset(self, **parts: bool) -> None:
        self._call("POST", "/_fake/reset", parts)


__all__ = ["FakeLangfuseProcess", "handle_control"]
