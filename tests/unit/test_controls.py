"""The rules' controls (issue 26): quiet hours in the user's zone, then frequency caps."""

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from events.domain import timeline
from events.domain.controls import next_local, zone_in_force
from events.domain.decisions import NO_STATE, DecisionRecord, Verdict, Zone, settle
from events.domain.rules import Thresholds, decide
from events.domain.ruleset import Cap, Controls, QuietAction, QuietHours
from events.service.notices import notifications_of
from tests.factories import at, finished, launched, started, unknown

TOKYO = "Asia/Tokyo"  # UTC+9, no DST: the factories' 16:00 UTC is 01:00 there
PARIS = ZoneInfo("Europe/Paris")
NIGHT = QuietHours(time(22), time(8), QuietAction.SKIP)
DAY = timedelta(hours=24)


def run(events, thresholds: Thresholds):
    """Each event decided and settled in turn: the final state and every record."""
    state, records = NO_STATE, []
    for event in events:
        state, decided = settle(state, decide(event, state, thresholds))
        records += decided
    return state, records


def notified(records, thresholds):
    return notifications_of(records, thresholds)


def session(user: str, start: int, minutes: int, zone: str | None = None, program: str = "p1"):
    """A start at `start` minutes and its finish `minutes` later, the finish stating `zone`."""
    finish = finished(user, at(start + minutes), program)
    return [started(user, at(start), program), replace(finish, timezone=zone)]


def outcomes(records):
    return [record.outcome for record in records]


@pytest.mark.parametrize(
    ("start", "end", "local", "covered"),
    [
        (time(22), time(8), time(23, 59), True),
        (time(22), time(8), time(0), True),
        (time(22), time(8), time(7, 59), True),
        (time(22), time(8), time(8), False),  # [from, to): the end is not quiet
        (time(22), time(8), time(21, 59), False),
        (time(22), time(8), time(22), True),
        (time(1), time(5), time(1), True),
        (time(1), time(5), time(5), False),
        (time(1), time(5), time(23), False),
    ],
)
def test_quiet_hours_are_from_inclusive_to_exclusive_and_wrap_midnight(start, end, local, covered):
    assert QuietHours(start, end).covers(local) is covered


def test_the_next_end_of_quiet_hours_is_the_next_time_the_local_clock_shows_it():
    late_evening = datetime(2026, 12, 7, 22, 30, tzinfo=UTC)  # 23:30 in Paris
    assert next_local(late_evening, time(7), PARIS) == datetime(2026, 12, 8, 6, tzinfo=UTC)
    small_hours = datetime(2026, 12, 7, 2, tzinfo=UTC)  # 03:00 in Paris
    assert next_local(small_hours, time(7), PARIS) == datetime(2026, 12, 7, 6, tzinfo=UTC)


def test_an_end_the_clock_skips_in_a_dst_gap_is_the_first_instant_past_it():
    # 2026-03-29 in Paris: 02:00 CET becomes 03:00 CEST at 01:00 UTC; 02:30 never shows.
    night = datetime(2026, 3, 28, 23, tzinfo=UTC)
    assert next_local(night, time(2, 30), PARIS) == datetime(2026, 3, 29, 1, tzinfo=UTC)


def test_an_end_the_clock_shows_twice_is_the_first_time_it_does():
    # 2026-10-25 in Paris: 03:00 CEST becomes 02:00 CET at 01:00 UTC; 02:30 shows twice.
    night = datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert next_local(night, time(2, 30), PARIS) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_the_zone_is_the_latest_name_else_the_latest_offset_else_the_default():
    assert zone_in_force(Zone(), "Europe/Paris")[1] == "Europe/Paris"
    assert zone_in_force(Zone(offset=timedelta(hours=9)), "UTC")[1] == "UTC+09:00"
    assert zone_in_force(Zone(offset=timedelta(0)), "Europe/Paris")[1] == "UTC"
    assert zone_in_force(Zone(TOKYO, timedelta(hours=2)), "UTC")[1] == TOKYO


def test_a_name_stated_once_outlives_later_offsets_and_a_later_name_wins():
    zone = Zone()
    for event in (
        replace(launched("u1", at(0)), utc_offset=timedelta(hours=2)),
        replace(launched("u1", at(1)), timezone=TOKYO),
        replace(launched("u1", at(2)), utc_offset=timedelta(hours=-5)),
    ):
        zone = zone.after(event)
    assert zone == Zone(TOKYO, timedelta(hours=-5))
    assert zone_in_force(zone, "UTC")[1] == TOKYO
    assert zone.after(launched("u1", at(3))) is zone  # states nothing: the same zone


