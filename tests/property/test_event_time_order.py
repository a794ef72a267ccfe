"""Property tests: a user's events are judged in time order, whatever order they arrive in.

The semantics (issue 24): at each arrival, a user's decisions are those of the brief's rules
applied to all of that user's events seen so far, ordered by effective time (ties by
arrival). Every decision of that ordered history that is final is sent unless it was sent
before. A decision is identified by its triggering events, with one reminder per window (a
recomputed reminder that shares a launch with a sent one is that one) and one
congratulation per finish. Nothing sent is taken back: a sent notification that a later
arrival no longer supports is logged, `late_start_after_sent` for a reminder and
`late_event_after_sent` for a congratulation.

`TimeOrderModel` restates that for a replay (no server clock: the effective time is
`occurred_at`, and the end of the input sends every reminder still pending). It recomputes
a user's decisions from scratch at every arrival, plainly and slowly, and shares no code
with `events/`. The arrival-order `ReferenceModel` of test_properties.py stays the
baseline: where each user's events arrive in time order, it, this model and the service
agree.

Choices the issue leaves open:
- The shuffled streams are v2 only, so that a notification is identified by the ids of the
  events of its reason (a reminder's launch; a congratulation's start and finish), with its
  kind, user and minutes. The in-order streams mix both formats and compare what
  test_properties compares (kind, user, device, minutes, triggered_at).
- Each user's events span less than 5 hours, inside the 6-hour reorder window, so no event
  is ever too late; the model refuses a stream in which one would be.
- Notifications are compared as multisets: the semantics say which are sent, not in which
  order the decisions of one arrival go out.
- A sent notification is no longer supported the first time the ordered history holds no
  decision that is it: for a reminder, no reminder (final or pending, not cancelled)
  sharing one of its launches; for a congratulation, none of its start and finish. It is
  logged once. A congratulation cut short by a late finish of its program is logged as
  `late_event_after_sent` too, and that earlier finish earns its own congratulation (it was
  never congratulated).
- A decision is "re-keyed" when it is not sent because it is a sent one under other
  triggering events: a late earlier launch that merges a sent reminder's launch, a late
  start that re-pairs a congratulated finish. Arrival order is claimed not to matter only
  where the model counts neither late nor re-keyed cases: "one reminder per window" can
  make one sent reminder stand for two reminders of the time-ordered history.
"""

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from notifications.domain.notification import Notification, NotificationKind
from tests.property.test_properties import (
    BRIEF,
    CANCEL,
    CONGRATULATION,
    FINISH,
    LAUNCH,
    PROGRAMS,
    PROPERTY_SETTINGS,
    REMINDER,
    REMINDER_DELAY,
    SCRIPT_START,
    START,
    TRAINING_DOSE,
    UNKNOWN,
    UNKNOWN_TYPES,
    V2,
    ModelEvent,
    PlannedEvent,
    Sent,
    WireEvent,
    in_users_order,
    per_user_timeline,
    planned_events,
    predicted,
    read_wire,
    run_service,
    summary,
    to_wire,
)
from tests.sample import BRIEF_SAMPLE

MINUTE = timedelta(minutes=1)
REORDER_WINDOW = timedelta(hours=6)  # EVENTS_REORDER_WINDOW_SECONDS' default
LATE_START_AFTER_SENT = "late_start_after_sent"
LATE_EVENT_AFTER_SENT = "late_event_after_sent"
LATE_OUTCOME_OF = {REMINDER: LATE_START_AFTER_SENT, CONGRATULATION: LATE_EVENT_AFTER_SENT}


# --- Strategies -----------------------------------------------------------------

MAX_EVENTS = 25
MAX_USERS = 4
USER_SPAN = timedelta(hours=5)  # each user's events fit in the reorder window
#: How many places an event arrives behind its turn: mostly none, sometimes after all.
LATENESS = (0, 0, 0, 1, 2, 5, MAX_EVENTS)
MAX_REPOSTS = 3


