"""Retention: what the portal keeps only for a while, deleted in one pass.

* activity entries older than ``ACTIVITY_RETENTION_DAYS``;
* webhook events (with their delivery attempts) older than the same;
* embed launches, embed sessions and navigation tickets a day after they expired, were used
  up or were revoked: they authorise nothing any more, and hold who opened the portal when;
* expired login sessions.
"""

from __future__ import annotations

import datetime as dt
import logging
from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connexportal.activity.models import ActivityEntry
from connexportal.embed.models import EmbedLaunch, EmbedSession, NavigationTicket
from connexportal.webhooks.models import WebhookEvent

logger = logging.getLogger(__name__)

# Spent embedding rows are kept this long, so a refusal just after expiry can still be explained.
SPENT_GRACE = dt.timedelta(days=1)


def retention_prune(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete what is past its retention; returns how many rows of each kind went."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.ACTIVITY_RETENTION_DAYS)
    spent_before = now - SPENT_GRACE
    counts: dict[str, int] = {}
    with transaction.atomic():
        counts["activity"] = ActivityEntry.objects.prune_older_than(cutoff)
        counts["webhook_events"] = _delete(WebhookEvent.objects.filter(created_at__lt=cutoff))
        counts["navigation_tickets"] = _delete(
            NavigationTicket.objects.filter(Q(expires_at__lt=spent_before) | Q(used_at__lt=spent_before))
        )
        counts["embed_sessions"] = _delete(
            EmbedSession.objects.filter(Q(expires_at__lt=spent_before) | Q(revoked_at__lt=spent_before))
        )
        # A launch goes with its session (one-to-one, cascading), so only launches left without one.
        counts["embed_launches"] = _delete(
            EmbedLaunch.objects.filter(expires_at__lt=spent_before, session__isnull=True)
        )
    # The session store's own clean-up: what `manage.py clearsessions` does.
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    logger.info("retention: pruned %s", ", ".join(f"{count} {name}" for name, count in counts.items()))
    return counts


def _delete(queryset) -> int:
    # Rows of the queryset's own model only, not the cascaded ones, as the count to report.
    _total, by_model = queryset.delete()
    return by_model.get(queryset.model._meta.label, 0)
