"""The rules: given an event and the user's state, decide what should happen.

Rules decide, they don't do. Each one is a plain function of an event, a
read-only `UserState` and the `Thresholds` in force that returns decisions; it
never reads a clock, never talks HTTP and never imports Django, so it is
tested as plain Python.

Each user is judged on their own timeline (docs/time.md), by the events'
`effective_at`. Before the rules of any event of a user run,
`send_overdue_reminder` sends that user's pending reminder if the event comes
after its deadline. `EVENT_RULES` is the strategy map: adding a rule is one
function plus one entry. Every rule of an event sees the same state, taken
before any of them (after the overdue reminder, if one was sent).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from events.domain.controls import gated
from events.domain.decisions import (
    ArmReminder,
    CancelReminder,
    CloseSession,
    Decision,
    DecisionRecord,
    ForgetSentReminder,
    NoteZone,
    OpenSession,
    Reminder,
    SendReminder,
    Trigger,
    UserState,
    Verdict,
    decision_id,
    settle,
)
from events.domain.events import (
    AppLaunched,
    Event,
    TrainingProgramCancelled,
    TrainingProgramEvent,
    TrainingProgramFinished,
    TrainingProgramStarted,
    UnknownEvent,
)
from events.domain.ruleset import (
    BUILT_IN,
    CONGRATULATION_MESSAGE,
    DEFAULT_ZONE,
    NO_CONTROLS,
    REMINDER_MESSAGE,
    Controls,
)

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What the rules in force say (the rule set, events/domain/ruleset.py: the rules file
    over the EVENTS_*_SECONDS settings): whether each rule runs, its figures and its
    message; and the figures of the time model, from settings."""

    reminder_delay: timedelta = timedelta(minutes=10)
    training_dose: timedelta = timedelta(minutes=30)
    allowed_lateness: timedelta = timedelta(seconds=30)
    reminders: bool = True
    congratulations: bool = True
    #: The version of the rule set they come from, recorded on every decision.
    rules_version: str = BUILT_IN
    reminder_message: str = REMINDER_MESSAGE
    congratulation_message: str = CONGRATULATION_MESSAGE
    #: When each rule's notifications may go (events/domain/controls.py).
    reminder_controls: Controls = NO_CONTROLS
    congratulation_controls: Controls = NO_CONTROLS
    #: The zone of a user whose events state none.
    default_zone: str = DEFAULT_ZONE
    #: How long after a sent reminder's due time a start received may still be a late start
    #: rather than a retry nobody can tell apart any more (EVENTS_SEEN_IDS_MAX_AGE_HOURS).
    retry_window: timedelta = timedelta(hours=24)
    #: How far back from a user's latest event a late event is still put in its place
    #: (EVENTS_REORDER_WINDOW_SECONDS), and in at most how many events.
    reorder_window: timedelta = timedelta(hours=6)
    reorder_window_events: int = 64


# Each rule takes the event type it is mapped to; Any lets one map hold them all.
Rule = Callable[[Any, UserState, Thresholds], Sequence[Decision]]


def open_training_session(
    event: TrainingProgramStarted, state: UserState, thresholds: Thresholds
) -> list[Decision]:
    """A start opens the session; starting the same program again restarts it."""
    return [OpenSession(event)]


def close_training_session(
    event: TrainingProgramEvent, state: UserState, thresholds: Thresholds
) -> list[Decision]:
    if event.training_program_id not in state.open_sessions:
        return []
    return [CloseSession(event.session_key)]


def congratulate_training_dose(
    event: TrainingProgramFinished, state: UserState, thresholds: Thresholds
) -> list[Decision]:
    """A finished session longer than the daily dose (strictly) earns a congratulation."""
    if not thresholds.congratulations:
        return []  # the rule is off: it decides nothing, so no decision is logged
    outcome = _training_dose_outcome(event, state, thresholds)
    started = state.window.sent_with(event.event_id)
    if started is None:
        at = event.effective_at
        return _controlled(outcome, thresholds.congratulation_controls, at, state, thresholds)
    if outcome.outcome is Verdict.CONGRATULATED and outcome.events[0].event_id == started:
        return []  # re-decided as it was: sent already
    figures = {"sent_for_start": started, "now": outcome.outcome.value}
    return [
        _explain(
            Verdict.LATE_EVENT_AFTER_SENT,
            congratulate_training_dose,
            *outcome.events,
            about=event,
            figures=figures,
            rules_version=thresholds.rules_version,
        )
    ]