@st.composite
def time_ordered_streams(draw: st.DrawFn, formats: Sequence[str] = (BRIEF, V2)) -> list[WireEvent]:
    """A few users' events in time order, each user's within `USER_SPAN`."""
    users = [f"user{n}" for n in range(1, draw(st.integers(1, MAX_USERS)) + 1)]
    plans = draw(st.lists(planned_events(users, formats, utc_suffixes=("Z",)), max_size=MAX_EVENTS))
    event_ids = draw(
        st.lists(st.uuids(version=4), min_size=len(plans), max_size=len(plans), unique=True)
    )
    moments = per_user_timeline(SCRIPT_START, plans)
    timed = sorted(zip(moments, range(len(plans)), plans, event_ids, strict=True))
    return [
        to_wire(plan, moment, event_id)
        for moment, _, plan, event_id in timed
        if moment - SCRIPT_START < USER_SPAN
    ]


def late_arrivals(size: int) -> st.SearchStrategy[list[int]]:
    """An arrival order in which each event comes a few places behind its turn, or none."""
    return st.lists(st.sampled_from(LATENESS), min_size=size, max_size=size).map(
        lambda lateness: sorted(range(size), key=lambda n: (n + lateness[n], n))
    )


def repost_some(draw: st.DrawFn, stream: list[WireEvent]) -> list[WireEvent]:
    """Post a few events again unchanged, at or after their first posting."""
    if not stream:
        return stream
    last = len(stream) - 1
    places = st.tuples(st.integers(0, last), st.integers(0, last))
    reposts = draw(st.lists(places, max_size=MAX_REPOSTS))
    postings = [(position, 0, position) for position in range(len(stream))]
    postings += [(max(source, at), 1 + n, source) for n, (source, at) in enumerate(reposts)]
    return [stream[source] for _, _, source in sorted(postings)]


@st.composite
def shuffled_streams(draw: st.DrawFn) -> list[WireEvent]:
    """v2 events in any arrival order: a few late ones, or a whole shuffle of every user's."""
    stream = draw(time_ordered_streams(formats=(V2,)))
    size = len(stream)
    order = draw(st.one_of(late_arrivals(size), st.permutations(range(size))))
    return repost_some(draw, [stream[n] for n in order])


@st.composite
def in_order_streams(draw: st.DrawFn) -> list[WireEvent]:
    return repost_some(draw, draw(time_ordered_streams()))


def in_time_order(stream: Sequence[WireEvent]) -> list[WireEvent]:
    """The same postings in effective-time order; equal times keep their arrival order."""
    return sorted(stream, key=lambda data: read_wire(data).moment)


# --- Late arrivals by hand, run as explicit examples ------------------------------------


def posted(*steps: tuple[int, str, str]) -> list[WireEvent]:
    """v2 events of (seconds after the start, user, kind) steps, on p1, in arrival order."""
    return [
        to_wire(
            PlannedEvent(0, user_id, "phone", kind, V2, UNKNOWN_TYPES[0], PROGRAMS[0], "Z"),
            SCRIPT_START + timedelta(seconds=seconds),
            UUID(int=n, version=4),
        )
        for n, (seconds, user_id, kind) in enumerate(steps, start=1)
    ]


