"""The dispatcher: delivers what the outbox store holds, through a transport.

One worker thread claims the due entries and hands them to `concurrency` senders,
which make one attempt at each (each on a keep-alive connection of the client's
pool, with its own id, signature and retry schedule; a user's notifications go
one after another, in their order). Claiming never waits for attempts in flight:
a call that hangs until its read timeout holds up its sender and that user's
later notifications, nothing else. A retryable failure
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
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pybreaker

from eventsproject.platform.loops import LoopHealth
from notifications.domain.notification import utc_now
from notifications.domain.retry import RetryPolicy
from notifications.ports import (
    DeliveryStatus,
    NotificationError,
    OutboxEntry,
    OutboxStore,
    Transport,
)
from notifications.service import metrics

logger = logging.getLogger(__name__)


def _is_final(error: Exception) -> bool:
    return isinstance(error, NotificationError) and not error.retryable


class _BreakerStateMetric(pybreaker.CircuitBreakerListener):
    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        metrics.show_breaker_state(new_state.name)  # cb still reports the old state here
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


class _Queues:
    """Claimed entries waiting for a sender, by user: a user's entries go one after another,
    in their order, and users take turns for the `senders` senders. A sender asks for a
    user, then for that user's entries until there are none; the queue says how many
    senders to start as users become ready."""

    def __init__(self, senders: int) -> None:
        self._senders = senders
        # Entries wait for at most two attempts before theirs: far inside a claim's lease
        # (EVENTS_CLAIM_LEASE_SECONDS), after which another process would send them again.
        self._low_water, self._most = senders, 2 * senders
        self._changed = threading.Condition()
        self._by_user: dict[str, deque[OutboxEntry]] = {}
        self._ready: deque[str] = deque()
        self._waiting = 0  # entries handed in and not yet taken by a sender
        self._running = 0  # senders at work
        self._settling = 0  # senders that stopped with deliveries left to acknowledge

    def put(self, entries: list[OutboxEntry]) -> int:
        """Hand in claimed entries; answers how many senders to start."""
        with self._changed:
            for entry in entries:
                user_id = entry.notification.user_id
                if user_id not in self._by_user:
                    self._by_user[user_id] = deque()
                    self._ready.append(user_id)
                self._by_user[user_id].append(entry)
            self._waiting += len(entries)
            start = min(len(self._ready), self._senders - self._running)
            self._running += start
            return start

    def next_user(self, holding: bool) -> str | None:
        """A sender's next user; None when none is ready, and the sender stops (`holding`:
        with deliveries to acknowledge, then `settled`)."""
        with self._changed:
            if self._ready:
                return self._ready.popleft()
            self._running -= 1
            self._settling += holding
            self._changed.notify_all()
            return None

    def unstarted(self) -> None:
        """A sender counted by `put` that could not start."""
        with self._changed:
            self._running -= 1
            self._changed.notify_all()

    def settled(self) -> None:
        with self._changed:
            self._settling -= 1
            self._changed.notify_all()

    def next_entry(self, user_id: str) -> OutboxEntry | None:
        with self._changed:
            entries = self._by_user[user_id]
            if not entries:
                del self._by_user[user_id]
                return None
            self._waiting -= 1
            if self._waiting == self._low_water:
                self._changed.notify_all()
            return entries.popleft()

    def drop(self, user_id: str) -> None:
        """A user's entries left after a failure of the store: they are claimed again."""
        with self._changed:
            self._waiting -= len(self._by_user.pop(user_id, ()))
            self._changed.notify_all()

    def room(self, limit: int) -> int:
        """How many more entries to claim, up to `limit`: none while more than one per
        sender wait, so that a claim brings several at a time."""
        with self._changed:
            if self._waiting > self._low_water:
                return 0
            return min(limit, self._most - self._waiting)

    def wait_for_room(self, timeout: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._waiting <= self._low_water, timeout)

    def wait_until_idle(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: not (self._running or self._settling))


