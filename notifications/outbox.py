"""The outbox store: every notification the rules decided, with its delivery state.

A port with one adapter per store. `append` records notifications — an id
already known is left as it is, so publishing is idempotent — and the
dispatcher (notifications.dispatcher) takes them from here: `claim_due` hands
each due entry to one caller, which then acknowledges it (`sent`), schedules it
again (`retry_later`) or gives up on it (`dead_letter`, status `failed`);
`resend` revives a dead letter with the same id and a fresh budget.

The in-memory adapter keeps the newest `history_limit` sent notifications
(counting the ones it forgot); pending and failed ones are never dropped.
"""

import heapq
import itertools
import threading
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from notifications.domain import Notification


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

    def wait(self, timeout: float) -> None:
        """Return when an entry may have fallen due, or after `timeout` seconds."""

    def wake(self) -> None:
        """Make every `wait` return now."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class InMemoryOutboxStore:
    """Thread-safe; what it holds is lost with the process."""

    durable = False

    def __init__(self, history_limit: int = 1000, clock: Callable[[], datetime] = utc_now) -> None:
        self._history_limit = history_limit
        self._clock = clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._entries: dict[str, OutboxEntry] = {}
        self._due: list[tuple[datetime, int, str]] = []  # (next attempt, order, id)
        self._order = itertools.count()
        self._sent_order: deque[str] = deque()
        self._by_status: Counter[DeliveryStatus] = Counter()
        self._evicted = 0

    def append(self, notifications: Sequence[Notification]) -> None:
        if not notifications:
            return
        with self._lock:
            now = self._clock()
            for notification in notifications:
                if notification.notification_id in self._entries:
                    continue
                entry = OutboxEntry(notification, created_at=now, updated_at=now, round=(now, 0))
                self._entries[notification.notification_id] = entry
                self._by_status[DeliveryStatus.PENDING] += 1
                self._schedule(entry, now)

    def claim_due(self, now: datetime, limit: int) -> list[OutboxEntry]:
        claimed: list[OutboxEntry] = []
        with self._lock:
            while self._due and self._due[0][0] <= now and len(claimed) < limit:
                due_at, _, notification_id = heapq.heappop(self._due)
                entry = self._entries.get(notification_id)
                if entry is not None and entry.next_attempt_at == due_at:
                    entry.next_attempt_at = None  # in flight: nobody else claims it
                    claimed.append(entry)
        return claimed

    def acknowledge(self, notification_ids: Sequence[str]) -> list[OutboxEntry]:
        sent = []
        with self._lock:
            for notification_id in notification_ids:
                entry = self._entries.get(notification_id)
                if entry is None:
                    continue
                if entry.status is not DeliveryStatus.SENT:  # sent already: it stays as it is
                    self._attempted(notification_id, DeliveryStatus.SENT, "", attempted=True)
                    self._remember_sent(notification_id)
                sent.append(entry)
        return sent

    def retry_later(
        self, notification_id: str, at: datetime, error: str, *, attempted: bool = True
    ) -> OutboxEntry:
        with self._lock:
            entry = self._attempted(notification_id, DeliveryStatus.PENDING, error, attempted)
            self._schedule(entry, at)
            return entry

    def dead_letter(
        self, notification_id: str, error: str, *, attempted: bool = True
    ) -> OutboxEntry:
        with self._lock:
            return self._attempted(notification_id, DeliveryStatus.FAILED, error, attempted)

    def resend(self, notification_id: str) -> OutboxEntry:
        with self._lock:
            entry = self._entries.get(notification_id)
            if entry is None:
                raise UnknownNotification(notification_id)
            if entry.status is not DeliveryStatus.FAILED:
                raise NotResendable(
                    f"only failed notifications are re-sent; this one is {entry.status}"
                )
            now = self._clock()
            self._set_status(entry, DeliveryStatus.PENDING)
            entry.updated_at = now
            entry.round = (now, entry.attempts)
            self._schedule(entry, now)
            return entry

    def get(self, notification_id: str) -> OutboxEntry | None:
        with self._lock:
            return self._entries.get(notification_id)

    def statuses(self, notifications: Sequence[tuple[str, str]]) -> list[DeliveryStatus | None]:
        with self._lock:
            found = [self._entries.get(notification_id) for _, notification_id in notifications]
        return [None if entry is None else entry.status for entry in found]

    def entries(self, status: DeliveryStatus | None = None) -> list[OutboxEntry]:
        with self._lock:
            entries = reversed(self._entries.values())
            return [entry for entry in entries if status is None or entry.status is status]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {status.value: self._by_status[status] for status in DeliveryStatus}

    def wait(self, timeout: float) -> None:
        with self._changed:
            if self._due:
                until_due = (self._due[0][0] - self._clock()).total_seconds()
                timeout = min(timeout, max(until_due, 0.0))
            self._changed.wait(timeout)

    def wake(self) -> None:
        with self._changed:
            self._changed.notify_all()

    # --- under the lock -------------------------------------------------------

    def _attempted(
        self, notification_id: str, status: DeliveryStatus, error: str, attempted: bool
    ) -> OutboxEntry:
        entry = self._entries[notification_id]
        entry.attempts += attempted
        self._set_status(entry, status)
        entry.last_error = error
        entry.updated_at = self._clock()
        entry.next_attempt_at = None
        return entry

    def _set_status(self, entry: OutboxEntry, status: DeliveryStatus) -> None:
        self._by_status[entry.status] -= 1
        self._by_status[status] += 1
        entry.status = status

    def _schedule(self, entry: OutboxEntry, at: datetime) -> None:
        entry.next_attempt_at = at
        heapq.heappush(self._due, (at, next(self._order), entry.notification_id))
        self._changed.notify_all()

    def _remember_sent(self, notification_id: str) -> None:
        self._sent_order.append(notification_id)
        while len(self._sent_order) > self._history_limit:
            del self._entries[self._sent_order.popleft()]
            self._evicted += 1
        if self._evicted > len(self._entries) + 1024:
            # CPython never shrinks a dict's table: rebuild it after a burst has drained.
            self._entries = dict(self._entries)
            self._evicted = 0
