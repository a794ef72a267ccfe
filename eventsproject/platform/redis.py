"""The Redis connection and the key layout shared by the Redis stores.

Every key of a user lives in the user's shard, `<prefix>:{s<N>}:…`, whose hash
tag puts the shard in one Redis Cluster slot: the user's state, seen ids and
decision log, the shard's due reminders and its notification stream are all
written in one atomic script. `EVENTS_TIMER_SHARDS` shards spread the work over
the cluster (and over the processes that claim due work).
"""

import functools
import inspect
import logging
import select
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
import redis
from gevent.monkey import get_original  # type: ignore[import-untyped]
from prometheus_client import Counter
from redis.cluster import RedisCluster
from redis.maint_notifications import MaintNotificationsConfig

from eventsproject.platform.heartbeats import Beat, beat_of, this_process
from eventsproject.platform.loops import Outage
from eventsproject.platform.redaction import redact_url
from eventsproject.platform.stores import StoreUnavailable

logger = logging.getLogger(__name__)

Client = redis.Redis | RedisCluster


STORE_RESETS = Counter(
    "events_store_resets", "Times a process found that Redis had lost the data it held."
)

#: What a Redis that cannot be reached raises: the API answers 503 and a retry later succeeds.
UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, redis.exceptions.ClusterError)


_Adapter = TypeVar("_Adapter", bound=type)


def unavailable_as_store_error(adapter: _Adapter) -> _Adapter:
    """A class decorator for an adapter: a Redis that cannot be reached, raised from any of
    its public methods, is the port's `StoreUnavailable` (same message), so that nothing
    outside the adapters knows Redis's errors."""
    for name, method in vars(adapter).copy().items():
        if not name.startswith("_") and inspect.isfunction(method):
            setattr(adapter, name, _translating(method))
    return adapter


