"""Partner API: merchants — create, list, get, update, deactivate; validation and tenancy."""

import pytest

from connexportal.accounts.models import ConnexAccount, Merchant
from tests.embed.api_helpers import (
    PASSWORD,
    merchant_body,
    merchant_for,
    partner_with_key,
    problem_type,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

NEW_PASSWORD = "a-brand-new-connex-secret"


@pytest.fixture
def other_partner():
    return partner_with_key("Partner B")[0]


def validation_errors(response) -> dict:
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == problem_type("validation-error")
    assert body["title"] == "Invalid request"
    return body["errors"]


# --- Create -----------------------------------------------------------------------------------


def test_create_answers_201_with_the_merchant_and_its_location(api, partner):
    response = api.post(
        "/merchants",
        {
            "external_id": "acme-001",
            "name": "  Acme Outdoor  ",
            "timezone": "America/New_York",
            "currency": "CAD",
            "connex": {"environment": "sandbox", "username": "books@acme.test", "password": PASSWORD},
        },
    )
    assert response.status_code == 201, response.content
    merchant = Merchant.objects.get(partner=partner, external_id="acme-001")
    assert response.json() == {
        "external_id": "acme-001",
        "name": "Acme Outdoor",
        "timezone": "America/New_York",
        "currency": "CAD",
        "is_active": True,
        "connex": {"environment": "sandbox", "username": "books@acme.test", "verified": True},
        "created_at": merchant_body(merchant)["created_at"],
        "updated_at": merchant_body(merchant)["updated_at"],
    }
    assert response["Location"] == "http://testserver/api/v1/merchants/acme-001"
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    account = ConnexAccount.objects.get(merchant=merchant)
    assert account.get_password() == PASSWORD
    assert PASSWORD not in account.password_encrypted
    # What the API accepts, the model's own validation accepts too.
    merchant.full_clean()
    account.full_clean()


def test_create_defaults_time_zone_currency_and_no_connex_account(api, partner):
    response = api.post("/merchants", {"external_id": "plain", "name": "Plain"})
    assert response.status_code == 201
    merchant = Merchant.objects.get(partner=partner, external_id="plain")
    assert response.json() == merchant_body(merchant)
    assert response.json()["timezone"] == "UTC"
    assert response.json()["currency"] == "USD"
    assert response.json()["connex"] is None


def test_create_an_existing_external_id_is_a_409(api, partner):
    merchant_for(partner, "acme-001")
    response = api.post("/merchants", {"external_id": "acme-001", "name": "Again"})
    assert response.status_code == 409
    assert response.json() == {
        "type": problem_type("merchant-exists"),
        "title": "Merchant already exists",
        "status": 409,
        "detail": "You already have a merchant with external id 'acme-001'. Change it with PATCH instead.",
    }
    assert Merchant.objects.filter(external_id="acme-001").count() == 1


def test_two_partners_may_use_the_same_external_id(api, other_partner):
    merchant_for(other_partner, "acme-001")
    response = api.post("/merchants", {"external_id": "acme-001", "name": "Mine"})
    assert response.status_code == 201
    assert Merchant.objects.filter(external_id="acme-001").count() == 2


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"name": "X"}, {"external_id": ["This field is required."]}),
        (
            {"external_id": "has space", "name": "X"},
            {
                "external_id": [
                    "'has space' is not a valid external id: use 1 to 100 letters, digits and . _ : @ - only."
                ]
            },
        ),
        (
            {"external_id": "x" * 101, "name": "X"},
            {
                "external_id": [
                    f"{'x' * 101!r} is not a valid external id: use 1 to 100 letters, digits and . _ : @ - only."
                ]
            },
        ),
        (
            {"external_id": "..", "name": "X"},
            {"external_id": ["'..' cannot be an external id: it cannot appear in a URL path."]},
        ),
        ({"external_id": 7, "name": "X"}, {"external_id": ["Must be a string, not a number."]}),
        (
            {"external_id": "acme\n", "name": "X"},
            {"external_id": ["'acme\\n' is not a valid external id: use 1 to 100 letters, digits and . _ : @ - only."]},
        ),
        ({"external_id": "m"}, {"name": ["This field is required."]}),
        ({"external_id": "m", "name": "   "}, {"name": ["Must not be blank."]}),
        ({"external_id": "m", "name": None}, {"name": ["Must be a string, not null."]}),
        (
            {"external_id": "m", "name": "Acme\x00Outdoor"},
            {"name": ["Must not contain control characters such as line breaks; found '\\x00'."]},
        ),
        (
            {"external_id": "m", "name": "Acme\ud800"},
            {"name": ["Must be valid Unicode text; it holds a lone surrogate escape (such as \\ud800)."]},
        ),
        ({"external_id": "m", "name": "n" * 201}, {"name": ["Must be at most 200 characters long; this one is 201."]}),
        (
            {"external_id": "m", "name": "X", "timezone": "Mars/Olympus"},
            {"timezone": ["'Mars/Olympus' is not an IANA time zone name; write it like America/New_York or UTC."]},
        ),
        (
            {"external_id": "m", "name": "X", "currency": "usd"},
            {"currency": ["'usd' is not a currency code; use a three-letter ISO 4217 code in capitals, like USD."]},
        ),
        (
            {"external_id": "m", "name": "X", "currency": "USD\n"},
            {"currency": ["'USD\\n' is not a currency code; use a three-letter ISO 4217 code in capitals, like USD."]},
        ),
        (
            {"external_id": "m", "name": "X", "connex": "sandbox"},
            {"connex": ["Must be an object, not a string."]},
        ),
        (
            {"external_id": "m", "name": "X", "connex": {"environment": "sandbox", "username": "u"}},
            {"connex.password": ["This field is required."]},
        ),
        (
            {"external_id": "m", "name": "X", "connex": {"environment": "sandbox", "username": " ", "password": ""}},
            {"connex.username": ["Must not be blank."], "connex.password": ["Must not be empty."]},
        ),
        (
            {
                "external_id": "m",
                "name": "X",
                "connex": {"environment": "sandbox", "username": "u", "password": "a\nb"},
            },
            {"connex.password": ["Must not contain control characters such as line breaks."]},
        ),
        (
            {"external_id": "m", "name": "X", "nickname": "Y"},
            {"nickname": ["Unknown field; the fields are: external_id, name, timezone, currency, connex."]},
        ),
    ],
)
def test_create_validation_says_exactly_what_is_wrong(api, body, errors):
    response = api.post("/merchants", body)
    assert validation_errors(response) == errors
    count = len(errors)
    assert response.json()["detail"] == (
        "1 field is invalid; see errors." if count == 1 else f"{count} fields are invalid; see errors."
    )
    assert not Merchant.objects.exists()


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        (
            "https://cfqb-ui-staging.azurewebsites.net",
            "Name the Connex environment (production, staging, sandbox), not a URL: "
            "each environment's address is configured on the server.",
        ),
        (
            "http://127.0.0.1:8000/sandbox",
            "Name the Connex environment (production, staging, sandbox), not a URL: "
            "each environment's address is configured on the server.",
        ),
        (
            "cfqb-ui-staging.azurewebsites.net/api",
            "Name the Connex environment (production, staging, sandbox), not a URL: "
            "each environment's address is configured on the server.",
        ),
        (
            "127.0.0.1:8000",
            "Name the Connex environment (production, staging, sandbox), not a URL: "
            "each environment's address is configured on the server.",
        ),
        ("qa", "'qa' is not a Connex environment; use one of: production, staging, sandbox."),
        ("production", "The production environment is not configured on this server; use one of: staging, sandbox."),
    ],
)
def test_environment_is_a_configured_name_never_a_url(api, settings, environment, message):
    settings.CONNEX_ENVIRONMENTS = {"staging": "https://staging.example", "sandbox": "http://127.0.0.1:8000/sandbox"}
    body = {"environment": environment, "username": "u@acme.test", "password": PASSWORD}
    response = api.post("/merchants", {"external_id": "m", "name": "M", "connex": body})
    assert validation_errors(response) == {"connex.environment": [message]}


