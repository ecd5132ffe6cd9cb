"""The partner console against the in-process sandbox: seed_demo's partner, its merchants and its
console login (partner@demo.test), plus a second partner with a merchant of its own."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.portal.conftest import merchant_client, sandbox  # noqa: F401

PARTNER_EMAIL = "partner@demo.test"


@pytest.fixture
def demo_partner(sandbox):  # noqa: F811
    from connexportal.accounts.models import Partner

    return Partner.objects.get(name="Demo Partner")


@pytest.fixture
def partner_client(sandbox):  # noqa: F811
    from connexportal.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=PARTNER_EMAIL))
    return client


@pytest.fixture
def support_client(demo_partner):
    """A user of the demo partner who is not one of its administrators."""
    from connexportal.accounts.models import User

    user = User.objects.create_user("support@demo.test", "support-pass", partner=demo_partner)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def rival(sandbox):  # noqa: F811
    """Another partner, with a merchant, an API key and a console user of its own."""
    from connexportal.accounts.models import Merchant, Partner, PartnerApiKey, User

    partner = Partner.objects.create(name="Rival Partner")
    merchant = Merchant.objects.create(partner=partner, external_id="rival-1", name="Rival Shop")
    key, _plaintext = PartnerApiKey.issue(partner, name="rival")
    user = User.objects.create_user("rival@partner.test", "rival-pass", partner=partner, is_partner_admin=True)
    return {"partner": partner, "merchant": merchant, "key": key, "user": user}
