"""The outbox: every notification the rules decide, with its delivery state.

`publish` only records the notification and wakes the delivery worker, so the
request that caused it never waits for the notify service. A notification id
is published once: publishing it again is a no-op.

A worker delivers what is due, one attempt at a time (pybreaker runs the calls
it guards one at a time anyway). A retryable failure
(connection error, timeout, 408, 429, 5xx) is scheduled again by the
`RetryPolicy` — exponential backoff with full jitter, at least `Retry-After` —
without blocking other notifications; past the policy's budget, or on any other
4xx, the notification is `failed` (a dead letter, which `resend` revives with
the same id). A circuit breaker stops attempts while the notify service keeps
failing and lets one through after its cool-down.

The newest `history_limit` sent notifications are kept; pending and failed ones
are never dropped. After `close` nothing new is delivered: a notification
published then is `failed` at once, with the reason.
"""

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import pybreaker

from notifications import metrics
from notifications.client import NotificationError
from notifications.domain import Notification
from notifications.retry import RetryPolicy

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
    next_attempt_at: datetime | None = None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _is_final(error: Exception) -> bool:
    return isinstance(error, NotificationError) and not error.retryable


class _BreakerStateMetric(pybreaker.CircuitBreakerListener):
    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        metrics.BREAKER_STATE.state(new_state.name)  # cb still reports the old state here
        logger.warning("circuit breaker in front of /v1/notify is now %s", new_state.name)


def circuit_breaker(failures: int = 5, cooldown_seconds: float = 30) -> pybreaker.CircuitBreaker:
    """Opens after `failures` retryable failures in a row; one trial after the cool-down."""
    return pybreaker.CircuitBreaker(
        fail_max=failures,
        reset_timeout=cooldown_seconds,
        exclude=[_is_final],  # a 400 says nothing about the service's health
        throw_new_error_on_trip=False,
        listeners=[_BreakerStateMetric()],
    )


class UnknownNotification(LookupError):
    pass


class NotResendable(ValueError):
    """Only a failed notification is re-sent."""


@dataclass(slots=True)
class _Round:
    """One round of delivery: from publishing (or re-sending) until sent or failed."""

    started: float  # monotonic
    attempts_before: int


