"""Embedding services: minting launch URLs for partners, and what the embedded portal needs."""

from __future__ import annotations

import datetime as dt
import enum

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from connexportal.accounts.models import Merchant, Partner
from connexportal.embed.models import EmbedLaunch, EmbedSession, hash_token, new_token

MAX_LAUNCH_TTL = dt.timedelta(minutes=10)
# Absolute, not sliding: the host page mints a new session when it hears `session_expired`.
SESSION_TTL = dt.timedelta(minutes=60)


class Refusal(enum.StrEnum):
    """Why a launch or session token was not accepted."""

    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    INACTIVE = "inactive"


class TokenRefused(Exception):
    """A launch or session token that does not open the portal.

    ``partner`` and ``language`` are those of the launch or session the token named, when it named
    one: they decide where the refusal may be framed and how it is worded. None for unknown tokens.
    """

    def __init__(self, reason: Refusal, *, partner: Partner | None = None, language: str = "") -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.partner = partner
        self.language = language


class LaunchRefused(TokenRefused):
    pass


class SessionRefused(TokenRefused):
    pass


def _embeddable(partner: Partner, merchant: Merchant) -> bool:
    return partner.is_active and merchant.is_active and merchant.partner_id == partner.pk


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


def launch_exchange(*, token: str) -> tuple[EmbedSession, str]:
    """Exchange a launch token, once, for a new embed session; returns it with its plaintext token.

    Raises LaunchRefused when the token is unknown, already used, expired, or its partner or
    merchant is no longer active.
    """
    now = timezone.now()
    with transaction.atomic():
        launch = EmbedLaunch.objects.select_related("partner", "merchant").filter(token_hash=hash_token(token)).first()
        if launch is None:
            raise LaunchRefused(Refusal.UNKNOWN)
        refused = {"partner": launch.partner, "language": launch.language}
        if launch.used_at is not None:
            raise LaunchRefused(Refusal.USED, **refused)
        if launch.expires_at <= now:
            raise LaunchRefused(Refusal.EXPIRED, **refused)
        if not _embeddable(launch.partner, launch.merchant):
            raise LaunchRefused(Refusal.INACTIVE, **refused)
        # The single-use guarantee: of two concurrent exchanges only one UPDATE still matches
        # used_at IS NULL (PostgreSQL re-checks it after the row lock; SQLite writes one at a time).
        claimed = EmbedLaunch.objects.filter(pk=launch.pk, used_at__isnull=True).update(used_at=now)
        if not claimed:
            raise LaunchRefused(Refusal.USED, **refused)
        session_token = new_token()
        session = EmbedSession.objects.create(
            token_hash=hash_token(session_token),
            launch=launch,
            partner=launch.partner,
            merchant=launch.merchant,
            user_email=launch.user_email,
            language=launch.language,
            created_at=now,
            expires_at=now + SESSION_TTL,
        )
    return session, session_token


def session_authenticate(*, token: str) -> EmbedSession:
    """The live embed session this token opens, with its partner and merchant loaded.

    Raises SessionRefused when the token is unknown, the session expired or was revoked, or its
    partner or merchant is no longer active (or the merchant moved to another partner).
    """
    session = (
        EmbedSession.objects.select_related("partner", "merchant__partner", "merchant__connex_account")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if session is None:
        raise SessionRefused(Refusal.UNKNOWN)
    refused = {"partner": session.partner, "language": session.language}
    if session.revoked_at is not None or session.expires_at <= timezone.now():
        raise SessionRefused(Refusal.EXPIRED, **refused)
    if not _embeddable(session.partner, session.merchant):
        raise SessionRefused(Refusal.INACTIVE, **refused)
    return session
