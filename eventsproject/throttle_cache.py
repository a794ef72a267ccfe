"""Where DRF's throttles keep each client's recent requests.

With the memory store, Django's per-process cache. With Redis, Redis: every process
counts a client's requests together, so running more processes does not multiply a
client's allowance. One key per client, with the client in its hash tag, so that on a
Redis Cluster each key lives in a slot of its own.
"""

from typing import Any

import orjson

from eventsproject.redis import Client


class RedisThrottleCache:
    """The two calls a DRF throttle makes of a cache: `get` and `set`."""

    def __init__(self, client: Client, prefix: str) -> None:
        self._client: Any = client
        self._prefix = prefix

    def get(self, key: str, default: Any = None) -> Any:
        raw = self._client.get(self._key(key))
        return default if raw is None else orjson.loads(raw)

    def set(self, key: str, value: Any, timeout: float) -> None:
        self._client.set(self._key(key), orjson.dumps(value), px=max(1, int(timeout * 1000)))

    def _key(self, key: str) -> str:
        return f"{self._prefix}:{{throttle:{key}}}"
