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
  that may have reached Connex is never repeated here. ``create_orders`` settles a
  failed batch itself: it resends only orders that repeated lookups, after a settle
  period, agree are absent, and reports every order's fate.
- Each account's requests pass a token bucket (routes.REQUESTS_PER_SECOND by default).
- Every call is bounded by ``total_timeout`` seconds, retries and waits included.
- Each HTTP exchange logs one line on ``connexportal.connex``; no body, header,
  token or password is ever logged or put in an error.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html import unescape
from typing import Any, Final

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from . import routes
from .errors import (
    ConnexAuthError,
    ConnexError,
    ConnexProtocolError,
    ConnexRejected,
    ConnexThrottled,
    ConnexUnavailable,
)
from .flights import PARSED_ANSWERS, READ_FLIGHTS, ParsedAnswers, ReadFlights
from .http import DEFAULT_TIMEOUT, new_client, shared_client
from .keys import order_key
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
from .ratelimit import ACCOUNT_LIMITERS, Throttle, Throttles
from .results import CreateOrdersResult, Fate, OrderOutcome
from .tokens import (
    DEFAULT_TOKEN_STORE,
    LOGIN_FLIGHTS,
    PROCESS_KEY_SECRET,
    LoginLocks,
    Token,
    TokenStore,
    account_key,
)

log = logging.getLogger("connexportal.connex")


# 408 and 429 say the request was not served; 5xx may be transient.
_RETRYABLE_STATUSES: Final = frozenset({408, 429})
# Failures that happen before any byte of the request is written.
_UNSENT_FAILURES: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_REDACTED: Final = "[redacted]"
_TEXT_LIMIT: Final = 300
_HTML_TITLE: Final = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_INDEXED_FIELD: Final = re.compile(r"^\$?\[(\d+)\]\.?(.*)$")
# A listing without objMetaData is read to its first short page, but never further than this.
_MAX_UNCOUNTED_PAGES: Final = 1000

