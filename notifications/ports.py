"""The notifications app's port: the outbox store, every notification the rules decided,
with its delivery state, and the errors the rest may catch.

One adapter per store, in `notifications/adapters/`. `append` records notifications — an id
already known is left as it is, so publishing is idempotent — and the
dispatcher (notifications.service.dispatcher) takes them from here: `claim_due` hands
each due entry to one caller, which then acknowledges it (`sent`), schedules it
again (`retry_later`) or gives up on it (`dead_letter`, status `failed`);
`resend` revives a dead letter with the same id and a fresh budget.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from eventsproject.platform.stores import StoreUnavailable
from notifications.domain.notification import Notification

__all__ = [
    "DeliveryStatus",
    "NotResendable",
    "NotificationError",
    "OutboxEntry",
    "OutboxStore",
    "StoreUnavailable",
    "Transport",
    "UnknownNotification",
]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(slots=True)
class OutboxEntry:
    notification: Notification
    created_at: datetime
    updated_at: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_error: str = ""
    next_attempt_at: datetime | None = None
    #: The current round of delivery (from appending or re-sending): when it began and
    #: the attempts made before it, so that the retry budget is the round's own.
    round: tuple[datetime, int] = field(default=(datetime.min.replace(tzinfo=UTC), 0))

    @property
    def notification_id(self) -> str:
        return self.notification.notification_id

    @property
    def attempts_this_round(self) -> int:
        return self.attempts - self.round[1]

    @property
    def due_since(self) -> datetime:
        """When its round of attempts began: a deferred notification's begins when it is due,
        so that its latency, its retry budget and its age do not count the quiet hours."""
        deliver_after = self.notification.deliver_after
        started = self.round[0]
        return started if deliver_after is None else max(started, deliver_after)


class UnknownNotification(LookupError):
    pass


class NotResendable(ValueError):
    """Only a failed notification is re-sent."""


class OutboxStore(Protocol):
    #: Whether what it holds outlives the process (and is shared with other processes).
    durable: bool

    def append(self, notifications: Sequence[Notification]) -> None:
        """Queue the notifications whose ids are new, due now."""

    def claim_due(self, now: datetime, limit: int) -> list[OutboxEntry]:
        """Pending entries due at `now`, each handed to one caller only: up to `limit` from
        each part of the store (a Redis store claims from each of its shards at once)."""

    def acknowledge(self, notification_ids: Sequence[str]) -> list[OutboxEntry]:
        """The attempts delivered them: each `sent`, together (one round trip where the
        store is remote). Ids the store does not hold are left out."""

    def retry_later(
        self, notification_id: str, at: datetime, error: str, *, attempted: bool = True
    ) -> OutboxEntry:
        """Pending again, due `at`; `attempted` is False when no attempt was made."""

    def dead_letter(
        self, notification_id: str, error: str, *, attempted: bool = True
    ) -> OutboxEntry:
        """Given up on: `failed`, kept with its error until re-sent."""

    def resend(self, notification_id: str) -> OutboxEntry:
        """A failed notification is pending again, with the same id and a new round."""

    def get(self, notification_id: str) -> OutboxEntry | None: ...

    def statuses(self, notifications: Sequence[tuple[str, str]]) -> list[DeliveryStatus | None]:
        """The status of each (user id, notification id); None for one the store does not
        hold (never appended, or sent and forgotten by the history)."""

    def entries(self, status: DeliveryStatus | None = None) -> list[OutboxEntry]:
        """Entries newest first, optionally of one status."""

    def counts(self) -> dict[str, int]:
        """Notifications by status, the sent ones the history forgot included."""

    def oldest_pending_since(self, now: datetime) -> datetime | None:
        """Since when the pending notification that has waited longest was due, at `now`:
        the start of its round of delivery (appended or re-sent), or its `deliver_after` if
        later; None when no pending one is due. Waiting for a retry or in flight counts."""

    def wait(self, timeout: float) -> None:
        """Return when an entry may have fallen due, or after `timeout` seconds."""

    def wake(self) -> None:
        """Make every `wait` return now."""


class Transport(Protocol):
    def send(self, notification: Notification) -> None:
        """Deliver one notification or raise `NotificationError`."""


class NotificationError(Exception):
    """A delivery attempt failed; `retryable` says if trying later may help."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
