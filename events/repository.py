"""Where per-user state lives: a narrow port and its thread-safe in-memory adapter.

The state is what the rules need — open training sessions, the pending
reminder and the last one sent — plus each user's decision log, the memory of
seen event ids and a bounded window of recent events for the browsable API.
Pending reminders with a wall-clock due time are also kept in due order, for
the ticker. What outlives a user's activity is bounded: the decision log per
user and in users, the seen ids in count and age, the recent events in count,
and a last sent reminder expires with the seen ids' age after its due time.
The active state — open sessions, pending reminders — grows with the users
who have something open.
"""

import heapq
import threading
from collections import Counter, OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import count
from types import MappingProxyType
from typing import Any, Protocol

from events.decisions import DecisionRecord, Reminder, UserState
from events.domain import Event, TrainingProgramStarted

_NO_SESSIONS: Mapping[str, TrainingProgramStarted] = MappingProxyType({})


class Arrival(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"  # the same id with the same content
    CONFLICT = "conflict"  # the same id with other content


class EventRepository(Protocol):
    def check_in(self, event: Event) -> Arrival:
        """Remember the event's id and say whether it was seen before, and with what."""

    def forget(self, event: Event) -> None:
        """Forget a checked-in event whose processing failed, so that a retry is not a duplicate."""

    def user_state(self, user_id: str) -> UserState: ...

    def open_session(self, started: TrainingProgramStarted) -> None: ...

    def close_session(self, session_key: tuple[str, str]) -> None: ...

    def arm_reminder(self, reminder: Reminder) -> None: ...

    def cancel_reminder(self, user_id: str) -> None: ...

    def mark_reminder_sent(self, reminder: Reminder) -> None:
        """The pending reminder is sent: it is now the user's last sent reminder."""

    def forget_sent_reminder(self, user_id: str) -> None: ...

    def pop_due_reminder(self, now: datetime) -> Reminder | None:
        """The next pending reminder whose wall-clock due time is at or before `now`."""

    def pending_reminders(self) -> list[Reminder]:
        """Every pending reminder, in deadline order."""

    def record_decision(self, record: DecisionRecord) -> None: ...

    def decisions(self, user_id: str) -> list[DecisionRecord]:
        """The user's decision log, newest first."""

    def remember_event(self, event: Event) -> None: ...

    def recent_events(self) -> list[Event]:
        """The most recent events, newest first."""

    def event_counts(self) -> dict[str, int]:
        """How many events of each type were recorded."""

    def stats(self) -> dict[str, int]: ...


@dataclass(slots=True)
class _Limits:
    seen_ids: int = 100_000
    seen_max_age: timedelta = timedelta(hours=24)
    decisions_per_user: int = 100
    users_with_history: int = 10_000


class InMemoryEventRepository:
    """Thread-safe. Seen ids are scoped to their user (another user's id is another event)
    and bounded by count and by the age of receipt."""

    def __init__(
        self,
        recent_limit: int = 1000,
        seen_limit: int = 100_000,
        seen_max_age: timedelta = timedelta(hours=24),
        decisions_per_user: int = 100,
        users_with_history: int = 10_000,
    ) -> None:
        self._limits = _Limits(seen_limit, seen_max_age, decisions_per_user, users_with_history)
        self._lock = threading.RLock()
        self._seen: OrderedDict[tuple[str, str], tuple[datetime | None, int]] = OrderedDict()
        self._sessions: dict[str, dict[str, TrainingProgramStarted]] = {}
        self._reminders: dict[str, Reminder] = {}
        self._last_sent: dict[str, Reminder] = {}
        # Wall-clock due order for the ticker; cancelled entries stay until popped and are skipped.
        self._due: list[tuple[datetime, int, Reminder]] = []
        self._sequence = count()
        # When each last sent reminder expires, in about that order (sent about as they fall due).
        self._sent_expiry: deque[tuple[datetime, Reminder]] = deque()
        self._decisions: OrderedDict[str, deque[DecisionRecord]] = OrderedDict()
        self._removals = 0
        self._recent: deque[Event] = deque(maxlen=recent_limit)
        self._counts: Counter[str] = Counter()

    def check_in(self, event: Event) -> Arrival:
        content = hash((event.event_type, event))
        key = (event.user_id, event.event_id)
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None:
                return Arrival.DUPLICATE if seen[1] == content else Arrival.CONFLICT
            self._seen[key] = (event.received_at, content)
            self._forget_old_ids(event.received_at)
            return Arrival.NEW

    def forget(self, event: Event) -> None:
        with self._lock:
            self._seen.pop((event.user_id, event.event_id), None)

    def user_state(self, user_id: str) -> UserState:
        with self._lock:
            sessions = self._sessions.get(user_id)
            return UserState(
                open_sessions=MappingProxyType(dict(sessions)) if sessions else _NO_SESSIONS,
                pending_reminder=self._reminders.get(user_id),
                last_sent_reminder=self._last_sent.get(user_id),
            )

    def open_session(self, started: TrainingProgramStarted) -> None:
        with self._lock:
            user_sessions = self._sessions.setdefault(started.user_id, {})
            user_sessions[started.training_program_id] = started

    def close_session(self, session_key: tuple[str, str]) -> None:
        user_id, training_program_id = session_key
        with self._lock:
            user_sessions = self._sessions.get(user_id, {})
            user_sessions.pop(training_program_id, None)
            if not user_sessions and self._sessions.pop(user_id, None) is not None:
                self._removed()

    def arm_reminder(self, reminder: Reminder) -> None:
        with self._lock:
            self._reminders[reminder.user_id] = reminder
            if reminder.due_at is not None:
                heapq.heappush(self._due, (reminder.due_at, next(self._sequence), reminder))

    def cancel_reminder(self, user_id: str) -> None:
        with self._lock:
            if self._reminders.pop(user_id, None) is not None:
                self._removed()

    def mark_reminder_sent(self, reminder: Reminder) -> None:
        with self._lock:
            if self._reminders.get(reminder.user_id) == reminder:
                del self._reminders[reminder.user_id]
                self._removed()
            self._last_sent[reminder.user_id] = reminder
            if reminder.due_at is not None:  # a replay's process ends: nothing to expire
                self._sent_expiry.append((reminder.due_at + self._limits.seen_max_age, reminder))

    def forget_sent_reminder(self, user_id: str) -> None:
        with self._lock:
            if self._last_sent.pop(user_id, None) is not None:
                self._removed()

    def pop_due_reminder(self, now: datetime) -> Reminder | None:
        with self._lock:
            self._expire_sent_reminders(now)
            while self._due and self._due[0][0] <= now:
                _, _, reminder = heapq.heappop(self._due)
                if self._reminders.get(reminder.user_id) == reminder:
                    return reminder
            return None

    def pending_reminders(self) -> list[Reminder]:
        with self._lock:
            return sorted(self._reminders.values(), key=lambda reminder: reminder.deadline)

    def record_decision(self, record: DecisionRecord) -> None:
        with self._lock:
            self._decision_log_of(record.user_id).append(record)

    def decisions(self, user_id: str) -> list[DecisionRecord]:
        with self._lock:
            return list(reversed(self._decisions.get(user_id, ())))

    def remember_event(self, event: Event) -> None:
        with self._lock:
            self._recent.append(event)
            self._counts[event.event_type] += 1

    def event_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def recent_events(self) -> list[Event]:
        with self._lock:
            return list(reversed(self._recent))

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "users_with_open_sessions": len(self._sessions),
                "open_sessions": sum(len(sessions) for sessions in self._sessions.values()),
                "pending_reminders": len(self._reminders),
                "users_with_decisions": len(self._decisions),
                "remembered_event_ids": len(self._seen),
            }

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

    def _expire_sent_reminders(self, now: datetime) -> None:
        """A start that late is not told apart from a retry any more: forget the reminder."""
        while self._sent_expiry and self._sent_expiry[0][0] <= now:
            _, reminder = self._sent_expiry.popleft()
            if self._last_sent.get(reminder.user_id) == reminder:
                self.forget_sent_reminder(reminder.user_id)

    def _removed(self) -> None:
        """CPython never shrinks a dict's table on deletion: once there were more
        removals than entries left, rebuild the tables so that memory follows the
        number of active users back down (amortised O(1))."""
        self._removals += 1
        tables = (self._sessions, self._reminders, self._last_sent)
        if self._removals > sum(len(table) for table in tables) + 1024:
            for table in tables:
                _compact(table)
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


def _compact(table: dict[str, Any]) -> None:
    live = dict(table)  # a copy gets a table sized for what is left
    table.clear()
    table.update(live)
