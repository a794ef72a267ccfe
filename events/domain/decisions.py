"""What rules decide, the record that explains each decision, and the user state they change.

`settle` carries decisions out on a user's state: pure, so that a store saves
the result in one write, whatever the store.

Every launch ends in one outcome — `sent`, `cancelled`, `merged` or
`skipped_stale` — and every finish in one of `congratulated`, `too_short` or
`no_open_session`; a notification earned but held back by the rules' controls
(events.domain.controls) is `quiet_hours` or `capped` instead. A start that comes
after its reminder was sent but falls inside its window adds
`late_start_after_sent`, and a cancel or start that comes after a congratulation
it would have prevented adds `late_event_after_sent`. A late event re-decides its user's window
(events.domain.timeline), which may give an event a newer outcome; an event older than
the window is `too_late`. Each outcome is a `DecisionRecord` in the user's
decision log (`GET /v1/users/<id>/decisions`).
"""

import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from events.domain.events import AppLaunched, Event, TrainingProgramStarted
from events.domain.frozen import quick_init

_DECISION_NAMESPACE = uuid.UUID("6f1c3c1e-9a59-4d4b-8f0e-6a1f2d1c7b10")
_NAMESPACE_BYTES = _DECISION_NAMESPACE.bytes


class Verdict(StrEnum):
    SENT = "sent"
    CANCELLED = "cancelled"
    MERGED = "merged"
    SKIPPED_STALE = "skipped_stale"
    LATE_START_AFTER_SENT = "late_start_after_sent"
    LATE_EVENT_AFTER_SENT = "late_event_after_sent"
    TOO_LATE = "too_late"
    CONGRATULATED = "congratulated"
    TOO_SHORT = "too_short"
    NO_OPEN_SESSION = "no_open_session"
    QUIET_HOURS = "quiet_hours"  # earned in the user's quiet hours, which skip it
    CAPPED = "capped"  # earned past the rule's cap


class Trigger(StrEnum):
    """What sent a reminder."""

    OWN_EVENT = "own_event"  # a later event of the same user, past the deadline
    WALL_CLOCK = "wall_clock"  # silence: the server's clock reached the due time
    END_OF_REPLAY = "end_of_replay"  # a replay's input ended with the reminder pending


@quick_init
@dataclass(frozen=True, slots=True)
class Reminder:
    """A pending nudge for a user who launched the app and has not trained yet.

    `deadline` is on the user's own timeline (event time); `due_at` is when the
    server's wall clock sends it if the user sends nothing more (None in a replay).
    """

    launch: AppLaunched
    deadline: datetime
    due_at: datetime | None = None
    merged: tuple[str, ...] = ()  # the ids of the launches merged into it

    @property
    def launch_ids(self) -> tuple[str, ...]:
        return (self.launch.event_id, *self.merged)

    @property
    def user_id(self) -> str:
        return self.launch.user_id


NOTHING: Mapping[str, Any] = MappingProxyType({})


@quick_init
@dataclass(frozen=True, slots=True)
class Zone:
    """A user's zone as their events stated it (docs/time.md): the latest IANA name, and
    the latest UTC offset of a timestamp. Neither: the rules file's default."""

    name: str | None = None
    offset: timedelta | None = None

    def after(self, event: Event) -> "Zone":
        """The zone once `event` is applied: itself, unless the event states another."""
        name, offset = event.timezone, event.utc_offset
        if (name is None or name == self.name) and (offset is None or offset == self.offset):
            return self
        return Zone(name or self.name, self.offset if offset is None else offset)


NO_ZONE = Zone()


@quick_init
@dataclass(frozen=True, slots=True)
class Contact:
    """When a user may be told: their zone, and the trigger times of their recent
    notifications, by rule, as far back as the rules' caps look."""

    zone: Zone = NO_ZONE
    recent: tuple[tuple[str, datetime], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.recent) or self.zone != NO_ZONE


NO_CONTACT = Contact()


