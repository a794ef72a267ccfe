"""The rules as plain functions: an event and a user's state in, decisions out."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest

from events.domain.decisions import (
    ArmReminder,
    CancelReminder,
    CloseSession,
    DecisionRecord,
    ForgetSentReminder,
    OpenSession,
    Reminder,
    SendReminder,
    Trigger,
    UserState,
    Verdict,
)
from events.domain.events import EVENT_TYPES, UnknownEvent
from events.domain.rules import (
    EVENT_RULES,
    Thresholds,
    arm_start_reminder,
    cancel_start_reminder,
    close_training_session,
    congratulate_training_dose,
    decide,
    flag_late_start,
    open_training_session,
    remind_to_start,
    send_overdue_reminder,
)
from events.service.notices import notifications_of
from notifications.domain.notification import NotificationKind
from tests.factories import at, cancelled, finished, launched, started, unknown

T = Thresholds()
NOTHING = UserState(open_sessions=MappingProxyType({}))


def with_session(start) -> UserState:
    return UserState(MappingProxyType({start.training_program_id: start}))


def notified(decisions):
    """The notifications the decisions' records cause."""
    return notifications_of((d for d in decisions if isinstance(d, DecisionRecord)), T)


def reminder_of(launch) -> Reminder:
    return Reminder(launch=launch, deadline=launch.occurred_at + T.reminder_delay)


def with_reminder(launch) -> UserState:
    return UserState(MappingProxyType({}), pending_reminder=reminder_of(launch))


def with_sent_reminder(launch) -> UserState:
    return UserState(MappingProxyType({}), last_sent_reminder=reminder_of(launch))


def outcomes(decisions) -> list[Verdict]:
    return [d.outcome for d in decisions if isinstance(d, DecisionRecord)]


def test_every_event_type_has_an_entry_in_the_strategy_map():
    declared = {declaration.event_class for declaration in EVENT_TYPES}
    assert set(EVENT_RULES) == declared | {UnknownEvent}


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

    decisions = congratulate_training_dose(finish, with_session(start), T)

    sent_minutes = [notification.minutes for notification in notified(decisions)]
    assert sent_minutes == ([] if expected_minutes is None else [expected_minutes])
    assert outcomes(decisions) == [
        Verdict.TOO_SHORT if expected_minutes is None else Verdict.CONGRATULATED
    ]


def test_the_training_dose_is_a_threshold_from_settings():
    shorter_dose = Thresholds(training_dose=timedelta(minutes=5))

    decisions = congratulate_training_dose(
        finished("u1", at(6)), with_session(started("u1", at(0))), shorter_dose
    )

    [notification] = notified(decisions)
    assert notification.minutes == 6
    assert notification.reason.figures["threshold_minutes"] == 5


def test_congratulation_names_the_minutes_and_why_it_was_sent():
    start = started("u1", at(0))
    finish = finished("u1", at(36, 18))

    [explain] = congratulate_training_dose(finish, with_session(start), T)

    [notification] = notified([explain])
    assert notification.kind is NotificationKind.TRAINING_DOSE_CONGRATULATION
    assert (notification.user_id, notification.device_id) == ("u1", "device-of-u1")
    assert "36 minutes" in notification.message
    assert notification.triggered_at == finish.occurred_at
    assert [e.event_id for e in notification.reason.events] == [start.event_id, finish.event_id]
    assert notification.reason.figures["trained_seconds"] == 36 * 60 + 18
    assert notification.decision.event_ids == (start.event_id, finish.event_id)
    assert explain.notification_id == notification.notification_id
    assert explain.figures["minutes"] == 36


def test_a_too_short_session_is_explained_with_its_duration():
    start = started("u1", at(0))
    finish = finished("u1", at(12, 5))

    [explain] = congratulate_training_dose(finish, with_session(start), T)

    assert explain.outcome is Verdict.TOO_SHORT
    assert explain.events == (start, finish)
    assert explain.figures["trained_seconds"] == 12 * 60 + 5


def test_congratulation_id_is_deterministic_and_distinct_per_session():
    def notification_of(finish):
        session = with_session(started("u1", at(0)))
        return notified(congratulate_training_dose(finish, session, T))[0]

    first = notification_of(finished("u1", at(40)))
    again = notification_of(finished("u1", at(40)))
    other = notification_of(finished("u1", at(41)))

    assert first.notification_id == again.notification_id
    assert first.notification_id != other.notification_id


