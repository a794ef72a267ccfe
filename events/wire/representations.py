"""How the API shows what it holds: events (as every ingestion answer shows each one), a
user's state, and the decision log. Serializers of the domain's objects, read-only."""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField

from events.domain.decisions import Trigger, Verdict
from events.domain.events import Event


class PresentOnlyCharField(serializers.CharField):
    """Left out for events without the attribute; null where an event has it unset."""

    def get_attribute(self, instance: Any) -> Any:
        if not hasattr(instance, str(self.field_name)):
            raise SkipField
        return super().get_attribute(instance)


class KnownOnlyCharField(serializers.CharField):
    """Left out for events where the attribute is None: the user's zone, when not stated."""

    def get_attribute(self, instance: Any) -> Any:
        value = super().get_attribute(instance)
        if value is None:
            raise SkipField
        return value


@extend_schema_field({"type": "string", "pattern": "^[+-][0-9]{2}:[0-9]{2}$", "example": "+02:00"})
class UtcOffsetField(KnownOnlyCharField):
    """A UTC offset as a timestamp writes it (`+02:00`), left out when unknown."""

    def to_representation(self, value: Any) -> str:  # a timedelta
        return _offset_text(value)


def _offset_text(offset: timedelta) -> str:
    """`+02:00`, `-03:30`; `+00:00` for UTC, whose offset is known."""
    sign = "-" if offset < timedelta(0) else "+"
    hours, minutes = divmod(abs(offset) // timedelta(minutes=1), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


_ZONE_HELP = (
    "The user's IANA time zone as the event states it (docs/events.md, \"The user's zone\"); "
    "left out when it states none."
)
_OFFSET_HELP = (
    "The UTC offset the event's time was written with; left out when it had none "
    "(the legacy format's never gives one)."
)


class EventRepresentationSerializer(serializers.Serializer[Any]):
    """A domain event as the API shows it back, with its three times and the one it is judged by."""

    event_id = serializers.CharField()
    type = serializers.CharField(source="event_type")
    user_id = serializers.CharField()
    device_id = serializers.CharField()
    occurred_at = serializers.DateTimeField(default_timezone=UTC)
    sent_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    received_at = serializers.DateTimeField(default_timezone=UTC, allow_null=True)
    effective_at = serializers.DateTimeField(default_timezone=UTC, read_only=True)
    training_program_id = PresentOnlyCharField(required=False)
    training_program_title = PresentOnlyCharField(required=False, allow_null=True)
    raw_type = PresentOnlyCharField(required=False)
    timezone = KnownOnlyCharField(required=False, help_text=_ZONE_HELP)
    utc_offset = UtcOffsetField(required=False, help_text=_OFFSET_HELP)


def event_representation(event: Event) -> dict[str, Any]:
    """What `EventRepresentationSerializer` shows, without its per-field machinery: every
    answer to `POST /v1/event` and each item of a batch's answer shows one (a test holds
    the two equal)."""
    shown: dict[str, Any] = {
        "event_id": event.event_id,
        "type": event.event_type,
        "user_id": event.user_id,
        "device_id": event.device_id,
        "occurred_at": _utc_text(event.occurred_at),
        "sent_at": _utc_text(event.sent_at),
        "received_at": _utc_text(event.received_at),
        "effective_at": _utc_text(event.effective_at),
    }
    for name in _PRESENT_ONLY:
        if hasattr(event, name):
            shown[name] = getattr(event, name)
    if event.timezone is not None:
        shown["timezone"] = event.timezone
    if event.utc_offset is not None:
        shown["utc_offset"] = _offset_text(event.utc_offset)
    return shown


_PRESENT_ONLY = ("training_program_id", "training_program_title", "raw_type")


def _utc_text(moment: datetime | None) -> str | None:
    """As DRF's DateTimeField shows a time in UTC: ISO 8601, with Z."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"


@extend_schema_field(OpenApiTypes.URI)
class TimelineLinkField(serializers.Field):  # type: ignore[type-arg]
    """The URL of the user's timeline picture, from their id: absolute when the request is
    known, as DRF's own links are."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", _TIMELINE_HELP)
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: str) -> str:
        path = reverse("user-timeline", kwargs={"user_id": value})
        request = self.context.get("request")
        return path if request is None else request.build_absolute_uri(path)


_TIMELINE_HELP = (
    "The user's timeline as a picture: an HTML page (`?format=svg`: the SVG alone); "
    "README, 'Each user's timeline'."
)


class OpenSessionSerializer(serializers.Serializer[Any]):
    training_program_id = serializers.CharField()
    training_program_title = serializers.CharField(allow_null=True)
    started_at = serializers.DateTimeField(source="effective_at")
    event_id = serializers.CharField()


class PendingReminderSerializer(serializers.Serializer[Any]):
    launch_event_id = serializers.CharField(source="launch.event_id")
    launched_at = serializers.DateTimeField(source="launch.effective_at")
    deadline = serializers.DateTimeField(help_text="On the user's own timeline (event time).")
    due_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the server's clock sends it if the user sends nothing more "
        "(null in a replay).",
    )
    device_id = serializers.CharField(source="launch.device_id")


class UserStateSerializer(serializers.Serializer[Any]):
    user_id = serializers.CharField()
    open_sessions = OpenSessionSerializer(many=True)
    pending_reminder = PendingReminderSerializer(allow_null=True)
    timeline = TimelineLinkField(source="user_id")


class DecisionEventSerializer(serializers.Serializer[Any]):
    event_id = serializers.CharField()
    type = serializers.CharField(source="event_type")
    device_id = serializers.CharField()
    occurred_at = serializers.DateTimeField(help_text="By the device's clock.")
    sent_at = serializers.DateTimeField(allow_null=True, help_text="By the device's clock.")
    received_at = serializers.DateTimeField(allow_null=True, help_text="By the server's clock.")
    effective_at = serializers.DateTimeField(help_text="The time the rules judged it by.")
    timezone = KnownOnlyCharField(required=False, help_text=_ZONE_HELP)
    utc_offset = UtcOffsetField(required=False, help_text=_OFFSET_HELP)


class DecisionRecordSerializer(serializers.Serializer[Any]):
    """One entry of a user's decision log."""

    outcome = serializers.ChoiceField([str(verdict) for verdict in Verdict])
    about_event_id = serializers.CharField(
        source="about.event_id", help_text="The launch, start or finish this is the outcome of."
    )
    rule = serializers.CharField()
    trigger = serializers.ChoiceField([str(trigger) for trigger in Trigger], allow_null=True)
    decided_at = serializers.DateTimeField(
        allow_null=True, help_text="By the server's clock; null in a replay."
    )
    deadline = serializers.DateTimeField(source="reminder.deadline", allow_null=True)
    due_at = serializers.DateTimeField(source="reminder.due_at", allow_null=True)
    notification_id = serializers.CharField(allow_null=True)
    figures = serializers.DictField()
    events = DecisionEventSerializer(many=True, help_text="The events that led to it, in order.")
    rules_version = serializers.CharField(
        help_text="The version of the rules that decided it (README, 'The rules file'); "
        "empty for a decision recorded before rules had versions."
    )
    deliver_after = serializers.DateTimeField(
        allow_null=True,
        help_text="Deferred by the user's quiet hours: the notification goes no sooner.",
    )
    timeline = TimelineLinkField(
        source="user_id",
        help_text="The user's timeline as a picture, where this decision is drawn (its "
        "reminder window, its session or its notification; README, 'Each user's timeline').",
    )
