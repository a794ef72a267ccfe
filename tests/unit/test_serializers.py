"""Parsing the brief's format: valid payloads become domain events, invalid ones name the field."""

from datetime import UTC, datetime

import pytest

from events.domain import (
    AppLaunched,
    EventType,
    TrainingProgramCancelled,
    TrainingProgramFinished,
    TrainingProgramStarted,
    UnknownEvent,
)
from events.formats import SERIALIZERS, TYPE_NAMES, IncomingEventSerializer
from events.serializers import EventFormat


def brief(**overrides):
    event = {
        "user_id": "foo1",
        "device_id": "bar1",
        "type": "training_program_started",
        "training_program_id": "2352",
        "training_program_title": "7 Minutes of HIIT Training",
        "time_stamp": "2021-02-28 16:23:25",
    }
    event.update(overrides)
    return {key: value for key, value in event.items() if value is not ...}


def parse(data):
    serializer = IncomingEventSerializer(data=data)
    assert serializer.is_valid(), serializer.errors
    return serializer.validated_data


def errors_of(data):
    serializer = IncomingEventSerializer(data=data)
    assert not serializer.is_valid()
    return serializer.errors


@pytest.mark.parametrize("event_format", list(EventFormat))
def test_every_event_type_has_an_entry_in_the_serializer_map(event_format):
    assert set(SERIALIZERS[event_format]) == set(EventType)
    assert set(TYPE_NAMES[event_format].values()) == set(EventType) - {EventType.UNKNOWN}


@pytest.mark.parametrize(
    ("wire_type", "event_class"),
    [
        ("app_launch", AppLaunched),
        ("training_program_started", TrainingProgramStarted),
        ("training_program_cancelled", TrainingProgramCancelled),
        ("training_program_finished", TrainingProgramFinished),
        ("profile_viewed", UnknownEvent),
    ],
)
def test_each_type_becomes_its_own_frozen_domain_event(wire_type, event_class):
    event = parse(brief(type=wire_type))

    assert type(event) is event_class
    assert (event.user_id, event.device_id) == ("foo1", "bar1")
    assert event.occurred_at == datetime(2021, 2, 28, 16, 23, 25, tzinfo=UTC)


def test_training_fields_are_read_and_the_title_is_optional():
    event = parse(brief(training_program_title=...))

    assert event.training_program_id == "2352"
    assert event.training_program_title is None


def test_the_brief_app_launch_without_program_fields_is_valid():
    event = parse(brief(type="app_launch", training_program_id=..., training_program_title=...))

    assert isinstance(event, AppLaunched)


def test_an_unknown_type_keeps_its_name():
    assert parse(brief(type="profile_viewed")).raw_type == "profile_viewed"


@pytest.mark.parametrize(
    ("time_stamp", "expected"),
    [
        ("2021-02-28 16:23:25", datetime(2021, 2, 28, 16, 23, 25, tzinfo=UTC)),
        ("2021-02-28T16:23:25Z", datetime(2021, 2, 28, 16, 23, 25, tzinfo=UTC)),
        ("2021-02-28T18:23:25+02:00", datetime(2021, 2, 28, 16, 23, 25, tzinfo=UTC)),
    ],
)
def test_timestamps_are_read_as_utc(time_stamp, expected):
    occurred_at = parse(brief(time_stamp=time_stamp)).occurred_at

    assert occurred_at == expected
    assert occurred_at.utcoffset().total_seconds() == 0


def test_extra_fields_are_ignored():
    assert parse(brief(colour="blue")).training_program_id == "2352"


def test_the_same_content_gets_the_same_id_and_different_content_another():
    assert parse(brief()).event_id == parse(brief()).event_id
    assert parse(brief()).event_id != parse(brief(time_stamp="2021-02-28 16:23:26")).event_id


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        pytest.param(brief(user_id=...), "user_id", "required", id="missing user_id"),
        pytest.param(brief(device_id=...), "device_id", "required", id="missing device_id"),
        pytest.param(brief(type=...), "type", "required", id="missing type"),
        pytest.param(brief(time_stamp=...), "time_stamp", "required", id="missing time_stamp"),
        pytest.param(
            brief(training_program_id=...), "training_program_id", "required", id="missing program"
        ),
        pytest.param(brief(time_stamp="yesterday"), "time_stamp", "invalid", id="bad timestamp"),
        pytest.param(brief(time_stamp=1614529405), "time_stamp", "not_a_string", id="epoch number"),
        pytest.param(brief(user_id=42), "user_id", "not_a_string", id="number as id"),
        pytest.param(brief(user_id=True), "user_id", "not_a_string", id="boolean as id"),
        pytest.param(brief(user_id=None), "user_id", "null", id="null id"),
        pytest.param(brief(user_id=""), "user_id", "blank", id="empty id"),
        pytest.param(brief(type=["app_launch"]), "type", "not_a_string", id="list as type"),
        pytest.param(brief(type={"a": 1}), "type", "not_a_string", id="object as type"),
        pytest.param(brief(user_id="x" * 129), "user_id", "max_length", id="id too long"),
        pytest.param(
            brief(training_program_title="t" * 257),
            "training_program_title",
            "max_length",
            id="title too long",
        ),
        pytest.param(
            brief(device_id="bar\n1"), "device_id", "control_characters", id="control character"
        ),
        pytest.param(brief(device_id="bar\x001"), "device_id", "control_characters", id="nul"),
    ],
)
def test_malformed_events_name_the_field_and_the_reason(data, field, code):
    errors = errors_of(data)

    assert code in [error.code for error in errors[field]]


@pytest.mark.parametrize("data", [[], ["a"], "text", 42, None, True])
def test_a_body_that_is_not_an_object_is_rejected(data):
    [error] = errors_of(data)["non_field_errors"]

    assert error.code == "not_an_object"


def test_all_field_errors_are_reported_at_once():
    assert set(errors_of({"type": "app_launch"})) == {"user_id", "device_id", "time_stamp"}