@quick_init
@dataclass(frozen=True, slots=True)
class Window:
    """A user's reorder window (events.domain.timeline): what a late event is re-decided over."""

    events: tuple[Event, ...] = ()  # by effective time, ties in the order they arrived
    #: Each launch or finish a notification was sent for, with the id of the notification's
    #: first event (a reminder's launch, a congratulation's start): pairs, not a dict, as
    #: every user holds one and it is seldom longer than two.
    sent: tuple[tuple[str, str], ...] = ()
    #: The sessions open before the window's first event, by program.
    sessions_before: Mapping[str, TrainingProgramStarted] = field(default_factory=lambda: NOTHING)
    #: The user's zone before the window's first event.
    zone_before: Zone = NO_ZONE

    def __bool__(self) -> bool:
        return bool(self.events) or bool(self.sent) or bool(self.sessions_before)

    def sent_with(self, event_id: str) -> str | None:
        """The first event of the notification sent for `event_id`; None if none was."""
        for sent_for, first in self.sent:
            if sent_for == event_id:
                return first
        return None


NO_WINDOW = Window()


@quick_init
@dataclass(frozen=True, slots=True)
class UserState:
    """A read-only snapshot of one user's state, handed to the rules."""

    open_sessions: Mapping[str, TrainingProgramStarted]
    pending_reminder: Reminder | None = None
    last_sent_reminder: Reminder | None = None  # to recognise a late start or launch
    window: Window = NO_WINDOW
    contact: Contact = NO_CONTACT

    def after_sending(self) -> "UserState":
        """The state once the pending reminder was sent."""
        return UserState(self.open_sessions, None, self.pending_reminder, self.window, self.contact)

    def without_pending(self) -> "UserState":
        """The state once the pending reminder was dropped unsent."""
        return UserState(
            self.open_sessions, None, self.last_sent_reminder, self.window, self.contact
        )

    @property
    def only_window(self) -> bool:
        """All there is to keep is the reorder window: a store keeps it a shorter while."""
        return (
            not self.open_sessions
            and self.pending_reminder is None
            and self.last_sent_reminder is None
            and not self.contact.recent
        )

    def __bool__(self) -> bool:
        """False when there is nothing to keep: a store forgets such a user. A user with
        only a zone to keep is kept as long as a window (`only_window`)."""
        return (
            bool(self.open_sessions)
            or self.pending_reminder is not None
            or (self.last_sent_reminder is not None)
            or bool(self.window)
            or bool(self.contact)
        )


#: A user the store knows nothing about.
NO_STATE = UserState(open_sessions=NOTHING)


@quick_init
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
    #: The version of the rules that decided it (the rules file's, or "built-in").
    rules_version: str = ""
    #: A notification deferred by quiet hours goes no sooner than this.
    deliver_after: datetime | None = None

    @property
    def user_id(self) -> str:
        return self.about.user_id


@quick_init
@dataclass(frozen=True, slots=True)
class OpenSession:
    started: TrainingProgramStarted


@quick_init
@dataclass(frozen=True, slots=True)
class CloseSession:
    session_key: tuple[str, str]


@quick_init
@dataclass(frozen=True, slots=True)
class ArmReminder:
    reminder: Reminder


@quick_init
@dataclass(frozen=True, slots=True)
class CancelReminder:
    user_id: str


@quick_init
@dataclass(frozen=True, slots=True)
class SendReminder:
    """The reminder leaves the pending state and is remembered as the last one sent."""

    reminder: Reminder


@quick_init
@dataclass(frozen=True, slots=True)
class ForgetSentReminder:
    """A late start was recorded against the reminder sent: it is not counted twice."""

    user_id: str


@quick_init
@dataclass(frozen=True, slots=True)
class NoteZone:
    """The user's events state a zone other than the one known."""

    zone: Zone


@quick_init
@dataclass(frozen=True, slots=True)
class NoteNotified:
    """A notification of `rule` triggered `at` counts for the rule's cap; the rule's older
    than `keep_after` no longer can."""

    rule: str
    at: datetime
    keep_after: datetime


Decision = (
    OpenSession
    | CloseSession
    | ArmReminder
    | CancelReminder
    | SendReminder
    | ForgetSentReminder
    | NoteZone
    | NoteNotified
    | DecisionRecord
)


