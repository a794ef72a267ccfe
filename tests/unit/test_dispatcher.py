"""The dispatcher: delivery through the outbox store, retries, the breaker and shutdown."""

import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from notifications.adapters.memory import InMemoryOutboxStore
from notifications.domain.retry import RetryPolicy
from notifications.ports import DeliveryStatus, NotificationError
from notifications.service.dispatcher import Dispatcher, circuit_breaker
from tests.factories import reminder_for


class Outbox:
    """A store and a running dispatcher over it, as a serving process has them."""

    def __init__(self, transport, history_limit=1000, **options) -> None:
        self.store = InMemoryOutboxStore(history_limit=history_limit)
        self.dispatcher = Dispatcher(self.store, transport, **options)
        self.dispatcher.start()
        self.flush = self.dispatcher.flush
        self.close = self.dispatcher.close

    def publish(self, notification):
        """The entry, which the memory store changes in place as delivery goes on."""
        self.store.append([notification])
        return self.store.get(notification.notification_id)

    def __getattr__(self, name):
        return getattr(self.store, name)  # get, entries, resend, counts


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


class CountingStore(InMemoryOutboxStore):
    """Counts the calls that settle deliveries."""

    def __init__(self) -> None:
        super().__init__()
        self.acknowledgements: list[int] = []

    def acknowledge(self, notification_ids):
        self.acknowledgements.append(len(notification_ids))
        return super().acknowledge(notification_ids)


def test_the_deliveries_of_a_claim_are_acknowledged_together():
    store, transport = CountingStore(), FlakyTransport()
    store.append([reminder_for(f"u{n}") for n in range(40)])
    dispatcher = Dispatcher(store, transport, concurrency=4)

    assert dispatcher.deliver_due() == 40

    assert len(transport.sent) == 40
    assert store.counts()[DeliveryStatus.SENT] == 40
    assert sum(store.acknowledgements) == 40
    assert len(store.acknowledgements) <= 4 + 2  # one call per sender, and one per 16


def test_a_long_lane_acknowledges_as_it_goes():
    store, transport = CountingStore(), FlakyTransport()
    store.append([reminder_for(f"u{n}") for n in range(40)])

    Dispatcher(store, transport, concurrency=1).deliver_due()

    assert store.acknowledgements == [16, 16, 8]


class SlowTransport(FlakyTransport):
    def send(self, notification) -> None:
        time.sleep(0.03)
        super().send(notification)


def test_a_slow_lane_acknowledges_what_it_delivered_after_a_while():
    store = CountingStore()
    store.append([reminder_for(f"u{n}") for n in range(4)])
    dispatcher = Dispatcher(store, SlowTransport(), concurrency=1)
    dispatcher.acknowledge_after = 0.001

    dispatcher.deliver_due()

    assert store.acknowledgements == [1, 1, 1, 1]


class FailingSettleStore(CountingStore):
    def retry_later(self, notification_id, at, error, *, attempted=True):
        raise ConnectionError("the store went away")


def test_what_a_sender_delivered_is_acknowledged_even_when_settling_another_fails(caplog):
    store = FailingSettleStore()
    store.append([reminder_for(f"u{n}") for n in range(3)])
    transport = FailingThirdTransport()
    dispatcher = Dispatcher(store, transport, concurrency=1, policy=FAST)

    dispatcher.deliver_due()

    assert store.counts()[DeliveryStatus.SENT] == 2
    assert dispatcher.senders_health.failing
    assert "the notification senders failed: the store went away" in caplog.text


class FailingThirdTransport(FlakyTransport):
    def send(self, notification) -> None:
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls == 3:
            raise retryable()
        super().send(notification)


FAST = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01, max_total=5)


def retryable(message="answered 503"):
    return NotificationError(message, retryable=True)


def test_a_retryable_failure_is_tried_again_until_it_is_sent():
    transport = FlakyTransport(retryable(), retryable())
    outbox = Outbox(transport, policy=FAST)
    notification = reminder_for("u1")

    outbox.publish(notification)

    assert outbox.flush(timeout=5)
    entry = outbox.get(notification.notification_id)
    assert (entry.status, entry.attempts, entry.last_error) == (DeliveryStatus.SENT, 3, "")
    assert transport.sent == [notification]