# --- Request bodies ---------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_a_415(api):
    response = api.client.post("/api/v1/merchants", data={"external_id": "m"}, headers=api.headers())  # a form post
    assert response.status_code == 415
    assert response.json() == {
        "type": problem_type("unsupported-media-type"),
        "title": "Unsupported media type",
        "status": 415,
        "detail": (
            "Send the body as JSON with 'Content-Type: application/json' (this request sent multipart/form-data)."
        ),
    }
    assert response["Accept-Post"] == "application/json"


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (
            '{"external_id": "m",',
            "The request body is not valid JSON: "
            "Expecting property name enclosed in double quotes at line 1, column 21.",
        ),
        (" \n", "The request body is empty; send a JSON object."),
        ('["m"]', "The request body must be a JSON object ({...}), not an array."),
        (b"\xff\xfe{}", "The request body is not UTF-8; JSON must be sent as UTF-8."),
        ('{"external_id": ' + "9" * 5000 + "}", "The request body holds a number too long or nesting too deep."),
        ("[" * 100_000 + "]" * 100_000, "The request body holds a number too long or nesting too deep."),
    ],
)
def test_malformed_json_is_a_400_with_a_clear_message(api, raw, detail):
    response = api.client.post("/api/v1/merchants", data=raw, content_type="application/json", headers=api.headers())
    assert response.status_code == 400
    assert response.json() == {
        "type": problem_type("malformed-request"),
        "title": "Malformed request",
        "status": 400,
        "detail": detail,
    }


