"""Domain events: what happened in the app, whatever wire format carried it.

Events are frozen, behaviour-less dataclasses named in the past tense. Each
type is declared once, with `@declare`: its name, and its names in the formats
that name it otherwise. Everything else is derived from `EVENT_TYPES`: every wire
format's serializers (events/wire/formats.py), the stores' codec, the OpenAPI
schema. An event whose type this service does not know becomes an
`UnknownEvent`, never an error.

An event carries three times (docs/time.md): `occurred_at` by the device's
clock, `sent_at` by the device's clock when it sent the event (optional), and
`received_at` by the server's clock (none in a replay, which has no wall
clock). The rules judge it by `effective_at`: the receive time less the wait on
the device when both are known (Segment's skew correction), else `occurred_at`.
The device's and the server's stamps are not part of the event's identity: a
retry sent later is still the same event.
"""

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar, TypeVar

from events.domain.frozen import quick_init


@quick_init
@dataclass(frozen=True, slots=True)
class Event:
    #: The type's name: v2's and CloudEvents' `type`, the API's, the stores'.
    event_type: ClassVar[str]

    event_id: str
    user_id: str
    device_id: str
    occurred_at: datetime
    sent_at: datetime | None = field(default=None, compare=False, kw_only=True)
    received_at: datetime | None = field(default=None, compare=False, kw_only=True)
    #: The user's zone as the event states it (docs/time.md, "The user's zone"): an IANA
    #: name, and the UTC offset its timestamp was written with; neither is part of its identity.
    timezone: str | None = field(default=None, compare=False, kw_only=True)
    utc_offset: timedelta | None = field(default=None, compare=False, kw_only=True)

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


@quick_init
@dataclass(frozen=True, slots=True)
class TrainingProgramEvent(Event):
    """The payload of every training event: the program it is about."""

    training_program_id: str
    training_program_title: str | None = None

    @property
    def session_key(self) -> tuple[str, str]:
        return (self.user_id, self.training_program_id)


@quick_init
@dataclass(frozen=True, slots=True)
class UnknownEvent(Event):
    """An event of a type this service does not handle (yet); no rule runs for it."""

    event_type = "unknown"
    raw_type: str = ""


_E = TypeVar("_E", bound=type[Event])


@dataclass(frozen=True, slots=True)
class Declaration:
    """An event type as the wire formats name it."""

    name: str
    event_class: type[Event]
    #: The brief's format's `type`, where it differs.
    legacy_name: str
    #: Segment's `event` of a `track` message.
    segment_name: str


class EventTypes:
    """The declared event types, in the order declared. `generation` changes with each
    declaration, so that what is derived from them (serializers, schema) can be rebuilt."""

    def __init__(self) -> None:
        self._declared: dict[str, Declaration] = {}
        self.generation = 0

    def declare(
        self, name: str, *, legacy: str | None = None, segment: str | None = None
    ) -> Callable[[_E], _E]:
        """A class decorator: the event type `name`, named `legacy` in the brief's format and
        `segment` in Segment's (by default: `name`, and `name` in title case)."""

        def declared(event_class: _E) -> _E:
            segment_name = segment or name.replace("_", " ").title()
            self._add(Declaration(name, event_class, legacy or name, segment_name))
            event_class.event_type = name
            if "__slots__" in vars(event_class):  # a dataclass with slots, as every type here
                quick_init(event_class)
            return event_class

        return declared

    def remove(self, name: str) -> None:
        """Forget a type: for a test that declared one of its own."""
        del self._declared[name]
        self.generation += 1

    def class_named(self, name: str) -> type[Event]:
        """The class of the type `name`, or of unknown events for "unknown"."""
        if name == UnknownEvent.event_type:
            return UnknownEvent
        return self._declared[name].event_class

    def __iter__(self) -> Iterator[Declaration]:
        return iter(tuple(self._declared.values()))

    def _add(self, declaration: Declaration) -> None:
        if declaration.name in self._declared or declaration.name == UnknownEvent.event_type:
            raise ValueError(f"Event type {declaration.name!r} is declared twice.")
        for taken in self._declared.values():
            if taken.legacy_name == declaration.legacy_name:
                raise ValueError(f"{taken.name!r} is {declaration.legacy_name!r} already.")
            if taken.segment_name == declaration.segment_name:
                raise ValueError(f"{taken.name!r} is {declaration.segment_name!r} already.")
        self._declared[declaration.name] = declaration
        self.generation += 1


EVENT_TYPES = EventTypes()
declare = EVENT_TYPES.declare


# --- The event types ------------------------------------------------------------------


@declare("app_launched", legacy="app_launch", segment="Application Opened")
@dataclass(frozen=True, slots=True)
class AppLaunched(Event):
    """The app came to the foreground."""


@declare("training_program_started")
@dataclass(frozen=True, slots=True)
class TrainingProgramStarted(TrainingProgramEvent):
    """A session of a program began (or began again)."""


@declare("training_program_cancelled")
@dataclass(frozen=True, slots=True)
class TrainingProgramCancelled(TrainingProgramEvent):
    """A session ended before its program did."""


@declare("training_program_finished")
@dataclass(frozen=True, slots=True)
class TrainingProgramFinished(TrainingProgramEvent):
    """A session reached its program's end."""


def fingerprint(*parts: object) -> str:
    """A stable id for an event that came without one, derived from its content."""
    canonical = "\x1f".join(str(part) for part in parts)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
