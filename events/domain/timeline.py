"""Each user's events in effective-time order, whatever order they arrive in (docs/time.md).

The rules judge a user's events in the order they happened. An event that
arrives in order (not before any event of the user's window) runs the rules
once, on the state as it is. One that arrives late re-decides the user's
window: the rules run again over the window's events in effective-time order
(ties in the order they arrived), from the state before its first event, and
what that decides and the window without the late event did not is the news:
the records to log and the notifications to send. What was sent stays sent;
the rules know it from the window's `sent` ledger (one reminder per window, one
congratulation per finish) and record a sent decision a late event no longer
supports as `late_*_after_sent`.

The window spans `EVENTS_REORDER_WINDOW_SECONDS` of effective time back from
the user's latest event, and at most `EVENTS_REORDER_WINDOW_EVENTS` events (0:
none, every event is applied as it arrives). An event older than that is
applied as it comes, recorded as `too_late`.
"""

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType
from typing import cast

from events.domain.decisions import (
    NO_WINDOW,
    Contact,
    Decision,
    DecisionRecord,
    NoteZone,
    UserState,
    Verdict,
    Window,
    Zone,
    settle,
)
from events.domain.events import Event, TrainingProgramEvent, TrainingProgramStarted
from events.domain.rules import (
    EVENT_RULES,
    Thresholds,
    close_training_session,
    open_training_session,
)

#: The decisions of the rules for one event on a state: the signal's receivers.
Rules = Callable[[Event, UserState], Sequence[Decision]]


def apply(
    event: Event, state: UserState, rules: Rules, thresholds: Thresholds
) -> tuple[UserState, list[DecisionRecord]]:
    """The user's state once `event` is applied, and the records of what it decided."""
    if not thresholds.reorder_window_events:  # no window: in the order they arrive
        after, records = settle(state, list(rules(event, state)))
        return (_with_window(after, NO_WINDOW) if after.window else after), records
    events = state.window.events
    if not events or event.effective_at >= events[-1].effective_at:
        after, records = settle(state, list(rules(event, state)))
        return _appended(after, event, thresholds), records
    if _too_late(event, events, thresholds):
        return _applied_too_late(event, state, rules, thresholds)
    return _redecided(event, state, rules, thresholds)


def _too_late(event: Event, events: tuple[Event, ...], thresholds: Thresholds) -> bool:
    oldest_kept = (
        events[0].effective_at if len(events) >= thresholds.reorder_window_events else None
    )
    horizon = events[-1].effective_at - thresholds.reorder_window
    return event.effective_at < horizon or (
        oldest_kept is not None and event.effective_at < oldest_kept
    )


def _applied_too_late(
    event: Event, state: UserState, rules: Rules, thresholds: Thresholds
) -> tuple[UserState, list[DecisionRecord]]:
    behind = state.window.events[-1].effective_at - event.effective_at
    record = DecisionRecord(
        Verdict.TOO_LATE,
        "reorder_window",
        (event,),
        about=event,
        decided_at=event.received_at,
        figures={
            "behind_seconds": int(behind.total_seconds()),
            "window_seconds": int(thresholds.reorder_window.total_seconds()),
            "window_events": len(state.window.events),
        },
        rules_version=thresholds.rules_version,
    )
    # Its zone counts for its own rules, but it is not the user's latest: it is not kept.
    decisions: list[Decision] = [
        decision for decision in rules(event, state) if not isinstance(decision, NoteZone)
    ]
    after, records = settle(state, decisions)
    return after, [record, *records]


def _redecided(
    event: Event, state: UserState, rules: Rules, thresholds: Thresholds
) -> tuple[UserState, list[DecisionRecord]]:
    events = state.window.events
    position = bisect_right(events, event.effective_at, key=_effective_at)
    reordered = (*events[:position], event, *events[position:])
    before = _before_window(state)
    _, known = _folded(before, events, rules)
    after, records = _folded(before, reordered, rules)
    news = _news(records, known, event)
    return _windowed(after, reordered, thresholds), news


def _before_window(state: UserState) -> UserState:
    """The state before the window's first event: its sessions and zone, what was sent, and
    the reminders of launches no longer in the window (the window is full)."""
    ids = {event.event_id for event in state.window.events}
    pending, sent = state.pending_reminder, state.last_sent_reminder
    window = state.window
    return UserState(
        window.sessions_before,
        pending if pending is not None and pending.launch.event_id not in ids else None,
        sent if sent is not None and sent.launch.event_id not in ids else None,
        Window(
            sent=window.sent, sessions_before=window.sessions_before, zone_before=window.zone_before
        ),
        Contact(window.zone_before, state.contact.recent),  # what was sent stays counted
    )


