"""Partner API plumbing: keys, rate limit, idempotency, and the errors every endpoint shares."""

import datetime as dt

import pytest
from django.utils import timezone

from connexportal.accounts.models import Merchant, Partner, PartnerApiKey
from connexportal.partner_api import idempotency, services
from connexportal.partner_api.problems import ApiProblem
from tests.embed.api_helpers import Api, merchant_for, partner_with_key, problem_type

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

REALM = 'Bearer realm="Connex Portal partner API"'


def unauthorized(detail: str) -> dict:
    return {"type": problem_type("unauthorized"), "title": "Authentication required", "status": 401, "detail": detail}


# --- Authentication ---------------------------------------------------------------------------

INVALID_KEY = "The API key is not valid: it is unknown or has been revoked. Check it, or ask for a new one."
MALFORMED = "The Authorization header must be 'Bearer' followed by one space and your API key."


def test_a_missing_key_is_a_401_with_a_bearer_challenge():
    response = Api(None).get("/merchants")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == REALM
    assert response.json() == unauthorized(
        "Send your API key in the Authorization header: 'Authorization: Bearer cxp_...'."
    )


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token cxp_x_y", "Bearer a b"])
def test_a_malformed_header_is_a_401(partner_a, header):
    response = Api(None).get("/merchants", headers={"Authorization": header})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f'{REALM}, error="invalid_request"'
    assert response.json() == unauthorized(MALFORMED)


def test_the_scheme_is_case_insensitive(partner_a):
    response = Api(None).get("/merchants", headers={"Authorization": f"bearer {partner_a[1]}"})
    assert response.status_code == 200


def revoke(key: str) -> None:
    PartnerApiKey.objects.filter(prefix=key.split("_")[1]).update(revoked_at=timezone.now())


def deactivate_partner(key: str) -> None:
    Partner.objects.filter(api_keys__prefix=key.split("_")[1]).update(is_active=False)


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda key: key[:-2] + ("xx" if not key.endswith("xx") else "yy"), id="wrong-secret"),
        pytest.param(lambda key: "cxp_000000000000_" + key.split("_", 2)[2], id="unknown-prefix"),
        pytest.param(lambda key: key.removeprefix("cxp_"), id="no-prefix"),
        pytest.param(lambda key: key + "!", id="not-a-key-shape"),
        pytest.param(lambda key: revoke(key) or key, id="revoked"),
        pytest.param(lambda key: deactivate_partner(key) or key, id="inactive-partner"),
    ],
)
def test_a_wrong_revoked_or_inactive_key_is_a_401(partner_a, spoil):
    key = spoil(partner_a[1])
    response = Api(key).get("/merchants")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == f'{REALM}, error="invalid_token"'
    assert response.json() == unauthorized(INVALID_KEY)


def test_a_second_key_of_the_partner_works_and_a_revoked_one_stops(partner_a):
    partner, old_key = partner_a
    _second, new_key = PartnerApiKey.issue(partner, name="rotation")
    assert Api(new_key).get("/merchants").status_code == 200
    revoke(old_key)
    assert Api(old_key).get("/merchants").status_code == 401
    assert Api(new_key).get("/merchants").status_code == 200


def test_no_cookie_and_no_csrf_token_are_needed_or_set(api):
    # Api's client enforces CSRF checks like a browser would; the API must not ask for a token.
    response = api.post("/merchants", {"external_id": "m", "name": "M"})
    assert response.status_code == 201
    assert not response.cookies
    assert not api.client.cookies


def test_answers_are_english_and_never_cached(api):
    response = api.get("/merchants", headers={"Accept-Language": "es"})
    assert response["Content-Language"] == "en"
    assert response["Cache-Control"] == "no-store"


