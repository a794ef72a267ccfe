"""How many requests a client may still make: one counter per client, read and moved in
one step, whatever the number of processes.

The algorithm is GCRA (the generic cell rate algorithm, as in ATM networks and
redis-cell): a client with a limit of N requests per period P may send N at once, then
one every P/N. Each client costs one number, its theoretical arrival time (TAT): the time
at which it would have used no allowance at all.

With the memory store the numbers live in Django's cache, in the process
(`CacheRateLimiter`); a shared store keeps them where every process counts a
client's requests together (Redis: `RedisRateLimiter`, eventsproject/platform/redis.py).
"""

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol


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
