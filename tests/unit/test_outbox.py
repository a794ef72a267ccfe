"""The outbox: delivery state, idempotent publishing, re-sending and bounded history."""

import io
import json

from events.decisions import Reminder
from events.rules import remind_to_start
from notifications.client import NotificationError
from notifications.console import ConsoleTransport
from notifications.outbox import DeliveryStatus, Outbox
from tests.factories import at, launched


def reminder_for(user: str, minute: int = 0):
    return remind_to_start(Reminder(launch=launched(user, at(minute)), deadline=at(minute + 10)))


class FlakyTransport:
    """Fails with the given errors first, then delivers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.sent = []

    def send(self, notification) -> None:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(notification)


def test_a_published_notification_is_delivered_and_marked_sent():
    transport = FlakyTransport()
    outbox = Outbox(transport)
    notification = reminder_for("u1")

    outbox.publish(notification)

    assert outbox.flush(timeout=5)
    assert transport.sent == [notification]
    entry = outbox.get(notification.notification_id)
    assert (entry.status, entry.attempts, entry.last_error) == (DeliveryStatus.SENT, 1, "")


def test_publishing_the_same_id_twice_delivers_once():
    transport = FlakyTransport()
    outbox = Outbox(transport)

    outbox.publish(reminder_for("u1"))
    outbox.publish(reminder_for("u1"))

    assert outbox.flush(timeout=5)
    assert len(transport.sent) == 1


def test_a_failed_delivery_is_kept_with_its_error_and_can_be_resent():
    transport = FlakyTransport(NotificationError("answered 400", retryable=False))
    outbox = Outbox(transport)
    notification = reminder_for("u1")
    outbox.publish(notification)
    outbox.flush(timeout=5)

    assert [e.last_error for e in outbox.entries(DeliveryStatus.FAILED)] == ["answered 400"]

    outbox.resend(notification.notification_id)

    assert outbox.flush(timeout=5)
    assert transport.sent == [notification]
    assert outbox.get(notification.notification_id).attempts == 2
    assert outbox.counts() == {"pending": 0, "sent": 1, "failed": 0}


def test_resending_an_unknown_or_sent_notification_changes_nothing():
    outbox = Outbox(FlakyTransport())
    notification = reminder_for("u1")
    outbox.publish(notification)
    outbox.flush(timeout=5)

    assert outbox.resend("no-such-id") is None
    assert outbox.resend(notification.notification_id).status is DeliveryStatus.SENT


def test_a_crashing_transport_fails_the_notification_but_not_the_worker():
    transport = FlakyTransport(RuntimeError("bug"))
    outbox = Outbox(transport)

    outbox.publish(reminder_for("u1"))
    outbox.publish(reminder_for("u2"))

    assert outbox.flush(timeout=5)
    assert outbox.counts() == {"pending": 0, "sent": 1, "failed": 1}


def test_history_keeps_the_newest_sent_and_every_failed_notification():
    transport = FlakyTransport(NotificationError("down", retryable=True))
    outbox = Outbox(transport, history_limit=3)

    for minute in range(6):
        outbox.publish(reminder_for("u1", minute))
        outbox.flush(timeout=5)

    statuses = [entry.status for entry in outbox.entries()]
    assert statuses == [DeliveryStatus.SENT, DeliveryStatus.SENT, DeliveryStatus.FAILED]


def test_a_transport_can_be_swapped_for_a_while():
    usual = FlakyTransport()
    outbox = Outbox(usual)
    printed = io.StringIO()

    with outbox.use_transport(ConsoleTransport(printed)):
        outbox.publish(reminder_for("u1"))

    outbox.publish(reminder_for("u2"))
    outbox.flush(timeout=5)
    assert json.loads(printed.getvalue())["user_id"] == "u1"
    assert [n.user_id for n in usual.sent] == ["u2"]