# Defaults of create_orders' repair of a batch whose answer was lost (see its docstring).
DEFAULT_SETTLE_SECONDS: Final = 5.0
DEFAULT_CONFIRMATIONS: Final = 2
DEFAULT_LOOKUP_INTERVAL: Final = 1.0

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
    must share it. ``sleep`` and ``clock`` (monotonic seconds) are what the client
    waits and times with; a test passes a fake pair in which sleeping moves the clock.

    ``rate_limiters`` and ``login_locks`` say where each account's throttle and login lock
    live: in this process by default, in Redis for processes that must share them
    (shared.py). Identical reads of the account in flight at once share one call through
    ``read_flights`` (flights.py; None: every read sends its own); an answer identical byte for
    byte to one parsed lately is not parsed again (``parsed_answers``; None: each is parsed).
    A call whose throttle wait would exceed ``max_throttle_wait`` seconds (or the call's time
    budget) raises ConnexThrottled at once, without sending anything.
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
        rate_limit: float | Throttle | None = routes.REQUESTS_PER_SECOND,
        rate_limit_burst: int = 1,
        rate_limiters: Throttles = ACCOUNT_LIMITERS,
        login_locks: LoginLocks = LOGIN_FLIGHTS,
        read_flights: ReadFlights | None = READ_FLIGHTS,
        parsed_answers: ParsedAnswers | None = PARSED_ANSWERS,
        max_throttle_wait: float | None = None,
        total_timeout: float | None = 30.0,
        retry_after_cap: float = 20.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not username:
            raise ValueError("username is required")
        if not password:
            raise ValueError("password is required")
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if max_throttle_wait is not None and max_throttle_wait < 0:
            raise ValueError("max_throttle_wait must be 0 or more")
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
        self._clock = clock
        self._own_http = new_client(transport) if transport is not None else None
        self._store: TokenStore = token_store if token_store is not None else DEFAULT_TOKEN_STORE
        self.token_key = account_key(self.base_url, username, password, secret=key_secret)
        self._account = self.token_key.split(":")[3][:12]
        self._login_locks = login_locks
        self._read_flights = read_flights
        self._parsed_answers = parsed_answers
        self._max_throttle_wait = max_throttle_wait
        if isinstance(rate_limit, Throttle):
            self._limiter: Throttle | None = rate_limit
        elif rate_limit:
            self._limiter = rate_limiters.for_account(self.token_key, float(rate_limit), rate_limit_burst)
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
        with self._login_locks.hold(self.token_key):
            token = self._login()
            self._store.set(self.token_key, token)
            return token

    def verify(self) -> None:
        """Prove the credentials: a usable token they obtained earlier, else a fresh login.

        Raises ConnexAuthError when Connex refuses them, ConnexUnavailable when it cannot tell.
        """
        self._token()

    def list_connections(self) -> list[UserConnection]:
        # A list of its own: the models in it may be shared with concurrent readers (frozen), the list not.
        return list(self._read(routes.LIST_CONNECTIONS, None, CONNECTIONS_ADAPTER.validate_json))

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
        return self._read(routes.LIST_PRODUCTS, _body(query), ProductsPage.model_validate_json)

    def iter_products(self, query: ProductQuery | Mapping[str, Any] | None = None) -> Iterator[Product]:
        """Every product matching ``query``, from its page_number to the last page."""
        query = _as_model(ProductQuery, query if query is not None else {})
        for page in _pages(routes.LIST_PRODUCTS, self.list_products, query):
            yield from page.products

    def add_product(self, product: NewProduct | Mapping[str, Any]) -> None:
        """Add one product. Raises unless Connex answers its documented ``Added Successfully``."""
        product = _as_model(NewProduct, product)
        reply = self._call(routes.ADD_PRODUCT, _body(product))
        self._expect_text(routes.ADD_PRODUCT, reply, routes.ADD_PRODUCT_OK_TEXT)

    def list_orders(self, query: OrderQuery | Mapping[str, Any]) -> OrdersPage:
        query = _as_model(OrderQuery, query)
        return self._read(routes.LIST_ORDERS, _body(query), OrdersPage.model_validate_json)

    def iter_orders(self, query: OrderQuery | Mapping[str, Any]) -> Iterator[Order]:
        """Every order matching ``query``, from its page_number to the last page."""
        for page in _pages(routes.LIST_ORDERS, self.list_orders, _as_model(OrderQuery, query)):
            yield from page.orders

    def create_orders(
        self,
        orders: Iterable[NewOrder | Mapping[str, Any]],
        *,
        skip_existing: bool = False,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
        confirmations: int = DEFAULT_CONFIRMATIONS,
        lookup_interval: float = DEFAULT_LOOKUP_INTERVAL,
    ) -> CreateOrdersResult:
        """Create orders in batches of routes.CREATE_ORDERS_MAX_BATCH, each at most once; report every fate.

        A batch whose answer leaves its outcome unknown (timeout, 5xx, an HTML page, an
        empty or unknown 2xx) is never resent blindly: its orders are looked up at once,
        then again once ``settle_seconds`` have passed since the failure (a batch can
        land seconds after its answer was lost), every ``lookup_interval`` seconds,
        until ``confirmations`` lookups after the settle period agree that they are
        absent. Only then are the absent ones sent again, once. Orders found are
        ``already_existed``, except with ``skip_existing``: each batch was checked
        absent just before it was sent, so what a lookup finds after the failed answer
        landed from this call and is ``created``. Orders whose fate the lookups cannot settle are failed
        with "outcome unknown: not resent" and ``safe_to_retry=False``. The other
        batches are sent meanwhile. A 4xx is a finished answer, but Connex may have
        stored part of the batch before refusing it, so the batch is looked up once
        (unless the status is one that routes.CREATE_ORDERS_REFUSED_UNREAD says comes
        before any order is read). After a batch provably never left (Connex
        unreachable), later batches are not sent. With ``skip_existing``, each batch
        is looked up first and orders Connex already has are not sent.

        Order numbers are compared by keys.order_key and must be unique within one call
        (ValueError). Returns every order's outcome in input order (results.py). Any
        exception raised part-way (ConnexAuthError, a stop such as KeyboardInterrupt)
        carries the fates so far as ``exc.partial_result``.
        """
        if settle_seconds < 0 or lookup_interval < 0:
            raise ValueError("settle_seconds and lookup_interval must be 0 or more")
        if confirmations < 1:
            raise ValueError("confirmations must be 1 or more")
        pending = [_as_model(NewOrder, order) for order in orders]
        counts = Counter(order_key(order.order_number) for order in pending)
        repeated = sorted(order.order_number for order in pending if counts[order_key(order.order_number)] > 1)
        if repeated:
            raise ValueError(f"order numbers repeated in one create_orders call: {repeated}")

        report = _OrdersReport(pending)
        plan = _RepairPlan(settle_seconds, confirmations, lookup_interval, skip_existing)
        try:
            self._create_all(pending, report, plan)
        except BaseException as exc:
            partial = report.result(stopped_by=exc)
            # Built-in exceptions take attributes too; the caller reads getattr(exc, "partial_result", None).
            exc.partial_result = partial  # type: ignore[attr-defined]
            self._log_orders(partial, stopped_by=exc)
            raise
        result = report.result()
        self._log_orders(result)
        return result

    # --- create_orders internals ----------------------------------------------------------

    def _create_all(self, pending: list[NewOrder], report: _OrdersReport, plan: _RepairPlan) -> None:
        size = routes.CREATE_ORDERS_MAX_BATCH
        unsent = deque(pending[start : start + size] for start in range(0, len(pending), size))
        unsettled: list[_Unsettled] = []
        while unsent or unsettled:
            now = self._clock()
            due = min(unsettled, key=lambda batch: batch.due, default=None)
            if due is not None and due.due <= now:
                unsettled.remove(due)
                self._follow_up(due, report, plan, unsettled)
            elif unsent:
                batch = unsent.popleft()
                if report.unreachable is not None:
                    reason = f"not sent: Connex was unreachable earlier in this call ({report.unreachable})"
                    report.fail(batch, reason, safe=True)
                    continue
                if plan.skip_existing:
                    batch = self._without_existing(batch, report)
                if batch:
                    self._send_batch(batch, report, unsettled, resendable=True)
            else:
                assert due is not None
                self._sleep(due.due - now)

    def _without_existing(self, batch: list[NewOrder], report: _OrdersReport) -> list[NewOrder]:
        try:
            found = self._lookup(batch)
        except ConnexAuthError:
            raise
        except ConnexError as error:
            reason = f"not sent: could not check for duplicates first: {error.message}"
            report.fail(batch, reason, safe=True, error=error)
            if isinstance(error, ConnexUnavailable) and not error.request_sent:
                report.unreachable = error.message
            return []
        report.exist([order for order in batch if order_key(order.order_number) in found])
        return [order for order in batch if order_key(order.order_number) not in found]

    def _send_batch(
        self, batch: list[NewOrder], report: _OrdersReport, unsettled: list[_Unsettled], *, resendable: bool
    ) -> None:
        report.sending(batch)
        try:
            error = self._send_orders(batch)
        except ConnexAuthError:
            # Refused at the door (401 even after a fresh login, or no login): nothing was read.
            report.not_sending(batch)
            raise
        if error is None:
            report.create(batch)
            return
        if isinstance(error, ConnexUnavailable) and not error.request_sent:
            report.fail(batch, f"not sent: {error.message}", safe=True, error=error)
            report.unreachable = error.message
            return
        if isinstance(error, ConnexRejected) and error.status in routes.CREATE_ORDERS_REFUSED_UNREAD:
            report.reject(batch, batch, error)
            return
        now = self._clock()
        unsettled.append(_Unsettled(batch, list(batch), error, failed_at=now, due=now, resendable=resendable))

    def _follow_up(
        self, batch: _Unsettled, report: _OrdersReport, plan: _RepairPlan, unsettled: list[_Unsettled]
    ) -> None:
        """One lookup of an unsettled batch; then it is settled, resent, or looked up again later."""
        started = self._clock()
        try:
            found = self._lookup(batch.open)
        except ConnexAuthError:
            raise
        except ConnexError as lookup_error:
            batch.failed_lookups += 1
            if batch.failed_lookups > plan.confirmations:
                report.fail(
                    batch.open,
                    f"outcome unknown: not resent: {batch.describe()}, and Connex could not be asked whether "
                    f"it landed ({lookup_error.message})",
                    safe=False,
                    error=batch.error,
                )
                return
            batch.due = self._clock() + plan.lookup_interval
            unsettled.append(batch)
            return
        landed = [order for order in batch.open if order_key(order.order_number) in found]
        if plan.skip_existing:
            # Checked absent just before this call sent them: found now, they are this call's.
            report.create(landed, reason=f"landed although {batch.describe()}")
        else:
            report.exist(landed)
        batch.open = [order for order in batch.open if order_key(order.order_number) not in found]
        if not batch.open:
            return
        if isinstance(batch.error, ConnexRejected):
            # A finished answer: what is not there now was refused, not delayed.
            report.reject(batch.sent, batch.open, batch.error)
            return
        settles_at = batch.failed_at + plan.settle_seconds
        # Only a lookup that began after the settle period can vouch for an absence.
        if started >= settles_at:
            batch.agreeing += 1
        if batch.agreeing < plan.confirmations:
            batch.due = max(self._clock() + plan.lookup_interval, settles_at)
            unsettled.append(batch)
            return
        if batch.resendable:
            self._send_batch(batch.open, report, unsettled, resendable=False)
            return
        report.fail(
            batch.open,
            f"not created: {batch.describe()}; Connex confirmed it absent after {plan.settle_seconds:g}s",
            safe=True,
            error=batch.error,
        )

    def _lookup(self, orders: list[NewOrder]) -> set[str]:
        """The keys (keys.order_key) of those of ``orders`` that Connex lists; raises ConnexError when it cannot tell.

        Per connection (routes.ORDERS_LOOKUP): one sweep of the orders' days, a margin
        either side, when that is at most as many pages as there are orders to find;
        otherwise one search per order number on its own days. The listing must be whole
        (rows adding up to objMetaData.totalRows, no page served twice): an incomplete
        one raises ConnexProtocolError, so it can never pass for an absence.
        """
        found: set[str] = set()
        margin = timedelta(days=routes.ORDERS_LOOKUP_MARGIN_DAYS)
        by_connection: dict[int, list[NewOrder]] = defaultdict(list)
        for order in orders:
            by_connection[order.user_connection_id].append(order)
        for connection_id, group in by_connection.items():
            wanted = {order_key(order.order_number) for order in group}
            days = [order.order_date.date() for order in group]
            sweep = OrderQuery(
                begin_date=min(days) - margin,
                end_date=max(days) + margin,
                user_connection_id=connection_id,
                order_by="orderDate",
                direction="asc",
            )
            first = self.list_orders(sweep)
            if first.meta.total_number_of_pages <= len(wanted):
                for page in _pages(routes.LIST_ORDERS, self.list_orders, sweep, first=first, exact=True):
                    found |= _matching(page.orders, wanted, connection_id)
                continue
            for order in group:
                key = order_key(order.order_number)
                day = order.order_date.date()
                search = OrderQuery(
                    begin_date=day - margin,
                    end_date=day + margin,
                    search_text=order.order_number.strip(),
                    user_connection_id=connection_id,
                )
                for page in _pages(routes.LIST_ORDERS, self.list_orders, search, exact=True):
                    if _matching(page.orders, {key}, connection_id):
                        found.add(key)
                        break
        return found

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

    def _log_orders(self, result: CreateOrdersResult, *, stopped_by: BaseException | None = None) -> None:
        log.log(
            logging.WARNING if stopped_by is not None else logging.INFO,
            "connex create_orders orders=%d created=%d already_existed=%d failed=%d%s",
            len(result.outcomes),
            len(result.created),
            len(result.already_existed),
            len(result.failed),
            f" stopped_by={type(stopped_by).__name__}" if stopped_by is not None else "",
            extra={"connex_account": self._account},
        )

    # --- Tokens ---------------------------------------------------------------------------

    def _token(self) -> str:
        token = self._store.get(self.token_key)
        if token is not None and token.is_usable():
            return token.value
        return self._renew_token(stale=token.value if token is not None else None)

    def _renew_token(self, *, stale: str | None) -> str:
        with self._login_locks.hold(self.token_key):
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
            answer = _login_answer(outcome.content)
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

    def _read[T](self, route: routes.Route, body: bytes | None, parse: Callable[[bytes], T]) -> T:
        """A list call's parsed answer, shared with identical reads of the account in flight (flights.py).

        The answer is parsed once, by the caller that sent the call: the models are frozen.
        """

        answers = self._parsed_answers
        if answers is not None:
            parse = functools.partial(answers.parse, parse)

        def call() -> T:
            return self._parse(route, self._send(route, body), parse)

        if self._read_flights is None:
            return call()
        answer, shared = self._read_flights.share(self.token_key, (route.method, route.path, body), call)
        if shared:
            log.debug("connex read shared method=%s path=%s", route.method, route.path)
        return answer

    def _call(self, route: routes.Route, body: bytes | None, *, authenticated: bool = True) -> _Reply:
        if not authenticated or self._read_flights is None:
            return self._send(route, body, authenticated=authenticated)
        try:
            return self._send(route, body)
        finally:
            # Every authenticated call here is a write: it starts a new generation of the account's reads.
            self._read_flights.wrote(self.token_key)

    def _send(self, route: routes.Route, body: bytes | None, *, authenticated: bool = True) -> _Reply:
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
            if self._limiter is not None:
                self._throttle(deadline, sent_any, context)
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

    def _throttle(
        self, deadline: float | None, sent_any: bool, context: Callable[[int | None], dict[str, Any]]
    ) -> None:
        """Wait for the account's next slot, or raise ConnexThrottled when that is further off than allowed."""
        assert self._limiter is not None
        budget = max(0.0, deadline - time.monotonic()) if deadline is not None else None
        max_wait = min((bound for bound in (self._max_throttle_wait, budget) if bound is not None), default=None)
        wait = self._limiter.reserve(max_wait)
        if wait is None:
            raise ConnexThrottled(
                f"the account's request rate is taken for more than {max_wait:.1f}s ahead; nothing was sent",
                retry_after=max_wait,
                request_sent=sent_any,
                **context(None),
            )
        if wait > 0:
            self._sleep(wait)

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


