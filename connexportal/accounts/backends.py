"""How logins are checked: by email, only for active merchants and partners, counted per client address.

``PortalBackend`` is Django's ModelBackend with three changes: the email is matched as ``User.save``
stores it (trimmed, lower case); a user whose merchant, whose merchant's partner, or (a partner
console user) whose own partner is inactive cannot log in; and such a user's existing sessions
stop resolving to the user (``get_user``), so deactivating a merchant or partner logs its users
out on their next request.

``login_username`` and ``client_ip`` tell django-axes which account and which address a login
attempt belongs to; see AXES_* in settings.py.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from connexportal.accounts.userload import load_user


def normalise_email(value: str) -> str:
    """The email as ``User.save`` stores it."""
    return value.strip().lower()


def account_is_active(user) -> bool:
    """True unless the user's merchant, that merchant's partner, or the user's own partner is deactivated."""
    if user.partner_id is not None and not user.partner.is_active:
        return False
    merchant = user.merchant
    if merchant is None:
        return True
    return merchant.is_active and (merchant.partner is None or merchant.partner.is_active)


class PortalBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is not None:
            username = normalise_email(username)
        return super().authenticate(request, username=username, password=password, **kwargs)

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and account_is_active(user)

    def get_user(self, user_id):
        # One prepared query for the user, its merchant, partner and Connex account, which
        # MerchantMiddleware and the pages reuse (userload.py says why not select_related here).
        user = load_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    async def aget_user(self, user_id):
        user = await (
            get_user_model()
            ._default_manager.select_related("merchant__partner", "merchant__connex_account", "partner")
            .filter(pk=user_id)
            .afirst()
        )
        return user if user is not None and self.user_can_authenticate(user) else None


def login_username(request: HttpRequest | None, credentials: dict | None = None) -> str | None:
    """The account a login attempt is for, as axes counts it: the email, normalised like the login."""
    username = (credentials or {}).get(settings.AXES_USERNAME_FORM_FIELD)
    if username is None and request is not None:
        username = request.POST.get(settings.AXES_USERNAME_FORM_FIELD)
    return normalise_email(username) if isinstance(username, str) else None


def client_ip(request: HttpRequest) -> str | None:
    """The address a request comes from, as far as the configured proxies can be trusted.

    With TRUSTED_PROXY_COUNT = 0 this is the connection's own address (REMOTE_ADDR). With N
    proxies in front of the portal, each appending the address it saw to X-Forwarded-For, the
    client is the N-th entry from the right; anything further left was written by the client
    and is ignored. A header shorter than N, or an entry that is no address, falls back to
    REMOTE_ADDR.
    """
    remote_addr = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies == 0:
        return remote_addr
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < proxies:
        return remote_addr
    try:
        return str(ipaddress.ip_address(forwarded[-proxies]))
    except ValueError:
        return remote_addr
