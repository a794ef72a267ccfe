"""Streams of events through `record_event`: per-user timelines, the rules and the outbox."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from events.domain.decisions import Trigger, Verdict
from events.domain.rules import EVENT_RULES
from events.service import metrics
from events.service.processing import Outcome
from eventsproject import bootstrap
from notifications.domain.notification import NotificationKind
from tests.factories import at, cancelled, finished, launched, received, started, unknown
from tests.service import drain_reminders, record_event, record_events

pytestmark = pytest.mark.both_stores


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
                unknown("a", at(21)),
            ],
            [(REMINDER, "a", None)],
            id="several launches merge into one reminder",
        ),
        pytest.param(
            [launched("a", at(0)), launched("b", at(10, 1)), unknown("b", at(15))],
            [],
            id="another user's events never send a user's reminder",
        ),
        pytest.param(
            [launched("a", at(0)), unknown("a", at(5)), unknown("a", at(10, 1))],
            [(REMINDER, "a", None)],
            id="the user's own event of an unknown type past the deadline sends it",
        ),
        pytest.param(
            [
                launched("a", at(0)),
                launched("b", at(2)),
                unknown("b", at(13)),
                unknown("a", at(30)),
            ],
            [(REMINDER, "b", None), (REMINDER, "a", None)],
            id="each reminder is sent when its own user's timeline passes it",
        ),
    ],
)
@pytest.mark.parametrize("together", [False, True], ids=["one by one", "in one batch"])
def test_streams_send_exactly_the_expected_notifications(stream, expected, delivered, together):
    if together:
        record_events(stream)
    else:
        for event in stream:
            record_event(event)

    assert summary(delivered()) == expected


def test_events_recorded_together_have_the_outcomes_of_one_after_another(delivered):
    launch, start = launched("a", at(0)), started("a", at(1))
    stream = [launch, start, start, replace(start, occurred_at=at(2)), unknown("b", at(3))]
    stream += [finished("a", at(40)), launched("c", at(0)), unknown("c", at(11))]

    results = record_events(stream)

    assert [result.outcome for result in results] == [
        Outcome.ACCEPTED,
        Outcome.ACCEPTED,
        Outcome.DUPLICATE,
        Outcome.CONFLICT,
        Outcome.IGNORED,
        Outcome.ACCEPTED,
        Outcome.ACCEPTED,
        Outcome.IGNORED,
    ]
    caused = [len(result.notification_ids) for result in results]
    assert caused == [0, 0, 0, 0, 0, 1, 0, 1]
    assert summary(delivered()) == [(CONGRATULATION, "a", 39), (REMINDER, "c", None)]


def test_the_users_own_event_exactly_at_the_deadline_sends_nothing(delivered):
    record_event(launched("a", at(0)))
    record_event(unknown("a", at(10)))

    assert delivered() == []


def test_a_reminder_is_sent_once_even_if_the_users_timeline_passes_it_again(delivered):
    record_event(launched("a", at(0)))
    record_event(unknown("a", at(11)))
    record_event(unknown("a", at(40)))

    assert summary(delivered()) == [(REMINDER, "a", None)]


def test_after_a_reminder_a_new_launch_arms_a_new_one(delivered):
    for event in [launched("a", at(0)), launched("a", at(20)), unknown("a", at(31))]:
        record_event(event)

    assert summary(delivered()) == [(REMINDER, "a", None), (REMINDER, "a", None)]


def test_draining_sends_every_pending_reminder_in_deadline_order(delivered, repository):
    record_event(launched("b", at(1)))
    record_event(launched("a", at(0)))

    assert len(drain_reminders()) == 2
    assert sorted(summary(delivered())) == [(REMINDER, "a", None), (REMINDER, "b", None)]
    [record, *_] = repository.decisions("a")
    assert (record.outcome, record.trigger) == (Verdict.SENT, Trigger.END_OF_REPLAY)
    pending = [reminder.user_id for reminder in repository.pending_reminders()]
    assert pending == []


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
        unknown("b", at(60)),
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


def test_a_phone_clock_running_ahead_only_moves_its_own_users_timeline(delivered):
    now = datetime.now(UTC)
    record_event(launched("a", now - timedelta(minutes=1)))
    record_event(launched("fast", now + timedelta(minutes=50)))
    record_event(started("fast", now + timedelta(minutes=52)))
    record_event(started("a", now + timedelta(minutes=8)))

    assert drain_reminders() == []
    assert delivered() == []


def test_the_same_event_id_from_two_users_is_two_events(repository):
    first = launched("a", at(0))
    second = replace(launched("b", at(5)), event_id=first.event_id)

    assert [record_event(e).outcome for e in (first, second)] == [Outcome.ACCEPTED] * 2
    assert repository.stats()["pending_reminders"] == 2


@pytest.mark.memory_only  # Redis forgets idle users by time (state TTL)
def test_a_late_start_is_recognised_after_other_users_pushed_its_users_log_out(
    repository_with_short_log,
):
    for event in [launched("a", at(0)), unknown("a", at(11))]:
        record_event(event)
    for user in "bcdef":
        record_event(finished(user, at(12)))
    assert repository_with_short_log.decisions("a") == []

    record_event(started("a", at(5)))

    [record] = repository_with_short_log.decisions("a")
    assert record.outcome is Verdict.LATE_START_AFTER_SENT


@pytest.mark.parametrize(
    ("sent_at_offset", "outcome"),
    [
        # Nothing corrects the tablet's clock: its start comes before the launch, in time order.
        pytest.param(None, Verdict.SENT, id="without sent_at: the slow device's own time"),
        pytest.param(
            timedelta(seconds=1),
            Verdict.CANCELLED,
            id="with sent_at: corrected to the server's clock",
        ),
    ],
)
def test_a_user_with_two_devices_is_judged_on_one_timeline(
    delivered, repository, sent_at_offset, outcome
):
    now = datetime.now(UTC)
    phone = received(launched("a", now), now)
    # The tablet's clock is 15 minutes slow; it starts a program 2 minutes after the launch.
    tablet_time = now + timedelta(minutes=2) - timedelta(minutes=15)
    sent_at = tablet_time + sent_at_offset if sent_at_offset else None
    tablet_start = received(
        replace(started("a", tablet_time), device_id="tablet"), now + timedelta(minutes=2), sent_at
    )

    record_event(phone)
    record_event(tablet_start)
    drain_reminders()

    assert [n.kind for n in delivered()] == ([REMINDER] if outcome is Verdict.SENT else [])
    assert repository.decisions("a")[0].outcome is outcome


def test_a_start_older_than_a_reminder_already_sent_is_recorded_as_a_late_start(
    delivered, repository
):
    before = metrics.DECISIONS[Verdict.LATE_START_AFTER_SENT]
    for event in [launched("a", at(0)), unknown("a", at(11)), started("a", at(5))]:
        record_event(event)

    assert [record.outcome for record in repository.decisions("a")] == [
        Verdict.LATE_START_AFTER_SENT,
        Verdict.SENT,
    ]
    assert metrics.DECISIONS[Verdict.LATE_START_AFTER_SENT] == before + 1
    assert summary(delivered()) == [(REMINDER, "a", None)]


def test_every_launch_and_every_finish_ends_in_exactly_one_outcome(delivered, repository):
    stream = [
        launched("a", at(0)),
        launched("a", at(2)),  # merged
        started("a", at(5)),  # cancels
        finished("a", at(20)),  # too short
        finished("a", at(21)),  # no open session
        launched("a", at(30)),  # sent by the next event
        started("a", at(45)),
        finished("a", at(80)),  # congratulated
        launched("a", at(90)),  # sent at the end of the input
    ]
    for event in stream:
        record_event(event)
    drain_reminders()

    log = [
        (record.about, record.outcome, record.trigger)
        for record in reversed(repository.decisions("a"))
    ]
    assert log == [
        (stream[1], Verdict.MERGED, None),
        (stream[0], Verdict.CANCELLED, None),
        (stream[3], Verdict.TOO_SHORT, None),
        (stream[4], Verdict.NO_OPEN_SESSION, None),
        (stream[5], Verdict.SENT, Trigger.OWN_EVENT),
        (stream[7], Verdict.CONGRATULATED, None),
        (stream[8], Verdict.SENT, Trigger.END_OF_REPLAY),
    ]
    assert len(delivered()) == 3


def test_the_decision_log_is_bounded_per_user(repository_with_short_log):
    for minute in range(0, 100, 2):
        record_event(finished("a", at(minute)))

    assert len(repository_with_short_log.decisions("a")) == 5


@pytest.mark.memory_only  # Redis forgets idle users by time (state TTL)
def test_the_decision_log_forgets_the_least_recently_decided_user_first(
    repository_with_short_log,
):
    for user in ("a", "b", "c", "d"):
        record_event(finished(user, at(0)))
    record_event(finished("a", at(1)))  # a is the most recent now
    record_event(finished("e", at(0)))

    kept = [user for user in "abcde" if repository_with_short_log.decisions(user)]
    assert kept == ["a", "c", "d", "e"]


def test_an_event_whose_rules_fail_is_forgotten_so_that_a_retry_is_processed(repository):
    event = started("a", at(0))

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(EVENT_RULES, type(event), (_broken_rule,))
        with pytest.raises(RuntimeError):
            record_event(event)

    assert record_event(event).outcome is Outcome.ACCEPTED
    assert repository.user_state("a").open_sessions["p1"] == event


@pytest.fixture
def repository_with_short_log(settings, transport):
    settings.EVENTS_DECISION_LOG_LIMIT = 5
    settings.EVENTS_DECISION_LOG_USERS = 4
    with bootstrap.installed(bootstrap.build(transport=transport)) as parts:
        yield parts.repository


def _broken_rule(event, state, thresholds):
    raise RuntimeError("a bug in a rule")
