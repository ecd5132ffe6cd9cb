"""Connecting a merchant's Connex account from the portal, and pairing a connection's channel again.

* Connect / reconnect: the merchant types a Connex username and password; a real login proves
  them before anything is stored (``credentials.connex_credentials_check``). The merchant never
  chooses the environment: see ``connect_environment``.
* Pair again: a connection whose channel pairing is empty or refused gets new pairing values,
  sent with Settings/Update under their own names only, and never read back.

A partner that provisions its merchants' Connex logins itself switches the first off
(``Partner.allow_credential_editing``); pairing a channel stays with the merchant.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from connexportal.accounts.models import ConnexAccount, Merchant
from connexportal.activity.services import Actor, activity_record
from connexportal.connex import ConnexError
from connexportal.portal import services
from connexportal.portal.credentials import (
    Credentials,
    CredentialsCheck,
    CredentialsRefused,
    connex_credentials_check,
    connex_credentials_refused,
    connex_credentials_save,
)

DEFAULT_SERVICE_NAME = "Connex"


class CredentialEditingOff(services.PortalError):
    """The merchant's partner provisions the Connex login itself; merchants may not change it."""


class NoEnvironment(services.PortalError):
    """No Connex environment is configured on this server, so there is nothing to connect to."""


class PairingNotOffered(services.PortalError):
    """This connection's channel is not paired with values a merchant types (QuickBooks, a custom integration)."""


def service_name(merchant: Merchant) -> str:
    """What the merchant calls the sync service: the partner's name for it, else Connex."""
    partner = merchant.partner
    return (partner.service_name if partner is not None else "") or DEFAULT_SERVICE_NAME


def credential_editing_allowed(merchant: Merchant) -> bool:
    partner = merchant.partner
    return partner is None or partner.allow_credential_editing


def has_account(merchant: Merchant) -> bool:
    return getattr(merchant, "connex_account", None) is not None


def connect_environment(merchant: Merchant) -> str:
    """The environment a merchant's new login is checked and saved in (merchants never choose it).

    In order: the merchant's own account's environment, while this server still has it; the
    environment most of the partner's other merchants use; the only configured one; else
    production, then the sandbox when this server serves it (a demo), then staging.
    """
    configured = settings.CONNEX_ENVIRONMENTS
    account = getattr(merchant, "connex_account", None)
    if account is not None and account.environment in configured:
        return account.environment
    if merchant.partner_id is not None:
        used = Counter(
            ConnexAccount.objects.filter(merchant__partner_id=merchant.partner_id, environment__in=list(configured))
            .exclude(merchant=merchant)
            .values_list("environment", flat=True)
        )
        if used:
            return used.most_common(1)[0][0]
    if len(configured) == 1:
        return next(iter(configured))
    order = ("production", "sandbox", "staging") if settings.CONNEX_SANDBOX else ("production", "staging", "sandbox")
    for name in order:
        if name in configured:
            return name
    raise NoEnvironment(_("No environment is configured on this server, so no account can be connected."))


def connex_account_connect(*, merchant: Merchant, username: str, password: str, actor: Actor) -> CredentialsCheck:
    """Check the login with a real sign-in, then save it as the merchant's account.

    Raises CredentialEditingOff, NoEnvironment, or CredentialsRefused (nothing saved, the attempt
    recorded). When Connex cannot be asked, the login is saved unverified: the returned check
    says so, and it is proved by the first page that uses it.
    """
    if not credential_editing_allowed(merchant):
        raise CredentialEditingOff(_("Your provider manages this connection."))
    credentials = Credentials(connect_environment(merchant), username.strip(), password)
    try:
        check = connex_credentials_check(credentials)
    except CredentialsRefused:
        connex_credentials_refused(merchant=merchant, credentials=credentials, actor=actor)
        raise
    connex_credentials_save(merchant=merchant, credentials=credentials, check=check, actor=actor)
    return check


# --- Pairing a channel again ---------------------------------------------------------------


