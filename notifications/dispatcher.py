"""The dispatcher: delivers what the outbox store holds, through a transport.

One worker thread claims the due entries and makes one attempt at each, up to
`concurrency` attempts at once (each on a keep-alive connection of the client's
pool, with its own id, signature and retry schedule; a user's notifications go
one after another, in their order). A retryable failure
(connection error, timeout, 408, 429, 5xx) is scheduled again by the
`RetryPolicy` — exponential backoff with full jitter, at least `Retry-After` —
without blocking other notifications; past the policy's budget, or on any
other 4xx, the notification is a dead letter (`failed`, which `resend`
revives with the same id). A circuit breaker stops attempts while the notify
service keeps failing and lets one through after its cool-down.

What happens to undelivered notifications at `close` is the store's: the
memory store loses them with the process (each is logged), a durable store
keeps them for the next process.
"""

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Protocol

import pybreaker

from eventsproject.loops import LoopHealth
from notifications import metrics
from notifications.client import NotificationError
from notifications.domain import Notification
from notifications.outbox import DeliveryStatus, OutboxEntry, OutboxStore, utc_now
from notifications.retry import RetryPolicy

logger = logging.getLogger(__name__)


class Transport(Protocol):
    def send(self, notification: Notification) -> None:
        """Deliver one notification or raise `NotificationError`."""


def _is_final(error: Exception) -> bool:
    return isinstance(error, NotificationError) and not error.retryable


class _BreakerStateMetric(pybreaker.CircuitBreakerListener):
    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        metrics.BREAKER_STATE.state(new_state.name)  # cb still reports the old state here
        logger.warning("circuit breaker in front of /v1/notify is now %s", new_state.name)


class ConcurrentBreaker(pybreaker.CircuitBreaker):
    """pybreaker's breaker, whose calls run side by side while it is closed. pybreaker
    holds its lock for the length of every call it guards, which would make deliveries
    one at a time; while the breaker is open or half-open its calls still take the lock,
    so that one trial at a time goes out after the cool-down."""

    def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.current_state == pybreaker.STATE_CLOSED:
            return self.state.call(func, *args, **kwargs)
        return super().call(func, *args, **kwargs)


def circuit_breaker(failures: int = 5, cooldown_seconds: float = 30) -> pybreaker.CircuitBreaker:
    """Opens after `failures` retryable failures in a row; one trial after the cool-down."""
    return ConcurrentBreaker(
        fail_max=failures,
        reset_timeout=cooldown_seconds,
        exclude=[_is_final],  # a 400 says nothing about the service's health
        throw_new_error_on_trip=False,
        listeners=[_BreakerStateMetric()],
    )


