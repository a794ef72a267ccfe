"""Builders of domain events for tests: times are offsets from a fixed base, in UTC."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from events.domain.decisions import DecisionRecord, Reminder, Trigger
from events.domain.events import (
    AppLaunched,
    Event,
    TrainingProgramCancelled,
    TrainingProgramFinished,
    TrainingProgramStarted,
    UnknownEvent,
    fingerprint,
)
from events.domain.rules import Thresholds, remind_to_start
from events.service.notices import notifications_of
from notifications.domain.notification import Notification

BASE_TIME = datetime(2021, 2, 28, 16, 0, 0, tzinfo=UTC)


def at(minutes: int = 0, seconds: int = 0) -> datetime:
    return BASE_TIME + timedelta(minutes=minutes, seconds=seconds)


def _common(kind: str, user: str, when: datetime, program: str = "") -> dict:
    device = f"device-of-{user}"
    return {
        "event_id": fingerprint(kind, user, device, program, when.isoformat()),
        "user_id": user,
        "device_id": device,
        "occurred_at": when,
    }


def launched(user: str, when: datetime) -> AppLaunched:
    return AppLaunched(**_common("launch", user, when))


def started(user: str, when: datetime, program: str = "p1") -> TrainingProgramStarted:
    return TrainingProgramStarted(
        **_common("start", user, when, program), training_program_id=program
    )


def cancelled(user: str, when: datetime, program: str = "p1") -> TrainingProgramCancelled:
    return TrainingProgramCancelled(
        **_common("cancel", user, when, program), training_program_id=program
    )


def finished(user: str, when: datetime, program: str = "p1") -> TrainingProgramFinished:
    return TrainingProgramFinished(
        **_common("finish", user, when, program), training_program_id=program
    )


def unknown(user: str, when: datetime, raw_type: str = "profile_viewed") -> UnknownEvent:
    return UnknownEvent(**_common(raw_type, user, when), raw_type=raw_type)


def received(event: Event, when: datetime, sent_at: datetime | None = None) -> Event:
    """The event as the API records it: received by the server at `when`."""
    return replace(event, received_at=when, sent_at=sent_at)


def reminder_for(user: str, minute: int = 0) -> Notification:
    """The notification of a reminder for `user`'s launch at `minute`."""
    reminder = Reminder(launch=launched(user, at(minute)), deadline=at(minute + 10))
    decided = remind_to_start(reminder, Trigger.OWN_EVENT)
    records = [decision for decision in decided if isinstance(decision, DecisionRecord)]
    [notification] = notifications_of(records, Thresholds())
    return notification


class FakeClock:
    """A wall clock that moves only when told to."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **elapsed: float) -> None:
        self.now += timedelta(**elapsed)
