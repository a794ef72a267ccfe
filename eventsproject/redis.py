"""The Redis connection and the key layout shared by the Redis stores.

Every key of a user lives in the user's shard, `<prefix>:{s<N>}:…`, whose hash
tag puts the shard in one Redis Cluster slot: the user's state, seen ids and
decision log, the shard's due reminders and its notification stream are all
written in one atomic script. `EVENTS_TIMER_SHARDS` shards spread the work over
the cluster (and over the processes that claim due work).
"""

import zlib
from dataclasses import dataclass

import redis
from redis.cluster import RedisCluster

Client = redis.Redis | RedisCluster


def connect(url: str) -> Client:
    """A client of the Redis at `url`: a cluster client when that Redis is a cluster node."""
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
    if client.info("cluster").get("cluster_enabled"):
        client.close()
        return RedisCluster.from_url(url, socket_timeout=5, socket_connect_timeout=2)
    return client


@dataclass(frozen=True, slots=True)
class Layout:
    prefix: str = "ep"
    shards: int = 16

    def shard_of(self, user_id: str) -> int:
        return zlib.crc32(user_id.encode("utf-8", "surrogatepass")) % self.shards

    def key(self, shard: int, *parts: str) -> str:
        return ":".join((f"{self.prefix}:{{s{shard}}}", *parts))