def test_past_its_attempts_a_notification_is_failed_with_the_last_error():
    transport = FlakyTransport(retryable("one"), retryable("two"), retryable("three"))
    outbox = Outbox(transport, policy=FAST)

    entry = outbox.publish(reminder_for("u1"))

    assert outbox.flush(timeout=5)
    assert (entry.status, entry.attempts, entry.last_error) == (DeliveryStatus.FAILED, 3, "three")
    assert transport.sent == []


def test_a_final_answer_is_not_retried():
    transport = FlakyTransport(NotificationError("answered 400", retryable=False))
    outbox = Outbox(transport, policy=FAST)

    entry = outbox.publish(reminder_for("u1"))

    assert outbox.flush(timeout=5)
    assert (entry.status, entry.attempts) == (DeliveryStatus.FAILED, 1)


def test_a_waiting_retry_does_not_hold_up_other_notifications():
    slow_retry = RetryPolicy(max_attempts=2, base_delay=60, max_delay=60, max_total=120)
    transport = FlakyTransport(NotificationError("busy", retryable=True, retry_after=30))
    outbox = Outbox(transport, policy=slow_retry)

    waiting = outbox.publish(reminder_for("u1"))
    outbox.publish(reminder_for("u2"))

    assert not outbox.flush(timeout=0.5)
    assert [n.user_id for n in transport.sent] == ["u2"]
    assert waiting.status is DeliveryStatus.PENDING
    assert waiting.next_attempt_at is not None


def test_the_breaker_opens_on_repeated_failures_and_closes_after_its_cool_down():
    transport = FlakyTransport(*[retryable() for _ in range(2)])
    breaker = circuit_breaker(failures=2, cooldown_seconds=0.3)
    policy = RetryPolicy(max_attempts=10, base_delay=0.001, max_delay=0.001, max_total=10)
    outbox = Outbox(transport, policy=policy, breaker=breaker)

    outbox.publish(reminder_for("u1"))
    outbox.publish(reminder_for("u2"))
    deadline = time.monotonic() + 2
    while breaker.current_state != "open" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert breaker.current_state == "open"
    assert transport.sent == []

    assert outbox.flush(timeout=5)
    assert breaker.current_state == "closed"
    assert sorted(n.user_id for n in transport.sent) == ["u1", "u2"]
    assert [e.attempts for e in outbox.entries()] in ([1, 3], [3, 1], [2, 2])


def test_a_final_answer_does_not_count_against_the_breaker():
    final = [NotificationError("answered 400", retryable=False) for _ in range(5)]
    breaker = circuit_breaker(failures=2, cooldown_seconds=60)
    outbox = Outbox(FlakyTransport(*final), policy=FAST, breaker=breaker)

    for user in "abcde":
        outbox.publish(reminder_for(user))

    assert outbox.flush(timeout=5)
    assert breaker.current_state == "closed"


def test_closing_delivers_what_it_can_in_time_and_reports_the_rest():
    stuck = RetryPolicy(max_attempts=5, base_delay=60, max_delay=60, max_total=600)
    transport = FlakyTransport(NotificationError("down", retryable=True, retry_after=60))
    outbox = Outbox(transport, policy=stuck)
    stuck_one = reminder_for("u1")
    outbox.publish(stuck_one)
    outbox.publish(reminder_for("u2"))

    undelivered = outbox.close(timeout=0.5)

    assert undelivered == [stuck_one.notification_id]
    assert [n.user_id for n in transport.sent] == ["u2"]


def test_after_closing_nothing_is_delivered_and_new_notifications_stay_pending():
    transport = FlakyTransport()
    outbox = Outbox(transport)
    outbox.close(timeout=1)

    entry = outbox.publish(reminder_for("u1"))

    assert not outbox.flush(timeout=0.2)
    assert (entry.status, transport.sent) == (DeliveryStatus.PENDING, [])


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


def test_a_resent_notification_gets_a_whole_new_set_of_attempts():
    transport = FlakyTransport(*[retryable() for _ in range(5)])
    patient = circuit_breaker(failures=100)
    outbox = Outbox(transport, policy=FAST, breaker=patient)
    entry = outbox.publish(reminder_for("u1"))
    outbox.flush(timeout=5)
    assert (entry.status, entry.attempts) == (DeliveryStatus.FAILED, 3)

    outbox.resend(entry.notification.notification_id)

    assert outbox.flush(timeout=5)
    assert (entry.status, entry.attempts) == (DeliveryStatus.SENT, 6)


