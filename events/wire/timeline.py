"""A user's timeline as its picture shows it: the view model events/wire/timeline_svg.py draws.

Plain data, on one axis of event time (each event's effective time, docs/time.md):
what the user did (one mark per event), their training sessions, each reminder
window with the outcome the decision log gave it, and each notification with its
delivery status. events/service/history.py gathers it from the stores; what it
could not find (history is kept only so long) is said in `coverage`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

MINUTE = timedelta(minutes=1)

#: A reminder window's outcome while its reminder is still pending (no decision yet).
PENDING = "pending"
#: A notification's status when the outbox no longer holds it (or never did).
UNKNOWN_STATUS = "unknown"


@dataclass(frozen=True, slots=True)
class EventMark:
    """One event of the user's, at its effective time."""

    event_id: str
    event_type: str  # as declared (events/domain/events.py), or "unknown"
    at: datetime  # effective time
    device_id: str
    occurred_at: datetime
    sent_at: datetime | None = None
    received_at: datetime | None = None
    program: str | None = None  # a training event's program id
    #: The decision log's outcomes about this event, oldest first (`sent`, `too_late`, ...).
    outcomes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionBar:
    """A training session: from its start to the cancel, finish or restart that ended it."""

    program: str
    started: datetime
    start_id: str
    ending: str  # finished, cancelled, restarted, or open (still open in the user's state)
    ended: datetime | None = None  # None: still open
    end_id: str | None = None
    outcome: str | None = None  # a finished session's outcome in the decision log

    @property
    def minutes(self) -> int | None:
        """Whole minutes trained, rounded down, as the congratulation states them."""
        return None if self.ended is None else (self.ended - self.started) // MINUTE


@dataclass(frozen=True, slots=True)
class ReminderWindow:
    """A reminder's window, from a launch to its deadline, and what became of it."""

    launch_id: str
    opened: datetime
    closes: datetime  # the deadline (event time)
    outcome: str  # a decision log outcome, or PENDING
    trigger: str | None = None
    notification_id: str | None = None
    decided_at: datetime | None = None  # by the server's clock
    due_at: datetime | None = None  # by the server's clock
    event_ids: tuple[str, ...] = ()  # the events that led to the outcome


@dataclass(frozen=True, slots=True)
class NotificationMark:
    """A notification, at the event time that triggered it, with its delivery status."""

    notification_id: str
    kind: str
    at: datetime
    status: str  # pending, sent, failed, or UNKNOWN_STATUS
    deliver_after: datetime | None = None  # deferred by quiet hours
    event_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ZoneLabel:
    """The zone the axis is drawn in, and whose it is."""

    name: str  # an IANA name, or a UTC offset's name ("UTC+02:00")
    tz: tzinfo
    source: str  # "the user's zone", "the rules' default zone"


@dataclass(frozen=True, slots=True)
class Timeline:
    user_id: str
    zone: ZoneLabel
    events: tuple[EventMark, ...] = ()
    sessions: tuple[SessionBar, ...] = ()
    windows: tuple[ReminderWindow, ...] = ()
    notifications: tuple[NotificationMark, ...] = ()
    #: What history the picture is drawn from, and what it leaves out, a sentence each.
    coverage: tuple[str, ...] = ()
    drawn_at: datetime | None = None  # by the server's clock
