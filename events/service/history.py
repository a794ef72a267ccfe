"""A user's recent history, gathered for their timeline picture (events/wire/timeline.py).

Nothing keeps a user's whole history: the picture shows what the stores still hold, and
says what that is (`coverage`, on the page and in the SVG's `<desc>`):

- the decision log: the user's latest decisions (EVENTS_DECISION_LOG_LIMIT), each with
  the events that led to it and all their times: every reminder window is a launch's
  decision, every notification a decision that earned one;
- the user's state: the events of their reorder window (EVENTS_REORDER_WINDOW_SECONDS
  back from their latest), their open sessions, their pending reminder and their zone;
- the service's most recent events, of all users (EVENTS_RECENT_LIMIT): the user's among
  them. A cancel is in no decision, so an old one is known from here or not at all;
- the outbox: each notification's delivery status, while it holds it.

Sessions are paired from the events in time order, as the rules pair them: a start
opens one, a cancel or a finish of its program closes it, another start restarts it.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import chain

from events.domain.controls import zone_in_force
from events.domain.decisions import NO_ZONE, DecisionRecord, UserState, Verdict, Zone
from events.domain.events import (
    AppLaunched,
    Event,
    TrainingProgramCancelled,
    TrainingProgramEvent,
    TrainingProgramFinished,
    TrainingProgramStarted,
)
from events.domain.rules import Thresholds, congratulate_training_dose
from events.ports import EventQueries
from events.service import selectors
from events.service.notices import KIND_OF_RULE
from events.wire.timeline import (
    PENDING,
    UNKNOWN_STATUS,
    EventMark,
    NotificationMark,
    ReminderWindow,
    SessionBar,
    Timeline,
    ZoneLabel,
)
from notifications.ports import DeliveryStatus, OutboxStore

USER_ZONE = "the user's zone"
DEFAULT_ZONE = "the rules' default zone: the user's events stated none"


@dataclass(frozen=True, slots=True)
class Kept:
    """How much history the stores keep (the settings'), for the picture to say."""

    decisions: int  # EVENTS_DECISION_LOG_LIMIT
    recent_events: int  # EVENTS_RECENT_LIMIT
    reorder_window: timedelta  # EVENTS_REORDER_WINDOW_SECONDS
    sent_notifications: int  # NOTIFICATIONS_RECENT_LIMIT


def user_timeline(
    queries: EventQueries,
    outbox: OutboxStore,
    user_id: str,
    thresholds: Thresholds,
    kept: Kept,
    drawn_at: datetime,
) -> Timeline | None:
    """What the stores hold of `user_id`'s history; None when they hold nothing."""
    records = queries.decisions(user_id)
    state = queries.user_state(user_id)
    recent = selectors.recent_events(queries, user_id=user_id)
    if not (records or state or recent):
        return None
    events = known_events(records, state, recent)
    notifications = notifications_of(records)
    statuses = outbox.statuses([(user_id, n.notification_id) for n in notifications])
    return Timeline(
        user_id=user_id,
        zone=zone_label(state.contact.zone, events, thresholds.default_zone),
        events=tuple(marks_of(events, records)),
        sessions=tuple(sessions_of(events, records, state)),
        windows=tuple(windows_of(records, state, thresholds.reminder_delay)),
        notifications=tuple(with_statuses(notifications, statuses)),
        coverage=coverage(kept, durable=outbox.durable),
        drawn_at=drawn_at,
    )


def known_events(
    records: Sequence[DecisionRecord], state: UserState, recent: Iterable[Event]
) -> list[Event]:
    """Every event of the user's the stores still hold, once each, in time order."""
    decided = (event for record in records for event in (*record.events, record.about))
    found: dict[str, Event] = {}
    for event in chain(_events_of_state(state), decided, recent):
        found.setdefault(event.event_id, event)
    return sorted(found.values(), key=lambda event: event.effective_at)


def _events_of_state(state: UserState) -> Iterable[Event]:
    yield from state.window.events
    yield from state.window.sessions_before.values()
    yield from state.open_sessions.values()
    for reminder in (state.pending_reminder, state.last_sent_reminder):
        if reminder is not None:
            yield reminder.launch


def zone_label(zone: Zone, events: Iterable[Event], default_zone: str) -> ZoneLabel:
    """The zone the user's decisions are judged in: the one their state keeps, else the
    one their events state (the state forgets it after a silence), else the default."""
    if zone == NO_ZONE:
        for event in events:
            zone = zone.after(event)
    tz, name = zone_in_force(zone, default_zone)
    stated = name == zone.name or (zone.offset is not None and name != default_zone)
    return ZoneLabel(name, tz, USER_ZONE if stated else DEFAULT_ZONE)


def marks_of(events: Iterable[Event], records: Sequence[DecisionRecord]) -> list[EventMark]:
    """A mark per event, with the outcomes the decision log gave it, oldest first."""
    outcomes: dict[str, list[str]] = {}
    for record in reversed(records):
        about = outcomes.setdefault(record.about.event_id, [])
        if record.outcome not in about:
            about.append(record.outcome)
    return [
        EventMark(
            event_id=event.event_id,
            event_type=event.event_type,
            at=event.effective_at,
            device_id=event.device_id,
            occurred_at=event.occurred_at,
            sent_at=event.sent_at,
            received_at=event.received_at,
            program=getattr(event, "training_program_id", None),
            outcomes=tuple(outcomes.get(event.event_id, ())),
        )
        for event in events
    ]


#: How each training event ends the session of its program that is open.
ENDINGS: dict[type[Event], str] = {
    TrainingProgramStarted: "restarted",
    TrainingProgramCancelled: "cancelled",
    TrainingProgramFinished: "finished",
}


def sessions_of(
    events: Iterable[Event], records: Sequence[DecisionRecord], state: UserState
) -> list[SessionBar]:
    """The sessions the events pair, in time order; those still open in the user's state
    reach the picture's end (a start whose end is not known any more draws no bar)."""
    finishes = {
        record.about.event_id: str(record.outcome)
        for record in reversed(records)  # oldest first: the newest outcome stays
        if record.rule == congratulate_training_dose.__name__
    }
    opened: dict[str, TrainingProgramStarted] = {}
    bars: list[SessionBar] = []
    for event in events:
        if isinstance(event, TrainingProgramEvent):
            bars += _ended(event, opened, finishes)
    still_open = {started.event_id for started in state.open_sessions.values()}
    bars += [
        SessionBar(started.training_program_id, started.effective_at, started.event_id, "open")
        for started in opened.values()
        if started.event_id in still_open
    ]
    return bars


def _ended(
    event: TrainingProgramEvent, opened: dict[str, TrainingProgramStarted], finishes: dict[str, str]
) -> list[SessionBar]:
    """The session `event` ends, if one of its program is open; `opened` kept up to date."""
    ending = ENDINGS.get(type(event))
    if ending is None:
        return []
    program = event.training_program_id
    started = opened.pop(program, None)
    if isinstance(event, TrainingProgramStarted):
        opened[program] = event
    if started is None:
        return []
    return [
        SessionBar(
            program=program,
            started=started.effective_at,
            start_id=started.event_id,
            ending=ending,
            ended=event.effective_at,
            end_id=event.event_id,
            outcome=finishes.get(event.event_id),
        )
    ]


def windows_of(
    records: Sequence[DecisionRecord], state: UserState, delay: timedelta
) -> list[ReminderWindow]:
    """A window per reminder decision (one per launch and outcome), and the pending one."""
    found: dict[tuple[str, str], ReminderWindow] = {}
    for record in records:
        window = _window(record, delay)
        if window is not None:
            found.setdefault((window.launch_id, window.outcome), window)
    pending = state.pending_reminder
    if pending is not None:
        launch = pending.launch
        found[(launch.event_id, PENDING)] = ReminderWindow(
            launch.event_id,
            launch.effective_at,
            pending.deadline,
            PENDING,
            due_at=pending.due_at,
            event_ids=pending.launch_ids,
        )
    return list(found.values())


def _window(record: DecisionRecord, delay: timedelta) -> ReminderWindow | None:
    """The window a reminder decision is about: from its launch (a merged one's own) to
    the reminder's deadline; a stale launch, which armed none, to when it would have been."""
    reminder, about = record.reminder, record.about
    if reminder is None and record.outcome is not Verdict.SKIPPED_STALE:
        return None  # not a reminder's decision
    if isinstance(about, AppLaunched):
        launch = about
    elif reminder is not None:
        launch = reminder.launch
    else:
        return None
    return ReminderWindow(
        launch_id=launch.event_id,
        opened=launch.effective_at,
        closes=launch.effective_at + delay if reminder is None else reminder.deadline,
        outcome=str(record.outcome),
        trigger=None if record.trigger is None else str(record.trigger),
        notification_id=record.notification_id,
        decided_at=record.decided_at,
        due_at=None if reminder is None else reminder.due_at,
        event_ids=tuple(event.event_id for event in record.events),
    )


def notifications_of(records: Sequence[DecisionRecord]) -> list[NotificationMark]:
    """A mark per notification the decisions earned, at its trigger time (a reminder's
    deadline, a congratulation's finish); its status still unknown."""
    found: dict[str, NotificationMark] = {}
    for record in records:
        if record.notification_id is None or record.notification_id in found:
            continue
        reminder = record.reminder
        kind = KIND_OF_RULE.get(record.rule)
        found[record.notification_id] = NotificationMark(
            notification_id=record.notification_id,
            kind=record.rule if kind is None else kind.value,
            at=record.about.effective_at if reminder is None else reminder.deadline,
            status=UNKNOWN_STATUS,
            deliver_after=record.deliver_after,
            event_ids=tuple(event.event_id for event in record.events),
        )
    return list(found.values())


def with_statuses(
    notifications: Sequence[NotificationMark], statuses: Sequence[DeliveryStatus | None]
) -> list[NotificationMark]:
    return [
        notification if status is None else replace(notification, status=str(status))
        for notification, status in zip(notifications, statuses, strict=True)
    ]


def coverage(kept: Kept, *, durable: bool) -> tuple[str, ...]:
    """What the picture is drawn from, and what that leaves out, a sentence each."""
    window = _duration(kept.reorder_window)
    said = (
        "Times are event times: the time the rules judge each event by (docs/time.md); "
        "server-clock times are in the titles.",
        f"Decisions: the user's latest {kept.decisions} (EVENTS_DECISION_LOG_LIMIT). Each "
        "reminder window is a launch's decision; each notification, a decision that earned one.",
        "Events: those of the decisions, of the user's reorder window (the last "
        f"{window} of their events, EVENTS_REORDER_WINDOW_SECONDS) and open sessions, and the "
        f"user's among the service's {kept.recent_events} latest events of all users "
        "(EVENTS_RECENT_LIMIT). No decision names a cancel: an older one may be missing, and "
        "its session with it.",
        "Delivery: each notification's status in the outbox, which keeps the latest "
        f"{kept.sent_notifications} sent ones (NOTIFICATIONS_RECENT_LIMIT); "
        "one it holds no more is unknown.",
    )
    if durable:
        return said
    return (*said, "This process keeps all of it in memory: a restart forgets it.")


def _duration(length: timedelta) -> str:
    hours, seconds = divmod(int(length.total_seconds()), 3600)
    if not seconds:
        return f"{hours} h"
    return f"{int(length.total_seconds()) // 60} min"
