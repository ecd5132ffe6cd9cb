"""Real sockets (timeouts, keep-alive), secrecy of errors and logs, log lines, rate limiting, isolation from Django."""

from __future__ import annotations

import logging
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from connexportal.connex import (
    ConnexClient,
    ConnexError,
    ConnexUnavailable,
    InMemoryTokenStore,
    RateLimiter,
    Token,
    routes,
    shared_client,
)
from connexportal.connex.http import new_client

from . import samples
from .conftest import PASSWORD, USERNAME, FakeConnex

PRODUCTS = routes.LIST_PRODUCTS.path
PROJECT_DIR = Path(__file__).resolve().parents[2]


# --- Real sockets ------------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[tuple[str, list[socket.socket]]]:
    """Accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_forever() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(connection)

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    stop.set()
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()
    listener.close()


def logged_in_client(base_url: str, **options) -> ConnexClient:
    store = InMemoryTokenStore()
    client = ConnexClient(
        base_url, USERNAME, PASSWORD, token_store=store, rate_limit=None, sleep=lambda seconds: None, **options
    )
    store.set(client.token_key, Token("a-valid-token"))
    return client


def test_a_read_that_times_out_fails_within_its_timeout_budget(silent_server):
    base_url, accepted = silent_server
    client = logged_in_client(base_url, timeout=0.3, max_retries=1)

    started = time.monotonic()
    with pytest.raises(ConnexUnavailable) as caught:
        client.list_products()
    elapsed = time.monotonic() - started

    # Two attempts of 0.3 s each, plus slack for a loaded machine; never the 20 s default.
    assert 0.55 <= elapsed < 1.5
    error = caught.value
    assert error.status is None and error.attempts == 2
    assert "ReadTimeout" in error.message
    assert error.elapsed is not None and 0.55 <= error.elapsed < 1.5
    assert len(accepted) == 2


def test_the_total_timeout_bounds_a_call_with_many_retries(silent_server):
    base_url, _ = silent_server
    client = logged_in_client(base_url, timeout=0.3, max_retries=10, total_timeout=0.8)

    started = time.monotonic()
    with pytest.raises(ConnexUnavailable) as caught:
        client.list_products()

    assert time.monotonic() - started < 1.4
    assert caught.value.attempts <= 3


def test_a_write_that_times_out_is_sent_once(silent_server):
    base_url, accepted = silent_server
    client = logged_in_client(base_url, timeout=0.3, max_retries=3)

    with pytest.raises(ConnexUnavailable) as caught:
        client.run_now(951)

    assert caught.value.attempts == 1 and caught.value.request_sent is True
    assert len(accepted) == 1


def test_nothing_listening_is_unavailable_and_not_sent():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    client = logged_in_client(f"http://127.0.0.1:{port}", timeout=1.0, max_retries=1)

    with pytest.raises(ConnexUnavailable) as caught:
        client.run_now(951)

    assert caught.value.request_sent is False
    assert caught.value.attempts == 2  # never left, so even a write may try again


class _ProductsHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    client_ports: list[int]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.client_ports.append(self.client_address[1])
        body = samples.PRODUCTS_RESPONSE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_calls_reuse_one_pooled_keep_alive_connection():
    _ProductsHandler.client_ports = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ProductsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = logged_in_client(f"http://127.0.0.1:{server.server_address[1]}")
        for _ in range(3):
            assert len(client.list_products().products) == 2
    finally:
        server.shutdown()
        server.server_close()
    assert len(_ProductsHandler.client_ports) == 3
    assert len(set(_ProductsHandler.client_ports)) == 1


def test_one_shared_http_client_per_process():
    assert shared_client() is shared_client()
    assert shared_client().timeout.connect is not None and shared_client().timeout.read is not None


def test_a_cookie_connex_sets_for_one_account_never_goes_out_with_another():
    """Every account's calls share the process's one httpx client: it keeps no cookie."""
    sent: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("cookie"))
        return httpx.Response(200, json=[], headers={"Set-Cookie": "ARRAffinity=account-one; Path=/"})

    http = new_client(httpx.MockTransport(answer))
    for token in ("account-one", "account-two"):
        http.get("https://connex.test/api/UserConnection", headers={"Authorization": f"Bearer {token}"})
    assert sent == [None, None]
    assert not list(http.cookies.jar)


# --- Secrets never leak ------------------------------------------------------------------


def _strings_in(value: object, seen: set[int] | None = None) -> Iterator[str]:
    """Every string reachable from an error: its str, repr, args, attributes, causes."""
    seen = seen if seen is not None else set()
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, str):
        yield value
        return
    if isinstance(value, bytes):
        yield value.decode("utf-8", "replace")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings_in(key, seen)
            yield from _strings_in(item, seen)
        return
    if isinstance(value, list | tuple | set):
        for item in value:
            yield from _strings_in(item, seen)
        return
    if isinstance(value, BaseException):
        yield str(value)
        yield repr(value)
        yield from _strings_in(value.args, seen)
        yield from _strings_in(vars(value), seen)
        yield from _strings_in(value.__cause__, seen)
        yield from _strings_in(value.__context__, seen)


def test_no_error_or_log_line_carries_the_password_or_a_token(fake: FakeConnex, caplog):
    caplog.set_level(logging.DEBUG)

    def echo_secrets(request: httpx.Request) -> httpx.Response:
        bearer = request.headers.get("Authorization", "")
        problem = {
            "title": f"Rejected {bearer}",
            "detail": f"user {USERNAME} password {PASSWORD} token {bearer}",
            "errors": {f"Authorization {bearer}": [f"{PASSWORD} is wrong for {bearer}"]},
        }
        return httpx.Response(400, json=problem)

    def html_with_token(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, html=f"<html><title>Down {request.headers['Authorization']}</title></html>")

    def timeout_with_token(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout(f"timed out sending {request.headers['Authorization']} {PASSWORD}")

    errors: list[ConnexError] = []
    fake.on(PRODUCTS, echo_secrets)
    fake.on(routes.LIST_ORDERS.path, html_with_token)
    fake.on(routes.RUN_NOW.path, timeout_with_token)
    fake.on(routes.UPDATE_SETTINGS.path, httpx.Response(401))
    client = fake.client()
    for call in (
        client.list_products,
        lambda: client.list_orders({"beginDate": "01/01/2024", "endDate": "01/02/2024"}),
        lambda: client.run_now(951),
        lambda: client.update_settings(951, {"SolutionPassword": "channel-secret"}),
    ):
        with pytest.raises(ConnexError) as caught:
            call()
        errors.append(caught.value)

    # Login failures: the password echoed in a 400, and a 200 whose body holds a token but not as a token.
    for login_answer in (
        httpx.Response(400, json={"detail": f"wrong password {PASSWORD}"}),
        httpx.Response(200, json={"tokn": fake.issued_tokens[-1]}),
        httpx.Response(200, html=f"<html><title>{PASSWORD}</title></html>"),
    ):
        fake.on(routes.LOGIN.path, login_answer)
        with pytest.raises(ConnexError) as caught:
            fake.client().login()
        errors.append(caught.value)

    secrets = [PASSWORD, "channel-secret", *fake.issued_tokens]
    assert len(fake.issued_tokens) >= 2
    texts = [text for error in errors for text in _strings_in(error)]
    assert any("[redacted]" in text for text in texts)  # the echoes were there, and were scrubbed
    for secret in secrets:
        assert not any(secret in text for text in texts), secret
        assert secret not in caplog.text, secret
        for record in caplog.records:
            assert not any(secret in text for text in _strings_in(record.__dict__)), secret


# --- Log lines ---------------------------------------------------------------------------

LOG_LINE = re.compile(
    r"^connex call method=(?P<method>GET|POST) path=(?P<path>\S+) status=(?P<status>\d{3}|-)"
    r" ms=\d+\.\d attempt=(?P<attempt>\d+)( error=(?P<error>\w+))?$"
)


def test_one_structured_log_line_per_http_call(fake: FakeConnex, caplog):
    caplog.set_level(logging.INFO, logger="connexportal.connex")
    fake.on(
        PRODUCTS,
        httpx.Response(503),
        httpx.ReadTimeout("slow"),
        httpx.Response(200, text=samples.PRODUCTS_RESPONSE),
    )

    fake.client().list_products()

    records = [record for record in caplog.records if record.name == "connexportal.connex"]
    lines = [LOG_LINE.match(record.getMessage()) for record in records]
    assert all(lines), [record.getMessage() for record in records]
    assert [(m["method"], m["path"], m["status"], m["attempt"], m["error"]) for m in lines] == [
        ("POST", routes.LOGIN.path, "200", "1", None),
        ("POST", PRODUCTS, "503", "1", None),
        ("POST", PRODUCTS, "-", "2", "ReadTimeout"),
        ("POST", PRODUCTS, "200", "3", None),
    ]
    assert [record.levelname for record in records] == ["INFO", "WARNING", "WARNING", "INFO"]
    last = records[-1]
    assert (last.connex_method, last.connex_path, last.connex_status, last.connex_attempt) == (
        "POST",
        PRODUCTS,
        200,
        3,
    )
    assert isinstance(last.connex_ms, float) and last.connex_error is None
    assert re.fullmatch(r"[0-9a-f]{12}", last.connex_account)


# --- Rate limiting -----------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_rate_limiter_spaces_reservations_at_its_rate():
    clock = FakeClock()
    limiter = RateLimiter(4.0, clock=clock)

    assert [limiter.reserve() for _ in range(4)] == [0.0, 0.25, 0.5, 0.75]
    clock.now = 10.0
    assert limiter.reserve() == 0.0  # an idle period does not bank a burst beyond its size
    assert limiter.reserve() == 0.25


def test_rate_limiter_burst_lets_the_first_requests_through():
    limiter = RateLimiter(4.0, burst=3, clock=FakeClock())
    assert [limiter.reserve() for _ in range(5)] == [0.0, 0.0, 0.0, 0.25, 0.5]


def test_rate_limiter_is_thread_safe():
    limiter = RateLimiter(4.0, clock=FakeClock())
    waits: list[float] = []
    lock = threading.Lock()

    def reserve_many() -> None:
        mine = [limiter.reserve() for _ in range(50)]
        with lock:
            waits.extend(mine)

    threads = [threading.Thread(target=reserve_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(waits) == [slot * 0.25 for slot in range(400)]


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (4, 0)])
def test_rate_limiter_rejects_nonsense(rate, burst):
    with pytest.raises(ValueError):
        RateLimiter(rate, burst=burst)


def test_client_calls_are_spaced_by_the_rate_limit(fake: FakeConnex):
    clock = FakeClock()
    sent_at: list[float] = []

    def products(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.now)
        return httpx.Response(200, text=samples.PRODUCTS_RESPONSE)

    fake.on(PRODUCTS, products)
    client = fake.client(rate_limit=RateLimiter(4.0, clock=clock), sleep=clock.sleep)
    client.login()

    for _ in range(4):
        client.list_products()

    assert sent_at == [0.25, 0.5, 0.75, 1.0]  # the login took the slot at 0.0


def test_clients_of_one_account_share_one_bucket(fake: FakeConnex):
    sleeps: list[float] = []
    fake.on(PRODUCTS, httpx.Response(200, text=samples.PRODUCTS_RESPONSE))
    transport = httpx.MockTransport(fake)
    store = InMemoryTokenStore()
    first, second = (
        ConnexClient(fake.base_url, USERNAME, PASSWORD, transport=transport, token_store=store, sleep=sleeps.append)
        for _ in range(2)
    )

    first.list_products()  # login + call: the second request already waits its turn
    second.list_products()

    assert len(sleeps) == 2
    assert 0 < sleeps[0] <= 0.25 < sleeps[1] <= 0.5


def test_rate_limit_can_be_disabled(fake: FakeConnex):
    sleeps: list[float] = []
    fake.on(PRODUCTS, httpx.Response(200, text=samples.PRODUCTS_RESPONSE))
    client = fake.client(rate_limit=0, sleep=sleeps.append)
    for _ in range(5):
        client.list_products()
    assert sleeps == []


# --- No Django ---------------------------------------------------------------------------


def test_the_client_package_imports_nothing_from_django():
    code = (
        "import sys, connexportal.connex, connexportal.connex.client;"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'django');"
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
