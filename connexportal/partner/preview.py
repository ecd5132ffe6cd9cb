"""The sample connections the branding preview shows: made up, so no merchant's data is ever in it."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class SampleConnection:
    name: str
    channel: str
    initial: str
    slug: str
    level: str
    health: str
    last_sync: str


SAMPLE_CONNECTIONS = (
    SampleConnection("Main street store", "Shopify", "S", "shopify", "ok", _("Healthy"), "2026-03-02 09:15"),
    SampleConnection("Marketplace", "Amazon", "A", "amazon", "error", _("Last sync failed"), "2026-03-01 22:40"),
    SampleConnection(
        "Books", "QuickBooks Online", "Q", "quickbooksonline", "syncing", _("Syncing now"), "2026-03-02 09:30"
    ),
)
