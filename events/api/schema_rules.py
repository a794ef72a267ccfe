"""The OpenAPI schema states what the server checks, so that the two agree.

- Ids and titles (`StrictCharField`) refer to one `Text` component whose pattern
  is the server's rule (events/wire/serializers.py): no control, format, private-use
  or unassigned character, and something besides white space.
- Times are RFC 3339 `date-time`s, or, where the legacy format is read, the
  `legacy-date-time` format (RFC 3339, or the brief's `YYYY-MM-DD HH:MM:SS`).
- Every format's events are one `oneOf` branch per known type plus one for
  every other type, so that exactly one branch fits any event the server takes.
- A Segment message names its type in `event`, and only as a `track`; each needs
  a user, a device and a time, each of which one of two fields may give.
- The user's zone (`TimeZoneField`) is one `TimeZone` component: the names of the
  server's tz database, exactly those it takes.

Schemathesis fuzzes the ingestion endpoints against it
(tests/property/test_ingestion_fuzzing.py).
"""

import unicodedata
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent

from events.wire import cloudevents, segment
from events.wire.formats import WIRE_FORMATS, serializers_of, type_names
from events.wire.serializers import (
    AHEAD_NAMES,
    FORBIDDEN_CATEGORIES,
    EventFormat,
    EventTimeField,
    StrictCharField,
    TimeZoneField,
    TypeNameField,
)
from events.wire.zones import known_zones

#: The end of the string. Not `$`: in Python's `re`, which the schema's Python readers use,
#: `$` also matches before a final newline.
END = r"(?![\s\S])"
LEGACY_DATE_TIME = "legacy-date-time"


def _ranges(wanted: Callable[[str], bool]) -> Iterator[tuple[int, int]]:
    start = None
    for code_point in range(0x110000):
        if wanted(chr(code_point)):
            start = code_point if start is None else start
        elif start is not None:
            yield start, code_point - 1
            start = None
    if start is not None:
        yield start, 0x10FFFF


def _spelled(code_point: int) -> str:
    """`\\uXXXX` in the Basic Multilingual Plane, which both Python and ECMAScript read;
    the character itself above it, where their escapes differ."""
    return f"\\u{code_point:04x}" if code_point <= 0xFFFF else chr(code_point)


def _any_of(wanted: Callable[[str], bool]) -> str:
    spans = (
        _spelled(first) if first == last else f"{_spelled(first)}-{_spelled(last)}"
        for first, last in _ranges(wanted)
    )
    return "[" + "".join(spans) + "]"


def _allowed(character: str) -> bool:
    return unicodedata.category(character) not in FORBIDDEN_CATEGORIES


@cache
def text_class() -> str:
    """One character an id or a title may hold. Written as what is allowed, which is a
    third as many code points as what is not, for tools that walk a class's ranges."""
    return _any_of(_allowed)


@cache
def text_pattern() -> str:
    """Allowed characters only, and at least one that is not white space."""
    printable = _any_of(lambda character: _allowed(character) and not character.isspace())
    return f"^{text_class()}*{printable}{text_class()}*{END}"


def _component(name: str, schema: dict[str, Any]) -> ResolvedComponent:
    return ResolvedComponent(  # type: ignore[no-untyped-call]
        name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
    )


def _referred(auto_schema: Any, component: ResolvedComponent) -> dict[str, Any]:
    """A reference to `component`, registered in the schema the first time."""
    auto_schema.registry.register_on_missing(component)
    return dict(component.ref)


def _text_component() -> ResolvedComponent:
    return _component(
        "Text",
        {
            "type": "string",
            "pattern": text_pattern(),
            "description": (
                "No control, format (bidi overrides, zero-width), surrogate, private-use or "
                "unassigned character (Unicode categories Cc, Cf, Cs, Co, Cn), and not only "
                "white space, which is trimmed. Kept in NFC; the length limit counts the "
                "characters as sent."
            ),
        },
    )


class TextFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = StrictCharField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        text = _referred(auto_schema, _text_component())
        return {"allOf": [text], "maxLength": self.target.max_length}


def _time_zone_component() -> ResolvedComponent:
    return _component(
        "TimeZone",
        {
            "type": "string",
            "enum": sorted(known_zones()),
            "description": (
                "The user's IANA time zone, a name of the server's tz database (`Europe/Berlin`, "
                "`UTC`), kept as sent; any other name is refused (docs/events.md, \"The user's "
                'zone").'
            ),
        },
    )


class TimeZoneFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = TimeZoneField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        return _referred(auto_schema, _time_zone_component())


