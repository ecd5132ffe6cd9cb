"""ConnexClient: one method per Connex call, over the process's shared httpx pool.

How a call behaves (see also errors.py):

- Every call but login sends ``Authorization: Bearer <token>``. The token is logged
  in for once per account and kept in the token store; a 401 triggers one fresh
  login (one per account at a time, however many threads saw the 401) and one
  replay; a second 401 raises ConnexAuthError.
- Reads (routes.READ_ROUTES) are retried on connection errors, timeouts, 408,
  429, 5xx and HTML error pages, with capped exponential backoff and full jitter,
  or after ``Retry-After`` when Connex sends it. Writes are retried only when the
  request provably never left (connection refused, no pooled connection); a write
  that may have reached Connex is never repeated here. ``create_orders`` repairs a
  failed batch itself, after listing which of its orders landed.
- Each account's requests pass a token bucket (routes.REQUESTS_PER_SECOND by default).
- Every call is bounded by ``total_timeout`` seconds, retries and waits included.
- Each HTTP exchange logs one line on ``connexportal.connex``; no body, header,
  token or password is ever logged or put in an error.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html import unescape
from typing import Any, Final

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from . import routes
from .errors import ConnexAuthError, ConnexError, ConnexProtocolError, ConnexRejected, ConnexUnavailable
from .http import DEFAULT_TIMEOUT, new_client, shared_client
from .models import (
    CONNECTIONS_ADAPTER,
    NEW_ORDERS_ADAPTER,
    LoginRequest,
    LoginResponse,
    NewOrder,
    NewProduct,
    Order,
    OrderQuery,
    OrdersPage,
    ProblemDetails,
    Product,
    ProductQuery,
    ProductsPage,
    RunNowRequest,
    RunNowResponse,
    SettingValue,
    UpdateSettingsRequest,
    UpdateSettingsResponse,
    UserConnection,
)
from .ratelimit import ACCOUNT_LIMITERS, RateLimiter
from .results import CreateOrdersResult, OrderFailure
from .tokens import DEFAULT_TOKEN_STORE, LOGIN_FLIGHTS, PROCESS_KEY_SECRET, Token, TokenStore, account_key

log = logging.getLogger("connexportal.connex")


# 408 and 429 say the request was not served; 5xx may be transient.
_RETRYABLE_STATUSES: Final = frozenset({408, 429})
# Failures that happen before any byte of the request is written.
_UNSENT_FAILURES: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_REDACTED: Final = "[redacted]"
_TEXT_LIMIT: Final = 300
_HTML_TITLE: Final = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_INDEXED_FIELD: Final = re.compile(r"^\$?\[(\d+)\]\.?(.*)$")

# Base URLs whose LOGIN answered 404 and whose LOGIN_FALLBACK worked: later logins go straight there.
_FALLBACK_LOGIN_BASES: set[str] = set()


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    content: bytes
    attempts: int
    elapsed: float


class ConnexClient:
    """A typed client of one Connex account (base URL + username + password).

    Cheap to build: the HTTP pool, the token store, the login single-flight and
    the rate limit bucket are shared by every client of the same credentials in
    the process, so building one per request is fine. Thread-safe.

    ``key_secret`` keys the HMAC that binds cached tokens to the exact
    credentials (see ``tokens.account_key``); processes sharing a token store
    must share it.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        transport: httpx.BaseTransport | None = None,
        token_store: TokenStore | None = None,
        key_secret: bytes = PROCESS_KEY_SECRET,
        rate_limit: float | RateLimiter | None = routes.REQUESTS_PER_SECOND,
        rate_limit_burst: int = 1,
        total_timeout: float | None = 30.0,
        retry_after_cap: float = 20.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not username:
            raise ValueError("username is required")
        if not password:
            raise ValueError("password is required")
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.base_url = _normalize_base_url(base_url)
        self.username = username
        self._password = password
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._max_retries = max_retries
        self._total_timeout = total_timeout
        self._retry_after_cap = retry_after_cap
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._own_http = new_client(transport) if transport is not None else None
        self._store: TokenStore = token_store if token_store is not None else DEFAULT_TOKEN_STORE
        self.token_key = account_key(self.base_url, username, password, secret=key_secret)
        self._account = self.token_key.split(":")[3][:12]
        if isinstance(rate_limit, RateLimiter):
            self._limiter: RateLimiter | None = rate_limit
        elif rate_limit:
            self._limiter = ACCOUNT_LIMITERS.for_account(self.token_key, float(rate_limit), rate_limit_burst)
        else:
            self._limiter = None

    def __repr__(self) -> str:
        return f"ConnexClient(base_url={self.base_url!r}, username={self.username!r})"

    def close(self) -> None:
        """Close the client's own transport, if it was given one; the shared pool stays open."""
        if self._own_http is not None:
            self._own_http.close()

    def __enter__(self) -> ConnexClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- Calls ----------------------------------------------------------------------------

    def login(self) -> Token:
        """Log in now, even with a token cached, store the new token and return it."""
        with LOGIN_FLIGHTS.hold(self.token_key):
            token = self._login()
            self._store.set(self.token_key, token)
            return token

    def verify(self) -> None:
        """Prove the credentials: a usable token they obtained earlier, else a fresh login.

        Raises ConnexAuthError when Connex refuses them, ConnexUnavailable when it cannot tell.
        """
        self._token()

    def list_connections(self) -> list[UserConnection]:
        reply = self._call(routes.LIST_CONNECTIONS, None)
        return self._parse(routes.LIST_CONNECTIONS, reply, CONNECTIONS_ADAPTER.validate_json)

    def update_settings(self, user_connection_id: int, settings: Mapping[str, str]) -> UpdateSettingsResponse:
        """Change the named settings of a connection; Connex keeps every other setting as it is."""
        request = UpdateSettingsRequest(
            user_connection_id=user_connection_id,
            settings=[SettingValue(name=name, value=value) for name, value in settings.items()],
        )
        reply = self._call(routes.UPDATE_SETTINGS, _body(request))
        return self._parse(routes.UPDATE_SETTINGS, reply, UpdateSettingsResponse.model_validate_json)

    def run_now(self, user_connection_id: int, scheduled_task_id: int | None = None) -> RunNowResponse:
        """Ask Connex to run a connection's scheduled task (by default its orders task) as soon as it can."""
        request = RunNowRequest(user_connection_id=user_connection_id, scheduled_task_id=scheduled_task_id)
        reply = self._call(routes.RUN_NOW, _body(request))
        return self._parse(routes.RUN_NOW, reply, RunNowResponse.model_validate_json)

    def list_products(self, query: ProductQuery | Mapping[str, Any] | None = None) -> ProductsPage:
        query = _as_model(ProductQuery, query if query is not None else {})
        reply = self._call(routes.LIST_PRODUCTS, _body(query))
        return self._parse(routes.LIST_PRODUCTS, reply, ProductsPage.model_validate_json)

    def iter_products(self, query: ProductQuery | Mapping[str, Any] | None = None) -> Iterator[Product]:
        """Every product matching ``query``, from its page_number to the last page."""
        query = _as_model(ProductQuery, query if query is not None else {})
        for page in _pages(self.list_products, query, _products_of):
            yield from page.products

    def add_product(self, product: NewProduct | Mapping[str, Any]) -> None:
        """Add one product. Raises unless Connex answers its documented ``Added Successfully``."""
        product = _as_model(NewProduct, product)
        reply = self._call(routes.ADD_PRODUCT, _body(product))
        self._expect_text(routes.ADD_PRODUCT, reply, routes.ADD_PRODUCT_OK_TEXT)

    def list_orders(self, query: OrderQuery | Mapping[str, Any]) -> OrdersPage:
        query = _as_model(OrderQuery, query)
        reply = self._call(routes.LIST_ORDERS, _body(query))
        return self._parse(routes.LIST_ORDERS, reply, OrdersPage.model_validate_json)

    def iter_orders(self, query: OrderQuery | Mapping[str, Any]) -> Iterator[Order]:
        """Every order matching ``query``, from its page_number to the last page."""
        for page in _pages(self.list_orders, _as_model(OrderQuery, query), _orders_of):
            yield from page.orders

    def create_orders(
        self, orders: Iterable[NewOrder | Mapping[str, Any]], *, skip_existing: bool = False
    ) -> CreateOrdersResult:
        """Create orders in batches of routes.CREATE_ORDERS_MAX_BATCH; report each order number's fate.

        A batch that fails in a way that leaves its outcome unknown (timeout, 5xx, an
        answer that is not the documented one) is not resent blindly: the orders are
        looked up by order number first, and only those that did not land are sent,
        once. A rejected batch (4xx) is not resent. After Connex is found unreachable,
        the remaining batches are not attempted. With ``skip_existing``, each batch is
        looked up before sending and orders Connex already has are skipped.
        Order numbers must be unique within one call. Raises ConnexAuthError only.
        """
        pending = [_as_model(NewOrder, order) for order in orders]
        counts = Counter(order.order_number for order in pending)
        repeated = [number for number, count in counts.items() if count > 1]
        if repeated:
            raise ValueError(f"order numbers repeated in one create_orders call: {sorted(repeated)}")

        report = _OrdersReport()
        size = routes.CREATE_ORDERS_MAX_BATCH
        for start in range(0, len(pending), size):
            batch = pending[start : start + size]
            if report.unreachable is not None:
                report.fail(batch, f"not sent: Connex was unavailable earlier in this call ({report.unreachable})")
                continue
            self._create_batch(batch, report, skip_existing=skip_existing)
        result = report.result()
        log.info(
            "connex create_orders orders=%d created=%d already_existed=%d failed=%d",
            len(pending),
            len(result.created),
            len(result.already_existed),
            len(result.failed),
            extra={"connex_account": self._account},
        )
        return result

    # --- create_orders internals ----------------------------------------------------------

    def _create_batch(self, batch: list[NewOrder], report: _OrdersReport, *, skip_existing: bool) -> None:
        if skip_existing:
            landed, unverified = self._landed(batch)
            report.exist([order for order in batch if order.order_number in landed])
            for order in batch:
                lookup_error = unverified.get(order.order_number)
                if lookup_error is not None:
                    report.fail([order], f"not sent: could not check for a duplicate: {lookup_error.message}")
            if any(isinstance(error, ConnexUnavailable) for error in unverified.values()):
                report.unreachable = "the duplicate check failed"
            batch = [o for o in batch if o.order_number not in landed and o.order_number not in unverified]
            if not batch:
                return

        error = self._send_orders(batch)
        if error is None:
            report.create(batch)
            return
        if isinstance(error, ConnexRejected):
            report.reject(batch, error)
            return
        if isinstance(error, ConnexUnavailable) and not error.request_sent:
            report.fail(batch, f"not sent: {error.message}", error=error)
            report.unreachable = error.message
            return

        landed, unverified = self._landed(batch)
        report.exist([order for order in batch if order.order_number in landed])
        for order in batch:
            lookup_error = unverified.get(order.order_number)
            if lookup_error is not None:
                report.fail(
                    [order],
                    f"outcome unknown: {error.message}; and the lookup failed: {lookup_error.message}",
                    may_have_landed=True,
                    error=error,
                )
        if unverified and any(isinstance(e, ConnexUnavailable) for e in unverified.values()):
            report.unreachable = error.message
        missing = [o for o in batch if o.order_number not in landed and o.order_number not in unverified]
        if not missing:
            return
        retry_error = self._send_orders(missing)
        if retry_error is None:
            report.create(missing)
        elif isinstance(retry_error, ConnexRejected):
            report.reject(missing, retry_error)
        else:
            sent = not isinstance(retry_error, ConnexUnavailable) or retry_error.request_sent
            report.fail(
                missing,
                f"{'outcome unknown' if sent else 'not sent'} after resending: {retry_error.message}",
                may_have_landed=sent,
                error=retry_error,
            )
            if isinstance(retry_error, ConnexUnavailable):
                report.unreachable = retry_error.message

    def _send_orders(self, batch: list[NewOrder]) -> ConnexError | None:
        body = NEW_ORDERS_ADAPTER.dump_json(batch, by_alias=True, exclude_none=True)
        try:
            reply = self._call(routes.CREATE_ORDERS, body)
            self._expect_text(routes.CREATE_ORDERS, reply, routes.CREATE_ORDERS_OK_TEXT)
        except ConnexAuthError:
            raise
        except ConnexError as error:
            return error
        return None

    def _landed(self, batch: list[NewOrder]) -> tuple[set[str], dict[str, ConnexError]]:
        """Which of ``batch``'s order numbers Connex has, and which could not be checked (and why).

        Per connection, one listing of the batch's dates (a day either side, for time
        zones) is swept when it is no more pages than there are orders to check;
        otherwise each order number is searched for (searchText) on its own date.
        """
        landed: set[str] = set()
        unverified: dict[str, ConnexError] = {}
        by_connection: dict[int, list[NewOrder]] = defaultdict(list)
        for order in batch:
            by_connection[order.user_connection_id].append(order)
        for connection_id, orders in by_connection.items():
            wanted = {order.order_number for order in orders}
            days = [order.order_date.date() for order in orders]
            sweep = OrderQuery(
                begin_date=min(days) - timedelta(days=1),
                end_date=max(days) + timedelta(days=1),
                user_connection_id=connection_id,
                order_by="orderDate",
                direction="asc",
            )
            try:
                first = self.list_orders(sweep)
                if first.meta.total_number_of_pages <= len(wanted):
                    for page in _pages(self.list_orders, sweep, _orders_of, first=first):
                        landed.update(_matching(page.orders, wanted, connection_id))
                    continue
                for order in orders:
                    day = order.order_date.date()
                    search = OrderQuery(
                        begin_date=day - timedelta(days=1),
                        end_date=day + timedelta(days=1),
                        search_text=order.order_number,
                        user_connection_id=connection_id,
                    )
                    for page in _pages(self.list_orders, search, _orders_of):
                        if _matching(page.orders, {order.order_number}, connection_id):
                            landed.add(order.order_number)
                            break
            except ConnexAuthError:
                raise
            except ConnexError as error:
                unverified.update(dict.fromkeys(wanted - landed, error))
        return landed, unverified

    # --- Tokens ---------------------------------------------------------------------------

    def _token(self) -> str:
        token = self._store.get(self.token_key)
        if token is not None and token.is_usable():
            return token.value
        return self._renew_token(stale=token.value if token is not None else None)

    def _renew_token(self, *, stale: str | None) -> str:
        with LOGIN_FLIGHTS.hold(self.token_key):
            # Whoever held the lock before us may already have stored a fresh token.
            current = self._store.get(self.token_key)
            if current is not None and current.is_usable() and current.value != stale:
                return current.value
            token = self._login()
            self._store.set(self.token_key, token)
            return token.value

    def _login(self) -> Token:
        use_fallback = self.base_url in _FALLBACK_LOGIN_BASES
        outcome = self._post_login(fallback=use_fallback)
        if isinstance(outcome, ConnexRejected) and outcome.status == 404 and not use_fallback:
            outcome = self._post_login(fallback=True)
            if isinstance(outcome, _Reply):
                _FALLBACK_LOGIN_BASES.add(self.base_url)
        if isinstance(outcome, ConnexRejected):
            if outcome.status in (400, 403):
                raise ConnexAuthError(
                    f"Connex refused the login: {outcome.message}",
                    method=outcome.method,
                    path=outcome.path,
                    status=outcome.status,
                    elapsed=outcome.elapsed,
                    attempts=outcome.attempts,
                )
            raise outcome
        route = routes.LOGIN_FALLBACK if self.base_url in _FALLBACK_LOGIN_BASES else routes.LOGIN
        try:
            answer = LoginResponse.model_validate_json(outcome.content)
        except ValidationError as exc:
            problems = _describe(exc)
        else:
            return Token(value=answer.token.get_secret_value(), expires_at=answer.expires_at(datetime.now(UTC)))
        # Names fields only, never the body: it may hold the token.
        raise ConnexProtocolError(
            f"Connex's login answer holds no usable token: {problems}",
            method=route.method,
            path=route.path,
            status=outcome.status,
            elapsed=outcome.elapsed,
            attempts=outcome.attempts,
        )

    def _post_login(self, *, fallback: bool) -> _Reply | ConnexRejected:
        route = routes.LOGIN_FALLBACK if fallback else routes.LOGIN
        request = LoginRequest(username=self.username, password=SecretStr(self._password))
        try:
            return self._call(route, json.dumps(request.body(pascal_case=fallback)).encode(), authenticated=False)
        except ConnexRejected as rejected:
            return rejected

    # --- One call: throttling, attempts, retries, classification ----------------------------

    def _call(self, route: routes.Route, body: bytes | None, *, authenticated: bool = True) -> _Reply:
        started = time.monotonic()
        deadline = started + self._total_timeout if self._total_timeout is not None else None
        repeatable = route in routes.READ_ROUTES
        url = f"{self.base_url}/{route.path}"
        attempt = retries = 0
        relogged_in = sent_any = False
        # Kept here as well as in the store, so the replay never depends on the store keeping it.
        renewed_token: str | None = None

        def context(status: int | None) -> dict[str, Any]:
            return {
                "method": route.method,
                "path": route.path,
                "status": status,
                "elapsed": round(time.monotonic() - started, 3),
                "attempts": attempt,
            }

        while True:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            token = None
            if authenticated:
                token = renewed_token or self._token()
                headers[routes.AUTH_HEADER] = f"{routes.AUTH_SCHEME} {token}"
            if self._limiter is not None and not self._wait(self._limiter.reserve(), deadline):
                raise ConnexUnavailable(
                    "the client-side rate limit queue is longer than the call's time budget",
                    request_sent=sent_any,
                    **context(None),
                )
            timeout = self._attempt_timeout(deadline)
            if timeout is None:
                raise ConnexUnavailable(
                    f"the call's time budget of {self._total_timeout}s is spent", request_sent=sent_any, **context(None)
                )
            attempt += 1
            failure: httpx.RequestError | None = None
            response: httpx.Response | None = None
            sent_at = time.monotonic()
            try:
                response = self._http.request(route.method, url, content=body, headers=headers, timeout=timeout)
            except httpx.RequestError as exc:
                failure = exc
            ms = (time.monotonic() - sent_at) * 1000

            if failure is not None:
                unsent = isinstance(failure, _UNSENT_FAILURES)
                sent_any = sent_any or not unsent
                self._log(route, None, ms, attempt, error=type(failure).__name__)
                if (
                    (repeatable or unsent)
                    and retries < self._max_retries
                    and self._wait(self._backoff(retries), deadline)
                ):
                    retries += 1
                    continue
                reason = _scrub(f"{type(failure).__name__}: {failure}", self._password, token)
                raise ConnexUnavailable(
                    f"Connex could not be reached ({reason})", request_sent=sent_any, **context(None)
                )

            assert response is not None
            sent_any = True
            status = response.status_code
            self._log(route, status, ms, attempt)

            if status == 401:
                if authenticated and not relogged_in:
                    relogged_in = True
                    renewed_token = self._renew_token(stale=token)
                    continue
                html = _is_html(response)
                message = (
                    "Connex still answered 401 after a fresh login"
                    if authenticated
                    else "Connex refused the credentials"
                )
                if response.content.strip():
                    upstream = self._rejected(response, html, secrets=(self._password, token), context={})
                    message = f"{message}: {upstream.message}"
                raise ConnexAuthError(message, **context(status))

            html = _is_html(response)
            if status >= 500 or status in _RETRYABLE_STATUSES or (html and status < 300):
                retry_after = _retry_after(response.headers.get("Retry-After"))
                if repeatable and retries < self._max_retries:
                    delay = min(retry_after, self._retry_after_cap) if retry_after is not None else None
                    if self._wait(delay if delay is not None else self._backoff(retries), deadline):
                        retries += 1
                        continue
                page = f": it answered an HTML page ({_html_title(response.content)})" if html else ""
                raise ConnexUnavailable(
                    _scrub(f"Connex is unavailable{page}", self._password, token),
                    retry_after=retry_after,
                    **context(status),
                )
            if status >= 400:
                raise self._rejected(response, html, secrets=(self._password, token), context=context(status))
            if status >= 300:
                raise ConnexProtocolError(
                    f"Connex answered a redirect (HTTP {status}); check the base URL", **context(status)
                )
            return _Reply(
                status=status,
                content=response.content,
                attempts=attempt,
                elapsed=round(time.monotonic() - started, 3),
            )

    @property
    def _http(self) -> httpx.Client:
        return self._own_http if self._own_http is not None else shared_client()

    def _attempt_timeout(self, deadline: float | None) -> httpx.Timeout | None:
        if deadline is None:
            return self._timeout
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None

        def capped(value: float | None) -> float:
            return remaining if value is None else min(value, remaining)

        timeout = self._timeout
        return httpx.Timeout(
            connect=capped(timeout.connect),
            read=capped(timeout.read),
            write=capped(timeout.write),
            pool=capped(timeout.pool),
        )

    def _backoff(self, retries_done: int) -> float:
        # Full jitter: spreads the retries of many clients hit by the same outage.
        return random.uniform(0, min(self._backoff_cap, self._backoff_base * 2**retries_done))

    def _wait(self, seconds: float, deadline: float | None) -> bool:
        """Sleep ``seconds`` unless that would overrun the call's budget (then return False)."""
        if deadline is not None and time.monotonic() + seconds > deadline:
            return False
        if seconds > 0:
            self._sleep(seconds)
        return True

    def _log(self, route: routes.Route, status: int | None, ms: float, attempt: int, *, error: str = "") -> None:
        level = logging.INFO if status is not None and (status < 400 or status == 401) else logging.WARNING
        if not log.isEnabledFor(level):
            return
        message = "connex call method=%s path=%s status=%s ms=%.1f attempt=%d"
        args: tuple[Any, ...] = (route.method, route.path, status if status is not None else "-", ms, attempt)
        if error:
            message += " error=%s"
            args += (error,)
        log.log(
            level,
            message,
            *args,
            extra={
                "connex_method": route.method,
                "connex_path": route.path,
                "connex_status": status,
                "connex_ms": round(ms, 1),
                "connex_attempt": attempt,
                "connex_error": error or None,
                "connex_account": self._account,
            },
        )

    # --- Answers --------------------------------------------------------------------------

    def _rejected(
        self, response: httpx.Response, html: bool, *, secrets: tuple[str | None, ...], context: dict[str, Any]
    ) -> ConnexRejected:
        status = response.status_code
        problem = None if html else _problem(response.content)
        field_errors: dict[str, list[str]] = {}
        if html:
            message = f"HTTP {status}: {_html_title(response.content)}"
        elif problem is not None:
            field_errors = {
                _scrub(name, *secrets): [_scrub(text, *secrets) for text in texts]
                for name, texts in (problem.errors or {}).items()
            }
            message = problem.detail or problem.message or problem.title or ""
            if field_errors and not problem.detail:
                message = "; ".join(
                    [message, *(f"{name}: {' '.join(texts)}" for name, texts in list(field_errors.items())[:3])]
                ).strip("; ")
        else:
            message = _plain_text(response.content)
        message = _scrub(message or f"HTTP {status} {response.reason_phrase}".strip(), *secrets)
        return ConnexRejected(
            message,
            title=_scrub(problem.title, *secrets) if problem is not None and problem.title else None,
            detail=_scrub(problem.detail, *secrets) if problem is not None and problem.detail else None,
            field_errors=field_errors,
            **context,
        )

    def _parse[T](self, route: routes.Route, reply: _Reply, parse: Callable[[bytes], T]) -> T:
        try:
            return parse(reply.content)
        except ValidationError as exc:
            problems = _describe(exc)
        raise ConnexProtocolError(
            f"Connex's answer to {route.path} is not the expected shape: {problems}",
            method=route.method,
            path=route.path,
            status=reply.status,
            elapsed=reply.elapsed,
            attempts=reply.attempts,
        )

    def _expect_text(self, route: routes.Route, reply: _Reply, expected: str) -> None:
        if _means(reply.content, expected):
            return
        raise ConnexProtocolError(
            f"Connex's answer to {route.path} is not the documented {expected.strip('{} ')!r}",
            method=route.method,
            path=route.path,
            status=reply.status,
            elapsed=reply.elapsed,
            attempts=reply.attempts,
        )


