"""ConnexClient over httpx.MockTransport: each call's request, retries, errors and token handling."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from connexportal.connex import (
    ConnexAuthError,
    ConnexClient,
    ConnexError,
    ConnexProtocolError,
    ConnexRejected,
    ConnexUnavailable,
    InMemoryTokenStore,
    Token,
    routes,
)

from . import samples
from .conftest import PASSWORD, USERNAME, FakeConnex, body_of

PRODUCTS = routes.LIST_PRODUCTS.path
ADD = routes.ADD_PRODUCT.path
NEW_PRODUCT = json.loads(samples.ADD_PRODUCT_REQUEST)
HTML_500 = (
    "<!DOCTYPE html><html><head><title>500 - Internal server error.</title></head>"
    "<body><h1>Server Error</h1></body></html>"
)


def products_ok() -> httpx.Response:
    return httpx.Response(200, text=samples.PRODUCTS_RESPONSE, headers={"Content-Type": "application/json"})


# --- Each call sends the inferred route and body, and returns typed values ----------------


def test_list_products_posts_the_query_with_the_bearer_token_and_parses_the_page(fake: FakeConnex):
    fake.on(PRODUCTS, products_ok())
    client = fake.client()

    page = client.list_products({"searchText": "IPHONE", "pageSize": 10})

    assert [product.sku for product in page.products] == ["INVENTORY_PRODUCT", "IPHONE_white112"]
    (request,) = fake.calls(PRODUCTS)
    assert request.method == "POST"
    assert str(request.url) == f"{fake.base_url}/{PRODUCTS}"
    assert request.headers["Authorization"] == f"Bearer {fake.issued_tokens[0]}"
    assert request.headers["Content-Type"] == "application/json"
    assert body_of(request) == {
        "pageNumber": 1,
        "pageSize": 10,
        "searchText": "IPHONE",
        "orderBy": "",
        "direction": "",
        "isManual": False,
        "onlyFetchUnknownSkusProducts": False,
        "userConnectionId": 0,
    }


def test_login_sends_the_spec_body_once_and_the_token_is_reused(fake: FakeConnex):
    fake.on(PRODUCTS, products_ok())
    client = fake.client()

    client.list_products()
    client.list_products()

    (login,) = fake.calls(routes.LOGIN.path)
    assert login.method == "POST"
    assert body_of(login) == {"username": USERNAME, "password": PASSWORD}
    assert "Authorization" not in login.headers
    assert len(fake.calls(PRODUCTS)) == 2


def test_list_connections_gets_and_parses_the_inferred_shape(fake: FakeConnex):
    fake.on(routes.LIST_CONNECTIONS.path, httpx.Response(200, json=routes.LIST_CONNECTIONS_RESPONSE_EXAMPLE))

    (connection,) = fake.client().list_connections()

    assert connection.id == 951 and connection.scheduled_tasks[0].id == 77
    (request,) = fake.calls(routes.LIST_CONNECTIONS.path)
    assert request.method == "GET" and request.content == b""


def test_update_settings_sends_only_the_named_settings(fake: FakeConnex):
    fake.on(routes.UPDATE_SETTINGS.path, httpx.Response(200, json=routes.UPDATE_SETTINGS_RESPONSE_EXAMPLE))

    response = fake.client().update_settings(
        951, {"LastDownloadUtc": "2024-09-01T00:00:00", "LastDownloadUtcEnd": "2024-09-01T23:59:59"}
    )

    (request,) = fake.calls(routes.UPDATE_SETTINGS.path)
    assert body_of(request) == routes.UPDATE_SETTINGS_REQUEST_EXAMPLE
    assert response.settings_by_name()["SummaryTransactionGroupBy"] == "1"


def test_run_now_sends_the_task_and_parses_the_queued_run(fake: FakeConnex):
    fake.on(routes.RUN_NOW.path, httpx.Response(202, json=routes.RUN_NOW_RESPONSE_EXAMPLE))
    client = fake.client()

    run = client.run_now(951, 77)
    client.run_now(951)

    first, second = fake.calls(routes.RUN_NOW.path)
    assert body_of(first) == routes.RUN_NOW_REQUEST_EXAMPLE
    assert body_of(second) == {"userConnectionId": 951}
    assert (run.run_id, run.status) == (5002, "Queued")


def test_add_product_accepts_the_documented_plain_text(fake: FakeConnex):
    fake.on(ADD, httpx.Response(200, text=samples.ADD_PRODUCT_RESPONSE))

    assert fake.client().add_product(NEW_PRODUCT) is None

    (request,) = fake.calls(ADD)
    assert body_of(request) == NEW_PRODUCT


@pytest.mark.parametrize("text", ["Added Successfully", '"Added Successfully"', "  added successfully\n"])
def test_add_product_success_text_variants(fake: FakeConnex, text):
    fake.on(ADD, httpx.Response(200, text=text))
    fake.client().add_product(NEW_PRODUCT)


@pytest.mark.parametrize("text", ["", "  \n"])
def test_an_empty_2xx_to_a_write_says_nothing_and_is_a_protocol_error(fake: FakeConnex, text):
    fake.on(ADD, httpx.Response(200, text=text))
    with pytest.raises(ConnexProtocolError, match="not the documented"):
        fake.client().add_product(NEW_PRODUCT)
    assert len(fake.calls(ADD)) == 1


def test_add_product_with_an_unexpected_2xx_body_is_a_protocol_error(fake: FakeConnex):
    fake.on(ADD, httpx.Response(200, text="Something else happened"))
    with pytest.raises(ConnexProtocolError) as caught:
        fake.client().add_product(NEW_PRODUCT)
    assert caught.value.status == 200 and caught.value.path == ADD
    assert len(fake.calls(ADD)) == 1


def test_list_orders_sends_month_day_year_dates(fake: FakeConnex):
    fake.on(routes.LIST_ORDERS.path, httpx.Response(200, text=samples.ORDERS_RESPONSE))

    page = fake.client().list_orders(json.loads(samples.ORDERS_QUERY))

    assert page.orders[0].order_number == "JMA1189"
    (request,) = fake.calls(routes.LIST_ORDERS.path)
    assert body_of(request) == json.loads(samples.ORDERS_QUERY)


def products_page(skus: list[str], *, total_pages: int) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "lstProducts": [{"id": index, "sku": sku} for index, sku in enumerate(skus)],
            "unknownSkusCount": 0,
            "objMetaData": {"totalRows": 5, "totalNumberOfPages": total_pages},
        },
    )


def test_iter_products_walks_every_page_and_stops_at_the_last(fake: FakeConnex):
    fake.on(
        PRODUCTS,
        products_page(["A", "B"], total_pages=3),
        products_page(["C", "D"], total_pages=3),
        products_page(["E"], total_pages=3),
    )

    skus = [product.sku for product in fake.client().iter_products({"pageSize": 2})]

    assert skus == ["A", "B", "C", "D", "E"]
    assert [body_of(request)["pageNumber"] for request in fake.calls(PRODUCTS)] == [1, 2, 3]


def test_iter_products_without_a_page_count_stops_at_a_short_page(fake: FakeConnex):
    fake.on(PRODUCTS, products_page(["A", "B"], total_pages=0), products_page(["C"], total_pages=0))

    assert [product.sku for product in fake.client().iter_products({"pageSize": 2})] == ["A", "B", "C"]
    assert len(fake.calls(PRODUCTS)) == 2


def test_iter_products_without_metadata_detects_a_server_that_ignores_the_page_number(fake: FakeConnex):
    fake.on(PRODUCTS, httpx.Response(200, json={"lstProducts": [{"id": 1, "sku": "A"}, {"id": 2, "sku": "B"}]}))

    with pytest.raises(ConnexProtocolError, match="page 2 repeats the rows of an earlier page"):
        list(fake.client().iter_products({"pageSize": 2}))
    assert len(fake.calls(PRODUCTS)) == 2


def test_iter_products_without_metadata_is_bounded(fake: FakeConnex):
    served = iter(range(10**6))

    def endless(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"lstProducts": [{"id": next(served), "sku": "X"}]})

    fake.on(PRODUCTS, endless)

    with pytest.raises(ConnexProtocolError, match="more than 1000 pages without objMetaData"):
        list(fake.client().iter_products({"pageSize": 1}))
    assert len(fake.calls(PRODUCTS)) == 1000


def test_iter_products_with_metadata_detects_a_repeated_page(fake: FakeConnex):
    fake.on(PRODUCTS, products_page(["A", "B"], total_pages=3))

    with pytest.raises(ConnexProtocolError, match="page 2 repeats"):
        list(fake.client().iter_products({"pageSize": 2}))
    assert len(fake.calls(PRODUCTS)) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"isSuccess": False, "message": "Object reference not set to an instance of an object."},
        {"data": {"lstProducts": []}},
        {"lstproducts": [{"id": 1, "sku": "A"}]},
        {"lstProducts": None, "objMetaData": {"totalRows": 4, "totalNumberOfPages": 1}},
        {"lstProducts": None},
        {"lstProducts": [{"id": 1, "sku": "A"}, {"id": 2, "sku": "B"}], "objMetaData": {"totalRows": 1}},
    ],
    ids=[
        "error-object",
        "wrapper",
        "lowercased-key",
        "null-rows-of-a-nonempty-list",
        "null-rows-without-a-total",
        "more-rows-than-total",
    ],
)
def test_a_list_answer_that_is_not_a_page_is_a_protocol_error_not_an_empty_page(fake: FakeConnex, body):
    fake.on(PRODUCTS, httpx.Response(200, json=body))
    with pytest.raises(ConnexProtocolError, match="not the expected shape"):
        fake.client().list_products()


def test_null_rows_of_an_empty_list_are_an_empty_page(fake: FakeConnex):
    fake.on(PRODUCTS, httpx.Response(200, json={"lstProducts": None, "objMetaData": {"totalRows": 0}}))
    page = fake.client().list_products()
    assert page.products == [] and page.total_rows == 0


def test_iter_orders_walks_every_page(fake: FakeConnex):
    def page(numbers: list[str]) -> httpx.Response:
        orders = [{"orderNumber": number} for number in numbers]
        return httpx.Response(200, json={"lstAllOrders": orders, "objMetaData": {"totalNumberOfPages": 2}})

    fake.on(routes.LIST_ORDERS.path, page(["1", "2"]), page(["3"]))
    query = {"beginDate": "01/01/2024", "endDate": "01/31/2024", "pageSize": 2}

    assert [order.order_number for order in fake.client().iter_orders(query)] == ["1", "2", "3"]


# --- Retries -----------------------------------------------------------------------------


def test_read_retries_503_twice_then_succeeds_with_jittered_backoff(fake: FakeConnex, sleeps: list[float]):
    fake.on(PRODUCTS, httpx.Response(503), httpx.Response(503), products_ok())

    page = fake.client(sleep=sleeps.append, max_retries=2).list_products()

    assert len(page.products) == 2
    assert len(fake.calls(PRODUCTS)) == 3
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0


def test_read_gives_up_after_max_retries(fake: FakeConnex):
    fake.on(PRODUCTS, httpx.Response(502))

    with pytest.raises(ConnexUnavailable) as caught:
        fake.client(max_retries=3).list_products()

    assert len(fake.calls(PRODUCTS)) == 4
    assert (caught.value.status, caught.value.attempts, caught.value.method) == (502, 4, "POST")


def test_no_retries_when_max_retries_is_zero(fake: FakeConnex):
    fake.on(PRODUCTS, httpx.Response(503))
    with pytest.raises(ConnexUnavailable):
        fake.client(max_retries=0).list_products()
    assert len(fake.calls(PRODUCTS)) == 1


@pytest.mark.parametrize("status", [408, 429, 500, 504])
def test_read_retries_transient_statuses(fake: FakeConnex, status):
    fake.on(PRODUCTS, httpx.Response(status), products_ok())
    fake.client().list_products()
    assert len(fake.calls(PRODUCTS)) == 2


def test_read_retries_connection_errors_and_timeouts(fake: FakeConnex):
    fake.on(PRODUCTS, httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), products_ok())
    fake.client().list_products()
    assert len(fake.calls(PRODUCTS)) == 3


def test_write_answered_503_is_sent_exactly_once(fake: FakeConnex, sleeps: list[float]):
    fake.on(ADD, httpx.Response(503))

    with pytest.raises(ConnexUnavailable) as caught:
        fake.client(sleep=sleeps.append).add_product(NEW_PRODUCT)

    assert len(fake.calls(ADD)) == 1
    assert caught.value.status == 503 and caught.value.request_sent is True
    assert sleeps == []


@pytest.mark.parametrize("failure", [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("server hung up")])
def test_write_that_may_have_arrived_is_not_repeated(fake: FakeConnex, failure):
    fake.on(ADD, failure, httpx.Response(200, text="Added Successfully"))

    with pytest.raises(ConnexUnavailable) as caught:
        fake.client().add_product(NEW_PRODUCT)

    assert len(fake.calls(ADD)) == 1
    assert caught.value.status is None and caught.value.request_sent is True


def test_write_is_retried_only_when_it_never_left(fake: FakeConnex):
    fake.on(ADD, httpx.ConnectError("refused"), httpx.Response(200, text="Added Successfully"))

    fake.client().add_product(NEW_PRODUCT)

    assert len(fake.calls(ADD)) == 2


def test_write_that_could_not_connect_reports_it_was_not_sent(fake: FakeConnex):
    fake.on(routes.RUN_NOW.path, httpx.ConnectError("refused"))

    with pytest.raises(ConnexUnavailable) as caught:
        fake.client(max_retries=1).run_now(951)

    assert caught.value.request_sent is False
    assert "ConnectError" in caught.value.message


def test_429_retry_after_seconds_is_honoured(fake: FakeConnex, sleeps: list[float]):
    fake.on(PRODUCTS, httpx.Response(429, headers={"Retry-After": "3"}), products_ok())

    fake.client(sleep=sleeps.append).list_products()

    assert sleeps == [3.0]
    assert len(fake.calls(PRODUCTS)) == 2


def test_retry_after_http_date_is_honoured(fake: FakeConnex, sleeps: list[float]):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    fake.on(PRODUCTS, httpx.Response(503, headers={"Retry-After": when}), products_ok())

    fake.client(sleep=sleeps.append).list_products()

    (waited,) = sleeps
    assert 3.5 <= waited <= 5.0


def test_retry_after_is_capped(fake: FakeConnex, sleeps: list[float]):
    fake.on(PRODUCTS, httpx.Response(429, headers={"Retry-After": "3600"}), products_ok())

    fake.client(sleep=sleeps.append, retry_after_cap=2.5).list_products()

    assert sleeps == [2.5]


def test_429_after_retries_is_unavailable_and_says_when_to_come_back(fake: FakeConnex, sleeps: list[float]):
    fake.on(PRODUCTS, httpx.Response(429, headers={"Retry-After": "7"}))

    with pytest.raises(ConnexUnavailable) as caught:
        fake.client(sleep=sleeps.append, max_retries=2).list_products()

    assert (caught.value.status, caught.value.retry_after) == (429, 7.0)
    assert sleeps == [7.0, 7.0]
    assert len(fake.calls(PRODUCTS)) == 3


def test_a_wait_longer_than_the_call_budget_is_not_taken(fake: FakeConnex, sleeps: list[float]):
    fake.on(PRODUCTS, httpx.Response(429, headers={"Retry-After": "10"}), products_ok())

    with pytest.raises(ConnexUnavailable) as caught:
        fake.client(sleep=sleeps.append, total_timeout=5.0, retry_after_cap=30.0).list_products()

    assert sleeps == []
    assert caught.value.retry_after == 10.0
    assert len(fake.calls(PRODUCTS)) == 1


# --- Error classification ----------------------------------------------------------------


def test_400_problem_details_is_rejected_without_retry(fake: FakeConnex):
    fake.on(
        PRODUCTS, httpx.Response(400, json=routes.PROBLEM_EXAMPLE, headers={"Content-Type": "application/problem+json"})
    )

    with pytest.raises(ConnexRejected) as caught:
        fake.client().list_products()

    error = caught.value
    assert len(fake.calls(PRODUCTS)) == 1
    assert error.status == 400 and error.path == PRODUCTS and error.method == "POST"
    assert error.message == "Order 1 of 2: OrderNumber is required."
    assert error.title == "One or more validation errors occurred."
    assert error.field_errors == {"[0].OrderNumber": ["The OrderNumber field is required."]}
    assert error.elapsed is not None and error.elapsed >= 0


def test_problem_details_without_detail_lists_the_field_errors_in_the_message(fake: FakeConnex):
    problem = {"title": "One or more validation errors occurred.", "status": 400, "errors": {"PageSize": ["Too big."]}}
    fake.on(PRODUCTS, httpx.Response(400, json=problem))

    with pytest.raises(ConnexRejected) as caught:
        fake.client().list_products()

    assert caught.value.message == "One or more validation errors occurred.; PageSize: Too big."


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(400, text="Invalid user connection id"), "Invalid user connection id"),
        (httpx.Response(409, json="Duplicate SKU"), "Duplicate SKU"),
        (httpx.Response(422, json={"message": "SKU too long"}), "SKU too long"),
        (httpx.Response(404), "HTTP 404 Not Found"),
        (httpx.Response(404, html="<html><title>Not here</title></html>"), "HTTP 404: Not here"),
    ],
)
def test_other_4xx_bodies_give_a_readable_message(fake: FakeConnex, response, message):
    fake.on(PRODUCTS, response)
    with pytest.raises(ConnexRejected) as caught:
        fake.client().list_products()
    assert caught.value.message == message


def test_403_is_a_rejection_not_an_auth_error(fake: FakeConnex):
    fake.on(ADD, httpx.Response(403, text="The demo account cannot create products"))
    with pytest.raises(ConnexRejected) as caught:
        fake.client().add_product(NEW_PRODUCT)
    assert not isinstance(caught.value, ConnexAuthError)
    assert caught.value.status == 403


@pytest.mark.parametrize("status", [500, 200])
def test_html_error_page_is_unavailable(fake: FakeConnex, status):
    fake.on(PRODUCTS, httpx.Response(status, html=HTML_500))

    with pytest.raises(ConnexUnavailable) as caught:
        fake.client().list_products()

    assert caught.value.status == status
    assert "500 - Internal server error." in caught.value.message
    assert len(fake.calls(PRODUCTS)) == 3  # a read, so retried


def test_html_page_without_content_type_is_still_recognised(fake: FakeConnex):
    fake.on(PRODUCTS, httpx.Response(200, content=b"\n  <!doctype html><html><body>Stopped</body></html>"))
    with pytest.raises(ConnexUnavailable):
        fake.client(max_retries=0).list_products()


@pytest.mark.parametrize(
    "content",
    [b"garbage", b"", b'{"lstProducts": "nope"}', b'{"lstProducts": [{"id": "not-a-number"}]}', b"[1, 2]"],
)
def test_2xx_body_that_cannot_be_understood_is_a_protocol_error(fake: FakeConnex, content):
    fake.on(PRODUCTS, httpx.Response(200, content=content))

    with pytest.raises(ConnexProtocolError) as caught:
        fake.client().list_products()

    assert caught.value.status == 200
    assert len(fake.calls(PRODUCTS)) == 1


def test_protocol_error_names_the_bad_field_but_not_its_value(fake: FakeConnex):
    fake.on(PRODUCTS, httpx.Response(200, json={"lstProducts": [{"id": "secret-looking-value"}]}))

    with pytest.raises(ConnexProtocolError) as caught:
        fake.client().list_products()

    assert "lstProducts.0.id" in caught.value.message
    assert "secret-looking-value" not in str(caught.value)


def test_redirect_is_not_followed(fake: FakeConnex):
    fake.on(PRODUCTS, httpx.Response(302, headers={"Location": "https://login.example/"}))
    with pytest.raises(ConnexProtocolError) as caught:
        fake.client().list_products()
    assert caught.value.status == 302
    assert len(fake.requests) == 2  # login + the one call, nothing sent to the Location


def test_every_error_is_a_connex_error():
    for error_class in (ConnexAuthError, ConnexRejected, ConnexUnavailable, ConnexProtocolError):
        assert issubclass(error_class, ConnexError)


# --- Tokens ------------------------------------------------------------------------------


def test_401_triggers_exactly_one_relogin_then_the_call_succeeds(fake: FakeConnex):
    fake.on(PRODUCTS, products_ok())
    client = fake.client()
    client.login()
    fake.revoke_tokens()

    page = client.list_products()

    assert len(page.products) == 2
    assert fake.logins() == 2  # the explicit one, and the one re-login
    first, replay = fake.calls(PRODUCTS)
    assert first.headers["Authorization"] == f"Bearer {fake.issued_tokens[0]}"
    assert replay.headers["Authorization"] == f"Bearer {fake.issued_tokens[1]}"
    assert body_of(first) == body_of(replay)


def test_second_401_raises_auth_error_without_looping(fake: FakeConnex):
    fake.on(PRODUCTS, httpx.Response(401))

    with pytest.raises(ConnexAuthError) as caught:
        fake.client().list_products()

    assert len(fake.calls(PRODUCTS)) == 2
    assert fake.logins() == 2  # first login, one re-login, no more
    assert caught.value.status == 401


def test_401_on_a_write_is_replayed_once_with_the_new_token(fake: FakeConnex):
    fake.on(ADD, httpx.Response(200, text="Added Successfully"))
    client = fake.client()
    client.login()
    fake.revoke_tokens()

    client.add_product(NEW_PRODUCT)

    assert len(fake.calls(ADD)) == 2


def test_eight_threads_hitting_401_together_cause_one_login(fake: FakeConnex):
    store = InMemoryTokenStore()
    # Not shared (flights.py): every thread's read must reach Connex and meet its own 401.
    client = fake.client(token_store=store, read_flights=None)
    client.login()
    stale = fake.issued_tokens[0]
    fake.revoke_tokens()
    threads_count = 8
    all_rejected = threading.Barrier(threads_count)

    def products(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == f"Bearer {stale}":
            # Every thread gets its 401 only once all eight hold the stale token.
            all_rejected.wait(timeout=10)
            return httpx.Response(401)
        return products_ok()

    fake.on(PRODUCTS, products)
    fake.check_auth = False
    results: list[object] = []

    def worker() -> None:
        try:
            results.append(len(client.list_products().products))
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            results.append(error)

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert results == [2] * threads_count
    assert fake.logins() == 2  # the setup login and exactly one re-login
    assert store.get(client.token_key).value == fake.issued_tokens[1]


def test_concurrent_first_calls_log_in_once(fake: FakeConnex):
    fake.on(PRODUCTS, products_ok())
    client = fake.client(read_flights=None)  # eight reads of their own, each needing the token
    threads = [threading.Thread(target=client.list_products) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert fake.logins() == 1
    assert len(fake.calls(PRODUCTS)) == 8


def test_clients_of_one_account_share_the_default_token_store(fake: FakeConnex):
    fake.on(PRODUCTS, products_ok())
    transport = httpx.MockTransport(fake)
    for _ in range(3):
        ConnexClient(fake.base_url, USERNAME, PASSWORD, transport=transport, rate_limit=None).list_products()
    assert fake.logins() == 1


def test_expired_token_is_renewed_before_the_call(fake: FakeConnex):
    fake.on(PRODUCTS, products_ok())
    store = InMemoryTokenStore()
    client = fake.client(token_store=store)
    store.set(client.token_key, Token("expired-token", expires_at=datetime.now(UTC) - timedelta(minutes=1)))

    client.list_products()

    assert fake.logins() == 1
    (request,) = fake.calls(PRODUCTS)  # no 401 round trip
    assert request.headers["Authorization"] == f"Bearer {fake.issued_tokens[0]}"


def test_login_stores_its_expiry(fake: FakeConnex):
    fake.login_response = lambda token: httpx.Response(200, json={"access_token": token, "expires_in": 3600})
    store = InMemoryTokenStore()
    client = fake.client(token_store=store)

    token = client.login()

    assert store.get(client.token_key) == token
    assert token.expires_at is not None
    assert timedelta(minutes=59) < token.expires_at - datetime.now(UTC) <= timedelta(hours=1)


@pytest.mark.parametrize(
    "shape",
    [
        lambda token: httpx.Response(200, json=token),
        lambda token: httpx.Response(200, json={"token": token}),
        lambda token: httpx.Response(200, json={"accessToken": token}),
        lambda token: httpx.Response(200, json={"access_token": token, "expires_in": 60}),
        lambda token: httpx.Response(200, json={"Token": token, "Expiration": "2099-01-01T00:00:00.1234567"}),
    ],
)
def test_every_tolerated_login_shape_yields_the_bearer(fake: FakeConnex, shape):
    fake.login_response = shape
    fake.on(PRODUCTS, products_ok())

    fake.client().list_products()

    assert fake.calls(PRODUCTS)[0].headers["Authorization"] == f"Bearer {fake.issued_tokens[0]}"


def test_bad_credentials_raise_auth_error(fake: FakeConnex):
    fake.on(routes.LOGIN.path, httpx.Response(401))
    with pytest.raises(ConnexAuthError) as caught:
        fake.client().list_products()
    assert caught.value.status == 401 and caught.value.path == routes.LOGIN.path
    assert fake.calls(PRODUCTS) == []


def test_bad_credentials_carry_the_upstream_message(fake: FakeConnex):
    problem = {"title": "Unauthorized", "status": 401, "detail": "The username or password is incorrect."}
    fake.on(routes.LOGIN.path, httpx.Response(401, json=problem))
    with pytest.raises(ConnexAuthError) as caught:
        fake.client().login()
    assert caught.value.message == "Connex refused the credentials: The username or password is incorrect."


def test_login_rejected_with_400_is_an_auth_error_with_the_upstream_message(fake: FakeConnex):
    fake.on(routes.LOGIN.path, httpx.Response(400, json={"title": "Invalid username or password."}))
    with pytest.raises(ConnexAuthError) as caught:
        fake.client().login()
    assert caught.value.message == "Connex refused the login: Invalid username or password."
    assert caught.value.status == 400


def test_login_answer_without_a_token_is_a_protocol_error(fake: FakeConnex):
    fake.on(routes.LOGIN.path, httpx.Response(200, json={"result": "ok"}))
    with pytest.raises(ConnexProtocolError):
        fake.client().login()


def test_login_404_falls_back_and_remembers_the_fallback(fake: FakeConnex):
    fake.on(routes.LOGIN.path, httpx.Response(404))
    fake.on(PRODUCTS, products_ok())

    fake.client().list_products()
    fake.client().login()  # a new client (and store) of the same base URL

    assert len(fake.calls(routes.LOGIN.path)) == 1
    first, second = fake.calls(routes.LOGIN_FALLBACK.path)
    assert first.method == second.method == "POST"
    assert body_of(first) == body_of(second) == {"Username": USERNAME, "Password": PASSWORD}
    assert fake.calls(PRODUCTS)[0].headers["Authorization"] == f"Bearer {fake.issued_tokens[0]}"


def test_login_404_on_both_paths_is_rejected(fake: FakeConnex):
    fake.on(routes.LOGIN.path, httpx.Response(404))
    fake.on(routes.LOGIN_FALLBACK.path, httpx.Response(404))
    with pytest.raises(ConnexRejected) as caught:
        fake.client().login()
    assert caught.value.status == 404 and caught.value.path == routes.LOGIN_FALLBACK.path


def test_login_is_retried_like_a_read(fake: FakeConnex):
    fake.on(routes.LOGIN.path, httpx.Response(503), httpx.Response(200, json={"token": "abc"}))
    fake.check_auth = False
    fake.client().login()
    assert len(fake.calls(routes.LOGIN.path)) == 2


# --- Construction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url", ["connex.example", "ftp://connex.example", "https://user:pw@connex.example", "https://c.example/?a=1"]
)
def test_base_url_must_be_a_plain_http_url(base_url):
    with pytest.raises(ValueError, match="base_url"):
        ConnexClient(base_url, USERNAME, PASSWORD)


def test_base_url_trailing_slash_and_path_prefix(fake: FakeConnex):
    fake.check_auth = False
    fake.on("sandbox/" + routes.LOGIN.path, httpx.Response(200, json={"token": "abc"}))
    fake.on("sandbox/" + PRODUCTS, products_ok())
    client = ConnexClient(
        fake.base_url + "/sandbox/", USERNAME, PASSWORD, transport=httpx.MockTransport(fake), rate_limit=None
    )

    client.list_products()

    assert str(fake.calls("sandbox/" + PRODUCTS)[0].url) == f"{fake.base_url}/sandbox/{PRODUCTS}"


def test_repr_of_the_client_hides_the_password(fake: FakeConnex):
    client = fake.client()
    assert PASSWORD not in repr(client)
    assert PASSWORD not in str(client)


def test_token_key_does_not_contain_the_account_or_password(fake: FakeConnex):
    key = fake.client().token_key
    assert USERNAME not in key and PASSWORD not in key and fake.base_url not in key
    assert len(key) < 100
