"""A commit or an acknowledgement whose reply is lost: the answer is still what it did.

Redis runs a script as soon as it arrives; when the connection drops before the reply
is read, a client that retries (redis-py's cluster client does, ten times) reconnects and
sends the same commands again, and a batch's units are done again one by one. Either way
the second run finds its own work done, and must answer what the first run did.
"""

import itertools
from dataclasses import replace

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from events.adapters.redis import RedisEventRepository
from events.ports import Arrival, Change, UnitOfWork
from eventsproject.platform.redis import Connection, Layout
from notifications.adapters.redis import RedisOutboxStore
from notifications.ports import DeliveryStatus
from tests.contract.conftest import NOW
from tests.contract.test_event_repository import opening
from tests.factories import FakeClock, at, reminder_for, started
from tests.redis_server import REDIS_URL, delete_prefix, require_redis, unique_prefix


class LosingConnection(Connection):
    """Loses the reply to the next script it sends, once `armed`: the script has run."""

    armed = False

    def send_packed_command(self, command, check_health=True):
        parts = [command] if isinstance(command, bytes | str) else command
        self.script_sent = any(b"EVALSHA" in bytes(part) for part in parts)
        super().send_packed_command(command, check_health)

    def read_response(self, *args, **kwargs):
        response = super().read_response(*args, **kwargs)
        if LosingConnection.armed and getattr(self, "script_sent", False):
            LosingConnection.armed = False
            raise redis.ConnectionError("the reply was lost on the way")
        return response


@pytest.fixture
def make_stores():
    """Call with how many times the client resends a command whose reply it lost."""
    require_redis()
    prefix, clients = unique_prefix(), []

    def make(retries: int):
        client = redis.Redis.from_url(
            REDIS_URL, connection_class=LosingConnection, retry=Retry(NoBackoff(), retries)
        )
        clients.append(client)
        outbox = RedisOutboxStore(client, Layout(prefix, shards=4), clock=FakeClock(NOW))
        return RedisEventRepository(client, Layout(prefix, shards=4), outbox), outbox

    yield make
    LosingConnection.armed = False
    delete_prefix(clients[0], prefix)
    for client in clients:
        client.close()


NUMBERS = itertools.count()


def numbered_opening(event):
    """`opening`, but each decision's notification has an id of its own, as the rules'
    have when they decide again on another state: the answer must be what was saved."""

    def change_of(state):
        change = opening(event)(state)
        [notification] = change.notifications
        numbered = replace(notification, notification_id=f"n{next(NUMBERS)}")
        return Change(change.state, change.records, [numbered])

    return change_of


def test_an_event_whose_commit_reply_was_lost_and_resent_is_new_with_the_change_it_saved(
    make_stores,
):
    repository, outbox = make_stores(retries=3)
    event = started("a", at(0))
    LosingConnection.armed = True

    committed = repository.update("a", numbered_opening(event), event=event)

    assert not LosingConnection.armed, "no reply was lost: the test tested nothing"
    assert committed.arrival is Arrival.NEW
    saved = [entry.notification.notification_id for entry in outbox.entries()]
    assert [n.notification_id for n in committed.change.notifications] == saved


@pytest.mark.parametrize("retries", [3, 0], ids=["client resends", "client does not"])
def test_units_whose_commit_replies_were_lost_are_new_with_their_changes(make_stores, retries):
    repository, outbox = make_stores(retries)
    pairs = itertools.product("ab", (0, 1))
    events = [started(user, at(minute), program=f"p{minute}") for user, minute in pairs]
    work = [UnitOfWork(event.user_id, opening(event), event) for event in events]
    LosingConnection.armed = True

    committed = repository.update_many(work)

    assert not LosingConnection.armed, "no reply was lost: the test tested nothing"
    assert [unit.arrival for unit in committed] == [Arrival.NEW] * len(events)
    assert len(outbox.entries()) == len(events)


@pytest.mark.parametrize("retries", [3, 0], ids=["client resends", "client does not"])
def test_deliveries_whose_acknowledgement_reply_was_lost_are_sent_once(make_stores, retries):
    _, outbox = make_stores(retries)
    outbox.append([reminder_for(f"u{n}") for n in range(3)])
    claimed = outbox.claim_due(NOW, 10)
    LosingConnection.armed = True

    sent = outbox.acknowledge([entry.notification_id for entry in claimed])

    assert not LosingConnection.armed, "no reply was lost: the test tested nothing"
    assert {(entry.status, entry.attempts) for entry in sent} == {(DeliveryStatus.SENT, 1)}
    assert outbox.counts() == {"pending": 0, "sent": 3, "failed": 0}


def test_deliveries_are_acknowledged_when_redis_no_longer_has_the_scripts(make_stores):
    _, outbox = make_stores(retries=0)
    outbox.append([reminder_for(f"u{n}") for n in range(3)])
    claimed = outbox.claim_due(NOW, 10)
    redis.Redis.from_url(REDIS_URL).script_flush()  # as after a restart without persistence

    sent = outbox.acknowledge([entry.notification_id for entry in claimed])

    assert len(sent) == 3
    assert outbox.counts() == {"pending": 0, "sent": 3, "failed": 0}