def test_an_open_breaker_past_the_budget_fails_the_notification():
    breaker = circuit_breaker(failures=1, cooldown_seconds=10)
    tight = RetryPolicy(max_attempts=10, base_delay=0.001, max_delay=0.001, max_total=1)
    outbox = Outbox(FlakyTransport(retryable()), policy=tight, breaker=breaker)

    entry = outbox.publish(reminder_for("u1"))

    assert outbox.flush(timeout=5)
    assert (entry.status, entry.last_error) == (DeliveryStatus.FAILED, "circuit breaker open")


def test_a_crashing_transport_fails_the_notification_but_not_the_worker():
    transport = FlakyTransport(RuntimeError("bug"))
    outbox = Outbox(transport)

    outbox.publish(reminder_for("u1"))
    outbox.publish(reminder_for("u2"))

    assert outbox.flush(timeout=5)
    assert outbox.counts() == {"pending": 0, "sent": 1, "failed": 1}


class MeetingTransport:
    """Each call waits until `parties` calls are under way at once (or fails after 5 s)."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=5)
        self.sent = []

    def send(self, notification) -> None:
        self.barrier.wait()
        self.sent.append(notification)


def test_deliveries_run_side_by_side_up_to_the_concurrency():
    transport = MeetingTransport(parties=4)
    outbox = Outbox(transport, concurrency=4)

    for user in "abcd":
        outbox.publish(reminder_for(user))

    assert outbox.flush(timeout=10)
    assert sorted(n.user_id for n in transport.sent) == list("abcd")


class TrialTransport:
    """Fails every call, counting the calls under way that began while the breaker was
    not closed (its trials)."""

    def __init__(self, breaker) -> None:
        self.breaker = breaker
        self.trials_at_once: list[int] = []
        self._trials = 0
        self._lock = threading.Lock()

    def send(self, notification) -> None:
        trial = self.breaker.current_state != "closed"
        with self._lock:
            self._trials += trial
            self.trials_at_once.append(self._trials)
        time.sleep(0.01)
        with self._lock:
            self._trials -= trial
        raise retryable()


def test_while_the_breaker_is_not_closed_its_trials_go_one_at_a_time():
    breaker = circuit_breaker(failures=1, cooldown_seconds=0)  # a trial as soon as it opens
    transport = TrialTransport(breaker)
    patient = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.001, max_total=10)
    outbox = Outbox(transport, policy=patient, breaker=breaker, concurrency=4)

    for user in "abcdefgh":
        outbox.publish(reminder_for(user))

    assert outbox.flush(timeout=10)
    assert max(transport.trials_at_once) == 1


class SlowFirstTransport:
    """The first call takes a while: a later one on another connection would overtake it."""

    def __init__(self) -> None:
        self.sent = []
        self._calls = 0
        self._lock = threading.Lock()

    def send(self, notification) -> None:
        with self._lock:
            self._calls += 1
            first = self._calls == 1
        if first:
            time.sleep(0.2)
        with self._lock:
            self.sent.append(notification)


def test_a_user_s_notifications_due_together_arrive_in_their_order():
    transport = SlowFirstTransport()
    outbox = Outbox(transport, concurrency=2)
    first, second, other = (
        reminder_for("u1", minute=0),
        reminder_for("u1", minute=20),
        reminder_for("u2"),
    )

    outbox.store.append([first, second, other])

    assert outbox.flush(timeout=5)
    assert [n for n in transport.sent if n.user_id == "u1"] == [first, second]


class HangingTransport:
    """Calls for the users in `hanging` hang until released; the others answer at once."""

    def __init__(self, *hanging: str) -> None:
        self.hanging = set(hanging)
        self.released = threading.Event()
        self.in_flight = threading.Event()
        self.sent = []

    def send(self, notification) -> None:
        if notification.user_id in self.hanging:
            self.in_flight.set()
            self.released.wait(timeout=10)
        self.sent.append(notification.user_id)


def test_new_notifications_are_delivered_while_a_call_hangs():
    transport = HangingTransport("slow")
    outbox = Outbox(transport, concurrency=4)
    outbox.publish(reminder_for("slow"))
    assert transport.in_flight.wait(timeout=5)

    for user in ("a", "b", "c", "d", "e", "f"):
        outbox.publish(reminder_for(user))

    delivered = wait_for(lambda: len(transport.sent) == 6, timeout=5)
    transport.released.set()
    assert delivered, transport.sent
    assert outbox.flush(timeout=5)
    assert transport.sent[-1] == "slow"


def test_notifications_claimed_with_a_hanging_one_do_not_wait_for_it():
    transport = HangingTransport("slow")
    outbox = Outbox(transport, concurrency=2)

    outbox.store.append([reminder_for(user) for user in ("slow", "a", "b", "c", "d", "e")])

    delivered = wait_for(lambda: len(transport.sent) == 5, timeout=5)
    transport.released.set()
    assert delivered, transport.sent
    assert outbox.flush(timeout=5)


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


EXIT_WITHOUT_CLOSING = """
import atexit, time
from notifications.ports import NotificationError
from notifications.service.dispatcher import Dispatcher, circuit_breaker
from notifications.adapters.memory import InMemoryOutboxStore
from notifications.domain.retry import RetryPolicy
from tests.factories import reminder_for

