"""The Redis outbox store on a real Redis: what it needs and finds missing it makes again,
and what a dead process claimed it takes over within one lease."""

import logging
import time
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from eventsproject.platform.redis import Layout
from notifications.adapters.redis import RedisOutboxStore
from notifications.domain.notification import utc_now
from notifications.service.dispatcher import Dispatcher
from tests.contract.conftest import NOW
from tests.factories import FakeClock, reminder_for
from tests.redis_server import delete_prefix, require_redis, unique_prefix


@pytest.fixture
def client_and_prefix():
    client = require_redis()
    prefix = unique_prefix()
    yield client, prefix
    delete_prefix(client, prefix)


@pytest.fixture
def store(client_and_prefix):
    client, prefix = client_and_prefix
    clock = FakeClock(NOW)
    made = RedisOutboxStore(client, Layout(prefix, shards=2), clock=clock)
    made.append([reminder_for("u1")])
    made.acknowledge([entry.notification_id for entry in made.claim_due(NOW, 10)])
    return made


def resets() -> float:
    return REGISTRY.get_sample_value("events_store_resets_total") or 0.0


def test_a_stream_deleted_alone_is_made_again_at_the_next_claim(store, client_and_prefix, caplog):
    client, _ = client_and_prefix
    client.delete(*(store.keys(shard)[0] for shard in range(2)))
    before = resets()

    store.append([reminder_for("u2")])

    assert [entry.notification.user_id for entry in store.claim_due(NOW, 10)] == ["u2"]
    assert resets() == before
    assert "lost its data" not in caplog.text


def test_a_redis_that_lost_everything_is_reported_once_and_claims_go_on(
    store, client_and_prefix, caplog
):
    client, prefix = client_and_prefix
    delete_prefix(client, prefix)
    before = resets()

    with caplog.at_level(logging.ERROR, logger="eventsproject.platform.redis"):
        store.append([reminder_for("u2")])
        first = store.claim_due(NOW, 10)
        store.append([reminder_for("u3")])
        second = store.claim_due(NOW.replace(minute=1), 10)

    assert [entry.notification.user_id for entry in first + second] == ["u2", "u3"]
    assert resets() - before == 1
    [report] = [r.getMessage() for r in caplog.records if "lost its data" in r.getMessage()]
    assert "2 of 2 shards (0, 1)" in report
    assert "undelivered notifications" in report


def test_a_dead_consumer_s_claims_are_taken_over_within_one_lease_even_under_load(
    client_and_prefix,
):
    client, prefix = client_and_prefix
    layout, lease = Layout(prefix, shards=2), timedelta(seconds=1)
    dead = RedisOutboxStore(client, layout, lease=lease)
    alive = RedisOutboxStore(client, layout, lease=lease)
    dead.append([reminder_for("abandoned")])
    assert dead.claim_due(utc_now(), 10)
    claimed_at = time.monotonic()
    time.sleep(0.9)  # the other process looks first inside the lease

    taken_over_after = None
    for minute in range(100):
        alive.append([reminder_for("busy", minute)])  # there is always something new
        users = {entry.notification.user_id for entry in alive.claim_due(utc_now(), 10)}
        if "abandoned" in users:
            taken_over_after = time.monotonic() - claimed_at
            break
        time.sleep(0.05)

    assert taken_over_after is not None
    assert taken_over_after < 1.5  # one lease and a tenth; two leases before


class SlowTransport:
    def __init__(self, pause: float) -> None:
        self.pause = pause
        self.sent: list[str] = []

    def send(self, notification) -> None:
        time.sleep(self.pause)
        self.sent.append(notification.notification_id)


def test_a_dispatcher_slower_than_its_lease_never_takes_back_and_resends_its_own(
    client_and_prefix,
):
    client, prefix = client_and_prefix
    store = RedisOutboxStore(client, Layout(prefix, shards=1), lease=timedelta(seconds=1))
    store.append([reminder_for(f"u{n}") for n in range(20)])
    transport = SlowTransport(0.2)  # 20 sends one after another: 4 s, four leases
    dispatcher = Dispatcher(store, transport, concurrency=1)
    dispatcher.start()

    flushed = dispatcher.flush(timeout=20)
    dispatcher.close(timeout=1)

    assert flushed
    assert sorted(transport.sent) == sorted(set(transport.sent))
    assert len(transport.sent) == 20
