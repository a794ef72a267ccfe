"""The processing entry points of the parts installed for the running test."""

from datetime import datetime

from events.domain.events import Event
from events.service.processing import RecordResult
from eventsproject.bootstrap import components
from notifications.domain.notification import Notification


def record_event(event: Event) -> RecordResult:
    return components().processor.record(event)


def record_events(events: list[Event]) -> list[RecordResult]:
    return components().processor.record_many(events)


def drain_reminders() -> list[Notification]:
    return components().processor.drain_reminders()


def send_due_reminders(now: datetime) -> int:
    return components().processor.send_due_reminders(now)