def test_last_used_at_is_written_at_most_once_a_minute(api, partner_a):
    key = PartnerApiKey.objects.get(partner=partner_a[0])
    assert key.last_used_at is None
    api.get("/merchants")
    key.refresh_from_db()
    first_use = key.last_used_at
    assert first_use is not None
    api.get("/merchants")
    key.refresh_from_db()
    assert key.last_used_at == first_use
    a_while_ago = timezone.now() - dt.timedelta(minutes=2)
    PartnerApiKey.objects.filter(pk=key.pk).update(last_used_at=a_while_ago)
    api.get("/merchants")
    key.refresh_from_db()
    assert key.last_used_at > a_while_ago


# --- Rate limit -------------------------------------------------------------------------------


def test_past_the_rate_limit_the_answer_is_429_with_retry_after(api, partner_a, settings):
    settings.PARTNER_API_RATE_LIMIT = 3
    answers = [api.get("/merchants") for _ in range(3)]
    assert [response.status_code for response in answers] == [200, 200, 200]
    assert [response["RateLimit-Remaining"] for response in answers] == ["2", "1", "0"]
    assert {response["RateLimit-Limit"] for response in answers} == {"3"}
    assert answers[0]["RateLimit-Policy"] == "3;w=60"
    limited = api.get("/merchants")
    assert limited.status_code == 429
    retry_after = int(limited["Retry-After"])
    assert 1 <= retry_after <= 60
    assert limited["RateLimit-Remaining"] == "0"
    assert limited.json() == {
        "type": problem_type("rate-limited"),
        "title": "Too many requests",
        "status": 429,
        "detail": f"This API key made more than 3 requests this minute. Retry in {retry_after} seconds.",
    }
    # The budget is per key: another key, even of the same partner, is unaffected.
    _other, other_key = PartnerApiKey.issue(partner_a[0], name="second")
    assert Api(other_key).get("/merchants").status_code == 200


def test_writes_count_against_the_limit_and_refused_ones_change_nothing(api, settings):
    settings.PARTNER_API_RATE_LIMIT = 1
    assert api.post("/merchants", {"external_id": "one", "name": "One"}).status_code == 201
    assert api.post("/merchants", {"external_id": "two", "name": "Two"}).status_code == 429
    assert list(Merchant.objects.values_list("external_id", flat=True)) == ["one"]


# --- Idempotency ------------------------------------------------------------------------------


def test_a_retried_create_with_the_same_key_creates_once(api):
    body = {"external_id": "acme", "name": "Acme"}
    first = api.post("/merchants", body, headers={"Idempotency-Key": "create-acme-1"})
    retry = api.post("/merchants", body, headers={"Idempotency-Key": "create-acme-1"})
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert retry["Location"] == first["Location"]
    assert Merchant.objects.count() == 1
    # Without the key, the same request is a new request: the merchant exists now.
    assert api.post("/merchants", body).status_code == 409


def test_json_formatting_does_not_make_a_different_request(api):
    headers = {"Idempotency-Key": "fmt"}
    first = api.client.post(
        "/api/v1/merchants",
        data='{"external_id":"acme","name":"Acme"}',
        content_type="application/json",
        headers=api.headers(headers),
    )
    retry = api.client.post(
        "/api/v1/merchants",
        data='{\n  "name": "Acme",\n  "external_id": "acme"\n}',
        content_type="application/json",
        headers=api.headers(headers),
    )
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_body_is_a_422(api):
    api.post("/merchants", {"external_id": "acme", "name": "Acme"}, headers={"Idempotency-Key": "k"})
    response = api.post("/merchants", {"external_id": "other", "name": "Other"}, headers={"Idempotency-Key": "k"})
    assert response.status_code == 422
    assert response.json() == {
        "type": problem_type("idempotency-key-reused"),
        "title": "Idempotency key reused",
        "status": 422,
        "detail": "This Idempotency-Key was already used for a different request. Use a new key for a new request.",
    }
    assert list(Merchant.objects.values_list("external_id", flat=True)) == ["acme"]


