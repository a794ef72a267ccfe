"""Parsing events off the wire: DRF serializers, polymorphic on `type`.

`IncomingEventSerializer` is a short dispatcher: it reads `type`, picks the
serializer of that event type from `BRIEF_SERIALIZERS` and returns the frozen
domain event it yields. Serializers check shape only — no state, no rules.
An unknown `type` is not an error: the envelope serializer still checks the
common fields and yields an `UnknownEvent`.
"""

from collections.abc import Mapping
from dataclasses import fields
from datetime import UTC
from functools import cache
from typing import Any, ClassVar

from django.core.validators import RegexValidator
from rest_framework import serializers
from rest_framework.settings import api_settings

from events.domain import (
    AppLaunched,
    Event,
    EventType,
    TrainingProgramCancelled,
    TrainingProgramFinished,
    TrainingProgramStarted,
    UnknownEvent,
    fingerprint,
)

_JSON_TYPE_NAMES = {
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}

no_control_characters = RegexValidator(
    r"[\x00-\x1f\x7f]",
    inverse_match=True,
    message="Control characters are not allowed.",
    code="control_characters",
)


def json_type_name(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text."""

    default_error_messages = {"not_a_string": "Expected a string but got {input_type}."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(no_control_characters)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string", input_type=json_type_name(data))
        return str(super().to_internal_value(data))


def identifier_field(**kwargs: Any) -> StrictCharField:
    return StrictCharField(max_length=128, **kwargs)


def event_time_field(**kwargs: Any) -> serializers.DateTimeField:
    """`YYYY-MM-DD HH:MM:SS` is read as UTC; ISO 8601 with an offset is converted to UTC."""
    return serializers.DateTimeField(default_timezone=UTC, **kwargs)


class BriefEventSerializer(serializers.Serializer[Event]):
    """The envelope every event of the brief's format carries."""

    event_class: ClassVar[type[Event]] = UnknownEvent

    user_id = identifier_field()
    device_id = identifier_field()
    type = identifier_field(source="raw_type")
    time_stamp = event_time_field(source="occurred_at")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._event_fields = frozenset(field.name for field in fields(self.event_class))

    def to_event(self, attrs: dict[str, Any]) -> Event:
        """The domain event of validated attributes; the id is a fingerprint of the content."""
        event_id = fingerprint(
            attrs["user_id"],
            attrs["device_id"],
            attrs["raw_type"],
            attrs.get("training_program_id", ""),
            attrs["occurred_at"].isoformat(),
        )
        accepted = {name: value for name, value in attrs.items() if name in self._event_fields}
        return self.event_class(event_id=event_id, **accepted)


class AppLaunchSerializer(BriefEventSerializer):
    event_class = AppLaunched


class BriefTrainingProgramSerializer(BriefEventSerializer):
    training_program_id = identifier_field()
    training_program_title = StrictCharField(max_length=256, required=False)


class TrainingProgramStartedSerializer(BriefTrainingProgramSerializer):
    event_class = TrainingProgramStarted


class TrainingProgramCancelledSerializer(BriefTrainingProgramSerializer):
    event_class = TrainingProgramCancelled


class TrainingProgramFinishedSerializer(BriefTrainingProgramSerializer):
    event_class = TrainingProgramFinished


#: The brief's names for the event types it knows; any other name is UNKNOWN.
BRIEF_TYPE_NAMES: dict[str, EventType] = {
    "app_launch": EventType.APP_LAUNCHED,
    "training_program_started": EventType.TRAINING_PROGRAM_STARTED,
    "training_program_cancelled": EventType.TRAINING_PROGRAM_CANCELLED,
    "training_program_finished": EventType.TRAINING_PROGRAM_FINISHED,
}

BRIEF_SERIALIZERS: dict[EventType, type[BriefEventSerializer]] = {
    EventType.APP_LAUNCHED: AppLaunchSerializer,
    EventType.TRAINING_PROGRAM_STARTED: TrainingProgramStartedSerializer,
    EventType.TRAINING_PROGRAM_CANCELLED: TrainingProgramCancelledSerializer,
    EventType.TRAINING_PROGRAM_FINISHED: TrainingProgramFinishedSerializer,
    EventType.UNKNOWN: BriefEventSerializer,
}


class IncomingEventSerializer(serializers.Serializer[Event]):
    """One incoming event, in any supported format, parsed into a domain event."""

    default_error_messages = {"not_an_object": "Expected a JSON object but got {input_type}."}

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        self._require_object(data)  # before DRF calls a null body "this field"
        return super().validate_empty_values(data)

    def to_internal_value(self, data: Any) -> Event:
        self._require_object(data)
        serializer = _serializer_for(_brief_event_type(data.get("type")))
        return serializer.to_event(serializer.run_validation(data))

    def _require_object(self, data: Any) -> None:
        if isinstance(data, Mapping):
            return
        message = self.error_messages["not_an_object"].format(input_type=json_type_name(data))
        raise serializers.ValidationError(
            {api_settings.NON_FIELD_ERRORS_KEY: [message]}, code="not_an_object"
        )


class EventRepresentationSerializer(serializers.Serializer[Any]):
    """A domain event as the API shows it back."""

    event_id = serializers.CharField()
    type = serializers.CharField(source="event_type")
    user_id = serializers.CharField()
    device_id = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    training_program_id = serializers.CharField(required=False)
    training_program_title = serializers.CharField(required=False)
    raw_type = serializers.CharField(required=False)


def _brief_event_type(raw_type: object) -> EventType:
    if not isinstance(raw_type, str):
        return EventType.UNKNOWN  # the envelope serializer reports what is wrong with it
    return BRIEF_TYPE_NAMES.get(raw_type, EventType.UNKNOWN)


@cache
def _serializer_for(event_type: EventType) -> BriefEventSerializer:
    # Serializers keep no per-call state in run_validation: one instance per type is reused.
    return BRIEF_SERIALIZERS[event_type]()
