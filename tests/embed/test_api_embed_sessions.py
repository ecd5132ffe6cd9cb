"""Partner API: POST /api/v1/embed-sessions mints single-use launch URLs bound to partner and merchant."""

import datetime as dt

import pytest
from django.utils import timezone

from connexportal.embed.models import EmbedLaunch, EmbedSession, hash_token
from tests.embed.api_helpers import iso, merchant_for, problem_type

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

LAUNCH_PREFIX = "http://testserver/embed/launch/"


@pytest.fixture
def merchant(partner):
    return merchant_for(partner, "acme")


def launch_of(url: str) -> EmbedLaunch:
    assert url.startswith(LAUNCH_PREFIX), url
    return EmbedLaunch.objects.get(token_hash=hash_token(url.removeprefix(LAUNCH_PREFIX)))


def test_creates_an_absolute_single_use_url_bound_to_partner_and_merchant(api, partner, merchant):
    before = timezone.now()
    response = api.post(
        "/embed-sessions",
        {"merchant_external_id": "acme", "user_email": "ana@acme.test", "language": "fr", "ttl_seconds": 120},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    launch = launch_of(body["url"])
    assert body == {"url": body["url"], "expires_at": iso(launch.expires_at)}
    assert (launch.partner, launch.merchant) == (partner, merchant)
    assert (launch.user_email, launch.language, launch.used_at) == ("ana@acme.test", "fr", None)
    assert before + dt.timedelta(seconds=120) <= launch.expires_at <= timezone.now() + dt.timedelta(seconds=120)
    assert response["Cache-Control"] == "no-store"


def test_defaults_to_ten_minutes_and_the_partners_language(api, merchant):
    before = timezone.now()
    response = api.post("/embed-sessions", {"merchant_external_id": "acme"})
    assert response.status_code == 201
    launch = launch_of(response.json()["url"])
    assert (launch.user_email, launch.language) == ("", "")
    assert before + dt.timedelta(minutes=10) <= launch.expires_at <= timezone.now() + dt.timedelta(minutes=10)


def test_the_url_follows_the_requests_scheme_and_host(api, merchant, settings):
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    response = api.client.post(
        "/api/v1/embed-sessions",
        data={"merchant_external_id": "acme"},
        content_type="application/json",
        headers={**api.headers(), "Host": "portal.example.com"},
        secure=True,
    )
    assert response.status_code == 201
    assert response.json()["url"].startswith("https://portal.example.com/embed/launch/")


def test_every_call_mints_a_new_url(api, merchant):
    urls = {api.post("/embed-sessions", {"merchant_external_id": "acme"}).json()["url"] for _ in range(3)}
    assert len(urls) == 3
    assert EmbedLaunch.objects.count() == 3


def test_an_inactive_merchant_gets_no_session(api, partner):
    merchant_for(partner, "gone", is_active=False)
    response = api.post("/embed-sessions", {"merchant_external_id": "gone"})
    assert response.status_code == 409
    assert response.json() == {
        "type": problem_type("merchant-inactive"),
        "title": "Merchant is inactive",
        "status": 409,
        "detail": "The merchant 'gone' is deactivated, so it cannot be embedded. "
        'Reactivate it with PATCH {"is_active": true} first.',
    }
    assert not EmbedLaunch.objects.exists()


def test_an_unknown_merchant_is_a_404(api):
    response = api.post("/embed-sessions", {"merchant_external_id": "nobody"})
    assert response.status_code == 404
    assert response.json()["detail"] == "You have no merchant with external id 'nobody'."


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"merchant_external_id": ["This field is required."]}),
        (
            {"merchant_external_id": "a/b"},
            {
                "merchant_external_id": [
                    "'a/b' is not a valid external id: use 1 to 100 letters, digits and . _ : @ - only."
                ]
            },
        ),
        ({"merchant_external_id": "acme", "ttl_seconds": 0}, {"ttl_seconds": ["Must be at least 1, not 0."]}),
        ({"merchant_external_id": "acme", "ttl_seconds": 601}, {"ttl_seconds": ["Must be at most 600, not 601."]}),
        ({"merchant_external_id": "acme", "ttl_seconds": "60"}, {"ttl_seconds": ["Must be an integer, not a string."]}),
        ({"merchant_external_id": "acme", "ttl_seconds": 1.5}, {"ttl_seconds": ["Must be an integer, not a number."]}),
        (
            {"merchant_external_id": "acme", "language": "de"},
            {"language": ["'de' is not a supported language; use one of: en, es, fr."]},
        ),
        (
            {"merchant_external_id": "acme", "user_email": "ana at acme"},
            {"user_email": ["'ana at acme' is not an email address; write it like ana@example.com."]},
        ),
        (
            {"merchant_external_id": "acme", "user": "ana"},
            {"user": ["Unknown field; the fields are: merchant_external_id, user_email, language, ttl_seconds."]},
        ),
    ],
)
def test_validation(api, merchant, body, errors):
    response = api.post("/embed-sessions", body)
    assert response.status_code == 422
    assert response.json()["errors"] == errors
    assert not EmbedLaunch.objects.exists()


def test_a_retry_with_the_same_idempotency_key_returns_the_same_url(api, merchant):
    body = {"merchant_external_id": "acme", "ttl_seconds": 300}
    first = api.post("/embed-sessions", body, headers={"Idempotency-Key": "open-1"})
    retry = api.post("/embed-sessions", body, headers={"Idempotency-Key": "open-1"})
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert EmbedLaunch.objects.count() == 1
    other = api.post("/embed-sessions", {**body, "ttl_seconds": 60}, headers={"Idempotency-Key": "open-1"})
    assert other.status_code == 422
    assert other.json()["type"] == problem_type("idempotency-key-reused")


def test_deactivating_a_merchant_ends_its_open_embed_sessions(api, partner, merchant):
    url = api.post("/embed-sessions", {"merchant_external_id": "acme"}).json()["url"]
    launch = launch_of(url)
    now = timezone.now()
    session = EmbedSession.objects.create(
        token_hash=hash_token("session-token"),
        launch=launch,
        partner=partner,
        merchant=merchant,
        expires_at=now + dt.timedelta(hours=1),
    )
    assert api.post("/merchants/acme/deactivate").status_code == 200
    session.refresh_from_db()
    assert session.revoked_at is not None
    assert api.post("/embed-sessions", {"merchant_external_id": "acme"}).status_code == 409


def test_the_url_opens_the_portal_once(api, merchant):
    url = api.post("/embed-sessions", {"merchant_external_id": "acme"}).json()["url"]
    browser = api.client.__class__()
    first = browser.get(url)
    assert first.status_code == 302
    assert launch_of(url).used_at is not None
    assert browser.get(url).status_code != 302
