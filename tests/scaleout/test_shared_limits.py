"""The per-account throttle and login lock, in one process and shared through Redis.

"Processes" here are separate RedisThrottles / RedisLoginLocks objects, each with its own Redis
connection and its own in-process lock, as each gunicorn worker has; test_two_instances.py does
the same with real processes.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from connexportal.connex import ConnexClient, ConnexThrottled, InMemoryTokenStore, RateLimiter
from connexportal.connex.shared import RedisLoginLocks, RedisThrottles, redis_client
from connexportal.connex.tokens import SingleFlight
from tests.connex import samples
from tests.connex.conftest import PASSWORD, USERNAME, FakeConnex, FakeTime
from tests.scaleout.conftest import REDIS_URL, needs_redis

PRODUCTS = "api/products/list"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run_together(count: int, work) -> list:
    """``work(index)`` in ``count`` threads released at once; their results, in index order."""
    results: list = [None] * count
    failures: list[Exception] = []
    start = threading.Barrier(count)

    def run(index: int) -> None:
        try:
            start.wait(timeout=10)
            results[index] = work(index)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert not failures, failures
    return results


@pytest.fixture
def connections():
    """Makes Redis clients (one per "process"), closed after the test."""
    made = []

    def connect(url: str = REDIS_URL):
        made.append(redis_client(url))
        return made[-1]

    yield connect
    for client in made:
        client.close()


# --- In this process ---------------------------------------------------------------------


def test_a_reservation_beyond_max_wait_takes_no_slot():
    clock = Clock()
    limiter = RateLimiter(4.0, burst=2, clock=clock)

    assert [limiter.reserve(max_wait=0.3) for _ in range(4)] == [0.0, 0.0, 0.25, None]
    assert [limiter.reserve(max_wait=0.3) for _ in range(3)] == [None, None, None]
    assert limiter.reserve() == 0.5  # the refused ones left the queue as it was
    clock.now = 0.5
    assert limiter.reserve(max_wait=0.3) == 0.25


def test_a_throttled_call_sends_nothing_and_says_so():
    fake = FakeConnex().on(PRODUCTS, httpx.Response(200, text=samples.PRODUCTS_RESPONSE))
    time_ = FakeTime()
    limiter = RateLimiter(1.0, clock=time_.clock)
    client = fake.client(rate_limit=limiter, max_throttle_wait=0.5, sleep=time_.sleep, clock=time_.clock)

    with pytest.raises(ConnexThrottled) as raised:
        client.list_products()  # the login takes the only slot of this second

    assert fake.logins() == 1
    assert fake.calls(PRODUCTS) == []
    assert raised.value.request_sent is False
    assert raised.value.retry_after == 0.5
    time_.sleep(1.0)
    client.list_products()
    assert len(fake.calls(PRODUCTS)) == 1


def test_max_throttle_wait_must_not_be_negative():
    with pytest.raises(ValueError, match="max_throttle_wait"):
        ConnexClient("https://connex.test", USERNAME, PASSWORD, max_throttle_wait=-1)


# --- Shared through Redis ----------------------------------------------------------------


@needs_redis
def test_the_redis_throttle_spaces_slots_like_the_local_one(redis_keys):
    redis, prefix = redis_keys
    throttle = RedisThrottles(redis, prefix=prefix).for_account("account-a", 4.0, 2)

    waits = [throttle.reserve() for _ in range(5)]

    # Redis's clock moves between calls, so each wait is a little less than the ideal.
    ideal = [0.0, 0.0, 0.25, 0.5, 0.75]
    assert all(ideal_wait - 0.1 <= wait <= ideal_wait for wait, ideal_wait in zip(waits, ideal, strict=True)), waits
    assert throttle.reserve(max_wait=0.2) is None
    assert 0.9 <= throttle.reserve() <= 1.0  # the refused reservation took nothing
    other = RedisThrottles(redis, prefix=prefix).for_account("account-b", 4.0, 2)
    assert other.reserve() == 0.0  # another account's slots are its own


@needs_redis
def test_processes_sharing_redis_share_one_rate(redis_keys, connections):
    _, prefix = redis_keys
    rate, burst, processes, each, window = 4.0, 4, 5, 8, 1.0
    # Each "process": its own Redis connection and registry, as after gunicorn's fork.
    throttles = [RedisThrottles(connections(), prefix=prefix) for _ in range(processes)]

    def reserve_many(index: int) -> list[float | None]:
        throttle = throttles[index].for_account("account", rate, burst)
        return [throttle.reserve(max_wait=window) for _ in range(each)]

    waits = [wait for waits in run_together(processes, reserve_many) for wait in waits]

    granted = [wait for wait in waits if wait is not None]
    # Within a one-second horizon: the burst plus one second at the rate, once, for all of them.
    assert len(granted) == burst + int(rate * window)
    assert waits.count(None) == processes * each - len(granted)


def test_without_redis_the_throttle_falls_back_to_this_process(caplog, connections):
    unreachable = connections("redis://127.0.0.1:1/0")
    throttle = RedisThrottles(unreachable, prefix="unused:").for_account(f"account-{time.time_ns()}", 4.0, 1)

    assert [throttle.reserve() for _ in range(2)] == [0.0, pytest.approx(0.25, abs=0.05)]
    assert "throttling in this process only" in caplog.text


@needs_redis
def test_the_login_lock_admits_one_holder_across_processes(redis_keys, connections):
    redis, prefix = redis_keys
    locks = [RedisLoginLocks(connections(), prefix=prefix, local=SingleFlight()) for _ in range(4)]
    inside = 0
    most_inside = 0
    guard = threading.Lock()

    def hold(index: int) -> None:
        nonlocal inside, most_inside
        with locks[index].hold("account"):
            with guard:
                inside += 1
                most_inside = max(most_inside, inside)
            time.sleep(0.05)
            with guard:
                inside -= 1

    run_together(4, hold)

    assert most_inside == 1
    assert list(redis.scan_iter(match=prefix + "*")) == []  # released


@needs_redis
def test_an_expired_login_lock_is_not_released_by_its_old_holder(redis_keys):
    redis, prefix = redis_keys
    slow = RedisLoginLocks(redis, prefix=prefix, ttl=0.1, local=SingleFlight())
    other = RedisLoginLocks(redis, prefix=prefix, ttl=5, local=SingleFlight())

    with slow.hold("account"):
        time.sleep(0.2)  # the lock expires: a holder that died would free it like this
        with other.hold("account"):
            pass  # takes the expired lock at once
        redis.set(prefix + "login:account", "someone-else")
    assert redis.get(prefix + "login:account") == b"someone-else"  # the old holder left it alone


@needs_redis
def test_cold_clients_in_many_processes_log_in_once(redis_keys, connections):
    _, prefix = redis_keys
    fake = FakeConnex().on(PRODUCTS, httpx.Response(200, text=samples.PRODUCTS_RESPONSE))
    store = InMemoryTokenStore()  # stands for the Django cache every process shares
    processes, threads_each = 4, 4
    shared = [
        (
            RedisThrottles(connections(), prefix=prefix),
            RedisLoginLocks(connections(), prefix=prefix, local=SingleFlight()),
        )
        for _ in range(processes)
    ]

    def login_response(token: str) -> httpx.Response:
        time.sleep(0.1)  # long enough for every cold client to miss the store
        return httpx.Response(200, json={"token": token, "expiration": "2099-01-01T00:00:00.0000000Z"})

    fake.login_response = login_response

    def page(index: int) -> None:
        throttles, locks = shared[index % processes]
        client = ConnexClient(
            fake.base_url,
            USERNAME,
            PASSWORD,
            transport=httpx.MockTransport(fake),
            token_store=store,
            rate_limit=100.0,
            rate_limit_burst=100,
            rate_limiters=throttles,
            login_locks=locks,
            read_flights=None,  # every page's read reaches Connex, each needing the token
        )
        client.list_products()

    run_together(processes * threads_each, page)

    assert fake.logins() == 1
    assert len(fake.calls(PRODUCTS)) == processes * threads_each
