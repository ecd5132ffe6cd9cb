import json
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from connexportal.connex import routes
from connexportal.sandbox import faults
from connexportal.sandbox.checks import check_configuration
from connexportal.sandbox.faults import FaultSpecError, parse_environment, parse_spec
from connexportal.sandbox.models import FaultProfile, Order

from .conftest import make_user
from .test_orders import spec_order

CONNECTIONS = routes.LIST_CONNECTIONS.path
PRODUCTS = routes.LIST_PRODUCTS.path


@pytest.fixture(autouse=True)
def no_environment_faults(monkeypatch):
    monkeypatch.delenv("CONNEX_SANDBOX_FAULTS", raising=False)
    monkeypatch.delenv("CONNEX_SANDBOX_LATENCY_MS", raising=False)


def fault_of(response) -> str | None:
    return response.get(faults.FAULT_HEADER)


# --- the syntax ------------------------------------------------------------------------


def test_the_documented_example_parses_in_order():
    spec = parse_spec("503=0.2,429=0.1,html=0.05,malformed=0.05,expire=0.1,hang=0.01")
    assert spec.rates == (
        ("503", 0.2),
        ("429", 0.1),
        ("html", 0.05),
        ("malformed", 0.05),
        ("expire", 0.1),
        ("hang", 0.01),
    )


def test_options_parse():
    spec = parse_spec(
        " 500=1 , latency_ms=100-300, retry_after=7, hang_seconds=0.5, path=/Products/List|orders, next=3, seed=9,"
    )
    assert spec.rates == (("500", 1.0),)
    assert (spec.latency_ms, spec.retry_after, spec.hang_seconds) == ((100, 300), 7, 0.5)
    assert (spec.paths, spec.next, spec.seed) == (("products/list", "orders"), 3, 9)
    assert spec.matches("api/products/list") and spec.matches("api/orders/createorders")
    assert not spec.matches("API/UserConnections/List")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("503=1.5", "503=1.5: a rate is a share of requests, between 0 and 1"),
        ("503=0.6,429=0.5", "the rates add up to more than 1"),
        (
            "404=0.1",
            "404: unknown; use one of 500, 502, 503, 429, html, malformed, expire, hang, commit_fail, commit_late, "
            "latency_ms",
        ),
        ("commit_fail=1,committed=1.5", "committed=1.5: the share of the batch stored, between 0 and 1"),
        ("commit_fail=1,answer=418", "answer=418: use one of 500, 502, 503, 504, html, empty, unknown, 400, hang"),
        ("commit_late=1,late_seconds=-1", "late_seconds=-1: must be 0 or more"),
        ("503=0.1,503=0.2", "503: given twice"),
        ("503", "'503': expected key=value"),
        ("503=lots", "503=lots: not a number"),
        ("next=0", "next=0: must be 1 or more"),
        ("latency_ms=300-100", "latency_ms=300-100: the range must go from low to high"),
        ("account=x@y.z", "account: unknown"),
    ],
)
def test_bad_specs_say_what_is_wrong(text, message):
    with pytest.raises(FaultSpecError, match=message.replace("(", r"\(").replace(")", r"\)").replace("|", r"\|")):
        parse_spec(text)


def test_the_environment_takes_several_profiles_and_a_latency():
    profiles, latency = parse_environment("503=0.2,retry_after=2;429=1,account=Other@Connex.test", "100-300")
    assert [(p.rates, p.account) for p in profiles] == [((("503", 0.2),), ""), ((("429", 1.0),), "other@connex.test")]
    assert latency == (100, 300)
    assert parse_environment("", "250") == ((), (250, 250))


