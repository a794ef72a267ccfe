"""A unit of work on Redis decides on the state its process last saw of the user, and the
commit tells it, in the same round trip, when the store holds another: one round trip
when the process saw the user's last change, two when another process changed it since.
Two repositories on one prefix stand for two processes."""

import sys
import threading

import pytest
import redis

from events.adapters import redis as redis_store
from events.adapters.redis import RedisEventRepository
from events.domain.decisions import NO_STATE
from events.ports import Arrival, UnitOfWork
from eventsproject.platform.redis import Connection, Layout
from notifications.adapters.redis import RedisOutboxStore
from tests.contract.conftest import NOW
from tests.contract.test_event_repository import clearing, never_saved, opening
from tests.factories import FakeClock, at, reminder_for, started
from tests.redis_server import REDIS_URL, delete_prefix, require_redis, unique_prefix


class CountingConnection(Connection):
    """Counts what it sends: one send, one round trip."""

    sent = 0

    def send_packed_command(self, command, check_health=True):
        CountingConnection.sent += 1
        super().send_packed_command(command, check_health)


@pytest.fixture
def process():
    """Call for one more process's repository; all of them share one prefix."""
    require_redis()
    prefix, clients = unique_prefix(), []

    def make():
        client = redis.Redis.from_url(REDIS_URL, connection_class=CountingConnection)
        clients.append(client)
        layout = Layout(prefix, shards=4)
        outbox = RedisOutboxStore(client, layout, clock=FakeClock(NOW))
        return RedisEventRepository(client, layout, outbox)

    yield make
    delete_prefix(clients[0], prefix)
    for client in clients:
        client.close()


def round_trips(update):
    before = CountingConnection.sent
    committed = update()
    return committed, CountingConnection.sent - before


def test_an_event_of_a_user_this_process_changed_last_takes_one_round_trip(process):
    here = process()
    first, second = started("a", at(0), program="p1"), started("a", at(1), program="p2")
    here.update("a", opening(first), first)  # also loads the scripts

    committed, trips = round_trips(lambda: here.update("a", opening(second), second))

    assert trips == 1
    assert committed.arrival is Arrival.NEW
    assert here.user_state("a").open_sessions == {"p1": first, "p2": second}


def test_a_user_changed_by_another_process_is_decided_on_what_the_store_holds(process):
    here, there = process(), process()
    events = [started("a", at(n), program=f"p{n}") for n in range(3)]
    here.update("a", opening(events[0]), events[0])
    there.update("a", opening(events[1]), events[1])

    committed, trips = round_trips(lambda: here.update("a", opening(events[2]), events[2]))

    assert trips == 2  # refused with what the store holds, then committed on it
    assert committed.change.notifications == [reminder_for("a", 3)]
    assert [record.about for record in here.decisions("a")] == events[::-1]


def test_a_user_this_process_never_saw_is_decided_on_what_the_store_holds(process):
    here, there = process(), process()
    first, second = started("a", at(0), program="p1"), started("a", at(1), program="p2")
    there.update("a", opening(first), first)

    committed = here.update("a", opening(second), second)

    assert committed.change.notifications == [reminder_for("a", 2)]
    assert here.user_state("a").open_sessions == {"p1": first, "p2": second}


def test_an_event_another_process_recorded_since_is_a_duplicate_here(process):
    here, there = process(), process()
    first, second = started("a", at(0), program="p1"), started("a", at(1), program="p2")
    here.update("a", opening(first), first)
    there.update("a", opening(second), second)

    committed = here.update("a", never_saved(second), second)

    assert committed.arrival is Arrival.DUPLICATE
    assert here.user_state("a").open_sessions == {"p1": first, "p2": second}
    assert len(here.decisions("a")) == 2


def test_a_process_remembers_only_its_most_recently_changed_users(process):
    here = process()
    here.remembered_users = 1
    for user in ("a", "b"):
        event = started(user, at(0), program="p1")
        here.update(user, opening(event), event)
    later = {user: started(user, at(1), program="p2") for user in ("a", "b")}

    _, trips_b = round_trips(lambda: here.update("b", opening(later["b"]), later["b"]))
    _, trips_a = round_trips(lambda: here.update("a", opening(later["a"]), later["a"]))

    assert (trips_b, trips_a) == (1, 2)  # a was forgotten when b came


def test_an_event_after_a_batch_of_this_process_takes_one_round_trip(process):
    here = process()
    first, second = started("a", at(0), program="p1"), started("a", at(1), program="p2")
    here.update("b", opening(started("b", at(0))), started("b", at(0)))  # loads the scripts
    here.update_many([UnitOfWork("a", opening(first), first)])

    committed, trips = round_trips(lambda: here.update("a", opening(second), second))

    assert trips == 1
    assert committed.change.notifications == [reminder_for("a", 2)]


def test_a_unit_without_an_event_refused_is_decided_on_what_the_store_holds(process):
    here, there = process(), process()
    first = started("a", at(0))
    there.update("a", opening(first), first)

    committed = here.update("a", clearing)  # no event, so no seen key to report

    assert committed.arrival is Arrival.NEW
    assert here.user_state("a").open_sessions == {}


def test_a_state_this_process_left_is_not_decoded_again(process, monkeypatch):
    here = process()
    first, second = started("a", at(0), program="p1"), started("a", at(1), program="p2")
    here.update("a", opening(first), first)
    decoded = []
    monkeypatch.setattr(redis_store, "decode_state", decoded.append)

    here.update("a", opening(second), second)

    assert decoded == []


def test_a_state_with_a_long_window_is_remembered(process):
    here = process()
    events = [
        started("a", at(n), program=f"p{n}") for n in range(20)
    ]  # over 2 KB, as a long window is
    for event in events[:-1]:
        here.update("a", opening(event), event)

    _, trips = round_trips(lambda: here.update("a", opening(events[-1]), events[-1]))

    assert trips == 1


def test_a_state_too_large_to_remember_is_read_from_the_store(process):
    here = process()
    here.remembered_bytes = 10
    first, second = started("a", at(0), program="p1"), started("a", at(1), program="p2")
    here.update("a", opening(first), first)

    _, trips = round_trips(lambda: here.update("a", opening(second), second))

    assert trips == 2
    assert here.user_state("a").open_sessions == {"p1": first, "p2": second}


def test_threads_remembering_at_the_bound_keep_it(process):
    """The ticker's thread and request threads (runserver) remember users together."""
    here = process()
    here.remembered_users = 50
    failures = []

    def remember(thread):
        try:
            for n in range(20_000):
                here._remember(f"u{thread}-{n}", b"{}", NO_STATE)
        except Exception as error:
            failures.append(error)

    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads swap as often as they can
    try:
        threads = [threading.Thread(target=remember, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switching)

    assert failures == []
    assert len(here._last_states) <= 50
