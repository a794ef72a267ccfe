"""CloudEvents 1.0 over HTTP (structured, binary and batched modes) read as events.

The mapping (docs/events.md, "CloudEvents"): `type` is a v2 type name, optionally
behind a reverse-DNS prefix (`com.example.fitness.training_program_started`);
`source` and `id` together identify the event, so duplicates are told per source;
`time` is when it occurred, its offset the user's; `subject`, or else `data.user_id`, is
the user; a `timezone` extension attribute, the user's IANA zone; `data` carries
`device_id` and, for a training program, `training_program` as in v2.
"""

import re
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn
from urllib.parse import unquote

from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.request import Request

from events.domain.events import fingerprint
from events.wire.serializers import (
    EventSerializer,
    EventTimeField,
    FixedFieldsSerializer,
    StrictCharField,
    TimeZoneField,
    TrainingProgramSerializer,
    identifier_field,
)

SPECVERSION = "1.0"
STRUCTURED_MEDIA_TYPE = "application/cloudevents+json"
BATCH_MEDIA_TYPE = "application/cloudevents-batch+json"
HEADER_PREFIX = "ce-"
#: The media type of binary-mode data that states none.
JSON_MEDIA_TYPE = "application/json"


#: A reverse-DNS prefix: labels of letters, digits and hyphens, each followed by a dot.
REVERSE_DNS_PREFIX = r"(?:[A-Za-z0-9-]+\.)*"
_PREFIXED = re.compile(REVERSE_DNS_PREFIX + r"(?P<name>[^.]*)")


def type_name(data: Mapping[str, Any]) -> object:
    """The v2 type name in `type`, after any reverse-DNS prefix; a `type` with any other
    prefix is not a v2 name (an unknown type)."""
    raw_type = data.get("type")
    if not isinstance(raw_type, str):
        return raw_type
    prefixed = _PREFIXED.fullmatch(raw_type)
    return prefixed["name"] if prefixed else raw_type


def is_binary(headers: Mapping[str, str]) -> bool:
    return "ce-specversion" in headers


class BinaryModeNegotiation(DefaultContentNegotiation):
    """A binary-mode request without a `Content-Type` carries JSON data: CloudEvents' JSON
    convention for an event without `datacontenttype`, whose SDK then sends no type at all."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        if request.content_type or not is_binary(request.headers):
            return super().select_parser(request, parsers)
        return next((parser for parser in parsers if parser.media_type == JSON_MEDIA_TYPE), None)


def from_binary(headers: Mapping[str, str], data: Any) -> dict[str, Any]:
    """The structured form of a binary-mode event: `ce-*` headers (percent-encoded UTF-8, as
    the HTTP binding says) become attributes, the body becomes `data`. A value that does not
    decode is a `ValidationError` naming its attribute."""
    attributes = {
        name.lower().removeprefix(HEADER_PREFIX): value
        for name, value in headers.items()
        if name.lower().startswith(HEADER_PREFIX)
    }
    return {**{name: _decoded(name, value) for name, value in attributes.items()}, "data": data}


#: Why a header value is not an attribute's value; the key is the error's code.
HEADER_ERRORS = {
    "broken_escape": "Each % must start an escape of two hex digits (%25 for a % itself).",
    "not_utf8": "Percent-decoded, this is not valid UTF-8.",
}
#: A `%` that starts no escape: `a%E`, `a%zz`, a trailing `%`.
_BROKEN_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _decoded(attribute: str, value: str) -> str:
    if "%" not in value:
        return value
    if _BROKEN_ESCAPE.search(value):
        _refuse(attribute, "broken_escape")
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        _refuse(attribute, "not_utf8")


def _refuse(attribute: str, code: str) -> NoReturn:
    raise serializers.ValidationError({attribute: [HEADER_ERRORS[code]]}, code=code)


class CloudEventDataSerializer(FixedFieldsSerializer):
    user_id = identifier_field(required=False)
    device_id = identifier_field()


class TrainingProgramDataSerializer(CloudEventDataSerializer):
    training_program = TrainingProgramSerializer()


class CloudEventSerializer(EventSerializer):
    """The attributes every CloudEvent needs here; an unknown `type` stops at this."""

    default_error_messages = {"no_user": "Required: the user, as `subject` or `data.user_id`."}
    offset_fields = ("time",)

    specversion = serializers.ChoiceField(choices=[SPECVERSION])
    id = identifier_field()
    # `source` and `data` are CloudEvents' names; DRF's metaclass moves declared fields out
    # of the class, so they do not shadow Field.source or Serializer.data.
    source = StrictCharField(max_length=1024)  # type: ignore[assignment]  # a URI-reference
    type: serializers.Field[Any, Any, Any, Any] = StrictCharField(max_length=256, source="raw_type")
    time = EventTimeField(require_offset=True, source="occurred_at")
    subject = identifier_field(required=False)
    timezone = TimeZoneField()  # an extension attribute: `ce-timezone` in binary mode
    data = CloudEventDataSerializer()  # type: ignore[assignment]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("subject") or attrs["data"].get("user_id")):
            raise serializers.ValidationError(
                {"subject": [self.error_messages["no_user"]]}, code="no_user"
            )
        return attrs

    def normalise(self, attrs: dict[str, Any]) -> dict[str, Any]:
        data = attrs["data"]
        return {
            **attrs,
            "event_id": fingerprint("cloudevents", attrs["source"], attrs["id"]),
            "user_id": attrs.get("subject") or data["user_id"],
            "device_id": data["device_id"],
        }


class CloudEventTrainingProgramSerializer(CloudEventSerializer):
    data = TrainingProgramDataSerializer()

    def normalise(self, attrs: dict[str, Any]) -> dict[str, Any]:
        program = attrs["data"]["training_program"]
        return {
            **super().normalise(attrs),
            "training_program_id": program["id"],
            "training_program_title": program.get("title"),
        }
