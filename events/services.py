"""Event processing: the one path every event takes, from the API or a replay.

`record_event` moves the event-time clock (firing reminders that fell due),
stores the event and sends `event_recorded`; its receiver calls `apply_rules`,
which asks the strategy map for decisions and carries them out. Processing is
serialised by one lock so that the clock and per-user state always see the
events in the order they were recorded.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any, cast

from django.apps import apps
from django.utils import timezone

from events import metrics
from events.apps import EventsConfig
from events.decisions import (
    ArmReminder,
    CancelReminder,
    CloseSession,
    Decision,
    Notify,
    OpenSession,
    Reminder,
)
from events.domain import Event, UnknownEvent
from events.repository import Arrival, EventRepository
from events.rules import decide, remind_to_start
from events.signals import event_recorded
from events.ticker import IdleTicker
from notifications import services as notifications

logger = logging.getLogger(__name__)

_processing = threading.RLock()


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    IGNORED = "ignored"  # an unknown type: recorded and counted, no rule runs
    DUPLICATE = "duplicate"  # seen before with the same content: nothing runs again
    CONFLICT = "conflict"  # an id seen before with other content: refused


@dataclass(frozen=True, slots=True)
class RecordResult:
    outcome: Outcome
    event: Event
    reason: str = ""


@cache
def _config() -> EventsConfig:
    return cast(EventsConfig, apps.get_app_config("events"))


def get_repository() -> EventRepository:
    return _config().repository


def get_ticker() -> IdleTicker:
    return _config().ticker


def record_event(event: Event) -> RecordResult:
    with _processing:
        repository = get_repository()
        arrival = repository.check_in(event)
        if arrival is not Arrival.NEW:
            metrics.events_counter(event.event_type, arrival).inc()
            return _refused(arrival, event)
        try:
            _process(event)
        except Exception:
            repository.forget(event.event_id)  # so that a retry is processed, not a duplicate
            raise
    get_ticker().saw_event(event.occurred_at)
    result = _result_of(event)
    metrics.events_counter(event.event_type, result.outcome).inc()
    logger.debug(
        "event %s %s: %s for user %s",
        event.event_id,
        result.outcome,
        event.event_type,
        event.user_id,
    )
    return result


def _process(event: Event) -> None:
    # A device whose clock runs ahead must not move everyone's clock into the future.
    _fire_due_reminders(min(event.occurred_at, timezone.now()))
    get_repository().remember_event(event)
    event_recorded.send(sender=type(event), event=event)


def apply_rules(event: Event) -> None:
    repository = get_repository()
    for decision in decide(event, repository.user_state(event.user_id)):
        _CARRY_OUT[type(decision)](repository, decision)


def advance_clock(to: datetime) -> None:
    """Move the clock without an event (the idle ticker); reminders due before `to` fire."""
    with _processing:
        _fire_due_reminders(to)


def drain_reminders() -> int:
    """The stream is over: fire every pending reminder now. Returns how many."""
    with _processing:
        reminders = get_repository().pop_all_reminders()
        _fire(reminders)
    return len(reminders)


def _fire_due_reminders(clock: datetime) -> None:
    """Before an event at `clock` applies, every reminder due strictly before it fires."""
    _fire(get_repository().advance_clock(clock))


def _fire(reminders: list[Reminder]) -> None:
    for reminder in reminders:
        logger.info(
            "reminder for user %s due %s fires (launch %s)",
            reminder.user_id,
            reminder.deadline.isoformat(),
            reminder.launch.event_id,
        )
        notifications.publish(remind_to_start(reminder))


def _refused(arrival: Arrival, event: Event) -> RecordResult:
    logger.info("event %s refused as %s", event.event_id, arrival)
    if arrival is Arrival.DUPLICATE:
        return RecordResult(Outcome.DUPLICATE, event, "this event was already recorded")
    reason = "this event_id was already recorded with different content"
    return RecordResult(Outcome.CONFLICT, event, reason)


def _result_of(event: Event) -> RecordResult:
    if isinstance(event, UnknownEvent):
        reason = f"unknown event type {event.raw_type!r}: no rule handles it"
        return RecordResult(Outcome.IGNORED, event, reason)
    return RecordResult(Outcome.ACCEPTED, event)


_CARRY_OUT: dict[type[Decision], Callable[[EventRepository, Any], object]] = {
    OpenSession: lambda repository, decision: repository.open_session(decision.started),
    CloseSession: lambda repository, decision: repository.close_session(decision.session_key),
    ArmReminder: lambda repository, decision: repository.arm_reminder(decision.reminder),
    CancelReminder: lambda repository, decision: repository.cancel_reminder(decision.user_id),
    Notify: lambda repository, decision: notifications.publish(decision.notification),
}
