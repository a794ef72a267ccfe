"""Which serializer parses an incoming event: a map per wire format, keyed by event type.

`IncomingEventSerializer` is a short dispatcher, like the rules' strategy map: it
picks the format's map (given by the HTTP layer — a media type, an endpoint — or,
for the app's own formats, told by `schema_version`), the serializer of the
event's type name in it, and returns the frozen domain event that serializer
yields. A type name the format does not know is not an error: the format's
envelope serializer still checks the common fields and yields an `UnknownEvent`.
"""

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from rest_framework import serializers

from events import cloudevents, segment
from events.domain import Event, EventType
from events.serializers import (
    EventFormat,
    EventSerializer,
    LegacyAppLaunchSerializer,
    LegacyEventSerializer,
    LegacyTrainingProgramCancelledSerializer,
    LegacyTrainingProgramFinishedSerializer,
    LegacyTrainingProgramStartedSerializer,
    V2AppLaunchedSerializer,
    V2EventSerializer,
    V2TrainingProgramCancelledSerializer,
    V2TrainingProgramFinishedSerializer,
    V2TrainingProgramStartedSerializer,
    require_object,
)

V2_TYPE_NAMES = {
    "app_launched": EventType.APP_LAUNCHED,
    "training_program_started": EventType.TRAINING_PROGRAM_STARTED,
    "training_program_cancelled": EventType.TRAINING_PROGRAM_CANCELLED,
    "training_program_finished": EventType.TRAINING_PROGRAM_FINISHED,
}

#: Each format's names for the event types it knows; any other name is UNKNOWN.
TYPE_NAMES: dict[EventFormat, dict[str, EventType]] = {
    EventFormat.LEGACY: {
        "app_launch": EventType.APP_LAUNCHED,
        "training_program_started": EventType.TRAINING_PROGRAM_STARTED,
        "training_program_cancelled": EventType.TRAINING_PROGRAM_CANCELLED,
        "training_program_finished": EventType.TRAINING_PROGRAM_FINISHED,
    },
    EventFormat.V2: V2_TYPE_NAMES,
    EventFormat.CLOUDEVENTS: V2_TYPE_NAMES,
    EventFormat.SEGMENT: segment.TYPE_NAMES,
}

#: Where each format keeps the type name, and how to read it.
TYPE_NAME_READERS: dict[EventFormat, Callable[[Mapping[str, Any]], object]] = {
    EventFormat.LEGACY: lambda data: data.get("type"),
    EventFormat.V2: lambda data: data.get("type"),
    EventFormat.CLOUDEVENTS: cloudevents.type_name,
    EventFormat.SEGMENT: segment.type_name,
}

SERIALIZERS: dict[EventFormat, dict[EventType, type[EventSerializer]]] = {
    EventFormat.LEGACY: {
        EventType.APP_LAUNCHED: LegacyAppLaunchSerializer,
        EventType.TRAINING_PROGRAM_STARTED: LegacyTrainingProgramStartedSerializer,
        EventType.TRAINING_PROGRAM_CANCELLED: LegacyTrainingProgramCancelledSerializer,
        EventType.TRAINING_PROGRAM_FINISHED: LegacyTrainingProgramFinishedSerializer,
        EventType.UNKNOWN: LegacyEventSerializer,
    },
    EventFormat.V2: {
        EventType.APP_LAUNCHED: V2AppLaunchedSerializer,
        EventType.TRAINING_PROGRAM_STARTED: V2TrainingProgramStartedSerializer,
        EventType.TRAINING_PROGRAM_CANCELLED: V2TrainingProgramCancelledSerializer,
        EventType.TRAINING_PROGRAM_FINISHED: V2TrainingProgramFinishedSerializer,
        EventType.UNKNOWN: V2EventSerializer,
    },
    EventFormat.CLOUDEVENTS: cloudevents.SERIALIZERS,
    EventFormat.SEGMENT: segment.SERIALIZERS,
}


def detect_format(data: Mapping[str, Any]) -> EventFormat:
    """v2 events say so with `schema_version`; any other JSON object is the legacy format."""
    return EventFormat.V2 if "schema_version" in data else EventFormat.LEGACY


class IncomingEventSerializer(serializers.Serializer[Event]):
    """One incoming event in `event_format`, or in one of the app's own formats if None."""

    def __init__(self, *args: Any, event_format: EventFormat | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.event_format = event_format

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        require_object(data)  # before DRF calls a null body "this field"
        return super().validate_empty_values(data)

    def to_internal_value(self, data: Any) -> Event:
        require_object(data)
        event_format = self.event_format or detect_format(data)
        serializer = _serializer_for(event_format, _event_type(event_format, data))
        return serializer.to_event(serializer.run_validation(data))


def _event_type(event_format: EventFormat, data: Mapping[str, Any]) -> EventType:
    name = TYPE_NAME_READERS[event_format](data)
    if not isinstance(name, str):
        return EventType.UNKNOWN  # the envelope serializer reports what is wrong with it
    return TYPE_NAMES[event_format].get(name, EventType.UNKNOWN)


@cache
def _serializer_for(event_format: EventFormat, event_type: EventType) -> EventSerializer:
    # run_validation keeps no per-call state: one instance per format and type is reused.
    return SERIALIZERS[event_format][event_type]()