# --- create_orders bookkeeping ---------------------------------------------------------------


class _OrdersReport:
    def __init__(self) -> None:
        self.created: list[str] = []
        self.already_existed: list[str] = []
        self.failed: list[OrderFailure] = []
        self.unreachable: str | None = None

    def create(self, orders: list[NewOrder]) -> None:
        self.created.extend(order.order_number for order in orders)

    def exist(self, orders: list[NewOrder]) -> None:
        self.already_existed.extend(order.order_number for order in orders)

    def fail(
        self, orders: list[NewOrder], reason: str, *, may_have_landed: bool = False, error: ConnexError | None = None
    ) -> None:
        self.failed.extend(
            OrderFailure(order.order_number, reason, may_have_landed=may_have_landed, error=error) for order in orders
        )

    def reject(self, sent: list[NewOrder], error: ConnexRejected) -> None:
        # ASP.NET names a body element's field as "[3].OrderNumber": index 3 of what was sent.
        per_order: dict[int, dict[str, list[str]]] = defaultdict(dict)
        general: dict[str, list[str]] = {}
        for name, texts in error.field_errors.items():
            match = _INDEXED_FIELD.match(name)
            if match and int(match.group(1)) < len(sent):
                per_order[int(match.group(1))][match.group(2) or name] = texts
            else:
                general[name] = texts
        for index, order in enumerate(sent):
            own = per_order.get(index, {})
            reason = "; ".join(f"{name}: {' '.join(texts)}" for name, texts in own.items()) or error.message
            self.failed.append(OrderFailure(order.order_number, reason, field_errors={**general, **own}, error=error))

    def result(self) -> CreateOrdersResult:
        return CreateOrdersResult(tuple(self.created), tuple(self.already_existed), tuple(self.failed))


