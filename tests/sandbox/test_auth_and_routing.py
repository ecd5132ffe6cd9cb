import ast
import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

import connexportal.sandbox
from connexportal.connex import routes
from connexportal.sandbox import auth, views
from connexportal.sandbox.models import AccessToken, TaskStatus
from connexportal.sandbox.problems import PROBLEM_CONTENT_TYPE
from connexportal.sandbox.wire import parse_timestamp

from .conftest import make_user


def test_every_route_of_routes_is_served_by_exactly_one_handler():
    assert set(views.ENDPOINTS) == set(routes.ALL_ROUTES)
    assert tuple(TaskStatus.values) == routes.TASK_STATUSES


def test_the_sandbox_takes_nothing_from_the_project_but_routes_and_keys():
    for source in Path(connexportal.sandbox.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "connexportal.connex":
                assert [alias.name for alias in node.names] == ["routes"], source
            elif isinstance(node, ast.ImportFrom | ast.Import):
                modules = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                for module in modules:
                    allowed = ("connexportal.sandbox", "connexportal.connex.routes", "connexportal.connex.keys")
                    assert not (module or "").startswith("connexportal") or module.startswith(allowed), (source, module)


def test_login_answers_the_inferred_response_shape(api, settings):
    settings.CONNEX_SANDBOX_TOKEN_TTL = 120
    make_user("merchant@example.test")
    before = timezone.now()
    response = api.post(routes.LOGIN.path, {"username": "merchant@example.test", "password": "sandbox-test-password"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert list(body) == list(routes.LOGIN_RESPONSE_EXAMPLE)
    assert body["expiration"].endswith("Z") and len(body["expiration"].split(".")[1]) == 8
    lifetime = parse_timestamp(body["expiration"]) - before
    assert timedelta(seconds=119) < lifetime <= timedelta(seconds=121)


def test_tokens_are_stored_only_as_hashes(api):
    make_user("merchant@example.test")
    token = api.login("merchant@example.test")
    stored = AccessToken.objects.get()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not AccessToken.objects.filter(token_hash=token).exists()


def test_login_fallback_takes_pascal_case_keys_and_usernames_in_any_case(api):
    make_user("merchant@example.test")
    response = api.post(
        routes.LOGIN_FALLBACK.path, {"Username": "Merchant@Example.TEST", "Password": "sandbox-test-password"}
    )
    assert response.status_code == 200
    assert set(response.json()) == {"token", "expiration"}


def test_usernames_are_stored_lower_case(api):
    user = make_user("  Mixed.Case@Example.TEST ")
    assert user.username == "mixed.case@example.test"
    assert api.login("MIXED.case@example.test")


def test_wrong_password_and_unknown_user_get_the_same_401(api):
    make_user("merchant@example.test")
    wrong = api.post(routes.LOGIN.path, {"username": "merchant@example.test", "password": "nope"})
    unknown = api.post(routes.LOGIN.path, {"username": "nobody@example.test", "password": "nope"})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
        assert response.json()["detail"] == "The username or password is incorrect."


def test_login_without_fields_names_each_missing_field(api):
    response = api.post(routes.LOGIN.path, {"username": ""})
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {
        "Username": ["The Username field is required."],
        "Password": ["The Password field is required."],
    }
    assert body["title"] == "One or more validation errors occurred."
    assert body["type"] == "https://tools.ietf.org/html/rfc9110#section-15.5.1"
    assert body["detail"] == "Username is required. (1 more error; see errors.)"


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "needle"),
    [
        ("{not json", "application/json", 400, "not valid JSON"),
        ('{"username": NaN}', "application/json", 400, "not valid JSON"),
        ("  ", "application/json", 400, "A non-empty request body is required."),
        ("", "", 415, "not no content type"),
        ("username=x", "application/x-www-form-urlencoded", 415, "application/json"),
        ("[]", "application/json", 400, "must be a JSON object"),
    ],
)
def test_bad_bodies_are_problem_details(api, raw, content_type, status, needle):
    response = api.post(routes.LOGIN.path, raw=raw, content_type=content_type)
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert needle in response.json()["detail"]


def test_calls_without_a_token_get_401_with_a_bearer_challenge(api):
    response = api.get(routes.LIST_CONNECTIONS.path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer <token>" in response.json()["detail"]


def test_unknown_token_gets_401(api):
    response = api.get(routes.LIST_CONNECTIONS.path, token="made-up")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_expired_token_gets_401_and_a_fresh_login_works(api):
    user = make_user("merchant@example.test")
    raw, token = auth.issue_token(user, now=timezone.now() - timedelta(hours=2))
    assert token.expires_at < timezone.now()
    response = api.get(routes.LIST_CONNECTIONS.path, token=raw)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    assert "The token expired at" in response["WWW-Authenticate"]
    assert api.get(routes.LIST_CONNECTIONS.path, token=api.login("merchant@example.test")).status_code == 200


def test_token_lifetime_follows_the_configured_ttl(settings):
    settings.CONNEX_SANDBOX_TOKEN_TTL = 5
    user = make_user()
    now = timezone.now()
    _, token = auth.issue_token(user, now=now)
    assert token.expires_at == now + timedelta(seconds=5)


def test_login_sweeps_the_users_expired_tokens():
    user = make_user()
    now = timezone.now()
    auth.issue_token(user, now=now - timedelta(days=1))
    auth.issue_token(user, now=now)
    assert AccessToken.objects.filter(user=user).count() == 1


def test_paths_are_case_insensitive_and_take_a_trailing_slash(api, merchant, merchant_token):
    for path in ("api/userconnections/list", "API/USERCONNECTIONS/LIST/", routes.LIST_CONNECTIONS.path):
        assert api.get(path, token=merchant_token).status_code == 200


def test_unknown_paths_and_wrong_methods_are_problem_details(api, merchant_token):
    missing = api.get("api/nothing/here", token=merchant_token)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "There is no Connex API route at /api/nothing/here."
    wrong = api.get(routes.LIST_PRODUCTS.path, token=merchant_token)
    assert wrong.status_code == 405
    assert wrong["Allow"] == "POST"
    assert api.post(routes.LIST_CONNECTIONS.path, {}, token=merchant_token)["Allow"] == "GET"


def test_problem_details_carry_a_trace_id(api):
    body = api.get("api/nothing").json()
    assert body["traceId"].startswith("00-") and len(body["traceId"]) == 55


def test_the_portal_serves_the_sandbox_only_when_connex_sandbox_is_on(manage):
    probe = "from django.test import Client; print(Client().get('/sandbox/api/account/login').status_code)"
    env = {"DEBUG": "true", "ALLOWED_HOSTS": "testserver"}
    on = manage("shell", "-c", probe, env={**env, "CONNEX_SANDBOX": "true"})
    off = manage("shell", "-c", probe, env={**env, "CONNEX_SANDBOX": "false"})
    assert on.returncode == 0 and off.returncode == 0, on.stderr + off.stderr
    assert on.stdout.strip().splitlines()[-1] == "405"
    assert off.stdout.strip().splitlines()[-1] == "404"


def test_responses_are_json_even_for_a_login_sent_as_a_json_subtype(api):
    make_user("merchant@example.test")
    body = json.dumps({"username": "merchant@example.test", "password": "sandbox-test-password"})
    response = api.post(routes.LOGIN.path, raw=body, content_type="application/vnd.connex+json")
    assert response.status_code == 200
