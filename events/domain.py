"""Domain events: what happened in the app, whatever wire format carried it.

Events are frozen, behaviour-less dataclasses named in the past tense. Every
event knows its `EventType`; an event whose type this service does not know
becomes an `UnknownEvent`, never an error.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
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
