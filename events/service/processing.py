"""Event processing: the one path every event takes, from the API or a replay.

`EventProcessor.record` runs one unit of work for the event's user: the store
checks the event in (nothing of a duplicate or a conflict is saved) and hands
over the user's state; `event_recorded` is sent, and its receivers — the rules —
return decisions; `settle` carries them out on the state, `notices` turns the
outcomes the user is told about into notifications, and the store saves all of
it at once. Reminders whose users fell silent are sent by `send_due_reminders`
(the ticker, on the server's wall clock) or, at the end of a replay, by
`drain_reminders`, each in a unit of work of its own.
"""

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import cast

from events.domain import timeline
from events.domain.decisions import (
    Decision,
    DecisionRecord,
    Trigger,
    UserState,
    settle,
)
from events.domain.events import Event, UnknownEvent
from events.domain.frozen import quick_init
from events.domain.rules import Thresholds, release_reminder
from events.ports import Arrival, Change, Committed, EventRepository, NeedsStoredState, UnitOfWork
from events.service import metrics
from events.service.notices import notifications_of
from events.service.signals import decisions_saved, event_recorded
from notifications.domain.notification import Notification
from notifications.service import metrics as notification_metrics

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    IGNORED = "ignored"  # an unknown type: recorded and counted, no rule runs
    DUPLICATE = "duplicate"  # seen before with the same content: nothing is saved again
    CONFLICT = "conflict"  # an id seen before with other content: refused


#: Asked before an event makes a user the store did not hold: the seconds until the client
#: sending it may make another (0: now). Given by the API; none for replays and reminders.
NewUserAdmission = Callable[[], float]


