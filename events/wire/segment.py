"""Segment's Tracking API spec, as Segment's and RudderStack's SDKs send it, read as events.

The mapping (docs/events.md, "Segment"): a `track` message's `event` names the type
(`Application Opened`, Segment's mobile lifecycle event, is an app launch;
`Training Program Started`, `… Cancelled`, `… Finished` carry
`properties.training_program_id`); `userId`, else `anonymousId`, is the user;
`context.device.id`, else `anonymousId`, the device; `messageId` the event id.
Times follow Segment's semantics (`TIMES`): a `timestamp` the caller set is the
time, as is (a historical import, years before `sentAt`, is one); without it,
`originalTimestamp` is the device's clock, which `sentAt` corrects as v2's does.
`context.timezone` is the user's IANA zone (Segment's mobile SDKs send it), and the offset
of the time the event takes the user's offset.
Other message types (`identify`, `screen`, …) and event names are unknown events.
"""

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty

from events.domain.events import fingerprint
from events.wire.serializers import (
    MAX_AHEAD_CORRECTED,
    DeviceTimesSerializer,
    EventListField,
    EventTimeField,
    FixedFieldsSerializer,
    StrictCharField,
    TimeZoneField,
    identifier_field,
    require_object,
    title_field,
)

TRACK = "track"

#: Where a message's time comes from, the first present first, and whether `sentAt` corrects
#: it: Segment takes a `timestamp` set by the caller as is, and corrects the device's clock.
TIMES: tuple[tuple[str, bool], ...] = (("timestamp", False), ("originalTimestamp", True))


def type_name(data: Mapping[str, Any]) -> object:
    """A track message's event name; other message types have none (unknown events)."""
    return data.get("event") if data.get("type", TRACK) == TRACK else None


def _optional_id() -> StrictCharField:
    return identifier_field(required=False, allow_null=True)


class DeviceSerializer(FixedFieldsSerializer):
    id = _optional_id()


class ContextSerializer(FixedFieldsSerializer):
    device = DeviceSerializer(required=False)
    timezone = TimeZoneField(allow_null=True)


class MessageSerializer(DeviceTimesSerializer):
    """The fields of every message; an unknown event name or message type stops here."""

    sent_field = "sentAt"
    offset_fields = tuple(field_name for field_name, _ in TIMES)
    default_error_messages = {
        "no_user": "Required: userId, or anonymousId.",
        "no_device": "Required: context.device.id, or anonymousId to stand for the device.",
        "no_time": "Required: timestamp, or originalTimestamp.",
    }

    type: serializers.Field[Any, Any, Any, Any] = StrictCharField(
        max_length=64, required=False, source="message_type"
    )
    event = StrictCharField(max_length=256, required=False, allow_null=True)
    userId = _optional_id()
    anonymousId = _optional_id()
    messageId = _optional_id()
    timestamp = EventTimeField(require_offset=True, max_ahead=None, required=False)
    originalTimestamp = EventTimeField(require_offset=True, max_ahead=None, required=False)
    sentAt = EventTimeField(
        require_offset=True, max_ahead=None, default=None, allow_null=True, source="sent_at"
    )
    context = ContextSerializer(required=False)  # type: ignore[assignment]  # Segment's name

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("userId") or attrs.get("anonymousId")):
            raise serializers.ValidationError(
                {"userId": [self.error_messages["no_user"]]}, code="no_user"
            )
        if not _device_of(attrs):
            missing = {"device": {"id": [self.error_messages["no_device"]]}}
            raise serializers.ValidationError({"context": missing}, code="no_device")
        return self._with_times(attrs)

    def _with_times(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """`occurred_at` and the `sent_at` that corrects it, from the first of `TIMES` sent."""
        for field_name, corrected in TIMES:
            if field_name in attrs:
                sent_at = attrs["sent_at"] if corrected else None
                times = {**attrs, "occurred_at": attrs[field_name], "sent_at": sent_at}
                return self.check_device_times(times, field_name)
        raise serializers.ValidationError(
            {"timestamp": [self.error_messages["no_time"]]}, code="no_time"
        )

    def normalise(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user_id = attrs.get("userId") or attrs["anonymousId"]
        message_type = attrs.get("message_type", TRACK)
        raw_type = (attrs.get("event") or "") if message_type == TRACK else message_type
        event_id = attrs.get("messageId") or fingerprint(
            "segment", user_id, message_type, raw_type, attrs["occurred_at"].isoformat()
        )
        return {
            **attrs,
            "event_id": event_id,
            "user_id": user_id,
            "device_id": _device_of(attrs),
            "raw_type": raw_type,
            "timezone": attrs.get("context", {}).get("timezone"),
        }


def _device_of(attrs: Mapping[str, Any]) -> str | None:
    device = attrs.get("context", {}).get("device", {})
    found: str | None = device.get("id") or attrs.get("anonymousId")
    return found


class TrainingPropertiesSerializer(FixedFieldsSerializer):
    training_program_id = identifier_field()
    training_program_title = title_field(default=None)


class TrainingProgramMessageSerializer(MessageSerializer):
    properties = TrainingPropertiesSerializer()

    def normalise(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return {**super().normalise(attrs), **attrs["properties"]}


class SegmentBatchSerializer(serializers.Serializer[dict[str, Any]]):
    """`POST /v1/batch`: the messages under `batch`, and the `sentAt` of the upload for the
    messages without their own."""

    batch = EventListField()
    sentAt = EventTimeField(
        require_offset=True, max_ahead=MAX_AHEAD_CORRECTED, required=False, allow_null=True
    )

    def run_validation(self, data: Any = empty) -> Any:
        require_object(data)  # a null body too, as on every ingestion endpoint
        return super().run_validation(data)
