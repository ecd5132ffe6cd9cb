"""Who is calling: the partner API key in ``Authorization: Bearer``, as ninja's auth for every endpoint."""

from __future__ import annotations

import datetime as dt
import re

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from connexportal.accounts.models import PartnerApiKey
from connexportal.partner_api.problems import UNAUTHORIZED, ApiProblem

# What issue() makes (the demo key's prefix is not hex); anything else is not looked up.
KEY_SHAPE = re.compile(r"cxp_[A-Za-z0-9]{1,12}_[A-Za-z0-9_-]{1,128}")
REALM = 'Bearer realm="Connex Portal partner API"'
# Writing last_used_at on every call would put a row lock on the key on every call.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class PartnerApiKeyAuth(HttpBearer):
    """ninja's Bearer auth for every endpoint; each refusal is a 401 problem with its own challenge."""

    openapi_bearerFormat = "cxp_<prefix>_<secret>"
    openapi_description = "Your partner API key, shown once when created. Rotate by adding a new one."

    def __call__(self, request: HttpRequest) -> PartnerApiKey:
        header = request.headers.get("Authorization", "")
        if not header:
            raise ApiProblem(
                UNAUTHORIZED,
                "Send your API key in the Authorization header: 'Authorization: Bearer cxp_...'.",
                headers={"WWW-Authenticate": REALM},
            )
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise ApiProblem(
                UNAUTHORIZED,
                "The Authorization header must be 'Bearer' followed by one space and your API key.",
                headers={"WWW-Authenticate": f'{REALM}, error="invalid_request"'},
            )
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str) -> PartnerApiKey:
        key = PartnerApiKey.authenticate(token) if KEY_SHAPE.fullmatch(token) else None
        if key is None:
            # One answer for unknown, revoked and inactive-partner keys: no hint which keys exist.
            raise ApiProblem(
                UNAUTHORIZED,
                "The API key is not valid: it is unknown or has been revoked. Check it, or ask for a new one.",
                headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
            )
        _touch(key)
        # Who is acting, for the activity trail (Actor.from_request).
        request.partner_api_key = key
        return key


def _touch(key: PartnerApiKey) -> None:
    now = timezone.now()
    stale_before = now - LAST_USED_RESOLUTION
    if key.last_used_at is not None and key.last_used_at > stale_before:
        return
    # Conditional, so that of many simultaneous calls only one writes.
    PartnerApiKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale_before), pk=key.pk).update(
        last_used_at=now
    )
    key.last_used_at = now
