"""create_orders against a scripted Connex: batches of 100, every fate reported, and no order ever created twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connexportal.connex import ConnexAuthError, NewOrder, routes
from connexportal.connex.results import Fate

from .conftest import FakeConnex, FakeTime, body_of

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
    """Stores what createorders receives (duplicates too, like a Connex that does not check) and lists it back.

    ``plan`` scripts createorders, one step per call (the last repeats): "ok"; "503" (nothing
    stored); "503-after-half" (the first half stored, then 503); "400" (ProblemDetails naming
    the second order); "400-after-half"; "415"; "timeout" (stored, then the answer is lost);
    "refused" (connection refused); "empty", "html", "unknown" (stored, then a 200 with no
    body, an HTML page, or ``{"isSuccess": false}``); "late:N" (503 at once, the batch listed
    only N seconds later, on ``time``). ``list_fails`` makes the list answer 503;
    ``list_answer`` replaces every listing. ``other_orders`` pads listings without searchText
    with unrelated rows (to force per-number searches).
    """

    def __init__(
        self,
        fake: FakeConnex,
        plan: list[str],
        *,
        time: FakeTime | None = None,
        list_fails: bool = False,
        list_answer: httpx.Response | None = None,
        other_orders: int = 0,
    ):
        self.stored: list[tuple[dict, float]] = []
        self.plan = list(plan)
        self.time = time or FakeTime()
        self.list_fails = list_fails
        self.list_answer = list_answer
        self.other_orders = other_orders
        self.create_times: list[float] = []
        self.list_times: list[float] = []
        fake.on(CREATE, self.create)
        fake.on(LIST, self.list)

    def client(self, fake: FakeConnex, **options):
        return fake.client(sleep=self.time.sleep, clock=self.time.clock, **options)

    @property
    def numbers(self) -> list[str]:
        return [order["orderNumber"] for order, _ in self.stored]

    def create(self, request: httpx.Request) -> httpx.Response:
        self.create_times.append(self.time.now)
        batch = body_of(request)
        step = self.plan.pop(0) if len(self.plan) > 1 else self.plan[0]
        if step == "refused":
            raise httpx.ConnectError("connection refused")
        if step.startswith("late:"):
            self.store(batch, visible_in=float(step.removeprefix("late:")))
            return httpx.Response(503)
        if step in ("timeout", "empty", "html", "unknown"):
            self.store(batch)
            if step == "timeout":
                raise httpx.ReadTimeout("timed out")
            if step == "html":
                return httpx.Response(200, html="<html><title>Oops</title></html>")
            return httpx.Response(200, json={"isSuccess": False}) if step == "unknown" else httpx.Response(200)
        if step.startswith("400"):
            if step.endswith("after-half"):
                self.store(batch[: len(batch) // 2])
            problem = {
                "title": "One or more validation errors occurred.",
                "status": 400,
                "errors": {"[1].CustomerName": ["The CustomerName field is required."]},
            }
            return httpx.Response(400, json=problem)
        if step == "415":
            return httpx.Response(415, json={"title": "Unsupported Media Type", "status": 415})
        if step == "503":
            return httpx.Response(503)
        if step == "503-after-half":
            self.store(batch[: len(batch) // 2])
            return httpx.Response(503)
        self.store(batch)
        return httpx.Response(200, text=routes.CREATE_ORDERS_OK_TEXT)

    def store(self, orders: list[dict], *, visible_in: float = 0.0) -> None:
        self.stored += [(order, self.time.now + visible_in) for order in orders]

    def list(self, request: httpx.Request) -> httpx.Response:
        self.list_times.append(self.time.now)
        if self.list_answer is not None:
            return self.list_answer
        if self.list_fails:
            return httpx.Response(503)
        query = body_of(request)
        begin = datetime.strptime(query["beginDate"], "%m/%d/%Y").date()
        end = datetime.strptime(query["endDate"], "%m/%d/%Y").date()
        rows = [
            {"orderNumber": order["orderNumber"], "orderDate": order["orderDate"], "userConnectionId": connection}
            for order, visible_at in self.stored
            if visible_at <= self.time.now
            and begin <= datetime.fromisoformat(order["orderDate"]).date() <= end
            and query["searchText"].lower() in order["orderNumber"].lower()
            and (connection := order["userConnectionId"]) == query["userConnectionId"]
        ]
        if not query["searchText"]:
            rows += [{"orderNumber": f"OTHER-{n}", "userConnectionId": CONNECTION} for n in range(self.other_orders)]
        size, number = query["pageSize"], query["pageNumber"]
        pages = max(1, -(-len(rows) // size))
        page = {
            "lstAllOrders": rows[(number - 1) * size : number * size],
            "objMetaData": {"totalRows": len(rows), "totalNumberOfPages": pages},
        }
        return httpx.Response(200, json=page)


def sent_numbers(fake: FakeConnex) -> list[list[str]]:
    return [[order["orderNumber"] for order in body_of(request)] for request in fake.calls(CREATE)]


def test_250_orders_go_in_batches_of_100_100_50(fake: FakeConnex):
    server = OrdersServer(fake, ["ok"])
    orders = make_orders(250)

    result = server.client(fake).create_orders(orders)

    assert [len(batch) for batch in sent_numbers(fake)] == [100, 100, 50]
    assert result.created == tuple(order["orderNumber"] for order in orders)
    assert result.already_existed == () and result.failed == () and result.ok
    assert [outcome.fate for outcome in result.outcomes] == [Fate.CREATED] * 250
    assert server.numbers == list(result.created)
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


def test_a_failed_batch_is_settled_then_only_its_missing_orders_are_resent_once(fake: FakeConnex):
    server = OrdersServer(fake, ["ok", "503-after-half", "ok"])
    orders = make_orders(250)
    numbers = [order["orderNumber"] for order in orders]

    result = server.client(fake).create_orders(orders, settle_seconds=5, confirmations=2, lookup_interval=1)

    sent = sent_numbers(fake)
    # The third batch goes out while the second one settles; the second's missing half goes last.
    assert [len(batch) for batch in sent] == [100, 100, 50, 50]
    assert sent[1] == numbers[100:200] and sent[2] == numbers[200:250] and sent[3] == numbers[150:200]
    failed_at = server.create_times[1]
    # At once (finds the half that landed), then at the end of the settle period and one interval later.
    assert [t - failed_at for t in server.list_times] == [0, 5, 6]
    assert server.create_times[3] - failed_at == 6
    assert result.already_existed == tuple(numbers[100:150])
    assert result.created == tuple(numbers[:100] + numbers[150:])
    assert result.failed == ()
    assert sorted(server.numbers) == numbers  # every order stored exactly once
    listing = body_of(fake.calls(LIST)[0])
    # Orders 100-199 fall on 09/05-09/09; the listing covers a day either side.
    assert (listing["beginDate"], listing["endDate"]) == ("09/04/2024", "09/10/2024")
    assert listing["userConnectionId"] == CONNECTION


@pytest.mark.parametrize("answer", ["timeout", "empty", "html", "unknown"])
def test_a_batch_that_landed_but_answered_ambiguously_is_found_and_not_resent(fake: FakeConnex, answer):
    server = OrdersServer(fake, [answer])
    orders = make_orders(3)

    result = server.client(fake).create_orders(orders)

    assert len(fake.calls(CREATE)) == 1 and len(fake.calls(LIST)) == 1
    assert result.already_existed == ("WEB-0000", "WEB-0001", "WEB-0002")
    assert result.created == () and result.failed == ()
    assert server.numbers == ["WEB-0000", "WEB-0001", "WEB-0002"]


def test_a_batch_landing_within_the_settle_period_is_found_and_never_resent(fake: FakeConnex):
    server = OrdersServer(fake, ["late:4", "ok"])

    result = server.client(fake).create_orders(make_orders(3), settle_seconds=5, confirmations=2)

    assert len(fake.calls(CREATE)) == 1
    assert [t - server.create_times[0] for t in server.list_times] == [0, 5]
    assert result.already_existed == ("WEB-0000", "WEB-0001", "WEB-0002") and result.ok
    assert server.numbers == ["WEB-0000", "WEB-0001", "WEB-0002"]


def test_a_batch_landing_after_the_settle_period_is_the_limit_the_settle_period_guards(fake: FakeConnex):
    server = OrdersServer(fake, ["late:30", "ok"])

    result = server.client(fake).create_orders(make_orders(2), settle_seconds=5, confirmations=2)

    # Every lookup agreed the orders were absent, so they were resent; the late batch then landed too.
    assert result.created == ("WEB-0000", "WEB-0001")
    server.time.sleep(30)
    assert sorted(server.numbers) == ["WEB-0000", "WEB-0000", "WEB-0001", "WEB-0001"]


def test_large_date_ranges_are_checked_by_searching_each_order_number(fake: FakeConnex):
    server = OrdersServer(fake, ["503-after-half", "ok"], other_orders=1000)

    result = server.client(fake).create_orders(make_orders(4), confirmations=1)

    searched = [body_of(request)["searchText"] for request in fake.calls(LIST)]
    # A sweep would be 11 pages for 4 orders, so each number is searched: all four, then the two missing.
    assert searched == ["", "WEB-0000", "WEB-0001", "WEB-0002", "WEB-0003", "", "WEB-0002", "WEB-0003"]
    assert sent_numbers(fake) == [["WEB-0000", "WEB-0001", "WEB-0002", "WEB-0003"], ["WEB-0002", "WEB-0003"]]
    assert result.already_existed == ("WEB-0000", "WEB-0001")
    assert result.created == ("WEB-0002", "WEB-0003")
    assert sorted(server.numbers) == ["WEB-0000", "WEB-0001", "WEB-0002", "WEB-0003"]


def test_a_rejected_batch_is_looked_up_once_not_resent_and_each_order_says_why(fake: FakeConnex):
    server = OrdersServer(fake, ["400"])

    result = server.client(fake).create_orders(make_orders(3))

    assert len(fake.calls(CREATE)) == 1
    assert len(fake.calls(LIST)) == 1  # Connex may have stored part of the batch before refusing it
    assert result.created == () and not result.ok
    assert result.failed_numbers == ("WEB-0000", "WEB-0001", "WEB-0002")
    first, second, third = result.failed
    assert second.reason == "CustomerName: The CustomerName field is required."
    assert second.field_errors == {"CustomerName": ["The CustomerName field is required."]}
    assert first.field_errors == {} and third.field_errors == {}
    assert "validation errors" in first.reason
    assert all(failure.safe_to_retry and not failure.may_have_landed for failure in result.failed)
    assert first.error is not None and first.error.status == 400
    assert server.numbers == []


def test_a_4xx_after_a_partial_commit_reports_the_stored_half_as_existing(fake: FakeConnex):
    server = OrdersServer(fake, ["400-after-half"])

    result = server.client(fake).create_orders(make_orders(4))

    assert len(fake.calls(CREATE)) == 1
    assert result.already_existed == ("WEB-0000", "WEB-0001")
    assert result.failed_numbers == ("WEB-0002", "WEB-0003")
    assert all(failure.safe_to_retry for failure in result.failed)
    assert server.numbers == ["WEB-0000", "WEB-0001"]


def test_a_4xx_answered_before_any_order_is_read_is_not_looked_up(fake: FakeConnex):
    OrdersServer(fake, ["415"])

    result = fake.client().create_orders(make_orders(2))

    assert fake.calls(LIST) == []
    assert [(f.safe_to_retry, f.error.status) for f in result.failed] == [(True, 415), (True, 415)]


def test_when_the_lookups_fail_the_orders_are_unknown_and_not_resent_while_other_batches_go(fake: FakeConnex):
    server = OrdersServer(fake, ["503"], list_fails=True)

    result = server.client(fake, max_retries=0).create_orders(make_orders(150), confirmations=2)

    assert [len(batch) for batch in sent_numbers(fake)] == [100, 50]  # sent once each, never resent
    assert len(result.failed) == 150 and result.created == result.already_existed == ()
    assert all(failure.may_have_landed and not failure.safe_to_retry for failure in result.failed)
    assert all(failure.reason.startswith("outcome unknown: not resent") for failure in result.failed)
    # Per batch: the first lookup and one more per confirmation, then it gives up.
    assert len(fake.calls(LIST)) == 2 * 3


def test_a_listing_that_is_not_a_page_is_never_taken_for_an_absence(fake: FakeConnex):
    server = OrdersServer(fake, ["503"], list_answer=httpx.Response(200, json={"isSuccess": False, "data": None}))

    result = server.client(fake).create_orders(make_orders(2))

    assert len(fake.calls(CREATE)) == 1
    assert all(failure.reason.startswith("outcome unknown: not resent") for failure in result.failed)
    assert "not the expected shape" in result.failed[0].reason


def test_a_listing_whose_rows_do_not_add_up_is_never_taken_for_an_absence(fake: FakeConnex):
    short = {"lstAllOrders": [], "objMetaData": {"totalRows": 3, "totalNumberOfPages": 1}}
    server = OrdersServer(fake, ["503"], list_answer=httpx.Response(200, json=short))

    result = server.client(fake).create_orders(make_orders(2))

    assert len(fake.calls(CREATE)) == 1
    assert all(failure.may_have_landed for failure in result.failed)
    assert "0 rows listed where totalRows says 3" in result.failed[0].reason


def test_a_batch_that_never_left_is_not_looked_up(fake: FakeConnex):
    OrdersServer(fake, ["refused"])

    result = fake.client(max_retries=0).create_orders(make_orders(150))

    assert fake.calls(LIST) == [] and len(fake.calls(CREATE)) == 1
    assert all(failure.safe_to_retry for failure in result.failed) and len(result.failed) == 150
    assert all(failure.reason.startswith("not sent") for failure in result.failed)


def test_a_resend_that_fails_again_is_not_sent_a_third_time(fake: FakeConnex):
    server = OrdersServer(fake, ["503-after-half", "503"])

    result = server.client(fake).create_orders(make_orders(4))

    assert sent_numbers(fake) == [["WEB-0000", "WEB-0001", "WEB-0002", "WEB-0003"], ["WEB-0002", "WEB-0003"]]
    assert result.already_existed == ("WEB-0000", "WEB-0001")
    assert result.failed_numbers == ("WEB-0002", "WEB-0003")
    # Looked up again after the second failure, and confirmed absent: safe to send another time.
    assert all(failure.safe_to_retry and failure.reason.startswith("not created") for failure in result.failed)
    assert server.numbers == ["WEB-0000", "WEB-0001"]


def test_skip_existing_does_not_send_orders_connex_already_has(fake: FakeConnex):
    server = OrdersServer(fake, ["ok"])
    orders = make_orders(4)
    server.store(orders[:3])

    result = server.client(fake).create_orders(orders, skip_existing=True)

    assert sent_numbers(fake) == [["WEB-0003"]]
    assert result.already_existed == ("WEB-0000", "WEB-0001", "WEB-0002")
    assert result.created == ("WEB-0003",)


def test_with_skip_existing_orders_that_land_despite_a_failed_answer_are_reported_created(fake: FakeConnex):
    server = OrdersServer(fake, ["timeout", "ok"])
    orders = make_orders(3)
    server.store(orders[:1])

    result = server.client(fake).create_orders(orders, skip_existing=True)

    # Checked absent just before sending, found after the lost answer: this call created them.
    assert result.already_existed == ("WEB-0000",)
    assert result.created == ("WEB-0001", "WEB-0002")
    assert result.outcome("WEB-0001").reason.startswith("landed although the batch failed")
    assert server.numbers == ["WEB-0000", "WEB-0001", "WEB-0002"]


def test_order_numbers_are_matched_trimmed_and_case_insensitively(fake: FakeConnex):
    server = OrdersServer(fake, ["ok"])
    orders = make_orders(2)
    server.store([{**orders[0], "orderNumber": "web-0000 "}])

    result = server.client(fake).create_orders(orders, skip_existing=True)

    assert result.already_existed == ("WEB-0000",) and result.created == ("WEB-0001",)
    assert result.outcome("WEB-0000").fate is Fate.ALREADY_EXISTED


def test_orders_of_two_connections_are_looked_up_per_connection(fake: FakeConnex):
    server = OrdersServer(fake, ["503-after-half", "ok"])
    orders = make_orders(2, prefix="A-") + make_orders(2, prefix="B-", connection=952)

    result = server.client(fake).create_orders(orders, confirmations=1)

    assert [body_of(request)["userConnectionId"] for request in fake.calls(LIST)] == [951, 952, 952]
    assert result.already_existed == ("A-0000", "A-0001")
    assert result.created == ("B-0000", "B-0001")
    assert sorted(server.numbers) == ["A-0000", "A-0001", "B-0000", "B-0001"]


def test_an_auth_error_mid_call_carries_every_fate_decided_so_far(fake: FakeConnex):
    server = OrdersServer(fake, ["ok", "503"])
    client = server.client(fake)
    listed = server.list

    def revoke_then_list(request: httpx.Request) -> httpx.Response:
        fake.revoke_tokens()
        fake.on(routes.LOGIN.path, httpx.Response(400, json={"title": "Invalid username or password."}))
        return listed(request)

    fake.on(LIST, revoke_then_list)

    with pytest.raises(ConnexAuthError) as caught:
        client.create_orders(make_orders(250))

    partial = caught.value.partial_result
    assert [outcome.order_number for outcome in partial.outcomes] == [o["orderNumber"] for o in make_orders(250)]
    assert len(partial.created) == 100
    unknown, unsent = partial.failed[:100], partial.failed[100:]
    # The second batch failed, its lookup answered; the third went out and was refused at the door.
    assert len(unsent) == 50 and all(f.safe_to_retry and f.reason.startswith("not sent") for f in unsent)
    assert len(unknown) == 100 and all(f.may_have_landed for f in unknown)
    assert all(f.reason.startswith("outcome unknown: not resent") for f in unknown)
    assert len(server.numbers) == 100


def test_a_stop_mid_call_carries_every_fate_decided_so_far(fake: FakeConnex):
    server = OrdersServer(fake, ["ok", "503", "ok"])

    def stop(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as caught:
        # The stop comes while the second batch waits out its settle period.
        fake.client(sleep=stop, clock=server.time.clock).create_orders(make_orders(250))

    partial = caught.value.partial_result
    assert len(partial.outcomes) == 250
    assert len(partial.created) == 150 and partial.already_existed == ()
    assert [f.order_number for f in partial.failed] == [o["orderNumber"] for o in make_orders(250)[100:200]]
    assert all(f.may_have_landed for f in partial.failed)
    assert partial.failed[0].reason == (
        "outcome unknown: not resent: create_orders stopped (KeyboardInterrupt) before it knew whether Connex has it"
    )
    assert len(server.numbers) == 150


def test_the_settle_parameters_are_checked(fake: FakeConnex):
    with pytest.raises(ValueError, match="confirmations"):
        fake.client().create_orders(make_orders(1), confirmations=0)
    with pytest.raises(ValueError, match="settle_seconds"):
        fake.client().create_orders(make_orders(1), settle_seconds=-1)
    assert fake.requests == []


def test_repeated_order_numbers_are_refused_before_anything_is_sent(fake: FakeConnex):
    orders = make_orders(3)
    orders[1]["orderNumber"] = orders[0]["orderNumber"]
    orders[2]["orderNumber"] = " web-0000"
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