# --- List -------------------------------------------------------------------------------------


def test_list_pages_oldest_first_with_links(api, partner, other_partner):
    first, second, third = (merchant_for(partner, f"m-{n}", name=f"Merchant {n}") for n in (3, 1, 2))
    merchant_for(other_partner, "theirs")
    Merchant.objects.create(partner=partner, name="Made in the admin, no external id")

    page_one = api.get("/merchants", page_size=2)
    assert page_one.status_code == 200
    assert page_one.json() == {
        "items": [merchant_body(first), merchant_body(second)],
        "pagination": {"page": 1, "page_size": 2, "total_items": 3, "total_pages": 2},
        "links": {
            "self": "http://testserver/api/v1/merchants?page=1&page_size=2",
            "first": "http://testserver/api/v1/merchants?page=1&page_size=2",
            "last": "http://testserver/api/v1/merchants?page=2&page_size=2",
            "prev": None,
            "next": "http://testserver/api/v1/merchants?page=2&page_size=2",
        },
    }
    page_two = api.get("/merchants", page=2, page_size=2)
    assert page_two.json() == {
        "items": [merchant_body(third)],
        "pagination": {"page": 2, "page_size": 2, "total_items": 3, "total_pages": 2},
        "links": {
            "self": "http://testserver/api/v1/merchants?page=2&page_size=2",
            "first": "http://testserver/api/v1/merchants?page=1&page_size=2",
            "last": "http://testserver/api/v1/merchants?page=2&page_size=2",
            "prev": "http://testserver/api/v1/merchants?page=1&page_size=2",
            "next": None,
        },
    }


def test_list_defaults_to_50_per_page_and_past_the_end_is_empty(api, partner):
    merchant_for(partner, "only")
    assert api.get("/merchants").json()["pagination"] == {
        "page": 1,
        "page_size": 50,
        "total_items": 1,
        "total_pages": 1,
    }
    beyond = api.get("/merchants", page=10**30)
    assert beyond.status_code == 200
    assert beyond.json()["items"] == []
    assert beyond.json()["links"]["prev"] == "http://testserver/api/v1/merchants?page=1&page_size=50"


def test_an_empty_list_has_one_empty_page(api):
    body = api.get("/merchants").json()
    assert body["items"] == []
    assert body["pagination"] == {"page": 1, "page_size": 50, "total_items": 0, "total_pages": 1}


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"page": "0"}, {"page": ["Must be at least 1, not 0."]}),
        ({"page": "two"}, {"page": ["Must be an integer, not 'two'."]}),
        ({"page_size": "101"}, {"page_size": ["Must be at most 100, not 101."]}),
        ({"page_size": "0"}, {"page_size": ["Must be at least 1, not 0."]}),
    ],
)
def test_list_query_validation(api, params, errors):
    response = api.get("/merchants", **params)
    assert validation_errors(response) == errors
    assert response.json()["detail"] == "The query string is invalid; see errors."


# --- Get --------------------------------------------------------------------------------------


def test_get_answers_the_merchant(api, partner):
    merchant = merchant_for(partner, "acme:42@eu", timezone="Europe/Paris", currency="EUR")
    response = api.get("/merchants/acme:42@eu")
    assert response.status_code == 200
    assert response.json() == merchant_body(merchant)


def test_an_id_no_merchant_can_have_is_a_404_without_a_lookup(api, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):  # the key, and its last_used_at
        response = api.get("/merchants/a%00b")
    assert response.status_code == 404
    assert response.json()["detail"] == "You have no merchant with external id 'a\\x00b'."


