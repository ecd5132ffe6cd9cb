"""create_orders: batches of at most 100, and the repair of a failed batch after listing what landed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connexportal.connex import ConnexAuthError, NewOrder, routes

from .conftest import FakeConnex, body_of

CREATE = routes.CREATE_ORDERS.path
LIST = routes.LIST_ORDERS.path
CONNECTION = 951
FIRST_DAY = datetime(2024, 9, 1, 12, 0, tzinfo=UTC)


def make_orders(count: int, *, prefix: str = "WEB-", connection: int = CONNECTION) -> list[dict]:
    return [
        {
            "reportingUserId": "f444a9f4-1fc4-42cd-9361-25c36f4ff418",
            "userConnectionId": connection,
            "orderNumber": f"{prefix}{index:04d}",
            "orderDate": (FIRST_DAY + timedelta(hours=index)).isoformat(),
            "customerName": "Joe Example",
            "orderTotal": "10.00",
            "totalTax": "0.50",
        }
        for index in range(count)
    ]


class OrdersServer:
    """Stores what createorders receives and serves it back through the orders list, like Connex.

    ``plan`` scripts createorders: "ok", "503", "503-after-half" (the first half of the
    batch is stored, then 503), "400" (ProblemDetails naming the second order), "timeout",
    "refused". ``list_fails`` makes the list answer 503. ``other_orders`` pads every
    listing without searchText with that many unrelated rows (to force per-number searches).
    """

    def __init__(self, fake: FakeConnex, plan: list[str], *, list_fails: bool = False, other_orders: int = 0):
        self.stored: dict[str, dict] = {}
        self.plan = list(plan)
        self.list_fails = list_fails
        self.other_orders = other_orders
        fake.on(CREATE, self.create)
        fake.on(LIST, self.list)

    def create(self, request: httpx.Request) -> httpx.Response:
        batch = body_of(request)
        step = self.plan.pop(0) if len(self.plan) > 1 else self.plan[0]
        if step == "refused":
            raise httpx.ConnectError("connection refused")
        if step == "timeout":
            self.store(batch)
            raise httpx.ReadTimeout("timed out")
        if step == "400":
            problem = {
                "title": "One or more validation errors occurred.",
                "status": 400,
                "errors": {"[1].CustomerName": ["The CustomerName field is required."]},
            }
            return httpx.Response(400, json=problem)
        if step == "503":
            return httpx.Response(503)
        if step == "503-after-half":
            self.store(batch[: len(batch) // 2])
            return httpx.Response(503)
        self.store(batch)
        return httpx.Response(200, text=routes.CREATE_ORDERS_OK_TEXT)

    def store(self, orders: list[dict]) -> None:
        for order in orders:
            self.stored[order["orderNumber"]] = order

    def list(self, request: httpx.Request) -> httpx.Response:
        if self.list_fails:
            return httpx.Response(503)
        query = body_of(request)
        begin = datetime.strptime(query["beginDate"], "%m/%d/%Y").date()
        end = datetime.strptime(query["endDate"], "%m/%d/%Y").date()
        rows = [
            {"orderNumber": number, "orderDate": order["orderDate"], "userConnectionId": order["userConnectionId"]}
            for number, order in self.stored.items()
            if begin <= datetime.fromisoformat(order["orderDate"]).date() <= end
            and query["searchText"].lower() in number.lower()
            and order["userConnectionId"] == query["userConnectionId"]
        ]
        if not query["searchText"]:
            rows += [{"orderNumber": f"OTHER-{n}", "userConnectionId": CONNECTION} for n in range(self.other_orders)]
        size, number = query["pageSize"], query["pageNumber"]
        pages = max(1, -(-len(rows) // size))
        page = {"lstAllOrders": rows[(number - 1) * size : number * size], "objMetaData": {"totalNumberOfPages": pages}}
        return httpx.Response(200, json=page)


def sent_numbers(fake: FakeConnex) -> list[list[str]]:
    return [[order["orderNumber"] for order in body_of(request)] for request in fake.calls(CREATE)]


def test_250_orders_go_in_batches_of_100_100_50(fake: FakeConnex):
    server = OrdersServer(fake, ["ok"])
    orders = make_orders(250)

    result = fake.client().create_orders(orders)

    assert [len(batch) for batch in sent_numbers(fake)] == [100, 100, 50]
    assert result.created == tuple(order["orderNumber"] for order in orders)
    assert result.already_existed == () and result.failed == () and result.ok
    assert set(server.stored) == set(result.created)
    assert fake.calls(LIST) == []  # nothing to repair, nothing listed


def test_batch_body_is_the_camel_case_order_array(fake: FakeConnex):
    OrdersServer(fake, ["ok"])
    fake.client().create_orders(make_orders(1))
    (request,) = fake.calls(CREATE)
    (order,) = body_of(request)
    assert order["orderNumber"] == "WEB-0000"
    assert order["orderTotal"] == 10 and order["totalTax"] == 0.5
    assert order["orderType"] == 0 and order["deleted"] is False
    assert request.headers["Content-Type"] == "application/json"


def test_failed_batch_is_repaired_by_sending_only_the_orders_that_did_not_land(fake: FakeConnex):
    server = OrdersServer(fake, ["ok", "503-after-half", "ok"])
    orders = make_orders(250)
    numbers = [order["orderNumber"] for order in orders]

    result = fake.client().create_orders(orders)

    sent = sent_numbers(fake)
    assert [len(batch) for batch in sent] == [100, 100, 50, 50]
    assert sent[1] == numbers[100:200]
    assert sent[2] == numbers[150:200]  # only the missing half, sent once
    assert sent[3] == numbers[200:250]
    assert result.already_existed == tuple(numbers[100:150])
    assert set(result.created) == set(numbers[:100] + numbers[150:])
    assert result.failed == ()
    assert set(server.stored) == set(numbers)
    listing = body_of(fake.calls(LIST)[0])
    # Orders 100-199 fall on 09/05-09/09; the listing covers a day either side.
    assert (listing["beginDate"], listing["endDate"]) == ("09/04/2024", "09/10/2024")
    assert listing["userConnectionId"] == CONNECTION


def test_a_timed_out_batch_that_fully_landed_is_not_resent(fake: FakeConnex):
    OrdersServer(fake, ["timeout"])
    orders = make_orders(3)

    result = fake.client().create_orders(orders)

    assert len(fake.calls(CREATE)) == 1
    assert result.already_existed == ("WEB-0000", "WEB-0001", "WEB-0002")
    assert result.created == () and result.failed == ()


def test_large_date_ranges_are_checked_by_searching_each_order_number(fake: FakeConnex):
    OrdersServer(fake, ["503-after-half", "ok"], other_orders=1000)
    orders = make_orders(4)

    result = fake.client().create_orders(orders)

    searched = [body_of(request)["searchText"] for request in fake.calls(LIST)]
    assert searched == ["", "WEB-0000", "WEB-0001", "WEB-0002", "WEB-0003"]
    assert sent_numbers(fake) == [["WEB-0000", "WEB-0001", "WEB-0002", "WEB-0003"], ["WEB-0002", "WEB-0003"]]
    assert result.already_existed == ("WEB-0000", "WEB-0001")
    assert result.created == ("WEB-0002", "WEB-0003")


def test_a_rejected_batch_is_not_resent_and_each_order_says_why(fake: FakeConnex):
    OrdersServer(fake, ["400"])

    result = fake.client().create_orders(make_orders(3))

    assert len(fake.calls(CREATE)) == 1
    assert fake.calls(LIST) == []
    assert result.created == () and not result.ok
    assert result.failed_numbers == ("WEB-0000", "WEB-0001", "WEB-0002")
    first, second, third = result.failed
    assert second.reason == "CustomerName: The CustomerName field is required."
    assert second.field_errors == {"CustomerName": ["The CustomerName field is required."]}
    assert first.field_errors == {} and third.field_errors == {}
    assert "validation errors" in first.reason
    assert not any(failure.may_have_landed for failure in result.failed)
    assert first.error is not None and first.error.status == 400


def test_when_the_lookup_also_fails_the_orders_are_reported_unknown_and_the_rest_not_attempted(fake: FakeConnex):
    OrdersServer(fake, ["503"], list_fails=True)

    result = fake.client().create_orders(make_orders(150))

    assert len(fake.calls(CREATE)) == 1  # the second batch is not sent into an outage
    assert len(result.failed) == 150
    unknown, not_sent = result.failed[:100], result.failed[100:]
    assert all(failure.may_have_landed for failure in unknown)
    assert all(failure.reason.startswith("outcome unknown") for failure in unknown)
    assert not any(failure.may_have_landed for failure in not_sent)
    assert all(failure.reason.startswith("not sent") for failure in not_sent)


def test_a_batch_that_never_left_is_not_looked_up(fake: FakeConnex):
    OrdersServer(fake, ["refused"])

    result = fake.client(max_retries=0).create_orders(make_orders(2))

    assert fake.calls(LIST) == []
    assert [failure.may_have_landed for failure in result.failed] == [False, False]
    assert all(failure.reason.startswith("not sent") for failure in result.failed)


def test_a_resend_that_fails_again_is_not_sent_a_third_time(fake: FakeConnex):
    OrdersServer(fake, ["503-after-half", "503"])

    result = fake.client().create_orders(make_orders(4))

    assert sent_numbers(fake) == [["WEB-0000", "WEB-0001", "WEB-0002", "WEB-0003"], ["WEB-0002", "WEB-0003"]]
    assert result.already_existed == ("WEB-0000", "WEB-0001")
    assert result.failed_numbers == ("WEB-0002", "WEB-0003")
    assert all(failure.may_have_landed for failure in result.failed)


def test_skip_existing_does_not_send_orders_connex_already_has(fake: FakeConnex):
    server = OrdersServer(fake, ["ok"])
    orders = make_orders(4)
    server.store(orders[:3])

    result = fake.client().create_orders(orders, skip_existing=True)

    assert sent_numbers(fake) == [["WEB-0003"]]
    assert result.already_existed == ("WEB-0000", "WEB-0001", "WEB-0002")
    assert result.created == ("WEB-0003",)


def test_orders_of_two_connections_are_looked_up_per_connection(fake: FakeConnex):
    server = OrdersServer(fake, ["503-after-half", "ok"])
    orders = make_orders(2, prefix="A-") + make_orders(2, prefix="B-", connection=952)

    result = fake.client().create_orders(orders)

    assert sorted(body_of(request)["userConnectionId"] for request in fake.calls(LIST)) == [951, 952]
    assert result.already_existed == ("A-0000", "A-0001")
    assert result.created == ("B-0000", "B-0001")
    assert set(server.stored) == {"A-0000", "A-0001", "B-0000", "B-0001"}


def test_repeated_order_numbers_are_refused_before_anything_is_sent(fake: FakeConnex):
    orders = make_orders(2)
    orders[1]["orderNumber"] = orders[0]["orderNumber"]
    with pytest.raises(ValueError, match="WEB-0000"):
        fake.client().create_orders(orders)
    assert fake.requests == []


def test_invalid_orders_are_refused_before_anything_is_sent(fake: FakeConnex):
    orders = make_orders(2)
    del orders[1]["orderNumber"]
    with pytest.raises(ValueError, match=r"orderNumber|order_number"):
        fake.client().create_orders(orders)
    assert fake.requests == []


def test_auth_failure_propagates(fake: FakeConnex):
    fake.on(routes.LOGIN.path, httpx.Response(401))
    with pytest.raises(ConnexAuthError):
        fake.client().create_orders(make_orders(1))


def test_accepts_new_order_models(fake: FakeConnex):
    OrdersServer(fake, ["ok"])
    orders = [NewOrder.model_validate(order) for order in make_orders(2)]
    assert fake.client().create_orders(orders).created == ("WEB-0000", "WEB-0001")


def test_empty_input_sends_nothing(fake: FakeConnex):
    result = fake.client().create_orders([])
    assert result.ok and result.created == () and fake.requests == []


def test_result_order_numbers_are_json_friendly(fake: FakeConnex):
    OrdersServer(fake, ["ok"])
    result = fake.client().create_orders(make_orders(1))
    assert json.dumps({"created": result.created}) == '{"created": ["WEB-0000"]}'
