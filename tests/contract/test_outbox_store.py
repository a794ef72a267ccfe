"""The outbox store's contract: every adapter passes the very same tests."""

import threading
from dataclasses import replace

import pytest

from notifications.ports import DeliveryStatus, NotResendable, UnknownNotification
from notifications.service.dispatcher import Dispatcher
from tests.conftest import RecordingTransport
from tests.contract.conftest import NOW
from tests.factories import reminder_for

SENT, PENDING, FAILED = DeliveryStatus.SENT, DeliveryStatus.PENDING, DeliveryStatus.FAILED


def one_claimed(make_outbox):
    """A store holding one notification, claimed."""
    store = make_outbox()
    notification = reminder_for("u1")
    store.append([notification])
    store.claim_due(NOW, 1)
    return store, notification


def ids(entries):
    return [entry.notification_id for entry in entries]


def test_an_appended_notification_is_pending_and_due_at_once(make_outbox):
    store = make_outbox()
    notification = reminder_for("u1")

    store.append([notification])

    entry = store.get(notification.notification_id)
    assert (entry.notification, entry.status, entry.attempts) == (notification, PENDING, 0)
    assert (entry.created_at, entry.next_attempt_at) == (NOW, NOW)
    assert ids(store.claim_due(NOW, 10)) == [notification.notification_id]


def test_appending_a_known_id_again_changes_nothing(make_outbox):
    store = make_outbox()
    store.append([reminder_for("u1")])
    store.acknowledge(ids(store.claim_due(NOW, 10)))

    store.append([reminder_for("u1")])

    assert [entry.status for entry in store.entries()] == [SENT]
    assert store.claim_due(NOW, 10) == []


def test_a_claimed_entry_is_handed_to_one_caller_only(make_outbox):
    store = make_outbox()
    appended = [reminder_for(user, minute) for user in ("u1", "u2") for minute in range(3)]
    store.append(appended)

    first = store.claim_due(NOW, 2)
    rest = [entry for _ in appended for entry in store.claim_due(NOW, 2)]

    assert 1 <= len(first) <= 4  # up to the limit per shard
    assert sorted(ids(first + rest)) == sorted(n.notification_id for n in appended)
    assert store.claim_due(NOW, 2) == []


def test_entries_acknowledged_together_are_each_sent_once_and_an_unknown_id_is_left_out(
    make_outbox, clock
):
    store = make_outbox()
    appended = [reminder_for(f"u{n}") for n in range(5)]
    store.append(appended)
    claimed = [entry for _ in appended for entry in store.claim_due(NOW, 5)]
    clock.advance(seconds=1)

    sent = store.acknowledge([*ids(claimed), "no-such-id"])

    assert sorted(ids(sent)) == sorted(ids(claimed))
    assert {(entry.status, entry.attempts, entry.updated_at) for entry in sent} == {
        (SENT, 1, clock.now)
    }
    assert store.counts() == {"pending": 0, "sent": 5, "failed": 0}
    assert store.acknowledge([]) == []
    assert store.acknowledge(ids(claimed)) == sent  # again (a reply was lost): as they were


def test_an_acknowledged_entry_is_sent_after_one_attempt(make_outbox, clock):
    store, notification = one_claimed(make_outbox)
    clock.advance(seconds=1)

    [entry] = store.acknowledge([notification.notification_id])

    assert (entry.status, entry.attempts, entry.last_error) == (SENT, 1, "")
    assert (entry.updated_at, entry.next_attempt_at) == (clock.now, None)
    assert store.counts() == {"pending": 0, "sent": 1, "failed": 0}


def test_an_entry_retried_later_is_due_only_from_then(make_outbox, clock):
    store, notification = one_claimed(make_outbox)
    later = clock.now.replace(minute=5)

    entry = store.retry_later(notification.notification_id, later, "answered 503")

    assert (entry.status, entry.attempts, entry.last_error) == (PENDING, 1, "answered 503")
    assert entry.next_attempt_at == later
    assert store.claim_due(later.replace(minute=4), 10) == []
    assert ids(store.claim_due(later, 10)) == [notification.notification_id]


def test_a_postponed_entry_spends_no_attempt(make_outbox):
    store, notification = one_claimed(make_outbox)

    entry = store.retry_later(notification.notification_id, NOW, "", attempted=False)

    assert (entry.status, entry.attempts) == (PENDING, 0)


def test_a_dead_letter_is_failed_with_its_error_and_listed_as_failed(make_outbox):
    store = make_outbox()
    store.append([reminder_for("u1"), reminder_for("u2")])
    [first, second] = store.claim_due(NOW, 2)

    store.dead_letter(first.notification_id, "answered 400")
    store.acknowledge([second.notification_id])

    [failed] = store.entries(FAILED)
    assert (failed.notification_id, failed.attempts, failed.last_error) == (
        first.notification_id,
        1,
        "answered 400",
    )
    assert store.counts() == {"pending": 0, "sent": 1, "failed": 1}