class TooManyNewUsers(RuntimeError):
    """The client made as many new users as it may for now (EVENTS_NEW_USERS_RATE)."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"too many new users from this client; retry in {wait:.0f} s")
        self.wait = wait


@quick_init
@dataclass(frozen=True, slots=True)
class RecordResult:
    outcome: Outcome
    event: Event
    reason: str = ""
    notification_ids: tuple[str, ...] = ()  # the notifications the event caused


def change_of(state: UserState, decisions: list[Decision], thresholds: Thresholds) -> Change:
    """The unit of work's result: the state after the decisions, their records and
    the notifications those cause."""
    after, records = settle(state, decisions)
    return Change(after, records, notifications_of(records, thresholds) if records else ())


class EventProcessor:
    def __init__(self, repository: EventRepository, thresholds: Thresholds) -> None:
        self.repository = repository
        self.thresholds = thresholds

    def record(self, event: Event, new_user: NewUserAdmission | None = None) -> RecordResult:
        decide = partial(self._decide, event, new_user)
        committed = self.repository.update(event.user_id, decide, event=event)
        return self._recorded(event, committed)

    def record_many(
        self, events: Sequence[Event], new_user: NewUserAdmission | None = None
    ) -> list[RecordResult]:
        """`record` each event, in order; the store reads and saves their units together."""
        work = [
            UnitOfWork(event.user_id, partial(self._decide, event, new_user), event)
            for event in events
        ]
        committed = self.repository.update_many(work)
        return [self._recorded(*pair) for pair in zip(events, committed, strict=True)]

    def _recorded(self, event: Event, committed: Committed) -> RecordResult:
        if committed.change is None:
            metrics.count_event(event.event_type, committed.arrival)
            return _refused(committed.arrival, event)
        change = committed.change
        notified = change.notifications
        result = _result_of(event, tuple(n.notification_id for n in notified) if notified else ())
        records = change.records
        metrics.count_event(event.event_type, result.outcome, [r.outcome for r in records])
        if records:
            _log(change)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "event %s %s: %s for user %s",
                event.event_id,
                result.outcome,
                event.event_type,
                event.user_id,
            )
        return result

    def send_due_reminders(self, now: datetime) -> int:
        """Silence, by the server's clock: send the reminders due at `now`, one user at a
        time (one that fails is claimed again later, the others are sent). Returns how many."""
        sent = 0
        for user_id in self.repository.claim_due_reminders(now):
            try:
                due = partial(_remind_if_due, now, self.thresholds)
                sent += len(self._settle(user_id, due))
            except Exception:  # claimed again once its lease ends; the others go on
                logger.exception("could not send the reminder of user %s", user_id)
        return sent

    def drain_reminders(self, users: Collection[str] | None = None) -> list[Notification]:
        """The stream is over: send the pending reminders of `users` (of everyone, by
        default) now. Returns their notifications."""
        sent: list[Notification] = []
        for reminder in self.repository.pending_reminders():
            if users is None or reminder.user_id in users:
                at_end = partial(_remind_at_end_of_replay, self.thresholds)
                sent += self._settle(reminder.user_id, at_end)
        return sent

    def _decide(self, event: Event, new_user: NewUserAdmission | None, state: UserState) -> Change:
        after, records = timeline.apply(event, state, self._rules, self.thresholds)
        notifications = notifications_of(records, self.thresholds) if records else ()
        change = Change(after, records, notifications)
        if new_user is not None and change.state and not state:  # a new user, if the store
            raise NeedsStoredState(partial(_admitted, new_user, change))  # holds none indeed
        return change

    def _rules(self, event: Event, state: UserState) -> list[Decision]:
        """What the receivers of `event_recorded` decide for `event` on `state`."""
        decisions: list[Decision] = []
        for _, response in event_recorded.send(
            sender=type(event), event=event, state=state, thresholds=self.thresholds
        ):
            decisions += cast(list[Decision], response)
        return decisions

    def _settle(
        self, user_id: str, decide: Callable[[UserState], list[Decision]]
    ) -> list[Notification]:
        """A unit of work with no event; returns the notifications it caused."""
        change = self.repository.update(
            user_id, lambda state: change_of(state, decide(state), self.thresholds)
        )
        assert change.change is not None, "no event, so nothing to refuse"
        metrics.count_decisions(record.outcome for record in change.change.records)
        _log(change.change)
        return list(change.change.notifications)


def _admitted(new_user: NewUserAdmission, change: Change) -> Change:
    """`change`, spent from the client's allowance of new users; `TooManyNewUsers` when
    none is left: nothing of the event is saved, and a retry once the wait is over is
    processed anew."""
    wait = new_user()
    if wait:
        raise TooManyNewUsers(wait)
    return change


def _remind_if_due(now: datetime, thresholds: Thresholds, state: UserState) -> list[Decision]:
    reminder = state.pending_reminder
    if reminder is None or reminder.due_at is None or reminder.due_at > now:
        return []
    return release_reminder(reminder, Trigger.WALL_CLOCK, state, thresholds, decided_at=now)


def _remind_at_end_of_replay(thresholds: Thresholds, state: UserState) -> list[Decision]:
    reminder = state.pending_reminder
    if reminder is None:
        return []
    return release_reminder(reminder, Trigger.END_OF_REPLAY, state, thresholds)


def _log(change: Change) -> None:
    decisions_saved.send(sender=DecisionRecord, records=change.records)
    for notification in change.notifications:
        notification_metrics.notifications_counter(notification.kind, "queued").inc()
    if not logger.isEnabledFor(logging.INFO):
        return  # the arguments below cost more than the check, on every decision
    for record in change.records:
        _log_decision(record)
    for notification in change.notifications:
        _log_queued(notification)


def _log_decision(record: DecisionRecord) -> None:
    logger.info(
        "decision %s by %s for user %s%s: events %s",
        record.outcome,
        record.rule,
        record.user_id,
        f" ({record.trigger})" if record.trigger else "",
        ",".join(event.event_id for event in record.events),
    )


def _log_queued(notification: Notification) -> None:
    logger.info(
        "notification %s queued: %s for user %s because of %s",
        notification.notification_id,
        notification.kind,
        notification.user_id,
        ",".join(event.event_id for event in notification.reason.events),
        extra=notification.log_fields,
    )


def _refused(arrival: Arrival, event: Event) -> RecordResult:
    logger.info("event %s refused as %s", event.event_id, arrival)
    if arrival is Arrival.DUPLICATE:
        return RecordResult(Outcome.DUPLICATE, event, "this event was already recorded")
    reason = "this event_id was already recorded with different content"
    return RecordResult(Outcome.CONFLICT, event, reason)


def _result_of(event: Event, notification_ids: tuple[str, ...]) -> RecordResult:
    if isinstance(event, UnknownEvent):
        reason = f"unknown event type {event.raw_type!r}: no rule handles it"
        return RecordResult(Outcome.IGNORED, event, reason, notification_ids)
    return RecordResult(Outcome.ACCEPTED, event, notification_ids=notification_ids)
