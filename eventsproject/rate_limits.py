"""How many requests a client may still make: one counter per client, read and moved in
one step, whatever the number of processes.

The algorithm is GCRA (the generic cell rate algorithm, as in ATM networks and
redis-cell): a client with a limit of N requests per period P may send N at once, then
one every P/N. Each client costs one number, its theoretical arrival time (TAT): the time
at which it would have used no allowance at all.

With the memory store the numbers live in Django's cache, in the process. With Redis they
live in Redis, moved by one script per request on Redis's own clock: every process counts
a client's requests together, and no two can both spend the last request. Each key holds
its client in a hash tag, so on a Redis Cluster each client's key is in a slot of its own.
"""

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from eventsproject.redis import Client


class RateLimiter(Protocol):
    def admit(self, key: str, limit: int, period: float) -> float:
        """Spend one of `key`'s `limit` requests per `period` seconds: 0 when allowed,
        else the seconds until the next one would be."""
        ...


class CacheRateLimiter:
    """GCRA on a Django cache (the memory store's: one process)."""

    def __init__(self, cache: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self._cache = cache
        self._clock = clock
        self._lock = threading.Lock()

    def admit(self, key: str, limit: int, period: float) -> float:
        interval = period / limit
        with self._lock:
            now = self._clock()
            arrival = max(self._cache.get(key, now), now)
            wait = arrival - now - (period - interval)
            if wait > 0:
                return float(wait)
            self._cache.set(key, arrival + interval, arrival + interval - now)
            return 0.0


# KEYS[1]: the client's key. ARGV: the limit, the period in microseconds.
# Returns 0 when allowed, else the microseconds to wait.
_GCRA = """
local interval = math.floor(tonumber(ARGV[2]) / tonumber(ARGV[1]))
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local arrival = math.max(tonumber(redis.call('GET', KEYS[1])) or now, now)
local wait = arrival - now - (tonumber(ARGV[2]) - interval)
if wait > 0 then
  return wait
end
local next_arrival = arrival + interval
local expiry = math.ceil((next_arrival - now) / 1000)
-- Formatted: Lua would write a number this large as 1.7e+15 and lose its last digits.
redis.call('SET', KEYS[1], string.format('%.0f', next_arrival), 'PX', string.format('%d', expiry))
return 0
"""


class RedisRateLimiter:
    """GCRA in Redis: one script, one round trip per request."""

    def __init__(self, client: Client, prefix: str) -> None:
        self._script = client.register_script(_GCRA)
        self._prefix = prefix

    def admit(self, key: str, limit: int, period: float) -> float:
        microseconds = int(
            self._script(
                keys=[f"{self._prefix}:{{throttle:{key}}}"], args=[limit, int(period * 1_000_000)]
            )
        )
        return microseconds / 1_000_000
