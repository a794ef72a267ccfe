"""What rules decide, and the record that explains each decision. The service carries them out.

Every launch ends in exactly one outcome — `sent`, `cancelled`, `merged` or
`skipped_stale` — and every finish in one of `congratulated`, `too_short` or
`no_open_session`; a start that comes after its reminder was sent but falls
inside its window adds `late_start_after_sent`. Each outcome is a
`DecisionRecord` in the user's decision log (`GET /v1/users/<id>/decisions`).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from events.domain import AppLaunched, Event, TrainingProgramStarted
from notifications.domain import Notification


class Verdict(StrEnum):
    SENT = "sent"
    CANCELLED = "cancelled"
    MERGED = "merged"
    SKIPPED_STALE = "skipped_stale"
    LATE_START_AFTER_SENT = "late_start_after_sent"
    CONGRATULATED = "congratulated"
    TOO_SHORT = "too_short"
    NO_OPEN_SESSION = "no_open_session"


class Trigger(StrEnum):
    """What sent a reminder."""

    OWN_EVENT = "own_event"  # a later event of the same user, past the deadline
    WALL_CLOCK = "wall_clock"  # silence: the server's clock reached the due time
    END_OF_REPLAY = "end_of_replay"  # a replay's input ended with the reminder pending


@dataclass(frozen=True, slots=True)
class Reminder:
    """A pending nudge for a user who launched the app and has not trained yet.

    `deadline` is on the user's own timeline (event time); `due_at` is when the
    server's wall clock sends it if the user sends nothing more (None in a replay).
    """

    launch: AppLaunched
    deadline: datetime
    due_at: datetime | None = None

    @property
    def user_id(self) -> str:
        return self.launch.user_id


@dataclass(frozen=True, slots=True)
class UserState:
    """A read-only snapshot of one user's state, handed to the rules."""

    open_sessions: Mapping[str, TrainingProgramStarted]
    pending_reminder: Reminder | None = None
    last_sent_reminder: Reminder | None = None  # to recognise a start that came too late

    def after_sending(self) -> "UserState":
        """The state once the pending reminder was sent."""
        return replace(self, pending_reminder=None, last_sent_reminder=self.pending_reminder)


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One entry of a user's decision log: an outcome and everything that led to it."""

    outcome: Verdict
    rule: str
    events: tuple[Event, ...]
    about: Event  # the launch, start or finish this is the outcome of
    trigger: Trigger | None = None
    reminder: Reminder | None = None
    decided_at: datetime | None = None  # by the server's clock; None in a replay
    notification_id: str | None = None
    figures: Mapping[str, Any] = field(default_factory=dict)

    @property
    def user_id(self) -> str:
        return self.about.user_id


@dataclass(frozen=True, slots=True)
class OpenSession:
    started: TrainingProgramStarted


@dataclass(frozen=True, slots=True)
class CloseSession:
    session_key: tuple[str, str]


@dataclass(frozen=True, slots=True)
class ArmReminder:
    reminder: Reminder


@dataclass(frozen=True, slots=True)
class CancelReminder:
    user_id: str


@dataclass(frozen=True, slots=True)
class SendReminder:
    """The reminder leaves the pending state and is remembered as the last one sent."""

    reminder: Reminder


@dataclass(frozen=True, slots=True)
class ForgetSentReminder:
    """A late start was recorded against the reminder sent: it is not counted twice."""

    user_id: str


@dataclass(frozen=True, slots=True)
class Notify:
    notification: Notification


Decision = (
    OpenSession
    | CloseSession
    | ArmReminder
    | CancelReminder
    | SendReminder
    | ForgetSentReminder
    | Notify
    | DecisionRecord
)
