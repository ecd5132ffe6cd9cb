"""The partner API's OpenAPI document and human docs: accurate, complete, and honoured by the API."""

import ipaddress
import re

import hypothesis
import pytest
import schemathesis
from django.urls import resolve
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from connexportal.partner_api import openapi, views
from connexportal.partner_api.schemas import Problem
from connexportal.webhooks import targets
from tests.embed.api_helpers import Api, merchant_for, partner_with_key
from tests.wsgi import in_test_wsgi_app

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


@pytest.fixture
def partner_key():
    partner, key = partner_with_key("Partner A")
    # The documented examples name this merchant, so the explicit-example runs reach the happy paths.
    merchant_for(partner, openapi.EXAMPLE_MERCHANT["external_id"])
    merchant_for(partner_with_key("Partner B")[0], "theirs")
    return key


@pytest.fixture
def public_dns(monkeypatch):
    """Every host name resolves to one public address: webhook endpoint URLs are checked against
    their host's addresses, and the run must not wait on real DNS for generated names."""
    monkeypatch.setattr(targets, "resolve", lambda host, port: [ipaddress.ip_address("93.184.215.14")])


@pytest.fixture
def unlimited(settings):
    # The run makes a few hundred calls with one key; the limit itself has its own tests.
    settings.PARTNER_API_RATE_LIMIT = 100_000


def not_a_server_error_but_connex_unavailable(ctx, response, case):
    """Every 5xx fails, but the documented connex-unavailable problem: the Connex behind these tests
    answers logins only (connex_logins), so the calls that need Connex's data get that problem."""
    if response.status_code == 503 and response.json().get("type", "").endswith("#problem-connex-unavailable"):
        return None
    return not_a_server_error(ctx, response, case)


# Loaded through the WSGI app like any client would, from the URL the docs give.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", in_test_wsgi_app)


@schema.parametrize()
@hypothesis.settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_the_api_honours_its_openapi_document(case, partner_key, unlimited, public_dns):
    case.call_and_validate(
        # The WSGI transport hands bodies over undecoded, and the portal gzips for clients that accept it.
        headers={"Authorization": f"Bearer {partner_key}", "Accept-Encoding": "identity"},
        checks=[
            not_a_server_error_but_connex_unavailable,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )


# --- The document ---------------------------------------------------------------------------


def test_the_document_is_public_and_json():
    response = Api(None).get("/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "/api/v1"}]
    assert document["components"]["securitySchemes"]["partnerApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "cxp_<prefix>_<secret>",
        "description": "Your partner API key, shown once when created. Rotate by adding a new one.",
    }
    assert document["security"] == [{"partnerApiKey": []}]


def test_the_document_lists_exactly_the_routes_and_methods_the_api_has():
    document = Api(None).get("/openapi.json").json()
    documented = {(path, method.upper()) for path, operations in document["paths"].items() for method in operations}
    assert documented == {
        ("/merchants", "GET"),
        ("/merchants", "POST"),
        ("/merchants/{external_id}", "GET"),
        ("/merchants/{external_id}", "PATCH"),
        ("/merchants/{external_id}/deactivate", "POST"),
        ("/merchants/{external_id}/activity", "GET"),
        ("/merchants/{external_id}/connections", "GET"),
        ("/merchants/{external_id}/products", "POST"),
        ("/merchants/{external_id}/order-imports", "POST"),
        ("/order-imports/{id}", "GET"),
        ("/embed-sessions", "POST"),
        ("/webhook-endpoints", "GET"),
        ("/webhook-endpoints", "POST"),
        ("/webhook-endpoints/{id}", "GET"),
        ("/webhook-endpoints/{id}", "DELETE"),
        ("/webhook-endpoints/{id}/test", "POST"),
        ("/webhook-endpoints/{id}/rotate-secret", "POST"),
        ("/openapi.json", "GET"),
    }
    for path, method in documented:
        url = "/api/v1" + path.replace("{external_id}", "acme")
        assert resolve(url).func is not views.not_found, url
        # Unauthenticated, a documented method is refused for the key (401), never as unknown (404/405).
        answer = getattr(Api(None).client, method.lower())(url)
        assert answer.status_code in (200, 401), (method, url, answer.status_code)


def test_every_operation_documents_its_errors_as_problem_details():
    document = Api(None).get("/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if operation.get("security") == []:
                continue
            responses = operation["responses"]
            assert {"401", "429"} <= set(responses), (method, path)
            assert responses["401"]["headers"]["WWW-Authenticate"]["required"] is True
            assert responses["429"]["headers"]["Retry-After"]["required"] is True
            for status, response in responses.items():
                if int(status) >= 400:
                    assert response["content"] == {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                    }
            if "requestBody" in operation:
                assert {"400", "415", "422"} <= set(responses), (method, path)
            if "{external_id}" in path:
                assert "404" in responses, (method, path)


def test_the_password_is_write_only_in_the_document():
    schemas = Api(None).get("/openapi.json").json()["components"]["schemas"]
    assert schemas["ConnexCredentials"]["properties"]["password"]["writeOnly"] is True
    assert "password" not in schemas["ConnexAccountOut"]["properties"]
    assert set(schemas["MerchantOut"]["properties"]) == {
        "external_id",
        "name",
        "timezone",
        "currency",
        "is_active",
        "connex",
        "created_at",
        "updated_at",
    }


@pytest.mark.parametrize("operation", openapi.OPERATIONS, ids=lambda operation: operation.operation_id)
def test_every_example_is_valid_for_its_model(operation):
    if operation.response is None:
        assert operation.example_response is None and operation.status == 204
    else:
        operation.response.model_validate(operation.example_response)
    if operation.body is not None:
        operation.body.model_validate(operation.example_body, strict=True)


def test_the_documented_problem_example_is_a_problem(client):
    context = openapi.docs_context(client.get("/api/v1/docs").wsgi_request)
    Problem.model_validate_json(context["example_problem"])


# --- The human docs -------------------------------------------------------------------------


def test_the_docs_page_lists_every_endpoint_with_a_curl_example(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    for operation in openapi.OPERATIONS:
        assert f'id="{operation.operation_id}"' in html
        assert f"<code>/api/v1{operation.path}</code>" in html
        assert f"curl -sS -X {operation.method.upper()} http://testserver/api/v1" in html
    assert html.count("Authorization: Bearer $CONNEX_PORTAL_API_KEY") == len(openapi.OPERATIONS)
    for section in ("authentication", "errors", "rate-limits", "idempotency", "pagination"):
        assert f'id="{section}"' in html
    for kind_slug in ("validation-error", "rate-limited", "idempotency-key-reused", "not-found", "unauthorized"):
        assert f'id="problem-{kind_slug}"' in html
    assert "120 requests per 60 seconds" in html


def test_the_docs_page_loads_nothing_from_elsewhere(client):
    html = client.get("/api/v1/docs").content.decode()
    assert 'class="skip-link"' in html  # the site's own shell (base.html)
    loaded = re.findall(r'<(?:script|link|img)[^>]*(?:src|href)="([^"]+)"', html)
    assert loaded
    assert all(url.startswith("/") and not url.startswith("//") for url in loaded), loaded
