"""What the partner console changes. Merchants are provisioned by the partner API's own services
(connexportal/partner_api/services.py: credential checks, embed sessions ended on deactivation, the
activity trail), so a merchant made in the console is exactly one made over the API."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from connexportal.accounts.models import Merchant, Partner, PartnerApiKey
from connexportal.activity.services import Actor, activity_record, api_key_label
from connexportal.embed.services import launch_create
from connexportal.partner_api import services as provisioning
from connexportal.portal.credentials import Credentials

# Read by a person about to open the tab: a short life, and the launch is single use anyway.
OPEN_AS_MERCHANT_TTL_SECONDS = 120


class MerchantNotAddressable(Exception):
    """A merchant without an external id (made by staff in the admin): the console reads it only."""


def _external_id(merchant: Merchant) -> str:
    if not merchant.external_id:
        raise MerchantNotAddressable(merchant.pk)
    return merchant.external_id


def merchant_create(*, partner: Partner, values: dict, credentials: Credentials | None, actor: Actor) -> Merchant:
    """Raises MerchantExists, or CredentialsRefused (nothing created) when Connex refuses the login."""
    return provisioning.merchant_create(
        partner=partner,
        external_id=values["external_id"],
        name=values["name"],
        timezone_name=values["timezone"],
        currency=values["currency"],
        credentials=credentials,
        actor=actor,
    )


def merchant_update(
    *, partner: Partner, merchant: Merchant, changes: dict, credential_changes: dict | None, actor: Actor
) -> Merchant:
    """Raises CredentialsRefused (nothing changed) or CredentialsIncomplete."""
    return provisioning.merchant_update(
        partner=partner,
        external_id=_external_id(merchant),
        changes=changes,
        credential_changes=credential_changes,
        actor=actor,
    )


def merchant_deactivate(*, partner: Partner, merchant: Merchant, actor: Actor) -> Merchant:
    return provisioning.merchant_deactivate(partner=partner, external_id=_external_id(merchant), actor=actor)


def merchant_reactivate(*, partner: Partner, merchant: Merchant, actor: Actor) -> Merchant:
    return merchant_update(
        partner=partner, merchant=merchant, changes={"is_active": True}, credential_changes=None, actor=actor
    )


def merchant_open_as(*, partner: Partner, merchant: Merchant, actor: Actor) -> str:
    """A single-use launch path that opens the portal as ``merchant`` (support), recorded in its trail.

    What the person then does in that tab is recorded under their email, as an embedded user.
    """
    if not merchant.is_active:
        raise provisioning.MerchantInactive(merchant.external_id or str(merchant.pk))
    with transaction.atomic():
        path, expires_at = launch_create(
            partner=partner, merchant=merchant, user_email=actor.label, ttl_seconds=OPEN_AS_MERCHANT_TTL_SECONDS
        )
        activity_record(
            action="merchant.opened_as",
            actor=actor,
            merchant=merchant,
            target=merchant.external_id,
            detail={"launch_expires_at": expires_at},
        )
    return path


def api_key_issue(*, partner: Partner, name: str, actor: Actor) -> tuple[PartnerApiKey, str]:
    """A new key and its plaintext, which the caller shows once and never stores."""
    with transaction.atomic():
        key, plaintext = PartnerApiKey.issue(partner, name=name)
        activity_record(action="api_key.issued", actor=actor, partner=partner, target=api_key_label(key))
    return key, plaintext


def api_key_revoke(*, partner: Partner, key: PartnerApiKey, actor: Actor) -> PartnerApiKey:
    """Revoke the key at once (its next call is refused); revoking a revoked key changes nothing."""
    with transaction.atomic():
        key = PartnerApiKey.objects.select_for_update().get(pk=key.pk, partner=partner)
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            activity_record(
                action="api_key.revoked",
                actor=actor,
                partner=partner,
                target=api_key_label(key),
                changes={"revoked_at": (None, key.revoked_at)},
            )
    return key


def branding_save(*, form, actor: Actor) -> Partner:
    """Save the console's branding form (a PartnerForm) and record what changed, as the admin does."""
    with transaction.atomic():
        before = Partner.objects.select_for_update().get(pk=form.instance.pk)
        partner = form.save()
        changes = {}
        for name in form.changed_data:
            if name == "logo_file":
                changes["logo"] = ("", "changed")
            elif name == "remove_logo":
                changes["logo"] = ("", "removed")
            else:
                changes[name] = (getattr(before, name), getattr(partner, name))
        if changes:
            activity_record(
                action="partner.changed", actor=actor, partner=partner, target=partner.name, changes=changes
            )
    return partner
