"""The adapters every port's contract suite runs against: add one here and it runs them all."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import redis
from redis.cluster import RedisCluster

from events.adapters.memory import InMemoryEventRepository
from events.adapters.redis import RedisEventRepository
from events.ports import EventRepository
from eventsproject.platform.redis import Client, Layout, connect
from notifications.adapters.memory import InMemoryOutboxStore
from notifications.adapters.redis import RedisOutboxStore
from notifications.ports import OutboxStore
from tests.factories import FakeClock
from tests.redis_server import delete_prefix, own_cluster, require_redis, unique_prefix

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


def memory_outbox(clock: FakeClock, history_limit: int, redis_prefix=None) -> OutboxStore:
    return InMemoryOutboxStore(history_limit=history_limit, clock=clock)


def memory_repository(outbox, clock, redis_prefix) -> EventRepository:
    return InMemoryEventRepository(outbox=outbox)


@pytest.fixture
def redis_prefix() -> Iterator[tuple[redis.Redis, str]]:
    client = require_redis()
    prefix = unique_prefix()
    yield client, prefix
    delete_prefix(client, prefix)


@pytest.fixture(scope="session")
def cluster_url(tmp_path_factory) -> Iterator[str]:
    """A local three-master Redis Cluster for the whole session."""
    with own_cluster(tmp_path_factory.mktemp("cluster")) as url:
        yield url


@pytest.fixture
def cluster_prefix(cluster_url) -> tuple[Client, str]:
    """The cluster client `connect` picks for a cluster node's URL, and a fresh prefix."""
    client = connect(cluster_url)
    assert isinstance(client, RedisCluster)
    return client, unique_prefix()


def redis_outbox(clock: FakeClock, history_limit: int, redis_prefix) -> OutboxStore:
    client, prefix = redis_prefix
    return RedisOutboxStore(
        client, Layout(prefix, shards=4), history_limit=history_limit, clock=clock
    )


def redis_repository(outbox, clock, redis_prefix) -> EventRepository:
    client, prefix = redis_prefix
    return RedisEventRepository(client, Layout(prefix, shards=4), outbox)


OUTBOX_STORES = {"memory": memory_outbox, "redis": redis_outbox, "cluster": redis_outbox}
REPOSITORIES = {
    "memory": (memory_repository, memory_outbox),
    "redis": (redis_repository, redis_outbox),
    "cluster": (redis_repository, redis_outbox),
}
_CONNECTIONS = {"memory": None, "redis": "redis_prefix", "cluster": "cluster_prefix"}


def _redis_if(request, name: str):
    fixture = _CONNECTIONS[name]
    return None if fixture is None else request.getfixturevalue(fixture)


@pytest.fixture(params=sorted(OUTBOX_STORES))
def make_outbox(request, clock) -> Callable[..., OutboxStore]:
    """Call with an optional `history_limit` for a fresh, empty outbox store."""
    adapter, connection = OUTBOX_STORES[request.param], _redis_if(request, request.param)
    return lambda history_limit=1000: adapter(clock, history_limit, connection)


@dataclass(frozen=True)
class Stores:
    repository: EventRepository
    outbox: OutboxStore


@pytest.fixture(params=sorted(REPOSITORIES))
def make_stores(request, clock) -> Callable[..., Stores]:
    """Call for a fresh, empty repository and its outbox store."""
    repository_adapter, outbox_adapter = REPOSITORIES[request.param]
    connection = _redis_if(request, request.param)

    def make() -> Stores:
        outbox = outbox_adapter(clock, 1000, connection)
        return Stores(repository_adapter(outbox, clock, connection), outbox)

    return make
