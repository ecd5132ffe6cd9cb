"""Passwords and bearer tokens (``Authorization: Bearer <token>``, inferred in routes)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.contrib.auth.hashers import make_password

from connexportal.connex import routes
from connexportal.sandbox import conf
from connexportal.sandbox.models import AccessToken, ConnexUser


def normalize_username(username: str) -> str:
    return username.strip().lower()


def check_credentials(username: str, password: str) -> ConnexUser | None:
    user = ConnexUser.objects.filter(username=normalize_username(username)).first()
    if user is None:
        # Hash anyway, so an unknown username takes as long as a wrong password.
        make_password(password)
        return None
    return user if user.check_password(password) else None


def _digest(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


def issue_token(user: ConnexUser, *, now: datetime) -> tuple[str, AccessToken]:
    """A new token for ``user``, valid for CONNEX_SANDBOX_TOKEN_TTL from ``now``; returns (raw, row)."""
    AccessToken.objects.filter(user=user, expires_at__lte=now).delete()
    raw = secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        user=user, token_hash=_digest(raw), issued_at=now, expires_at=now + conf.token_ttl()
    )
    return raw, token


def bearer_token(authorization: str) -> str | None:
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != routes.AUTH_SCHEME.lower() or not credentials.strip():
        return None
    return credentials.strip()


def find_token(raw_token: str) -> AccessToken | None:
    """The token row with its user, expired or not; None when the token was never issued."""
    return AccessToken.objects.select_related("user").filter(token_hash=_digest(raw_token)).first()


def expire_now(token: AccessToken, *, now: datetime) -> None:
    AccessToken.objects.filter(pk=token.pk).update(expires_at=now)
    token.expires_at = now
