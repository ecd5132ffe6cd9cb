"""Helpers for the webhook tests: endpoints, and the receiving side, written the way the README
tells partners to (the standardwebhooks package's own verify)."""

from __future__ import annotations

import base64
import json
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from standardwebhooks import Webhook, WebhookVerificationError

from connexportal.accounts.models import Partner
from connexportal.webhooks.models import WebhookEndpoint

SECRET = "whsec_" + base64.b64encode(b"test-signing-key-32-bytes-long!!").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-signing-key-32-bytes-ok!").decode()


def verify_request(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """The README's verification: Webhook(secret).verify(body, headers) from the standardwebhooks package."""
    try:
        Webhook(secret).verify(body, dict(headers))
    except WebhookVerificationError:
        return False
    return True


def endpoint_for(partner: Partner, url: str, *, secret: str = SECRET, **fields) -> WebhookEndpoint:
    """An endpoint saved as is: the URL policy's checks at save have tests of their own."""
    endpoint = WebhookEndpoint(partner=partner, url=url, **fields)
    endpoint.set_secret(secret)
    endpoint.save()
    return endpoint


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
