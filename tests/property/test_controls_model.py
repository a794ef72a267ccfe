"""Property tests: caps and quiet hours in each user's zone, against a reference model.

`ControlsModel` restates issue 26's semantics from its text, over the reference model
of test_properties.py (what a user earns), and shares no code with `events/`:

- The user's zone at a decision is the latest IANA name their events applied so far
  stated (v2's `timezone`), else the UTC offset of the latest of their timestamps that
  had one (v2's; `Z` is an offset of zero; the brief's `time_stamp` never has one), else
  the rules' default zone. A congratulation sees its finish's zone; a reminder sent
  because a later event is past its deadline does not see that event's; one sent at the
  end of the input sees every event's.
- Quiet hours [from, to) in the user's local time at the trigger time (the finish, the
  reminder's deadline), wrapping midnight: `skip` sends nothing and does not count for
  the cap; `defer` sends it with `deliver_after`, the next instant the user's clock
  reaches `to` (found here by walking the clock a minute at a time), and counts.
- Then the cap: not sent when `max` notifications of the rule sent to the user have
  trigger times in (T - per_hours, T].

Streams are each user's events in time order (the model has no reorder window), in the
brief's format and v2 with zones and offsets mixed, several users interleaved.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from typing import Any, NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from events.domain.ruleset import (
    Cap,
    CongratulationRule,
    Controls,
    QuietAction,
    QuietHours,
    ReminderRule,
    RuleSet,
)
from events.service.ingestion import ingest
from eventsproject import bootstrap
from notifications.domain.notification import Notification
from tests.conftest import RecordingTransport
from tests.property.test_properties import (
    BRIEF,
    BRIEF_TIME_FORMAT,
    CONGRATULATION,
    PROPERTY_SETTINGS,
    REMINDER,
    TRAINING_KINDS,
    V2_TIME_FORMAT,
    PendingReminder,
    PlannedEvent,
    ReferenceModel,
    WireEvent,
    in_users_order,
    interleave,
    per_user_timeline,
    planned_events,
    start_times,
    user_ids,
)

MINUTE = timedelta(minutes=1)
ZONES = ("Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC")
OFFSETS = ("Z", "+00:00", "+05:30", "-08:00", "+13:45")
CLOCK = tuple(
    time(hour, minute) for hour in (0, 1, 2, 3, 6, 7, 12, 18, 22, 23) for minute in (0, 30)
)
MAX_EVENTS = 40
MAX_SPAN = timedelta(hours=20)


# --- The rules tried ----------------------------------------------------------------


class RuleControls(NamedTuple):
    """One rule's controls as the model reads them: None where the rule has none."""

    cap: tuple[int, int] | None  # (max, per_hours)
    quiet: tuple[time, time, str] | None  # (from, to, action)


NO_CONTROLS = RuleControls(None, None)


class Rules(NamedTuple):
    default_zone: str
    reminder: RuleControls
    congratulation: RuleControls

    def rule_set(self) -> RuleSet:
        """The same rules, as the service takes them."""
        return RuleSet(
            version="model",
            default_zone=self.default_zone,
            start_training_reminder=ReminderRule(controls=_controls(self.reminder)),
            training_dose_congratulation=CongratulationRule(
                controls=_controls(self.congratulation)
            ),
        )


def _controls(rule: RuleControls) -> Controls:
    cap = None if rule.cap is None else Cap(rule.cap[0], timedelta(hours=rule.cap[1]))
    quiet = None
    if rule.quiet is not None:
        start, end, action = rule.quiet
        quiet = QuietHours(start, end, QuietAction(action))
    return Controls(cap, quiet)


@st.composite
def quiet_hours(draw: st.DrawFn) -> tuple[time, time, str]:
    start = draw(st.sampled_from(CLOCK))
    end = draw(st.sampled_from([moment for moment in CLOCK if moment != start]))
    return start, end, draw(st.sampled_from(("skip", "defer")))


def rule_controls() -> st.SearchStrategy[RuleControls]:
    return st.builds(
        RuleControls,
        cap=st.none() | st.tuples(st.integers(1, 2), st.integers(1, 8)),
        quiet=st.none() | quiet_hours(),
    )


def rules() -> st.SearchStrategy[Rules]:
    return st.builds(Rules, st.sampled_from(ZONES), rule_controls(), rule_controls())


# --- Streams with zones -------------------------------------------------------------


@dataclass(frozen=True)
class Zoned:
    """What a v2 event states of its user's zone: an IANA name (or none) and the offset
    its timestamps are written with."""

    name: str | None
    offset: str