def test_get_an_unknown_merchant_is_a_404(api):
    response = api.get("/merchants/nobody")
    assert response.status_code == 404
    assert response.json() == {
        "type": problem_type("not-found"),
        "title": "Not found",
        "status": 404,
        "detail": "You have no merchant with external id 'nobody'.",
    }


# --- Update -----------------------------------------------------------------------------------


def test_patch_changes_only_the_fields_sent(api, partner):
    merchant = merchant_for(partner, "acme", name="Acme", timezone="Europe/London")
    response = api.patch("/merchants/acme", {"name": "Acme Outdoor Co.", "currency": "GBP"})
    assert response.status_code == 200
    merchant.refresh_from_db()
    assert (merchant.name, merchant.currency, merchant.timezone) == ("Acme Outdoor Co.", "GBP", "Europe/London")
    assert response.json() == merchant_body(merchant)


def test_an_empty_patch_changes_nothing(api, partner):
    merchant = merchant_for(partner, "acme")
    before = merchant_body(merchant)
    response = api.patch("/merchants/acme", {})
    assert response.status_code == 200
    assert response.json() == before == merchant_body(merchant)


def test_patch_a_new_password_alone_keeps_environment_and_username(api, partner):
    merchant = merchant_for(partner, "acme")
    response = api.patch("/merchants/acme", {"connex": {"password": NEW_PASSWORD}})
    assert response.status_code == 200
    account = ConnexAccount.objects.get(merchant=merchant)
    assert account.get_password() == NEW_PASSWORD
    assert (account.environment, account.username) == ("sandbox", "acme@connex.test")
    assert response.json()["connex"] == {"environment": "sandbox", "username": "acme@connex.test", "verified": True}
    assert NEW_PASSWORD not in response.content.decode()


def test_patch_attaches_credentials_to_a_merchant_without_any(api, partner):
    merchant = merchant_for(partner, "acme", with_account=False)
    credentials = {"environment": "staging", "username": "books@acme.test", "password": NEW_PASSWORD}
    response = api.patch("/merchants/acme", {"connex": credentials})
    assert response.status_code == 200
    assert response.json()["connex"] == {"environment": "staging", "username": "books@acme.test", "verified": True}
    assert ConnexAccount.objects.get(merchant=merchant).get_password() == NEW_PASSWORD


def test_patch_partial_credentials_without_an_account_names_what_is_missing(api, partner):
    merchant_for(partner, "acme", with_account=False)
    response = api.patch("/merchants/acme", {"connex": {"username": "books@acme.test"}})
    assert validation_errors(response) == {
        "connex.environment": ["Required: the merchant has no Connex account yet."],
        "connex.password": ["Required: the merchant has no Connex account yet."],
    }
    assert response.json()["detail"] == (
        "The merchant has no Connex account yet, so environment, username and password are needed."
    )
    assert not ConnexAccount.objects.exists()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"external_id": "other"},
            {"external_id": ["The external id cannot be changed; create a new merchant instead."]},
        ),
        (
            {"connex": {"environment": "https://evil.example"}},
            {
                "connex.environment": [
                    "Name the Connex environment (production, staging, sandbox), not a URL: "
                    "each environment's address is configured on the server."
                ]
            },
        ),
        (
            {"connex": {"base_url": "https://evil.example"}},
            {"connex.base_url": ["Unknown field; the fields are: environment, username, password."]},
        ),
        ({"name": None}, {"name": ["Must be a string, not null."]}),
        ({"is_active": "yes"}, {"is_active": ["Must be true or false, not a string."]}),
        (
            {"timezone": "EST5"},
            {"timezone": ["'EST5' is not an IANA time zone name; write it like America/New_York or UTC."]},
        ),
    ],
)
def test_patch_validation(api, partner, body, errors):
    merchant = merchant_for(partner, "acme")
    before = merchant_body(merchant)
    assert validation_errors(api.patch("/merchants/acme", body)) == errors
    assert merchant_body(merchant) == before


def test_patch_is_active_true_reactivates(api, partner):
    merchant = merchant_for(partner, "acme", is_active=False)
    response = api.patch("/merchants/acme", {"is_active": True})
    assert response.status_code == 200
    assert response.json()["is_active"] is True
    merchant.refresh_from_db()
    assert merchant.is_active


# --- Deactivate -------------------------------------------------------------------------------


