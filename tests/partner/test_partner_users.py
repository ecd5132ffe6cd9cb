"""Partner users: a role of their own, logged in by the normal login, never staff, never a merchant's."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from connexportal.accounts.forms import may_reset_password
from connexportal.accounts.models import Merchant, Partner, User

pytestmark = pytest.mark.django_db

PASSWORD = "partner-horse-battery-1"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def partner():
    return Partner.objects.create(name="Partner Co")


@pytest.fixture
def partner_user(partner):
    return User.objects.create_user("ops@partner.test", PASSWORD, partner=partner, is_partner_admin=True)


def log_in(client, email, password=PASSWORD):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR="198.51.100.7")


def test_the_normal_login_takes_a_partner_user_to_the_console(client, partner_user):
    response = log_in(client, "OPS@partner.test ")
    assert response.status_code == 302
    home = client.get(response["Location"])
    assert home.status_code == 302
    assert home["Location"] == reverse("partner:dashboard")
    assert client.get(home["Location"]).status_code == 200


def test_a_deactivated_partners_users_cannot_log_in_and_are_logged_out(client, partner, partner_user):
    other = Client()
    other.force_login(partner_user)
    assert other.get(reverse("partner:dashboard")).status_code == 200

    partner.is_active = False
    partner.save()

    assert log_in(client, partner_user.email).status_code == 200  # the form again, with its error
    assert not client.get(reverse("home")).wsgi_request.user.is_authenticated
    response = other.get(reverse("partner:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_merchant_pages_refuse_a_partner_user_cleanly(client, partner_user):
    client.force_login(partner_user)
    response = client.get(reverse("portal:connections"))
    assert response.status_code == 403
    assert reverse("partner:dashboard").encode() in response.content


@pytest.mark.parametrize("role", ["merchant", "staff"])
def test_the_console_does_not_exist_for_merchants_users_or_staff(client, partner, role):
    if role == "merchant":
        merchant = Merchant.objects.create(partner=partner, name="Shop", external_id="shop")
        user = User.objects.create_user("owner@shop.test", PASSWORD, merchant=merchant)
    else:
        user = User.objects.create_superuser("staff@portal.test", PASSWORD)
    client.force_login(user)
    assert client.get(reverse("partner:dashboard")).status_code == 404


def test_the_console_asks_a_visitor_to_log_in(client):
    response = client.get(reverse("partner:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("extra", [{"is_staff": True}, {"is_superuser": True}, {"merchant": True}])
def test_a_partner_user_is_never_staff_nor_a_merchants_user(partner, extra):
    if extra.get("merchant"):
        extra = {"merchant": Merchant.objects.create(partner=partner, name="Shop", external_id="shop")}
    user = User(email="mixed@partner.test", partner=partner, **extra)
    with pytest.raises(ValidationError):
        user.full_clean(exclude={"password"})
    with pytest.raises(IntegrityError), transaction.atomic():
        user.save()


def test_partner_users_may_reset_their_password_while_their_partner_is_active(partner, partner_user):
    assert may_reset_password(partner_user)
    partner.is_active = False
    partner.save()
    partner_user.refresh_from_db()
    assert not may_reset_password(partner_user)
