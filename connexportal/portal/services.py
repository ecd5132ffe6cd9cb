"""The merchant pages' services: tenancy, caching and error translation around the Connex client.

Views call these functions only. Each takes the merchant explicitly, and every
connection id it is given is checked against that merchant's own connections
before anything is sent upstream, so another merchant's connection is a
``NotFound`` everywhere. Upstream failures become ``UpstreamError`` with a
message a merchant can act on; nothing here ever raises a raw client error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy

from connexportal import events
from connexportal.accounts.branding import service_name
from connexportal.accounts.models import Merchant
from connexportal.activity.services import Actor, activity_record
from connexportal.connex import (
    ConnexAuthError,
    ConnexError,
    ConnexProtocolError,
    ConnexRejected,
    ConnexThrottled,
    ConnexUnavailable,
    routes,
)
from connexportal.connex.keys import sku_key
from connexportal.connex.models import ConnexModel, NewProduct, OrderQuery, Product, ProductQuery, UserConnection
from connexportal.portal import labels, tasks, upstream
from connexportal.portal.connex_messages import connex_message, interpolate
from connexportal.portal.forms import parse_connex_timestamp

logger = logging.getLogger(__name__)

RUN_NOW_COOLDOWN = dt.timedelta(seconds=60)
LAST_KNOWN_TTL = 7 * 24 * 3600
ACTIVE_RUN_STATUSES = frozenset({"queued", "running"})
HIDDEN_SETTINGS = routes.SECRET_SETTINGS | routes.DEPRECATED_SETTINGS
PAIRING_SETTINGS = ("SolutionUserName", "SolutionPassword")
# QuickBooks is connected inside Connex, and a custom integration sends its own orders: the
# portal has no pairing values to ask for these.
CHANNELS_PAIRED_ELSEWHERE = frozenset({4, 99})
# A failed run whose message says the channel refused its pairing. Connex's wording is not
# public: these are the sandbox's words and the usual ones of channel APIs (inferred).
PAIRING_REFUSED = re.compile(
    r"not paired|pairing|unauthori[sz]ed|re-?authori[sz]e|invalid (?:token|grant|credentials)|token (?:has )?expired",
    re.IGNORECASE,
)


class PortalError(Exception):
    """Base of the portal's own errors; views turn them into pages."""


class NotFound(PortalError):
    """No such object for this merchant (another merchant's object is not found either)."""


class UpstreamError(PortalError):
    """Connex did not do what was asked; ``message`` tells the merchant what happened."""

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}
        self.retryable = retryable


class NeedsReconnect(UpstreamError):
    """The merchant has no Connex account yet (``no_account``), or Connex refuses its stored login.

    Not an outage: retrying will not help until the merchant (or its partner) connects again.
    """

    def __init__(self, *, no_account: bool = False):
        super().__init__(
            _("Needs attention: connect your account to see your connections.")
            if no_account
            else _("Needs attention: reconnect. The saved login was refused, so nothing could be loaded or saved.")
        )
        self.no_account = no_account


class CooldownActive(PortalError):
    def __init__(self, seconds_left: int):
        super().__init__(
            ngettext(
                "Run now is available again in %(n)d second.",
                "Run now is available again in %(n)d seconds.",
                seconds_left,
            )
            % {"n": seconds_left}
        )
        self.seconds_left = seconds_left


class UpstreamForbidden(UpstreamError):
    """Connex answered 403: this account may not do that at all (the demo account adding a product)."""


class DuplicateSku(PortalError):
    """The merchant's Connex account already has a product with this SKU; ``existing`` is that product."""

    def __init__(self, existing: ProductRow):
        super().__init__(f"duplicate SKU {existing.sku!r} (product {existing.id})")
        self.existing = existing


# --- View models: plain data, secrets already removed ------------------------------------


@dataclass(frozen=True)
class RunView:
    id: int
    status: str
    trigger: str
    queued_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    orders_downloaded: int | None
    orders_skipped: int | None
    message: str

    @property
    def is_active(self) -> bool:
        return self.status.lower() in ACTIVE_RUN_STATUSES

    @property
    def status_label(self) -> str:
        return labels.RUN_STATUSES.get(self.status.lower(), self.status)

    @property
    def trigger_label(self) -> str:
        return labels.RUN_TRIGGERS.get(self.trigger.lower(), self.trigger)

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