def test_a_congratulation_in_the_users_quiet_hours_is_skipped_with_its_figures():
    rules = Thresholds(congratulation_controls=Controls(quiet_hours=NIGHT))
    _, records = run(session("u1", 0, 40, zone=TOKYO), rules)
    [record] = [r for r in records if r.rule == "congratulate_training_dose"]
    assert record.outcome is Verdict.QUIET_HOURS
    assert record.notification_id is None
    assert record.figures["quiet_hours"] == {
        "zone": TOKYO,
        "local_time": "2021-03-01T01:40:00+09:00",
        "from": "22:00",
        "to": "08:00",
        "action": "skip",
    }
    assert not notified(records, rules)


def test_outside_the_users_quiet_hours_it_is_sent_as_before():
    rules = Thresholds(congratulation_controls=Controls(quiet_hours=NIGHT))
    _, records = run(session("u1", 0, 40), rules)  # no zone stated: UTC, 16:40
    assert outcomes(records) == [Verdict.CONGRATULATED]
    assert notified(records, rules)[0].deliver_after is None


def test_the_default_zone_judges_users_whose_events_state_none():
    rules = Thresholds(congratulation_controls=Controls(quiet_hours=NIGHT), default_zone=TOKYO)
    _, records = run(session("u1", 0, 40), rules)
    assert outcomes(records) == [Verdict.QUIET_HOURS]


def test_a_deferred_congratulation_is_sent_when_the_quiet_hours_end():
    deferring = replace(NIGHT, action=QuietAction.DEFER)
    rules = Thresholds(congratulation_controls=Controls(quiet_hours=deferring))
    _, records = run(session("u1", 0, 40, zone=TOKYO), rules)
    assert outcomes(records) == [Verdict.CONGRATULATED]
    [notification] = notified(records, rules)
    morning = datetime(2021, 2, 28, 23, tzinfo=UTC)  # 08:00 in Tokyo
    assert notification.deliver_after == morning
    assert notification.as_payload()["deliver_after"] == "2021-02-28T23:00:00+00:00"
    assert records[0].figures["quiet_hours"]["deliver_after"] == morning.isoformat()


def test_a_cap_holds_back_the_notification_past_max_within_its_window():
    rules = Thresholds(congratulation_controls=Controls(cap=Cap(2, DAY)))
    sessions = [*session("u1", 0, 40), *session("u1", 60, 40), *session("u1", 120, 40)]
    _, records = run(sessions, rules)
    assert outcomes(records) == [Verdict.CONGRATULATED, Verdict.CONGRATULATED, Verdict.CAPPED]
    assert records[2].figures["cap"] == {"count": 2, "max": 2, "per_hours": 24}
    assert len(notified(records, rules)) == 2


def test_a_cap_window_is_open_at_its_start_and_closed_at_its_end():
    rules = Thresholds(congratulation_controls=Controls(cap=Cap(1, DAY)))
    first = session("u1", 0, 40)
    a_day_later = session("u1", 24 * 60, 40)  # its finish is 24 h after the first finish
    just_inside = session("u1", 24 * 60 - 1, 40)
    assert outcomes(run([*first, *a_day_later], rules)[1])[-1] is Verdict.CONGRATULATED
    assert outcomes(run([*first, *just_inside], rules)[1])[-1] is Verdict.CAPPED


def test_caps_count_per_user_and_per_rule():
    rules = Thresholds(
        congratulation_controls=Controls(cap=Cap(1, DAY)),
        reminder_controls=Controls(cap=Cap(1, DAY)),
    )
    events = [launched("u1", at(0)), *session("u1", 30, 40), *session("u2", 0, 40)]
    _, records = run(events, rules)
    assert Verdict.CAPPED not in outcomes(records)
    assert len(notified(records, rules)) == 3  # u1's reminder and congratulation, u2's


def test_skipped_notifications_do_not_count_for_the_cap_and_deferred_ones_do():
    skip = Controls(cap=Cap(1, DAY), quiet_hours=QuietHours(time(16, 30), time(16, 50)))
    _, records = run(
        [*session("u1", 0, 40), *session("u1", 60, 40)], Thresholds(congratulation_controls=skip)
    )
    assert outcomes(records) == [Verdict.QUIET_HOURS, Verdict.CONGRATULATED]
    defer = replace(skip, quiet_hours=replace(skip.quiet_hours, action=QuietAction.DEFER))
    _, records = run(
        [*session("u1", 0, 40), *session("u1", 60, 40)], Thresholds(congratulation_controls=defer)
    )
    assert outcomes(records) == [Verdict.CONGRATULATED, Verdict.CAPPED]


def test_a_capped_reminder_is_dropped_unsent_and_a_later_launch_arms_a_new_one():
    rules = Thresholds(reminder_controls=Controls(cap=Cap(1, DAY)))
    events = [launched("u1", at(0)), launched("u1", at(30)), launched("u1", at(60))]
    state, records = run(events, rules)
    assert outcomes(records) == [Verdict.SENT, Verdict.CAPPED]
    assert records[1].reminder is not None
    assert records[1].figures["cap"]["count"] == 1
    assert state.pending_reminder is not None  # the third launch's
    assert state.last_sent_reminder is not None
    assert state.last_sent_reminder.launch.event_id == events[0].event_id


