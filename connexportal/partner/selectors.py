"""What the partner console reads, always within one partner: another partner's anything is a 404.

Merchants' health comes from Connex (``portal.services.connections_list``, one call per
merchant). The dashboard must not make a page view cost one Connex call per merchant, so the
health of each merchant is rolled up into a few counts and cached for ``HEALTH_TTL`` seconds;
the dashboard renders what is cached at once and asks for the rest row by row (htmx, on load),
so only the merchants on the visible page are ever checked, and a slow Connex slows no page.
When Connex cannot be asked the health is *unknown* (never a stale list taken for today's) and
is cached for a shorter time, so a recovery shows soon.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from connexportal.accounts.models import Merchant, Partner, PartnerApiKey
from connexportal.activity.models import ActivityEntry
from connexportal.activity.selectors import merchant_activity
from connexportal.portal.services import ConnectionsResult, ConnectionView, RunView, connections_list
from connexportal.webhooks.endpoints import endpoint_get
from connexportal.webhooks.models import WebhookDelivery

MERCHANTS_PER_PAGE = 25
ACTIVITY_PER_PAGE = 20
RECENT_RUNS = 10
DELIVERIES_PER_PAGE = 25
HEALTH_TTL = 60
UNKNOWN_HEALTH_TTL = 15


class Health(enum.StrEnum):
    """A merchant's connections rolled up; members are listed worst first."""

    NEEDS_RECONNECT = "needs_reconnect"
    FAILING = "failing"
    NEVER_SYNCED = "never_synced"
    HEALTHY = "healthy"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return str(HEALTH_LABELS[self])

    @property
    def badge(self) -> str:
        return HEALTH_BADGES[self]


HEALTH_LABELS = {
    Health.NEEDS_RECONNECT: _("Needs reconnect"),
    Health.FAILING: _("Failing"),
    Health.NEVER_SYNCED: _("Never synced"),
    Health.HEALTHY: _("Healthy"),
    Health.UNKNOWN: _("Unknown"),
}
# The merchant pages' badge colours (static/css/portal.css).
HEALTH_BADGES = {
    Health.NEEDS_RECONNECT: "warning",
    Health.FAILING: "error",
    Health.NEVER_SYNCED: "unknown",
    Health.HEALTHY: "ok",
    Health.UNKNOWN: "unknown",
}
WORST_FIRST = list(Health)


@dataclass(frozen=True)
class HealthRollup:
    """One merchant's connections in a few numbers. Cached, so it holds codes, never labels."""

    state: Health
    counts: dict[str, int] = field(default_factory=dict)
    last_sync_at: dt.datetime | None = None
    checked_at: dt.datetime | None = None

    @property
    def count_rows(self) -> list[tuple[Health, int]]:
        return [(health, self.counts[health]) for health in WORST_FIRST if self.counts.get(health)]


def connection_health(connection: ConnectionView) -> Health:
    if connection.needs_pairing:
        return Health.NEEDS_RECONNECT
    level, _label = connection.health
    if level in ("error", "warning"):
        return Health.FAILING
    if level == "unknown" and connection.last_sync_at is None:
        return Health.NEVER_SYNCED
    return Health.HEALTHY


def health_from_result(result: ConnectionsResult) -> HealthRollup:
    now = timezone.now()
    if result.needs_reconnect is not None:
        return HealthRollup(state=Health.NEEDS_RECONNECT, checked_at=now)
    if result.stale:
        return HealthRollup(state=Health.UNKNOWN, checked_at=now)
    states = [connection_health(connection) for connection in result.connections]
    counts = {health.value: states.count(health) for health in set(states)}
    state = min(states, key=WORST_FIRST.index) if states else Health.NEVER_SYNCED
    synced = [connection.last_sync_at for connection in result.connections if connection.last_sync_at]
    return HealthRollup(state=state, counts=counts, last_sync_at=max(synced, default=None), checked_at=now)


def _health_key(merchant: Merchant) -> str:
    # New credentials change the account's updated_at: their health is checked afresh.
    account = getattr(merchant, "connex_account", None)
    version = f"{account.pk}.{account.updated_at.timestamp()}" if account is not None else "none"
    return f"partner:health:m{merchant.pk}:{version}"


