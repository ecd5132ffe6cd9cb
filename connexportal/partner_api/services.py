"""Merchant provisioning and embed sessions for a partner, always within that partner's merchants.

Every lookup is by (partner, external id): another partner's merchant is, for
the caller, a merchant that does not exist.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from connexportal.accounts.models import ConnexAccount, Merchant, Partner
from connexportal.activity.models import ActivityEntry
from connexportal.activity.selectors import merchant_activity
from connexportal.activity.services import Actor, activity_record
from connexportal.embed.models import EmbedSession
from connexportal.embed.services import launch_create
from connexportal.partner_api.schemas import EXTERNAL_ID_PATTERN
from connexportal.portal.credentials import (
    Credentials,
    CredentialsCheck,
    CredentialsRefused,
    connex_credentials_check,
    connex_credentials_refused,
    connex_credentials_save,
)

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
    """Create the merchant; its Connex credentials, if given, are first tried against Connex.

    Raises CredentialsRefused (nothing created) when Connex refuses them.
    """
    if Merchant.objects.filter(partner=partner, external_id=external_id).exists():
        raise MerchantExists(external_id)
    check = connex_credentials_check(credentials) if credentials is not None else None
    try:
        with transaction.atomic():
            merchant = Merchant.objects.create(
                partner=partner, external_id=external_id, name=name, timezone=timezone_name, currency=currency
            )
            if credentials is not None and check is not None:
                connex_credentials_save(merchant=merchant, credentials=credentials, check=check, actor=actor)
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
    """Change the given merchant fields and Connex credentials; what is not given stays.

    Credentials that result from the change (even a username alone) are first tried against Connex:
    CredentialsRefused, and nothing changes, when Connex refuses them.
    """
    unknown = set(changes) - MERCHANT_FIELDS
    if unknown:
        raise ValueError(f"not merchant fields: {sorted(unknown)}")
    checked: tuple[Credentials, CredentialsCheck] | None = None
    if credential_changes:
        # The login happens outside the transaction: it may take seconds, and must not hold the lock.
        current = merchant_get(partner=partner, external_id=external_id)
        wanted = _credentials_merged(current, credential_changes)
        try:
            checked = wanted, connex_credentials_check(wanted)
        except CredentialsRefused:
            connex_credentials_refused(merchant=current, credentials=wanted, actor=actor)
            raise
    with transaction.atomic():
        merchant = _merchant_locked(partner=partner, external_id=external_id)
        if credential_changes and checked is not None:
            wanted, check = checked
            if _credentials_merged(merchant, credential_changes) != wanted:
                # Changed by someone else since the login: what is saved now was not the one tried.
                wanted, check = _credentials_merged(merchant, credential_changes), CredentialsCheck(verified=False)
            connex_credentials_save(merchant=merchant, credentials=wanted, check=check, actor=actor)
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


def _credentials_merged(merchant: Merchant, values: Mapping[str, str]) -> Credentials:
    """The credentials the merchant has after ``values`` change them."""
    account: ConnexAccount | None = getattr(merchant, "connex_account", None)
    if account is None:
        missing = [name for name in CREDENTIAL_FIELDS if name not in values]
        if missing:
            raise CredentialsIncomplete(missing)
        return Credentials(values["environment"], values["username"], values["password"])
    return Credentials(
        values.get("environment", account.environment),
        values.get("username", account.username),
        values["password"] if "password" in values else account.get_password(),
    )


def _embed_sessions_revoke(merchant: Merchant) -> None:
    # A deactivated merchant must drop out of every open iframe, not only refuse new launches.
    EmbedSession.objects.filter(merchant=merchant, revoked_at__isnull=True).update(revoked_at=timezone.now())
