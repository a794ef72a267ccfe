"""The in-memory adapter of the outbox store (notifications/ports.py), the embedded default.

It keeps the newest `history_limit` sent notifications (counting the ones it
forgot); pending and failed ones are never dropped. What it holds is lost with
the process.
"""

import heapq
import itertools
import threading
from collections import Counter, deque
from collections.abc import Callable, Sequence
from datetime import datetime

from notifications.domain.notification import Notification, utc_now
from notifications.ports import DeliveryStatus, NotResendable, OutboxEntry, UnknownNotification


class InMemoryOutboxStore:
    """Thread-safe; what it holds is lost with the process."""

    durable = False

    def __init__(self, history_limit: int = 1000, clock: Callable[[], datetime] = utc_now) -> None:
        self._history_limit = history_limit
        self._clock = clock
        # Reentrant for its `_is_owned`: a condition on a plain lock checks ownership with a
        # non-blocking acquire, which gevent's patched lock follows with a yield to the hub:
        # every append then gave up the worker holding this lock, and requests queued on it
        # (benchmarks/analysis.md, issue 28, target 1).
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._entries: dict[str, OutboxEntry] = {}
        self._due: list[tuple[datetime, int, str]] = []  # (next attempt, order, id)
        self._order = itertools.count()
        self._sent_order: deque[str] = deque()
        self._by_status: Counter[DeliveryStatus] = Counter()
        self._due_since: dict[str, datetime] = {}  # the pending ones' (OutboxEntry.due_since)
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
                self._due_since[notification.notification_id] = entry.due_since
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
            self._due_since[notification_id] = entry.due_since
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

    def oldest_pending_since(self, now: datetime) -> datetime | None:
        with self._lock:  # one pass over the pending ones, at each scrape
            oldest = min(self._due_since.values(), default=None)
        return oldest if oldest is not None and oldest <= now else None

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
        if status is not DeliveryStatus.PENDING:
            self._due_since.pop(entry.notification_id, None)

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
