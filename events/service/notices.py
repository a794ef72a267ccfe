"""What the user is told about a decision: the one table from outcomes to notifications.

A rule only records an outcome with the id of the notification it earns;
`notifications_of` turns those records into the notifications the outbox
delivers. A new kind of notification is one builder and one entry in `NOTICES`.
"""

from collections.abc import Callable, Iterable
from datetime import timedelta

from events.domain.decisions import DecisionRecord, Verdict
from events.domain.events import Event
from events.domain.rules import Thresholds, congratulate_training_dose, remind_to_start
from notifications.domain.notification import (
    Cause,
    Notification,
    NotificationKind,
    Reason,
    TriggerEvent,
)

MINUTE = timedelta(minutes=1)


def start_reminder(record: DecisionRecord, thresholds: Thresholds) -> Notification:
    reminder = record.reminder
    assert reminder is not None, "a sent reminder"
    assert record.notification_id is not None, "a sent reminder"
    launch = reminder.launch
    return Notification(
        notification_id=record.notification_id,
        kind=NotificationKind.START_TRAINING_REMINDER,
        user_id=launch.user_id,
        device_id=launch.device_id,
        message=thresholds.reminder_message,
        triggered_at=reminder.deadline,
        reason=Reason(
            rule=record.rule,
            events=(_trigger(launch),),
            figures={
                "deadline": reminder.deadline.isoformat(),
                "delay_minutes": (reminder.deadline - launch.effective_at) // MINUTE,
            },
        ),
        decision=_cause(record),
        rules_version=record.rules_version or None,
        deliver_after=record.deliver_after,
    )


def training_dose_congratulation(record: DecisionRecord, thresholds: Thresholds) -> Notification:
    assert record.notification_id is not None, "a congratulation"
    started, finished = record.events
    minutes = record.figures["minutes"]
    return Notification(
        notification_id=record.notification_id,
        kind=NotificationKind.TRAINING_DOSE_CONGRATULATION,
        user_id=finished.user_id,
        device_id=finished.device_id,
        message=thresholds.congratulation_message.format(minutes=minutes),
        triggered_at=finished.effective_at,
        minutes=minutes,
        reason=Reason(
            rule=record.rule,
            events=(_trigger(started), _trigger(finished)),
            figures={name: value for name, value in record.figures.items() if name != "minutes"},
        ),
        decision=_cause(record),
        rules_version=record.rules_version or None,
        deliver_after=record.deliver_after,
    )


#: The outcomes the user is told about, and how.
NOTICES: dict[Verdict, Callable[[DecisionRecord, Thresholds], Notification]] = {
    Verdict.SENT: start_reminder,
    Verdict.CONGRATULATED: training_dose_congratulation,
}


#: The kind of notification each notifying rule earns, by the rule's name in the records.
KIND_OF_RULE: dict[str, NotificationKind] = {
    remind_to_start.__name__: NotificationKind.START_TRAINING_REMINDER,
    congratulate_training_dose.__name__: NotificationKind.TRAINING_DOSE_CONGRATULATION,
}


def notifications_of(
    records: Iterable[DecisionRecord], thresholds: Thresholds
) -> list[Notification]:
    """The notifications the records earn, with the messages of the rules in force."""
    return [
        NOTICES[record.outcome](record, thresholds)
        for record in records
        if record.outcome in NOTICES
    ]


def _cause(record: DecisionRecord) -> Cause:
    return Cause(record.outcome, tuple(event.event_id for event in record.events), record.trigger)


def _trigger(event: Event) -> TriggerEvent:
    return TriggerEvent(event.event_id, event.event_type, event.occurred_at)
