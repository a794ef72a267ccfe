"""The Redis encoding of a user's state gives back the state it was made from."""

from dataclasses import replace
from datetime import timedelta
from types import MappingProxyType

import orjson

from events.adapters.codec import decode_record, decode_state, encode_record, encode_state
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
