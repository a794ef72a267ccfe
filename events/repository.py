"""Where per-user state lives: a narrow port and its thread-safe in-memory adapter.

The state is only what the rules need — open training sessions and pending
reminders — plus the event-time clock and a bounded window of recent events
for the browsable API. Nothing grows with the number of events, only with the
number of users who have something open.
"""

import heapq
import threading
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import count
from types import MappingProxyType
from typing import Any, Protocol

from events.decisions import Reminder
from events.domain import Event, TrainingProgramStarted

_NO_SESSIONS: Mapping[str, TrainingProgramStarted] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class UserState:
    """A read-only snapshot of one user's state, handed to the rules."""

    open_sessions: Mapping[str, TrainingProgramStarted]
    pending_reminder: Reminder | None


class Arrival(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"  # the same id with the same content
    CONFLICT = "conflict"  # the same id with other content


class EventRepository(Protocol):
    def check_in(self, event: Event) -> Arrival:
        """Remember the event's id and say whether it was seen before, and with what."""

    @property
    def clock(self) -> datetime | None: ...

    def forget(self, event_id: str) -> None:
        """Forget a checked-in id whose processing failed, so that a retry is not a duplicate."""

    def advance_clock(self, to: datetime) -> list[Reminder]:
        """Move the clock forward (never back); pop reminders due strictly before it."""

    def pop_all_reminders(self) -> list[Reminder]:
        """Pop every pending reminder, in deadline order."""

    def user_state(self, user_id: str) -> UserState: ...

    def open_session(self, started: TrainingProgramStarted) -> None: ...

    def close_session(self, session_key: tuple[str, str]) -> None: ...

    def arm_reminder(self, reminder: Reminder) -> None: ...

    def cancel_reminder(self, user_id: str) -> None: ...

    def remember_event(self, event: Event) -> None: ...

    def recent_events(self) -> list[Event]:
        """The most recent events, newest first."""

    def event_counts(self) -> dict[str, int]:
        """How many events of each type were recorded."""

    def stats(self) -> dict[str, int]: ...


class InMemoryEventRepository:
    """Thread-safe. The memory of seen ids is bounded by count and by event-time age."""

    def __init__(
        self,
        recent_limit: int = 1000,
        seen_limit: int = 100_000,
        seen_max_age: timedelta = timedelta(hours=24),
    ) -> None:
        self._lock = threading.RLock()
        self._seen: OrderedDict[str, tuple[datetime, int]] = OrderedDict()
        self._seen_limit = seen_limit
        self._seen_max_age = seen_max_age
        self._clock: datetime | None = None
        self._sessions: dict[str, dict[str, TrainingProgramStarted]] = {}
        self._reminders: dict[str, Reminder] = {}
        # Deadline order for firing; cancelled entries stay until popped and are skipped.
        self._deadlines: list[tuple[datetime, int, Reminder]] = []
        self._sequence = count()
        self._removals = 0
        self._recent: deque[Event] = deque(maxlen=recent_limit)
        self._counts: Counter[str] = Counter()

    @property
    def clock(self) -> datetime | None:
        return self._clock

    def check_in(self, event: Event) -> Arrival:
        content = hash((event.event_type, event))
        with self._lock:
            seen = self._seen.get(event.event_id)
            if seen is not None:
                return Arrival.DUPLICATE if seen[1] == content else Arrival.CONFLICT
            self._seen[event.event_id] = (event.occurred_at, content)
            self._forget_old_ids()
            return Arrival.NEW

    def forget(self, event_id: str) -> None:
        with self._lock:
            self._seen.pop(event_id, None)

    def advance_clock(self, to: datetime) -> list[Reminder]:
        with self._lock:
            if self._clock is None or to > self._clock:
                self._clock = to
            return self._pop_reminders(lambda deadline: deadline < to)

    def pop_all_reminders(self) -> list[Reminder]:
        with self._lock:
            return self._pop_reminders(lambda deadline: True)

    def user_state(self, user_id: str) -> UserState:
        with self._lock:
            sessions = self._sessions.get(user_id)
            return UserState(
                open_sessions=MappingProxyType(dict(sessions)) if sessions else _NO_SESSIONS,
                pending_reminder=self._reminders.get(user_id),
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
            heapq.heappush(self._deadlines, (reminder.deadline, next(self._sequence), reminder))

    def cancel_reminder(self, user_id: str) -> None:
        with self._lock:
            if self._reminders.pop(user_id, None) is not None:
                self._removed()

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
                "remembered_event_ids": len(self._seen),
            }

    def _removed(self) -> None:
        """CPython never shrinks a dict's table on deletion: once there were more
        removals than entries left, rebuild the tables so that memory follows the
        number of active users back down (amortised O(1))."""
        self._removals += 1
        if self._removals > len(self._sessions) + len(self._reminders) + 1024:
            _compact(self._sessions)
            _compact(self._reminders)
            self._removals = 0

    def _forget_old_ids(self) -> None:
        # Ids arrive roughly in event-time order, so the oldest sit at the front.
        if len(self._seen) > self._seen_limit:
            self._seen.popitem(last=False)
        horizon = self._clock - self._seen_max_age if self._clock else None
        while horizon and self._seen and next(iter(self._seen.values()))[0] < horizon:
            self._seen.popitem(last=False)

    def _pop_reminders(self, is_due: Callable[[datetime], bool]) -> list[Reminder]:
        due = []
        while self._deadlines and is_due(self._deadlines[0][0]):
            _, _, reminder = heapq.heappop(self._deadlines)
            if self._reminders.get(reminder.user_id) is reminder:
                del self._reminders[reminder.user_id]
                self._removed()
                due.append(reminder)
        return due


def _compact(table: dict[str, Any]) -> None:
    live = dict(table)  # a copy gets a table sized for what is left
    table.clear()
    table.update(live)
