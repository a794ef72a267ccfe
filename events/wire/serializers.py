"""Parsing events off the wire: DRF serializers, polymorphic on format and `type`.

The app's two wire formats, accepted forever (docs/events.md): the legacy format
(the brief's original) and v2, recognised by its `schema_version`; and the fields
and shared checks that the other formats' serializers (`events/wire/cloudevents.py`,
`events/wire/segment.py`) are built from. `events/wire/formats.py` picks the serializer of
an event. Serializers check shape only — no state, no rules. An unknown type is
not an error: the format's envelope serializer still checks the common fields
and yields an `UnknownEvent`.
"""

import re
import sys
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import Any, ClassVar, NoReturn, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import ISO_8601, serializers
from rest_framework.fields import SkipField, empty
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings

from events.domain.events import Event, UnknownEvent, fingerprint
from events.wire.zones import known_zones

EARLIEST_EVENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
#: How far past the server's clock a device's time may be when it cannot be corrected.
MAX_AHEAD = timedelta(hours=1)
#: How far a phone's clock may run ahead when `sent_at` lets the server correct it.
MAX_AHEAD_CORRECTED = timedelta(days=366)
AHEAD_NAMES = {MAX_AHEAD: "1 hour", MAX_AHEAD_CORRECTED: "366 days"}
#: The longest an event may have waited on the device (sent_at - occurred_at).
MAX_WAIT = timedelta(days=30)
SCHEMA_VERSION = 2

_JSON_TYPE_NAMES = {
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}

#: Never part of an id or a title: controls (C0, C1), format characters (bidi overrides,
#: byte-order marks, zero-width ones), surrogates, private use and unassigned code points.
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_ASCII_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")  # the only forbidden ASCII characters

#: RFC 3339 (`T`, `t` or a space between date and time), ASCII digits, nothing around it;
#: without the offset only as the legacy `YYYY-MM-DD HH:MM:SS`.
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?P<separator>[Tt ])[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(?P<fraction>\.[0-9]{1,9})?(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})?"
)


def clean_identifier(value: str) -> str | None:
    """The NFC form of an id or a title, or None when it holds a forbidden character."""
    if value.isascii():  # the common case, and the fast one
        return None if _ASCII_CONTROLS.search(value) else value
    if any(unicodedata.category(character) in FORBIDDEN_CATEGORIES for character in value):
        return None
    return unicodedata.normalize("NFC", value)


class EventFormat(StrEnum):
    """The wire formats: the app's own two (docs/events.md) and the ecosystem's."""

    LEGACY = "legacy"  # the brief's original format
    V2 = "v2"
    CLOUDEVENTS = "cloudevents"
    SEGMENT = "segment"


