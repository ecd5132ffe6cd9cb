import io

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.http import HttpRequest

from connexportal.accounts import crypto
from connexportal.accounts.models import ConnexAccount, Merchant, Partner, User
from connexportal.webhooks.models import WebhookEndpoint, secret_generate

pytestmark = pytest.mark.django_db

PASSWORD = "s3cret-connex-pa55"


@pytest.fixture
def merchant():
    return Merchant.objects.create(name="Acme Outdoor", timezone="America/New_York")


@pytest.fixture
def account(merchant):
    account = ConnexAccount(merchant=merchant, environment="sandbox", username="acme@connex.test")
    account.set_password(PASSWORD)
    account.save()
    return account


def test_password_is_encrypted_at_rest(account):
    stored = ConnexAccount.objects.values_list("password_encrypted", flat=True).get(pk=account.pk)
    assert PASSWORD not in stored
    assert ConnexAccount.objects.get(pk=account.pk).get_password() == PASSWORD


def test_account_repr_and_str_hide_password(account):
    assert PASSWORD not in repr(account)
    assert PASSWORD not in str(account)
    assert account.password_encrypted not in str(account)


def test_key_rotation_reencrypts_under_new_key(account, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    partner = Partner.objects.create(name="Rotating Partner")
    endpoint = WebhookEndpoint(partner=partner, url="https://hooks.partner.example/connex")
    endpoint.set_secret(secret_generate())
    previous = endpoint.get_secret()
    current = endpoint.rotate_secret()
    endpoint.save()
    call_command("rotate_encryption_keys", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert ConnexAccount.objects.get(pk=account.pk).get_password() == PASSWORD
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).signing_secrets() == [current, previous]


def test_unknown_key_is_a_clear_error(account, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.SecretUnreadable):
        ConnexAccount.objects.get(pk=account.pk).get_password()


def test_base_url_comes_from_the_environment_name(account, settings):
    settings.CONNEX_ENVIRONMENTS = {"sandbox": "http://127.0.0.1:8100"}
    assert account.base_url == "http://127.0.0.1:8100"
    account.environment = "production"
    assert account.base_url is None
    with pytest.raises(ValidationError) as caught:
        account.full_clean()
    assert "not configured" in str(caught.value.message_dict["environment"])


def test_unknown_timezone_is_rejected():
    with pytest.raises(ValidationError) as caught:
        Merchant(name="X", timezone="Mars/Olympus").full_clean()
    assert "not a known time zone" in caught.value.message_dict["timezone"][0]


def test_users_log_in_by_email_case_insensitively(client, merchant):
    User.objects.create_user(email="Owner@Acme.test", password="pw-long-enough-1", merchant=merchant)
    user = User.objects.get()
    assert user.email == "owner@acme.test"
    # django-axes counts every login by its request, so the test client's login needs one too.
    assert client.login(request=HttpRequest(), username=" OWNER@acme.TEST", password="pw-long-enough-1")


def test_admin_never_renders_the_connex_password(admin_client, account):
    response = admin_client.get(f"/admin/accounts/merchant/{account.merchant_id}/change/")
    html = response.content.decode()
    assert response.status_code == 200
    assert PASSWORD not in html
    assert account.password_encrypted not in html
    assert 'name="connex_account-0-password"' in html


def test_admin_password_is_write_only_and_blank_keeps_it(admin_client, account):
    url = f"/admin/accounts/merchant/{account.merchant_id}/change/"
    form = {
        "name": "Acme Outdoor",
        "timezone": "America/New_York",
        "currency": "USD",
        "is_active": "on",
        "connex_account-TOTAL_FORMS": "1",
        "connex_account-INITIAL_FORMS": "1",
        "connex_account-MIN_NUM_FORMS": "0",
        "connex_account-MAX_NUM_FORMS": "1",
        "connex_account-0-id": str(account.pk),
        "connex_account-0-merchant": str(account.merchant_id),
        "connex_account-0-environment": "sandbox",
        "connex_account-0-username": "acme@connex.test",
        "connex_account-0-password": "",
        "users-TOTAL_FORMS": "0",
        "users-INITIAL_FORMS": "0",
        "users-MIN_NUM_FORMS": "0",
        "users-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ConnexAccount.objects.get(pk=account.pk).get_password() == PASSWORD

    response = admin_client.post(url, {**form, "connex_account-0-password": "new-password-9"})
    assert response.status_code == 302
    assert ConnexAccount.objects.get(pk=account.pk).get_password() == "new-password-9"


def test_admin_requires_password_for_new_account(admin_client):
    response = admin_client.post(
        "/admin/accounts/merchant/add/",
        {
            "name": "New Shop",
            "timezone": "UTC",
            "currency": "USD",
            "is_active": "on",
            "connex_account-TOTAL_FORMS": "1",
            "connex_account-INITIAL_FORMS": "0",
            "connex_account-MIN_NUM_FORMS": "0",
            "connex_account-MAX_NUM_FORMS": "1",
            "connex_account-0-environment": "sandbox",
            "connex_account-0-username": "new@connex.test",
            "connex_account-0-password": "",
            "users-TOTAL_FORMS": "0",
            "users-INITIAL_FORMS": "0",
            "users-MIN_NUM_FORMS": "0",
            "users-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 200
    assert "A password is required for a new Connex account." in response.content.decode()
    assert not Merchant.objects.filter(name="New Shop").exists()