def test_a_finish_with_no_open_session_is_explained_and_sends_nothing():
    finish = finished("u1", at(45))

    [explain] = congratulate_training_dose(finish, NOTHING, T)

    assert explain.outcome is Verdict.NO_OPEN_SESSION
    assert explain.events == (finish,)


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(finished("u1", at(45)), id="close on finish"),
        pytest.param(cancelled("u1", at(45)), id="close on cancel"),
    ],
)
def test_closing_a_session_that_is_not_open_decides_nothing(event):
    assert close_training_session(event, NOTHING, T) == []


def test_finishing_another_program_does_not_use_this_programs_start():
    state = with_session(started("u1", at(0), program="yoga"))

    decisions = congratulate_training_dose(finished("u1", at(45), program="hiit"), state, T)

    assert outcomes(decisions) == [Verdict.NO_OPEN_SESSION]


def test_starting_opens_a_session_and_cancelling_closes_it():
    start = started("u1", at(0))

    assert open_training_session(start, NOTHING, T) == [OpenSession(start)]
    assert close_training_session(cancelled("u1", at(5)), with_session(start), T) == [
        CloseSession(("u1", "p1"))
    ]


def test_a_launch_in_a_replay_arms_a_reminder_with_a_deadline_and_no_wall_clock_due_time():
    launch = launched("u1", at(0))

    assert arm_start_reminder(launch, NOTHING, T) == [
        ArmReminder(Reminder(launch=launch, deadline=at(10), due_at=None))
    ]


def test_a_received_launch_is_due_by_the_servers_clock_after_the_delay_and_the_lateness():
    received = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    slow_phone = replace(launched("u1", received - timedelta(minutes=15)), received_at=received)

    [arm] = arm_start_reminder(slow_phone, NOTHING, T)

    assert arm.reminder.deadline == slow_phone.occurred_at + T.reminder_delay
    assert arm.reminder.due_at == received + T.reminder_delay + T.allowed_lateness


def test_the_wall_clock_due_time_starts_from_the_corrected_arrival():
    received = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    queued = replace(
        launched("u1", at(0)),  # a phone clock years off, and 2 minutes in the offline queue
        sent_at=at(2),
        received_at=received,
    )

    [arm] = arm_start_reminder(queued, NOTHING, T)

    arrival = received - timedelta(minutes=2)
    assert arm.reminder.deadline == arrival + T.reminder_delay
    assert arm.reminder.due_at == arrival + T.reminder_delay + T.allowed_lateness


def test_a_second_launch_merges_into_the_pending_reminder():
    first, second = launched("u1", at(0)), launched("u1", at(3))

    [keep, explain] = arm_start_reminder(second, with_reminder(first), T)

    assert explain.outcome is Verdict.MERGED
    assert explain.events == (first, second)
    assert keep.reminder.launch == first
    assert keep.reminder.launch_ids == (first.event_id, second.event_id)


@pytest.mark.parametrize(
    ("waited", "stale"),
    [
        pytest.param(timedelta(minutes=10), False, id="exactly the delay still arms"),
        pytest.param(timedelta(minutes=10, seconds=1), True, id="longer than the delay"),
        pytest.param(timedelta(hours=5), True, id="hours in an offline queue"),
    ],
)
def test_a_launch_that_waited_on_the_device_longer_than_the_delay_arms_nothing(waited, stale):
    launch = replace(launched("u1", at(0)), sent_at=at(0) + waited)

    decisions = arm_start_reminder(launch, NOTHING, T)

    assert outcomes(decisions) == ([Verdict.SKIPPED_STALE] if stale else [])
    assert any(isinstance(d, ArmReminder) for d in decisions) is not stale


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
    launch = launched("u1", at(0))
    start = started("u1", at(minutes, seconds))

    decisions = cancel_start_reminder(start, with_reminder(launch), T)

    assert decisions[:1] == ([CancelReminder("u1")] if cancels else [])
    assert outcomes(decisions) == ([Verdict.CANCELLED] if cancels else [])


def test_a_start_without_a_pending_reminder_cancels_nothing():
    assert cancel_start_reminder(started("u1", at(0)), NOTHING, T) == []


@pytest.mark.parametrize(
    ("minutes", "seconds", "late"),
    [
        pytest.param(-1, 0, False, id="before the launch"),
        pytest.param(0, 0, True, id="at the launch"),
        pytest.param(10, 0, True, id="exactly at the deadline"),
        pytest.param(10, 1, False, id="after the deadline: the reminder was right"),
    ],
)
def test_a_start_inside_the_window_of_a_reminder_already_sent_is_a_late_start(
    minutes, seconds, late
):
    launch = launched("u1", at(0))

    decisions = flag_late_start(started("u1", at(minutes, seconds)), with_sent_reminder(launch), T)

    assert outcomes(decisions) == ([Verdict.LATE_START_AFTER_SENT] if late else [])
    assert (ForgetSentReminder("u1") in decisions) is late