@dataclass(frozen=True, slots=True)
class _RepairPlan:
    settle_seconds: float
    confirmations: int
    lookup_interval: float
    skip_existing: bool


@dataclass(slots=True)
class _Unsettled:
    """A sent batch whose answer did not settle the fate of ``open``, the orders still unaccounted for."""

    sent: list[NewOrder]
    open: list[NewOrder]
    error: ConnexError
    failed_at: float
    due: float
    resendable: bool
    agreeing: int = 0
    failed_lookups: int = 0

    def describe(self) -> str:
        if isinstance(self.error, ConnexRejected):
            return f"Connex refused the batch ({self.error.message})"
        again = "" if self.resendable else " sent again"
        return f"the batch{again} failed ({self.error.message})"


class _OrdersReport:
    """Each order's fate as it is decided, keyed by keys.order_key; and which orders were sent."""

    def __init__(self, orders: list[NewOrder]) -> None:
        self._orders = orders
        self._fates: dict[str, OrderOutcome] = {}
        self._sent: set[str] = set()
        self.unreachable: str | None = None

    def sending(self, orders: list[NewOrder]) -> None:
        self._sent.update(order_key(order.order_number) for order in orders)

    def not_sending(self, orders: list[NewOrder]) -> None:
        self._sent.difference_update(order_key(order.order_number) for order in orders)

    def create(self, orders: list[NewOrder], *, reason: str = "") -> None:
        for order in orders:
            self._decide(OrderOutcome(order.order_number, Fate.CREATED, reason))

    def exist(self, orders: list[NewOrder]) -> None:
        for order in orders:
            self._decide(OrderOutcome(order.order_number, Fate.ALREADY_EXISTED))

    def fail(self, orders: list[NewOrder], reason: str, *, safe: bool, error: ConnexError | None = None) -> None:
        for order in orders:
            self._decide(OrderOutcome(order.order_number, Fate.FAILED, reason, safe_to_retry=safe, error=error))

    def reject(self, sent: list[NewOrder], refused: list[NewOrder], error: ConnexRejected) -> None:
        """``refused``, a part of ``sent``, failed with Connex's reasons; Connex does not have them."""
        # ASP.NET names a body element's field as "[3].OrderNumber": index 3 of what was sent.
        per_order: dict[int, dict[str, list[str]]] = defaultdict(dict)
        general: dict[str, list[str]] = {}
        for name, texts in error.field_errors.items():
            match = _INDEXED_FIELD.match(name)
            if match and int(match.group(1)) < len(sent):
                per_order[int(match.group(1))][match.group(2) or name] = texts
            else:
                general[name] = texts
        refused_keys = {order_key(order.order_number) for order in refused}
        for index, order in enumerate(sent):
            if order_key(order.order_number) not in refused_keys:
                continue
            own = per_order.get(index, {})
            reason = "; ".join(f"{name}: {' '.join(texts)}" for name, texts in own.items()) or error.message
            self._decide(
                OrderOutcome(
                    order.order_number,
                    Fate.FAILED,
                    reason,
                    safe_to_retry=True,
                    field_errors={**general, **own},
                    error=error,
                )
            )

    def result(self, *, stopped_by: BaseException | None = None) -> CreateOrdersResult:
        outcomes = []
        for order in self._orders:
            key = order_key(order.order_number)
            outcome = self._fates.get(key)
            if outcome is None:
                outcome = self._undecided(order, key, stopped_by)
            outcomes.append(outcome)
        return CreateOrdersResult.of(outcomes)

    def _undecided(self, order: NewOrder, key: str, stopped_by: BaseException | None) -> OrderOutcome:
        if stopped_by is None:
            raise AssertionError(f"create_orders left order {order.order_number!r} without a fate")
        why = stopped_by.message if isinstance(stopped_by, ConnexError) else type(stopped_by).__name__
        error = stopped_by if isinstance(stopped_by, ConnexError) else None
        if key in self._sent:
            reason = f"outcome unknown: not resent: create_orders stopped ({why}) before it knew whether Connex has it"
            return OrderOutcome(order.order_number, Fate.FAILED, reason, safe_to_retry=False, error=error)
        reason = f"not sent: create_orders stopped ({why}) before sending it"
        return OrderOutcome(order.order_number, Fate.FAILED, reason, safe_to_retry=True, error=error)

    def _decide(self, outcome: OrderOutcome) -> None:
        self._fates[order_key(outcome.order_number)] = outcome


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
    route: routes.Route, fetch: Callable[[Q], P], query: Q, *, first: P | None = None, exact: bool = False
) -> Iterator[P]:
    """``query``'s page and the ones after it; ``first``, when given, is that page already fetched.

    Follows objMetaData.totalNumberOfPages; without it, a short page is the last one, and
    at most _MAX_UNCOUNTED_PAGES are read. A page holding the same rows as an earlier one
    (a server that ignores pageNumber) raises ConnexProtocolError instead of looping.
    ``exact`` (lookups, from page 1): the listing must also be whole, its rows adding up
    to the last page's totalRows with no empty page before the last, or it raises.
    """
    page_number = query.page_number
    page = first if first is not None else fetch(query)
    served: set[tuple[Any, ...]] = set()
    rows_seen = 0

    def broken(problem: str) -> ConnexProtocolError:
        return ConnexProtocolError(
            f"Connex's listing from {route.path} is not whole: {problem}", method=route.method, path=route.path
        )

    while True:
        rows = page.rows
        identity = tuple(_row_identity(row) for row in rows)
        if rows and identity in served:
            raise broken(f"page {page_number} repeats the rows of an earlier page")
        served.add(identity)
        rows_seen += len(rows)
        yield page
        total_pages = page.meta.total_number_of_pages
        # Without a page count, a short page is the last one.
        last = page_number >= total_pages if total_pages else len(rows) < query.page_size
        if not rows or last:
            if exact and not rows and page_number < total_pages:
                raise broken(f"page {page_number} of {total_pages} is empty")
            total = page.total_rows
            if exact and query.page_number == 1 and total is not None and rows_seen != total:
                raise broken(f"{rows_seen} rows listed where totalRows says {total}")
            return
        if not total_pages and page_number - query.page_number + 1 >= _MAX_UNCOUNTED_PAGES:
            raise broken(f"more than {_MAX_UNCOUNTED_PAGES} pages without objMetaData")
        page_number += 1
        page = fetch(query.model_copy(update={"page_number": page_number}))


