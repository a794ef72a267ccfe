"""OpenAPI descriptions of the events API (drf-spectacular), kept out of the views."""

from collections.abc import Sequence
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers

from events.api import schema_rules  # noqa: F401  (its extensions)
from events.domain.ruleset import CONGRATULATION, REMINDER, QuietAction
from events.service.ingestion import REJECTED, STATUS_CODES
from events.wire import cloudevents, segment
from events.wire.formats import serializers_of
from events.wire.representations import (
    DecisionRecordSerializer,
    EventRepresentationSerializer,
    UserStateSerializer,
)
from events.wire.serializers import BatchSerializer, EventFormat
from eventsproject.web.schema import ERROR, ERRORS


class _DeclaredBranches(Sequence[type[serializers.Serializer[Any]]]):
    """Each format's serializer of every type declared when the schema is generated, and of
    any other type: a sequence read anew each time (drf-spectacular would call a callable
    once, and keep what it gave)."""

    def __init__(self, *formats: EventFormat) -> None:
        self._formats = formats

    def __getitem__(self, index: Any) -> Any:
        return self._current()[index]

    def __len__(self) -> int:
        return len(self._current())

    def _current(self) -> list[type[serializers.Serializer[Any]]]:
        return [serializer for each in self._formats for serializer in serializers_of(each)]


def _event_types(name: str, *formats: EventFormat) -> PolymorphicProxySerializer:
    """One branch per declared type of each format, and one for any other type
    (events/api/schema_rules.py keeps the branches apart)."""
    return PolymorphicProxySerializer(
        component_name=name, serializers=_DeclaredBranches(*formats), resource_type_field_name=None
    )


INCOMING_EVENT = _event_types("IncomingEvent", EventFormat.LEGACY, EventFormat.V2)
CLOUD_EVENT = _event_types("IncomingCloudEvent", EventFormat.CLOUDEVENTS)
# Any other message (another event name; Segment's `identify`, ...) is accepted and ignored.
SEGMENT_MESSAGE = _event_types("SegmentMessage", EventFormat.SEGMENT)

INGEST_RESULT = inline_serializer(
    "IngestResult",
    {
        "status": serializers.ChoiceField([str(outcome) for outcome in STATUS_CODES]),
        "format": serializers.ChoiceField([str(event_format) for event_format in EventFormat]),
        "event": EventRepresentationSerializer(),
        "reason": serializers.CharField(required=False),
    },
)

REJECTION = inline_serializer(
    "Rejection",
    {"status": serializers.ChoiceField([REJECTED]), "errors": serializers.DictField()},
)

#: An event in the legacy format, as the docs and `GET /v1/event` show it.
LEGACY_EXAMPLE = {
    "user_id": "foo1",
    "device_id": "bar1",
    "type": "training_program_started",
    "training_program_id": "2352",
    "training_program_title": "7 Minutes of HIIT Training",
    "time_stamp": "2021-02-28 16:23:25",
}

EXAMPLES = [
    OpenApiExample("legacy format", request_only=True, value=LEGACY_EXAMPLE),
    OpenApiExample(
        "v2 format",
        request_only=True,
        value={
            "schema_version": 2,
            "event_id": "0b9f7e3c-5d8a-4a47-9c1e-2f4a6d8b1c3e",
            "type": "training_program_finished",
            "occurred_at": "2021-02-28T16:59:43Z",
            "user_id": "foo1",
            "device_id": "bar1",
            "training_program": {"id": "2352", "title": "7 Minutes of HIIT Training"},
        },
    ),
]

describe_event_ingest = extend_schema(
    summary="Ingest one event",
    description=(
        "An event of the app's own formats (legacy or v2, `application/json`), or a "
        "CloudEvent: in structured mode (`application/cloudevents+json`), or in binary mode "
        "(the attributes as `ce-specversion`, `ce-id`, `ce-source`, `ce-type`, `ce-time` and "
        "`ce-subject` headers, `data` as the `application/json` body). See docs/events.md."
    ),
    request={
        "application/json": INCOMING_EVENT,
        cloudevents.STRUCTURED_MEDIA_TYPE: CLOUD_EVENT,
    },
    examples=EXAMPLES,
    responses={
        202: OpenApiResponse(INGEST_RESULT, description="Accepted, or ignored (unknown type)."),
        200: OpenApiResponse(INGEST_RESULT, description="A duplicate: nothing ran again."),
        409: OpenApiResponse(INGEST_RESULT, description="The event_id was used for other content."),
        **ERRORS,
    },
)

describe_event_example = extend_schema(
    summary="An example event to post", responses={200: OpenApiTypes.OBJECT, **ERRORS}
)

describe_event_batch = extend_schema(
    summary="Ingest a batch of events, in order",
    description=(
        "A JSON array of events, or an object with `events` and one `sent_at` for the "
        "events that have none of their own."
    ),
    request={
        "application/json": PolymorphicProxySerializer(
            component_name="IncomingBatch",
            serializers=[
                serializers.ListSerializer(child=INCOMING_EVENT),  # type: ignore[list-item]
                BatchSerializer,
            ],
            resource_type_field_name=None,
            many=False,
        ),
        cloudevents.BATCH_MEDIA_TYPE: serializers.ListSerializer(child=CLOUD_EVENT),
    },
    responses={
        200: inline_serializer(
            "BatchResult",
            {"results": serializers.ListField(child=serializers.DictField())},
        ),
        **ERRORS,
    },
)

describe_event_list = extend_schema(
    summary="Recent events, newest first",
    parameters=[
        OpenApiParameter("user_id", str, description="only this user's events"),
        OpenApiParameter("type", str, description="only events of this type"),
    ],
    responses={200: EventRepresentationSerializer(many=True), **ERRORS},
)