@dataclass(frozen=True)
class PairingFields:
    """The labels a channel's pairing values have in the merchant's words (``parameter``: None if unused)."""

    login: Promise
    secret: Promise
    parameter: Promise | None = None
    parameter_help: Promise | None = None


# Which value of a channel goes in which pairing setting is not public (the spec says only
# "usually an access token", "usually a refresh token", "used to pair"): inferred, here alone.
PAIRING_FIELDS: dict[int, PairingFields] = {
    1: PairingFields(
        login=gettext_lazy("Amazon seller ID"),
        secret=gettext_lazy("Amazon refresh token"),
        parameter=gettext_lazy("Amazon marketplace ID"),
        parameter_help=gettext_lazy("For example ATVPDKIKX0DER for amazon.com."),
    ),
    2: PairingFields(
        login=gettext_lazy("Shopify access token"),
        secret=gettext_lazy("Shopify API secret"),
        parameter=gettext_lazy("Shopify store address"),
        parameter_help=gettext_lazy("For example your-store.myshopify.com."),
    ),
    3: PairingFields(login=gettext_lazy("eBay user ID"), secret=gettext_lazy("eBay token")),
    5: PairingFields(
        login=gettext_lazy("WooCommerce consumer key"),
        secret=gettext_lazy("WooCommerce consumer secret"),
        parameter=gettext_lazy("Store address"),
        parameter_help=gettext_lazy("For example https://shop.example.com."),
    ),
    6: PairingFields(
        login=gettext_lazy("BigCommerce client ID"),
        secret=gettext_lazy("BigCommerce access token"),
        parameter=gettext_lazy("BigCommerce store hash"),
    ),
    7: PairingFields(login=gettext_lazy("Etsy shop ID"), secret=gettext_lazy("Etsy refresh token")),
    8: PairingFields(login=gettext_lazy("Walmart client ID"), secret=gettext_lazy("Walmart client secret")),
}
GENERIC_PAIRING = PairingFields(login=gettext_lazy("Channel login"), secret=gettext_lazy("Channel password"))
PAIRING_SETTING_NAMES = {"login": "SolutionUserName", "secret": "SolutionPassword", "parameter": "SolutionParameter"}


def pairing_fields(connection: services.ConnectionView) -> PairingFields | None:
    """The fields of the connection's pairing form; None when the portal does not pair that channel."""
    if not connection.can_pair:
        return None
    return PAIRING_FIELDS.get(connection.connection_type, GENERIC_PAIRING)


def connection_for_pairing(*, merchant: Merchant, connection_id: int) -> services.ConnectionView:
    """One of the merchant's connections that the portal can pair (NotFound, PairingNotOffered)."""
    connection = services.connection_cached(merchant=merchant, connection_id=connection_id)
    if pairing_fields(connection) is None:
        raise PairingNotOffered(_("This connection is not paired from here."))
    return connection


def connection_pair(*, merchant: Merchant, connection_id: int, values: dict[str, str], actor: Actor) -> None:
    """Send the channel's new pairing values (keys: login, secret, parameter) with Settings/Update.

    Only the pairing settings are sent, so every other setting stays as it is. The activity
    trail records which were set, never their values.
    """
    if not values or not values.keys() <= PAIRING_SETTING_NAMES.keys():
        raise ValueError(f"not pairing values: {sorted(values)}")
    services._require_connection(merchant, connection_id)
    connection = connection_for_pairing(merchant=merchant, connection_id=connection_id)
    changes = {PAIRING_SETTING_NAMES[key]: value for key, value in values.items()}
    try:
        services._client(merchant).update_settings(connection_id, changes)
    except ConnexError as exc:
        raise services._translate(exc, pgettext_lazy("Connex action", "pair the connection")) from None
    cache.delete(services._cache_key(merchant, "connections"))
    activity_record(
        action="connection.paired",
        actor=actor,
        merchant=merchant,
        target=connection.name,
        changes={name: ("", value) for name, value in changes.items()},
        detail={"connection_id": connection_id},
    )
