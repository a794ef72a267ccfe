"""The rules: given an event and the user's state, decide what should happen.

Rules decide, they don't do. Each one is a plain function of an event and a
read-only `UserState` that returns decisions; it never reads a clock, never
talks HTTP and never imports Django, so it is tested as plain Python.

`EVENT_RULES` is the strategy map: adding a rule is one function plus one
entry. Every rule of an event sees the same state, taken before any of them.
"""

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from events.decisions import (
    ArmReminder,
    CancelReminder,
    CloseSession,
    Decision,
    Notify,
    OpenSession,
    Reminder,
)
from events.domain import (
    AppLaunched,
    Event,
    EventType,
    TrainingProgramEvent,
    TrainingProgramFinished,
    TrainingProgramStarted,
)
from events.repository import UserState
from notifications.domain import (
    Notification,
    NotificationKind,
    Reason,
    TriggerEvent,
    notification_id,
)

TRAINING_DOSE = timedelta(minutes=30)
REMINDER_DELAY = timedelta(minutes=10)

# Each rule takes the event type it is mapped to; Any lets one map hold them all.
Rule = Callable[[Any, UserState], Sequence[Decision]]


def open_training_session(event: TrainingProgramStarted, state: UserState) -> list[Decision]:
    """A start opens the session; starting the same program again restarts it."""
    return [OpenSession(event)]


def close_training_session(event: TrainingProgramEvent, state: UserState) -> list[Decision]:
    if event.training_program_id not in state.open_sessions:
        return []
    return [CloseSession(event.session_key)]


def congratulate_training_dose(event: TrainingProgramFinished, state: UserState) -> list[Decision]:
    """A finished session longer than the daily dose (strictly) earns a congratulation."""
    started = state.open_sessions.get(event.training_program_id)
    if started is None:
        return []
    trained = event.occurred_at - started.occurred_at
    if trained <= TRAINING_DOSE:
        return []
    return [Notify(_congratulation(started, event, trained))]


def arm_start_reminder(event: AppLaunched, state: UserState) -> list[Decision]:
    """A launch arms one reminder; later launches merge into the pending one."""
    if state.pending_reminder is not None:
        return []
    return [ArmReminder(Reminder(launch=event, deadline=event.occurred_at + REMINDER_DELAY))]


def cancel_start_reminder(event: TrainingProgramStarted, state: UserState) -> list[Decision]:
    """Starting a program at or before the deadline means no reminder is needed."""
    reminder = state.pending_reminder
    if reminder is None or event.occurred_at > reminder.deadline:
        return []
    return [CancelReminder(event.user_id)]


def remind_to_start(reminder: Reminder) -> Notification:
    """The notification of a reminder whose deadline the clock has passed."""
    launch = reminder.launch
    rule = remind_to_start.__name__
    return Notification(
        notification_id=notification_id(rule, launch.event_id),
        kind=NotificationKind.START_TRAINING_REMINDER,
        user_id=launch.user_id,
        device_id=launch.device_id,
        message="Your training is waiting: start a program now and get today's dose in!",
        triggered_at=reminder.deadline,
        reason=Reason(
            rule=rule,
            events=(_trigger(launch),),
            figures={
                "deadline": reminder.deadline.isoformat(),
                "delay_minutes": REMINDER_DELAY // timedelta(minutes=1),
            },
        ),
    )


def _congratulation(
    started: TrainingProgramStarted, finished: TrainingProgramFinished, trained: timedelta
) -> Notification:
    minutes = trained // timedelta(minutes=1)
    rule = congratulate_training_dose.__name__
    return Notification(
        notification_id=notification_id(rule, started.event_id, finished.event_id),
        kind=NotificationKind.TRAINING_DOSE_CONGRATULATION,
        user_id=finished.user_id,
        device_id=finished.device_id,
        message=f"Great job! You trained for {minutes} minutes: today's training dose is done.",
        triggered_at=finished.occurred_at,
        minutes=minutes,
        reason=Reason(
            rule=rule,
            events=(_trigger(started), _trigger(finished)),
            figures={
                "trained_seconds": int(trained.total_seconds()),
                "threshold_minutes": TRAINING_DOSE // timedelta(minutes=1),
            },
        ),
    )


def _trigger(event: Event) -> TriggerEvent:
    return TriggerEvent(event.event_id, event.event_type.value, event.occurred_at)


EVENT_RULES: dict[EventType, tuple[Rule, ...]] = {
    EventType.APP_LAUNCHED: (arm_start_reminder,),
    EventType.TRAINING_PROGRAM_STARTED: (cancel_start_reminder, open_training_session),
    EventType.TRAINING_PROGRAM_CANCELLED: (close_training_session,),
    EventType.TRAINING_PROGRAM_FINISHED: (congratulate_training_dose, close_training_session),
    EventType.UNKNOWN: (),
}


def decide(event: Event, state: UserState) -> list[Decision]:
    """Every decision the rules of this event's type take, in map order."""
    return [decision for rule in EVENT_RULES[event.event_type] for decision in rule(event, state)]