#: From the year 2000 on, the earliest the server takes (`EARLIEST_EVENT_TIME`), as far as a
#: pattern can say it: the server compares instants, so near 2000-01-01 the offset decides.
_FROM_2000 = "[2-9][0-9]{3}-[0-9]{2}-[0-9]{2}"
_CLOCK = "[0-9]{2}:[0-9]{2}:[0-9]{2}"
#: RFC 3339, or the brief's `YYYY-MM-DD HH:MM:SS` (events/wire/serializers.py reads both).
LEGACY_PATTERN = (
    f"^{_FROM_2000}(?:[Tt ]{_CLOCK}(?:\\.[0-9]{{1,9}})?(?:[Zz]|[+-][0-9]{{2}}:[0-9]{{2}})"
    f"| {_CLOCK}){END}"
)
_EARLIEST = "From 2000-01-01T00:00:00Z."
#: The bounds that depend on the server's clock or on another field, which no JSON Schema
#: states: said in words, by the field they are checked on (docs/time.md).
_RELATIVE_BOUNDS = {
    "occurred_at": "At most 1 hour ahead of the server's clock; with `sent_at`, 366 days.",
    "sent_at": (
        "From `occurred_at` to 30 days after it, and at most 366 days ahead of the server's clock."
    ),
    "timestamp": "At most 1 hour ahead of the server's clock. Taken as is: `sentAt` "
    "does not correct it.",
    "originalTimestamp": "At most 1 hour ahead of the server's clock; with `sentAt`, 366 days.",
    "sentAt": (
        "From `originalTimestamp` to 30 days after it, and at most 366 days ahead of the "
        "server's clock."
    ),
}


def _time_bounds(field: EventTimeField) -> str:
    if field.max_ahead is None:
        return _RELATIVE_BOUNDS[str(field.field_name)]
    return f"At most {AHEAD_NAMES[field.max_ahead]} ahead of the server's clock."


class EventTimeFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = EventTimeField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        bounds = f"{_EARLIEST} {_time_bounds(self.target)}"
        if self.target.require_offset:
            return {
                "type": "string",
                "format": "date-time",
                "pattern": f"^{_FROM_2000}",
                "description": f"RFC 3339. {bounds}",
            }
        return {
            "type": "string",
            "format": LEGACY_DATE_TIME,
            "pattern": LEGACY_PATTERN,
            "description": f"RFC 3339, or the brief's `YYYY-MM-DD HH:MM:SS`, read as UTC. {bounds}",
        }


def _type_name_component(name: str) -> ResolvedComponent:
    return ResolvedComponent(  # type: ignore[no-untyped-call]
        name="".join(word.title() for word in name.split("_")) + "TypeEnum",
        type=ResolvedComponent.SCHEMA,
        object=f"type {name}",
        schema={"enum": [name], "type": "string", "description": f"* `{name}` - {name}"},
    )


class TypeNameFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """A known type's one name, as an enum named after it (`AppLaunchedTypeEnum`), shared by
    the formats that use the name."""

    target_class = TypeNameField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        component = _type_name_component(self.target.type_name)
        auto_schema.registry.register_on_missing(component)
        return dict(component.ref)


def _component_name(serializer: type) -> str:
    return serializer.__name__.removesuffix("Serializer") + "Request"


def _known_names(event_format: EventFormat) -> list[str]:
    return sorted(type_names(event_format))


def _cloud_event_type(*names: str) -> str:
    """The pattern of a CloudEvent `type` that reads as one of `names`
    (events/wire/cloudevents.py)."""
    return f"^{cloudevents.REVERSE_DNS_PREFIX}(?:{'|'.join(names)}){END}"


def _unknown_type_refinements() -> dict[str, dict[str, Any]]:
    """What an unknown type's `type` adds to the text rule: not a known name."""
    cloud_events = _cloud_event_type(*_known_names(EventFormat.CLOUDEVENTS))
    return {
        _unknown(EventFormat.LEGACY): {"not": {"enum": _known_names(EventFormat.LEGACY)}},
        _unknown(EventFormat.V2): {"not": {"enum": _known_names(EventFormat.V2)}},
        _unknown(EventFormat.CLOUDEVENTS): {"not": {"pattern": cloud_events}},
    }


def _unknown(event_format: EventFormat) -> str:
    return _component_name(WIRE_FORMATS[event_format].envelope)


def _cloud_event_types() -> dict[str, dict[str, Any]]:
    """A known CloudEvent `type`: its own pattern, in place of the text rule it implies."""
    return {
        _component_name(serializer): {
            "type": "string",
            "maxLength": 256,
            "pattern": _cloud_event_type(name),
        }
        for name, serializer in type_names(EventFormat.CLOUDEVENTS).items()
    }


