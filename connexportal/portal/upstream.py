"""Where the portal meets the Connex client: one client per merchant account, tokens in the cache.

Only the portal's services import this module; views never see a client.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from connexportal.accounts.models import ConnexAccount
from connexportal.connex import ConnexClient
from connexportal.connex.tokens import Token

CLIENT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
READ_RETRIES = 2
# Connex's figure is 4 requests/s per account (CONNEX_RATE_LIMIT); a burst of that size lets
# a page and its follow-up call go out at once while the average stays within it.
_transport_override: httpx.BaseTransport | None = None


class AccountNotConfigured(Exception):
    """The merchant has no Connex account, or its environment has no URL on this server."""


class CacheTokenStore:
    """Tokens in Django's cache (Redis in production), so every worker shares one login per account."""

    def get(self, key: str) -> Token | None:
        stored = cache.get(key)
        if not stored:
            return None
        expires_at = dt.datetime.fromisoformat(stored["expires_at"]) if stored.get("expires_at") else None
        return Token(value=stored["value"], expires_at=expires_at)

    def set(self, key: str, token: Token) -> None:
        ttl = token.ttl_seconds()
        if ttl is not None and ttl <= 0:
            return
        payload = {"value": token.value, "expires_at": token.expires_at.isoformat() if token.expires_at else None}
        cache.set(key, payload, timeout=ttl if ttl is not None else 3600)

    def delete(self, key: str) -> None:
        cache.delete(key)


TOKEN_STORE = CacheTokenStore()


def client_for(account: ConnexAccount | None) -> ConnexClient:
    if account is None:
        raise AccountNotConfigured(_("This merchant has no Connex account yet."))
    base_url = account.base_url
    if not base_url:
        raise AccountNotConfigured(
            _("The %(env)s environment is not configured on this server.") % {"env": account.get_environment_display()}
        )
    return ConnexClient(
        base_url,
        account.username,
        account.get_password(),
        timeout=CLIENT_TIMEOUT,
        max_retries=READ_RETRIES,
        transport=_transport_override,
        token_store=TOKEN_STORE,
        rate_limit=settings.CONNEX_RATE_LIMIT or None,
        rate_limit_burst=max(1, int(settings.CONNEX_RATE_LIMIT)),
    )


@contextmanager
def transport_override(transport: httpx.BaseTransport) -> Iterator[None]:
    """Send every upstream call through ``transport`` (tests: the in-process sandbox)."""
    global _transport_override
    previous, _transport_override = _transport_override, transport
    try:
        yield
    finally:
        _transport_override = previous