describe_user_decisions = extend_schema(
    summary="A user's decision log, newest first",
    description=(
        "Every launch ends in one outcome (sent, cancelled, merged, skipped_stale) and every "
        "finish in one (congratulated, too_short, no_open_session); a start after its reminder "
        "was sent but inside its window adds late_start_after_sent. See docs/time.md. Each "
        "record links to the user's timeline (`timeline`), the picture that draws it."
    ),
    responses={200: DecisionRecordSerializer(many=True), **ERRORS},
)


#: A rule's frequency cap and quiet hours, when it has them (one component each).
_CONTROLS: dict[str, serializers.Field[Any, Any, Any, Any]] = {
    "cap": inline_serializer(
        "Cap",
        {"max": serializers.IntegerField(), "per_hours": serializers.IntegerField()},
        required=False,
        help_text="At most `max` notifications of the rule to a user triggered within `per_hours`.",
    ),
    "quiet_hours": inline_serializer(
        "QuietHours",
        {
            "from": serializers.CharField(help_text="HH:MM, the user's local time."),
            "to": serializers.CharField(help_text="HH:MM; wraps midnight when earlier."),
            "action": serializers.ChoiceField([str(action) for action in QuietAction]),
        },
        required=False,
    ),
}


describe_rules = extend_schema(
    summary="The rules in force",
    description=(
        "The rules file this process read (EVENTS_RULES_FILE; README, 'Rules'), over the "
        "built-in rules: its `version`, its `source` (the file's path, or `built-in`), the "
        "default time zone and each rule's settings, with its cap and quiet hours when it has "
        "them. A change takes effect when the server reloads (`kill -HUP` the gunicorn master)."
    ),
    responses={
        200: inline_serializer(
            "Rules",
            {
                "version": serializers.CharField(),
                "source": serializers.CharField(),
                "timezone": inline_serializer(
                    "RulesTimezone",
                    {"default": serializers.CharField(help_text="IANA name.")},
                ),
                "rules": inline_serializer(
                    "RulesByName",
                    {
                        REMINDER: inline_serializer(
                            "ReminderRule",
                            {
                                "enabled": serializers.BooleanField(),
                                "delay_seconds": serializers.IntegerField(),
                                "allowed_lateness_seconds": serializers.IntegerField(),
                                "message": serializers.CharField(),
                                **_CONTROLS,
                            },
                        ),
                        CONGRATULATION: inline_serializer(
                            "CongratulationRule",
                            {
                                "enabled": serializers.BooleanField(),
                                "threshold_seconds": serializers.IntegerField(),
                                "message": serializers.CharField(),
                                **_CONTROLS,
                            },
                        ),
                    },
                ),
            },
        ),
        **ERRORS,
    },
)

describe_user_state = extend_schema(
    summary="A user's open sessions and pending reminder",
    description="With a link to the user's timeline as a picture (`timeline`).",
    responses={200: UserStateSerializer, **ERRORS},
)

#: Errors are JSON whatever the success's media type (events/api/views.py).
_JSON_ERRORS: dict[int | tuple[int, str], Any] = {
    (code, "application/json"): answer for code, answer in {**ERRORS, 406: ERROR}.items()
}

_PICTURE = OpenApiResponse(
    OpenApiTypes.STR,
    description="The picture: an HTML page with it inline, or the SVG document alone "
    "(`?format=svg`).",
)

describe_user_timeline = extend_schema(
    summary="A user's timeline, as a picture",
    description=(
        "The user's recent history on one time axis, in their zone (the rules' default zone "
        "when their events stated none; UTC unless the rules file names one): their events "
        "as marks, each training session as a bar with its minutes, each reminder window "
        "from launch to deadline coloured by its outcome in the decision log, and each "
        "notification with its delivery status (and `deliver_after` when quiet hours "
        "deferred it). Hovering a mark shows its times and ids. An HTML page with the SVG "
        "inline; `?format=svg` (or `Accept: image/svg+xml`) the SVG document alone. What the "
        "stores keep of a user's history, and so what the picture can show, is said on it "
        "(README, 'Each user's timeline'). `404` when nothing of the user is kept."
    ),
    parameters=[
        OpenApiParameter(
            "format",
            str,
            enum=["html", "svg"],
            description="`svg`: the SVG document alone (`image/svg+xml`); `html` by default.",
        )
    ],
    responses={
        (200, "text/html"): _PICTURE,
        (200, "image/svg+xml"): _PICTURE,
        **_JSON_ERRORS,
    },
)

SEGMENT_ANSWER = (
    "Answered `200` with `success: true` (Segment's SDKs take anything else as a failure) and "
    "what became of each message, as on `/v1/event`; a conflict is a `409`. Authenticate "
    "with a bearer token or, as Segment's SDKs do, Basic auth with the token as the write key."
)

describe_segment_track = extend_schema(
    summary="Track one event, Segment-style",
    description="A Segment `track` message (docs/events.md, 'Segment'). " + SEGMENT_ANSWER,
    request=SEGMENT_MESSAGE,
    responses={
        200: OpenApiResponse(INGEST_RESULT, description="Accepted, ignored, or a duplicate."),
        409: OpenApiResponse(
            INGEST_RESULT, description="The messageId was used for other content."
        ),
        **ERRORS,
    },
)

describe_segment_batch = extend_schema(
    summary="A batch of messages, Segment-style",
    description=(
        "Segment's `{batch: [...], sentAt}`, as Segment's and RudderStack's SDKs post it. "
        + SEGMENT_ANSWER
    ),
    request=segment.SegmentBatchSerializer,
    responses={
        200: inline_serializer(
            "SegmentBatchResult",
            {
                "success": serializers.BooleanField(),
                "results": serializers.ListField(child=serializers.DictField()),
            },
        ),
        **ERRORS,
    },
)