class Dispatcher:
    #: Entries claimed at once, at most (fewer wait for the senders: see _Queues).
    batch = 100
    #: Seconds between looks at the store when nothing is due (a new entry wakes it sooner).
    idle_wait = 1.0
    #: A sender acknowledges what it delivered together, once it holds this many or after
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
        self._queues = _Queues(concurrency)
        self.health = LoopHealth("the notification dispatcher", self.idle_wait)
        # Its senders' own: a claim that works says nothing of settling what was sent.
        self.senders_health = LoopHealth("the notification senders", self.idle_wait)

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
        self._senders = ThreadPoolExecutor(self._concurrency, thread_name_prefix="notify")
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
        """One claim of what is due now, and its attempts waited for (for tests and tools:
        the worker does not wait). Returns how many were claimed."""
        claimed = self._claim(self.batch)
        self._queues.wait_until_idle()
        return len(claimed)

    def _claim(self, limit: int) -> list[OutboxEntry]:
        now = self._clock()
        claimed = [
            entry for entry in self._store.claim_due(now, limit) if not self._deferred(entry, now)
        ]
        for _ in range(self._queues.put(claimed)):
            self._start_sender()
        return claimed

    def _deferred(self, entry: OutboxEntry, now: datetime) -> bool:
        """Deferred by the user's quiet hours, and not yet due: it waits for its time
        without spending an attempt."""
        deliver_after = entry.notification.deliver_after
        if deliver_after is None or deliver_after <= now:
            return False
        self._store.retry_later(
            entry.notification_id, deliver_after, entry.last_error, attempted=False
        )
        return True

    def _start_sender(self) -> None:
        try:
            self._senders.submit(self._send_ready)
        except RuntimeError:  # closed, or the interpreter is exiting: no thread takes work
            self._queues.unstarted()
            logger.info("the dispatcher is closed or the process is exiting; it sends no more")
            self._stopping.set()

    def _send_ready(self) -> None:
        """A sender: the ready users' entries, a user at a time, until no user is ready.
        What it delivered is acknowledged a few at a time (a process killed before that
        delivers them again: at least once, under one id), and at the end."""
        delivered: list[OutboxEntry] = []
        since = time.monotonic()
        while (user_id := self._queues.next_user(holding=bool(delivered))) is not None:
            delivered, since = self._send_all_of(user_id, delivered, since)
        if delivered:
            self._acknowledge(delivered)
            self._queues.settled()

    def _send_all_of(
        self, user_id: str, delivered: list[OutboxEntry], since: float
    ) -> tuple[list[OutboxEntry], float]:
        try:
            while (entry := self._queues.next_entry(user_id)) is not None:
                if self._deliver(entry):
                    delivered.append(entry)
                if self._acknowledge_now(len(delivered), since):
                    self._sent(delivered)
                    delivered, since = [], time.monotonic()
                self.senders_health.succeeded()
        except Exception as error:  # settling failed: the user's rest is claimed again later
            self._queues.drop(user_id)
            self.senders_health.failed(error)
        return delivered, since

    def _acknowledge(self, delivered: list[OutboxEntry]) -> None:
        try:
            self._sent(delivered)
        except Exception as error:  # a store out of reach: they are delivered again later
            self.senders_health.failed(error)

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
        room = self._queues.room(self.batch)
        if not room:
            self._queues.wait_for_room(self.idle_wait)
            return
        try:
            claimed = self._claim(room)
        except Exception as error:  # a store out of reach: what was claimed is claimed again
            self.health.failed(error)
            self._stopping.wait(self.idle_wait)
            return
        self.health.succeeded()
        if not claimed:
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
        metrics.DELIVERY_LATENCY.observe((entry.updated_at - entry.due_since).total_seconds())
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
        return (self._clock() - entry.due_since).total_seconds()

    def _in(self, seconds: float) -> datetime:
        return self._clock() + timedelta(seconds=seconds)


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