def test_a_resent_dead_letter_is_pending_again_in_a_new_round(make_outbox, clock):
    store, notification = one_claimed(make_outbox)
    store.dead_letter(notification.notification_id, "answered 400")
    clock.advance(minutes=1)

    entry = store.resend(notification.notification_id)

    assert (entry.status, entry.attempts, entry.attempts_this_round) == (PENDING, 1, 0)
    assert entry.round[0] == clock.now
    assert ids(store.claim_due(clock.now, 1)) == [notification.notification_id]


def test_only_a_known_failed_notification_is_resent(make_outbox):
    store = make_outbox()
    notification = reminder_for("u1")
    store.append([notification])

    with pytest.raises(UnknownNotification):
        store.resend("no-such-id")
    with pytest.raises(NotResendable, match="this one is pending"):
        store.resend(notification.notification_id)


def test_entries_are_listed_newest_first(make_outbox, clock):
    store = make_outbox()
    for minute in range(3):
        store.append([reminder_for("u1", minute)])
        clock.advance(seconds=1)

    listed = [entry.created_at for entry in store.entries()]

    assert listed == sorted(listed, reverse=True)
    assert len(listed) == 3


def test_history_keeps_the_newest_sent_and_every_failed_one_and_counts_them_all(make_outbox, clock):
    store = make_outbox(history_limit=2)
    for minute in range(5):
        store.append([reminder_for("u1", minute)])
        clock.advance(seconds=1)
    [failed, *sent] = store.claim_due(clock.now, 10)
    store.dead_letter(failed.notification_id, "gone")
    for entry in sent:
        store.acknowledge([entry.notification_id])

    assert [entry.status for entry in store.entries()] == [SENT, SENT, FAILED]
    assert store.counts() == {"pending": 0, "sent": 4, "failed": 1}


def test_waiting_returns_once_something_is_appended(make_outbox):
    store = make_outbox()
    woken = threading.Event()

    def waiter():
        store.wait(timeout=5)
        woken.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    store.append([reminder_for("u1")])

    assert woken.wait(timeout=5)
    thread.join()


def test_statuses_come_by_user_and_id_and_none_for_unknown_ones(make_outbox):
    store = make_outbox()
    sent, pending = reminder_for("u1"), reminder_for("u2")
    store.append([sent, pending])
    store.acknowledge([sent.notification_id])

    statuses = store.statuses(
        [("u1", sent.notification_id), ("u2", pending.notification_id), ("u3", "nope")]
    )

    assert statuses == [SENT, PENDING, None]


def test_a_dispatcher_closing_on_a_durable_store_leaves_the_pending_ones_to_others(make_outbox):
    store = make_outbox()
    store.append([reminder_for("u1")])
    dispatcher = Dispatcher(store, RecordingTransport())  # never started: nothing is sent

    undelivered = dispatcher.close(timeout=0)

    assert undelivered == ([] if store.durable else [reminder_for("u1").notification_id])
    assert store.counts()["pending"] == 1


def test_the_oldest_pending_notification_is_due_since_it_was_appended_until_it_is_settled(
    make_outbox, clock
):
    store = make_outbox()
    first, second = reminder_for("u1"), reminder_for("u2")
    store.append([first])
    clock.advance(minutes=1)
    store.append([second])
    assert store.oldest_pending_since(clock.now) == NOW

    store.claim_due(clock.now, 10)
    assert store.oldest_pending_since(clock.now) == NOW  # in flight: still pending
    store.retry_later(first.notification_id, clock.now.replace(minute=30), "answered 503")
    assert store.oldest_pending_since(clock.now) == NOW  # waiting for its retry: still late

    store.acknowledge([first.notification_id])
    assert store.oldest_pending_since(clock.now) == NOW.replace(minute=1)
    store.dead_letter(second.notification_id, "answered 400")
    assert store.oldest_pending_since(clock.now) is None


def test_a_notification_deferred_by_quiet_hours_is_due_only_from_its_deliver_after(
    make_outbox, clock
):
    store = make_outbox()
    deferred = replace(reminder_for("u1"), deliver_after=NOW.replace(minute=10))
    store.append([deferred])

    assert store.oldest_pending_since(NOW.replace(minute=9)) is None
    assert store.oldest_pending_since(NOW.replace(minute=15)) == NOW.replace(minute=10)


def test_a_resent_dead_letter_is_due_from_its_new_round(make_outbox, clock):
    store, notification = one_claimed(make_outbox)
    store.dead_letter(notification.notification_id, "answered 400")
    clock.advance(minutes=2)

    store.resend(notification.notification_id)

    assert store.oldest_pending_since(clock.now) == NOW.replace(minute=2)