def _translating(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def translated(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except UNAVAILABLE as error:
            raise StoreUnavailable(str(error)) from error

    return translated


CONNECT_FAILURES = Counter(
    "events_redis_connect_failures", "Connections to Redis that could not be made."
)
#: Redis out of reach, logged once when it starts and once when a connection is made again.
OUTAGE = Outage("Redis", CONNECT_FAILURES, traceback=False)


class Connection(redis.Connection):
    """redis-py's connection, with a cheaper answer to the question its pool asks of every
    connection it hands out: is anything unread waiting on it (a poll that does not wait)?

    Under gevent, the patched poll goes through the event loop, about 15 us where the
    system's poll takes 1, twice per event. A poll that does not wait cannot block, so the
    system's poll does here. A socket with nothing to read is clean: redis-py drops a
    connection whenever a read is interrupted, so none comes back to the pool with a reply
    half read. Anything else (data waiting, a closed socket) is left to redis-py.
    """

    def connect(self) -> None:
        try:
            super().connect()  # type: ignore[no-untyped-call]
        except UNAVAILABLE as error:
            OUTAGE.failed(error)
            raise
        OUTAGE.succeeded()

    def can_read(self, timeout: float = 0) -> bool:
        sock: Any = self._sock
        if timeout == 0 and sock is not None and not _readable_now(sock):
            return False
        return bool(super().can_read(timeout))


_system_poll = get_original("select", "poll")


def _readable_now(sock: Any) -> bool:
    poller = _system_poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


_OPTIONS = {
    "socket_timeout": 5,
    "socket_connect_timeout": 2,
    "health_check_interval": 30,
    "connection_class": Connection,
    # Redis Enterprise's maintenance notices, which this service does not use; while they
    # are on, redis-py 8 hands out a connection with a stale reply waiting on it as it is.
    "maint_notifications_config": MaintNotificationsConfig(enabled=False),
}


def connect(url: str) -> Client:
    """A client of the Redis at `url`: a cluster client when that Redis is a cluster node.

    A Redis that does not answer yet is taken for a single server (logged): the service
    starts, answers 503 until it answers, and goes on from there."""
    client = redis.Redis.from_url(url, **_OPTIONS)
    try:
        clustered = client.info("cluster").get("cluster_enabled")
    except UNAVAILABLE as error:
        logger.error(
            "Redis at %s does not answer (%s): nothing can be recorded until it does",
            redact_url(url),
            error,
        )
        return client
    if clustered:
        client.close()
        return RedisCluster.from_url(url, **_OPTIONS)
    return client


@dataclass(frozen=True, slots=True)
class Layout:
    prefix: str = "ep"
    shards: int = 16

    def shard_of(self, user_id: str) -> int:
        return zlib.crc32(user_id.encode("utf-8", "surrogatepass")) % self.shards

    def key(self, shard: int, *parts: str) -> str:
        return ":".join((f"{self.prefix}:{{s{shard}}}", *parts))


class Pipelines:
    """Commands queued by the key they touch and sent in one round trip per node; their
    results (an exception for each command that failed) in the order they were queued.

    On a cluster, one pipeline per node: redis-py's cluster pipeline refuses scripts. A
    node that no longer holds a slot answers MOVED, which is that command's result; a
    node that cannot be reached (or whose replies were lost) gives each of its commands
    the error, and what they were for is done again through the client, which fails over."""

    def __init__(self, client: Client) -> None:
        self._client: Any = client
        self._cluster: Any = client if isinstance(client, RedisCluster) else None
        self._pipelines: dict[str, Any] = {}
        self._order: list[str] = []  # the node of each command queued

    def queue(self, key: str, command: str, *args: Any) -> None:
        """Queue `command` with `args` on the pipeline of the node that holds `key`."""
        node = self._node_of(key)
        if node not in self._pipelines:
            self._pipelines[node] = self._client_of(node).pipeline(transaction=False)
        getattr(self._pipelines[node], command)(*args)
        self._order.append(node)

    def execute(self) -> list[Any]:
        results = {node: iter(_results(pipeline)) for node, pipeline in self._pipelines.items()}
        return [next(results[node]) for node in self._order]

    def _node_of(self, key: str) -> str:
        return "" if self._cluster is None else str(self._cluster.get_node_from_key(key).name)

    def _client_of(self, node: str) -> Any:
        if self._cluster is None:
            return self._client
        return self._cluster.get_node(node_name=node).redis_connection


def _results(pipeline: Any) -> list[Any]:
    queued = len(pipeline)
    try:
        return list(pipeline.execute(raise_on_error=False))
    except UNAVAILABLE as error:
        return [error] * queued


def report_lost_data(shards: list[int], of: int) -> None:
    """Once per discovery: Redis came back without the data of these shards."""
    STORE_RESETS.inc()
    logger.error(
        "Redis lost its data (restarted without persistence, flushed, or failed over to an "
        "empty replica): %s of %s shards (%s) no longer hold the open sessions, pending "
        "reminders, seen event ids, decision logs and undelivered notifications of their "
        "users. Their delivery streams were created again; delivery goes on with what is "
        "decided from now on.",
        len(shards),
        of,
        ", ".join(map(str, shards)),
    )


# --- The throttles' counters (eventsproject/platform/rate_limits.py) in Redis: moved by one
# script per request on Redis's own clock, so no two processes can both spend a client's last
# request. Each key holds its client in a hash tag: on a cluster, a slot of its own.

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


@unavailable_as_store_error
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


# --- Heartbeats of the processes that deliver (eventsproject/platform/heartbeats.py).

#: KEYS[1]: the hash. ARGV: the process, its report (JSON), how long to keep a beat (ms).
_BEAT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local keep = tonumber(ARGV[3])
local beats = redis.call('HGETALL', KEYS[1])
for i = 1, #beats, 2 do
  if now - tonumber(string.match(beats[i + 1], '^%d+')) > keep then
    redis.call('HDEL', KEYS[1], beats[i])
  end
end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', now) .. ' ' .. ARGV[2])
redis.call('PEXPIRE', KEYS[1], keep)
return 1
"""

#: KEYS[1]: the hash. Returns the Redis clock's time (ms) and the hash's fields and values.
_READ = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
return {string.format('%d', now), redis.call('HGETALL', KEYS[1])}
"""


@unavailable_as_store_error
class RedisHeartbeats:
    def __init__(self, client: Client, prefix: str, *, keep_seconds: float = 600) -> None:
        self._client: Any = client
        self._key = f"{prefix}:{{heartbeats}}"
        self._keep_ms = int(keep_seconds * 1000)
        self._beat = client.register_script(_BEAT)
        self._read = client.register_script(_READ)

    def beat(self, report: dict[str, Any]) -> None:
        self._beat(keys=[self._key], args=[this_process(), orjson.dumps(report), self._keep_ms])

    def forget(self) -> None:
        self._client.hdel(self._key, this_process())

    def recent(self) -> list[Beat]:
        now, fields = self._read(keys=[self._key])
        beats = [
            beat_of(process, value, int(now))
            for process, value in zip(fields[::2], fields[1::2], strict=True)
        ]
        return sorted(beats, key=lambda beat: beat.seconds_ago)
