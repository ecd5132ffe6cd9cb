"""Where the portal meets the Connex client: one client per merchant account, tokens in the cache.

Every cache entry that grants upstream access (the token, the login lock, the rate bucket) is keyed
by ``account_key``: an HMAC, under a secret derived from SECRET_KEY, of the account's exact base URL,
username and password. Credentials nobody has verified are never used: the first use logs in with
them, and only a login Connex accepts marks them verified.

With the cache in Redis, the rate bucket and the login lock are in that Redis too (connex/shared.py),
so every gunicorn worker, task worker and machine shares one throttle and one login per account;
without Redis they are per process, like the local-memory cache.

Only services import this module; views never see a client.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from connexportal.accounts.branding import service_name
from connexportal.accounts.crypto import decrypt
from connexportal.accounts.models import ConnexAccount
from connexportal.activity.services import Actor, activity_record
from connexportal.connex import ConnexClient, account_key
from connexportal.connex.ratelimit import ACCOUNT_LIMITERS, Throttles
from connexportal.connex.shared import RedisLoginLocks, RedisThrottles, redis_client
from connexportal.connex.tokens import LOGIN_FLIGHTS, LoginLocks, Token

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


def key_secret() -> bytes:
    """The server secret behind every access-granting cache key (shared by all processes with one SECRET_KEY)."""
    return _key_secret(settings.SECRET_KEY)


@functools.cache
def _key_secret(secret_key: str) -> bytes:
    return salted_hmac(
        "connexportal.portal.upstream.account_key", "connex", secret=secret_key, algorithm="sha256"
    ).digest()


def base_url_of(account: ConnexAccount) -> str:
    base_url = account.base_url
    if not base_url:
        raise AccountNotConfigured(
            _("The %(env)s environment is not configured on this server.") % {"env": account.get_environment_display()}
        )
    return base_url


def credentials_key(account: ConnexAccount) -> str:
    """The access key of the account's current credentials (its tokens live under it)."""
    return _credentials_key(
        base_url_of(account), account.username, account.password_encrypted, _encryption_keys(), key_secret()
    )


def password_of(account: ConnexAccount) -> str:
    """The account's Connex password (decrypted once per process for each stored ciphertext)."""
    return _password(account.password_encrypted, _encryption_keys())


def _encryption_keys() -> tuple[str, ...]:
    return tuple(settings.FIELD_ENCRYPTION_KEYS)


# Every page needs the account's password and access key. Both follow from what is stored
# (the ciphertext) and the server's keys, so each process works them out once per credentials
# instead of a Fernet decryption and an HMAC per request; new credentials are a new ciphertext.
@functools.lru_cache(maxsize=1024)
def _password(ciphertext: str, keys: tuple[str, ...]) -> str:
    return decrypt(ciphertext)


@functools.lru_cache(maxsize=1024)
def _credentials_key(base_url: str, username: str, ciphertext: str, keys: tuple[str, ...], secret: bytes) -> str:
    return account_key(base_url, username, _password(ciphertext, keys), secret=secret)


def shared_limits() -> tuple[Throttles, LoginLocks]:
    """Where throttles and login locks live: the cache's Redis when it has one, else this process."""
    if not isinstance(caches["default"], RedisCache):
        return ACCOUNT_LIMITERS, LOGIN_FLIGHTS
    cache_settings = settings.CACHES["default"]
    location = cache_settings["LOCATION"]
    first = location if isinstance(location, str) else location[0]
    return _redis_limits(first, f"{cache_settings.get('KEY_PREFIX') or 'connexportal'}:connex:")


@functools.cache
def _redis_limits(url: str, prefix: str) -> tuple[Throttles, LoginLocks]:
    # One Redis connection pool per process, made on first use (after gunicorn has forked).
    client = redis_client(url)
    return RedisThrottles(client, prefix=prefix), RedisLoginLocks(client, prefix=prefix)


def client_for_credentials(base_url: str, username: str, password: str, *, background: bool = False) -> ConnexClient:
    """A client of those credentials; ``background`` callers (tasks) wait for the throttle as long
    as their call's budget allows, page requests at most CONNEX_MAX_THROTTLE_WAIT seconds."""
    rate_limiters, login_locks = shared_limits()
    return ConnexClient(
        base_url,
        username,
        password,
        timeout=CLIENT_TIMEOUT,
        max_retries=READ_RETRIES,
        transport=_transport_override,
        token_store=TOKEN_STORE,
        key_secret=key_secret(),
        rate_limit=settings.CONNEX_RATE_LIMIT or None,
        rate_limit_burst=max(1, int(settings.CONNEX_RATE_LIMIT)),
        rate_limiters=rate_limiters,
        login_locks=login_locks,
        max_throttle_wait=None if background else settings.CONNEX_MAX_THROTTLE_WAIT,
    )


def client_for(account: ConnexAccount | None, *, background: bool = False) -> ConnexClient:
    """A client of the account; unverified credentials are proved by a login first.

    Raises AccountNotConfigured, or the client's ConnexError when the proof fails (ConnexThrottled
    when the account's rate is taken further ahead than the caller may wait).
    """
    if account is None:
        raise AccountNotConfigured(_("This merchant has no %(service)s account yet.") % {"service": service_name()})
    client = client_for_credentials(base_url_of(account), account.username, password_of(account), background=background)
    if account.verified_at is None:
        client.verify()
        if account_mark_verified(account):
            activity_record(
                action="connex_credentials.verified",
                actor=Actor.system(),
                merchant=account.merchant,
                detail={"when": "first use"},
            )
    return client


def account_mark_verified(account: ConnexAccount) -> bool:
    """Record that Connex accepted the account's credentials, unless they changed meanwhile."""
    now = timezone.now()
    # An update, not save(): updated_at versions the portal's cached views, and these did not change.
    marked = ConnexAccount.objects.filter(
        pk=account.pk,
        environment=account.environment,
        username=account.username,
        password_encrypted=account.password_encrypted,
    ).update(verified_at=now)
    if marked:
        account.verified_at = now
    return bool(marked)


def credentials_forget(account: ConnexAccount) -> None:
    """Drop the token cached for the account's current credentials (they are about to change)."""
    try:
        TOKEN_STORE.delete(credentials_key(account))
    except AccountNotConfigured:
        return


@contextmanager
def transport_override(transport: httpx.BaseTransport) -> Iterator[None]:
    """Send every upstream call through ``transport`` (tests: the in-process sandbox)."""
    global _transport_override
    previous, _transport_override = _transport_override, transport
    try:
        yield
    finally:
        _transport_override = previous
