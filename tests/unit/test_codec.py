"""The Redis encoding of a user's state gives back the state it was made from."""

from dataclasses import replace
from datetime import timedelta
from types import MappingProxyType

import orjson
import pytest

from events.adapters.codec import (
    decode_event,
    decode_record,
    decode_state,
    encode_event,
    encode_record,
    encode_state,
)
from events.domain.decisions import (
    NO_STATE,
    Contact,
    DecisionRecord,
    Reminder,
    Trigger,
    UserState,
    Verdict,
    Window,
    Zone,
)
from tests.factories import at, cancelled, finished, launched, received, started, unknown


def test_a_state_with_its_reorder_window_survives_the_round_trip():
    launch = received(launched("a", at(0)), at(0, 2), sent_at=at(0, 1))
    merged = launched("a", at(3))
    reminder = Reminder(launch, at(10), due_at=at(10, 32), merged=(merged.event_id,))
    before_window = started("a", at(-400), program="long")
    window = (
        launch,
        merged,
        started("a", at(5)),
        cancelled("a", at(6)),
        unknown("a", at(7)),
        finished("a", at(50), program="yoga"),
    )
    state = UserState(
        MappingProxyType({"long": before_window, "p1": window[2]}),
        pending_reminder=reminder,
        last_sent_reminder=replace(reminder, merged=()),
        window=Window(
            window,
            sent=((window[-1].event_id, window[2].event_id),),
            sessions_before=MappingProxyType({"long": before_window}),
            zone_before=Zone(offset=timedelta(hours=-5)),
        ),
        contact=Contact(
            Zone("Asia/Tokyo", timedelta(hours=9, minutes=30)),
            (("remind_to_start", at(10)), ("congratulate_training_dose", at(50))),
        ),
    )

    assert decode_state(encode_state(state)) == state


def test_a_state_without_a_window_encodes_none():
    state = UserState(MappingProxyType({"p1": started("a", at(0))}))

    assert b'"w"' not in encode_state(state)
    assert decode_state(encode_state(state)) == state
    assert decode_state(encode_state(NO_STATE)) == NO_STATE


def test_a_decision_record_keeps_its_rules_version():
    launch = launched("a", at(0))
    record = DecisionRecord(
        Verdict.SENT,
        "remind_to_start",
        (launch,),
        about=launch,
        trigger=Trigger.WALL_CLOCK,
        reminder=Reminder(launch, at(10)),
        notification_id="n1",
        figures={"delay_minutes": 10},
        rules_version="2026-12-07.1",
    )

    assert decode_record(encode_record(record)) == record
    deferred = replace(record, deliver_after=at(14 * 60))
    assert decode_record(encode_record(deferred)).deliver_after == at(14 * 60)


def test_a_record_written_before_rules_had_versions_reads_with_none():
    launch = launched("a", at(0))
    record = DecisionRecord(Verdict.MERGED, "arm_start_reminder", (launch,), about=launch)
    old = orjson.loads(encode_record(record))
    del old["rv"]

    assert decode_record(orjson.dumps(old)).rules_version == ""


@pytest.mark.parametrize(
    ("timezone", "utc_offset"),
    [
        ("Europe/Berlin", timedelta(hours=1)),
        ("America/St_Johns", timedelta(hours=-3, minutes=-30)),
        ("UTC", timedelta(0)),
        (None, timedelta(hours=5, minutes=45)),
        ("Asia/Kolkata", None),
    ],
)
def test_an_event_keeps_the_user_s_zone_through_the_store(timezone, utc_offset):
    event = replace(started("a", at(0)), timezone=timezone, utc_offset=utc_offset)

    decoded = decode_event(encode_event(event))

    # Neither is part of the event's identity, so equality alone would not see them.
    assert (decoded.timezone, decoded.utc_offset) == (timezone, utc_offset)
    assert decoded == event


def test_the_zone_is_stored_compactly_and_only_when_known():
    berlin = replace(launched("a", at(0)), timezone="Europe/Berlin", utc_offset=timedelta(hours=2))

    assert orjson.loads(encode_event(berlin))["tz"] == "Europe/Berlin"
    assert orjson.loads(encode_event(berlin))["uo"] == 7200
    assert {"tz", "uo"}.isdisjoint(orjson.loads(encode_event(launched("a", at(0)))))


def test_the_zone_survives_in_a_state_s_reorder_window():
    zoned = replace(
        unknown("a", at(7)), timezone="Pacific/Chatham", utc_offset=timedelta(hours=13, minutes=45)
    )
    state = UserState(
        MappingProxyType({}), window=Window((zoned,), sent=(), sessions_before=MappingProxyType({}))
    )

    [decoded] = decode_state(encode_state(state)).window.events

    assert (decoded.timezone, decoded.utc_offset) == (zoned.timezone, zoned.utc_offset)