def test_deactivate_is_idempotent(api, partner):
    merchant = merchant_for(partner, "acme")
    first = api.post("/merchants/acme/deactivate")
    assert first.status_code == 200
    merchant.refresh_from_db()
    assert not merchant.is_active
    assert first.json() == merchant_body(merchant)
    second = api.post("/merchants/acme/deactivate")
    assert second.status_code == 200
    assert second.json() == first.json()


# --- Tenancy: another partner's merchant is a 404, always -------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/merchants/theirs", None),
        ("patch", "/merchants/theirs", {"name": "Hijacked", "connex": {"password": "stolen"}}),
        ("patch", "/merchants/theirs", {"is_active": False}),
        ("post", "/merchants/theirs/deactivate", None),
        ("post", "/embed-sessions", {"merchant_external_id": "theirs"}),
    ],
)
def test_another_partners_merchant_is_a_404_and_stays_untouched(api, other_partner, method, path, body):
    theirs = merchant_for(other_partner, "theirs")
    before = merchant_body(theirs)
    response = api.get(path) if method == "get" else api.send(method, path, body)
    assert response.status_code == 404
    assert response.json() == {
        "type": problem_type("not-found"),
        "title": "Not found",
        "status": 404,
        "detail": "You have no merchant with external id 'theirs'.",
    }
    assert merchant_body(theirs) == before
    assert ConnexAccount.objects.get(merchant=theirs).get_password() == PASSWORD
    assert not theirs.embed_launches.exists()


def test_the_404_for_another_partners_merchant_is_the_404_for_no_merchant(api, other_partner):
    merchant_for(other_partner, "theirs")
    theirs = api.get("/merchants/theirs").json()
    nobody = api.get("/merchants/nobody").json()
    assert theirs == {**nobody, "detail": nobody["detail"].replace("nobody", "theirs")}


# --- The password is write-only ---------------------------------------------------------------


def test_the_password_is_in_no_response(api, partner):
    created = {
        "external_id": "acme",
        "name": "Acme",
        "connex": {"environment": "sandbox", "username": "u", "password": PASSWORD},
    }
    responses = [
        api.post("/merchants", created, headers={"Idempotency-Key": "k1"}),
        api.post("/merchants", created, headers={"Idempotency-Key": "k1"}),
        api.post("/merchants", created),
        api.get("/merchants/acme"),
        api.get("/merchants"),
        api.patch("/merchants/acme", {"connex": {"password": NEW_PASSWORD}}),
        api.patch("/merchants/acme", {"connex": {"password": ""}}),
        api.post("/merchants/acme/deactivate"),
    ]
    assert [response.status_code for response in responses] == [201, 201, 409, 200, 200, 200, 422, 200]
    for response in responses:
        text = response.content.decode() + str(response.headers)
        assert PASSWORD not in text
        assert NEW_PASSWORD not in text
        assert "password" not in response.content.decode().replace("connex.password", "")


def test_credentials_connex_refuses_are_a_field_error_and_nothing_is_saved(api, partner, connex_logins):
    from tests.embed.conftest import WRONG_PASSWORD

    body = {
        "external_id": "acme",
        "name": "Acme",
        "connex": {"environment": "sandbox", "username": "books@acme.test", "password": WRONG_PASSWORD},
    }
    response = api.post("/merchants", body)
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"connex.username", "connex.password"}
    assert connex_logins.logins == ["books@acme.test"]
    assert not Merchant.objects.filter(partner=partner, external_id="acme").exists()

    merchant = merchant_for(partner, "acme")
    response = api.patch("/merchants/acme", {"connex": {"username": "someone@else.test", "password": WRONG_PASSWORD}})
    assert response.status_code == 422
    account = ConnexAccount.objects.get(merchant=merchant)
    assert (account.username, account.get_password()) == ("acme@connex.test", PASSWORD)


def test_credentials_saved_while_connex_is_down_are_kept_unverified(api, partner, connex_logins):
    connex_logins.down = True
    body = {
        "external_id": "acme",
        "name": "Acme",
        "connex": {"environment": "sandbox", "username": "books@acme.test", "password": NEW_PASSWORD},
    }
    response = api.post("/merchants", body)
    assert response.status_code == 201
    assert response.json()["connex"] == {"environment": "sandbox", "username": "books@acme.test", "verified": False}
    assert ConnexAccount.objects.get(merchant__external_id="acme").verified_at is None
