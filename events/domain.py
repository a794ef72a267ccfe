"""Domain events: what happened in the app, whatever wire format carried it.

Events are frozen, behaviour-less dataclasses named in the past tense. Every
event knows its `EventType`; an event whose type this service does not know
becomes an `UnknownEvent`, never an error.

An event carries three times (docs/time.md): `occurred_at` by the device's
clock, `sent_at` by the device's clock when it sent the event (optional), and
`received_at` by the server's clock (none in a replay, which has no wall
clock). The rules judge it by `effective_at`: the receive time less the wait on
the device when both are known (Segment's skew correction), else `occurred_at`.
The device's and the server's stamps are not part of the event's identity: a
retry sent later is still the same event.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar


class EventType(StrEnum):
    APP_LAUNCHED = "app_launched"
    TRAINING_PROGRAM_STARTED = "training_program_started"
    TRAINING_PROGRAM_CANCELLED = "training_program_cancelled"
    TRAINING_PROGRAM_FINISHED = "training_program_finished"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Event:
    event_type: ClassVar[EventType]

    event_id: str
    user_id: str
    device_id: str
    occurred_at: datetime
    sent_at: datetime | None = field(default=None, compare=False, kw_only=True)
    received_at: datetime | None = field(default=None, compare=False, kw_only=True)

    @property
    def waited(self) -> timedelta | None:
        """How long the event waited on the device before it was sent, by the device's clock."""
        return None if self.sent_at is None else self.sent_at - self.occurred_at

    @property
    def effective_at(self) -> datetime:
        """The time the rules judge the event by, on its user's own timeline: received, less
        the wait on the device, when both are known (Segment's skew correction)."""
        if self.sent_at is None or self.received_at is None:
            return self.occurred_at
        return self.received_at - (self.sent_at - self.occurred_at)

    @property
    def corrected_at(self) -> datetime | None:
        """The effective time when the server corrected the device's clock, else None."""
        if self.sent_at is None or self.received_at is None:
            return None
        return self.effective_at

    @property
    def arrival(self) -> datetime | None:
        """When it reached the server, less the wait on the device (None in a replay)."""
        corrected = self.corrected_at
        return self.received_at if corrected is None else corrected


@dataclass(frozen=True, slots=True)
class AppLaunched(Event):
    event_type = EventType.APP_LAUNCHED


@dataclass(frozen=True, slots=True)
class TrainingProgramEvent(Event):
    training_program_id: str
    training_program_title: str | None = None

    @property
    def session_key(self) -> tuple[str, str]:
        return (self.user_id, self.training_program_id)


@dataclass(frozen=True, slots=True)
class TrainingProgramStarted(TrainingProgramEvent):
    event_type = EventType.TRAINING_PROGRAM_STARTED


@dataclass(frozen=True, slots=True)
class TrainingProgramCancelled(TrainingProgramEvent):
    event_type = EventType.TRAINING_PROGRAM_CANCELLED


@dataclass(frozen=True, slots=True)
class TrainingProgramFinished(TrainingProgramEvent):
    event_type = EventType.TRAINING_PROGRAM_FINISHED


@dataclass(frozen=True, slots=True)
class UnknownEvent(Event):
    """An event of a type this service does not handle (yet); no rule runs for it."""

    event_type = EventType.UNKNOWN
    raw_type: str = ""


def fingerprint(*parts: object) -> str:
    """A stable id for an event that came without one, derived from its content."""
    canonical = "\x1f".join(str(part) for part in parts)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
