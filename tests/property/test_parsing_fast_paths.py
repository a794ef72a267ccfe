"""The parsing fast paths answer exactly as DRF's own machinery does.

The serializers take the common case past DRF's per-field machinery (a plain loop over
the fields, strings and times read directly) and leave everything else to DRF. For any
value, valid or not, each fast path must give what DRF's path gives: the same value, the
same errors, the same skipped field. Hypothesis draws values around each check's edges.
"""

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from benchmarks import workload
from events.wire.formats import _serializer_for, detect_format, type_names
from events.wire.segment import (
    ContextSerializer,
    DeviceSerializer,
    TrainingPropertiesSerializer,
)
from events.wire.serializers import (
    EventFormat,
    EventTimeField,
    FixedFieldsSerializer,
    StrictCharField,
    StrictUUIDField,
    TimeZoneField,
    TrainingProgramSerializer,
)

PRINTABLE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
IDENTIFIERS = st.one_of(
    PRINTABLE,
    st.text(max_size=12),  # controls, non-ASCII, format characters
    st.sampled_from(["", " ", "  a ", "a\x00", "a\n", "\u200ba", "Europe/Berlin", "UTC"]),
    st.integers(),
    st.booleans(),
    st.none(),
    st.just(empty),
    st.lists(st.integers(), max_size=1),
)
TIMES = st.one_of(
    st.from_regex(
        r"\A[12][0-9]{3}-[01][0-9]-[0-3][0-9][Tt ][0-2][0-9]:[0-6][0-9]:[0-6][0-9]"
        r"(\.[0-9]{1,9})?([Zz]|[+-][0-2][0-9]:[0-6][0-9])?\Z"
    ),
    st.sampled_from(
        [
            "2021-02-28T16:22:52Z",
            "2021-02-28 16:22:52",
            "2021-02-28t16:22:52.123456789z",
            "2021-02-30T16:22:52Z",
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "2021-02-28T16:22:52-00:00",
            "1999-12-31T23:59:59Z",
            "2999-01-01T00:00:00Z",
        ]
    ),
    IDENTIFIERS,
)


def outcome(run: Any, value: Any) -> tuple[str, Any]:
    try:
        return "value", _comparable(run(value))
    except serializers.ValidationError as exc:
        return "errors", exc.detail
    except SkipField:
        return "skipped", None


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime):  # equal instants in other zones compare equal
        return value, value.tzinfo
    return value


STRING_FIELDS = [
    StrictCharField(max_length=8),
    StrictCharField(max_length=8, trim_whitespace=False),
    StrictCharField(max_length=8, required=False, allow_null=True),
    StrictCharField(max_length=8, default=None),
    StrictCharField(max_length=8, allow_blank=True),
]


@settings(max_examples=300)
@given(st.sampled_from(range(len(STRING_FIELDS))), IDENTIFIERS)
def test_a_string_field_answers_as_drf_does(index: int, value: Any) -> None:
    field = STRING_FIELDS[index]
    drf = super(StrictCharField, field).run_validation  # CharField's, then Field's

    assert outcome(field.run_validation, value) == outcome(drf, value)


def test_a_time_zone_field_still_refuses_a_printable_name_it_does_not_know() -> None:
    with pytest.raises(serializers.ValidationError) as refused:
        TimeZoneField().run_validation("Not/AZone")

    assert refused.value.detail == ["unknown time zone 'Not/AZone'"]


TIME_FIELDS = [
    EventTimeField(),
    EventTimeField(require_offset=True, max_ahead=None),
    EventTimeField(require_offset=True, max_ahead=None, default=None, allow_null=True),
]


