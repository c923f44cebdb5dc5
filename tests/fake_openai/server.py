"""A real HTTP server that speaks enough of the OpenAI chat-completions API for tests.

It binds 127.0.0.1 on an ephemeral port and serves from a background thread.
Each request takes the next programmed `Behaviour` (or the default one when
the queue is empty), so a test says exactly what the endpoint does::

    with FakeOpenAI(api_key="sk-test") as server:
        server.program(RateLimited(retry_after="1"), Answer(rating=4))
        ... RelevanceGrader(backend="llm", base_url=server.base_url, ...)
        assert server.requests == 2
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional, Union


@dataclass
class Answer:
    """A normal completion whose content is the judge JSON ``{"rating", "explanation"}``."""

    rating: Any = 4
    explanation: str = "The answer addresses the question."
    delay: float = 0.0

    def content(self) -> str:
        return json.dumps({"rating": self.rating, "explanation": self.explanation})


@dataclass
class Content:
    """A normal completion with exactly this message content (garbage, wrong JSON...)."""

    text: Optional[str]
    delay: float = 0.0


@dataclass
class Slow:
    """Wait ``delay`` seconds, then answer normally."""

    delay: float
    then: Answer = field(default_factory=Answer)


@dataclass
class RateLimited:
    """429 with a Retry-After header."""

    retry_after: Optional[str] = "1"


@dataclass
class ServerError:
    """An HTTP error status (500 unless told) with a JSON error body."""

    status: int = 500
    message: str = "internal error"


@dataclass
class CloseConnection:
    """Read the request, then close the socket without answering."""


@dataclass
class Trickle:
    """Declare a normal-sized body, then send it one byte every ``interval`` seconds."""

    interval: float = 0.2


@dataclass
class Endless:
    """A 200 whose body never ends (no length, chunks until the client hangs up)."""


Behaviour = Union[Answer, Content, Slow, RateLimited, ServerError, CloseConnection, Trickle, Endless]


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: Any


class FakeOpenAI:
    """Context manager running the fake endpoint; ``base_url`` ends in ``/v1``."""

    def __init__(self, api_key: str = "sk-test-key", default: Optional[Behaviour] = None) -> None:
        self.api_key = api_key
        self.default: Behaviour = default if default is not None else Answer()
        self._queue: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.unauthorized = 0
        self.received: list[ReceivedRequest] = []
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # -- programming ----------------------------------------------------------
    def program(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next requests, in order."""
        with self._lock:
            self._queue.extend(behaviours)

    def _next(self) -> Behaviour:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the server is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    # -- lifecycle ------------------------------------------------------------
    def __enter__(self) -> "FakeOpenAI":
        fake = self

        class Handler(_Handler):
            server_state = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval keeps shutdown (and so each test) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()  # wakes handlers sleeping in Slow behaviours
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    server_state: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass

    def _send_json(self, status: int, payload: Any, headers: Optional[dict[str, str]] = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        state = self.server_state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        with state._lock:
            state.requests += 1
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            self._handle(state, raw)
        finally:
            with state._lock:
                state.in_flight -= 1

    def _handle(self, state: FakeOpenAI, raw: bytes) -> None:
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        state.received.append(ReceivedRequest(self.path, dict(self.headers.items()), body))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
            return
        if self.headers.get("Authorization") != f"Bearer {state.api_key}":
            with state._lock:
                state.unauthorized += 1
            self._send_json(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                            "code": "invalid_api_key"}})
            return
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or "model" not in body:
            self._send_json(400, {"error": {"message": "'model' and 'messages' are required",
                                            "type": "invalid_request_error"}})
            return
        behaviour = state._next()
        if isinstance(behaviour, Slow):
            state.sleep(behaviour.delay)
            behaviour = behaviour.then
        if isinstance(behaviour, RateLimited):
            headers = {"Retry-After": behaviour.retry_after} if behaviour.retry_after is not None else {}
            self._send_json(429, {"error": {"message": "Rate limit reached", "type": "requests",
                                            "code": "rate_limit_exceeded"}}, headers)
            return
        if isinstance(behaviour, ServerError):
            self._send_json(behaviour.status, {"error": {"message": behaviour.message, "type": "server_error"}})
            return
        if isinstance(behaviour, CloseConnection):
            self.close_connection = True
            self.connection.close()
            return
        if isinstance(behaviour, Trickle):
            data = json.dumps(_completion(body["model"], Answer().content())).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            for i in range(len(data)):
                if state._stop.is_set():
                    return
                try:
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
                except OSError:
                    return  # the client gave up, as it should
                state.sleep(behaviour.interval)
            return
        if isinstance(behaviour, Endless):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            chunk = b" " * 65536
            while not state._stop.is_set():
                try:
                    self.wfile.write(chunk)
                except OSError:
                    return
            return
        if isinstance(behaviour, (Answer, Content)):
            if behaviour.delay:
                state.sleep(behaviour.delay)
            content = behaviour.content() if isinstance(behaviour, Answer) else behaviour.text
            self._send_json(200, _completion(body["model"], content))
            return
        raise AssertionError(f"unknown behaviour {behaviour!r}")


def _completion(model: str, content: Optional[str]) -> dict[str, Any]:
    """A chat.completion object shaped like the real API's."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 120, "completion_tokens": 24, "total_tokens": 144},
    }