# --- Helpers ---------------------------------------------------------------------------------


def _normalize_base_url(base_url: str) -> str:
    url = httpx.URL(base_url.strip())
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("base_url must be an absolute http(s) URL")
    if url.query or url.fragment or url.userinfo:
        raise ValueError("base_url must not have credentials, a query or a fragment")
    return str(url.copy_with(path=url.path.rstrip("/"))).rstrip("/")


def _as_model[M: BaseModel](model: type[M], value: Any) -> M:
    return value if isinstance(value, model) else model.model_validate(value)


def _body(request: Any) -> bytes:
    return request.model_dump_json(by_alias=True, exclude_none=True).encode()


def _pages[Q: (ProductQuery, OrderQuery), P: (ProductsPage, OrdersPage)](
    fetch: Callable[[Q], P], query: Q, rows_of: Callable[[P], list[Any]], *, first: P | None = None
) -> Iterator[P]:
    """``query``'s page and the ones after it; ``first``, when given, is that page already fetched."""
    page_number = query.page_number
    page = first if first is not None else fetch(query)
    while True:
        yield page
        rows = len(rows_of(page))
        total_pages = page.meta.total_number_of_pages
        # Without a page count, a short page is the last one.
        last = page_number >= total_pages if total_pages else rows < query.page_size
        if rows == 0 or last:
            return
        page_number += 1
        page = fetch(query.model_copy(update={"page_number": page_number}))