def test_a_reminder_fired_by_an_event_does_not_see_that_events_zone():
    rules = Thresholds(reminder_controls=Controls(quiet_hours=NIGHT))
    late = replace(launched("u1", at(20)), timezone=TOKYO)  # 01:20 in Tokyo
    _, records = run([launched("u1", at(0)), late], rules)
    assert outcomes(records)[0] is Verdict.SENT  # judged in UTC: 16:10 is not quiet


def test_a_launch_stating_its_zone_has_its_reminder_judged_in_it():
    rules = Thresholds(reminder_controls=Controls(quiet_hours=NIGHT))
    state, records = run([replace(launched("u1", at(0)), timezone=TOKYO)], rules)
    assert state.pending_reminder is not None
    _, records = settle(state, decide(launched("u1", at(20)), state, rules))
    [record] = [r for r in records if r.rule == "remind_to_start"]
    assert record.outcome is Verdict.QUIET_HOURS
    assert record.figures["quiet_hours"]["zone"] == TOKYO


def test_without_controls_nothing_changes_and_no_trigger_time_is_kept():
    state, records = run([*session("u1", 0, 40), launched("u1", at(50))], Thresholds())
    assert outcomes(records) == [Verdict.CONGRATULATED]
    assert state.contact.recent == ()


def test_what_a_cap_counts_is_kept_no_longer_than_its_window_and_the_reorder_window():
    rules = Thresholds(
        congratulation_controls=Controls(cap=Cap(5, timedelta(hours=1))),
        reorder_window=timedelta(hours=1),
    )
    sessions = [event for hour in range(5) for event in session("u1", hour * 60, 40)]
    state, _ = run(sessions, rules)
    kept = [moment for _, moment in state.contact.recent]
    assert kept == [at(3 * 60 + 40), at(4 * 60 + 40)]  # the older ones are 2 h behind


def test_a_held_record_keeps_what_it_was_about():
    rules = Thresholds(congratulation_controls=Controls(cap=Cap(1, DAY)))
    _, records = run([*session("u1", 0, 40), *session("u1", 60, 40)], rules)
    capped: DecisionRecord = records[1]
    assert capped.rule == "congratulate_training_dose"
    assert capped.figures["minutes"] == 40
    assert capped.rules_version == rules.rules_version


def test_an_end_in_the_second_pass_of_a_repeated_hour_is_reached_the_same_night():
    # 2021-10-31 in Berlin: 03:00 CEST becomes 02:00 CET at 01:00 UTC. At 01:10 UTC the
    # clock shows 02:10 for the second time: it shows 02:30 again at 01:30 UTC.
    berlin = ZoneInfo("Europe/Berlin")
    second_pass = datetime(2021, 10, 31, 1, 10, tzinfo=UTC)
    assert next_local(second_pass, time(2, 30), berlin) == datetime(2021, 10, 31, 1, 30, tzinfo=UTC)


def test_a_deferred_notification_then_capped_has_no_delivery_time():
    controls = Controls(cap=Cap(1, DAY), quiet_hours=replace(NIGHT, action=QuietAction.DEFER))
    rules = Thresholds(congratulation_controls=controls)
    sessions = [*session("u1", 0, 40, zone=TOKYO), *session("u1", 60, 40, zone=TOKYO)]
    _, records = run(sessions, rules)
    assert outcomes(records) == [Verdict.CONGRATULATED, Verdict.CAPPED]
    assert records[1].deliver_after is None


def test_a_zone_the_tz_database_here_does_not_know_is_judged_in_the_default(caplog):
    for _ in range(3):
        assert zone_in_force(Zone("Mars/Olympus_Mons"), "Asia/Tokyo")[1] == "Asia/Tokyo"

    [logged] = [r for r in caplog.records if "Mars/Olympus_Mons" in r.getMessage()]
    assert logged.levelname == "WARNING"  # once, not once per decision


def test_a_user_with_only_a_zone_to_keep_is_kept():
    rules = Thresholds(reorder_window_events=0)
    state, _ = run([replace(unknown("u1", at(0)), timezone=TOKYO)], rules)
    assert state  # the store keeps it, zone and all
    assert state.contact.zone.name == TOKYO


def test_the_zone_of_an_event_too_late_for_the_window_is_not_kept():
    rules = Thresholds(reorder_window=timedelta(hours=1))
    state, _ = timeline.apply(launched("u1", at(400)), NO_STATE, rules_of(rules), rules)
    too_late = replace(unknown("u1", at(0)), timezone=TOKYO)

    after, records = timeline.apply(too_late, state, rules_of(rules), rules)

    assert records[0].outcome is Verdict.TOO_LATE
    assert after.contact.zone.name is None


def rules_of(thresholds: Thresholds):
    return lambda event, state: decide(event, state, thresholds)
