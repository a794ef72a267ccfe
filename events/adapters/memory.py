"""The in-memory adapter of the events store (events/ports.py): the embedded default.

It serialises the updates of one user with a lock striped
over the user ids, so that events of different users are processed in
parallel. What outlives a user's activity is bounded: the decision log per
user and in users, the seen ids in count and age, the recent events in count,
and a last sent reminder expires with the seen ids' age after its due time.
"""

import heapq
import threading
import time
import zlib
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from itertools import count

from prometheus_client import Counter as PromCounter

from events.domain.decisions import NO_STATE, DecisionRecord, Reminder, UserState
from events.domain.events import Event
from events.ports import (
    Arrival,
    Change,
    ChangeOf,
    Committed,
    StoreFull,
    UnitOfWork,
    decided_on_held,
)
from eventsproject.platform.loops import Outage
from notifications.adapters.memory import InMemoryOutboxStore
from notifications.domain.notification import Notification
from notifications.ports import OutboxStore

FULL_REFUSALS = PromCounter(
    "events_store_full_refusals", "New users refused because the memory store was full."
)


@dataclass(frozen=True, slots=True)
class MemoryLimits:
    """What the memory store keeps, at most (each from a setting; README, Configuration)."""

    seen_ids: int = 100_000
    seen_max_age: timedelta = timedelta(hours=24)
    decisions_per_user: int = 100
    users_with_history: int = 10_000
    claim_lease: timedelta = timedelta(seconds=30)
    max_users: int = 1_000_000  # users with state; a new one past it: StoreFull
    state_ttl: timedelta | None = None  # a user whose state has not changed for it is dropped
    #: ...or for this, when all the state holds is the user's reorder window.
    window_ttl: timedelta | None = None


