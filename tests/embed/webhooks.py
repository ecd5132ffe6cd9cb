"""Helpers for the webhook tests: the receiving side, written the way the README tells partners to."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

SECRET = "whsec_test_6Jx9v2QpL0aZ"
TOLERANCE_SECONDS = 300


def verify(secret: str, body: bytes, timestamp: str, signature: str, *, now: float | None = None) -> bool:
    """The README's verification snippet: the partner's side of the signature scheme."""
    if not timestamp.isdigit() or abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature, f"v1={expected}")


def verify_request(secret: str, headers: Mapping[str, str], body: bytes, **kwargs) -> bool:
    return verify(secret, body, headers["connex-webhook-timestamp"], headers["connex-webhook-signature"], **kwargs)


class Recorder:
    """An httpx.MockTransport that answers from a script and keeps every request it saw.

    Each script item is an httpx.Response, an exception to raise, or a callable taking the request.
    """

    def __init__(self, script: Iterable[httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]]):
        self.script = list(script)
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, Exception):
            raise step
        if callable(step):
            return step(request)
        return step

    def bodies(self) -> list[dict]:
        return [json.loads(request.content) for request in self.requests]


class Receiver:
    """A real HTTP server on 127.0.0.1 that records what it receives and answers ``status``.

    With ``tls`` (an ssl.SSLContext for the server side) it speaks https and records the server
    name (SNI) each client asked for; ``host`` is then the name the URL uses for it.
    """

    def __init__(
        self,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.server_names: list[str | None] = []
        received = self.received
        answer_headers = dict(headers or {})

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(status)
                for name, value in answer_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls is not None:
            tls.sni_callback = lambda _socket, name, _context: self.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://{host}:{self.server.server_port}/hooks/connex"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
