"""Event processing: the one path every event takes, from the API or a replay.

`record_event` checks the event in (duplicates and conflicts stop there),
stores it and sends `event_recorded`; its receiver calls `apply_rules`, which
asks the rules for decisions over the user's state — the user's overdue
reminder first, then the strategy map — and carries them out.
Reminders whose users fell silent are sent by `send_due_reminders` (the
ticker, on the server's wall clock) or, at the end of a replay, by
`drain_reminders`. Processing is serialised by one lock, so that a user's state
always sees that user's events in the order they were recorded.
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

from events import metrics
from events.apps import EventsConfig
from events.decisions import (
    ArmReminder,
    CancelReminder,
    CloseSession,
    Decision,
    DecisionRecord,
    ForgetSentReminder,
    Notify,
    OpenSession,
    SendReminder,
    Trigger,
)
from events.domain import Event, UnknownEvent
from events.repository import Arrival, EventRepository
from events.rules import decide, send_reminder
from events.signals import event_recorded
from events.ticker import ReminderTicker
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


def get_ticker() -> ReminderTicker:
    return _config().ticker


def record_event(event: Event) -> RecordResult:
    with _processing:
        repository = get_repository()
        arrival = repository.check_in(event)
        if arrival is not Arrival.NEW:
            metrics.EVENTS[event.event_type, arrival] += 1
            return _refused(arrival, event)
        try:
            repository.remember_event(event)
            event_recorded.send(sender=type(event), event=event)
        except Exception:
            repository.forget(event)  # so that a retry is processed, not a duplicate
            raise
        result = _result_of(event)
        metrics.EVENTS[event.event_type, result.outcome] += 1
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "event %s %s: %s for user %s",
            event.event_id,
            result.outcome,
            event.event_type,
            event.user_id,
        )
    return result


def apply_rules(event: Event) -> None:
    config = _config()
    repository = config.repository
    decisions = decide(event, repository.user_state(event.user_id), config.thresholds)
    _carry_out(repository, decisions)


def send_due_reminders(now: datetime) -> int:
    """Silence, by the server's clock: send the reminders due at `now`, one at a time (one
    that fails leaves the others queued). Returns how many."""
    repository = get_repository()
    sent = 0
    with _processing:
        while (reminder := repository.pop_due_reminder(now)) is not None:
            _carry_out(repository, send_reminder(reminder, Trigger.WALL_CLOCK, decided_at=now))
            sent += 1
    return sent


def drain_reminders() -> int:
    """The stream is over: send every pending reminder now. Returns how many."""
    repository = get_repository()
    with _processing:
        reminders = repository.pending_reminders()
        for reminder in reminders:
            _carry_out(repository, send_reminder(reminder, Trigger.END_OF_REPLAY))
    return len(reminders)


def _carry_out(repository: EventRepository, decisions: list[Decision]) -> None:
    for decision in decisions:
        _CARRY_OUT[type(decision)](repository, decision)


def _record_decision(repository: EventRepository, record: DecisionRecord) -> None:
    repository.record_decision(record)
    metrics.DECISIONS[record.outcome] += 1
    if not logger.isEnabledFor(logging.INFO):
        return  # the arguments below cost more than the check, on every decision
    logger.info(
        "decision %s by %s for user %s%s: events %s",
        record.outcome,
        record.rule,
        record.user_id,
        f" ({record.trigger})" if record.trigger else "",
        ",".join(event.event_id for event in record.events),
    )


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
    SendReminder: lambda repository, decision: repository.mark_reminder_sent(decision.reminder),
    ForgetSentReminder: lambda repository, decision: repository.forget_sent_reminder(
        decision.user_id
    ),
    Notify: lambda repository, decision: notifications.publish(decision.notification),
    DecisionRecord: _record_decision,
}
