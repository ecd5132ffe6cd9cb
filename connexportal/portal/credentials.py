"""Saving a merchant's Connex credentials: proved by a real login before anything is stored.

Every way credentials arrive (the partner API, the admin, a form) goes through here:

* Connex refuses them: ``CredentialsRefused``, and nothing is saved;
* Connex cannot say (down, timing out, answering nonsense): they are saved *unverified*, and
  ``upstream.client_for`` will not use them for anything until a login with them succeeds;
* Connex accepts them: saved verified.

Changing credentials drops the token cached for the old ones, and what the portal cached for the
merchant (its connections) is keyed by the credentials too, so nothing obtained with the old ones
is reachable with the new ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from connexportal.accounts.models import ConnexAccount, Merchant
from connexportal.activity.services import Actor, activity_record
from connexportal.connex import ConnexAuthError, ConnexError
from connexportal.portal import upstream

logger = logging.getLogger(__name__)


class CredentialsRefused(Exception):
    """Connex refused the login: the credentials are wrong (or the environment is)."""

    def __init__(self) -> None:
        super().__init__(
            _("Connex refused this username and password, so nothing was saved. Check them and try again.")
        )


@dataclass(frozen=True)
class Credentials:
    environment: str
    username: str
    password: str


@dataclass(frozen=True)
class CredentialsCheck:
    """Connex accepted the credentials (``verified``), or could not be asked (``reason`` says why)."""

    verified: bool
    reason: str = ""


def connex_credentials_check(credentials: Credentials) -> CredentialsCheck:
    """Log in to Connex with ``credentials``; raises CredentialsRefused when it refuses them."""
    base_url = _base_url(credentials.environment)
    client = upstream.client_for_credentials(base_url, credentials.username, credentials.password)
    try:
        client.verify()
    except ConnexAuthError:
        raise CredentialsRefused() from None
    except ConnexError as exc:
        logger.warning("connex credentials could not be verified now: %s", exc)
        return CredentialsCheck(verified=False, reason=exc.message)
    return CredentialsCheck(verified=True)


def connex_credentials_save(
    *, merchant: Merchant, credentials: Credentials, check: CredentialsCheck, actor: Actor
) -> ConnexAccount:
    """Store checked credentials as the merchant's Connex account (call connex_credentials_check first).

    Callers check outside their transaction (a login can take seconds) and save inside it.
    """
    with transaction.atomic():
        previous = ConnexAccount.objects.select_for_update().filter(merchant=merchant).first()
        account = previous or ConnexAccount(merchant=merchant)
        old = (account.environment, account.username, account.get_password()) if previous else None
        changed = old != (credentials.environment, credentials.username, credentials.password)
        if previous is not None and changed:
            upstream.credentials_forget(previous)
        account.environment = credentials.environment
        account.username = credentials.username
        if changed:
            account.set_password(credentials.password)
        account.verified_at = timezone.now() if check.verified else None
        account.save()
        merchant.connex_account = account
        if changed:
            activity_record(
                action="connex_credentials.changed",
                actor=actor,
                merchant=merchant,
                changes=_changes(old, credentials),
                detail={"verified": check.verified, **({"reason": check.reason} if check.reason else {})},
            )
        elif check.verified:
            activity_record(action="connex_credentials.verified", actor=actor, merchant=merchant)
    return account


def connex_credentials_refused(*, merchant: Merchant | None, credentials: Credentials, actor: Actor) -> None:
    """Record a refused attempt (the password is never recorded)."""
    if merchant is not None and merchant.pk:
        activity_record(
            action="connex_credentials.refused",
            actor=actor,
            merchant=merchant,
            detail={"environment": credentials.environment, "username": credentials.username},
        )


def _changes(old: tuple[str, str, str] | None, new: Credentials) -> dict[str, tuple[object, object]]:
    before = old or ("", "", "")
    changes: dict[str, tuple[object, object]] = {}
    if before[0] != new.environment:
        changes["environment"] = (before[0], new.environment)
    if before[1] != new.username:
        changes["username"] = (before[1], new.username)
    if before[2] != new.password:
        # Masked by the activity trail: it records that the password changed, never what it is.
        changes["password"] = (bool(before[2]), True)
    return changes


def _base_url(environment: str) -> str:
    account = ConnexAccount(environment=environment)
    return upstream.base_url_of(account)
