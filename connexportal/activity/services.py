"""Recording activity: who did what, to what, from where.

``activity_record`` is the only way entries are written. It masks secrets itself (by field
name), so a caller passing a password or a Connex channel secret by mistake stores a mask,
never the value.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.http import HttpRequest

from connexportal.accounts.backends import client_ip as accounts_client_ip
from connexportal.accounts.models import API_KEY_PREFIX, Merchant, Partner, PartnerApiKey
from connexportal.activity.models import ActivityAction, ActivityEntry, ActorKind, Channel

MASK = "••••"
# Field names whose values are secret wherever they appear; the Solution* names are the
# Connex channel settings that hold the sales channel's login.
SECRET_NAME = re.compile(r"password|secret|token|key|solutionusername|solutionparameter", re.IGNORECASE)
# Long values (a pasted certificate, a free-text note) are cut: the trail says what changed, not every byte.
MAX_TEXT = 500


@dataclass(frozen=True)
class Actor:
    """Who acted, and through which door (``channel``) from which address (``ip``)."""

    kind: str
    label: str
    channel: str
    ip: str | None = None
    user: object | None = None
    api_key: PartnerApiKey | None = None
    partner: Partner | None = None

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        ip = client_ip(request)
        api_key = getattr(request, "partner_api_key", None)
        if api_key is not None:
            return cls(
                kind=ActorKind.API_KEY,
                label=api_key_label(api_key),
                channel=Channel.API,
                ip=ip,
                api_key=api_key,
                partner=api_key.partner,
            )
        session = getattr(request, "embed_session", None)
        if session is not None:
            label = session.user_email or f"{session.partner.name} (embedded)"
            return cls(kind=ActorKind.EMBEDDED, label=label, channel=Channel.EMBEDDED, ip=ip, partner=session.partner)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.partner_id is not None:
            return cls(
                kind=ActorKind.PARTNER_USER,
                label=user.email,
                channel=Channel.CONSOLE,
                ip=ip,
                user=user,
                partner=user.partner,
            )
        if user is not None and user.is_authenticated:
            channel = Channel.ADMIN if _is_admin(request) else Channel.DIRECT
            kind = ActorKind.STAFF if user.is_staff else ActorKind.USER
            return cls(kind=kind, label=user.email, channel=channel, ip=ip, user=user)
        channel = Channel.ADMIN if _is_admin(request) else Channel.DIRECT
        return cls(kind=ActorKind.ANONYMOUS, label="", channel=channel, ip=ip)

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(kind=ActorKind.SYSTEM, label=label, channel=Channel.SYSTEM)


def activity_record(
    *,
    action: str,
    actor: Actor,
    merchant: Merchant | None = None,
    partner: Partner | None = None,
    target: str = "",
    changes: Mapping[str, tuple[object, object]] | None = None,
    detail: Mapping[str, object] | None = None,
) -> ActivityEntry:
    """Append one entry; ``changes`` maps a field to (old, new), ``detail`` holds anything else worth keeping."""
    action = ActivityAction(action)
    if partner is None and merchant is not None:
        partner = merchant.partner
    if partner is None:
        partner = actor.partner
    return ActivityEntry.objects.create(
        action=action,
        actor_kind=actor.kind,
        actor_label=actor.label[:254],
        actor_user=actor.user,
        api_key=actor.api_key,
        partner=partner,
        partner_name=partner.name if partner is not None else "",
        merchant=merchant,
        merchant_name=merchant.name if merchant is not None else "",
        target=str(target)[:255],
        changes=masked_changes(changes or {}),
        detail=masked_detail(detail or {}),
        ip=actor.ip,
        channel=actor.channel,
    )


def masked_changes(changes: Mapping[str, tuple[object, object]]) -> dict[str, dict[str, object]]:
    recorded = {}
    for field, (old, new) in changes.items():
        if is_secret_name(field):
            recorded[str(field)] = {"old": _mask(old), "new": _mask(new)}
        else:
            recorded[str(field)] = {"old": _jsonable(old), "new": _jsonable(new)}
    return recorded


def masked_detail(detail: Mapping[str, object]) -> dict[str, object]:
    return {str(name): _mask(value) if is_secret_name(name) else _jsonable(value) for name, value in detail.items()}


def is_secret_name(name: object) -> bool:
    return bool(SECRET_NAME.search(str(name)))


def api_key_label(key: PartnerApiKey) -> str:
    return f"{key.name} ({API_KEY_PREFIX}{key.prefix}…)"


def client_ip(request: HttpRequest) -> str | None:
    # The address the login lockouts count by, behind TRUSTED_PROXY_COUNT proxies.
    address = accounts_client_ip(request) or ""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def _is_admin(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.namespace == "admin"


def _mask(value: object) -> str:
    # Whether a secret is set is worth knowing; what it is, never.
    return MASK if value not in (None, "", b"", False) else ""


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return masked_detail(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(item) for item in value]
    return _jsonable(str(value))