def _folded(
    state: UserState, events: Iterable[Event], rules: Rules
) -> tuple[UserState, list[DecisionRecord]]:
    records: list[DecisionRecord] = []
    for event in events:
        state, decided = settle(state, list(rules(event, state)))
        records += decided
    return state, [record for record in records if not _sent_again(record, state)]


def _sent_again(record: DecisionRecord, state: UserState) -> bool:
    """A late start cancels a sent reminder's first launch, but a launch merged into it
    later is a window of its own, final and sent: the sent reminder is still supported."""
    sent, again = record.reminder, state.last_sent_reminder
    if record.outcome is not Verdict.LATE_START_AFTER_SENT or sent is None or again is None:
        return False
    first = state.window.sent_with(sent.launch.event_id)
    resent = {state.window.sent_with(launch) for launch in again.launch_ids}
    return again != sent and first is not None and first in resent


def _news(
    records: list[DecisionRecord], known: list[DecisionRecord], event: Event
) -> list[DecisionRecord]:
    """The records not decided before `event` arrived, decided on its arrival."""
    seen = {_identity(record) for record in known}
    return [
        replace(record, decided_at=event.received_at)
        for record in records
        if _identity(record) not in seen
    ]


def _identity(record: DecisionRecord) -> tuple[str, ...]:
    if record.outcome is Verdict.LATE_EVENT_AFTER_SENT:  # once per congratulation
        return (record.outcome, record.about.event_id)
    return (record.outcome, record.rule, *(event.event_id for event in record.events))


def _appended(state: UserState, event: Event, thresholds: Thresholds) -> UserState:
    """`state` with `event` last in its window: the path of nearly every event, kept short."""
    window = state.window
    events = (*window.events, event)
    oldest = events[0]
    if len(events) > thresholds.reorder_window_events or (
        oldest is not event and oldest.effective_at < event.effective_at - thresholds.reorder_window
    ):
        return _windowed(state, events, thresholds)
    return UserState(
        state.open_sessions,
        state.pending_reminder,
        state.last_sent_reminder,
        Window(events, window.sent, window.sessions_before, window.zone_before),
        state.contact,
    )


def _windowed(state: UserState, events: tuple[Event, ...], thresholds: Thresholds) -> UserState:
    """`state` with `events` as its window, less those that fell out of it: their sessions
    are kept as the window's sessions before, their notifications leave the ledger."""
    horizon = events[-1].effective_at - thresholds.reorder_window
    drop = max(0, len(events) - thresholds.reorder_window_events)
    while drop < len(events) and events[drop].effective_at < horizon:
        drop += 1
    window = state.window
    if not drop:
        return _with_window(
            state, Window(events, window.sent, window.sessions_before, window.zone_before)
        )
    gone = events[:drop]
    return _with_window(
        state,
        Window(
            events[drop:],
            _without(window.sent, (event.event_id for event in gone)),
            _sessions_after(window.sessions_before, gone),
            _zone_after(window.zone_before, gone),
        ),
    )


def _with_window(state: UserState, window: Window) -> UserState:
    return UserState(
        state.open_sessions, state.pending_reminder, state.last_sent_reminder, window, state.contact
    )


def _without(sent: tuple[tuple[str, str], ...], ids: Iterable[str]) -> tuple[tuple[str, str], ...]:
    if not sent:
        return sent
    gone = set(ids)
    return tuple(pair for pair in sent if pair[0] not in gone)


def _sessions_after(
    sessions: Mapping[str, TrainingProgramStarted], events: Iterable[Event]
) -> Mapping[str, TrainingProgramStarted]:
    """The sessions open once `events` happened: an event whose rules open a session opens
    (or restarts) its program's, one whose rules close it closes it, as the rules do."""
    training = [event for event in events if isinstance(event, TrainingProgramEvent)]
    if not training:
        return sessions
    after = dict(sessions)
    for event in training:
        rules = EVENT_RULES[type(event)]
        if open_training_session in rules:
            after[event.training_program_id] = cast(TrainingProgramStarted, event)
        elif close_training_session in rules:
            after.pop(event.training_program_id, None)
    return MappingProxyType(after)


def _zone_after(zone: Zone, events: Iterable[Event]) -> Zone:
    for event in events:
        zone = zone.after(event)
    return zone


def _effective_at(event: Event) -> datetime:
    return event.effective_at