def _training_dose_outcome(
    event: TrainingProgramFinished, state: UserState, thresholds: Thresholds
) -> DecisionRecord:
    started = state.open_sessions.get(event.training_program_id)
    if started is None:
        return _explain(
            Verdict.NO_OPEN_SESSION,
            congratulate_training_dose,
            event,
            about=event,
            rules_version=thresholds.rules_version,
        )
    trained = event.effective_at - started.effective_at
    figures = {
        "trained_seconds": int(trained.total_seconds()),
        "threshold_minutes": thresholds.training_dose // MINUTE,
    }
    if trained <= thresholds.training_dose:
        return _explain(
            Verdict.TOO_SHORT,
            congratulate_training_dose,
            started,
            event,
            about=event,
            figures=figures,
            rules_version=thresholds.rules_version,
        )
    return _explain(
        Verdict.CONGRATULATED,
        congratulate_training_dose,
        started,
        event,
        about=event,
        notification_id=decision_id(
            congratulate_training_dose.__name__, started.event_id, event.event_id
        ),
        figures={**figures, "minutes": trained // MINUTE},
        rules_version=thresholds.rules_version,
    )


def arm_start_reminder(
    event: AppLaunched, state: UserState, thresholds: Thresholds
) -> list[Decision]:
    """A launch arms one reminder; later launches merge into it; a stale launch arms none."""
    if not thresholds.reminders:
        return []  # the rule is off: it decides nothing, so no decision is logged
    waited = event.waited
    if waited is not None and waited > thresholds.reminder_delay:
        figures = {"waited_seconds": int(waited.total_seconds())}
        explanation = _explain(
            Verdict.SKIPPED_STALE,
            arm_start_reminder,
            event,
            about=event,
            figures=figures,
            rules_version=thresholds.rules_version,
        )
        return [explanation]
    pending = state.pending_reminder
    if pending is not None:
        return _merged(event, pending, state, thresholds.rules_version)
    sent = state.last_sent_reminder
    if sent is not None and event.effective_at <= sent.deadline:  # one reminder per window
        return [_merged_record(event, sent, thresholds.rules_version)]
    reminder = _reminder_of(event, thresholds)
    if state.window.sent_with(event.event_id):  # re-decided: its reminder was sent already
        return [SendReminder(reminder)]
    return [ArmReminder(reminder)]


def _merged(
    event: AppLaunched, pending: Reminder, state: UserState, rules_version: str
) -> list[Decision]:
    """The launch joins the pending reminder; which, if the launch's own reminder was sent
    already (re-decided in a late event's window), is that reminder: sent."""
    merged = replace(pending, merged=(*pending.merged, event.event_id))
    record = _merged_record(event, merged, rules_version)
    decisions: list[Decision] = [ArmReminder(merged), record]
    if state.window.sent_with(event.event_id):
        decisions.append(SendReminder(merged))
    return decisions


def _merged_record(event: AppLaunched, reminder: Reminder, rules_version: str) -> DecisionRecord:
    return _explain(
        Verdict.MERGED,
        arm_start_reminder,
        reminder.launch,
        event,
        about=event,
        reminder=reminder,
        rules_version=rules_version,
    )


def cancel_start_reminder(
    event: TrainingProgramStarted, state: UserState, thresholds: Thresholds
) -> list[Decision]:
    """Starting a program at or before the deadline means no reminder is needed."""
    reminder = state.pending_reminder
    if reminder is None or event.effective_at > reminder.deadline:
        return []
    return [
        CancelReminder(event.user_id),
        _explain(
            Verdict.CANCELLED,
            cancel_start_reminder,
            reminder.launch,
            event,
            about=reminder.launch,
            reminder=reminder,
            rules_version=thresholds.rules_version,
        ),
    ]


def flag_late_start(
    event: TrainingProgramStarted, state: UserState, thresholds: Thresholds
) -> list[Decision]:
    """A start inside the window of a reminder already sent: that one was a false positive."""
    sent = state.last_sent_reminder
    if sent is None or not sent.launch.effective_at <= event.effective_at <= sent.deadline:
        return []
    if _past_retry_window(event, sent, thresholds):
        return []
    return [
        ForgetSentReminder(event.user_id),
        _explain(
            Verdict.LATE_START_AFTER_SENT,
            flag_late_start,
            sent.launch,
            event,
            about=event,
            reminder=sent,
            rules_version=thresholds.rules_version,
        ),
    ]


def _past_retry_window(event: Event, sent: Reminder, thresholds: Thresholds) -> bool:
    if sent.due_at is None or event.received_at is None:
        return False  # a replay has no wall clock: it keeps the reminder to its end
    return event.received_at - sent.due_at >= thresholds.retry_window


def send_overdue_reminder(event: Event, state: UserState, thresholds: Thresholds) -> list[Decision]:
    """On the user's own timeline, an event past the deadline shows no start came in time."""
    reminder = state.pending_reminder
    if reminder is None or event.effective_at <= reminder.deadline:
        return []
    return release_reminder(
        reminder, Trigger.OWN_EVENT, state, thresholds, by=event, decided_at=event.received_at
    )


def release_reminder(
    reminder: Reminder,
    trigger: Trigger,
    state: UserState,
    thresholds: Thresholds,
    *,
    by: Event | None = None,
    decided_at: datetime | None = None,
) -> list[Decision]:
    """Send the pending reminder, as far as the rule's controls let it go; dropped unsent
    when they hold it back, or when it was armed before its rule was switched off."""
    if not thresholds.reminders:
        return [CancelReminder(reminder.user_id)]
    send, record = remind_to_start(
        reminder, trigger, by=by, decided_at=decided_at, rules_version=thresholds.rules_version
    )
    controls = thresholds.reminder_controls
    explained = cast(DecisionRecord, record)
    decisions = _controlled(explained, controls, reminder.deadline, state, thresholds)
    if cast(DecisionRecord, decisions[0]).notification_id is None:
        return [CancelReminder(reminder.user_id), *decisions]
    return [send, *decisions]


def _controlled(
    record: DecisionRecord,
    controls: Controls,
    at: datetime,
    state: UserState,
    thresholds: Thresholds,
) -> list[Decision]:
    """`record`, a notification triggered `at`, held back or deferred as `controls` say."""
    if not controls or record.notification_id is None:
        return [record]
    keep_for = thresholds.reorder_window
    return gated(record, controls, at, state, thresholds.default_zone, keep_for)


def remind_to_start(
    reminder: Reminder,
    trigger: Trigger,
    *,
    by: Event | None = None,
    decided_at: datetime | None = None,
    rules_version: str = BUILT_IN,
) -> list[Decision]:
    """Send a pending reminder, by `trigger` (and the event `by`): the record says why."""
    launch = reminder.launch
    causes = (launch,) if by is None else (launch, by)
    explanation = _explain(
        Verdict.SENT,
        remind_to_start,
        *causes,
        about=launch,
        trigger=trigger,
        reminder=reminder,
        decided_at=decided_at,
        notification_id=decision_id(remind_to_start.__name__, launch.event_id),
        rules_version=rules_version,
    )
    return [SendReminder(reminder), explanation]


def _reminder_of(launch: AppLaunched, thresholds: Thresholds) -> Reminder:
    arrival = launch.arrival
    silence = thresholds.reminder_delay + thresholds.allowed_lateness
    return Reminder(
        launch=launch,
        deadline=launch.effective_at + thresholds.reminder_delay,
        due_at=None if arrival is None else arrival + silence,
    )


def _explain(
    outcome: Verdict, rule: Callable[..., object], *events: Event, **details: Any
) -> DecisionRecord:
    """The record of an outcome; decided when the last of its events was received, by default."""
    details.setdefault("decided_at", events[-1].received_at)
    return DecisionRecord(outcome, rule.__name__, events, **details)


#: The strategy map: each event type's rules, in order; a type with no rule maps to none.
EVENT_RULES: dict[type[Event], tuple[Rule, ...]] = {
    AppLaunched: (arm_start_reminder,),
    TrainingProgramStarted: (cancel_start_reminder, flag_late_start, open_training_session),
    TrainingProgramCancelled: (close_training_session,),
    TrainingProgramFinished: (congratulate_training_dose, close_training_session),
    UnknownEvent: (),
}


def decide(event: Event, state: UserState, thresholds: Thresholds) -> list[Decision]:
    """The user's overdue reminder, if the event is past its deadline (in the zone known
    before the event); then the zone the event states, if another; then every decision the
    rules of this event's type take, in map order, over the state after that."""
    decisions = send_overdue_reminder(event, state, thresholds)
    if decisions:
        state, _ = settle(state, decisions)
    zone = state.contact.zone.after(event)  # the event's zone counts for its own rules
    if zone is not state.contact.zone:
        note = NoteZone(zone)
        decisions.append(note)
        state, _ = settle(state, [note])
    for rule in EVENT_RULES[type(event)]:
        decisions += rule(event, state, thresholds)
    return decisions
