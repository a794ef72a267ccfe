"""Streams of events through `record_event`: the clock, the rules and the outbox together."""

from datetime import UTC, datetime, timedelta

import pytest

from events.rules import EVENT_RULES
from events.services import Outcome, drain_reminders, record_event
from notifications.domain import NotificationKind
from tests.factories import at, cancelled, finished, launched, started, unknown

CONGRATULATION = NotificationKind.TRAINING_DOSE_CONGRATULATION
REMINDER = NotificationKind.START_TRAINING_REMINDER


def summary(notifications):
    return [(n.kind, n.user_id, n.minutes) for n in notifications]


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        pytest.param(
            [started("a", at(0)), finished("a", at(36, 18))],
            [(CONGRATULATION, "a", 36)],
            id="36:18 session",
        ),
        pytest.param(
            [started("a", at(0)), finished("a", at(30))],
            [],
            id="exactly 30:00 session",
        ),
        pytest.param(
            [started("a", at(0)), started("a", at(10)), finished("a", at(35))],
            [],
            id="a restart counts from the second start",
        ),
        pytest.param(
            [started("a", at(0)), cancelled("a", at(20)), finished("a", at(45))],
            [],
            id="cancel then finish",
        ),
        pytest.param([finished("a", at(45))], [], id="finish without start"),
        pytest.param(
            [
                started("a", at(0), program="yoga"),
                started("a", at(5), program="hiit"),
                finished("a", at(40), program="hiit"),
                finished("a", at(50), program="yoga"),
            ],
            [(CONGRATULATION, "a", 35), (CONGRATULATION, "a", 50)],
            id="two programs open at once",
        ),
        pytest.param(
            [launched("a", at(0)), started("a", at(10)), launched("b", at(30))],
            [],
            id="a start exactly 10:00 after the launch cancels the reminder",
        ),
        pytest.param(
            [launched("a", at(0)), started("a", at(10, 1))],
            [(REMINDER, "a", None)],
            id="a start 10:01 after the launch comes too late",
        ),
        pytest.param(
            [
                launched("a", at(0)),
                launched("a", at(4)),
                launched("a", at(8)),
                unknown("b", at(21)),
            ],
            [(REMINDER, "a", None)],
            id="several launches merge into one reminder",
        ),
        pytest.param(
            [launched("a", at(0)), launched("b", at(10, 1))],
            [(REMINDER, "a", None)],
            id="another user's event moves the clock",
        ),
        pytest.param(
            [launched("a", at(0)), unknown("a", at(5)), unknown("b", at(10, 1))],
            [(REMINDER, "a", None)],
            id="unknown types in between only move the clock",
        ),
        pytest.param(
            [launched("a", at(0)), launched("b", at(2)), launched("c", at(30))],
            [(REMINDER, "a", None), (REMINDER, "b", None)],
            id="reminders fire in deadline order",
        ),
    ],
)
def test_streams_send_exactly_the_expected_notifications(stream, expected, delivered):
    for event in stream:
        record_event(event)

    assert summary(delivered()) == expected


def test_a_reminder_does_not_fire_before_the_clock_passes_its_deadline(delivered):
    record_event(launched("a", at(0)))
    record_event(unknown("b", at(10)))

    assert delivered() == []


def test_a_reminder_fires_once_even_if_the_clock_passes_it_again(delivered):
    record_event(launched("a", at(0)))
    record_event(unknown("b", at(11)))
    record_event(unknown("b", at(40)))

    assert summary(delivered()) == [(REMINDER, "a", None)]


def test_after_a_reminder_a_new_launch_arms_a_new_one(delivered):
    for event in [launched("a", at(0)), launched("a", at(20)), unknown("b", at(31))]:
        record_event(event)

    assert summary(delivered()) == [(REMINDER, "a", None), (REMINDER, "a", None)]


def test_draining_fires_every_pending_reminder_now(delivered):
    record_event(launched("a", at(0)))
    record_event(launched("b", at(1)))

    assert drain_reminders() == 2
    assert summary(delivered()) == [(REMINDER, "a", None), (REMINDER, "b", None)]


def test_unknown_events_are_ignored_with_a_reason_but_counted(repository):
    result = record_event(unknown("a", at(0), raw_type="profile_viewed"))

    assert result.outcome is Outcome.IGNORED
    assert "profile_viewed" in result.reason
    assert repository.event_counts() == {"unknown": 1}


def test_closed_sessions_and_fired_reminders_leave_no_state_behind(repository, delivered):
    for event in [
        launched("a", at(0)),
        started("a", at(1)),
        finished("a", at(40)),
        launched("b", at(41)),
        unknown("c", at(60)),
    ]:
        record_event(event)
    delivered()

    stats = repository.stats()
    assert (stats["users_with_open_sessions"], stats["open_sessions"]) == (0, 0)
    assert stats["pending_reminders"] == 0


def test_recent_events_are_a_bounded_window_newest_first(repository):
    for minute in range(60):
        record_event(unknown("a", at(minute)))

    recent = repository.recent_events()
    assert len(recent) == 50
    assert recent[0].occurred_at == at(59)


def test_an_event_from_a_clock_running_ahead_does_not_move_everyones_clock(repository, delivered):
    now = datetime.now(UTC)
    record_event(launched("a", now - timedelta(minutes=1)))
    record_event(unknown("skewed", now + timedelta(minutes=50)))

    assert repository.clock <= datetime.now(UTC)
    assert delivered() == []


def test_an_event_whose_rules_fail_is_forgotten_so_that_a_retry_is_processed(repository):
    event = started("a", at(0))

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(EVENT_RULES, event.event_type, (_broken_rule,))
        with pytest.raises(RuntimeError):
            record_event(event)

    assert record_event(event).outcome is Outcome.ACCEPTED
    assert repository.user_state("a").open_sessions["p1"] == event


def _broken_rule(event, state):
    raise RuntimeError("a bug in a rule")
