"""A real HTTP server on 127.0.0.1 that speaks the OpenAI ``POST /v1/embeddings`` API, for tests.

Each request takes the next programmed behaviour (``"ok"`` when the queue is
empty): ``"ok"``, ``("status", code, retry_after)``, ``"garbage"`` (not JSON),
``"short"`` (one embedding too few) or ``"nan"`` (a non-finite number).  An
embedding is a bag of hashed words in 64 dimensions, so equal texts get equal
vectors and texts without a shared word get (nearly) orthogonal ones.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIM = 64


def fake_embedding(text: str) -> list[float]:
    vector = [0.0] * DIM
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % DIM] += 1.0
    return vector


class FakeEmbeddings:
    def __init__(self, api_key: str = "sk-test") -> None:
        self.api_key = api_key
        self.behaviours: deque[Any] = deque()
        self.requests: list[dict] = []
        self.authorizations: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                with server._lock:
                    server.requests.append(body)
                    server.authorizations.append(self.headers.get("authorization", ""))
                    behaviour = server.behaviours.popleft() if server.behaviours else "ok"
                if self.path != "/v1/embeddings":
                    return self._send(404, b'{"error": "not found"}')
                if self.headers.get("authorization") != f"Bearer {server.api_key}":
                    return self._send(401, b'{"error": {"message": "bad key"}}')
                if isinstance(behaviour, tuple):
                    _, code, retry_after = behaviour
                    return self._send(code, b'{"error": {"message": "busy"}}', retry_after)
                if behaviour == "garbage":
                    return self._send(200, b"<html>not json</html>")
                texts = body["input"]
                data = [{"object": "embedding", "index": i, "embedding": fake_embedding(t)} for i, t in enumerate(texts)]
                if behaviour == "short":
                    data = data[:-1]
                if behaviour == "nan":
                    data[0]["embedding"][0] = "NaN"
                payload = {"object": "list", "model": body.get("model"), "data": data}
                self._send(200, json.dumps(payload).encode())

            def _send(self, code: int, content: bytes, retry_after: Any = None) -> None:
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(content)))
                if retry_after is not None:
                    self.send_header("retry-after", str(retry_after))
                self.end_headers()
                self.wfile.write(content)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def program(self, *behaviours: Any) -> None:
        self.behaviours.extend(behaviours)

    def __enter__(self) -> "FakeEmbeddings":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