LATE_ARRIVAL_STREAMS = (
    posted((2000, "a", FINISH), (0, "a", START)),  # the finish first: still 33 minutes
    posted((300, "a", START), (0, "a", LAUNCH)),  # started inside the window: no reminder
    posted((1000, "a", UNKNOWN), (0, "a", LAUNCH)),  # the later event first: sent, by it
    posted((0, "a", LAUNCH), (700, "a", UNKNOWN), (300, "a", START)),  # late_start_after_sent
    posted((0, "a", START), (2000, "a", FINISH), (1000, "a", CANCEL)),  # late_event_after_sent
    posted((0, "a", START), (2000, "a", FINISH), (100, "a", START)),  # re-paired: nothing new
    posted((0, "a", START), (4000, "a", FINISH), (2000, "a", FINISH)),  # cut short: 33 minutes
    posted((300, "a", LAUNCH), (1000, "a", UNKNOWN), (0, "a", LAUNCH)),  # one per window
    # One sent reminder stands for the two that time order would send:
    posted((300, "a", LAUNCH), (700, "a", LAUNCH), (1400, "a", UNKNOWN), (0, "a", LAUNCH)),
    # Unsupported twice over, logged once:
    posted((0, "a", START), (2000, "a", FINISH), (1000, "a", CANCEL), (1200, "a", START)),
    # A late start cancels the first launch of a sent reminder, not the second's window:
    posted((0, "a", LAUNCH), (180, "a", LAUNCH), (900, "a", UNKNOWN), (60, "a", START)),
    posted((0, "a", LAUNCH), (0, "a", START)),  # equal times: the start comes after, cancels
    posted((0, "a", START), (0, "a", LAUNCH)),  # equal times: the launch comes after, sent
    posted((2000, "a", FINISH), (0, "b", LAUNCH), (0, "a", START), (700, "b", START)),
)


def with_late_arrival_examples(test: Callable[..., None]) -> Callable[..., None]:
    for stream in LATE_ARRIVAL_STREAMS:
        test = example(stream)(test)
    return test


# --- The reference model ----------------------------------------------------------


@dataclass(frozen=True)
class Earned:
    """A final decision of an ordered history: the notification it earns."""

    kind: NotificationKind
    events: tuple[ModelEvent, ...]  # a reminder's launch; a congratulation's start and finish
    minutes: int | None = None
    launches: frozenset[object] = frozenset()  # a reminder's launches when it became final

    @property
    def key(self) -> tuple[object, ...]:
        return tuple(event.identity for event in self.events)

    def is_the_same_as(self, sent: "Earned") -> bool:
        """One reminder per window, one congratulation per finish."""
        if self.kind != sent.kind:
            return False
        if self.kind == REMINDER:
            return bool(self.launches & sent.launches)
        return self.key[-1] == sent.key[-1]


@dataclass
class Armed:
    """A pending reminder of an ordered history: its launch and those merged into it."""

    launch: ModelEvent
    launches: set[object]

    @property
    def deadline(self) -> datetime:
        return self.launch.moment + REMINDER_DELAY

    def earned(self) -> Earned:
        return Earned(REMINDER, (self.launch,), launches=frozenset(self.launches))


@dataclass
class Replay:
    """The brief's rules over one user's events in time order, ties in arrival order."""

    earned: list[Earned] = field(default_factory=list)
    pending: Armed | None = None
    sessions: dict[str, ModelEvent] = field(default_factory=dict)

    @classmethod
    def of(cls, history: Sequence[ModelEvent], *, end_of_input: bool) -> "Replay":
        replay = cls()
        for event in sorted(history, key=lambda event: event.moment):  # stable: ties by arrival
            replay.apply(event)
        if end_of_input:
            replay.send_pending()
        return replay

    def apply(self, event: ModelEvent) -> None:
        """Any event past the pending reminder's deadline sends it first; then its own rules."""
        if self.pending is not None and event.moment > self.pending.deadline:
            self.send_pending()
        rules = {LAUNCH: self.launch, START: self.start, CANCEL: self.cancel, FINISH: self.finish}
        rule = rules.get(event.kind)
        if rule is not None:
            rule(event)

    def send_pending(self) -> None:
        if self.pending is not None:
            self.earned.append(self.pending.earned())
            self.pending = None

    def launch(self, event: ModelEvent) -> None:
        if event.waited is not None and event.waited > REMINDER_DELAY:
            return  # stale: arms nothing, merges into nothing
        if self.pending is None:
            self.pending = Armed(event, {event.identity})
        else:
            self.pending.launches.add(event.identity)

    def start(self, event: ModelEvent) -> None:
        if self.pending is not None and event.moment <= self.pending.deadline:
            self.pending = None
        self.sessions[event.program] = event

    def cancel(self, event: ModelEvent) -> None:
        self.sessions.pop(event.program, None)

    def finish(self, event: ModelEvent) -> None:
        started = self.sessions.pop(event.program, None)
        if started is None or event.moment - started.moment <= TRAINING_DOSE:
            return
        minutes = (event.moment - started.moment) // MINUTE
        self.earned.append(Earned(CONGRATULATION, (started, event), minutes))

    def supports(self, sent: Earned) -> bool:
        """Whether this history still holds a decision that is `sent`."""
        if sent.kind == CONGRATULATION:
            return any(earned.key == sent.key for earned in self.earned)
        reminders = [earned.launches for earned in self.earned if earned.kind == REMINDER]
        if self.pending is not None:
            reminders.append(frozenset(self.pending.launches))
        return any(sent.launches & launches for launches in reminders)


