"""Token value object, the TokenStore protocol, and how the client uses a plugged-in store."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connexportal.connex import (
    ConnexAuthError,
    ConnexError,
    ConnexProtocolError,
    ConnexRejected,
    ConnexUnavailable,
    InMemoryTokenStore,
    Token,
    TokenStore,
    account_key,
    routes,
)

from . import samples
from .conftest import PASSWORD, USERNAME, FakeConnex

PRODUCTS = routes.LIST_PRODUCTS.path


class RecordingStore:
    """A TokenStore like the portal's Django-cache one: it only sees keys and Token objects."""

    def __init__(self, *, forgetful: bool = False) -> None:
        self.tokens: dict[str, bytes] = {}
        self.operations: list[tuple[str, str]] = []
        self.forgetful = forgetful

    def get(self, key: str) -> Token | None:
        self.operations.append(("get", key))
        stored = self.tokens.get(key)
        return pickle.loads(stored) if stored is not None else None

    def set(self, key: str, token: Token) -> None:
        self.operations.append(("set", key))
        if not self.forgetful:
            self.tokens[key] = pickle.dumps(token)

    def delete(self, key: str) -> None:
        self.operations.append(("delete", key))
        self.tokens.pop(key, None)


def test_token_hides_its_value_and_survives_a_cache_round_trip():
    token = Token("the-bearer-value", expires_at=datetime(2030, 1, 1, tzinfo=UTC))
    assert "the-bearer-value" not in repr(token) and "the-bearer-value" not in str(token)
    assert pickle.loads(pickle.dumps(token)) == token


def test_token_usability_and_ttl_leave_a_margin_before_expiry():
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert Token("t").is_usable(now) and Token("t").ttl_seconds(now) is None
    in_ten_minutes = Token("t", expires_at=now + timedelta(minutes=10))
    assert in_ten_minutes.is_usable(now)
    assert in_ten_minutes.ttl_seconds(now) == 540.0
    assert not Token("t", expires_at=now + timedelta(seconds=30)).is_usable(now)
    assert Token("t", expires_at=now - timedelta(hours=1)).ttl_seconds(now) == 0.0


def test_stores_satisfy_the_protocol():
    assert isinstance(InMemoryTokenStore(), TokenStore)
    assert isinstance(RecordingStore(), TokenStore)


def test_in_memory_store_get_set_delete():
    store = InMemoryTokenStore()
    store.set("k", Token("v"))
    assert store.get("k") == Token("v") and len(store) == 1
    store.delete("k")
    store.delete("k")
    assert store.get("k") is None


def test_account_key_binds_the_exact_credentials_under_the_secret():
    secret = b"s" * 32
    key = account_key("https://connex.example", USERNAME, PASSWORD, secret=secret)
    assert key == account_key("https://connex.example", USERNAME, PASSWORD, secret=secret)
    assert key != account_key("https://staging.connex.example", USERNAME, PASSWORD, secret=secret)
    assert key != account_key("https://connex.example", "other@example.com", PASSWORD, secret=secret)
    assert key != account_key("https://connex.example", USERNAME, PASSWORD + "x", secret=secret)
    # Whoever knows the username and password but not the server's secret cannot name the key.
    assert key != account_key("https://connex.example", USERNAME, PASSWORD, secret=b"t" * 32)
    assert key.startswith("connex:account:") and USERNAME not in key and PASSWORD not in key


def test_the_same_username_with_another_password_never_gets_the_cached_token(fake: FakeConnex):
    store = InMemoryTokenStore()
    fake.on(PRODUCTS, httpx.Response(200, text=samples.PRODUCTS_RESPONSE))
    fake.client(token_store=store).list_products()
    assert fake.logins() == 1

    fake.on(routes.LOGIN.path, httpx.Response(400, json={"title": "Invalid username or password."}))
    impostor = fake.client(token_store=store, password="not-the-password")
    with pytest.raises(ConnexAuthError):
        impostor.list_products()
    assert len(fake.calls(PRODUCTS)) == 1, "the impostor's request must never reach the products list"


def test_a_plugged_in_store_is_used_under_one_key(fake: FakeConnex):
    store = RecordingStore()
    fake.on(PRODUCTS, httpx.Response(200, text=samples.PRODUCTS_RESPONSE))
    client = fake.client(token_store=store)

    client.list_products()
    client.list_products()

    keys = {key for _, key in store.operations}
    assert keys == {client.token_key}
    assert [operation for operation, _ in store.operations].count("set") == 1
    assert fake.logins() == 1
    assert all(PASSWORD not in key for key in keys)


