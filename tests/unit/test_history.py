"""What the timeline is gathered from: sessions paired as the rules pair them, a window per
reminder decision, the zone the user's decisions are judged in (events/service/history.py)."""

from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from events.domain.decisions import (
    NO_STATE,
    Contact,
    DecisionRecord,
    Reminder,
    UserState,
    Verdict,
    Zone,
)
from events.domain.events import (
    AppLaunched,
    TrainingProgramCancelled,
    TrainingProgramFinished,
    TrainingProgramStarted,
)
from events.service import history
from events.wire.timeline import PENDING

T0 = datetime(2021, 2, 28, 16, 0, tzinfo=UTC)
DELAY = timedelta(minutes=10)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def started(event_id: str, minutes: float, program: str = "p1") -> TrainingProgramStarted:
    return TrainingProgramStarted(event_id, "u", "d", at(minutes), program)


def launched(event_id: str, minutes: float, **times) -> AppLaunched:
    return AppLaunched(event_id, "u", "d", at(minutes), **times)


def test_sessions_pair_starts_with_the_cancel_finish_or_restart_of_their_program():
    events = [
        started("s1", 0),
        started("s2", 5),  # restarts p1
        started("q1", 6, program="p2"),
        TrainingProgramCancelled("c2", "u", "d", at(8), "p2"),
        TrainingProgramFinished("f1", "u", "d", at(41.5), "p1"),
        started("s3", 50),  # its end is not known: no bar
    ]

    bars = history.sessions_of(events, [], NO_STATE)

    shown = [(bar.start_id, bar.ending, bar.end_id, bar.minutes) for bar in bars]
    assert shown == [
        ("s1", "restarted", "s2", 5),
        ("q1", "cancelled", "c2", 2),
        ("s2", "finished", "f1", 36),
    ]


def test_a_session_open_in_the_user_s_state_reaches_the_end_and_a_finish_has_its_outcome():
    start, finish = started("s1", 0), TrainingProgramFinished("f1", "u", "d", at(20), "p1")
    record = DecisionRecord(
        Verdict.TOO_SHORT, "congratulate_training_dose", (start, finish), about=finish
    )
    still_open = UserState(open_sessions=MappingProxyType({"p2": started("q1", 30, "p2")}))

    bars = history.sessions_of([start, finish, started("q1", 30, "p2")], [record], still_open)

    assert [(bar.start_id, bar.ending, bar.outcome) for bar in bars] == [
        ("s1", "finished", "too_short"),
        ("q1", "open", None),
    ]


def test_a_window_per_reminder_decision_and_one_for_the_pending_reminder():
    first, second, stale = launched("l1", 0), launched("l2", 3), launched("l3", 30)
    reminder = Reminder(first, at(10), merged=("l2",))
    later = Reminder(launched("l4", 40), at(50), due_at=at(50.5))
    records = [
        DecisionRecord(
            Verdict.MERGED, "arm_start_reminder", (first, second), second, reminder=reminder
        ),
        DecisionRecord(
            Verdict.SENT,
            "remind_to_start",
            (first,),
            first,
            reminder=reminder,
            notification_id="n1",
        ),
        DecisionRecord(Verdict.SKIPPED_STALE, "arm_start_reminder", (stale,), stale),
        DecisionRecord(Verdict.TOO_LATE, "reorder_window", (stale,), stale),  # no window
    ]
    state = UserState(open_sessions=MappingProxyType({}), pending_reminder=later)

    windows = history.windows_of(records, state, DELAY)

    shown = [(w.launch_id, w.outcome, w.opened, w.closes) for w in windows]
    assert shown == [
        ("l2", "merged", at(3), at(10)),  # from the merged launch to the reminder's deadline
        ("l1", "sent", at(0), at(10)),
        ("l3", "skipped_stale", at(30), at(40)),  # armed none: as long as one would have been
        ("l4", PENDING, at(40), at(50)),
    ]
    assert windows[-1].due_at == at(50.5)


def test_the_zone_is_the_state_s_else_the_one_the_events_state_else_the_default():
    stated = launched("l1", 0, timezone="Asia/Tokyo")
    offset_only = launched("l2", 1, utc_offset=timedelta(hours=2))

    kept = history.zone_label(Zone("Europe/Paris"), [stated], "UTC")
    from_events = history.zone_label(Contact().zone, [stated, offset_only], "UTC")
    from_offset = history.zone_label(Contact().zone, [offset_only], "UTC")
    default = history.zone_label(Contact().zone, [launched("l3", 2)], "America/Denver")
    unreadable = history.zone_label(Zone("Mars/Olympus"), [], "UTC")

    assert (kept.name, kept.source) == ("Europe/Paris", history.USER_ZONE)
    assert (from_events.name, from_events.source) == ("Asia/Tokyo", history.USER_ZONE)
    assert (from_offset.name, from_offset.source) == ("UTC+02:00", history.USER_ZONE)
    assert (default.name, default.source) == ("America/Denver", history.DEFAULT_ZONE)
    assert (unreadable.name, unreadable.source) == ("UTC", history.DEFAULT_ZONE)


def test_each_event_is_known_once_in_time_order_with_its_outcomes():
    first, second = launched("l1", 0), launched("l2", 5)
    records = [
        DecisionRecord(Verdict.TOO_LATE, "reorder_window", (first,), first),
        DecisionRecord(Verdict.SKIPPED_STALE, "arm_start_reminder", (first,), first),
    ]

    events = history.known_events(records, NO_STATE, [second, first])
    shown = history.marks_of(events, records)

    assert [(mark.event_id, mark.outcomes) for mark in shown] == [
        ("l1", ("skipped_stale", "too_late")),  # oldest first
        ("l2", ()),
    ]


def test_a_notification_no_longer_in_the_outbox_is_unknown():
    finish = TrainingProgramFinished("f1", "u", "d", at(40), "p1")
    record = DecisionRecord(
        Verdict.CONGRATULATED,
        "congratulate_training_dose",
        (started("s1", 0), finish),
        finish,
        notification_id="n1",
    )

    [mark] = history.with_statuses(history.notifications_of([record, record]), [None])

    assert (mark.kind, mark.at, mark.status) == ("training_dose_congratulation", at(40), "unknown")