class Outbox:
    def __init__(
        self,
        transport: Transport,
        *,
        policy: RetryPolicy | None = None,
        breaker: pybreaker.CircuitBreaker | None = None,
        history_limit: int = 1000,
        wall_clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._transport = transport
        self._policy = policy or RetryPolicy()
        self.breaker = breaker or circuit_breaker()
        self._history_limit = history_limit
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._entries: dict[str, OutboxEntry] = {}
        self._sent_order: deque[str] = deque()
        self._evicted = 0
        self._forgotten_sent = 0  # sent, then dropped from the history: still counted
        self._due: list[tuple[float, int, str]] = []  # (monotonic due time, order, id)
        self._order = itertools.count()
        self._pending: dict[str, _Round] = {}
        self._closed = False
        self._stopped = False
        self._worker_waiting = False
        self._worker: threading.Thread | None = None

    # --- what the service and the API call ------------------------------------

    def publish(self, notification: Notification) -> OutboxEntry:
        notification_id = notification.notification_id
        with self._lock:
            known = self._entries.get(notification_id)
            if known is not None:
                return known
            now = self._wall_clock()
            entry = OutboxEntry(notification, created_at=now, updated_at=now)
            self._entries[notification_id] = entry
            self._start_round(entry)
        metrics.notifications_counter(notification.kind, "queued").inc()
        if logger.isEnabledFor(logging.INFO):  # the arguments cost more than the check
            self._log_queued(notification)
        return entry

    def _log_queued(self, notification: Notification) -> None:
        logger.info(
            "notification %s queued: %s for user %s because of %s",
            notification.notification_id,
            notification.kind,
            notification.user_id,
            ",".join(event.event_id for event in notification.reason.events),
        )

    def resend(self, notification_id: str) -> OutboxEntry:
        """Queue a failed notification again, with the same id and a fresh budget."""
        with self._lock:
            entry = self._entries.get(notification_id)
            if entry is None:
                raise UnknownNotification(notification_id)
            if entry.status is not DeliveryStatus.FAILED:
                raise NotResendable(
                    f"only failed notifications are re-sent; this one is {entry.status}"
                )
            entry.status = DeliveryStatus.PENDING
            entry.updated_at = self._wall_clock()
            self._start_round(entry)
        logger.info("notification %s queued again by request", notification_id)
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
        """Notifications by status; sent ones include those the history no longer keeps."""
        with self._lock:
            counts = dict.fromkeys(DeliveryStatus, 0)
            for entry in self._entries.values():
                counts[entry.status] += 1
            counts[DeliveryStatus.SENT] += self._forgotten_sent
            return {status.value: number for status, number in counts.items()}

    @property
    def worker_alive(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def start(self) -> None:
        with self._lock:
            self._ensure_worker()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until nothing is pending (sent or failed); False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending, timeout)

    def close(self, timeout: float) -> list[str]:
        """Take no new work, deliver what is pending for up to `timeout` seconds.

        Returns the ids still undelivered, each also logged.
        """
        with self._lock:
            self._closed = True
        self.flush(timeout)
        with self._changed:
            self._due.clear()
            self._stopped = True
            self._changed.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=5)  # an attempt under way may still succeed
        with self._lock:
            undelivered = list(self._pending)
        for notification_id in undelivered:
            logger.error("notification %s undelivered at shutdown", notification_id)
        return undelivered

    @contextmanager
    def use_transport(self, transport: Transport) -> Iterator[None]:
        """Deliver through another transport for a while (e.g. printing in a dry run)."""
        previous, self._transport = self._transport, transport
        try:
            yield
        finally:
            self.flush()
            self._transport = previous

    # --- scheduling, under the lock --------------------------------------------

    def _start_round(self, entry: OutboxEntry) -> None:
        notification_id = entry.notification.notification_id
        if self._closed:
            self._record_attempt(entry, DeliveryStatus.FAILED, "not delivered: shutting down")
            logger.error("notification %s not delivered: shutting down", notification_id)
            return
        self._pending[notification_id] = _Round(time.monotonic(), entry.attempts)
        self._schedule(notification_id, delay=0.0)

    def _schedule(self, notification_id: str, delay: float) -> None:
        heapq.heappush(self._due, (time.monotonic() + delay, next(self._order), notification_id))
        entry = self._entries[notification_id]
        entry.next_attempt_at = self._wall_clock() + timedelta(seconds=delay)
        self._ensure_worker()
        if self._worker_waiting:  # a busy worker finds the new entry by itself
            self._changed.notify()

    def _ensure_worker(self) -> None:
        if not self.worker_alive and not self._stopped:
            self._worker = threading.Thread(
                target=self._deliver_forever, daemon=True, name="outbox"
            )
            self._worker.start()

    def _finish_round(self, notification_id: str) -> float:
        """End the round; wake whoever waits in `flush` once nothing is pending."""
        started = self._pending.pop(notification_id).started
        if not self._pending:
            self._changed.notify_all()
        return started

    # --- the workers --------------------------------------------------------------

    def _deliver_forever(self) -> None:
        while (notification_id := self._next_due()) is not None:
            self._deliver(notification_id)

    def _next_due(self) -> str | None:
        with self._changed:
            while not self._stopped:
                wait = self._due[0][0] - time.monotonic() if self._due else None
                if wait is not None and wait <= 0:
                    return heapq.heappop(self._due)[2]
                self._worker_waiting = True
                self._changed.wait(wait)
                self._worker_waiting = False
            return None

    def _deliver(self, notification_id: str) -> None:
        entry = self.get(notification_id)
        assert entry is not None, "scheduled ids are never evicted"
        try:
            self.breaker.call(self._transport.send, entry.notification)
        except pybreaker.CircuitBreakerError:
            self._postpone(entry)
        except Exception as exc:  # a broken transport must not stop the worker
            self._attempt_failed(entry, exc)
        else:
            self._sent(entry)

    def _postpone(self, entry: OutboxEntry) -> None:
        """The breaker is open: wait for its cool-down without spending an attempt."""
        notification_id = entry.notification.notification_id
        cooldown = float(self.breaker.reset_timeout)
        with self._lock:
            elapsed = time.monotonic() - self._pending[notification_id].started
            if elapsed + cooldown <= self._policy.max_total:
                self._schedule(notification_id, delay=cooldown)
                return
            entry.status, entry.last_error = DeliveryStatus.FAILED, "circuit breaker open"
            entry.updated_at = self._wall_clock()
            self._finish_round(notification_id)
        self._failed_for_good(entry, "the circuit breaker stayed open past the retry budget")

    def _sent(self, entry: OutboxEntry) -> None:
        notification_id = entry.notification.notification_id
        with self._lock:
            self._record_attempt(entry, DeliveryStatus.SENT, "")
            started = self._finish_round(notification_id)
            self._remember_sent(notification_id)
        metrics.DELIVERY_LATENCY.observe(time.monotonic() - started)
        metrics.notifications_counter(entry.notification.kind, "sent").inc()
        metrics.attempts_counter("sent").inc()
        logger.info("notification %s sent (attempt %s)", notification_id, entry.attempts)

    def _attempt_failed(self, entry: OutboxEntry, error: Exception) -> None:
        notification_id = entry.notification.notification_id
        with self._lock:
            delay = self._retry_delay(entry, error)
            status = DeliveryStatus.FAILED if delay is None else DeliveryStatus.PENDING
            self._record_attempt(entry, status, str(error))
            if delay is None:
                self._finish_round(notification_id)
            else:
                self._schedule(notification_id, delay)
        metrics.attempts_counter("failed").inc()
        if delay is None:
            self._failed_for_good(entry, str(error))
            return
        logger.warning(
            "notification %s attempt %s failed (%s); next in %.2fs",
            notification_id,
            entry.attempts,
            error,
            delay,
        )

    def _failed_for_good(self, entry: OutboxEntry, why: str) -> None:
        metrics.notifications_counter(entry.notification.kind, "failed").inc()
        logger.error(
            "notification %s failed after %s attempts: %s",
            entry.notification.notification_id,
            entry.attempts,
            why,
        )

    def _retry_delay(self, entry: OutboxEntry, error: Exception) -> float | None:
        if not isinstance(error, NotificationError) or not error.retryable:
            return None
        delivery_round = self._pending[entry.notification.notification_id]
        attempts = entry.attempts + 1 - delivery_round.attempts_before
        elapsed = time.monotonic() - delivery_round.started
        return self._policy.next_delay(attempts, elapsed, error.retry_after)

    def _record_attempt(self, entry: OutboxEntry, status: DeliveryStatus, error: str) -> None:
        entry.attempts += 1
        entry.status = status
        entry.last_error = error
        entry.updated_at = self._wall_clock()
        entry.next_attempt_at = None

    def _remember_sent(self, notification_id: str) -> None:
        self._sent_order.append(notification_id)
        while len(self._sent_order) > self._history_limit:
            del self._entries[self._sent_order.popleft()]
            self._evicted += 1
            self._forgotten_sent += 1
        if self._evicted > len(self._entries) + 1024:
            # CPython never shrinks a dict's table: rebuild it after a burst has drained.
            self._entries = dict(self._entries)
            self._pending = dict(self._pending)
            self._evicted = 0
