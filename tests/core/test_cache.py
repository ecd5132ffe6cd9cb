"""The Redis cache backend keeps one client per pool, and the portal still shares its Connex limits through it."""

import pytest
import redis
from django.test import override_settings

from connexportal.connex.ratelimit import ACCOUNT_LIMITERS
from connexportal.connex.shared import RedisLoginLocks, RedisThrottles
from connexportal.core.cache import PooledRedisCache
from connexportal.portal import upstream

REDIS_URL = "redis://127.0.0.1:6379/11"
POOLED = {"default": {"BACKEND": "connexportal.core.cache.PooledRedisCache", "LOCATION": REDIS_URL}}


@pytest.fixture
def redis_db():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.flushdb()
    except redis.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    yield
    client.flushdb()


def test_one_client_per_pool_serves_every_operation(redis_db):
    cache = PooledRedisCache(REDIS_URL, {"KEY_PREFIX": "pooled-test"})
    first = cache._cache.get_client("a")
    assert cache._cache.get_client("b", write=True) is first
    cache.set("answer", {"value": 42}, 30)
    assert cache.get("answer") == {"value": 42}
    assert cache.get_many(["answer", "missing"]) == {"answer": {"value": 42}}
    assert cache._cache.get_client() is first


@override_settings(CACHES=POOLED)
def test_connex_limits_are_shared_through_the_pooled_cache(redis_db):
    throttles, locks = upstream.shared_limits()
    assert isinstance(throttles, RedisThrottles)
    assert isinstance(locks, RedisLoginLocks)


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_without_redis_the_limits_stay_in_the_process():
    assert upstream.shared_limits()[0] is ACCOUNT_LIMITERS


def test_redis_answers_are_parsed_by_hiredis(redis_db):
    from redis._parsers import _HiredisParser

    cache = PooledRedisCache(REDIS_URL, {"KEY_PREFIX": "pooled-test"})
    cache.set("answer", {"parsed": "in C"})
    assert cache.get("answer") == {"parsed": "in C"}
    connection = cache._cache.get_client("answer").connection_pool.get_connection()
    try:
        assert isinstance(connection._parser, _HiredisParser)
    finally:
        cache._cache.get_client("answer").connection_pool.release(connection)
