"""The rules as plain functions: an event and a user's state in, decisions out."""

from types import MappingProxyType

import pytest

from events.decisions import (
    ArmReminder,
    CancelReminder,
    CloseSession,
    Notify,
    OpenSession,
    Reminder,
)
from events.domain import EventType
from events.repository import UserState
from events.rules import (
    EVENT_RULES,
    REMINDER_DELAY,
    arm_start_reminder,
    cancel_start_reminder,
    close_training_session,
    congratulate_training_dose,
    decide,
    open_training_session,
    remind_to_start,
)
from notifications.domain import NotificationKind
from tests.factories import at, cancelled, finished, launched, started, unknown

NOTHING = UserState(open_sessions=MappingProxyType({}), pending_reminder=None)


def with_session(start) -> UserState:
    return UserState(MappingProxyType({start.training_program_id: start}), pending_reminder=None)


def with_reminder(launch) -> UserState:
    reminder = Reminder(launch=launch, deadline=launch.occurred_at + REMINDER_DELAY)
    return UserState(MappingProxyType({}), pending_reminder=reminder)


def test_every_event_type_has_an_entry_in_the_strategy_map():
    assert set(EVENT_RULES) == set(EventType)


@pytest.mark.parametrize(
    ("minutes", "seconds", "expected_minutes"),
    [
        pytest.param(29, 59, None, id="29:59 sends nothing"),
        pytest.param(30, 0, None, id="exactly 30:00 is not more than 30 minutes"),
        pytest.param(30, 1, 30, id="30:01 congratulates for 30 whole minutes"),
        pytest.param(36, 18, 36, id="36:18 rounds down to 36"),
        pytest.param(95, 59, 95, id="a long session"),
    ],
)
def test_finishing_congratulates_only_sessions_longer_than_30_minutes(
    minutes, seconds, expected_minutes
):
    start = started("u1", at(0))
    finish = finished("u1", at(minutes, seconds))

    decisions = congratulate_training_dose(finish, with_session(start))

    sent_minutes = [d.notification.minutes for d in decisions if isinstance(d, Notify)]
    assert sent_minutes == ([] if expected_minutes is None else [expected_minutes])


def test_congratulation_names_the_minutes_and_why_it_was_sent():
    start = started("u1", at(0))
    finish = finished("u1", at(36, 18))

    [decision] = congratulate_training_dose(finish, with_session(start))

    notification = decision.notification
    assert notification.kind is NotificationKind.TRAINING_DOSE_CONGRATULATION
    assert (notification.user_id, notification.device_id) == ("u1", "device-of-u1")
    assert "36 minutes" in notification.message
    assert notification.triggered_at == finish.occurred_at
    assert [e.event_id for e in notification.reason.events] == [start.event_id, finish.event_id]
    assert notification.reason.figures["trained_seconds"] == 36 * 60 + 18


def test_congratulation_id_is_deterministic_and_distinct_per_session():
    first = congratulate_training_dose(finished("u1", at(40)), with_session(started("u1", at(0))))
    again = congratulate_training_dose(finished("u1", at(40)), with_session(started("u1", at(0))))
    other = congratulate_training_dose(finished("u1", at(41)), with_session(started("u1", at(0))))

    assert first[0].notification.notification_id == again[0].notification.notification_id
    assert first[0].notification.notification_id != other[0].notification.notification_id


@pytest.mark.parametrize(
    ("rule", "event"),
    [
        pytest.param(congratulate_training_dose, finished("u1", at(45)), id="finish"),
        pytest.param(close_training_session, finished("u1", at(45)), id="close on finish"),
        pytest.param(close_training_session, cancelled("u1", at(45)), id="close on cancel"),
    ],
)
def test_an_event_for_a_session_that_is_not_open_decides_nothing(rule, event):
    assert rule(event, NOTHING) == []


def test_finishing_another_program_does_not_use_this_programs_start():
    state = with_session(started("u1", at(0), program="yoga"))

    assert congratulate_training_dose(finished("u1", at(45), program="hiit"), state) == []


def test_starting_opens_a_session_and_cancelling_closes_it():
    start = started("u1", at(0))

    assert open_training_session(start, NOTHING) == [OpenSession(start)]
    assert close_training_session(cancelled("u1", at(5)), with_session(start)) == [
        CloseSession(("u1", "p1"))
    ]


def test_a_launch_arms_a_reminder_due_ten_minutes_later():
    launch = launched("u1", at(0))

    assert arm_start_reminder(launch, NOTHING) == [
        ArmReminder(Reminder(launch=launch, deadline=at(10)))
    ]


def test_a_second_launch_merges_into_the_pending_reminder():
    assert arm_start_reminder(launched("u1", at(3)), with_reminder(launched("u1", at(0)))) == []


@pytest.mark.parametrize(
    ("minutes", "seconds", "cancels"),
    [
        pytest.param(0, 0, True, id="at the launch"),
        pytest.param(9, 59, True, id="9:59 after"),
        pytest.param(10, 0, True, id="exactly 10:00 after still counts as within"),
        pytest.param(10, 1, False, id="10:01 after is too late"),
    ],
)
def test_starting_a_program_within_ten_minutes_cancels_the_reminder(minutes, seconds, cancels):
    state = with_reminder(launched("u1", at(0)))

    decisions = cancel_start_reminder(started("u1", at(minutes, seconds)), state)

    assert decisions == ([CancelReminder("u1")] if cancels else [])


def test_a_start_without_a_pending_reminder_cancels_nothing():
    assert cancel_start_reminder(started("u1", at(0)), NOTHING) == []


def test_a_due_reminder_encourages_the_device_that_launched_the_app():
    launch = launched("u1", at(0))

    notification = remind_to_start(Reminder(launch=launch, deadline=at(10)))

    assert notification.kind is NotificationKind.START_TRAINING_REMINDER
    assert (notification.user_id, notification.device_id) == ("u1", "device-of-u1")
    assert notification.triggered_at == at(10)
    assert [e.event_id for e in notification.reason.events] == [launch.event_id]
    assert notification.minutes is None


def test_unknown_events_run_no_rule():
    assert decide(unknown("u1", at(0)), with_reminder(launched("u1", at(0)))) == []


def test_finishing_both_closes_the_session_and_congratulates():
    start = started("u1", at(0))

    decisions = decide(finished("u1", at(31)), with_session(start))

    assert [type(d) for d in decisions] == [Notify, CloseSession]
