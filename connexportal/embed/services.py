"""Embedding services: minting launch URLs for partners, and what the embedded portal needs."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from connexportal.accounts.models import Merchant, Partner
from connexportal.embed.models import EmbedLaunch, hash_token, new_token

MAX_LAUNCH_TTL = dt.timedelta(minutes=10)


def launch_create(
    *,
    partner: Partner,
    merchant: Merchant,
    user_email: str = "",
    language: str = "",
    ttl_seconds: int | None = None,
) -> tuple[str, dt.datetime]:
    """A single-use launch path for ``merchant`` (which must be ``partner``'s), valid at most 10 minutes.

    Returns the path (the caller makes it absolute) and when it expires.
    """
    if merchant.partner_id != partner.pk:
        raise ValueError("merchant does not belong to partner")
    if language and language not in dict(settings.LANGUAGES):
        raise ValueError(f"unsupported language {language!r}")
    ttl = MAX_LAUNCH_TTL if ttl_seconds is None else min(dt.timedelta(seconds=ttl_seconds), MAX_LAUNCH_TTL)
    if ttl <= dt.timedelta(0):
        raise ValueError("ttl_seconds must be positive")
    token = new_token()
    launch = EmbedLaunch.objects.create(
        token_hash=hash_token(token),
        partner=partner,
        merchant=merchant,
        user_email=user_email,
        language=language,
        expires_at=timezone.now() + ttl,
    )
    return reverse("embed:launch", args=[token]), launch.expires_at
