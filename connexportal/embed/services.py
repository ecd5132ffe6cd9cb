"""Embedding services: minting launch URLs for partners, and what the embedded portal needs."""

from __future__ import annotations

import base64
import datetime as dt
import enum

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from connexportal.accounts.models import Merchant, Partner
from connexportal.embed.models import EmbedLaunch, EmbedSession, NavigationTicket, hash_token, new_token

MAX_LAUNCH_TTL = dt.timedelta(minutes=10)
# Absolute, not sliding: the host page mints a new session when it hears `session_expired`.
SESSION_TTL = dt.timedelta(minutes=60)
# A ticket is minted the moment before the browser follows it: a minute is ample, and whoever
# reads it later (an access log, a history entry) finds it spent or expired.
NAVIGATION_TICKET_TTL = dt.timedelta(seconds=60)


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


class TicketRefused(TokenRefused):
    """A navigation ticket that is unknown, spent or expired (its session may still be live)."""


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
    _session_check(session)
    return session


def _session_check(session: EmbedSession) -> None:
    refused = {"partner": session.partner, "language": session.language}
    if session.revoked_at is not None or session.expires_at <= timezone.now():
        raise SessionRefused(Refusal.EXPIRED, **refused)
    if not _embeddable(session.partner, session.merchant):
        raise SessionRefused(Refusal.INACTIVE, **refused)


def _ticket_cipher(ticket: str) -> Fernet:
    # The key comes from the ticket, which is never stored: the sealed token in the database
    # opens nothing without the ticket, and the ticket opens nothing once spent.
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"connex-portal navigation ticket").derive(
        ticket.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def navigation_ticket_create(*, session: EmbedSession, session_token: str) -> str:
    """A single-use ticket that opens one page of ``session`` within NAVIGATION_TICKET_TTL; returns it.

    ``session_token`` must be the session's own token (the caller authenticated with it): the page
    the ticket opens gets it back to send on, in its header.
    """
    if hash_token(session_token) != session.token_hash:
        raise ValueError("session_token does not belong to session")
    ticket = new_token()
    now = timezone.now()
    NavigationTicket.objects.create(
        token_hash=hash_token(ticket),
        session=session,
        sealed_session_token=_ticket_cipher(ticket).encrypt(session_token.encode()).decode(),
        created_at=now,
        expires_at=now + NAVIGATION_TICKET_TTL,
    )
    return ticket


def navigation_ticket_redeem(*, ticket: str) -> tuple[EmbedSession, str]:
    """Spend ``ticket``, once: the live session it was minted for, with that session's token.

    Raises TicketRefused when the ticket is unknown, already used or expired (the reason says
    which), and SessionRefused when its session has ended since (expired, revoked, or its partner
    or merchant switched off). Any use spends the ticket, even one that is then refused.
    """
    now = timezone.now()
    row = (
        NavigationTicket.objects.select_related(
            "session__partner", "session__merchant__partner", "session__merchant__connex_account"
        )
        .filter(token_hash=hash_token(ticket))
        .first()
    )
    if row is None:
        raise TicketRefused(Refusal.UNKNOWN)
    session = row.session
    refused = {"partner": session.partner, "language": session.language}
    if row.used_at is not None:
        raise TicketRefused(Refusal.USED, **refused)
    if row.expires_at <= now:
        raise TicketRefused(Refusal.EXPIRED, **refused)
    # The single-use guarantee, as for launch tokens: of two concurrent uses only one UPDATE
    # still matches used_at IS NULL (PostgreSQL re-checks it after the row lock).
    if not NavigationTicket.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now):
        raise TicketRefused(Refusal.USED, **refused)
    _session_check(session)
    try:
        session_token = _ticket_cipher(ticket).decrypt(row.sealed_session_token.encode()).decode()
    except InvalidToken:
        raise TicketRefused(Refusal.UNKNOWN, **refused) from None
    if hash_token(session_token) != session.token_hash:
        raise TicketRefused(Refusal.UNKNOWN, **refused)
    return session, session_token
