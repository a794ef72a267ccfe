"""The rate limiters' contract: the memory and the Redis one count the same way."""

import threading
import time
from collections.abc import Callable

import pytest
from django.core.cache.backends.locmem import LocMemCache

from eventsproject.platform.rate_limits import CacheRateLimiter, RateLimiter
from eventsproject.platform.redis import RedisRateLimiter
from tests.redis_server import delete_prefix, require_redis, unique_prefix


@pytest.fixture
def memory_limiter() -> Callable[[], RateLimiter]:
    limiter = CacheRateLimiter(LocMemCache(unique_prefix(), {}))
    return lambda: limiter  # one process: every caller shares it


@pytest.fixture
def redis_limiter():
    client = require_redis()
    prefix = unique_prefix()
    # Each caller its own client: two processes of one service.
    yield lambda: RedisRateLimiter(require_redis(), prefix)
    delete_prefix(client, prefix)


@pytest.fixture
def cluster_limiter(cluster_prefix):
    client, prefix = cluster_prefix
    return lambda: RedisRateLimiter(client, prefix)


@pytest.fixture(params=["memory_limiter", "redis_limiter", "cluster_limiter"])
def limiters(request) -> Callable[[], RateLimiter]:
    return request.getfixturevalue(request.param)


def test_a_client_gets_its_limit_at_once_then_waits_for_the_next(limiters) -> None:
    limiter = limiters()

    waits = [limiter.admit("client", 3, 60) for _ in range(4)]

    assert waits[:3] == [0, 0, 0]
    assert 19 < waits[3] <= 20  # one request in every 60 / 3 seconds


def test_clients_count_apart(limiters) -> None:
    limiter = limiters()
    limiter.admit("spender", 1, 60)

    assert limiter.admit("spender", 1, 60) > 0
    assert limiter.admit("another", 1, 60) == 0


def test_a_client_that_waits_as_told_is_admitted(limiters) -> None:
    limiter = limiters()
    limiter.admit("client", 2, 0.4)
    limiter.admit("client", 2, 0.4)

    wait = limiter.admit("client", 2, 0.4)
    time.sleep(wait)

    assert 0 < wait <= 0.2
    assert limiter.admit("client", 2, 0.4) == 0


def test_callers_at_once_never_spend_more_than_the_limit(limiters) -> None:
    admitted = []

    def spend(limiter: RateLimiter) -> None:
        admitted.extend(
            wait == 0 for wait in (limiter.admit("client", 50, 3600) for _ in range(40))
        )

    callers = [threading.Thread(target=spend, args=(limiters(),)) for _ in range(4)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()

    assert admitted.count(True) == 50