def test_a_failed_request_is_not_kept_so_the_key_can_be_retried(api):
    headers = {"Idempotency-Key": "retry-me"}
    assert (
        api.post("/merchants", {"external_id": "acme", "name": "Acme", "currency": "usd"}, headers=headers).status_code
        == 422
    )
    assert api.post("/merchants", {"external_id": "acme", "name": "Acme"}, headers=headers).status_code == 201


def test_keys_belong_to_one_partner(api):
    _partner_b, key_b = partner_with_key("Partner B")
    headers = {"Idempotency-Key": "shared-key"}
    body = {"external_id": "acme", "name": "Acme"}
    assert api.post("/merchants", body, headers=headers).status_code == 201
    theirs = Api(key_b).post("/merchants", body, headers=headers)
    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert Merchant.objects.count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve"])
def test_a_malformed_idempotency_key_is_a_400(api, key):
    response = api.post("/merchants", {"external_id": "acme", "name": "Acme"}, headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "The Idempotency-Key header must be 1 to 255 printable ASCII characters, for example a UUID."
    )
    assert not Merchant.objects.exists()


def test_a_key_still_running_is_a_409():
    def action():
        with pytest.raises(ApiProblem) as caught:
            idempotency.run_once(partner_id=1, key="k", request_fingerprint="f", action=lambda: (201, {}))
        assert caught.value.kind.slug == "idempotency-key-in-use"
        assert caught.value.headers == {"Retry-After": "1"}
        return 201, {"done": True}

    outcome, replayed = idempotency.run_once(partner_id=1, key="k", request_fingerprint="f", action=action)
    assert (outcome, replayed) == ((201, {"done": True}), False)
    assert idempotency.run_once(partner_id=1, key="k", request_fingerprint="f", action=action) == (
        (201, {"done": True}),
        True,
    )


# --- Shared errors ----------------------------------------------------------------------------


def test_a_method_the_endpoint_does_not_have_is_a_405(api):
    response = api.send("delete", "/merchants/acme")
    assert response.status_code == 405
    assert response["Allow"] == "GET, PATCH"
    assert response.json() == {
        "type": problem_type("method-not-allowed"),
        "title": "Method not allowed",
        "status": 405,
        "detail": "DELETE is not allowed here; use GET, PATCH.",
    }


@pytest.mark.parametrize("path", ["/nope", "/merchants/", "/merchants/a/b/c"])
def test_an_unknown_path_is_a_json_404(api, path):
    response = api.post(path, {})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": problem_type("not-found"),
        "title": "Not found",
        "status": 404,
        "detail": f"There is no /api/v1{path} in the partner API; the endpoints are listed at /api/v1/docs.",
    }


def test_a_bug_answers_500_problem_details_and_is_logged(api, partner_a, monkeypatch, caplog):
    merchant_for(partner_a[0], "acme")

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "merchant_get", broken)
    response = api.get("/merchants/acme")
    assert response.status_code == 500
    assert response.json() == {
        "type": problem_type("server-error"),
        "title": "Internal server error",
        "status": 500,
        "detail": "The request failed on our side. It has been logged; retry later.",
    }
    assert "partner API GET /api/v1/merchants/acme failed" in caplog.text
    assert "boom" in caplog.text


def test_a_body_over_the_upload_limit_is_a_413_problem_not_a_500(api, settings, caplog):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post("/merchants", {"external_id": "acme", "name": "x" * 1000})
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "type": problem_type("payload-too-large"),
        "title": "Request body too large",
        "status": 413,
        "detail": "The request body is larger than 1000 bytes, the most this API accepts.",
    }
    assert not Merchant.objects.filter(external_id="acme").exists()
    assert "Traceback" not in caplog.text
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


def test_a_body_over_the_default_limit_is_a_413(api, partner_a):
    merchant_for(partner_a[0], "acme", name="Acme")
    response = api.patch("/merchants/acme", {"name": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413
    assert Merchant.objects.get(external_id="acme").name == "Acme"
    assert response.json()["detail"] == "The request body is larger than 2621440 bytes, the most this API accepts."