def health_cached(*, merchant: Merchant) -> HealthRollup | None:
    """The merchant's health as last checked within HEALTH_TTL, else None (no Connex call)."""
    return cache.get(_health_key(merchant))


def health_remember(*, merchant: Merchant, result: ConnectionsResult) -> HealthRollup:
    """Roll up a connections list already fetched (the merchant page's) and cache it for the dashboard."""
    rollup = health_from_result(result)
    ttl = UNKNOWN_HEALTH_TTL if rollup.state is Health.UNKNOWN else HEALTH_TTL
    cache.set(_health_key(merchant), rollup, ttl)
    return rollup


def health_get(*, merchant: Merchant) -> HealthRollup:
    """The merchant's health: cached, else checked with Connex (one call) and cached."""
    rollup = health_cached(merchant=merchant)
    if rollup is None:
        rollup = health_remember(merchant=merchant, result=connections_list(merchant=merchant))
    return rollup


def merchants_for_partner(*, partner: Partner, query: str = "") -> QuerySet[Merchant]:
    merchants = Merchant.objects.filter(partner=partner).select_related("connex_account", "partner")
    query = query.strip()
    if query:
        merchants = merchants.filter(Q(name__icontains=query) | Q(external_id__icontains=query))
    return merchants.order_by("name", "id")


def merchant_page(*, partner: Partner, query: str, page: str | int | None) -> Page:
    return Paginator(merchants_for_partner(partner=partner, query=query), MERCHANTS_PER_PAGE).get_page(page)


def merchant_for_partner(*, partner: Partner, merchant_id: int) -> Merchant:
    """One of the partner's merchants; any other id, another partner's included, is a 404."""
    merchant = merchants_for_partner(partner=partner).filter(pk=merchant_id).first()
    if merchant is None:
        raise Http404("No such merchant.")
    return merchant


@dataclass(frozen=True)
class RecentRun:
    connection: ConnectionView
    run: RunView


def recent_runs(*, result: ConnectionsResult, limit: int = RECENT_RUNS) -> list[RecentRun]:
    """The newest runs across the merchant's connections."""
    runs = [RecentRun(connection, run) for connection in result.connections for run in connection.runs]
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    runs.sort(key=lambda item: (item.run.queued_at or item.run.started_at or oldest, item.run.id), reverse=True)
    return runs[:limit]


def merchant_activity_page(*, merchant: Merchant, page: str | int | None) -> Page:
    entries: QuerySet[ActivityEntry] = merchant_activity(merchant=merchant)
    return Paginator(entries, ACTIVITY_PER_PAGE).get_page(page)


def api_keys_for_partner(*, partner: Partner) -> QuerySet[PartnerApiKey]:
    """Active keys first, newest first."""
    return PartnerApiKey.objects.filter(partner=partner).order_by(
        F("revoked_at").asc(nulls_first=True), "-created_at", "-id"
    )


def api_key_for_partner(*, partner: Partner, key_id: int) -> PartnerApiKey:
    key = PartnerApiKey.objects.filter(partner=partner, pk=key_id).first()
    if key is None:
        raise Http404("No such API key.")
    return key


def webhook_deliveries_page(*, partner: Partner, page: str | int | None, endpoint_id: str = "") -> Page:
    """The partner's delivery log, one row per attempt, newest first (optionally one endpoint's)."""
    deliveries = (
        WebhookDelivery.objects.filter(partner=partner)
        .select_related("event__merchant", "endpoint")
        .order_by("-scheduled_at", "-attempt", "-pk")
    )
    if endpoint_id:
        deliveries = deliveries.filter(endpoint=endpoint_get(partner=partner, endpoint_id=endpoint_id))
    return Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(page)


def webhook_delivery_for_partner(*, partner: Partner, delivery_id: int) -> WebhookDelivery:
    delivery = (
        WebhookDelivery.objects.select_related("event", "endpoint").filter(partner=partner, pk=delivery_id).first()
    )
    if delivery is None:
        raise Http404("No such delivery.")
    return delivery