def _products_of(page: ProductsPage) -> list[Product]:
    return page.products


def _orders_of(page: OrdersPage) -> list[Order]:
    return page.orders


def _matching(orders: list[Order], wanted: set[str], connection_id: int) -> set[str]:
    return {
        order.order_number
        for order in orders
        if order.order_number in wanted and order.user_connection_id in (None, 0, connection_id)
    }


def _scrub(text: str, *secrets: str | None) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    return text


def _is_html(response: httpx.Response) -> bool:
    if "html" in response.headers.get("Content-Type", "").lower():
        return True
    head = response.content[:256].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _html_title(content: bytes) -> str:
    match = _HTML_TITLE.search(content[:4096])
    if not match:
        return "no title"
    title = " ".join(unescape(match.group(1).decode("utf-8", "replace")).split())
    return title[:_TEXT_LIMIT] or "no title"


def _plain_text(content: bytes) -> str:
    text = content.decode("utf-8", "replace").strip()
    if text.startswith('"'):
        try:
            decoded = json.loads(text)
        except ValueError:
            decoded = None
        if isinstance(decoded, str):
            text = decoded
    text = " ".join(text.split())
    return text[:_TEXT_LIMIT] + ("..." if len(text) > _TEXT_LIMIT else "")


def _problem(content: bytes) -> ProblemDetails | None:
    if not content.lstrip().startswith(b"{"):
        return None
    try:
        problem = ProblemDetails.model_validate_json(content)
    except ValidationError:
        return None
    if not (problem.title or problem.detail or problem.message or problem.errors):
        return None
    return problem


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def _means(content: bytes, expected: str) -> bool:
    """Whether a 2xx body says ``expected`` (ignoring case, spaces, quotes and braces), or nothing."""

    def squeeze(text: str) -> str:
        return "".join(char for char in text.lower() if char.isalnum())

    text = content.decode("utf-8", "replace")
    return not text.strip() or squeeze(text) == squeeze(expected)


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False)[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "body"
        problems.append(f"{where}: {error['msg']}")
    more = exc.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")
