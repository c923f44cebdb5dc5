"""The HTTP server: routing, Basic auth, spec validation of every request and response, faults.

It is a `ThreadingHTTPServer` speaking HTTP/1.1 with keep-alive (one thread
per connection): injected latency is a ``sleep`` that releases the GIL, so 50
concurrent clients with 50 ms latency each cost threads, not CPU.  Every
response is written with one ``write`` and ``TCP_NODELAY`` so keep-alive
connections never wait on Nagle's algorithm.
"""

from __future__ import annotations

import base64
import gzip
import hmac
import json
import re
import socket
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qsl, unquote, urlsplit

from . import endpoints as ep
from .faults import Decision, FaultInjector, Faults
from .filters import BadRequest, Unsupported
from .sdk_models import SdkModels, shared_models
from .spec import SpecValidator, Violation, optional_validator
from .store import Store

#: Next.js's default body limit, which Langfuse's score route keeps (the SDK caps batches below it).
SCORES_BODY_LIMIT = 1_048_576
_JSON = "application/json"
_REASONS = {200: "OK", 202: "Accepted", 207: "Multi-Status", 400: "Bad Request", 401: "Unauthorized",
            404: "Not Found", 405: "Method Not Allowed", 411: "Length Required", 413: "Payload Too Large",
            429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable"}


@dataclass
class Reply:
    """What the server sends back; ``validate`` says whether it is checked against the spec."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    validate: bool = True
    #: Close the connection after the headers and half the body.
    cut: bool = False

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    regex: re.Pattern[str]
    auth: bool
    name: str


def _route(method: str, pattern: str, name: str, auth: bool = True) -> Route:
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
    return Route(method, pattern, regex, auth, name)


ROUTES = [
    _route("GET", "/api/public/health", "health", auth=False),
    _route("GET", "/api/public/projects", "projects"),
    _route("GET", "/api/public/v2/observations", "observations"),
    _route("GET", "/api/public/traces", "traces"),
    _route("GET", "/api/public/traces/{traceId}", "trace"),
    _route("GET", "/api/public/v3/scores", "scores_v3"),
    _route("POST", "/api/public/scores", "create_scores"),
    _route("POST", "/api/public/otel/v1/traces", "otel"),
]


def match_route(method: str, path: str) -> tuple[Optional[Route], dict[str, str]]:
    for route in ROUTES:
        if route.method == method:
            m = route.regex.match(path)
            if m:
                return route, {k: unquote(v) for k, v in m.groupdict().items()}
    return None, {}


def _check_batch_reply(reply: Reply) -> list[str]:
    """The 202/207 bodies of SDK 5.x's score batches (not in the spec), as SDK 5.0.4 parses them."""
    body = reply.body
    if reply.status not in (202, 207):
        return []  # 400/413 answers to a batch are plain {"message"} errors
    if reply.status == 202:
        return [] if body == {"message": "Accepted"} else [f"202 body must be {{'message': 'Accepted'}}, got {body!r}"]
    ok = (isinstance(body, dict) and isinstance(body.get("accepted"), int) and isinstance(body.get("rejected"), int)
          and isinstance(body.get("errors"), list)
          and all(isinstance(e, dict) and isinstance(e.get("message"), str) for e in body["errors"]))
    return [] if ok else [f"207 body must be {{accepted:int, rejected:int, errors:[{{message:str}}]}}, got {body!r}"]


class FakeLangfuseApp:
    """Everything but the socket: state, routing, auth, faults, validation and counters."""

    def __init__(
        self,
        *,
        public_key: str,
        secret_key: str,
        project_id: str,
        score_dialect: str,
        faults: Optional[Faults],
        validate: bool,
        validator: Optional[SpecValidator] = None,
    ) -> None:
        if score_dialect not in ("array", "object"):
            raise ValueError(f"score_dialect must be 'array' or 'object', got {score_dialect!r}")
        self.public_key = public_key
        self.secret_key = secret_key
        self.project_id = project_id
        self.score_dialect = score_dialect
        self.store = Store()
        self.faults = FaultInjector(faults)
        self.validate = validate
        #: The OpenAPI document's validator when the document is available (CI has it; a fresh clone may not).
        self.validator = validator if validator is not None or not validate else optional_validator()
        #: The langfuse SDK's generated models: always there (an installed dependency).
        self.sdk: Optional[SdkModels] = shared_models() if validate else None
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        #: Public-API requests being answered now, and the most at once (latency included).
        self.in_flight = 0
        self.peak_in_flight = 0
        self.statuses: Counter[str] = Counter()
        self.otel_requests = 0
        self.otel_spans = 0
        self._violations: list[Violation] = []
        self._expected_auth = b"Basic " + base64.b64encode(f"{public_key}:{secret_key}".encode())

    # -- bookkeeping ----------------------------------------------------------
    def record(self, kind: str, method: str, path: str, message: str) -> None:
        with self._lock:
            self._violations.append(Violation(kind, method, path, message))

    def violations(self) -> list[Violation]:
        with self._lock:
            return list(self._violations)

    def clear_violations(self) -> None:
        with self._lock:
            self._violations.clear()

    def enter(self) -> None:
        """A public-API request is being answered (for `peak_in_flight`)."""
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def reset_counters(self) -> None:
        with self._lock:
            self.peak_in_flight = self.in_flight
            self.requests.clear()
            self.statuses.clear()
            self.otel_requests = 0
            self.otel_spans = 0
        self.faults.reset_counts()

    # -- one request ----------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes,
               body_too_large: bool = False) -> tuple[Reply, Decision]:
        """Answer one public-API request; ``headers`` have lower-case names."""
        path = urlsplit(raw_path).path
        route, path_params = match_route(method, path)
        endpoint = f"{method} {route.pattern if route else path}"
        with self._lock:
            self.requests[endpoint] += 1
        reply, decision = self._handle(method, raw_path, route, path_params, headers, body, body_too_large)
        with self._lock:
            self.statuses[f"{endpoint} {reply.status}"] += 1
        return reply, decision

    def _handle(self, method: str, raw_path: str, route: Optional[Route], path_params: dict[str, str],
                headers: dict[str, str], body: bytes, body_too_large: bool) -> tuple[Reply, Decision]:
        split = urlsplit(raw_path)
        path = split.path
        query = parse_qsl(split.query, keep_blank_values=True)
        content_type = headers.get("content-type", _JSON if body else "")

        parsed_body: Any = None
        body_error: Optional[str] = None
        if body and "json" in content_type:
            try:
                parsed_body = json.loads(body)
            except ValueError as exc:
                body_error = f"request body is not valid JSON: {exc}"

        array_batch = (route is not None and route.name == "create_scores" and self.score_dialect == "array"
                       and isinstance(parsed_body, list))
        element_errors: list[list[str]] = []
        if self.validate and not body_too_large:
            if self.validator is not None:
                skip_body = array_batch or (route is not None and route.name == "otel" and "json" not in content_type)
                for message in self.validator.validate_request(
                    method=method, path=path, path_pattern=route.pattern if route else None,
                    path_params=path_params, query=query, headers=headers, body=body,
                    content_type=content_type or _JSON, skip_body=skip_body,
                ):
                    self.record("request", method, raw_path, message)
            element_errors = self._check_request_with_sdk(route, method, raw_path, query, parsed_body, array_batch)
            if array_batch and self.validator is not None:
                # The spec has no array form: each element must be a CreateScoreRequest.
                for i, item in enumerate(parsed_body):
                    for message in self.validator.schema_errors("CreateScoreRequest", item):
                        element_errors[i].append(message)
                        self.record("request", method, raw_path, f"score[{i}]: {message}")
        elif array_batch:
            element_errors = [[] if isinstance(item, dict) else ["not an object"] for item in parsed_body]

        decision = self.faults.decide(method, path)
        if decision.kind == "down":
            return Reply(503, {"message": "Service Unavailable (fake outage)"}, validate=False), decision
        if decision.kind in ("rate_limit", "rate_limit_held"):
            return Reply(429, {"message": "Rate limit exceeded"},
                         headers={"Retry-After": str(decision.retry_after_s)}, validate=False), decision
        if decision.kind == "error":
            return Reply(decision.status, {"message": f"{_REASONS.get(decision.status, 'Error')} (injected)"},
                         validate=False), decision
        if decision.kind == "close" and not decision.close_after_write:
            return Reply(200, {"message": "response cut before the request was processed"},
                         validate=False, cut=True), decision

        reply = self._dispatch(route, method, raw_path, path_params, query, headers, body, parsed_body,
                               body_error, content_type, array_batch, element_errors, body_too_large)
        if self.validate and reply.validate and self.validator is not None:
            self._validate_reply(reply, route, method, path, raw_path, path_params, query, headers)
        elif self.validate and array_batch:
            for message in _check_batch_reply(reply):
                self.record("response", method, raw_path, message)
        if self.validate and route is not None and self.sdk is not None and (reply.validate or array_batch):
            for message in self.sdk.check_response(method, route.pattern, reply.status, reply.body, array_batch):
                self.record("response", method, raw_path, f"{reply.status} (langfuse SDK model): {message}")
        if decision.kind == "close":
            reply.cut = True
        return reply, decision

    def _check_request_with_sdk(self, route: Optional[Route], method: str, raw_path: str,
                                query: list[tuple[str, str]], parsed_body: Any, array_batch: bool) -> list[list[str]]:
        """Query names and score bodies against the SDK's client; the errors of each array element."""
        if route is None or self.sdk is None:
            return [[] for _ in parsed_body] if array_batch else []
        for message in self.sdk.check_query(route.pattern, [k for k, _ in query]):
            self.record("request", method, raw_path, f"(langfuse SDK) {message}")
        if route.name != "create_scores":
            return []
        if array_batch:
            element_errors = [self.sdk.score_errors(item) for item in parsed_body]
            for i, errors in enumerate(element_errors):
                for message in errors:
                    self.record("request", method, raw_path, f"score[{i}] (langfuse SDK CreateScoreRequest): {message}")
            return element_errors
        if isinstance(parsed_body, dict):
            for message in self.sdk.score_errors(parsed_body):
                self.record("request", method, raw_path, f"(langfuse SDK CreateScoreRequest): {message}")
        return []

    def _dispatch(self, route: Optional[Route], method: str, raw_path: str, path_params: dict[str, str],
                  query: list[tuple[str, str]], headers: dict[str, str], body: bytes, parsed_body: Any,
                  body_error: Optional[str], content_type: str, array_batch: bool,
                  element_errors: list[list[str]], body_too_large: bool) -> Reply:
        if route is None:
            path = urlsplit(raw_path).path
            spec_knows = self.validator is not None and any(
                re.match("^" + re.sub(r"\{\w+\}", "[^/]+", p) + "$", path)
                for p in self.validator.document["paths"])
            if spec_knows:
                self.record("unsupported", method, raw_path, "endpoint is in the spec but not served by the fake")
            return Reply(404, {"message": f"{method} {path} is not served by the fake Langfuse server"},
                         validate=spec_knows)
        given = headers.get("authorization", "").encode("utf-8", "surrogateescape")
        if route.auth and not hmac.compare_digest(given, self._expected_auth):
            return Reply(401, {"message": "Invalid credentials. Confirm that you've configured the correct host.",
                               "error": "UnauthorizedError"})
        try:
            return self._invoke(route, path_params, query, headers, body, parsed_body, body_error,
                                content_type, array_batch, element_errors, body_too_large)
        except Unsupported as exc:
            self.record("unsupported", method, raw_path, exc.message)
            return Reply(exc.status, {"message": exc.message})
        except BadRequest as exc:
            return Reply(exc.status, {"message": exc.message, "error": "InvalidRequestError"})

    def _invoke(self, route: Route, path_params: dict[str, str], query: list[tuple[str, str]],
                headers: dict[str, str], body: bytes, parsed_body: Any, body_error: Optional[str],
                content_type: str, array_batch: bool, element_errors: list[list[str]],
                body_too_large: bool) -> Reply:
        q = ep.Query(query)
        store, pid = self.store, self.project_id
        name = route.name
        if name == "health":
            return Reply(*ep.health())
        if name == "projects":
            return Reply(*ep.projects(pid))
        if name == "observations":
            return Reply(*ep.list_observations(store, q, pid))
        if name == "traces":
            return Reply(*ep.list_traces(store, q, pid))
        if name == "trace":
            return Reply(*ep.get_trace(store, path_params["traceId"], q, pid))
        if name == "scores_v3":
            return Reply(*ep.list_scores_v3(store, q, pid))
        if name == "otel":
            return self._otel(body, content_type)
        # POST /api/public/scores
        if body_too_large:
            return Reply(413, {"message": "Body exceeded 1mb limit"}, validate=False)
        if body_error:
            raise BadRequest(body_error)
        if array_batch:
            if not parsed_body:
                raise BadRequest("expected a non-empty JSON array of scores")
            status, payload = ep.create_scores_array(store, parsed_body, element_errors)
            return Reply(status, payload, validate=False)
        if not isinstance(parsed_body, dict):
            what = "a JSON array" if isinstance(parsed_body, list) else "no JSON object"
            raise BadRequest(f"Invalid request body: expected one CreateScoreRequest object, got {what}")
        return Reply(*ep.create_score_object(store, parsed_body))

    def _otel(self, body: bytes, content_type: str) -> Reply:
        # Counted, not ingested: SDK 5.0.4 writes scores through POST /api/public/scores, not OTLP.
        spans = 0
        if "protobuf" in content_type:
            try:
                from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                spans = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
            except Exception as exc:  # a malformed payload is the client's error
                raise BadRequest(f"OTLP protobuf body could not be parsed: {exc}") from None
        else:
            try:
                data = json.loads(body or b"{}")
                spans = sum(len(ss.get("spans", [])) for rs in data.get("resourceSpans", [])
                            for ss in rs.get("scopeSpans", []))
            except (ValueError, AttributeError, TypeError):
                raise BadRequest("OTLP JSON body could not be parsed") from None
        with self._lock:
            self.otel_requests += 1
            self.otel_spans += spans
        return Reply(200, {})

    def _validate_reply(self, reply: Reply, route: Optional[Route], method: str, path: str, raw_path: str,
                        path_params: dict[str, str], query: list[tuple[str, str]],
                        headers: dict[str, str]) -> None:
        assert self.validator is not None
        for message in self.validator.validate_response(
            method=method, path=path, path_pattern=route.pattern if route else None, path_params=path_params,
            query=query, headers=headers, status=reply.status, body=reply.payload(),
            content_type=_JSON, response_headers=reply.headers,
        ):
            self.record("response", method, raw_path, f"{reply.status}: {message}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-langfuse"
    sys_version = ""
    server: "_Server"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: tests read counters
        return

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _read_body(self, limit: Optional[int]) -> tuple[bytes, bool]:
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(chunks)
        else:
            body = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Encoding", "").lower() == "gzip" and body:
            body = gzip.decompress(body)
        too_large = limit is not None and len(body) > limit
        return body, too_large

    def _serve(self, method: str) -> None:
        app: FakeLangfuseApp = self.server.app
        started = time.monotonic()
        path = self.path
        if path.startswith("/_fake/"):
            body, _ = self._read_body(None)
            from .control import handle_control

            status, payload = handle_control(self.server.owner, method, path, body)
            self._send(Reply(status, payload))
            return
        limit = SCORES_BODY_LIMIT if urlsplit(path).path == "/api/public/scores" else None
        body, too_large = self._read_body(limit)
        headers = {k.lower(): v for k, v in self.headers.items()}
        app.enter()
        try:
            reply, decision = app.handle(method, path, headers, body, too_large)
        except Exception as exc:  # a bug in the fake must fail the test, not hang the client
            app.record("internal", method, path, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}")
            reply, decision = Reply(500, {"message": f"fake server error: {type(exc).__name__}"}), Decision("none")
        try:
            remaining = decision.latency_s - (time.monotonic() - started)
            if remaining > 0:
                time.sleep(remaining)
        finally:
            app.leave()
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        payload = reply.payload()
        lines = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}",
                 f"Content-Type: {_JSON}", f"Content-Length: {len(payload)}"]
        lines += [f"{k}: {v}" for k, v in reply.headers.items()]
        if reply.cut:
            lines.append("Connection: keep-alive")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if reply.cut:
            self.wfile.write(head + payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(head + payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], owner: Any) -> None:
        super().__init__(address, _Handler)
        self.owner = owner
        self.app: FakeLangfuseApp = owner.app
        self._connections: set[socket.socket] = set()
        self.disconnects = 0
        self._conn_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up (timeouts, killed workers, cut connections) are
        # normal here; printing a traceback per hang-up would also fill the
        # stderr pipe of a child-process server and stall it.
        self.disconnects += 1

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
            self._connections.clear()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


__all__ = ["FakeLangfuseApp", "Reply", "ROUTES", "SCORES_BODY_LIMIT", "match_route"]