def zoned() -> st.SearchStrategy[Zoned]:
    return st.builds(Zoned, st.none() | st.sampled_from(ZONES), st.sampled_from(OFFSETS))


@st.composite
def zoned_streams(draw: st.DrawFn) -> list[WireEvent]:
    """Several users' events in time order, in the brief's format or v2 with a zone."""
    size = draw(st.integers(0, MAX_EVENTS))
    plans = draw(st.lists(planned_events(draw(user_ids())), min_size=size, max_size=size))
    zones = draw(st.lists(zoned(), min_size=size, max_size=size))
    start = draw(start_times())
    moments = per_user_timeline(start, plans)
    timed = sorted(zip(moments, range(size), plans, zones, strict=True))
    return [
        _wire(plan, moment, UUID(int=order, version=4), zone)
        for moment, order, plan, zone in timed
        if moment - start < MAX_SPAN
    ]


def _wire(plan: PlannedEvent, moment: datetime, event_id: UUID, zone: Zoned) -> WireEvent:
    data: WireEvent = {"user_id": plan.user_id, "device_id": plan.device_id, "type": plan.wire_type}
    if plan.wire_format == BRIEF:
        data["time_stamp"] = moment.strftime(BRIEF_TIME_FORMAT)
        program_fields: WireEvent = {"training_program_id": plan.program}
    else:
        data |= {"schema_version": 2, "event_id": str(event_id)}
        data["occurred_at"] = _written(moment, zone.offset)
        if plan.queued is not None:
            data["sent_at"] = _written(moment + timedelta(seconds=plan.queued), zone.offset)
        if zone.name is not None:
            data["timezone"] = zone.name
        program_fields = {"training_program": {"id": plan.program}}
    if plan.kind in TRAINING_KINDS:
        data |= program_fields
    return data


def _written(moment: datetime, offset: str) -> str:
    """`moment` as a v2 timestamp in `offset`'s local time."""
    local = moment.astimezone(_offset_zone(offset))
    return local.strftime(V2_TIME_FORMAT) + offset


def _offset_zone(offset: str) -> tzinfo:
    if offset == "Z":
        return UTC
    sign = -1 if offset[0] == "-" else 1
    return timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))


# --- The model ----------------------------------------------------------------------


class Told(NamedTuple):
    kind: str
    user_id: str
    device_id: str
    minutes: int | None
    triggered_at: datetime
    deliver_after: datetime | None


@dataclass
class ControlsModel(ReferenceModel):
    rules: Rules = field(default_factory=lambda: Rules("UTC", NO_CONTROLS, NO_CONTROLS))
    told: list[Told] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # user -> latest IANA name
    offsets: dict[str, tzinfo] = field(default_factory=dict)  # user -> latest offset
    counted: dict[tuple[str, str], list[datetime]] = field(default_factory=dict)
    posting: WireEvent = field(default_factory=dict)

    def post(self, data: WireEvent) -> str:
        """The reference model reads times as UTC: it is given them so."""
        self.posting = data
        return super().post(_in_utc(data))

    def send_reminder_if_overdue(self, event: Any) -> None:
        super().send_reminder_if_overdue(event)  # judged in the zone known before the event
        self._see_zone(self.posting)

    def send(self, reminder: PendingReminder) -> None:
        del self.reminders[reminder.user_id]
        self._gate(
            Told(REMINDER, reminder.user_id, reminder.device_id, None, reminder.deadline, None),
            self.rules.reminder,
        )

    def finish(self, event: Any) -> None:
        started = self.sessions.pop((event.user_id, event.program), None)
        if started is None or event.moment - started <= timedelta(minutes=30):
            return
        minutes = (event.moment - started) // MINUTE
        told = Told(CONGRATULATION, event.user_id, event.device_id, minutes, event.moment, None)
        self._gate(told, self.rules.congratulation)

    def _gate(self, told: Told, rule: RuleControls) -> None:
        zone = self._zone_of(told.user_id)
        if rule.quiet is not None and _quiet(rule.quiet, told.triggered_at, zone):
            _, end, action = rule.quiet
            if action == "skip":
                return
            told = told._replace(deliver_after=_next_reaching(told.triggered_at, end, zone))
        if rule.cap is not None:
            most, hours = rule.cap
            earlier = self.counted.setdefault((told.user_id, told.kind), [])
            since = told.triggered_at - timedelta(hours=hours)
            if sum(1 for moment in earlier if since < moment <= told.triggered_at) >= most:
                return
            earlier.append(told.triggered_at)
        self.told.append(told)

    def _zone_of(self, user_id: str) -> tzinfo:
        if user_id in self.names:
            return ZoneInfo(self.names[user_id])
        return self.offsets.get(user_id) or ZoneInfo(self.rules.default_zone)

    def _see_zone(self, data: WireEvent) -> None:
        user = data["user_id"]
        if data.get("timezone"):
            self.names[user] = data["timezone"]
        if "occurred_at" in data:
            self.offsets[user] = datetime.fromisoformat(data["occurred_at"]).tzinfo or UTC


