"""The outbox: every notification the rules decide, with its delivery state.

`publish` only records the notification and wakes the delivery worker, so the
request that caused it never waits for the notify service. A notification id
is published once: publishing it again is a no-op. Sent notifications are
kept up to `history_limit` for the browsable API; pending and failed ones are
never dropped.
"""

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from notifications.client import NotificationError
from notifications.domain import Notification

logger = logging.getLogger(__name__)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Transport(Protocol):
    def send(self, notification: Notification) -> None:
        """Deliver one notification or raise `NotificationError`."""


@dataclass(slots=True)
class OutboxEntry:
    notification: Notification
    created_at: datetime
    updated_at: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_error: str = ""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Outbox:
    def __init__(
        self,
        transport: Transport,
        history_limit: int = 1000,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._transport = transport
        self._history_limit = history_limit
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._entries: dict[str, OutboxEntry] = {}
        self._sent_order: deque[str] = deque()
        self._unsettled = 0
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None

    def publish(self, notification: Notification) -> OutboxEntry:
        with self._lock:
            known = self._entries.get(notification.notification_id)
            if known is not None:
                return known
            now = self._wall_clock()
            entry = OutboxEntry(notification, created_at=now, updated_at=now)
            self._entries[notification.notification_id] = entry
            self._enqueue(notification.notification_id)
        logger.info(
            "notification %s queued: %s for user %s",
            notification.notification_id,
            notification.kind,
            notification.user_id,
        )
        return entry

    def resend(self, notification_id: str) -> OutboxEntry | None:
        """Queue a failed notification again, with the same id; None if unknown."""
        with self._lock:
            entry = self._entries.get(notification_id)
            if entry is None or entry.status is not DeliveryStatus.FAILED:
                return entry
            entry.status = DeliveryStatus.PENDING
            entry.updated_at = self._wall_clock()
            self._enqueue(notification_id)
            return entry

    def get(self, notification_id: str) -> OutboxEntry | None:
        with self._lock:
            return self._entries.get(notification_id)

    def entries(self, status: DeliveryStatus | None = None) -> list[OutboxEntry]:
        """Entries newest first, optionally of one status."""
        with self._lock:
            entries = reversed(self._entries.values())
            return [entry for entry in entries if status is None or entry.status is status]

    def counts(self) -> dict[str, int]:
        with self._lock:
            counts = dict.fromkeys(DeliveryStatus, 0)
            for entry in self._entries.values():
                counts[entry.status] += 1
            return {status.value: number for status, number in counts.items()}

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued notification is sent or failed; False on timeout."""
        with self._settled:
            return self._settled.wait_for(lambda: self._unsettled == 0, timeout)

    @contextmanager
    def use_transport(self, transport: Transport) -> Iterator[None]:
        """Deliver through another transport for a while (e.g. printing in a dry run)."""
        previous, self._transport = self._transport, transport
        try:
            yield
        finally:
            self.flush()
            self._transport = previous

    def _enqueue(self, notification_id: str) -> None:
        self._unsettled += 1
        self._queue.put(notification_id)
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(
                target=self._deliver_forever, daemon=True, name="outbox"
            )
            self._worker.start()

    def _deliver_forever(self) -> None:
        while True:
            self._deliver(self._queue.get())

    def _deliver(self, notification_id: str) -> None:
        entry = self.get(notification_id)
        assert entry is not None, "queued ids are never evicted"
        error = self._attempt(entry.notification)
        with self._lock:
            entry.attempts += 1
            entry.updated_at = self._wall_clock()
            entry.status = DeliveryStatus.FAILED if error else DeliveryStatus.SENT
            entry.last_error = error
            if not error:
                self._remember_sent(notification_id)
            self._unsettled -= 1
            self._settled.notify_all()

    def _attempt(self, notification: Notification) -> str:
        try:
            self._transport.send(notification)
        except NotificationError as exc:
            logger.warning("notification %s failed: %s", notification.notification_id, exc)
            return str(exc)
        except Exception as exc:  # a broken transport must not stop the worker
            logger.exception("notification %s crashed its transport", notification.notification_id)
            return f"unexpected error: {exc!r}"
        return ""

    def _remember_sent(self, notification_id: str) -> None:
        self._sent_order.append(notification_id)
        while len(self._entries) > self._history_limit and self._sent_order:
            del self._entries[self._sent_order.popleft()]