@pytest.mark.parametrize(
    ("faults_text", "latency_text", "message"),
    [
        ("503=2", "", "CONNEX_SANDBOX_FAULTS: 503=2: a rate is a share"),
        ("503=1;429=1", "", "CONNEX_SANDBOX_FAULTS: more than one profile without account="),
        ("503=1,account=a@b.c;429=1,account=A@B.C", "", "more than one profile for the same account"),
        ("", "fast", "CONNEX_SANDBOX_LATENCY_MS: fast: not a number"),
    ],
)
def test_bad_environment_is_one_line_naming_the_variable(faults_text, latency_text, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_environment(faults_text, latency_text)


def test_the_system_check_reports_bad_sandbox_variables(monkeypatch):
    assert check_configuration() == []
    monkeypatch.setenv("CONNEX_SANDBOX_FAULTS", "html=3")
    monkeypatch.setenv("CONNEX_SANDBOX_TOKEN_TTL", "-5")
    found = check_configuration()
    assert [error.id for error in found] == ["sandbox.E001", "sandbox.E001"]
    assert found[0].msg == "CONNEX_SANDBOX_TOKEN_TTL: must be greater than 0 seconds, got '-5'"
    assert found[1].msg.startswith("CONNEX_SANDBOX_FAULTS: html=3:")


# --- which requests --------------------------------------------------------------------


def test_rates_are_deterministic_and_match_the_documented_draw(api, merchant_token):
    spec = faults.configure("503=0.3,seed=7")
    first = [fault_of(api.get(CONNECTIONS, token=merchant_token)) for _ in range(40)]
    faults.configure("503=0.3,seed=7")
    second = [fault_of(api.get(CONNECTIONS, token=merchant_token)) for _ in range(40)]
    assert first == second == [spec.decide(index)[1] for index in range(40)]
    assert 4 <= first.count("503") <= 20 and first.count(None) >= 20


def test_rate_one_faults_every_request_and_next_n_exactly_n(api, merchant_token):
    faults.configure("502=1")
    assert [api.get(CONNECTIONS, token=merchant_token).status_code for _ in range(3)] == [502, 502, 502]
    faults.configure("502=1,next=2")
    assert [api.get(CONNECTIONS, token=merchant_token).status_code for _ in range(4)] == [502, 502, 200, 200]
    assert FaultProfile.objects.get().remaining == 0


def test_a_path_filter_faults_only_those_routes(api, merchant_token):
    faults.configure("503=1,path=products/list")
    assert api.get(CONNECTIONS, token=merchant_token).status_code == 200
    assert api.post(PRODUCTS, {}, token=merchant_token).status_code == 503


def test_an_account_profile_leaves_other_accounts_alone(api, merchant_token):
    make_user("other@example.test")
    other_token = api.login("other@example.test")
    faults.configure("503=1", account="Merchant@Example.test")
    assert api.get(CONNECTIONS, token=merchant_token).status_code == 503
    assert api.get(CONNECTIONS, token=other_token).status_code == 200


def test_the_most_specific_profile_wins(api, merchant_token, monkeypatch):
    make_user("other@example.test")
    other_token = api.login("other@example.test")
    monkeypatch.setenv("CONNEX_SANDBOX_FAULTS", "500=1")
    assert api.get(CONNECTIONS, token=other_token).status_code == 500
    faults.configure("429=1")
    faults.configure("503=1", account="merchant@example.test")
    assert api.get(CONNECTIONS, token=merchant_token).status_code == 503
    assert api.get(CONNECTIONS, token=other_token).status_code == 429
    faults.clear(account="")
    assert api.get(CONNECTIONS, token=other_token).status_code == 500


def test_a_spent_account_profile_falls_back_to_the_global_one(api, merchant_token):
    faults.configure("429=1")
    faults.configure("503=1,next=1", account="merchant@example.test")
    assert [api.get(CONNECTIONS, token=merchant_token).status_code for _ in range(2)] == [503, 429]


def test_login_is_faulted_too_by_global_or_account_profile(api, merchant):
    faults.configure("503=1,next=1", account="merchant@example.test")
    body = {"username": "merchant@example.test", "password": "sandbox-test-password"}
    assert api.post(routes.LOGIN.path, body).status_code == 503
    assert api.post(routes.LOGIN.path, body).status_code == 200


def test_unknown_paths_are_never_faulted(api, merchant_token):
    faults.configure("503=1")
    assert api.get("api/nowhere", token=merchant_token).status_code == 404


def test_injected_restores_the_previous_profile(api, merchant_token):
    faults.configure("429=1,next=5")
    with faults.injected("503=1") as spec:
        assert spec.rates == (("503", 1.0),)
        assert api.get(CONNECTIONS, token=merchant_token).status_code == 503
    assert FaultProfile.objects.get().spec == "429=1,next=5"
    assert api.get(CONNECTIONS, token=merchant_token).status_code == 429


def test_environment_faults_apply_with_per_process_counters(api, merchant_token, monkeypatch):
    monkeypatch.setenv("CONNEX_SANDBOX_FAULTS", "503=1,next=1,path=products/list;429=1,account=other@example.test")
    assert api.get(CONNECTIONS, token=merchant_token).status_code == 200
    assert api.post(PRODUCTS, {}, token=merchant_token).status_code == 503
    assert api.post(PRODUCTS, {}, token=merchant_token).status_code == 200
    make_user("other@example.test")
    assert api.post(routes.LOGIN.path, {"username": "other@example.test", "password": "x"}).status_code == 429


# --- each kind -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_status_faults_answer_problem_details(api, merchant_token, status):
    faults.configure(f"{status}=1")
    response = api.get(CONNECTIONS, token=merchant_token)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json; charset=utf-8"
    assert response.json()["status"] == status and "fault injection" in response.json()["detail"]
    assert fault_of(response) == str(status)


def test_429_carries_retry_after(api, merchant_token):
    faults.configure("429=1,retry_after=7")
    response = api.get(CONNECTIONS, token=merchant_token)
    assert response.status_code == 429
    assert response["Retry-After"] == "7"
    assert "4 per second" in response.json()["detail"]


def test_html_is_an_iis_style_error_page(api, merchant_token):
    faults.configure("html=1")
    response = api.get(CONNECTIONS, token=merchant_token)
    assert response.status_code == 503
    assert response["Content-Type"] == "text/html"
    assert b"<h2>HTTP Error 503. The service is unavailable.</h2>" in response.content


def test_malformed_is_a_2xx_that_is_not_json(api, merchant_token):
    faults.configure("malformed=1")
    response = api.post(PRODUCTS, {}, token=merchant_token)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_expire_kills_a_valid_token_for_good(api, merchant_token):
    faults.configure("expire=1,next=1")
    response = api.get(CONNECTIONS, token=merchant_token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token", error_description="The token expired"'
    later = api.get(CONNECTIONS, token=merchant_token)
    assert later.status_code == 401 and fault_of(later) is None
    assert api.get(CONNECTIONS, token=api.login("merchant@example.test")).status_code == 200


def test_expire_never_touches_login(api, merchant):
    faults.configure("expire=1")
    assert (
        api.post(
            routes.LOGIN.path, {"username": "merchant@example.test", "password": "sandbox-test-password"}
        ).status_code
        == 200
    )


def test_hang_sleeps_past_the_client_then_answers_504(api, merchant_token):
    faults.configure("hang=1,hang_seconds=0.3")
    started = time.monotonic()
    response = api.get(CONNECTIONS, token=merchant_token)
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 504 and fault_of(response) == "hang"


def test_latency_delays_but_answers(api, merchant_token):
    faults.configure("latency_ms=150")
    started = time.monotonic()
    assert api.get(CONNECTIONS, token=merchant_token).status_code == 200
    assert time.monotonic() - started >= 0.15


def test_latency_from_the_environment_applies_to_every_request(api, merchant_token, monkeypatch):
    monkeypatch.setenv("CONNEX_SANDBOX_LATENCY_MS", "120")
    faults.configure("503=1", account="someone-else@example.test")
    started = time.monotonic()
    assert api.get(CONNECTIONS, token=merchant_token).status_code == 200
    assert time.monotonic() - started >= 0.12


def test_a_faulted_write_is_not_processed(api, merchant, merchant_token):
    user, connection = merchant
    faults.configure("500=1,next=1,path=createorders")
    batch = [spec_order(user, connection, "F-1")]
    assert api.post(routes.CREATE_ORDERS.path, batch, token=merchant_token).status_code == 500
    assert not Order.objects.exists()
    assert api.post(routes.CREATE_ORDERS.path, batch, token=merchant_token).status_code == 200
    assert Order.objects.count() == 1


def test_the_portals_own_pages_are_never_faulted(api):
    faults.configure("503=1")
    assert api.client.get("/healthz").status_code == 200


# --- commit kinds: createorders stores, then fails ---------------------------------------


CREATE = routes.CREATE_ORDERS.path
LIST = routes.LIST_ORDERS.path


def list_numbers(api, token) -> list[str]:
    body = {"beginDate": "09/01/2024", "endDate": "09/30/2024", "pageSize": 100}
    response = api.post(LIST, body, token=token)
    assert response.status_code == 200, response.content
    return sorted(order["orderNumber"] for order in response.json()["lstAllOrders"])


@pytest.mark.parametrize(
    ("answer", "status", "content_type", "body"),
    [
        ("500", 500, "application/problem+json", b'"status":500'),
        ("504", 504, "application/problem+json", b'"status":504'),
        ("html", 503, "text/html", b"<title>Service Unavailable</title>"),
        ("empty", 200, "text/plain", None),
        ("unknown", 200, "application/json", b'{"isSuccess":false,'),
        ("400", 400, "application/problem+json", b'"status":400'),
    ],
)
def test_commit_fail_stores_the_batch_then_answers_a_failure(
    api, merchant, merchant_token, answer, status, content_type, body
):
    user, connection = merchant
    faults.configure(f"commit_fail=1,answer={answer}")
    batch = [spec_order(user, connection, "C-1"), spec_order(user, connection, "C-2")]

    response = api.post(CREATE, batch, token=merchant_token)

    assert (response.status_code, fault_of(response)) == (status, "commit_fail")
    assert response["Content-Type"].startswith(content_type)
    assert response.content == b"" if body is None else body in response.content
    assert sorted(Order.objects.values_list("order_number", flat=True)) == ["C-1", "C-2"]
    assert list_numbers(api, merchant_token) == ["C-1", "C-2"]


def test_commit_fail_stores_only_the_committed_share_and_matches_only_createorders(api, merchant, merchant_token):
    user, connection = merchant
    faults.configure("commit_fail=1,committed=0.5,answer=400,next=1")
    # Other routes pass untouched and do not use up the profile.
    assert api.get(CONNECTIONS, token=merchant_token).status_code == 200
    batch = [spec_order(user, connection, f"P-{index}") for index in range(3)]

    response = api.post(CREATE, batch, token=merchant_token)

    assert response.status_code == 400 and fault_of(response) == "commit_fail"
    assert sorted(Order.objects.values_list("order_number", flat=True)) == ["P-0", "P-1"]
    assert FaultProfile.objects.get().remaining == 0


def test_a_batch_the_sandbox_refuses_gets_its_refusal_not_the_commit_fault(api, merchant, merchant_token):
    user, connection = merchant
    faults.configure("commit_fail=1")
    response = api.post(CREATE, [spec_order(user, connection, "")], token=merchant_token)
    assert response.status_code == 400 and fault_of(response) is None
    assert not Order.objects.exists()


def test_commit_late_answers_at_once_and_the_batch_shows_only_later(api, merchant, merchant_token, monkeypatch):
    from django.utils import timezone

    user, connection = merchant
    faults.configure("commit_late=1,late_seconds=30,answer=503,next=1")
    started = timezone.now()

    response = api.post(CREATE, [spec_order(user, connection, "L-1")], token=merchant_token)

    assert response.status_code == 503 and fault_of(response) == "commit_late"
    assert Order.objects.get().visible_after >= started + timedelta(seconds=30)
    assert list_numbers(api, merchant_token) == []
    # Invisible to the duplicate check as well: a resend now is stored again.
    assert api.post(CREATE, [spec_order(user, connection, "L-1")], token=merchant_token).status_code == 200
    assert Order.objects.count() == 2
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(seconds=31))
    assert list_numbers(api, merchant_token) == ["L-1", "L-1"]


def test_commit_kinds_parse_from_the_environment(monkeypatch, api, merchant, merchant_token):
    profiles, _ = parse_environment("commit_late=1,late_seconds=2.5,answer=HTML,committed=0.25", "")
    (spec,) = profiles
    assert (spec.rates, spec.late_seconds, spec.answer, spec.committed) == ((("commit_late", 1.0),), 2.5, "html", 0.25)
    monkeypatch.setenv("CONNEX_SANDBOX_FAULTS", "commit_fail=1,answer=502")
    user, connection = merchant
    response = api.post(CREATE, [spec_order(user, connection, "E-1")], token=merchant_token)
    assert (response.status_code, fault_of(response)) == (502, "commit_fail")
    assert Order.objects.filter(order_number="E-1").count() == 1
