"""A stand-in for a partner's web app, on an origin of its own, that embeds the portal.

It does what a partner's app does, and nothing more: its server mints a launch URL through the
partner API with the partner's key (which never reaches the browser), and its page mounts the
portal with ``/static/connex-embed.js`` served by the portal, logging the events it hears. Its
``/webhooks`` receives the portal's webhooks and verifies each with the standardwebhooks
package, as the README tells partners to, logging what it received.
Served by ``manage.py run_demo_host``; the browser tests serve it on a second origin too.
"""

from __future__ import annotations

import html
import json
import logging
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook, WebhookVerificationError

logger = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent / "assets"
STATIC_FILES = {
    "/host.js": ("host.js", "text/javascript; charset=utf-8"),
    "/host.css": ("host.css", "text/css; charset=utf-8"),
}
LANGUAGES = (("", "Partner default"), ("en", "English"), ("es", "Español"), ("fr", "Français"))
MAX_BODY = 4096
MAX_WEBHOOK_BODY = 1024 * 1024


@dataclass(frozen=True)
class DemoHost:
    """What the demo partner app knows: where the portal is, its API key, and its merchants' ids."""

    portal_url: str
    api_key: str
    merchants: tuple[str, ...]
    user_email: str = "demo.user@partner.example"
    # The whsec_ secret of the demo partner's webhook endpoint; empty refuses every webhook.
    webhook_secret: str = ""

    @property
    def portal_origin(self) -> str:
        parts = urlsplit(self.portal_url)
        return f"{parts.scheme}://{parts.netloc}"


class MintError(Exception):
    """The partner API did not give a launch URL; the message says why, for the page."""


def launch_url_mint(host: DemoHost, *, merchant: str, language: str, http: httpx.Client) -> dict:
    """A launch URL for ``merchant`` from the partner API: what a partner's backend does before each embed."""
    body = {"merchant_external_id": merchant, "user_email": host.user_email}
    if language:
        body["language"] = language
    try:
        response = http.post(
            f"{host.portal_url.rstrip('/')}/api/v1/embed-sessions",
            json=body,
            headers={"Authorization": f"Bearer {host.api_key}"},
        )
    except httpx.HTTPError as exc:
        raise MintError(f"The portal at {host.portal_url} did not answer ({exc.__class__.__name__}).") from exc
    if response.status_code != HTTPStatus.CREATED:
        try:
            detail = response.json().get("detail") or response.reason_phrase
        except ValueError:
            detail = response.reason_phrase
        raise MintError(f"The partner API refused (HTTP {response.status_code}): {detail}")
    session = response.json()
    return {"url": session["url"], "expires_at": session["expires_at"]}


def page_html(host: DemoHost) -> str:
    options = "".join(
        f'<option value="{html.escape(merchant)}">{html.escape(merchant)}</option>' for merchant in host.merchants
    )
    languages = "".join(f'<option value="{html.escape(code)}">{html.escape(name)}</option>' for code, name in LANGUAGES)
    template = Template((ASSETS / "index.html").read_text(encoding="utf-8"))
    return template.substitute(
        portal=html.escape(host.portal_url.rstrip("/")),
        merchant_options=options,
        language_options=languages,
    )


def content_security_policy(host: DemoHost) -> str:
    # What a partner's own page needs to embed the portal: its script, and its frame.
    portal = host.portal_origin
    return (
        f"default-src 'self'; script-src 'self' {portal}; frame-src {portal}; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


class DemoHostHandler(BaseHTTPRequestHandler):
    server: DemoHostServer
    server_version = "ConnexDemoHost"

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/":
            self._send(HTTPStatus.OK, page_html(self.server.host).encode(), "text/html; charset=utf-8")
        elif path in STATIC_FILES:
            name, content_type = STATIC_FILES[path]
            self._send(HTTPStatus.OK, (ASSETS / name).read_bytes(), content_type)
        else:
            self._send(HTTPStatus.NOT_FOUND, b"Not found\n", "text/plain; charset=utf-8")

    def do_POST(self) -> None:
        if urlsplit(self.path).path == "/webhooks":
            self._webhook()
            return
        if urlsplit(self.path).path != "/sessions":
            self._send(HTTPStatus.NOT_FOUND, b"Not found\n", "text/plain; charset=utf-8")
            return
        # JSON only: another site's plain form post cannot make this server mint sessions.
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            self._json(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "Send JSON."})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(min(length, MAX_BODY)) or b"{}")
        except ValueError:
            self._json(HTTPStatus.BAD_REQUEST, {"error": "The body is not JSON."})
            return
        merchant = request.get("merchant")
        if merchant not in self.server.host.merchants:
            self._json(HTTPStatus.BAD_REQUEST, {"error": "Pick one of the demo merchants."})
            return
        language = request.get("language") or ""
        if language not in dict(LANGUAGES):
            self._json(HTTPStatus.BAD_REQUEST, {"error": "Pick one of the languages offered."})
            return
        try:
            session = launch_url_mint(self.server.host, merchant=merchant, language=language, http=self.server.http)
        except MintError as exc:
            self._json(HTTPStatus.BAD_GATEWAY, {"error": str(exc)})
            return
        self._json(HTTPStatus.CREATED, session)

    def _webhook(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_WEBHOOK_BODY:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"Too large\n", "text/plain; charset=utf-8")
            return
        body = self.rfile.read(length)
        try:
            if not self.server.host.webhook_secret:
                raise WebhookVerificationError("no webhook secret configured")
            event = Webhook(self.server.host.webhook_secret).verify(body, dict(self.headers.items()))
        except (WebhookVerificationError, ValueError) as exc:
            logger.warning("demo host: webhook refused: %s", exc or type(exc).__name__)
            self._send(HTTPStatus.BAD_REQUEST, b"Signature not verified\n", "text/plain; charset=utf-8")
            return
        merchant = (event.get("merchant") or {}).get("external_id") or "-"
        logger.info("demo host: webhook %s for %s, id %s (verified)", event.get("type"), merchant, event.get("id"))
        self.server.webhooks_received.append(event)
        self._send(HTTPStatus.NO_CONTENT, b"", "text/plain; charset=utf-8")

    def _json(self, status: HTTPStatus, body: dict) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if content_type.startswith("text/html"):
            self.send_header("Content-Security-Policy", content_security_policy(self.server.host))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        # The request line only: launch URLs travel in response bodies, never in paths.
        logger.info("demo host: " + format, *args)


class DemoHostServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], host: DemoHost, *, http: httpx.Client | None = None) -> None:
        # Set before binding: a failed bind calls server_close.
        self.host = host
        # The verified events, newest last (the tests read them; the log shows them in make run).
        self.webhooks_received: deque[dict] = deque(maxlen=100)
        self._own_http = http is None
        self.http = http or httpx.Client(timeout=httpx.Timeout(10.0))
        super().__init__(address, DemoHostHandler)

    def server_close(self) -> None:
        super().server_close()
        if self._own_http:
            self.http.close()