class Dispatcher:
    #: Entries claimed at once; each is still attempted on its own.
    batch = 100
    #: Seconds between looks at the store when nothing is due (a new entry wakes it sooner).
    idle_wait = 1.0
    #: A lane acknowledges what it delivered together, once it holds this many or after
    #: this many seconds: far inside the claim's lease, after which others take over.
    acknowledge_every = 16
    acknowledge_after = 1.0

    def __init__(
        self,
        store: OutboxStore,
        transport: Transport,
        *,
        policy: RetryPolicy | None = None,
        breaker: pybreaker.CircuitBreaker | None = None,
        clock: Callable[[], datetime] = utc_now,
        concurrency: int = 1,
    ) -> None:
        self._store = store
        self._transport = transport
        self._policy = policy or RetryPolicy()
        self._breaker = breaker or circuit_breaker()
        self._clock = clock
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None
        self._concurrency = concurrency
        self._senders = ThreadPoolExecutor(concurrency, thread_name_prefix="notify")
        self.health = LoopHealth("the notification dispatcher", self.idle_wait)

    @property
    def alive(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    @property
    def breaker_state(self) -> str:
        return str(self._breaker.current_state)

    def start(self) -> None:
        """Deliver from a thread of its own, until `close`; after it, again."""
        if self.alive:
            return
        self._stopping.clear()
        self._worker = threading.Thread(target=self._deliver_forever, daemon=True, name="outbox")
        self._worker.start()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until nothing is pending (sent or failed); False on timeout."""
        return _wait_until(lambda: self._store.counts()[DeliveryStatus.PENDING] == 0, timeout)

    def close(self, timeout: float) -> list[str]:
        """Deliver what is pending for up to `timeout` seconds, then stop.

        Returns the ids a store that is not durable loses with the process, each also
        logged; a durable store keeps them for the next process.
        """
        try:
            self.flush(timeout)
        except Exception:  # a store out of reach: nothing more can be delivered anyway
            logger.exception("the dispatcher could not reach the outbox store to finish")
        self._stopping.set()
        self._stop_worker(timeout=5)  # an attempt under way may still succeed
        if self._store.durable:
            logger.info("dispatcher stopped; what is pending stays in the store for the others")
            return []
        undelivered = [
            entry.notification_id for entry in self._store.entries(DeliveryStatus.PENDING)
        ]
        for notification_id in undelivered:
            logger.error("notification %s undelivered at shutdown", notification_id)
        return undelivered

    def _stop_worker(self, timeout: float) -> None:
        """Wake the worker until it has seen `_stopping`: a wake that comes just before it
        starts waiting would be missed, and it would sleep on for `idle_wait`."""
        deadline = time.monotonic() + timeout
        while self._worker is not None and self._worker.is_alive():
            if time.monotonic() >= deadline:
                return
            self._store.wake()
            self._worker.join(timeout=0.01)

    def deliver_due(self) -> int:
        """One pass: attempt every entry due now. Returns how many were attempted."""
        claimed = self._store.claim_due(self._clock(), self.batch)
        self._deliver_lanes(_lanes(claimed, self._concurrency))
        return len(claimed)

    def _deliver_lanes(self, lanes: list[list[OutboxEntry]]) -> None:
        """Side by side on the pool; one lane in this thread, without a hand-off."""
        if len(lanes) == 1:
            self._deliver_each(lanes[0])
            return
        try:
            outcomes = self._senders.map(self._deliver_each, lanes)
        except RuntimeError:  # the interpreter is exiting: its thread pools take no work
            logger.info("the process is exiting without closing the dispatcher; it stops")
            self._stopping.set()
            return
        for _ in outcomes:
            pass  # each delivery handles its own outcome

    def _deliver_each(self, entries: list[OutboxEntry]) -> None:
        """One after another; those delivered are acknowledged a few at a time (a process
        killed before that delivers them again: at least once, under one id), and what
        was delivered is acknowledged even when settling another entry fails."""
        delivered: list[OutboxEntry] = []
        since = time.monotonic()
        try:
            for entry in entries:
                if self._deliver(entry):
                    delivered.append(entry)
                if self._acknowledge_now(len(delivered), since):
                    self._sent(delivered)
                    delivered, since = [], time.monotonic()
        finally:
            self._sent(delivered)

    def _acknowledge_now(self, delivered: int, since: float) -> bool:
        if delivered >= self.acknowledge_every:
            return True
        return delivered > 0 and time.monotonic() - since >= self.acknowledge_after

    def _deliver_forever(self) -> None:
        try:
            while not self._stopping.is_set():
                self._deliver_once()
        finally:
            self._senders.shutdown(wait=False)  # its threads end with their last attempt

    def _deliver_once(self) -> None:
        try:
            attempted = self.deliver_due()
        except Exception as error:  # a store out of reach: what was claimed is claimed again
            self.health.failed(error)
            self._stopping.wait(self.idle_wait)
            return
        self.health.succeeded()
        if not attempted:
            self._store.wait(self.idle_wait)

    def _deliver(self, entry: OutboxEntry) -> bool:
        """One attempt; True when it delivered, else the entry is settled."""
        try:
            self._breaker.call(self._transport.send, entry.notification)
        except pybreaker.CircuitBreakerError:
            self._postpone(entry)
        except Exception as exc:  # a broken transport must not stop the worker
            self._attempt_failed(entry, exc)
        else:
            return True
        return False

    def _postpone(self, entry: OutboxEntry) -> None:
        """The breaker is open: wait for its cool-down without spending an attempt."""
        cooldown = float(self._breaker.reset_timeout)
        if self._elapsed(entry) + cooldown <= self._policy.max_total:
            self._store.retry_later(
                entry.notification_id, self._in(cooldown), entry.last_error, attempted=False
            )
            return
        entry = self._store.dead_letter(
            entry.notification_id, "circuit breaker open", attempted=False
        )
        self._failed_for_good(entry, "the circuit breaker stayed open past the retry budget")

    def _sent(self, delivered: list[OutboxEntry]) -> None:
        if not delivered:
            return
        for entry in self._store.acknowledge([entry.notification_id for entry in delivered]):
            self._account_sent(entry)

    def _account_sent(self, entry: OutboxEntry) -> None:
        metrics.DELIVERY_LATENCY.observe((entry.updated_at - entry.round[0]).total_seconds())
        metrics.notifications_counter(entry.notification.kind, "sent").inc()
        metrics.attempts_counter("sent").inc()
        logger.info(
            "notification %s sent (attempt %s)",
            entry.notification_id,
            entry.attempts,
            extra={**entry.notification.log_fields, "attempts": entry.attempts},
        )

    def _attempt_failed(self, entry: OutboxEntry, error: Exception) -> None:
        metrics.attempts_counter("failed").inc()
        delay = self._retry_delay(entry, error)
        if delay is None:
            entry = self._store.dead_letter(entry.notification_id, str(error))
            self._failed_for_good(entry, str(error))
            return
        entry = self._store.retry_later(entry.notification_id, self._in(delay), str(error))
        logger.warning(
            "notification %s attempt %s failed (%s); next in %.2fs",
            entry.notification_id,
            entry.attempts,
            error,
            delay,
            extra={**entry.notification.log_fields, "attempts": entry.attempts},
        )

    def _failed_for_good(self, entry: OutboxEntry, why: str) -> None:
        metrics.notifications_counter(entry.notification.kind, "failed").inc()
        logger.error(
            "notification %s failed after %s attempts: %s",
            entry.notification_id,
            entry.attempts,
            why,
            extra={**entry.notification.log_fields, "attempts": entry.attempts},
        )

    def _retry_delay(self, entry: OutboxEntry, error: Exception) -> float | None:
        if not isinstance(error, NotificationError) or not error.retryable:
            return None
        attempts = entry.attempts_this_round + 1
        return self._policy.next_delay(attempts, self._elapsed(entry), error.retry_after)

    def _elapsed(self, entry: OutboxEntry) -> float:
        return (self._clock() - entry.round[0]).total_seconds()

    def _in(self, seconds: float) -> datetime:
        return self._clock() + timedelta(seconds=seconds)


def _lanes(entries: list[OutboxEntry], count: int) -> list[list[OutboxEntry]]:
    """The entries in `count` lanes, each user's in one lane and in their order: a user's
    notifications due together still arrive in the order they were decided."""
    lanes: list[list[OutboxEntry]] = [[] for _ in range(count)]
    lane_of: dict[str, int] = {}
    for entry in entries:
        lane = lane_of.setdefault(entry.notification.user_id, len(lane_of) % count)
        lanes[lane].append(entry)
    return [lane for lane in lanes if lane]


#: How often `flush` asks the store: soon at first, then less often, as each ask is a
#: round trip on Redis and holds the GIL the delivery threads need.
FIRST_POLL_SECONDS = 0.005
LONGEST_POLL_SECONDS = 0.05


def _wait_until(condition: Callable[[], bool], timeout: float | None) -> bool:
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = FIRST_POLL_SECONDS
    while not condition():
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, LONGEST_POLL_SECONDS)
    return True