class InMemoryEventRepository:
    """Thread-safe. Seen ids are scoped to their user (another user's id is another event)
    and bounded by count and by the age of receipt."""

    _STRIPES = 64

    def __init__(
        self,
        recent_limit: int = 1000,
        limits: MemoryLimits = MemoryLimits(),  # frozen: one default for all is safe
        outbox: OutboxStore | None = None,
        monotonic: Callable[[], float] = time.monotonic,  # the clock of idleness
    ) -> None:
        self._limits = limits
        self._outbox = outbox if outbox is not None else InMemoryOutboxStore()
        self._user_locks = tuple(threading.Lock() for _ in range(self._STRIPES))
        self._lock = threading.Lock()  # the tables shared by all users, held briefly
        self._full = Outage("the memory store's cap on users", FULL_REFUSALS, traceback=False)
        self._seen: OrderedDict[tuple[str, str], tuple[datetime | None, int]] = OrderedDict()
        self._states: dict[str, UserState] = {}
        self._monotonic = monotonic
        # When each user's state last changed, least recent first: users with more than
        # their window, and users with only their window, each with how long they may idle.
        self._idle = (
            _IdleUsers(_seconds(limits.state_ttl)),
            _IdleUsers(_seconds(limits.window_ttl or limits.state_ttl)),
        )
        self._tally: Counter[str] = Counter()  # open sessions and reminders, kept as they change
        # Wall-clock due order for the ticker; entries no longer pending are skipped.
        self._due: list[tuple[datetime, int, Reminder]] = []
        self._sequence = count()
        # When each last sent reminder expires, in about that order (sent about as they fall due).
        self._sent_expiry: deque[tuple[datetime, Reminder]] = deque()
        self._decisions: OrderedDict[str, deque[DecisionRecord]] = OrderedDict()
        self._removals = 0
        self._recent: deque[Event] = deque(maxlen=recent_limit)
        self._counts: Counter[str] = Counter()

    def update(self, user_id: str, change_of: ChangeOf, event: Event | None = None) -> Committed:
        queued: list[Notification] = []
        committed = self._update(user_id, change_of, event, queued)
        self._outbox.append(queued)
        return committed

    def update_many(self, work: Sequence[UnitOfWork]) -> list[Committed]:
        """Each unit in turn (nothing to save in round trips); their notifications go to the
        outbox together once the units are saved, or as far as they were, so that the
        dispatcher is woken once, not once a unit."""
        queued: list[Notification] = []
        try:
            return [
                self._update(user_id, change_of, event, queued)
                for user_id, change_of, event in work
            ]
        finally:
            self._outbox.append(queued)

    def _update(
        self,
        user_id: str,
        change_of: ChangeOf,
        event: Event | None,
        queued: list[Notification],
    ) -> Committed:
        """`update`, but the notifications are added to `queued`, for the outbox."""
        stripe = self._stripe_of(user_id)
        with stripe:
            if user_id not in self._states:
                self._make_room(stripe)
            if event is not None and (arrival := self._check_in(event)) is not Arrival.NEW:
                return Committed(arrival)
            before = self._states.get(user_id, NO_STATE)
            try:
                change = decided_on_held(change_of, before)
            except BaseException:
                if event is not None:
                    self._forget(event)  # so that a retry is processed, not a duplicate
                raise
            self._commit(user_id, before, change, event)
        queued += change.notifications
        return Committed(Arrival.NEW, change)

    def user_state(self, user_id: str) -> UserState:
        with self._lock:
            return self._states.get(user_id, NO_STATE)

    def decisions(self, user_id: str) -> list[DecisionRecord]:
        with self._lock:
            return list(reversed(self._decisions.get(user_id, ())))

    def claim_due_reminders(self, now: datetime) -> list[str]:
        users = []
        with self._lock:
            self._expire_idle(held=None)
            expired = self._expired_sent_reminders(now)
            while self._due and self._due[0][0] <= now:
                _, _, reminder = heapq.heappop(self._due)
                if self._pending(reminder):
                    users.append(reminder.user_id)
                    # A lease: if the caller fails to send it, it is claimed again later.
                    self._push_due(now + self._limits.claim_lease, reminder)
        for reminder in expired:
            self.update(reminder.user_id, partial(_forget_sent, reminder))
        return users

    def pending_reminders(self) -> list[Reminder]:
        with self._lock:
            reminders = [state.pending_reminder for state in self._states.values()]
        pending = [reminder for reminder in reminders if reminder is not None]
        return sorted(pending, key=lambda reminder: reminder.deadline)

    def recent_events(self) -> list[Event]:
        with self._lock:
            return list(reversed(self._recent))

    def event_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "users_with_open_sessions": self._tally["users_with_open_sessions"],
                "open_sessions": self._tally["open_sessions"],
                "pending_reminders": self._tally["pending_reminders"],
                "users_with_decisions": len(self._decisions),
                "remembered_event_ids": len(self._seen),
                "users": len(self._states),
            }

    # --- under the locks ---------------------------------------------------------

    def _stripe_of(self, user_id: str) -> threading.Lock:
        return self._user_locks[
            zlib.crc32(user_id.encode("utf-8", "surrogatepass")) % self._STRIPES
        ]

    def _make_room(self, held: threading.Lock) -> None:
        """For a user not held yet: idle users go first; a store still full refuses."""
        with self._lock:
            self._expire_idle(held)
            if len(self._states) < self._limits.max_users:
                self._full.succeeded()
                return
        full = StoreFull(f"the memory store holds its most users, {self._limits.max_users}")
        self._full.failed(full)
        raise full

    def _expire_idle(self, held: "threading.Lock | None") -> None:
        """Forget users whose state has not changed for the state TTL, oldest first. A user
        whose stripe another thread holds is being updated, so not idle: stop there."""
        for idle in self._idle:
            self._expire(idle, held)

    def _expire(self, idle: "_IdleUsers", held: "threading.Lock | None") -> None:
        if idle.seconds is None:
            return
        horizon = self._monotonic() - idle.seconds
        while idle.touched:
            user_id, touched = next(iter(idle.touched.items()))
            stripe = self._stripe_of(user_id)
            if touched > horizon or (stripe is not held and not stripe.acquire(blocking=False)):
                return
            try:
                self._save(user_id, self._states.get(user_id, NO_STATE), NO_STATE)
            finally:
                if stripe is not held:
                    stripe.release()

    def _check_in(self, event: Event) -> Arrival:
        content = hash((event.event_type, event))
        key = (event.user_id, event.event_id)
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None:
                return Arrival.DUPLICATE if seen[1] == content else Arrival.CONFLICT
            self._seen[key] = (event.received_at, content)
            self._forget_old_ids(event.received_at)
            return Arrival.NEW

    def _commit(self, user_id: str, before: UserState, change: Change, event: Event | None) -> None:
        with self._lock:
            if change.state is not before:
                self._save(user_id, before, change.state)
            if change.records:
                self._decision_log_of(user_id).extend(change.records)
            if event is not None:
                self._recent.append(event)
                self._counts[event.event_type] += 1

    def _forget(self, event: Event) -> None:
        with self._lock:
            self._seen.pop((event.user_id, event.event_id), None)

    def _save(self, user_id: str, before: UserState, after: UserState) -> None:
        self._count_changes(before, after)
        for idle in self._idle:
            idle.touched.pop(user_id, None)
        if after:
            self._states[user_id] = after
            self._idle[after.only_window].touched[user_id] = self._monotonic()
        elif self._states.pop(user_id, None) is not None:
            self._removed()
        armed = after.pending_reminder
        if armed is not None and armed.due_at is not None and _new(armed, before.pending_reminder):
            self._push_due(armed.due_at, armed)
        sent = after.last_sent_reminder
        if sent is not None and sent.due_at is not None and _new(sent, before.last_sent_reminder):
            self._sent_expiry.append((sent.due_at + self._limits.seen_max_age, sent))

    def _count_changes(self, before: UserState, after: UserState) -> None:
        sessions, sessions_before = len(after.open_sessions), len(before.open_sessions)
        if sessions != sessions_before:
            self._tally["open_sessions"] += sessions - sessions_before
            self._tally["users_with_open_sessions"] += (sessions > 0) - (sessions_before > 0)
        pending = (after.pending_reminder is not None) - (before.pending_reminder is not None)
        if pending:
            self._tally["pending_reminders"] += pending

    def _pending(self, reminder: Reminder) -> bool:
        state = self._states.get(reminder.user_id)
        return state is not None and state.pending_reminder == reminder

    def _push_due(self, due_at: datetime, reminder: Reminder) -> None:
        heapq.heappush(self._due, (due_at, next(self._sequence), reminder))

    def _decision_log_of(self, user_id: str) -> deque[DecisionRecord]:
        """The user's log, most recently used last; the least recent goes past the limit."""
        log = self._decisions.get(user_id)
        if log is not None:
            self._decisions.move_to_end(user_id)
            return log
        log = self._decisions[user_id] = deque(maxlen=self._limits.decisions_per_user)
        if len(self._decisions) > self._limits.users_with_history:
            self._decisions.popitem(last=False)
        return log

    def _expired_sent_reminders(self, now: datetime) -> list[Reminder]:
        """A start that late is not told apart from a retry any more: forget the reminder."""
        expired = []
        while self._sent_expiry and self._sent_expiry[0][0] <= now:
            expired.append(self._sent_expiry.popleft()[1])
        return expired

    def _removed(self) -> None:
        """CPython never shrinks a dict's table on deletion: once there were more
        removals than entries left, rebuild the per-user tables so that memory follows
        the number of active users back down (amortised O(1))."""
        self._removals += 1
        if self._removals > len(self._states) + 1024:
            self._states = dict(self._states)
            for idle in self._idle:
                idle.touched = OrderedDict(idle.touched)  # in the same order
            self._removals = 0

    def _forget_old_ids(self, received_at: datetime | None) -> None:
        # Ids arrive in the order they are received, so the oldest sit at the front.
        if len(self._seen) > self._limits.seen_ids:
            self._seen.popitem(last=False)
        if received_at is None:
            return  # a replay has no wall clock: only the count bounds the memory
        horizon = received_at - self._limits.seen_max_age
        while self._seen:
            oldest, _ = next(iter(self._seen.values()))
            if oldest is None or oldest >= horizon:
                return
            self._seen.popitem(last=False)


@dataclass(slots=True)
class _IdleUsers:
    seconds: float | None  # how long a user may stay idle (None: for ever)
    touched: OrderedDict[str, float] = field(default_factory=OrderedDict)


def _new(reminder: Reminder, before: Reminder | None) -> bool:
    """Whether `reminder` is not the one held before (the same object, most often)."""
    return reminder is not before and reminder != before


def _seconds(ttl: timedelta | None) -> float | None:
    return None if ttl is None else ttl.total_seconds()


def _forget_sent(reminder: Reminder, state: UserState) -> Change:
    if state.last_sent_reminder != reminder:
        return Change(state)
    return Change(replace(state, last_sent_reminder=None))