@pytest.mark.parametrize(
    ("received_after_due", "late"),
    [
        pytest.param(timedelta(hours=23, minutes=59), True, id="inside the retry window"),
        pytest.param(timedelta(hours=24), False, id="a day after: no longer told from a retry"),
    ],
)
def test_a_start_received_past_the_retry_window_of_a_sent_reminder_is_not_a_late_start(
    received_after_due, late
):
    launch = launched("u1", at(0))
    sent = replace(reminder_of(launch), due_at=at(10, 30))
    start = replace(started("u1", at(5)), received_at=at(10, 30) + received_after_due)
    state = UserState(MappingProxyType({}), last_sent_reminder=sent)

    decisions = flag_late_start(start, state, Thresholds(retry_window=timedelta(hours=24)))

    assert outcomes(decisions) == ([Verdict.LATE_START_AFTER_SENT] if late else [])


@pytest.mark.parametrize(
    ("minutes", "seconds", "sends"),
    [
        pytest.param(10, 0, False, id="an event exactly at the deadline sends nothing"),
        pytest.param(10, 1, True, id="an event past the deadline sends it"),
    ],
)
def test_the_users_own_later_event_sends_an_overdue_reminder(minutes, seconds, sends):
    launch = launched("u1", at(0))
    later = unknown("u1", at(minutes, seconds))

    decisions = send_overdue_reminder(later, with_reminder(launch), T)

    assert (SendReminder(reminder_of(launch)) in decisions) is sends
    if sends:
        [explain] = [d for d in decisions if isinstance(d, DecisionRecord)]
        assert explain.trigger is Trigger.OWN_EVENT
        assert explain.events == (launch, later)


def test_a_sent_reminder_says_what_triggered_it_and_keeps_its_id_whatever_the_trigger():
    launch = launched("u1", at(0))
    by_event = remind_to_start(reminder_of(launch), Trigger.OWN_EVENT, by=unknown("u1", at(20)))
    by_clock = remind_to_start(reminder_of(launch), Trigger.WALL_CLOCK)

    [first] = notified(by_event)
    [second] = notified(by_clock)

    assert first.notification_id == second.notification_id
    assert (first.decision.trigger, second.decision.trigger) == ("own_event", "wall_clock")
    assert first.decision.event_ids == (launch.event_id, unknown("u1", at(20)).event_id)
    assert second.decision.event_ids == (launch.event_id,)


def test_a_due_reminder_encourages_the_device_that_launched_the_app():
    launch = launched("u1", at(0))

    [notification] = notified(remind_to_start(reminder_of(launch), Trigger.END_OF_REPLAY))

    assert notification.kind is NotificationKind.START_TRAINING_REMINDER
    assert (notification.user_id, notification.device_id) == ("u1", "device-of-u1")
    assert notification.triggered_at == at(10)
    assert [e.event_id for e in notification.reason.events] == [launch.event_id]
    assert notification.minutes is None


def test_unknown_events_run_no_rule():
    assert decide(unknown("u1", at(0)), with_reminder(launched("u1", at(0))), T) == []


def test_finishing_both_closes_the_session_and_congratulates():
    start = started("u1", at(0))

    decisions = decide(finished("u1", at(31)), with_session(start), T)

    assert [type(d) for d in decisions] == [DecisionRecord, CloseSession]


def test_every_decision_records_the_version_of_the_rules_that_took_it():
    rules = replace(T, rules_version="2026-12-07.1")
    launch = launched("u1", at(0))
    decided = [
        *arm_start_reminder(launched("u1", at(2)), with_reminder(launch), rules),
        *cancel_start_reminder(started("u1", at(5)), with_reminder(launch), rules),
        *congratulate_training_dose(
            finished("u1", at(45)), with_session(started("u1", at(0))), rules
        ),
        *send_overdue_reminder(unknown("u1", at(20)), with_reminder(launch), rules),
    ]

    records = [decision for decision in decided if isinstance(decision, DecisionRecord)]
    assert [record.rules_version for record in records] == ["2026-12-07.1"] * 4
    assert {notification.rules_version for notification in notified(records)} == {"2026-12-07.1"}


def test_a_reminder_armed_before_its_rule_was_switched_off_is_dropped_unsent():
    off = replace(T, reminders=False)
    launch = launched("u1", at(0))

    decided = decide(unknown("u1", at(20)), with_reminder(launch), off)

    assert decided == [CancelReminder("u1")]
