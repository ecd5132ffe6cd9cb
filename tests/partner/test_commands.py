"""create_partner --admin-email and seed_demo's partner console login."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from connexportal.accounts.models import Partner, User
from connexportal.activity.models import ActivityEntry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run(*args) -> str:
    out = io.StringIO()
    call_command("create_partner", *args, stdout=out)
    return out.getvalue()


def test_create_partner_with_admin_email_prints_a_generated_password_once_that_logs_in():
    output = run("Acme Software", "--admin-email", "Ops@Acme.example")

    partner = Partner.objects.get(name="Acme Software")
    user = User.objects.get(email="ops@acme.example")
    assert user.partner == partner and user.is_partner_admin
    assert user.merchant is None and not user.is_staff and not user.is_superuser
    password = re.search(r"password \(shown once, store it now\): (\S+)", output)[1]
    assert len(password) >= 20
    assert user.check_password(password)
    client = Client()
    response = client.post("/login/", {"username": "ops@acme.example", "password": password})
    assert response.status_code == 302
    assert client.get("/partner/").status_code == 200
    # The password is not kept anywhere the portal shows or records.
    assert not ActivityEntry.objects.filter(changes__icontains=password).exists()


def test_create_partner_refuses_an_admin_email_that_is_taken_or_not_an_email():
    User.objects.create_user("taken@acme.example", "pw")
    with pytest.raises(CommandError, match="already exists"):
        run("Acme Software", "--admin-email", "taken@acme.example")
    with pytest.raises(CommandError, match="not an email address"):
        run("Acme Software", "--admin-email", "not-an-email")
    assert not Partner.objects.filter(name="Acme Software").exists()


def test_create_partner_without_admin_email_creates_no_user():
    output = run("Acme Software")
    assert "administrator" not in output
    assert not User.objects.filter(partner__name="Acme Software").exists()


def test_seed_demo_gives_the_demo_partner_its_console_login_idempotently(settings):
    settings.DEBUG = True
    settings.CONNEX_SANDBOX = False
    for _ in range(2):
        out = io.StringIO()
        call_command("seed_demo", stdout=out)
        assert "partner@demo.test / demo-partner" in out.getvalue()
    user = User.objects.get(email="partner@demo.test")
    assert user.partner == Partner.objects.get(name="Demo Partner")
    assert user.is_partner_admin and not user.is_staff and user.merchant is None
    assert user.check_password("demo-partner")
    assert User.objects.filter(partner__isnull=False).count() == 1
