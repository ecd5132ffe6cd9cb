"""Merchant provisioning and embed sessions for a partner, always within that partner's merchants.

Every lookup is by (partner, external id): another partner's merchant is, for
the caller, a merchant that does not exist.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from connexportal.accounts.models import ConnexAccount, Merchant, Partner
from connexportal.activity.models import ActivityEntry
from connexportal.activity.selectors import merchant_activity
from connexportal.activity.services import Actor, activity_record
from connexportal.embed.api.schemas import EXTERNAL_ID_PATTERN
from connexportal.embed.models import EmbedSession
from connexportal.embed.services import launch_create

MERCHANT_FIELDS = frozenset({"name", "timezone", "currency", "is_active"})
CREDENTIAL_FIELDS = ("environment", "username", "password")


class ProvisioningError(Exception):
    """A request the partner's data does not allow."""


class MerchantNotFound(ProvisioningError):
    def __init__(self, external_id: str):
        super().__init__(f"You have no merchant with external id {external_id!r}.")


class MerchantExists(ProvisioningError):
    def __init__(self, external_id: str):
        super().__init__(f"You already have a merchant with external id {external_id!r}.")


class MerchantInactive(ProvisioningError):
    def __init__(self, external_id: str):
        super().__init__(
            f"The merchant {external_id!r} is deactivated, so it cannot be embedded. "
            'Reactivate it with PATCH {"is_active": true} first.'
        )


class CredentialsIncomplete(ProvisioningError):
    def __init__(self, missing: list[str]):
        self.missing = missing
        super().__init__("The merchant has no Connex account yet, so environment, username and password are needed.")


@dataclass(frozen=True)
class Credentials:
    environment: str
    username: str
    password: str


def merchant_list(*, partner: Partner) -> QuerySet[Merchant]:
    """The partner's API-addressable merchants (those with an external id), oldest first: pages stay stable."""
    return (
        Merchant.objects.filter(partner=partner)
        .exclude(external_id="")
        .select_related("connex_account")
        .order_by("created_at", "id")
    )


def merchant_get(*, partner: Partner, external_id: str) -> Merchant:
    merchant = _addressable(partner, external_id).first()
    if merchant is None:
        raise MerchantNotFound(external_id)
    return merchant


def merchant_create(
    *,
    partner: Partner,
    external_id: str,
    name: str,
    timezone_name: str,
    currency: str,
    credentials: Credentials | None,
    actor: Actor,
) -> Merchant:
    try:
        with transaction.atomic():
            merchant = Merchant.objects.create(
                partner=partner, external_id=external_id, name=name, timezone=timezone_name, currency=currency
            )
            if credentials is not None:
                _credentials_save(ConnexAccount(merchant=merchant), asdict(credentials))
            activity_record(
                action="merchant.created",
                actor=actor,
                merchant=merchant,
                target=external_id,
                changes={
                    field: (None, getattr(merchant, field)) for field in ("name", "timezone", "currency", "is_active")
                },
                detail={"connex_environment": credentials.environment} if credentials is not None else None,
            )
    except IntegrityError:
        # The unique constraint decides between two simultaneous creates; checking first would race.
        if Merchant.objects.filter(partner=partner, external_id=external_id).exists():
            raise MerchantExists(external_id) from None
        raise
    return merchant_get(partner=partner, external_id=external_id)


def merchant_update(
    *,
    partner: Partner,
    external_id: str,
    changes: Mapping[str, object],
    credential_changes: Mapping[str, str] | None,
    actor: Actor,
) -> Merchant:
    """Change the given merchant fields and Connex credentials; what is not given stays."""
    unknown = set(changes) - MERCHANT_FIELDS
    if unknown:
        raise ValueError(f"not merchant fields: {sorted(unknown)}")
    with transaction.atomic():
        merchant = _merchant_locked(partner=partner, external_id=external_id)
        if credential_changes:
            account = getattr(merchant, "connex_account", None)
            if account is None:
                missing = [name for name in CREDENTIAL_FIELDS if name not in credential_changes]
                if missing:
                    raise CredentialsIncomplete(missing)
                account = ConnexAccount(merchant=merchant)
            _credentials_save(account, credential_changes)
        if changes.get("is_active") is False:
            _embed_sessions_revoke(merchant)
        changed = {name: (getattr(merchant, name), value) for name, value in changes.items()}
        for name, value in changes.items():
            setattr(merchant, name, value)
        if changes or credential_changes:
            merchant.save()
        changed = {name: values for name, values in changed.items() if values[0] != values[1]}
        if changed:
            deactivated = changed.get("is_active") == (True, False)
            activity_record(
                action="merchant.deactivated" if deactivated else "merchant.changed",
                actor=actor,
                merchant=merchant,
                target=external_id,
                changes=changed,
            )
    return merchant_get(partner=partner, external_id=external_id)


def merchant_deactivate(*, partner: Partner, external_id: str, actor: Actor) -> Merchant:
    """Deactivate the merchant and end its embed sessions; deactivating an inactive merchant changes nothing."""
    with transaction.atomic():
        merchant = _merchant_locked(partner=partner, external_id=external_id)
        if merchant.is_active:
            merchant.is_active = False
            merchant.save(update_fields=["is_active", "updated_at"])
            activity_record(
                action="merchant.deactivated",
                actor=actor,
                merchant=merchant,
                target=external_id,
                changes={"is_active": (True, False)},
            )
        _embed_sessions_revoke(merchant)
    return merchant


def embed_launch_create(
    *, partner: Partner, external_id: str, user_email: str, language: str, ttl_seconds: int | None
) -> tuple[str, dt.datetime]:
    """A single-use launch path for the partner's active merchant, and when it expires."""
    merchant = merchant_get(partner=partner, external_id=external_id)
    if not merchant.is_active:
        raise MerchantInactive(external_id)
    return launch_create(
        partner=partner, merchant=merchant, user_email=user_email, language=language, ttl_seconds=ttl_seconds
    )


def merchant_activity_list(*, partner: Partner, external_id: str) -> QuerySet[ActivityEntry]:
    """The activity trail of one of the partner's merchants, newest first (what its /activity/ page shows)."""
    return merchant_activity(merchant=merchant_get(partner=partner, external_id=external_id))


def _addressable(partner: Partner, external_id: str) -> QuerySet[Merchant]:
    # An id no merchant can have is not looked up: PostgreSQL refuses some (a NUL) outright.
    if not re.fullmatch(EXTERNAL_ID_PATTERN, external_id):
        return Merchant.objects.none()
    return merchant_list(partner=partner).filter(external_id=external_id)


def _merchant_locked(*, partner: Partner, external_id: str) -> Merchant:
    # Locks only the merchant row: PostgreSQL refuses FOR UPDATE on the outer-joined Connex account.
    merchant = _addressable(partner, external_id).select_for_update(of=("self",)).first()
    if merchant is None:
        raise MerchantNotFound(external_id)
    return merchant


def _credentials_save(account: ConnexAccount, values: Mapping[str, str]) -> None:
    if "environment" in values:
        account.environment = values["environment"]
    if "username" in values:
        account.username = values["username"]
    if "password" in values:
        account.set_password(values["password"])
    account.save()


def _embed_sessions_revoke(merchant: Merchant) -> None:
    # A deactivated merchant must drop out of every open iframe, not only refuse new launches.
    EmbedSession.objects.filter(merchant=merchant, revoked_at__isnull=True).update(revoked_at=timezone.now())
