"""Identical reads of one account in flight at once share one call; nothing else ever does."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from connexportal.connex import ConnexUnavailable, ProductQuery, routes
from connexportal.connex.flights import ParsedAnswers, ReadFlights

from .conftest import FakeConnex

PRODUCTS = routes.LIST_PRODUCTS.path
CONNECTIONS = routes.LIST_CONNECTIONS.path
RUN_NOW = routes.RUN_NOW.path
PAGE = {"lstProducts": [{"id": 7, "name": "Tent", "sku": "T-1"}], "objMetaData": {"totalRows": 1}}


class Gate:
    """A responder that holds every request until released, counting them as they arrive."""

    def __init__(self, response: httpx.Response | None = None) -> None:
        self.response = response or httpx.Response(200, json=PAGE)
        self.arrived = threading.Semaphore(0)
        self.release = threading.Event()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.arrived.release()
        assert self.release.wait(10)
        return httpx.Response(self.response.status_code, headers=self.response.headers, content=self.response.content)


def run_all(functions) -> list:
    results: list = [None] * len(functions)

    def run(index, function):
        try:
            results[index] = function()
        except Exception as exc:  # noqa: BLE001 - reported to the test as the result
            results[index] = exc

    threads = [threading.Thread(target=run, args=item) for item in enumerate(functions)]
    for thread in threads:
        thread.start()
    return threads, results


def wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def join(threads) -> None:
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()


def start_leader(fake: FakeConnex, gate: Gate, flights: ReadFlights, query: ProductQuery, **options):
    client = fake.client(read_flights=flights, **options)
    client.login()
    threads, results = run_all([lambda: client.list_products(query)])
    assert gate.arrived.acquire(timeout=5)  # the first call is at Connex
    return client, threads, results


def test_concurrent_identical_reads_send_one_call(fake: FakeConnex):
    gate, flights = Gate(), ReadFlights()
    fake.on(PRODUCTS, gate)
    query = ProductQuery(page_number=1, page_size=25)
    client, leader, first = start_leader(fake, gate, flights, query)
    followers, results = run_all([lambda: client.list_products(query) for _ in range(7)])
    wait_for(lambda: flights.waiting() == 7)
    gate.release.set()
    join(leader + followers)
    assert len(fake.calls(PRODUCTS)) == 1
    assert [page.rows[0].sku for page in first + results] == ["T-1"] * 8
    # Parsed once, by the sender: every reader holds the same frozen page.
    assert all(page is first[0] for page in results)
    assert flights.waiting() == 0


def test_other_questions_and_other_accounts_never_share(fake: FakeConnex):
    gate, flights = Gate(), ReadFlights()
    fake.on(PRODUCTS, gate)
    fake.check_auth = False  # two accounts of one fake: each keeps its own token
    first_page = ProductQuery(page_number=1, page_size=25)
    client, leader, _ = start_leader(fake, gate, flights, first_page)
    other_account = fake.client(read_flights=flights, password="another-Pa55-word!")
    others, results = run_all(
        [
            lambda: client.list_products(ProductQuery(page_number=2, page_size=25)),
            lambda: other_account.list_products(first_page),
        ]
    )
    for _ in range(2):
        assert gate.arrived.acquire(timeout=5)  # each sent its own call
    assert flights.waiting() == 0
    gate.release.set()
    join(leader + others)
    assert len(fake.calls(PRODUCTS)) == 3
    assert all(page.rows[0].sku == "T-1" for page in results)


def test_a_read_after_a_write_does_not_join_a_read_begun_before_it(fake: FakeConnex):
    gate, flights = Gate(httpx.Response(200, json=[])), ReadFlights()
    fake.on(CONNECTIONS, gate)
    fake.on(routes.UPDATE_SETTINGS.path, httpx.Response(200, json={"userConnectionId": 5, "connectionSettings": []}))
    client = fake.client(read_flights=flights)
    client.login()
    before, before_results = run_all([client.list_connections])
    assert gate.arrived.acquire(timeout=5)
    client.update_settings(5, {"OrderDownloadDays": "3"})
    after, after_results = run_all([client.list_connections])
    assert gate.arrived.acquire(timeout=5)  # sent its own call, after the write
    gate.release.set()
    join(before + after)
    assert len(fake.calls(CONNECTIONS)) == 2
    assert before_results == after_results == [[]]


def test_readers_of_one_connections_call_get_lists_of_their_own(fake: FakeConnex):
    gate, flights = Gate(httpx.Response(200, json=[{"id": 5, "userConnectionName": "Shop"}])), ReadFlights()
    fake.on(CONNECTIONS, gate)
    client = fake.client(read_flights=flights)
    client.login()
    leader, first = run_all([client.list_connections])
    assert gate.arrived.acquire(timeout=5)
    followers, results = run_all([client.list_connections])
    wait_for(lambda: flights.waiting() == 1)
    gate.release.set()
    join(leader + followers)
    assert len(fake.calls(CONNECTIONS)) == 1
    assert results[0] == first[0] and results[0] is not first[0]
    assert results[0][0] is first[0][0]  # the frozen connection itself is shared


def test_writes_are_never_shared(fake: FakeConnex):
    gate, flights = Gate(httpx.Response(200, json={"userConnectionId": 5, "status": "Queued"})), ReadFlights()
    fake.on(RUN_NOW, gate)
    client = fake.client(read_flights=flights)
    client.login()
    threads, results = run_all([lambda: client.run_now(5) for _ in range(3)])
    for _ in range(3):
        assert gate.arrived.acquire(timeout=5)
    assert flights.waiting() == 0
    gate.release.set()
    join(threads)
    assert len(fake.calls(RUN_NOW)) == 3
    assert all(not isinstance(result, Exception) for result in results)


def test_when_the_shared_call_fails_each_waiting_reader_asks_for_itself(fake: FakeConnex):
    flights = ReadFlights()
    failing = Gate(httpx.Response(503))
    fake.on(PRODUCTS, failing, httpx.Response(200, json=PAGE))
    query = ProductQuery(page_number=1, page_size=25)
    client, leader, first = start_leader(fake, failing, flights, query, max_retries=0)
    followers, results = run_all([lambda: client.list_products(query) for _ in range(3)])
    wait_for(lambda: flights.waiting() == 3)
    failing.release.set()
    join(leader + followers)
    assert isinstance(first[0], ConnexUnavailable)
    assert [page.rows[0].sku for page in results] == ["T-1"] * 3
    assert len(fake.calls(PRODUCTS)) == 4


def test_without_flights_every_read_sends(fake: FakeConnex):
    gate = Gate()
    fake.on(PRODUCTS, gate)
    client = fake.client(read_flights=None)
    client.login()
    query = ProductQuery(page_number=1, page_size=25)
    threads, _ = run_all([lambda: client.list_products(query) for _ in range(3)])
    for _ in range(3):
        assert gate.arrived.acquire(timeout=5)
    gate.release.set()
    join(threads)
    assert len(fake.calls(PRODUCTS)) == 3


@pytest.mark.parametrize("raised", [KeyboardInterrupt, RuntimeError])
def test_the_first_callers_exception_is_its_own(raised):
    flights = ReadFlights()

    def boom():
        raise raised

    with pytest.raises(raised):
        flights.share("account", "question", boom)
    assert flights.share("account", "question", lambda: 42) == (42, False)


# --- Answers identical byte for byte are parsed once ------------------------------------------


class CountingParser:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, content: bytes) -> tuple:
        self.calls += 1
        if content == b"bad":
            raise ValueError("not an answer")
        return (content,)


def test_an_answer_seen_before_gives_the_same_parsed_value_without_parsing():
    answers, parse = ParsedAnswers(), CountingParser()
    first = answers.parse(parse, b"page one")
    assert answers.parse(parse, b"page one") is first
    assert answers.parse(parse, b"page two") == (b"page two",)
    assert parse.calls == 2


def test_another_parser_of_the_same_bytes_parses_them_itself():
    answers, one, other = ParsedAnswers(), CountingParser(), CountingParser()
    answers.parse(one, b"same")
    answers.parse(other, b"same")
    assert (one.calls, other.calls) == (1, 1)


def test_an_answer_that_fails_to_parse_is_not_kept():
    answers, parse = ParsedAnswers(), CountingParser()
    for _ in range(2):
        with pytest.raises(ValueError, match="not an answer"):
            answers.parse(parse, b"bad")
    assert parse.calls == 2


def test_the_oldest_answers_go_first_beyond_the_byte_bound():
    answers, parse = ParsedAnswers(max_bytes=80), CountingParser()
    for name in (b"a" * 10, b"b" * 10, b"c" * 10):
        answers.parse(parse, name)
    answers.parse(parse, b"a" * 10)  # a is the most recent again
    for name in (b"d" * 10, b"e" * 10, b"f" * 10, b"g" * 10, b"h" * 10, b"i" * 10):
        answers.parse(parse, name)  # 90 bytes > 80: the least recent (b) is dropped, a stays
    calls = parse.calls
    answers.parse(parse, b"a" * 10)
    assert parse.calls == calls
    answers.parse(parse, b"b" * 10)
    assert parse.calls == calls + 1


def test_a_large_answer_is_parsed_and_not_kept():
    answers, parse = ParsedAnswers(max_bytes=80), CountingParser()
    answers.parse(parse, b"x" * 11)
    answers.parse(parse, b"x" * 11)
    assert parse.calls == 2


def test_the_client_parses_a_repeated_answer_once_and_each_reader_gets_its_own_list(fake: FakeConnex):
    fake.on(PRODUCTS, httpx.Response(200, json=PAGE))
    fake.on(CONNECTIONS, httpx.Response(200, json=[{"id": 1, "userConnectionName": "Shop"}]))
    client = fake.client(parsed_answers=ParsedAnswers())
    assert client.list_products() is client.list_products()
    first, second = client.list_connections(), client.list_connections()
    assert first == second and first is not second and first[0] is second[0]

    alone = fake.client(parsed_answers=None)
    assert alone.list_products() is not alone.list_products()
    assert len(fake.calls(PRODUCTS)) == 4, "every read still asks Connex"