@settings(max_examples=300)
@given(st.sampled_from(range(len(TIME_FIELDS))), TIMES)
def test_a_time_field_answers_as_drf_does(index: int, value: Any) -> None:
    field = TIME_FIELDS[index]

    def drf_parsed(text: str) -> datetime:
        parsed: datetime = serializers.DateTimeField.to_internal_value(field, text)
        return parsed

    assert outcome(field.run_validation, value) == outcome(
        lambda data: _drf_time_validation(field, data), value
    )
    if isinstance(value, str):
        assert outcome(field._parsed, value.upper()) == outcome(drf_parsed, value.upper())


def _drf_time_validation(field: EventTimeField, data: Any) -> Any:
    return serializers.Field.run_validation(field, data)


UUIDS = st.one_of(
    st.uuids().map(str),
    st.uuids().map(lambda value: str(value).upper()),
    st.uuids().map(lambda value: value.hex),
    st.uuids().map(lambda value: f"{{{value}}}"),
    st.uuids().map(lambda value: f"urn:uuid:{value}"),
    st.uuids().map(lambda value: f" {value}"),
    st.from_regex(r"\A[0-9a-fA-F-]{30,40}\Z"),
    IDENTIFIERS,
)


@settings(max_examples=300)
@given(UUIDS)
def test_a_uuid_field_answers_as_drf_does_in_canonical_text(value: Any) -> None:
    field = StrictUUIDField()

    def drf(data: Any) -> Any:
        read = serializers.Field.run_validation(field, data)
        return str(read) if read is not None else read

    assert outcome(field.run_validation, value) == outcome(drf, value)


KEYS = [
    *["user_id", "device_id", "type", "time_stamp", "training_program_id", "schema_version"],
    *["training_program_title", "event_id", "occurred_at", "sent_at", "timezone", "id"],
    *["training_program", "userId", "anonymousId", "messageId", "event", "title", "device"],
    *["timestamp", "originalTimestamp", "sentAt", "context", "properties"],
]
VALUES = st.one_of(
    IDENTIFIERS,
    TIMES,
    st.just(2),
    st.just("6f2b9c04-4b0b-4a8e-9a4c-0d1b5e1c2a3f"),
    st.fixed_dictionaries({"id": IDENTIFIERS}),
    st.fixed_dictionaries({"device": st.fixed_dictionaries({"id": IDENTIFIERS})}),
    st.fixed_dictionaries({"training_program_id": IDENTIFIERS}),
)
OBJECTS = st.dictionaries(st.sampled_from(KEYS), VALUES.filter(lambda value: value is not empty))
NESTED = [TrainingProgramSerializer, DeviceSerializer, ContextSerializer]
NESTED += [TrainingPropertiesSerializer]


@settings(max_examples=500)
@given(st.sampled_from(list(EventFormat)), st.data())
def test_a_serializer_reads_its_fields_as_drf_does(event_format: EventFormat, data: Any) -> None:
    classes = [*type_names(event_format).values(), *NESTED]
    serializer = data.draw(st.sampled_from(classes))()
    value = data.draw(st.one_of(OBJECTS, st.dictionaries(st.sampled_from(KEYS), TIMES)))

    def drf(value: Any) -> Any:
        return serializers.Serializer.to_internal_value(serializer, value)

    assert outcome(lambda v: FixedFieldsSerializer.to_internal_value(serializer, v), value) == (
        outcome(drf, value)
    )


WORKLOAD = list(workload.events(200, 20))


@settings(max_examples=200)
@given(st.sampled_from(WORKLOAD), st.sampled_from([None, *KEYS]), st.one_of(st.none(), VALUES))
def test_a_workload_event_reads_as_drf_reads_it(
    event: dict[str, Any], key: Any, value: Any
) -> None:
    changed = dict(event)
    if key is not None:  # one field changed, or taken away
        changed.pop(key, None)
        if value is not None:
            changed[key] = value
    serializer = _serializer_for(detect_format(changed), changed)

    def drf(value: Any) -> Any:
        return serializers.Serializer.to_internal_value(serializer, value)

    assert outcome(lambda v: FixedFieldsSerializer.to_internal_value(serializer, v), changed) == (
        outcome(drf, changed)
    )
