"""The Redis connection and the key layout shared by the Redis stores.

Every key of a user lives in the user's shard, `<prefix>:{s<N>}:…`, whose hash
tag puts the shard in one Redis Cluster slot: the user's state, seen ids and
decision log, the shard's due reminders and its notification stream are all
written in one atomic script. `EVENTS_TIMER_SHARDS` shards spread the work over
the cluster (and over the processes that claim due work).
"""

import logging
import zlib
from dataclasses import dataclass

import redis
from redis.cluster import RedisCluster

from eventsproject.redaction import redact_url

logger = logging.getLogger(__name__)

Client = redis.Redis | RedisCluster


#: What a Redis that cannot be reached raises: the API answers 503 and a retry later succeeds.
UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, redis.exceptions.ClusterError)

_TIMEOUTS = {"socket_timeout": 5, "socket_connect_timeout": 2, "health_check_interval": 30}


def connect(url: str) -> Client:
    """A client of the Redis at `url`: a cluster client when that Redis is a cluster node.

    A Redis that does not answer yet is taken for a single server (logged): the service
    starts, answers 503 until it answers, and goes on from there."""
    client = redis.Redis.from_url(url, **_TIMEOUTS)
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
        return RedisCluster.from_url(url, **_TIMEOUTS)
    return client


@dataclass(frozen=True, slots=True)
class Layout:
    prefix: str = "ep"
    shards: int = 16

    def shard_of(self, user_id: str) -> int:
        return zlib.crc32(user_id.encode("utf-8", "surrogatepass")) % self.shards

    def key(self, shard: int, *parts: str) -> str:
        return ":".join((f"{self.prefix}:{{s{shard}}}", *parts))