def _in_utc(data: WireEvent) -> WireEvent:
    stamps = {name: data[name] for name in ("occurred_at", "sent_at") if name in data}
    return data | {
        name: datetime.fromisoformat(text).astimezone(UTC).isoformat()
        for name, text in stamps.items()
    }


def _quiet(quiet: tuple[time, time, str], moment: datetime, zone: tzinfo) -> bool:
    start, end, _ = quiet
    local = moment.astimezone(zone).time()
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _next_reaching(after: datetime, end: time, zone: tzinfo) -> datetime:
    """The first instant after `after` at which the clock of `zone` reaches `end`: walked a
    minute at a time, the first minute at which the local clock goes from before `end` (on
    that day) to `end` or past it."""
    moment = after.replace(second=0, microsecond=0) + MINUTE
    while True:
        before = (moment - MINUTE).astimezone(zone).replace(tzinfo=None)
        now = moment.astimezone(zone).replace(tzinfo=None)
        target = datetime.combine(now.date(), end)
        if before < target <= now:
            return moment
        moment += MINUTE


def model_told(stream: list[WireEvent], rules_tried: Rules) -> list[Told]:
    model = ControlsModel(rules=rules_tried)
    for data in stream:
        model.post(data)
    model.end_of_input()
    return sorted(model.told)


# --- The service ----------------------------------------------------------------------


def service_told(stream: list[WireEvent], rules_tried: Rules, *, over_http: bool) -> list[Told]:
    """What the service sends for `stream` under the rules, as a replay (drained at the
    end); through `ingest` or, `over_http`, POST /v1/event."""
    transport = RecordingTransport()
    parts = bootstrap.build(transport=transport, rules=rules_tried.rule_set())
    with bootstrap.installed(parts):
        parts.dispatcher.start()
        client = APIClient()
        for data in stream:
            if over_http:
                answer = client.post("/v1/event", data, format="json")
                assert answer.status_code in (200, 202), answer.content
            else:
                ingest(parts.processor, data)
        parts.processor.drain_reminders()
        assert parts.dispatcher.flush(timeout=5), "the outbox did not settle"
        parts.dispatcher.close(timeout=0)
    return sorted(_told(notification) for notification in in_users_order(transport.sent))


def _told(n: Notification) -> Told:
    return Told(n.kind, n.user_id, n.device_id, n.minutes, n.triggered_at, n.deliver_after)


# --- Properties -----------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(zoned_streams(), rules())
def test_a_replay_sends_what_the_model_of_caps_and_quiet_hours_predicts(stream, rules_tried):
    assert service_told(stream, rules_tried, over_http=False) == model_told(stream, rules_tried)


@PROPERTY_SETTINGS
@given(zoned_streams(), rules())
def test_the_http_path_sends_what_the_model_predicts(stream, rules_tried):
    # Over HTTP a `sent_at` has the server correct the phone's clock by its own: the model
    # has no wall clock, so the streams posted say only when events occurred.
    stream = [{name: value for name, value in data.items() if name != "sent_at"} for data in stream]

    assert service_told(stream, rules_tried, over_http=True) == model_told(stream, rules_tried)


@PROPERTY_SETTINGS
@given(zoned_streams(), rules(), st.randoms(use_true_random=False))
def test_how_users_are_interleaved_never_changes_what_the_controls_let_through(
    stream, rules_tried, chooser
):
    owners = [data["user_id"] for data in stream]
    chooser.shuffle(owners)
    shuffled = interleave(stream, owners)

    assert service_told(shuffled, rules_tried, over_http=False) == service_told(
        stream, rules_tried, over_http=False
    )


def test_the_model_walks_the_clock_past_a_dst_gap_and_takes_the_first_of_two():
    paris = ZoneInfo("Europe/Paris")
    assert _next_reaching(datetime(2026, 3, 28, 23, tzinfo=UTC), time(2, 30), paris) == datetime(
        2026, 3, 29, 1, tzinfo=UTC
    )
    assert _next_reaching(datetime(2026, 10, 24, 22, tzinfo=UTC), time(2, 30), paris) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