def settle(state: UserState, decisions: list[Decision]) -> tuple[UserState, list[DecisionRecord]]:
    """The user's state once the decisions are carried out, and the records among them."""
    records = []
    for decision in decisions:
        if isinstance(decision, DecisionRecord):
            records.append(decision)
            if decision.notification_id is not None:
                state = _with_sent(state, decision)
        else:
            state = _EVOLVE[type(decision)](state, decision)
    return state, records


def sent_for(record: DecisionRecord) -> tuple[str, ...]:
    """The launches or the finish a notification is sent for: a reminder's window's launches
    (one reminder per window), or the congratulated finish (one congratulation per finish)."""
    reminder = record.reminder
    return (record.about.event_id,) if reminder is None else reminder.launch_ids


def _with_sent(state: UserState, record: DecisionRecord) -> UserState:
    window, first = state.window, record.events[0].event_id
    sent = window.sent + tuple([(event_id, first) for event_id in sent_for(record)])
    return UserState(
        state.open_sessions,
        state.pending_reminder,
        state.last_sent_reminder,
        Window(window.events, sent, window.sessions_before, window.zone_before),
        state.contact,
    )


# Each builds the new state itself: on every event, `dataclasses.replace` costs several
# times as much.


def _with_session(state: UserState, decision: OpenSession) -> UserState:
    started = decision.started
    sessions = {**state.open_sessions, started.training_program_id: started}
    return UserState(
        MappingProxyType(sessions),
        state.pending_reminder,
        state.last_sent_reminder,
        state.window,
        state.contact,
    )


def _without_session(state: UserState, decision: CloseSession) -> UserState:
    _, training_program_id = decision.session_key
    sessions = {
        key: started for key, started in state.open_sessions.items() if key != training_program_id
    }
    return UserState(
        MappingProxyType(sessions),
        state.pending_reminder,
        state.last_sent_reminder,
        state.window,
        state.contact,
    )


def _with_reminder(state: UserState, decision: ArmReminder) -> UserState:
    return UserState(
        state.open_sessions,
        decision.reminder,
        state.last_sent_reminder,
        state.window,
        state.contact,
    )


def _without_reminder(state: UserState, decision: CancelReminder) -> UserState:
    return state.without_pending()


def _reminder_sent(state: UserState, decision: SendReminder) -> UserState:
    pending = None if state.pending_reminder == decision.reminder else state.pending_reminder
    return UserState(state.open_sessions, pending, decision.reminder, state.window, state.contact)


def _without_sent_reminder(state: UserState, decision: ForgetSentReminder) -> UserState:
    return UserState(state.open_sessions, state.pending_reminder, None, state.window, state.contact)


def _with_zone(state: UserState, decision: NoteZone) -> UserState:
    return _with_contact(state, Contact(decision.zone, state.contact.recent))


def _with_notified(state: UserState, decision: NoteNotified) -> UserState:
    rule, keep_after = decision.rule, decision.keep_after
    kept = tuple(
        (other, at) for other, at in state.contact.recent if other != rule or at > keep_after
    )
    return _with_contact(state, Contact(state.contact.zone, (*kept, (rule, decision.at))))


def _with_contact(state: UserState, contact: Contact) -> UserState:
    return UserState(
        state.open_sessions, state.pending_reminder, state.last_sent_reminder, state.window, contact
    )


_EVOLVE: dict[type[Decision], Callable[[UserState, Any], UserState]] = {
    OpenSession: _with_session,
    CloseSession: _without_session,
    ArmReminder: _with_reminder,
    CancelReminder: _without_reminder,
    SendReminder: _reminder_sent,
    ForgetSentReminder: _without_sent_reminder,
    NoteZone: _with_zone,
    NoteNotified: _with_notified,
}


def decision_id(rule: str, *event_ids: str) -> str:
    """The same rule over the same events always yields the same id: the id of the
    notification it causes, and so its `Idempotency-Key`. It is
    `str(uuid.uuid5(namespace, "rule:id:..."))`, written without building the `UUID`."""
    name = ":".join((rule, *event_ids)).encode()
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name).digest()[:16])  # RFC 4122: SHA-1
    digest[6] = digest[6] & 0x0F | 0x50  # version 5
    digest[8] = digest[8] & 0x3F | 0x80  # RFC 4122's variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