@dataclass(frozen=True)
class TaskView:
    """A scheduled task. Views are cached, so they hold codes, not labels in one language."""

    id: int
    task_type: int | None
    upstream_type_name: str
    enabled: bool
    interval_seconds: int | None
    status: str
    last_run_at: dt.datetime | None
    next_run_at: dt.datetime | None
    runs: tuple[RunView, ...]

    @property
    def type_name(self) -> str:
        return str(labels.TASK_TYPES.get(self.task_type) or self.upstream_type_name or _("Sync"))


@dataclass(frozen=True)
class ConnectionView:
    """A connection as the pages show it. Cached as last known data, so it holds no lazy or
    translated strings: labels are looked up in the reader's language when shown."""

    id: int
    upstream_name: str
    connection_type: int | None
    website: str
    tasks: tuple[TaskView, ...]
    settings: dict[str, str] = field(repr=False)
    # Who owns the connection in Connex: products added to it are reported under this user.
    reporting_user_id: uuid.UUID | None = None
    # Connex lists the channel's pairing settings, all empty (their values never get this far).
    pairing_empty: bool = False

    @property
    def channel(self) -> str:
        label = labels.CHANNELS.get(self.connection_type)
        return str(label or routes.CONNECTION_TYPES.get(self.connection_type or -1) or _("Other channel"))

    @property
    def name(self) -> str:
        return self.upstream_name or self.channel

    @property
    def slug(self) -> str:
        channel = routes.CONNECTION_TYPES.get(self.connection_type or -1, "custom")
        return "".join(ch for ch in channel.lower() if ch.isalnum())

    @property
    def runs(self) -> list[RunView]:
        runs = [run for task in self.tasks for run in task.runs]
        return sorted(runs, key=lambda run: (run.queued_at or dt.datetime.min.replace(tzinfo=dt.UTC), run.id))[::-1]

    @property
    def latest_run(self) -> RunView | None:
        runs = self.runs
        return runs[0] if runs else None

    @property
    def last_sync_at(self) -> dt.datetime | None:
        finished = [run.finished_at for run in self.runs if run.finished_at and run.status.lower() == "completed"]
        if finished:
            return max(finished)
        last_runs = [task.last_run_at for task in self.tasks if task.last_run_at]
        return max(last_runs) if last_runs else None

    @property
    def next_run_at(self) -> dt.datetime | None:
        upcoming = [task.next_run_at for task in self.tasks if task.enabled and task.next_run_at]
        return min(upcoming) if upcoming else None

    @property
    def order_window(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        settings = self.settings
        return parse_connex_timestamp(settings.get("LastDownloadUtc")), parse_connex_timestamp(
            settings.get("LastDownloadUtcEnd")
        )

    @property
    def summary_label(self) -> str:
        value = self.settings.get("SummaryTransactionGroupBy", "")
        if value == "":
            return _("Not set")
        try:
            return labels.SUMMARY_GROUP_BY[int(value)]
        except (ValueError, KeyError):
            return _("Unknown (%(value)s)") % {"value": value}

    @property
    def can_pair(self) -> bool:
        return self.connection_type not in CHANNELS_PAIRED_ELSEWHERE

    @property
    def needs_pairing(self) -> bool:
        """The channel's pairing is empty, or the last sync failed because the channel refused it."""
        if not self.can_pair:
            return False
        if self.pairing_empty:
            return True
        latest = self.latest_run
        return bool(latest and latest.status.lower() == "failed" and PAIRING_REFUSED.search(latest.message))

    @property
    def health(self) -> tuple[str, str]:
        """(level, label): level is one of ok, syncing, warning, error, paused, unknown."""
        if not self.tasks:
            return "unknown", _("No scheduled sync")
        latest = self.latest_run
        if latest and latest.is_active:
            return "syncing", _("Syncing now")
        if not any(task.enabled for task in self.tasks):
            return "paused", _("Sync paused")
        if latest and latest.status.lower() == "failed":
            return "error", _("Last sync failed")
        next_run = self.next_run_at
        interval = max((task.interval_seconds or 0 for task in self.tasks if task.enabled), default=0)
        if next_run and interval and timezone.now() - next_run > dt.timedelta(seconds=2 * interval):
            return "warning", _("Sync overdue")
        if latest is None and self.last_sync_at is None:
            return "unknown", _("Never synced")
        return "ok", _("Healthy")


@dataclass(frozen=True)
class ConnectionsResult:
    connections: list[ConnectionView]
    fetched_at: dt.datetime | None
    error: str | None = None
    retryable: bool = False
    # No account, or Connex refuses its login: the pages lead to the connect form instead.
    needs_reconnect: NeedsReconnect | None = None

    @property
    def stale(self) -> bool:
        return self.error is not None


@dataclass(frozen=True)
class Page:
    rows: list
    page: int
    size: int
    total: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_row(self) -> int:
        return 0 if not self.rows else (self.page - 1) * self.size + 1

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1 if self.rows else 0


@dataclass(frozen=True)
class ListResult:
    """A page of products or orders as Connex answered it at ``fetched_at``; when Connex is busy or
    down, the last known page of the same query, with ``error`` saying why it is not fresh."""

    page: Page
    fetched_at: dt.datetime
    # Products only: the account's (or the filtered connection's) unknown SKUs, whatever the page.
    unknown_count: int = 0
    error: str | None = None

    @property
    def stale(self) -> bool:
        return self.error is not None


@dataclass(frozen=True)
class ProductRow:
    id: int | None
    name: str
    sku: str
    description: str
    product_type: int | None
    type_label: str
    sales_price: Decimal | None
    unit_cost: Decimal | None
    average_cost: Decimal | None
    quantity_on_hand: Decimal | None
    quantity_on_order: Decimal | None
    is_manual: bool
    has_unknown_sku: bool
    connection_id: int | None
    connection_name: str
    updated_at: dt.datetime | None
    created_at: dt.datetime | None


@dataclass(frozen=True)
class OrderLine:
    product_name: str
    sku: str
    quantity: Decimal | None
    unit_price: Decimal | None
    total: Decimal | None


@dataclass(frozen=True)
class OrderRow:
    id: int
    order_number: str
    order_date: dt.datetime | None
    channel: str
    customer_name: str
    total: Decimal | None
    connection_id: int | None
    lines: tuple[OrderLine, ...]


@dataclass(frozen=True)
class WindowPreview:
    start: dt.datetime
    end: dt.datetime
    orders_in_window: int

    @property
    def length(self) -> dt.timedelta:
        return self.end - self.start


@dataclass(frozen=True)
class RunStarted:
    run_id: int | None
    status: str


# --- Helpers -----------------------------------------------------------------------------


def _cache_key(merchant: Merchant, name: str) -> str:
    # What is cached per merchant (connection ids that pass the tenancy check, the last known list)
    # belongs to one set of credentials: new ones, even the same username, start from nothing.
    account = getattr(merchant, "connex_account", None)
    try:
        credentials = upstream.credentials_key(account).rsplit(":", 1)[-1] if account else "none"
    except upstream.AccountNotConfigured:
        credentials = "unconfigured"
    return f"portal:m{merchant.pk}:{credentials}:{name}"


def _translate(exc: ConnexError, action: Promise) -> UpstreamError:
    """A client error as a message the merchant can act on; the details go to the log (in English)."""
    with translation.override(None):
        logger.warning("connex %s failed: %s", str(action), exc)
    if isinstance(exc, ConnexAuthError):
        return NeedsReconnect()
    # The partner's name for the service, never Connex's own when the partner has one.
    words = {"action": action, "service": service_name()}
    if isinstance(exc, ConnexRejected):
        # Connex's reason in the merchant's words when the portal knows it, else quoted as Connex's own.
        reason = connex_message(exc.detail or exc.title or exc.message)
        return UpstreamError(
            # Translators: %(service)s names the sync service (Connex, or the partner's name for it);
            # %(action)s is one of the "Connex action" phrases, e.g. "load your connections".
            interpolate(_("%(service)s refused to %(action)s: %(reason)s"), {**words, "reason": reason}),
            field_errors={
                name: [connex_message(message) for message in messages] for name, messages in exc.field_errors.items()
            },
        )
    if isinstance(exc, ConnexProtocolError):
        return UpstreamError(
            # Translators: %(service)s names the sync service; %(action)s is a "Connex action" phrase.
            _("%(service)s sent an answer the portal could not read while trying to %(action)s. Please try again.")
            % words,
            retryable=True,
        )
    # Connex's own 429, or the shared per-account throttle full further ahead than a page may wait.
    if isinstance(exc, ConnexThrottled) or (isinstance(exc, ConnexUnavailable) and exc.status == 429):
        return UpstreamError(
            # Translators: %(service)s names the sync service; %(action)s is a "Connex action" phrase.
            _("%(service)s is busy and asked us to slow down, so we could not %(action)s. Please try again shortly.")
            % words,
            retryable=True,
        )
    return UpstreamError(
        # Translators: %(service)s names the sync service; %(action)s is a "Connex action" phrase.
        _("%(service)s is not answering right now, so we could not %(action)s. Please try again in a minute.") % words,
        retryable=True,
    )


def _client(merchant: Merchant):
    account = getattr(merchant, "connex_account", None)
    try:
        return upstream.client_for(account)
    except upstream.AccountNotConfigured as exc:
        logger.info("merchant %s must connect: %s", merchant.pk, exc)
        raise NeedsReconnect(no_account=account is None) from None


def _run_view(log) -> RunView:
    return RunView(
        id=log.id,
        status=log.status or "Unknown",
        trigger=log.trigger or "",
        queued_at=log.queued_utc,
        started_at=log.started_utc,
        finished_at=log.finished_utc,
        orders_downloaded=log.orders_downloaded,
        orders_skipped=log.orders_skipped,
        message=log.message or "",
    )


def _connection_view(connection: UserConnection) -> ConnectionView:
    tasks = tuple(
        TaskView(
            id=task.id,
            task_type=task.task_type,
            upstream_type_name=task.task_type_name or "",
            enabled=bool(task.enabled),
            interval_seconds=task.interval_seconds,
            status=task.status or "Idle",
            last_run_at=task.last_run_utc,
            next_run_at=task.next_run_utc,
            runs=tuple(_run_view(log) for log in task.run_logs),
        )
        for task in connection.scheduled_tasks
    )
    pairing = [row.value or "" for row in connection.connection_settings if row.name in PAIRING_SETTINGS]
    # Channel secrets and retired settings stop here: nothing after this point can show them.
    settings = {row.name: row.value or "" for row in connection.connection_settings if row.name not in HIDDEN_SETTINGS}
    return ConnectionView(
        id=connection.id,
        upstream_name=connection.user_connection_name or "",
        connection_type=connection.connection_type,
        website=connection.solution_website or "",
        tasks=tasks,
        settings=settings,
        reporting_user_id=connection.reporting_user_id,
        pairing_empty=bool(pairing) and not any(value.strip() for value in pairing),
    )


# --- Connections -------------------------------------------------------------------------


def connections_list(*, merchant: Merchant) -> ConnectionsResult:
    """The merchant's connections; when Connex fails, the last known list marked stale."""
    try:
        connections = _client(merchant).list_connections()
    except ConnexError as exc:
        error = _translate(exc, pgettext_lazy("Connex action", "load your connections"))
        if isinstance(error, NeedsReconnect):
            return ConnectionsResult(connections=[], fetched_at=None, error=error.message, needs_reconnect=error)
        key = _cache_key(merchant, "connections")
        known = cache.get(key)
        if known is None:
            LAST_KNOWN_WRITES.forget(key)  # deleted or expired: the next answer is stored at once
            return ConnectionsResult(connections=[], fetched_at=None, error=error.message, retryable=error.retryable)
        return ConnectionsResult(
            connections=known["connections"],
            fetched_at=known["fetched_at"],
            error=error.message,
            retryable=error.retryable,
        )
    except NeedsReconnect as exc:
        return ConnectionsResult(connections=[], fetched_at=None, error=exc.message, needs_reconnect=exc)
    views = [_connection_view(connection) for connection in connections if not connection.deleted]
    fetched_at = timezone.now()
    # Two entries: the names alone (what products, orders and the tenancy check of writes read)
    # and the whole list with its runs (the stale fallback, and what the forms compare against).
    # Each is pickled and sent when it changed (a run moved on, a connection renamed), else once a
    # minute per process: on every view, that cost more than the rest of the view. A write to a
    # connection deletes the list, and a reader that finds an entry missing has it stored again.
    key, names_key = _cache_key(merchant, "connections"), _cache_key(merchant, "connection-names")
    names = {view.id: view.name for view in views}
    entries: dict[str, Any] = {}
    if LAST_KNOWN_WRITES.due(names_key, names):
        entries[names_key] = names
    if LAST_KNOWN_WRITES.due(key, views):
        entries[key] = {"connections": views, "fetched_at": fetched_at}
    if entries:
        cache.set_many(entries, LAST_KNOWN_TTL)
    return ConnectionsResult(connections=views, fetched_at=fetched_at)


def _connections_forget(merchant: Merchant) -> None:
    """After a write to a connection: its last known list is out of date, here and for every process."""
    key = _cache_key(merchant, "connections")
    cache.delete(key)
    LAST_KNOWN_WRITES.forget(key)


def connection_get(*, merchant: Merchant, connection_id: int) -> tuple[ConnectionView, ConnectionsResult]:
    """One connection of this merchant (fresh, or last known when Connex is down), else NotFound."""
    result = connections_list(merchant=merchant)
    for connection in result.connections:
        if connection.id == connection_id:
            return connection, result
    if result.needs_reconnect:
        raise result.needs_reconnect
    if result.stale and not result.connections:
        raise UpstreamError(result.error or "")
    raise NotFound(f"connection {connection_id}")


def connection_cached(*, merchant: Merchant, connection_id: int) -> ConnectionView:
    """The connection as the merchant last saw it (no upstream call when known), else fetched."""
    key = _cache_key(merchant, "connections")
    known = cache.get(key)
    if known is not None:
        for connection in known["connections"]:
            if connection.id == connection_id:
                return connection
    else:
        LAST_KNOWN_WRITES.forget(key)  # deleted by a write in another process: store the list fetched now
    return connection_get(merchant=merchant, connection_id=connection_id)[0]


def connection_names(*, merchant: Merchant) -> dict[int, str]:
    """Id -> name of the merchant's connections, from the last list (no upstream call when known)."""
    key = _cache_key(merchant, "connection-names")
    names = cache.get(key)
    if names is None:
        LAST_KNOWN_WRITES.forget(key)  # expired or flushed: the list fetched now stores them again
        names = {connection.id: connection.name for connection in connections_list(merchant=merchant).connections}
    return names


def _require_connection(merchant: Merchant, connection_id: int) -> None:
    """Tenancy for writes: the id must be one of the merchant's connections.

    Answered from the ids of the last list when they include it (no upstream call);
    otherwise the list is fetched once more before saying NotFound.
    """
    known = cache.get(_cache_key(merchant, "connection-names"))
    if known is not None and connection_id in known:
        return
    result = connections_list(merchant=merchant)
    if result.needs_reconnect:
        raise result.needs_reconnect
    if result.stale and not result.connections:
        raise UpstreamError(result.error or "", retryable=result.retryable)
    if connection_id not in {connection.id for connection in result.connections}:
        raise NotFound(f"connection {connection_id}")


def connection_settings_update(
    *, merchant: Merchant, connection_id: int, changes: dict[str, str], actor: Actor
) -> None:
    """Send only the changed settings; everything else on the connection stays as it is."""
    _require_connection(merchant, connection_id)
    if not changes:
        return
    if HIDDEN_SETTINGS & changes.keys():
        raise UpstreamError(_("Those settings cannot be changed here."))
    before = connection_cached(merchant=merchant, connection_id=connection_id)
    try:
        _client(merchant).update_settings(connection_id, changes)
    except ConnexError as exc:
        raise _translate(exc, pgettext_lazy("Connex action", "save the settings")) from None
    _connections_forget(merchant)
    # Names only: a value may be a credential, and the partner learns what changed, not to what.
    events.emit(
        events.EventType.SETTINGS_SAVED,
        merchant=merchant,
        data={"connection_id": connection_id, "changed_settings": sorted(changes)},
    )
    activity_record(
        action="settings.saved",
        actor=actor,
        merchant=merchant,
        target=before.name,
        changes={name: (before.settings.get(name, ""), value) for name, value in changes.items()},
        detail={"connection_id": connection_id},
    )


def run_now_cooldown(*, merchant: Merchant, connection_id: int) -> int:
    """Seconds until Run now may be pressed again for this connection (0: now)."""
    until = cache.get(_cache_key(merchant, f"run-now:{connection_id}"))
    if until is None:
        return 0
    return max(0, math.ceil((until - timezone.now()).total_seconds()))


def connection_run_now(*, merchant: Merchant, connection_id: int, actor: Actor) -> RunStarted:
    _require_connection(merchant, connection_id)
    key = _cache_key(merchant, f"run-now:{connection_id}")
    until = timezone.now() + RUN_NOW_COOLDOWN
    # cache.add is atomic: of two simultaneous clicks only one reaches Connex.
    if not cache.add(key, until, RUN_NOW_COOLDOWN.total_seconds()):
        raise CooldownActive(run_now_cooldown(merchant=merchant, connection_id=connection_id) or 1)
    try:
        started = _client(merchant).run_now(connection_id)
    except ConnexRejected as exc:
        if exc.status == 409:
            _run_now_record(merchant, connection_id, actor, run_id=None, status="Running")
            return RunStarted(run_id=None, status="Running")
        cache.delete(key)
        raise _translate(exc, pgettext_lazy("Connex action", "start a sync")) from None
    except ConnexError as exc:
        cache.delete(key)
        raise _translate(exc, pgettext_lazy("Connex action", "start a sync")) from None
    _connections_forget(merchant)
    status = started.status or "Queued"
    # Only a run Connex accepted just now is announced; a 409 above means one was already going.
    events.emit(
        events.EventType.SYNC_STARTED,
        merchant=merchant,
        data={"connection_id": connection_id, "run_id": started.run_id, "status": status},
        dedupe_key=(
            tasks.run_dedupe_key(merchant.pk, connection_id, started.run_id, "started") if started.run_id else None
        ),
    )
    if started.run_id is not None:
        tasks.run_watch_start(merchant=merchant, connection_id=connection_id, run_id=started.run_id)
    _run_now_record(merchant, connection_id, actor, run_id=started.run_id, status=status)
    return RunStarted(run_id=started.run_id, status=status)


def _run_now_record(merchant: Merchant, connection_id: int, actor: Actor, *, run_id: int | None, status: str) -> None:
    activity_record(
        action="run_now.started",
        actor=actor,
        merchant=merchant,
        target=connection_names(merchant=merchant).get(connection_id, ""),
        detail={"connection_id": connection_id, "run_id": run_id, "status": status},
    )


# --- Products and orders -----------------------------------------------------------------


def _require_listed_connection(merchant: Merchant, connection_id: int | None) -> None:
    """A list filtered by connection may only name one of the merchant's connections."""
    if connection_id is not None and connection_id not in connection_names(merchant=merchant):
        raise NotFound(f"connection {connection_id}")


def _page(rows: list, page: int, size: int, meta) -> Page:
    return Page(rows=rows, page=page, size=size, total=meta.total_rows, pages=max(1, meta.total_number_of_pages))


def _list_key(merchant: Merchant, name: str, query: ConnexModel) -> str:
    """Where the last known page of ``query`` is kept: the query exactly as Connex gets it (filters,
    sort, page and page size), hashed so that the key stays short whatever was searched for."""
    digest = hashlib.sha256(query.model_dump_json().encode()).hexdigest()
    return _cache_key(merchant, f"{name}:{digest}")


class _RecentWrites:
    """Which last known pages this process wrote lately, so that a page viewed again and again
    is stored once a minute, not on every view: storing one costs more CPU (pickling its rows)
    than anything else the page does but render. The copy kept says when it was fetched, which
    is what a stale page shows. Thread-safe; remembers the latest ``size`` keys, and for the
    connections list what was written (a few connections with their runs: a few KB each)."""

    def __init__(self, every: float = 60.0, size: int = 1024) -> None:
        self.every, self.size = every, size
        self._written: OrderedDict[str, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()

    def due(self, key: str, content: object = None) -> bool:
        """True (and noted as written now) when ``key`` was not written in the last ``every``
        seconds, or when ``content`` (if given) differs from what was written then."""
        now = time.monotonic()
        with self._lock:
            last = self._written.get(key)
            if last is not None and now - last[0] < self.every and last[1] == content:
                return False
            self._written[key] = (now, content)
            self._written.move_to_end(key)
            while len(self._written) > self.size:
                self._written.popitem(last=False)
            return True

    def forget(self, key: str | None = None) -> None:
        """Write ``key`` (every key, by default) on its next view."""
        with self._lock:
            if key is None:
                self._written.clear()
            else:
                self._written.pop(key, None)


LAST_KNOWN_WRITES = _RecentWrites()


def _list_remember(key: str, page: Page, *, unknown_count: int = 0) -> ListResult:
    """A fresh page, kept as the query's last known one (at most once a minute per process): a
    single write, and nothing read."""
    fetched_at = timezone.now()
    if LAST_KNOWN_WRITES.due(key):
        cache.set(key, {"page": page, "fetched_at": fetched_at, "unknown_count": unknown_count}, LAST_KNOWN_TTL)
    return ListResult(page=page, fetched_at=fetched_at, unknown_count=unknown_count)


def _list_last_known(key: str, error: UpstreamError) -> ListResult:
    """After a failed list call: the query's last known page marked stale, when Connex is only busy
    or down and a page is known; otherwise ``error`` (a refused login or request is no outage)."""
    if isinstance(error, NeedsReconnect) or not error.retryable:
        raise error from None
    known = cache.get(key)
    if known is None:
        raise error from None
    return ListResult(
        page=known["page"], fetched_at=known["fetched_at"], unknown_count=known["unknown_count"], error=error.message
    )


def products_list(
    *,
    merchant: Merchant,
    page: int,
    size: int,
    search: str = "",
    sort: str = "name",
    direction: str = "asc",
    connection_id: int | None = None,
    manual_only: bool = False,
    unknown_only: bool = False,
    product_type: int | None = None,
) -> ListResult:
    """A page of products and the account's unknown-SKU count (the last known ones when Connex is busy or down)."""
    _require_listed_connection(merchant, connection_id)
    query = ProductQuery(
        page_number=page,
        page_size=size,
        search_text=search,
        order_by=sort,
        direction=direction,
        is_manual=manual_only,
        only_fetch_unknown_skus_products=unknown_only,
        product_type=product_type,
        user_connection_id=connection_id or 0,
    )
    key = _list_key(merchant, "products", query)
    try:
        result = _client(merchant).list_products(query)
    except ConnexError as exc:
        return _list_last_known(key, _translate(exc, pgettext_lazy("Connex action", "load your products")))
    rows = [_product_row(product) for product in result.products]
    return _list_remember(key, _page(rows, page, size, result.meta), unknown_count=result.unknown_skus_count)


def _product_row(product: Product) -> ProductRow:
    return ProductRow(
        id=product.id,
        name=product.name or "",
        sku=product.sku or "",
        description=product.description or "",
        product_type=product.product_type,
        type_label=labels.PRODUCT_TYPES.get(product.product_type, ""),
        sales_price=product.sales_price,
        unit_cost=product.unit_cost,
        average_cost=product.average_cost,
        quantity_on_hand=product.quantity_on_hand,
        quantity_on_order=product.quantity_on_order,
        is_manual=bool(product.is_manual),
        has_unknown_sku=bool(product.has_unknown_sku),
        connection_id=product.connection_ref.user_connection_id if product.connection_ref else None,
        connection_name=(
            (product.connection_ref.user_connection_name if product.connection_ref else None)
            or product.channel_name
            or ""
        ),
        updated_at=product.updated_at,
        created_at=product.created_at,
    )


# The fields of api/products/add a merchant or partner gives; the rest (id, reporting user,
# connection) the portal fills in.
PRODUCT_FIELDS = frozenset(NewProduct.model_fields) - {"id", "reporting_user_id", "user_connection_id"}
# Connex names a field it refuses by its wire name ("Sku", "DaystoReceive"); the forms use ours.
_PRODUCT_WIRE_NAMES = {
    (info.serialization_alias or name).lower(): name for name, info in NewProduct.model_fields.items()
}


def _product_with_sku(merchant: Merchant, sku: str, *, connection_id: int | None = None) -> ProductRow | None:
    """The product whose SKU is ``sku`` (as sku_key compares them), found through the list's search.

    The search matches parts of names and SKUs too, so every page of matches may be read.
    """
    wanted = sku_key(sku)
    query = ProductQuery(
        search_text=sku.strip(), order_by="sku", direction="asc", user_connection_id=connection_id or 0
    )
    for product in _client(merchant).iter_products(query):
        if product.sku is not None and sku_key(product.sku) == wanted:
            return _product_row(product)
    return None


def _product_field_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    named: dict[str, list[str]] = {}
    for key, messages in errors.items():
        name = _PRODUCT_WIRE_NAMES.get(key.split(".", 1)[0].split("[", 1)[0].lower())
        if name is not None:
            named.setdefault(name, []).extend(messages)
    return named


def product_create(*, merchant: Merchant, connection_id: int, values: dict, actor: Actor) -> ProductRow:
    """Add a product to one of the merchant's connections; returns it as the products list shows it.

    ``values`` holds PRODUCT_FIELDS (sku and name at least). A SKU the account already has
    (in any case, with or without spaces at its ends) is refused with DuplicateSku before
    anything is sent. Connex's 403 (its demo account may not add products) is UpstreamForbidden.
    """
    unknown = set(values) - PRODUCT_FIELDS
    if unknown:
        raise ValueError(f"not product fields: {sorted(unknown)}")
    _require_connection(merchant, connection_id)
    connection = connection_cached(merchant=merchant, connection_id=connection_id)
    if connection.reporting_user_id is None:
        connection = connection_get(merchant=merchant, connection_id=connection_id)[0]
    if connection.reporting_user_id is None:
        raise UpstreamError(
            _("%(service)s did not say who owns this connection, so no product can be added to it.")
            % {"service": service_name()}
        )
    sku = values["sku"].strip()
    try:
        existing = _product_with_sku(merchant, sku)
    except ConnexError as exc:
        raise _translate(exc, pgettext_lazy("Connex action", "check whether that SKU is taken")) from None
    if existing is not None:
        raise DuplicateSku(existing)
    product = NewProduct(
        reporting_user_id=connection.reporting_user_id,
        user_connection_id=connection_id,
        **{**values, "sku": sku, "name": values["name"].strip()},
    )
    action = pgettext_lazy("Connex action", "add the product")
    try:
        _client(merchant).add_product(product)
    except ConnexRejected as exc:
        if exc.status == 403:
            with translation.override(None):
                logger.warning("connex %s refused: %s", str(action), exc)
            raise UpstreamForbidden(
                _("This %(service)s account is not allowed to add products.") % {"service": service_name()}
            ) from None
        if exc.status == 409:
            existing = _product_with_sku_or_none(merchant, sku)
            if existing is not None:
                raise DuplicateSku(existing) from None
        error = _translate(exc, action)
        error.field_errors = _product_field_errors(error.field_errors)
        raise error from None
    except ConnexError as exc:
        raise _translate(exc, action) from None
    created = _product_with_sku_or_none(merchant, sku, connection_id=connection_id) or _product_row_sent(
        product, connection
    )
    activity_record(
        action="product.created",
        actor=actor,
        merchant=merchant,
        target=f"{product.name} ({product.sku})",
        detail={"connection_id": connection_id, "product_id": created.id, "sku": product.sku},
    )
    return created


def _product_with_sku_or_none(merchant: Merchant, sku: str, *, connection_id: int | None = None) -> ProductRow | None:
    # After the add: whether Connex lists the product does not change what happened.
    try:
        return _product_with_sku(merchant, sku, connection_id=connection_id)
    except ConnexError as exc:
        with translation.override(None):
            logger.warning("connex product lookup after adding %r failed: %s", sku, exc)
        return None


def _product_row_sent(product: NewProduct, connection: ConnectionView) -> ProductRow:
    """The product as it was sent, for when Connex added it but could not list it straight after."""
    return ProductRow(
        id=None,
        name=product.name,
        sku=product.sku,
        description=product.description,
        product_type=product.product_type,
        type_label=labels.PRODUCT_TYPES.get(product.product_type, ""),
        sales_price=product.sales_price,
        unit_cost=product.unit_cost,
        average_cost=product.average_cost,
        quantity_on_hand=product.quantity_on_hand,
        quantity_on_order=product.quantity_on_order,
        is_manual=product.is_manual,
        has_unknown_sku=False,
        connection_id=connection.id,
        connection_name=connection.name,
        updated_at=None,
        created_at=None,
    )


def orders_list(
    *,
    merchant: Merchant,
    start: dt.date,
    end: dt.date,
    page: int,
    size: int,
    search: str = "",
    sort: str = "orderDate",
    direction: str = "desc",
    connection_id: int | None = None,
) -> ListResult:
    """A page of orders (the last known one when Connex is busy or down)."""
    _require_listed_connection(merchant, connection_id)
    query = OrderQuery(
        begin_date=start,
        end_date=end,
        page_number=page,
        page_size=size,
        search_text=search,
        order_by=sort,
        direction=direction,
        user_connection_id=connection_id or 0,
    )
    key = _list_key(merchant, "orders", query)
    try:
        result = _client(merchant).list_orders(query)
    except ConnexError as exc:
        return _list_last_known(key, _translate(exc, pgettext_lazy("Connex action", "load your orders")))
    rows = [
        OrderRow(
            id=order.id,
            order_number=order.order_number,
            order_date=order.order_date,
            channel=order.channel or "",
            customer_name=order.customer_name or "",
            total=order.total_product_sales,
            connection_id=order.user_connection_id,
            lines=tuple(
                OrderLine(
                    product_name=item.product_name or "",
                    sku=item.sku or "",
                    quantity=item.ordered_product_quantity,
                    unit_price=item.unit_price,
                    total=item.total_sold_price,
                )
                for item in order.items
            ),
        )
        for order in result.orders
    ]
    return _list_remember(key, _page(rows, page, size, result.meta))


def order_window_preview(
    *, merchant: Merchant, connection_id: int, start: dt.datetime, end: dt.datetime
) -> WindowPreview:
    """What a new order window means: its length and the orders Connex already holds in it (one call)."""
    _require_connection(merchant, connection_id)
    query = OrderQuery(
        begin_date=start.date(), end_date=end.date(), page_number=1, page_size=1, user_connection_id=connection_id
    )
    try:
        result = _client(merchant).list_orders(query)
    except ConnexError as exc:
        raise _translate(exc, pgettext_lazy("Connex action", "count the orders in that window")) from None
    return WindowPreview(start=start, end=end, orders_in_window=result.meta.total_rows)