class Busy:
    def send(self, notification):
        time.sleep(0.001)
        raise NotificationError("answered 503", retryable=True)

store = InMemoryOutboxStore()
store.append([reminder_for(user) for user in "abcdefgh"])
endless = RetryPolicy(max_attempts=10**9, base_delay=0, max_delay=0, max_total=10**9)
never_open = circuit_breaker(failures=10**9)
Dispatcher(store, Busy(), policy=endless, breaker=never_open, concurrency=4).start()
time.sleep(0.2)
atexit.register(time.sleep, 0.5)  # the worker runs on while the interpreter exits
"""


def test_a_process_that_exits_without_closing_its_dispatcher_exits_quietly():
    """The thread pools take no work once the interpreter is exiting; the worker, still
    running, must not fill stderr with tracebacks."""
    exited = subprocess.run(
        [sys.executable, "-c", EXIT_WITHOUT_CLOSING],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )

    assert exited.returncode == 0, exited.stderr
    assert "Traceback" not in exited.stderr


class AskedStore(InMemoryOutboxStore):
    """Counts how often a flush asks for the counts: each ask is a round trip on Redis."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def counts(self):
        self.asked += 1
        return super().counts()


def test_a_long_flush_asks_the_store_less_and_less_often():
    store = AskedStore()
    store.append([reminder_for("u1")])  # pending: no dispatcher runs, so it stays so
    dispatcher = Dispatcher(store, FlakyTransport())

    assert not dispatcher.flush(timeout=0.5)

    # every 5 ms, it asked about 100 times: on Redis, GIL time taken from delivery
    assert store.asked <= 20


def test_a_pass_after_closing_returns_instead_of_waiting_for_senders_that_never_start():
    store = InMemoryOutboxStore()
    dispatcher = Dispatcher(store, FlakyTransport(), concurrency=1)
    dispatcher.start()
    dispatcher.close(timeout=1)
    store.append([reminder_for("u1")])
    passed = threading.Thread(target=dispatcher.deliver_due, daemon=True)

    passed.start()
    passed.join(timeout=3)

    assert not passed.is_alive()


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_deferred_notification_waits_for_its_time_without_spending_an_attempt():
    transport = FlakyTransport()
    clock = Clock(datetime(2026, 12, 7, 22, tzinfo=UTC))
    store = InMemoryOutboxStore(clock=clock)
    dispatcher = Dispatcher(store, transport, clock=clock)
    morning = clock.now + timedelta(hours=9)
    notification = replace(reminder_for("u1"), deliver_after=morning)
    store.append([notification])

    dispatcher.deliver_due()

    entry = store.get(notification.notification_id)
    assert transport.sent == []
    assert (entry.status, entry.attempts, entry.next_attempt_at) == (
        DeliveryStatus.PENDING,
        0,
        morning,
    )
    clock.now = morning
    dispatcher.deliver_due()
    assert transport.sent == [notification]
    assert store.get(notification.notification_id).status is DeliveryStatus.SENT


def test_a_notification_deferred_to_a_moment_passed_is_delivered_at_once():
    transport = FlakyTransport()
    outbox = Outbox(transport)
    notification = replace(reminder_for("u1"), deliver_after=datetime(2021, 3, 1, tzinfo=UTC))

    outbox.publish(notification)

    assert outbox.flush(timeout=5)
    assert transport.sent == [notification]
