"""Reading the activity trail: what a merchant (and its partner, through the API) may see."""

from __future__ import annotations

from django.db.models import QuerySet

from connexportal.accounts.models import Merchant
from connexportal.activity.models import ActivityAction, ActivityEntry

# Changes to the merchant and its syncs. Login failures and lockouts stay with staff: they
# name addresses people typed, which may not even be this merchant's users.
MERCHANT_ACTIONS = frozenset(
    {
        ActivityAction.SETTINGS_SAVED,
        ActivityAction.RUN_NOW_STARTED,
        ActivityAction.CONNECTION_PAIRED,
        ActivityAction.CONNEX_CREDENTIALS_CHANGED,
        ActivityAction.CONNEX_CREDENTIALS_VERIFIED,
        ActivityAction.CONNEX_CREDENTIALS_REFUSED,
        ActivityAction.MERCHANT_CREATED,
        ActivityAction.MERCHANT_CHANGED,
        ActivityAction.MERCHANT_DEACTIVATED,
        ActivityAction.MERCHANT_OPENED_AS,
    }
)


def merchant_activity(*, merchant: Merchant) -> QuerySet[ActivityEntry]:
    """The merchant's own entries, newest first."""
    return ActivityEntry.objects.filter(merchant=merchant, action__in=MERCHANT_ACTIONS).order_by("-created_at", "-id")