def _row_identity(row: Order | Product) -> tuple[Any, ...]:
    if isinstance(row, Order):
        return (row.id, row.order_number, row.order_date, row.user_connection_id)
    return (row.id, row.sku, row.name)


def _matching(orders: list[Order], wanted: set[str], connection_id: int) -> set[str]:
    """The keys (keys.order_key) of ``orders`` that are ``wanted`` on ``connection_id``."""
    return {
        key
        for order in orders
        if (key := order_key(order.order_number)) in wanted and order.user_connection_id in (None, 0, connection_id)
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
    """Whether a 2xx body says ``expected`` (ignoring case, spaces, quotes and braces).

    An empty body says nothing: a write answered with one may or may not have happened.
    """

    def squeeze(text: str) -> str:
        return "".join(char for char in text.lower() if char.isalnum())

    text = content.decode("utf-8", "replace")
    return bool(text.strip()) and squeeze(text) == squeeze(expected)


def _login_answer(content: bytes) -> LoginResponse:
    """The login answer: JSON (routes.LOGIN_RESPONSE_EXAMPLE and its variants), or the bare token as
    unquoted text (ASP.NET returning a string from a text/plain action)."""
    try:
        return LoginResponse.model_validate_json(content)
    except ValidationError:
        text = content.decode("utf-8", "replace").strip()
        if not text or text.startswith(("{", "[", '"')):
            raise
    return LoginResponse.model_validate(text)


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False)[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "body"
        problems.append(f"{where}: {error['msg']}")
    more = exc.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")
