"""Parsing the brief's format: valid payloads become domain events, invalid ones name the field."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from events.domain.events import (
    EVENT_TYPES,
    AppLaunched,
    TrainingProgramCancelled,
    TrainingProgramFinished,
    TrainingProgramStarted,
    UnknownEvent,
)
from events.wire.formats import WIRE_FORMATS, IncomingEventSerializer, type_names
from events.wire.representations import (
    DecisionEventSerializer,
    EventRepresentationSerializer,
    event_representation,
)
from events.wire.serializers import EventFormat
from tests.factories import at, cancelled, finished, launched, received, started, unknown
from tests.wire import v2_event


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
def test_every_format_reads_every_declared_type_with_its_own_serializer(event_format):
    serializers = type_names(event_format).values()

    assert [each.event_class for each in serializers] == [
        declaration.event_class for declaration in EVENT_TYPES
    ]
    assert WIRE_FORMATS[event_format].envelope.event_class is UnknownEvent


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
        # Counted as sent, as the schema's maxLength counts: before trimming or NFC.
        pytest.param(brief(user_id="x" * 128 + " "), "user_id", "max_length", id="long, spaced"),
        pytest.param(
            brief(training_program_title="t" * 257),
            "training_program_title",
            "max_length",
            id="title too long",
        ),
        pytest.param(
            brief(device_id="bar\n1"), "device_id", "forbidden_characters", id="control character"
        ),
        pytest.param(brief(device_id="bar\x001"), "device_id", "forbidden_characters", id="nul"),
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


@pytest.mark.parametrize(
    "time_stamp",
    [
        pytest.param("2021-02-28 16:23:25\n", id="trailing newline"),
        pytest.param(" 2021-02-28 16:23:25", id="leading space"),
        pytest.param("٢٠٢١-٠٢-٢٨ ١٦:٢٣:٢٥", id="arabic-indic digits"),
        pytest.param("2021-W08-7 16:23:25", id="iso week date"),
        pytest.param("2021-02-28", id="date alone"),
        pytest.param("2021-02-28T16:23:25", id="T without an offset"),
        pytest.param("20210228T162325Z", id="basic format"),
        pytest.param("2021-02-28T16:23:25+0200", id="offset without colon"),
    ],
)
def test_a_timestamp_must_be_rfc_3339_or_the_legacy_form_exactly(time_stamp):
    errors = errors_of(brief(time_stamp=time_stamp))

    assert [error.code for error in errors["time_stamp"]] == ["invalid"]


@pytest.mark.parametrize(
    "occurred_at",
    ["2021-02-28T16:22:52Z\n", "2021-02-28T16:22:52.123456789+01:00x", "2021-02-28 16:22:52"],
)
def test_v2_times_must_be_rfc_3339_with_an_offset(occurred_at):
    errors = errors_of(v2_event(occurred_at=occurred_at))

    assert [error.code for error in errors["occurred_at"]] in (["invalid"], ["no_offset"])


@pytest.mark.parametrize(
    "accepted",
    [
        "2021-02-28T16:22:52Z",
        "2021-02-28t16:22:52z",
        "2021-02-28T16:22:52.5+01:00",
        "2021-02-28 16:22:52-00:00",
    ],
)
def test_every_rfc_3339_form_is_accepted(accepted):
    assert parse(v2_event(occurred_at=accepted)).occurred_at.tzinfo is not None


@pytest.mark.parametrize("event_id", [True, 42, 1.5, ["0b9f7e3c-5d8a-4a47-9c1e-2f4a6d8b1c3e"]])
def test_an_event_id_must_be_a_json_string(event_id):
    errors = errors_of(v2_event(event_id=event_id))

    assert [error.code for error in errors["event_id"]] == ["not_a_string"]


@pytest.mark.parametrize(
    "user_id",
    [
        pytest.param("foo\u202e2", id="right-to-left override"),
        pytest.param("\ufefffoo", id="byte order mark"),
        pytest.param("foo\u200b", id="zero-width space"),
        pytest.param("foo\u0085", id="C1 control"),
        pytest.param("foo\ue000", id="private use"),
        pytest.param("foo\u0378", id="unassigned"),
    ],
)
def test_identifiers_refuse_invisible_and_unassigned_characters(user_id):
    errors = errors_of(brief(user_id=user_id))

    assert [error.code for error in errors["user_id"]] == ["forbidden_characters"]


def test_identifiers_are_nfc_normalised():
    composed, decomposed = "jos\u00e9", "jose\u0301"

    assert parse(brief(user_id=decomposed)).user_id == composed
    assert parse(brief(user_id="Zoë 🏋️")).user_id == "Zoë 🏋️"


def test_an_id_s_length_is_counted_as_sent_before_nfc():
    # U+0344 is one character that NFC writes as two: the limit is on what the app sent.
    assert len(parse(brief(user_id="\u0344" * 128)).user_id) == 256


_BERLIN = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    "event",
    [
        launched("u1", at(0)),
        started("u1", at(1)),
        replace(started("u1", at(1)), training_program_title="7 Minutes of HIIT"),
        cancelled("u1", at(2, seconds=3)),
        finished("u1", at(40).replace(microsecond=123456)),
        unknown("u1", at(3)),
        received(started("u1", at(1)), at(2), sent_at=at(1, seconds=30)),
        received(finished("u1", at(40)), at(41)),
        replace(launched("u1", at(0)), occurred_at=datetime(2021, 2, 28, 17, 0, tzinfo=_BERLIN)),
        replace(started("u1", at(1)), timezone="Europe/Berlin", utc_offset=timedelta(hours=1)),
        replace(launched("u1", at(0)), utc_offset=timedelta(hours=-3, minutes=-30)),
        replace(unknown("u1", at(3)), timezone="UTC"),
    ],
)
def test_an_event_is_shown_as_its_representation_serializer_shows_it(event):
    assert event_representation(event) == EventRepresentationSerializer(event).data


@pytest.mark.parametrize(
    ("utc_offset", "shown"),
    [
        (timedelta(hours=2), "+02:00"),
        (timedelta(0), "+00:00"),
        (timedelta(hours=-3, minutes=-30), "-03:30"),
        (timedelta(hours=13, minutes=45), "+13:45"),
    ],
)
def test_the_user_s_zone_is_shown_with_its_offset_written_as_in_a_timestamp(utc_offset, shown):
    event = replace(launched("u1", at(0)), timezone="Europe/Berlin", utc_offset=utc_offset)

    assert event_representation(event)["timezone"] == "Europe/Berlin"
    assert event_representation(event)["utc_offset"] == shown


def test_the_decision_log_shows_the_user_s_zone_of_each_event():
    zoned = replace(
        launched("u1", at(0)), timezone="Asia/Kolkata", utc_offset=timedelta(hours=5, minutes=30)
    )

    shown = DecisionEventSerializer(zoned).data

    assert (shown["timezone"], shown["utc_offset"]) == ("Asia/Kolkata", "+05:30")
    assert {"timezone", "utc_offset"}.isdisjoint(
        DecisionEventSerializer(launched("u1", at(0))).data
    )


def test_a_zone_the_event_does_not_state_is_not_shown():
    shown = event_representation(launched("u1", at(0)))

    assert {"timezone", "utc_offset"}.isdisjoint(shown)
    assert {"timezone", "utc_offset"}.isdisjoint(
        EventRepresentationSerializer(launched("u1", at(0))).data
    )


def test_events_of_one_user_hold_one_copy_of_what_they_share():
    """A user's reorder window holds several of their events: their user, device, program
    and title are one string each in memory, not one per event."""
    one, other = (
        parse(json.loads(json.dumps(v2_event(occurred_at=moment))))  # strings of their own
        for moment in ("2021-02-28T16:23:25Z", "2021-02-28T16:53:25Z")
    )

    assert one.user_id is other.user_id
    assert one.device_id is other.device_id
    assert one.training_program_id is other.training_program_id
    assert one.training_program_title is other.training_program_title


# --- The user's zone (docs/events.md, "The user's zone") ---------------------------------


@pytest.mark.parametrize("name", ["Europe/Berlin", "UTC", "Etc/UTC", "America/Argentina/Jujuy"])
def test_a_v2_event_carries_the_user_s_iana_zone_as_sent(name):
    assert parse(v2_event(timezone=name)).timezone == name


def test_a_v2_event_without_a_zone_states_none():
    event = parse(v2_event())

    assert event.timezone is None


@pytest.mark.parametrize(
    ("occurred_at", "utc_offset"),
    [
        ("2021-02-28T18:23:25+02:00", timedelta(hours=2)),
        ("2021-02-28T12:53:25.5-03:30", timedelta(hours=-3, minutes=-30)),
        ("2021-02-28T16:23:25Z", timedelta(0)),
        ("2021-02-28t16:23:25z", timedelta(0)),
        ("2021-02-28T16:23:25+00:00", timedelta(0)),
        # RFC 3339 (4.3): the time in UTC is known, the local offset is not.
        ("2021-02-28T16:23:25-00:00", None),
    ],
)
def test_a_v2_event_s_time_states_the_offset_it_was_written_with(occurred_at, utc_offset):
    event = parse(v2_event(occurred_at=occurred_at))

    assert event.utc_offset == utc_offset
    assert event.occurred_at.tzinfo is UTC  # the time itself is kept in UTC, as always


def test_the_offset_is_the_occurred_time_s_not_sent_at_s():
    event = parse(v2_event(occurred_at="2021-02-28T18:23:25+02:00", sent_at="2021-02-28T16:23:30Z"))

    assert event.utc_offset == timedelta(hours=2)


@pytest.mark.parametrize(
    "time_stamp", ["2021-02-28 16:23:25", "2021-02-28T18:23:25+02:00", "2021-02-28T16:23:25Z"]
)
def test_the_brief_s_time_stamp_never_states_a_zone(time_stamp):
    event = parse(brief(time_stamp=time_stamp, timezone="Europe/Berlin"))

    assert (event.timezone, event.utc_offset) == (None, None)


#: Names that are no zone of the tz database, and how each is refused.
HOSTILE_ZONES = [
    pytest.param("Mars/Olympus", "unknown_zone", id="unknown"),
    pytest.param("../../etc/passwd", "unknown_zone", id="relative path"),
    pytest.param("/etc/passwd", "unknown_zone", id="absolute path"),
    pytest.param("Europe/../Europe/Berlin", "unknown_zone", id="dot-dot inside"),
    pytest.param("zone.tab", "unknown_zone", id="a tz database file that is no zone"),
    pytest.param("tzdata.zi", "unknown_zone", id="the tz database's source"),
    pytest.param("Europe", "unknown_zone", id="a directory"),
    pytest.param("posix/Europe/Berlin", "unknown_zone", id="posix tree"),
    pytest.param("localtime", "unknown_zone", id="the server's own zone"),
    pytest.param("europe/berlin", "unknown_zone", id="other case"),
    pytest.param(" UTC", "unknown_zone", id="leading space"),
    pytest.param("UTC\n", "forbidden_characters", id="trailing newline"),
    pytest.param("Europe/Berlin\x00", "forbidden_characters", id="nul"),
    pytest.param("UTC\u202e", "forbidden_characters", id="bidi override"),
    pytest.param("\uff35\uff34\uff23", "unknown_zone", id="fullwidth UTC"),
    pytest.param("Europe/Ber\u0301lin", "unknown_zone", id="combining accent"),
    pytest.param("\ud800", "forbidden_characters", id="lone surrogate"),
    pytest.param("", "blank", id="empty"),
    pytest.param("A/" * 33, "max_length", id="65 characters"),
    pytest.param("Europe/Berlin" * 10_000, "max_length", id="very long"),
    pytest.param(None, "null", id="null"),
    pytest.param(1, "not_a_string", id="number"),
    pytest.param(["UTC"], "not_a_string", id="list"),
    pytest.param({"name": "UTC"}, "not_a_string", id="object"),
]


@pytest.mark.parametrize(("name", "code"), HOSTILE_ZONES)
def test_a_name_that_is_no_iana_zone_is_refused_under_timezone(name, code):
    errors = errors_of(v2_event(timezone=name))

    assert [error.code for error in errors["timezone"]] == [code]


def test_an_unknown_zone_s_error_names_it():
    assert errors_of(v2_event(timezone="Mars/Olympus")) == {
        "timezone": ["unknown time zone 'Mars/Olympus'"]
    }


def test_checking_a_zone_name_opens_no_file(monkeypatch):
    parse(v2_event(timezone="Europe/Berlin"))  # the tz database's names are read once

    def no_file(*args, **kwargs):
        raise AssertionError(f"opened {args}")

    monkeypatch.setattr("builtins.open", no_file)
    monkeypatch.setattr("io.open", no_file)
    monkeypatch.setattr("os.open", no_file)

    assert errors_of(v2_event(timezone="../../../../etc/passwd"))["timezone"]
    assert parse(v2_event(timezone="Asia/Tokyo")).timezone == "Asia/Tokyo"