#: A CloudEvent names its user in `subject`, or else in `data.user_id`.
_CLOUD_EVENT_USER = {
    "anyOf": [
        {"required": ["subject"]},
        {"required": ["data"], "properties": {"data": {"required": ["user_id"]}}},
    ]
}
#: The legacy format is any object without `schema_version` (events/wire/formats.py).
_NOT_V2 = {"not": {"required": ["schema_version"]}}


def _whole_components() -> dict[str, dict[str, Any]]:
    """What each event component adds as a whole, beside its properties."""
    legacy = {_component_name(each): _NOT_V2 for each in serializers_of(EventFormat.LEGACY)}
    cloud = {
        _component_name(each): _CLOUD_EVENT_USER for each in serializers_of(EventFormat.CLOUDEVENTS)
    }
    return {**legacy, **cloud}


def _present(*path: str) -> dict[str, Any]:
    """An object with a string at `path`: there and not null."""
    schema: dict[str, Any] = {"type": "string"}
    for key in reversed(path):
        schema = {"required": [key], "properties": {key: schema}}
    return schema


def _segment_message() -> dict[str, Any]:
    """A Segment message's user, device and time each come from the first of two fields
    (events/wire/segment.py) that is there and not null: one of them is required."""
    return {
        "allOf": [
            {"anyOf": [_present("userId"), _present("anonymousId")]},
            {"anyOf": [_present("context", "device", "id"), _present("anonymousId")]},
            {"anyOf": [{"required": [field]} for field, _ in segment.TIMES]},
        ]
    }


def _segment_track(*names: str) -> dict[str, Any]:
    """A `track` message (its `type` left out, or `track`) whose `event` is one of `names`."""
    return {
        "required": ["event"],
        "properties": {"type": {"enum": [segment.TRACK]}, "event": {"enum": list(names)}},
    }


def _refine_segment_messages(schemas: dict[str, Any]) -> None:
    """Segment names the type in `event`, and only in a `track` message: each known type's
    branch takes its own name, and the branch of any other message takes none of them."""
    for name, serializer in type_names(EventFormat.SEGMENT).items():
        track = _segment_track(name)
        branch = schemas[_component_name(serializer)]
        branch["properties"].update(track["properties"])
        branch["required"] = [*branch.get("required", []), *track["required"]]
    other = schemas[_unknown(EventFormat.SEGMENT)]
    other["not"] = _segment_track(*_known_names(EventFormat.SEGMENT))
    for serializer in serializers_of(EventFormat.SEGMENT):
        schemas[_component_name(serializer)].update(_segment_message())


def _batch(items: dict[str, Any]) -> dict[str, Any]:
    """A batch takes any item: one that is no event gets its own `rejected` result."""
    anything = {"description": "Anything else: it gets a `rejected` result of its own."}
    return {
        "type": "array",
        "maxItems": settings.EVENTS_BATCH_MAX_EVENTS,
        "items": {"anyOf": [items, anything]},
    }


def _refine_batches(result: dict[str, Any]) -> None:
    schemas = result["components"]["schemas"]
    events = {"$ref": "#/components/schemas/IncomingEventRequest"}
    schemas["BatchRequest"]["properties"]["events"] = _batch(events)
    body = result["paths"]["/v1/events"]["post"]["requestBody"]["content"]
    body["application/json"]["schema"] = {
        "oneOf": [_batch(events), {"$ref": "#/components/schemas/BatchRequest"}]
    }
    body[cloudevents.BATCH_MEDIA_TYPE]["schema"] = _batch(
        {"$ref": "#/components/schemas/IncomingCloudEventRequest"}
    )
    schemas["SegmentBatchRequest"]["properties"]["batch"] = _batch(
        {"$ref": "#/components/schemas/SegmentMessageRequest"}
    )


def _require_bodies(result: dict[str, Any]) -> None:
    """An ingestion request without a body is refused: it holds no event."""
    for path in ("/v1/event", "/v1/events", "/v1/track", "/v1/batch"):
        result["paths"][path]["post"]["requestBody"]["required"] = True


def refine(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular's post-processing hook: the rules no field states on its own."""
    schemas = result["components"]["schemas"]
    for name, refinement in _unknown_type_refinements().items():
        schemas[name]["properties"]["type"].update(refinement)
    for name, type_schema in _cloud_event_types().items():
        schemas[name]["properties"]["type"] = type_schema
    for name, whole in _whole_components().items():
        schemas[name].update(whole)
    _refine_segment_messages(schemas)
    _refine_batches(result)
    _require_bodies(result)
    return result