def json_type_name(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


NOT_AN_OBJECT = "Expected a JSON object but got {input_type}."


def require_object(data: Any) -> None:
    """A body or an event that must be a JSON object: anything else is one error, under
    `non_field_errors` (DRF's own answer to a null would be a bare list, unlike every other
    400)."""
    if isinstance(data, Mapping):
        return
    message = NOT_AN_OBJECT.format(input_type=json_type_name(data))
    raise serializers.ValidationError(
        {api_settings.NON_FIELD_ERRORS_KEY: [message]}, code="not_an_object"
    )


class StrictCharField(serializers.CharField):
    """A string field for ids and titles: a JSON string only, no control characters.

    Numbers and booleans are refused instead of turned into text. The checks run
    inline, not as the three validators a CharField would add: every event goes
    through several of these fields, so they are the hot path of parsing.
    """

    default_error_messages = {
        "not_a_string": "Expected a string but got {input_type}.",
        "forbidden_characters": (
            "Control, format (such as bidi overrides or zero-width), surrogate, private-use "
            "and unassigned characters are not allowed."
        ),
    }

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length: int = max_length  # checked below; still in the OpenAPI schema
        self.validators = []
        # A subclass that reads values its own way (a time zone) takes DRF's path throughout.
        self._reads_as_is = type(self).to_internal_value is StrictCharField.to_internal_value

    def run_validation(self, data: Any = empty) -> Any:
        # The common case past DRF's machinery, as DRF would answer it: a string of printable
        # ASCII within the length, not blank once trimmed. Anything else goes DRF's way.
        if (
            type(data) is str
            and self._reads_as_is
            and len(data) <= self.max_length
            and data.isascii()
            and not _ASCII_CONTROLS.search(data)
            and not self.validators
        ):
            value = data.strip() if self.trim_whitespace else data
            if value:
                return value
        return super().run_validation(data)

    def run_validators(self, value: Any) -> None:
        if self.validators:  # none by default: the checks are inline, below
            super().run_validators(value)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string", input_type=json_type_name(data))
        if len(data) > self.max_length:  # as sent, as the schema's maxLength counts
            self.fail("max_length", max_length=self.max_length)
        value = clean_identifier(data)  # before trimming: a trailing control is no space
        if value is None:
            self.fail("forbidden_characters")
        return value.strip() if self.trim_whitespace else value


class StrictUUIDField(serializers.UUIDField):
    """A UUID written as a JSON string (DRF's own would also read `true` or a number), read
    as its canonical text: lower case, hyphenated."""

    default_error_messages = {"not_a_string": "Expected a string but got {input_type}."}

    def run_validation(self, data: Any = empty) -> Any:
        # The common case past DRF's machinery: a UUID already written canonically is its
        # own canonical text. Anything else goes DRF's way.
        if type(data) is str and _CANONICAL_UUID.fullmatch(data) and not self.validators:
            return data
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> Any:  # the text, not a UUID
        if not isinstance(data, str):
            self.fail("not_a_string", input_type=json_type_name(data))
        return str(super().to_internal_value(data))


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class EventTimeField(serializers.DateTimeField):
    """An aware UTC datetime from 2000-01-01 on, at most `max_ahead` past the server's clock
    (an hour, or a year for a phone's time that `sent_at` corrects; None: the serializer
    checks). Naive values are read as UTC unless `require_offset` is set."""

    default_error_messages = {
        "not_a_string": "Expected a string but got {input_type}.",
        "too_early": "Events before 2000-01-01 are not accepted.",
        "in_the_future": "More than {skew} ahead of the server's clock ({now}).",
        "no_offset": "Include a UTC offset, e.g. 2021-02-28T16:22:52Z.",
    }

    def __init__(
        self,
        *,
        require_offset: bool = False,
        max_ahead: timedelta | None = MAX_AHEAD,
        **kwargs: Any,
    ) -> None:
        self.require_offset = require_offset
        self.max_ahead = max_ahead
        # The brief's format is listed too, so that a bad value's error names it; not
        # where an offset is required, as the brief's has none.
        formats = [api_settings.DATETIME_INPUT_FORMATS[0]]
        if not require_offset:
            formats.append("%Y-%m-%d %H:%M:%S")
        super().__init__(default_timezone=UTC, input_formats=formats, **kwargs)
        self._iso_first = formats[0].lower() == ISO_8601
        # DRF makes a naive time aware in the field's zone, UTC, which no time is invalid in.
        self._naive_as_utc = not require_offset and self.timezone is UTC

    def run_validation(self, data: Any = empty) -> Any:
        if type(data) is str and not self.read_only:  # DRF's empty-value checks pass it as is
            value = self.to_internal_value(data)
            self.run_validators(value)
            return value
        return super().run_validation(data)

    def enforce_timezone(self, value: datetime) -> datetime:
        if self.require_offset and timezone.is_naive(value):
            self.fail("no_offset")
        return super().enforce_timezone(value)

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("not_a_string", input_type=json_type_name(value))
        self._check_form(value)
        parsed = self._parsed(value.upper())  # RFC 3339 allows t and z
        if parsed < EARLIEST_EVENT_TIME:
            self.fail("too_early")
        if self.max_ahead is not None:
            self.check_not_ahead(parsed, self.max_ahead)
        return parsed

    def _parsed(self, value: str) -> datetime:
        """DRF's reading of `value`, by its own first step (ISO 8601 as Python reads it)
        without its machinery around; anything Python does not read goes DRF's way."""
        if self._iso_first:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                pass
            else:
                if parsed.tzinfo is None:
                    return self._aware(parsed)
                try:
                    return parsed.astimezone(UTC)  # DRF's, for an aware time
                except OverflowError:
                    pass
        result: datetime = super().to_internal_value(value)
        return result

    def _aware(self, naive: datetime) -> datetime:
        if self._naive_as_utc:
            return naive.replace(tzinfo=UTC)  # as DRF's make_aware does, for UTC
        return self.enforce_timezone(naive)

    def _check_form(self, value: str) -> None:
        """RFC 3339 exactly, or the legacy form where no offset is required; Python's parser
        alone would also take other digits, week dates and trailing text."""
        form = _TIMESTAMP.fullmatch(value)
        if form and form["offset"]:
            return
        if form and self.require_offset:
            self.fail("no_offset")
        if not (form and form["separator"] == " " and not form["fraction"]):
            self.fail("invalid", format=", ".join(self._formats_named))

    @property
    def _formats_named(self) -> list[str]:
        named = ["RFC 3339 (2021-02-28T16:22:52Z)"]
        return named if self.require_offset else [*named, "YYYY-MM-DD HH:MM:SS (UTC)"]

    def check_not_ahead(self, value: datetime, max_ahead: timedelta) -> None:
        now = timezone.now()
        if value > now + max_ahead:
            self.fail(
                "in_the_future",
                skew=AHEAD_NAMES[max_ahead],
                now=now.isoformat(timespec="seconds"),
            )


def stated_offset(written: str) -> timedelta | None:
    """The UTC offset of an RFC 3339 time already checked: zero for `Z` and `+00:00`, none for
    `-00:00`, which RFC 3339 keeps for a time whose local offset is unknown."""
    return _NO_OFFSET if written[-1] in "Zz" else _offset(written[-6:])


_NO_OFFSET = timedelta(0)


@lru_cache(maxsize=256)  # the few offsets users live in: one look-up, one object each
def _offset(written: str) -> timedelta | None:
    if written == "-00:00":
        return None
    offset = timedelta(hours=int(written[1:3]), minutes=int(written[4:]))
    return -offset if written[0] == "-" else offset


class TimeZoneField(StrictCharField):
    """The user's IANA time zone name (`Europe/Berlin`, `UTC`), kept as sent; always optional."""

    default_error_messages = {"unknown_zone": "unknown time zone '{name}'"}

    def __init__(self, **kwargs: Any) -> None:
        # IANA's longest name has 32 characters; no space is trimmed from a name.
        super().__init__(max_length=64, trim_whitespace=False, required=False, **kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        # The two common cases first, past DRF's machinery: this is the hot path of parsing.
        if data is empty:
            return None
        if isinstance(data, str) and data in known_zones():
            return data
        return super().run_validation(data)  # refused: DRF's checks say why

    def to_internal_value(self, data: Any) -> str:
        self.fail("unknown_zone", name=super().to_internal_value(data))


def identifier_field(**kwargs: Any) -> StrictCharField:
    return StrictCharField(max_length=128, **kwargs)


def title_field(**kwargs: Any) -> StrictCharField:
    return StrictCharField(max_length=256, **kwargs)


class TypeNameField(serializers.ChoiceField):
    """The `type` of a known event: one name, so the OpenAPI oneOf can tell the types apart
    (its enum is named after it: events/api/schema_rules.py)."""

    def __init__(self, name: str) -> None:
        super().__init__(choices=[name], source="raw_type")
        self.type_name = name


class FixedFieldsSerializer(serializers.Serializer[Any]):
    """A serializer whose fields never change once bound, as every shared one here.

    DRF walks `fields` — a Python-level mapping — with a generator for every object
    it validates; the list of writable fields is worked out once instead.
    """

    @cached_property
    def _writable_fields(self) -> tuple[serializers.Field[Any, Any, Any, Any], ...]:  # type: ignore[override]
        return tuple(field for field in self.fields.values() if not field.read_only)

    @cached_property
    def _readers(self) -> tuple[tuple[str, str, Any], ...] | None:
        """Each writable field's name, the key of its value, and its validation; None where
        DRF's loop does more than read each field's value (a `validate_<field>` method, a
        field whose source is not one key)."""
        readers = []
        for field in self._writable_fields:
            name = str(field.field_name)
            if hasattr(self, f"validate_{name}") or len(field.source_attrs) != 1:
                return None
            readers.append((name, field.source_attrs[0], field.run_validation))
        return tuple(readers)

    def run_validation(self, data: Any = empty) -> Any:
        """DRF's steps for a JSON object, whose empty-value checks pass it as is (unless the
        field is read-only); anything else goes DRF's way."""
        if type(data) is not dict or self.read_only:
            return super().run_validation(data)
        value = self.to_internal_value(data)
        try:
            self.run_validators(value)
            value = self.validate(value)
        except (serializers.ValidationError, DjangoValidationError) as exc:
            raise serializers.ValidationError(detail=as_serializer_error(exc)) from exc
        assert value is not None, ".validate() should return the validated data"
        return value

    def to_internal_value(self, data: Any) -> Any:
        """DRF's loop over the fields, as a plain one for a JSON object; once a field is
        invalid, DRF's own loop runs instead, to report every field's errors its way."""
        readers = self._readers
        if readers is None or type(data) is not dict:
            return super().to_internal_value(data)
        attrs = {}
        try:
            for name, key, run_validation in readers:
                try:
                    attrs[key] = run_validation(data.get(name, empty))
                except SkipField:
                    continue  # DRF's answer to a missing optional value without a default
        except (serializers.ValidationError, DjangoValidationError):
            return super().to_internal_value(data)
        return attrs

    def run_validators(self, value: Any) -> None:
        # No object-level validators here; skipping the call also skips DRF's walk over
        # every field for read-only defaults, on every object.
        if self.validators:
            super().run_validators(value)


#: Fields whose values many events hold: one copy of each in memory however many events
#: hold it, as a user's reorder window holds several of the user's events.
SHARED_FIELDS = frozenset(
    (
        "user_id",
        "device_id",
        "raw_type",
        "training_program_id",
        "training_program_title",
        "timezone",
    )
)


class EventSerializer(FixedFieldsSerializer):
    """Base of the per-type serializers: validated attributes become a domain event."""

    event_class: ClassVar[type[Event]] = UnknownEvent
    #: The fields whose time becomes `occurred_at`, the first sent first: its UTC offset is the
    #: event's `utc_offset` (none in the brief's format, whose time never states a zone).
    offset_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The domain event's fields, each with whether its value is shared (interned).
        self._event_fields = tuple(
            (field.name, field.name in SHARED_FIELDS) for field in fields(self.event_class)
        )

    def to_internal_value(self, data: Any) -> Any:
        attrs = super().to_internal_value(data)
        for name in self.offset_fields:
            if name in data:  # a time, checked: its offset is read from the text as sent
                attrs["utc_offset"] = stated_offset(data[name])
                break
        return attrs

    def to_event(self, attrs: dict[str, Any]) -> Event:
        normalised = self.normalise(attrs)
        values: dict[str, Any] = {}
        for name, shared in self._event_fields:  # the event's fields, not all of the format's
            if name in normalised:
                value = normalised[name]
                # One copy of each value of SHARED_FIELDS, however many events hold it.
                values[name] = sys.intern(value) if shared and isinstance(value, str) else value
        return self.event_class(**values)

    def normalise(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The format's attributes under the domain event's field names."""
        return attrs


# --- The legacy format (the brief's original) -----------------------------


class LegacyEventSerializer(EventSerializer):
    """The envelope of every event in the legacy format."""

    user_id = identifier_field()
    device_id = identifier_field()
    type: serializers.Field[Any, Any, Any, Any] = identifier_field(source="raw_type")
    time_stamp = EventTimeField(source="occurred_at")

    def normalise(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The brief's events carry no id: the content is the identity.
        event_id = fingerprint(
            attrs["user_id"],
            attrs["device_id"],
            attrs["raw_type"],
            attrs.get("training_program_id", ""),
            attrs["occurred_at"].isoformat(),
        )
        return {**attrs, "event_id": event_id}


class LegacyTrainingProgramSerializer(LegacyEventSerializer):
    training_program_id = identifier_field()
    training_program_title = title_field(default=None)


# --- v2 ------------------------------------------------------------------------


class DeviceTimesSerializer(EventSerializer):
    """An event with the device's `occurred_at` and optional `sent_at`, checked together.

    With `sent_at` the device's clock is corrected (docs/time.md), so `occurred_at`
    may be any time before it; without, it may be at most an hour ahead of the server.
    Errors name the format's own fields (`occurred_field`, `sent_field`).
    """

    occurred_field: ClassVar[str] = "occurred_at"
    sent_field: ClassVar[str] = "sent_at"

    default_error_messages = {
        "sent_before_occurred": "Must not be before {occurred}.",
        "waited_too_long": "More than 30 days after {occurred}: too old to act on.",
    }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return self.check_device_times(attrs, self.occurred_field)

    def check_device_times(self, attrs: dict[str, Any], occurred_field: str) -> dict[str, Any]:
        """`attrs` when its `occurred_at` (sent as `occurred_field`) and `sent_at` fit."""
        occurred_at, sent_at = attrs["occurred_at"], attrs["sent_at"]
        max_ahead = MAX_AHEAD if sent_at is None else MAX_AHEAD_CORRECTED
        limit = timezone.now() + max_ahead  # one look at the clock: this is the hot path
        if occurred_at > limit:
            self._fail_ahead(occurred_field, occurred_at, max_ahead)
        if sent_at is None:
            return attrs
        if sent_at > limit:
            self._fail_ahead(self.sent_field, sent_at, max_ahead)
        if sent_at < occurred_at:
            self._fail_on(self.sent_field, "sent_before_occurred", occurred_field)
        if sent_at - occurred_at > MAX_WAIT:
            self._fail_on(self.sent_field, "waited_too_long", occurred_field)
        return attrs

    def _fail_ahead(self, field_name: str, value: datetime, max_ahead: timedelta) -> None:
        with _errors_of(field_name):
            cast(EventTimeField, self.fields[field_name]).check_not_ahead(value, max_ahead)

    def _fail_on(self, field_name: str, key: str, occurred_field: str) -> None:
        with _errors_of(field_name):
            self.fail(key, occurred=occurred_field)


class V2EventSerializer(DeviceTimesSerializer):
    """The envelope of every v2 event."""

    offset_fields = ("occurred_at",)

    schema_version = serializers.ChoiceField(choices=[SCHEMA_VERSION])
    event_id = StrictUUIDField()
    type: serializers.Field[Any, Any, Any, Any] = identifier_field(source="raw_type")
    # How far ahead these may be depends on each other: checked together, in `validate`.
    occurred_at = EventTimeField(require_offset=True, max_ahead=None)
    sent_at = EventTimeField(require_offset=True, max_ahead=None, default=None)
    user_id = identifier_field()
    device_id = identifier_field()
    timezone = TimeZoneField()


class TrainingProgramSerializer(FixedFieldsSerializer):
    id = identifier_field()
    title = title_field(default=None)


class V2TrainingProgramEventSerializer(V2EventSerializer):
    training_program = TrainingProgramSerializer()

    def normalise(self, attrs: dict[str, Any]) -> dict[str, Any]:
        program = attrs["training_program"]
        return {
            **super().normalise(attrs),
            "training_program_id": program["id"],
            "training_program_title": program.get("title"),
        }


@extend_schema_field(
    {"type": "array", "items": {"$ref": "#/components/schemas/IncomingEventRequest"}}
)
class EventListField(serializers.Field[list[Any], list[Any], list[Any], Any]):
    """The events of a batch: a JSON array, each item checked on its own later."""

    default_error_messages = {"not_a_list": "Expected a JSON array of events."}

    def to_internal_value(self, data: Any) -> list[Any]:
        if not isinstance(data, list):
            self.fail("not_a_list")
        return data


class BatchSerializer(serializers.Serializer[dict[str, Any]]):
    """A batch: a JSON array of events, or an object with the `events` and one `sent_at`
    (the device's clock when it sent the batch) for the events that have none of their own."""

    default_error_messages = {
        "not_a_batch": "Expected a JSON array of events, or an object with `events`."
    }

    sent_at = EventTimeField(require_offset=True, max_ahead=MAX_AHEAD_CORRECTED, required=False)
    events = EventListField()

    def run_validation(self, data: Any = empty) -> Any:
        if data is None:  # DRF's own answer would be a bare list, unlike every other 400
            self._not_a_batch()
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, list):
            return {"events": data}
        if not isinstance(data, Mapping) or "events" not in data:
            self._not_a_batch()
        batch: dict[str, Any] = super().to_internal_value(data)
        return batch

    def _not_a_batch(self) -> NoReturn:
        message = self.error_messages["not_a_batch"]
        raise serializers.ValidationError(
            {api_settings.NON_FIELD_ERRORS_KEY: [message]}, code="not_a_batch"
        )


@contextmanager
def _errors_of(field_name: str) -> Iterator[None]:
    """Report a check's errors under the field it checked, as DRF does for its fields."""
    try:
        yield
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({field_name: exc.detail}) from None
