"""Login failures and lockouts, recorded from Django's and django-axes' signals.

Only the address tried is kept; Django passes the credentials with the password already
scrubbed, and nothing here reads it anyway.
"""

from __future__ import annotations

import dataclasses

from django.contrib.auth import get_user_model

from connexportal.activity.services import Actor, activity_record


def login_failed(sender, credentials, request=None, **kwargs) -> None:
    username = _username(credentials)
    activity_record(
        action="login.failed",
        actor=_actor(request),
        merchant=_merchant_of(username),
        target=username,
    )


def locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    actor = _actor(request)
    if ip_address:
        # django-axes decides the client address with its proxy settings; that is the one it locked.
        actor = dataclasses.replace(actor, ip=ip_address)
    username = (username or "").strip().lower()
    activity_record(action="login.locked_out", actor=actor, merchant=_merchant_of(username), target=username)


def _username(credentials) -> str:
    user_model = get_user_model()
    value = (credentials or {}).get(user_model.USERNAME_FIELD) or (credentials or {}).get("username") or ""
    return str(value).strip().lower()


def _actor(request) -> Actor:
    if request is None:
        return Actor.system("authentication")
    return Actor.from_request(request)


def _merchant_of(username: str):
    if not username:
        return None
    user = get_user_model().objects.select_related("merchant__partner").filter(email=username).first()
    return user.merchant if user is not None else None