def test_a_store_that_keeps_nothing_still_costs_only_one_relogin_per_401(fake: FakeConnex):
    fake.check_auth = False
    fake.on(PRODUCTS, httpx.Response(401), httpx.Response(200, text=samples.PRODUCTS_RESPONSE))
    client = fake.client(token_store=RecordingStore(forgetful=True))

    client.list_products()

    # The first login, then one re-login whose token the replay uses without asking the store.
    assert fake.logins() == 2
    first, replay = fake.calls(PRODUCTS)
    assert first.headers["Authorization"] == f"Bearer {fake.issued_tokens[0]}"
    assert replay.headers["Authorization"] == f"Bearer {fake.issued_tokens[1]}"


def scenario(fake: FakeConnex, kind: str):
    if kind == "auth":
        fake.on(routes.LOGIN.path, httpx.Response(401))
        return ConnexAuthError, routes.LOGIN, 401
    if kind == "rejected":
        fake.on(PRODUCTS, httpx.Response(400, json=routes.PROBLEM_EXAMPLE))
        return ConnexRejected, routes.LIST_PRODUCTS, 400
    if kind == "unavailable":
        fake.on(PRODUCTS, httpx.ConnectTimeout("no route"))
        return ConnexUnavailable, routes.LIST_PRODUCTS, None
    fake.on(PRODUCTS, httpx.Response(200, text="{not json"))
    return ConnexProtocolError, routes.LIST_PRODUCTS, 200


@pytest.mark.parametrize("kind", ["auth", "rejected", "unavailable", "protocol"])
def test_every_error_carries_method_path_status_and_elapsed(fake: FakeConnex, kind):
    error_class, route, status = scenario(fake, kind)

    with pytest.raises(ConnexError) as caught:
        fake.client().list_products()

    error = caught.value
    assert type(error) is error_class
    assert (error.method, error.path, error.status) == (route.method, route.path, status)
    assert isinstance(error.elapsed, float) and error.elapsed >= 0
    assert error.attempts >= 1
    assert route.path in str(error) and route.path in repr(error)


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("answer", "lifetime"),
    [
        ({"expiration": "0001-01-01T00:00:00"}, None),
        ({"expiration": "0001-01-01T00:00:00+02:00"}, None),
        ({"expiration": "9999-12-31T23:59:59.9999999"}, None),
        ({"expiration": "2026-03-01T11:00:00Z"}, None),
        ({"expiration": "not a date"}, None),
        ({"expires_in": 1e300}, None),
        ({"expires_in": -5}, None),
        ({"expires_in": 0}, None),
        ({"expires_in": "soon"}, None),
        ({"expires_in": 3600}, timedelta(hours=1)),
        ({"expiration": "2026-03-01T13:00:00.1234567"}, timedelta(hours=1, microseconds=123456)),
    ],
)
def test_token_lifetimes_that_are_not_believable_are_unknown(answer, lifetime):
    from connexportal.connex.models import LoginResponse

    parsed = LoginResponse.model_validate({"token": "t", **answer})
    expires_at = parsed.expires_at(NOW)
    assert (expires_at - NOW if expires_at is not None else None) == lifetime


def test_a_token_at_the_ends_of_time_never_overflows():
    for moment in (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)):
        token = Token("t", expires_at=moment)
        assert token.is_usable(NOW) is (moment > NOW)
        assert token.ttl_seconds(NOW) >= 0


@pytest.mark.parametrize("expiration", ["0001-01-01T00:00:00", "9999-12-31T23:59:59.9999999"])
def test_a_login_with_a_dotnet_sentinel_expiry_gives_a_token_of_unknown_lifetime(fake: FakeConnex, expiration):
    fake.login_response = lambda token: httpx.Response(200, json={"token": token, "expiration": expiration})
    fake.on(PRODUCTS, httpx.Response(200, text=samples.PRODUCTS_RESPONSE))
    client = fake.client()

    client.list_products()
    client.list_products()

    token = client.login()
    assert token.expires_at is None and token.ttl_seconds() is None and token.is_usable()
    assert fake.logins() == 2  # the first call's login, reused, and the explicit one


def test_a_login_answered_as_unquoted_text_is_the_token(fake: FakeConnex):
    fake.login_response = lambda token: httpx.Response(200, text=token, headers={"Content-Type": "text/plain"})
    fake.on(PRODUCTS, httpx.Response(200, text=samples.PRODUCTS_RESPONSE))

    fake.client().list_products()

    (request,) = fake.calls(PRODUCTS)
    assert request.headers["Authorization"] == f"Bearer {fake.issued_tokens[0]}"


@pytest.mark.parametrize("text", ["Invalid username or password", "{broken", ""])
def test_a_login_answered_as_text_that_is_no_token_is_a_protocol_error(fake: FakeConnex, text):
    fake.login_response = lambda token: httpx.Response(200, text=text, headers={"Content-Type": "text/plain"})
    with pytest.raises(ConnexProtocolError, match="no usable token"):
        fake.client().list_products()
    assert fake.calls(PRODUCTS) == []
