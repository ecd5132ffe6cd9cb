"""Password reset by email: Django's views with the portal's rules on who gets mail."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from connexportal.accounts.models import Merchant, Partner, User

pytestmark = pytest.mark.django_db

OLD_PASSWORD = "old-horse-battery-1"
NEW_PASSWORD = "new-staple-lantern-2"
LINK = re.compile(r"https?://testserver(/password-reset/[^/\s]+/[^/\s]+/)")


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def partner():
    return Partner.objects.create(name="Partner Co")


@pytest.fixture
def user(partner):
    merchant = Merchant.objects.create(name="Acme Outdoor", partner=partner)
    return User.objects.create_user(email="owner@acme.test", password=OLD_PASSWORD, merchant=merchant)


def ask_for_reset(client, email):
    return client.post(reverse("password_reset"), {"email": email})


def link_in(message) -> str:
    match = LINK.search(message.body)
    assert match, message.body
    return match.group(1)


def test_the_login_page_offers_a_reset(client):
    page = client.get(reverse("login")).content.decode()
    assert f'<a href="{reverse("password_reset")}">Forgot your password?</a>' in page


def test_a_merchant_resets_a_forgotten_password_by_email(client, user):
    form = client.get(reverse("password_reset"))
    assert form.status_code == 200
    assert "Reset your password" in form.content.decode()

    sent = ask_for_reset(client, " Owner@Acme.test")
    assert sent["Location"] == reverse("password_reset_done")
    assert "Check your email" in client.get(sent["Location"]).content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@acme.test"]
    assert message.from_email == "Connex Portal <noreply@localhost>"
    assert message.subject == "Reset your Partner Co password"

    opened = client.get(link_in(message), follow=True)
    assert "Choose a new password" in opened.content.decode()
    set_password_url = opened.redirect_chain[-1][0]
    done = client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == reverse("password_reset_complete")
    assert "Your new password is set." in client.get(done["Location"]).content.decode()

    assert client.post(reverse("login"), {"username": user.email, "password": OLD_PASSWORD}).status_code == 200
    assert client.post(reverse("login"), {"username": user.email, "password": NEW_PASSWORD}).status_code == 302


def test_a_reset_link_works_once(client, user):
    ask_for_reset(client, user.email)
    link = link_in(mail.outbox[0])
    set_password_url = client.get(link)["Location"]
    client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    again = client.get(link, follow=True)

    assert "This link no longer works" in again.content.decode()
    assert "new_password1" not in again.content.decode()


def test_a_mismatched_new_password_is_refused_on_the_field(client, user):
    ask_for_reset(client, user.email)
    set_password_url = client.get(link_in(mail.outbox[0]))["Location"]

    refused = client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": "something-else-3"})

    assert refused.status_code == 200
    assert 'aria-invalid="true"' in refused.content.decode()
    user.refresh_from_db()
    assert user.check_password(OLD_PASSWORD)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, user):
    known = ask_for_reset(client, user.email)
    unknown = ask_for_reset(client, "nobody@acme.test")

    assert (unknown.status_code, unknown["Location"]) == (known.status_code, known["Location"])
    assert [message.to for message in mail.outbox] == [[user.email]]


@pytest.mark.parametrize("deactivate", ["user", "merchant", "partner"])
def test_no_mail_for_inactive_users_merchants_or_partners(client, user, deactivate):
    target = {"user": user, "merchant": user.merchant, "partner": user.merchant.partner}[deactivate]
    target.is_active = False
    target.save()

    response = ask_for_reset(client, user.email)

    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_no_mail_for_staff_who_reset_with_changepassword(client):
    staff = User.objects.create_superuser(email="staff@portal.test", password=OLD_PASSWORD)

    assert ask_for_reset(client, staff.email)["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_a_link_stops_working_when_the_merchant_is_deactivated(client, user):
    ask_for_reset(client, user.email)
    link = link_in(mail.outbox[0])
    user.merchant.is_active = False
    user.merchant.save()

    assert "This link no longer works" in client.get(link, follow=True).content.decode()


def test_a_new_password_lifts_a_lockout(client, user):
    for _ in range(5):
        client.post(reverse("login"), {"username": user.email, "password": "wrong-password"})
    assert client.post(reverse("login"), {"username": user.email, "password": OLD_PASSWORD}).status_code == 429

    ask_for_reset(client, user.email)
    set_password_url = client.get(link_in(mail.outbox[0]))["Location"]
    client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert client.post(reverse("login"), {"username": user.email, "password": NEW_PASSWORD}).status_code == 302
