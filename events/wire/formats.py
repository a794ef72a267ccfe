"""Which serializer parses an incoming event: each wire format's, built from the declarations.

Each format (`WIRE_FORMATS`) says where its events keep their type name, what
it calls each declared type, and which serializer reads each payload (the
fields a domain class carries). The per-type serializers are derived from the
event types declared in events/domain/events.py: DRF serializers like any other,
subclasses of the payload's serializer with the type's class and name, named
as their OpenAPI components are (`LegacyAppLaunchSerializer`,
`V2TrainingProgramStartedSerializer`, ...).

`IncomingEventSerializer` is a short dispatcher, like the rules' strategy map: it
picks the format's table (given by the HTTP layer — a media type, an endpoint — or,
for the app's own formats, told by `schema_version`), the serializer of the
event's type name in it, and returns the frozen domain event that serializer
yields. A type name the format does not know is not an error: the format's
envelope serializer still checks the common fields and yields an `UnknownEvent`.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from operator import attrgetter
from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty

from events.domain.events import EVENT_TYPES, Declaration, Event, TrainingProgramEvent
from events.wire import cloudevents, segment
from events.wire.serializers import (
    EventFormat,
    EventSerializer,
    LegacyEventSerializer,
    LegacyTrainingProgramSerializer,
    TypeNameField,
    V2EventSerializer,
    V2TrainingProgramEventSerializer,
    require_object,
)


@dataclass(frozen=True, slots=True)
class WireFormat:
    """How one format carries the declared event types."""

    #: The serializer of each payload, by the domain class that carries it, most specific
    #: first; the one for `Event` is the envelope, which also reads any unknown type.
    payloads: Mapping[type[Event], type[EventSerializer]]
    #: The format's name for a type, and the prefix of its serializers' names.
    name_of: Callable[[Declaration], str]
    prefix: str
    #: Where an event keeps its type name, and how to read it.
    read_type_name: Callable[[Mapping[str, Any]], object]
    #: Whether each type's serializer checks `type` (one name each: the OpenAPI oneOf).
    checks_type: bool = True

    @property
    def envelope(self) -> type[EventSerializer]:
        return self.payloads[Event]


def _type_field(data: Mapping[str, Any]) -> object:
    return data.get("type")


WIRE_FORMATS: dict[EventFormat, WireFormat] = {
    EventFormat.LEGACY: WireFormat(
        {TrainingProgramEvent: LegacyTrainingProgramSerializer, Event: LegacyEventSerializer},
        attrgetter("legacy_name"),
        "Legacy",
        _type_field,
    ),
    EventFormat.V2: WireFormat(
        {TrainingProgramEvent: V2TrainingProgramEventSerializer, Event: V2EventSerializer},
        attrgetter("name"),
        "V2",
        _type_field,
    ),
    EventFormat.CLOUDEVENTS: WireFormat(
        {
            TrainingProgramEvent: cloudevents.CloudEventTrainingProgramSerializer,
            Event: cloudevents.CloudEventSerializer,
        },
        attrgetter("name"),
        "CloudEvent",
        cloudevents.type_name,
        checks_type=False,  # any reverse-DNS prefix: events/api/schema_rules.py documents it
    ),
    EventFormat.SEGMENT: WireFormat(
        {
            TrainingProgramEvent: segment.TrainingProgramMessageSerializer,
            Event: segment.MessageSerializer,
        },
        attrgetter("segment_name"),
        "",
        segment.type_name,
        checks_type=False,  # the name is in `event`, and only for a track message
    ),
}


def type_names(event_format: EventFormat) -> dict[str, type[EventSerializer]]:
    """The format's name of each declared type, and the serializer of that type."""
    return _tables(EVENT_TYPES.generation)[event_format]


def serializers_of(event_format: EventFormat) -> list[type[EventSerializer]]:
    """Each declared type's serializer, in the order declared, then the envelope's."""
    return [*type_names(event_format).values(), WIRE_FORMATS[event_format].envelope]


@cache
def _tables(generation: int) -> dict[EventFormat, dict[str, type[EventSerializer]]]:
    # One set of classes per generation of the declarations: the schema sees the same
    # class each time, and a type declared later (by a test) gets its own.
    return {
        event_format: {
            wire.name_of(declaration): _serializer_class(wire, declaration)
            for declaration in EVENT_TYPES
        }
        for event_format, wire in WIRE_FORMATS.items()
    }


def _serializer_class(wire: WireFormat, declaration: Declaration) -> type[EventSerializer]:
    name = wire.name_of(declaration)
    payload = next(
        wire.payloads[kind] for kind in declaration.event_class.__mro__ if kind in wire.payloads
    )
    body: dict[str, Any] = {"event_class": declaration.event_class, "__module__": __name__}
    if wire.checks_type:
        body["type"] = TypeNameField(name)
    class_name = wire.prefix + "".join(word.title() for word in _words(name)) + "Serializer"
    return type(class_name, (payload,), body)


def _words(name: str) -> list[str]:
    return name.replace("_", " ").split()


def detect_format(data: Mapping[str, Any]) -> EventFormat:
    """v2 events say so with `schema_version`; any other JSON object is the legacy format."""
    return EventFormat.V2 if "schema_version" in data else EventFormat.LEGACY


class IncomingEventSerializer(serializers.Serializer[Event]):
    """One incoming event in `event_format`, or in one of the app's own formats if None."""

    def __init__(self, *args: Any, event_format: EventFormat | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.event_format = event_format

    def run_validation(self, data: Any = empty) -> Any:
        # A JSON object, the common case, past DRF's steps around `to_internal_value`: its
        # empty-value checks pass an object as is, and there are no validators to run.
        if type(data) is dict and self._validates_nothing:
            return self.to_internal_value(data)
        return super().run_validation(data)

    @cached_property
    def _validates_nothing(self) -> bool:
        return not (self.read_only or self.validators) and (
            type(self).validate is serializers.Serializer.validate
        )

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        require_object(data)  # before DRF calls a null body "this field"
        return super().validate_empty_values(data)

    def to_internal_value(self, data: Any) -> Event:
        require_object(data)
        event_format = self.event_format or detect_format(data)
        serializer = _serializer_for(event_format, data)
        return serializer.to_event(serializer.run_validation(data))


def _serializer_for(event_format: EventFormat, data: Mapping[str, Any]) -> EventSerializer:
    name = WIRE_FORMATS[event_format].read_type_name(data)
    instances = _instances(EVENT_TYPES.generation)[event_format]
    if isinstance(name, str) and name in instances:
        return instances[name]
    return instances[None]  # the envelope reports what is wrong with the name, if anything


@cache
def _instances(generation: int) -> dict[EventFormat, dict[str | None, EventSerializer]]:
    # run_validation keeps no per-call state: one instance per format and type is reused.
    return {
        event_format: {
            **{name: serializer() for name, serializer in table.items()},
            None: WIRE_FORMATS[event_format].envelope(),
        }
        for event_format, table in _tables(generation).items()
    }
