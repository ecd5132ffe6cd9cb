"""load_user builds exactly what the ORM's select_related builds, in one query, with nothing more to fetch."""

import pytest
from django.contrib.auth import get_user_model
from django.db.models import DEFERRED

from connexportal.accounts.backends import PortalBackend
from connexportal.accounts.models import ConnexAccount, Merchant, Partner, User
from connexportal.accounts.userload import load_user

pytestmark = pytest.mark.django_db

RELATED = ("merchant__partner", "merchant__connex_account", "partner")


def _values(instance) -> dict:
    """Every loaded column of ``instance`` (deferred ones are left out: they are compared on access)."""
    loaded = instance.__dict__
    return {
        field.attname: loaded[field.attname]
        for field in instance._meta.concrete_fields
        if loaded.get(field.attname, DEFERRED) is not DEFERRED
    }


def _orm(user_id) -> User:
    return get_user_model().objects.select_related(*RELATED).get(pk=user_id)


def _assert_same(loaded, expected) -> None:
    if expected is None:
        assert loaded is None
        return
    assert type(loaded) is type(expected)
    assert loaded._state.adding is False
    assert loaded._state.db == expected._state.db
    values = _values(loaded)
    # Every column the ORM loaded is there, equal and of the same type (dates aware, Decimals, booleans).
    assert values.keys() <= _values(expected).keys()
    for name, value in values.items():
        assert value == getattr(expected, name), name
        assert type(value) is type(getattr(expected, name)), name


@pytest.fixture
def partner():
    partner = Partner.objects.create(name="Northwind", service_name="Northwind Sync", hide_orders=True)
    partner.set_logo(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml")
    partner.save()
    return partner


@pytest.fixture
def merchant(partner):
    return Merchant.objects.create(name="Acme Outdoor", partner=partner, timezone="Europe/Paris", currency="EUR")


@pytest.fixture
def account(merchant):
    account = ConnexAccount(merchant=merchant, environment="sandbox", username="acme@connex.test")
    account.set_password("s3cret")
    account.save()
    return account


def _user(email: str, **fields) -> User:
    return User.objects.create_user(email=email, password="a-long-password-1", **fields)


def _cases(partner, merchant, account):
    plain_merchant = Merchant.objects.create(name="No partner, no account")
    return {
        "merchant user with partner and account": _user("m@example.test", merchant=merchant, language="fr"),
        "merchant without partner or account": _user("plain@example.test", merchant=plain_merchant),
        "partner console user": _user("p@example.test", partner=partner, is_partner_admin=True),
        "staff": _user("staff@example.test", is_staff=True, is_superuser=True),
    }


def test_same_objects_as_select_related(partner, merchant, account, django_assert_num_queries):
    for case, user in _cases(partner, merchant, account).items():
        expected = _orm(user.pk)
        with django_assert_num_queries(1):
            loaded = load_user(user.pk)
            # Every relation a page follows is already there, present or None.
            related = (
                loaded.merchant,
                loaded.partner,
                loaded.merchant and loaded.merchant.partner,
                loaded.merchant and getattr(loaded.merchant, "connex_account", None),
            )
        _assert_same(loaded, expected)
        _assert_same(related[0], expected.merchant)
        _assert_same(related[1], expected.partner)
        _assert_same(related[2], expected.merchant and expected.merchant.partner)
        _assert_same(related[3], expected.merchant and getattr(expected.merchant, "connex_account", None))
        assert loaded.get_session_auth_hash() == expected.get_session_auth_hash(), case


def test_account_points_back_to_its_merchant_and_decrypts(merchant, account, django_assert_num_queries):
    user = _user("m@example.test", merchant=merchant)
    loaded = load_user(user.pk)
    with django_assert_num_queries(0):
        assert loaded.merchant.connex_account.merchant is loaded.merchant
        assert loaded.merchant.connex_account.get_password() == "s3cret"


def test_logo_is_deferred_and_loads_on_access(partner, merchant, django_assert_num_queries):
    user = _user("m@example.test", merchant=merchant)
    loaded = load_user(user.pk)
    stored = bytes(Partner.objects.get(pk=partner.pk).logo)
    assert "logo" in loaded.merchant.partner.get_deferred_fields()
    with django_assert_num_queries(1):
        assert bytes(loaded.merchant.partner.logo) == stored


def test_loaded_objects_save_like_orm_ones(partner, merchant, account):
    user = _user("m@example.test", merchant=merchant)
    loaded = load_user(user.pk)
    loaded.language = "es"
    loaded.save(update_fields=["language"])
    loaded.merchant.partner.name = "Northwind Renamed"
    loaded.merchant.partner.save()
    assert User.objects.get(pk=user.pk).language == "es"
    saved = Partner.objects.get(pk=partner.pk)
    assert saved.name == "Northwind Renamed"
    assert bytes(saved.logo) == b"<svg xmlns='http://www.w3.org/2000/svg'/>"  # the deferred blob kept


@pytest.mark.parametrize("user_id", [987654, "987654", "not-a-number", None])
def test_unknown_or_malformed_id_is_no_user(user_id):
    assert load_user(user_id) is None


def test_backend_still_refuses_inactive_merchants_and_partners(partner, merchant):
    user = _user("m@example.test", merchant=merchant)
    console = _user("p@example.test", partner=partner)
    backend = PortalBackend()
    assert backend.get_user(user.pk).merchant == merchant
    Merchant.objects.filter(pk=merchant.pk).update(is_active=False)
    assert backend.get_user(user.pk) is None
    Merchant.objects.filter(pk=merchant.pk).update(is_active=True)
    Partner.objects.filter(pk=partner.pk).update(is_active=False)
    assert backend.get_user(user.pk) is None
    assert backend.get_user(console.pk) is None
    User.objects.filter(pk=console.pk).update(is_active=False)
    Partner.objects.filter(pk=partner.pk).update(is_active=True)
    assert backend.get_user(console.pk) is None