class Notified(NamedTuple):
    """A notification the model sends."""

    user_id: str
    decision: Earned

    @property
    def identified(self) -> tuple[Any, ...]:
        return (self.decision.kind, self.user_id, self.decision.key, self.decision.minutes)

    @property
    def timed(self) -> tuple[Any, ...]:
        """Identified by the times of its events, for events without ids (the brief's)."""
        moments = tuple(event.moment for event in self.decision.events)
        return (self.decision.kind, self.user_id, moments, self.decision.minutes)

    @property
    def summary(self) -> Sent:
        decision, last = self.decision, self.decision.events[-1]
        triggered_at = last.moment + REMINDER_DELAY if decision.kind == REMINDER else last.moment
        return Sent(decision.kind, self.user_id, last.device_id, decision.minutes, triggered_at)


@dataclass
class SentDecision:
    decision: Earned
    supported: bool = True


@dataclass
class TimeOrderModel:
    """Issue 24's semantics over the wire events, for a replay (no wall clock)."""

    notified: list[Notified] = field(default_factory=list)
    late: Counter[str] = field(default_factory=Counter)
    rekeyed: set[tuple[str, tuple[object, ...]]] = field(default_factory=set)
    seen: set[object] = field(default_factory=set)
    histories: dict[str, list[ModelEvent]] = field(default_factory=dict)
    sent: dict[str, list[SentDecision]] = field(default_factory=dict)

    def post(self, data: WireEvent) -> str:
        event = read_wire(data)
        if event.identity in self.seen:
            return "duplicate"
        self.seen.add(event.identity)
        history = self.histories.setdefault(event.user_id, [])
        latest = max((seen.moment for seen in history), default=event.moment)
        assert latest - event.moment <= REORDER_WINDOW, "the model knows no event too late"
        history.append(event)
        self.settle(event.user_id, end_of_input=False)
        return "ignored" if event.kind == UNKNOWN else "accepted"

    def end_of_input(self) -> None:
        for user_id in self.histories:
            self.settle(user_id, end_of_input=True)

    def settle(self, user_id: str, *, end_of_input: bool) -> None:
        """Send what the user's ordered history makes final; log what it no longer supports."""
        replay = Replay.of(self.histories[user_id], end_of_input=end_of_input)
        sent = self.sent.setdefault(user_id, [])
        for decision in replay.earned:
            self.send_unless_sent(user_id, decision, sent)
        for earlier in sent:
            if earlier.supported and not replay.supports(earlier.decision):
                earlier.supported = False
                self.late[LATE_OUTCOME_OF[earlier.decision.kind]] += 1

    def send_unless_sent(self, user_id: str, decision: Earned, sent: list[SentDecision]) -> None:
        same = next(
            (earlier for earlier in sent if decision.is_the_same_as(earlier.decision)), None
        )
        if same is None:
            sent.append(SentDecision(decision))
            self.notified.append(Notified(user_id, decision))
        elif same.decision.key != decision.key:
            self.rekeyed.add((user_id, decision.key))

    def sent_decisions(self) -> list[Earned]:
        return [earlier.decision for user_sent in self.sent.values() for earlier in user_sent]


def modelled(stream: Sequence[WireEvent]) -> TimeOrderModel:
    """The model after a replay of `stream`, pending reminders sent at its end."""
    model = TimeOrderModel()
    for data in stream:
        model.post(data)
    model.end_of_input()
    return model


# --- What the service did ------------------------------------------------------------


def identified(notifications: Sequence[Notification]) -> list[tuple[Any, ...]]:
    return sorted(
        (n.kind, n.user_id, tuple(event.event_id for event in n.reason.events), n.minutes)
        for n in notifications
    )


def timed(notifications: Sequence[Notification]) -> list[tuple[Any, ...]]:
    return [
        (n.kind, n.user_id, tuple(event.occurred_at for event in n.reason.events), n.minutes)
        for n in in_users_order(notifications)
    ]


def late_cases(stream: Sequence[WireEvent]) -> Counter[str]:
    """The late_* outcomes in the decision logs after a replay of `stream`."""
    run = run_service(stream, drain=True)
    return Counter(
        str(record.outcome)
        for user_id in {data["user_id"] for data in stream}
        for record in run.repository.decisions(user_id)
        if str(record.outcome) in LATE_OUTCOME_OF.values()
    )


# --- Properties ---------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(shuffled_streams())
@with_late_arrival_examples
def test_a_replay_in_any_arrival_order_sends_what_the_time_order_model_predicts(stream):
    expected = sorted(notified.identified for notified in modelled(stream).notified)

    assert identified(run_service(stream, drain=True).delivered) == expected


@PROPERTY_SETTINGS
@given(shuffled_streams())
@with_late_arrival_examples
def test_a_sent_notification_a_late_event_no_longer_supports_is_logged_once(stream):
    assert late_cases(stream) == modelled(stream).late


@PROPERTY_SETTINGS
@given(in_order_streams())
def test_events_arriving_in_time_order_send_what_arrival_order_sends(stream):
    model = modelled(stream)
    expected = predicted(stream, drain=True)

    assert summary(run_service(stream, drain=True).delivered) == expected
    assert in_users_order([notified.summary for notified in model.notified]) == expected
    assert not model.late
    assert not model.rekeyed


@PROPERTY_SETTINGS
@given(shuffled_streams())
@with_late_arrival_examples
def test_an_arrival_order_that_re_decides_nothing_sends_what_time_order_sends(stream):
    model, in_order = modelled(stream), modelled(in_time_order(stream))
    sent = model.sent_decisions()

    # Whatever the order, each decision of the whole ordered history was sent, as itself or
    # as the sent decision it is.
    for decision in in_order.sent_decisions():
        assert any(decision.is_the_same_as(earlier) for earlier in sent), decision
    if not model.late and not model.rekeyed:
        assert sorted(n.identified for n in model.notified) == sorted(
            n.identified for n in in_order.notified
        )


def sample_time(minute: int, second: int) -> datetime:
    return datetime(2021, 2, 28, 16, minute, second, tzinfo=UTC)


#: foo1 trained 36:18 (a congratulation); foo2 started 29 minutes after launching the app.
SAMPLE_NOTIFICATIONS = [
    (CONGRATULATION, "foo1", (sample_time(23, 25), sample_time(59, 43)), 36),
    (REMINDER, "foo2", (sample_time(22, 52),), None),
]


@pytest.mark.parametrize("stream", [BRIEF_SAMPLE, BRIEF_SAMPLE[::-1]], ids=["in_order", "reversed"])
def test_the_brief_sample_sends_its_two_notifications_in_either_order_of_arrival(stream):
    assert [notified.timed for notified in in_users_order(modelled(stream).notified)] == (
        SAMPLE_NOTIFICATIONS
    )
    assert timed(run_service(stream, drain=True).delivered) == SAMPLE_NOTIFICATIONS
