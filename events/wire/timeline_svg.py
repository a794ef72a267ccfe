"""A user's timeline drawn as SVG text, and the HTML page around it: pure functions of the
view model (events/wire/timeline.py). No Django, no clock, no JavaScript, no asset: the
colours are presentation attributes, so the SVG alone (`?format=svg`, for a support
ticket) shows what the page shows.

Four lanes on one axis of event time, in the zone the view model names: the user's
events as marks, training sessions as bars with their minutes, reminder windows (launch
to deadline) coloured by their outcome, and notifications with their delivery status
(one deferred by quiet hours has a dashed line to its `deliver_after`). Each lane draws
at most `limit` of its newest items and says how many older ones it left out.

Every text is escaped: `<`, `&` and quotes as XML entities, and each control, format
(bidi), surrogate, private-use or unassigned character shown as `\\u{202e}`, so a
hostile id can neither add markup nor reorder what is shown.

Hooks (stable: browser tests and support tooling select on them):

- `svg.timeline[data-user-id]`: the picture; `text.zone[data-zone]`: the axis' zone label
- `g.event.<kind>[data-event-id][data-type][data-at]`, kind one of `launch`, `start`,
  `cancel`, `finish`, `other`; `data-outcomes`: the decision log's outcomes about it
  (`sent`, `too_late`, `no_open_session`, ...), space-separated, oldest first
- `g.session.<ending>[data-minutes][data-program-id][data-start-event-id]
  [data-end-event-id][data-outcome]`, ending one of `finished`, `cancelled`,
  `restarted`, `open` (no `data-minutes`); a finished one's outcome is a class too
- `rect.window.<outcome>[data-outcome][data-launch-event-id][data-opened][data-closes]
  [data-notification-id]`, outcome a decision log outcome or `pending`
- `g.notification.<status>[data-notification-id][data-status][data-kind][data-at]
  [data-deliver-after]`, status one of `pending`, `sent`, `failed`, `unknown` (the outbox
  holds it no more); a deferred one has the class `deferred` and a `line.deferral`
- `g.legend-item[data-lane][data-key]`: one per kind, ending, outcome and status drawn
- `text.left-out[data-left-out]`: how many older marks were not drawn (absent: none)
- every mark has a `<title>` (a hover shows its times and ids); `data-at`, `data-opened`,
  `data-closes` and `data-deliver-after` are UTC, ISO 8601 with `Z`.
"""

import math
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TypeVar
from xml.sax.saxutils import escape

from events.domain.decisions import Verdict
from events.wire.timeline import (
    PENDING,
    UNKNOWN_STATUS,
    EventMark,
    NotificationMark,
    ReminderWindow,
    SessionBar,
    Timeline,
)

#: How many of each lane's newest items are drawn, by default.
MAX_MARKS = 200

#: Each reminder window's colour, by outcome: every outcome of the decision log has one.
OUTCOME_COLOURS: Mapping[str, str] = {
    Verdict.SENT: "#1c7ed6",
    Verdict.CANCELLED: "#adb5bd",
    Verdict.MERGED: "#9775fa",
    Verdict.SKIPPED_STALE: "#a47148",
    Verdict.LATE_START_AFTER_SENT: "#e03131",
    Verdict.LATE_EVENT_AFTER_SENT: "#c2255c",
    Verdict.TOO_LATE: "#495057",
    Verdict.CONGRATULATED: "#2f9e44",
    Verdict.TOO_SHORT: "#ced4da",
    Verdict.NO_OPEN_SESSION: "#e9ecef",
    Verdict.QUIET_HOURS: "#364fc7",
    Verdict.CAPPED: "#f76707",
    PENDING: "#fab005",
}
OTHER_COLOUR = "#868e96"

#: Each notification's colour, by delivery status.
STATUS_COLOURS: Mapping[str, str] = {
    "pending": "#f59f00",
    "sent": "#2f9e44",
    "failed": "#e03131",
    UNKNOWN_STATUS: "#adb5bd",
}

#: Each session's colour, by how it ended.
ENDING_COLOURS: Mapping[str, str] = {
    "finished": "#40c057",
    "cancelled": "#adb5bd",
    "restarted": "#ced4da",
    "open": "#74c0fc",
}

#: Each event type's mark (a test holds it to the declared types); any other is `other`.
EVENT_KINDS: Mapping[str, str] = {
    "app_launched": "launch",
    "training_program_started": "start",
    "training_program_cancelled": "cancel",
    "training_program_finished": "finish",
}
OTHER_KIND = "other"
KIND_COLOURS: Mapping[str, str] = {
    "launch": "#1c7ed6",
    "start": "#2f9e44",
    "cancel": "#868e96",
    "finish": "#2b8a3e",
    OTHER_KIND: "#adb5bd",
}

WIDTH = 1000
LEFT = 140  # the lanes' names
RIGHT = 30
TOP = 64  # the heading
EVENTS_LANE = 64
ROW = 24  # a session's or a window's row
MAX_ROWS = 6  # rows a lane packs overlapping items into; more share the last
NOTIFICATIONS_LANE = 56
AXIS = 56
LEGEND_ROW = 22
LEGEND_ITEM = 170
LABELLED_AT_MOST = 24  # marks whose times are written beside them, when a lane has no more
CHAR = 6.6  # an average character's width at 12 px, to tell whether a label fits
MAX_TICKS = 8
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)
TICK_STEPS_DAYS = (1, 2, 7, 14, 30, 91, 365)

_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_QUOTES = {'"': "&quot;", "'": "&#x27;"}


def visible(text: str) -> str:
    """`text` with each character that would not show as itself written as `\\u{…}`."""
    return "".join(
        f"\\u{{{ord(char):04x}}}" if unicodedata.category(char) in _HIDDEN else char
        for char in text
    )


def _text(text: str) -> str:
    """Element content: each line made visible, then escaped."""
    return escape("\n".join(visible(line) for line in text.split("\n")))


def _attr(value: object) -> str:
    return escape(visible(str(value)), _QUOTES)


def _el(tag: str, attrs: Mapping[str, object | None], *children: str) -> str:
    """An element; attributes whose value is None are left out."""
    shown = "".join(
        f' {name}="{_attr(value)}"' for name, value in attrs.items() if value is not None
    )
    return f"<{tag}{shown}>{''.join(children)}</{tag}>" if children else f"<{tag}{shown}/>"


def _title(*lines: str) -> str:
    return f"<title>{_text(chr(10).join(lines))}</title>"


def _n(number: float) -> str:
    return f"{number:.1f}"


def _utc(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"


def _server_time(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC by the server's clock"


# --- The axis --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Axis:
    start: datetime
    end: datetime
    tz: tzinfo
    zone: str

    def x(self, moment: datetime) -> float:
        share = (moment - self.start) / (self.end - self.start)
        return LEFT + share * (WIDTH - LEFT - RIGHT)

    def local(self, moment: datetime, form: str = "%Y-%m-%d %H:%M:%S") -> str:
        return moment.astimezone(self.tz).strftime(form)

    def when(self, moment: datetime) -> str:
        """A time as a title shows it: in the axis' zone, named."""
        return f"{self.local(moment)} {self.zone}"


def axis_of(timeline: Timeline) -> Axis:
    """From the earliest to the latest moment drawn, with a margin; ten minutes around
    the time drawn when there is nothing to draw."""
    moments = sorted(_moments(timeline))
    if not moments:
        middle = timeline.drawn_at or datetime(2000, 1, 1, tzinfo=UTC)
        moments = [middle - timedelta(minutes=5), middle + timedelta(minutes=5)]
    margin = max((moments[-1] - moments[0]) / 20, timedelta(minutes=1))
    zone = timeline.zone
    return Axis(moments[0] - margin, moments[-1] + margin, zone.tz, zone.name)


def _moments(timeline: Timeline) -> Iterable[datetime]:
    yield from (event.at for event in timeline.events)
    yield from (session.started for session in timeline.sessions)
    yield from (session.ended for session in timeline.sessions if session.ended is not None)
    yield from (moment for window in timeline.windows for moment in (window.opened, window.closes))
    for notification in timeline.notifications:
        yield notification.at
        if notification.deliver_after is not None:
            yield notification.deliver_after


def ticks(axis: Axis) -> list[datetime]:
    """Round times of the axis' zone's clock within it: about MAX_TICKS at most."""
    step = _tick_step((axis.end - axis.start).total_seconds())
    offset = _offset_seconds(axis.start, axis.tz)
    first = math.ceil((axis.start.timestamp() + offset) / step) * step - offset
    count = int((axis.end.timestamp() - first) // step) + 1
    return [datetime.fromtimestamp(first + i * step, UTC) for i in range(max(count, 0))]


def _tick_step(span: float) -> int:
    steps = (*TICK_STEPS, *(days * DAY for days in TICK_STEPS_DAYS))
    return next((step for step in steps if span / step <= MAX_TICKS), math.ceil(span / MAX_TICKS))


DAY = 86400


def _offset_seconds(moment: datetime, tz: tzinfo) -> float:
    offset = moment.astimezone(tz).utcoffset()
    return 0.0 if offset is None else offset.total_seconds()


def _tick_form(step: float) -> str:
    if step < 60:
        return "%H:%M:%S"
    return "%H:%M" if step < DAY else "%Y-%m-%d"


# --- Lanes -----------------------------------------------------------------------------

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Drawn:
    """A part of the picture, and the height it takes."""

    parts: list[str]
    height: float


def newest(items: Sequence[_T], at: Callable[[_T], datetime], limit: int) -> tuple[list[_T], int]:
    """The `limit` newest items, in time order, and how many older ones were left out."""
    ordered = sorted(items, key=at)
    kept = ordered[len(ordered) - limit :] if limit < len(ordered) else ordered
    return kept, len(ordered) - len(kept)


def pack(spans: Sequence[tuple[float, float]], rows: int = MAX_ROWS) -> list[int]:
    """A row for each span, the first where it overlaps nothing (the last when none is
    free), so that overlapping windows or sessions stay apart."""
    ends: list[float] = []
    placed = []
    for left, right in spans:
        row = min(next((i for i, end in enumerate(ends) if end <= left), len(ends)), rows - 1)
        if row == len(ends):
            ends.append(right)
        else:
            ends[row] = max(ends[row], right)
        placed.append(row)
    return placed


def _lane_head(name: str, height: float, *, shaded: bool = False) -> list[str]:
    band = {"x": 0, "y": 0, "width": WIDTH, "height": _n(height)}
    fill = "#f8f9fa" if shaded else "none"
    return [
        _el("rect", {"class": "lane-band", **band, "fill": fill}),
        _el(
            "text",
            {"class": "lane-name", "x": 8, "y": _n(height / 2 + 4), "fill": "#495057"},
            _text(name),
        ),
    ]


def _label(x: float, y: float, text: str, anchor: str = "start") -> str:
    """A label at `x`; one centred there that would run off the picture is kept inside."""
    half = len(text) * CHAR / 2
    if anchor == "middle" and x + half > WIDTH - 4:
        anchor, x = "end", WIDTH - 4.0
    elif anchor == "middle" and x - half < LEFT:
        anchor, x = "start", max(x - 8.0, float(LEFT))
    attrs = {"class": "label", "x": _n(x), "y": _n(y), "text-anchor": anchor, "fill": "#212529"}
    return _el("text", attrs, _text(text))


def _fits(text: str, width: float) -> bool:
    return len(text) * CHAR + 6 <= width


def _circle(x: float, y: float, colour: str) -> str:
    return _el("circle", {"cx": _n(x), "cy": _n(y), "r": 6, "fill": colour})


def _triangle(x: float, y: float, colour: str) -> str:
    path = f"M{_n(x - 6)},{_n(y + 6)}L{_n(x + 6)},{_n(y + 6)}L{_n(x)},{_n(y - 7)}Z"
    return _el("path", {"d": path, "fill": colour})


def _cross(x: float, y: float, colour: str) -> str:
    left, right, up, down = _n(x - 5), _n(x + 5), _n(y - 5), _n(y + 5)
    path = f"M{left},{up}L{right},{down}M{left},{down}L{right},{up}"
    return _el("path", {"d": path, "stroke": colour, "stroke-width": 3, "fill": "none"})


def _square(x: float, y: float, colour: str) -> str:
    return _el("rect", {"x": _n(x - 5), "y": _n(y - 5), "width": 10, "height": 10, "fill": colour})


def _diamond(x: float, y: float, colour: str) -> str:
    path = f"M{_n(x)},{_n(y - 7)}L{_n(x + 7)},{_n(y)}L{_n(x)},{_n(y + 7)}L{_n(x - 7)},{_n(y)}Z"
    return _el("path", {"d": path, "fill": colour})


#: Each kind of event's mark.
SHAPES: Mapping[str, Callable[[float, float, str], str]] = {
    "launch": _circle,
    "start": _triangle,
    "cancel": _cross,
    "finish": _square,
    OTHER_KIND: _diamond,
}


def kind_of(event_type: str) -> str:
    return EVENT_KINDS.get(event_type, OTHER_KIND)


def draw_events(timeline: Timeline, axis: Axis) -> Drawn:
    """A mark per event, its time above it when the lane has few."""
    labelled = len(timeline.events) <= LABELLED_AT_MOST
    marks = [
        _event_mark(event, axis, index % 2 if labelled else None)
        for index, event in enumerate(timeline.events)
    ]
    return Drawn(marks, EVENTS_LANE)


def _event_mark(event: EventMark, axis: Axis, label_row: int | None) -> str:
    kind, x, y = kind_of(event.event_type), axis.x(event.at), EVENTS_LANE - 16
    attrs = {
        "class": f"event {kind}",
        "data-event-id": event.event_id,
        "data-type": event.event_type,
        "data-at": _utc(event.at),
        "data-outcomes": " ".join(event.outcomes) or None,
    }
    time_shown = axis.local(event.at, "%H:%M:%S")
    label = "" if label_row is None else _label(x, y - 14 - 13 * label_row, time_shown, "middle")
    shape = SHAPES[kind](x, y, KIND_COLOURS[kind])
    return _el("g", attrs, _title(*_event_lines(event, axis)), shape, label)


def _event_lines(event: EventMark, axis: Axis) -> list[str]:
    sent, received = event.sent_at, event.received_at
    return _known(
        f"{event.event_type} {event.event_id}",
        f"at {axis.when(event.at)} (the time the rules judge it by)",
        f"occurred {axis.when(event.occurred_at)} by the device's clock",
        sent and f"sent {axis.when(sent)} by the device's clock",
        received and f"received {_server_time(received)}",
        f"device {event.device_id}",
        event.program and f"training program {event.program}",
        event.outcomes and f"decisions: {', '.join(event.outcomes)}",
    )


def _known(*lines: object) -> list[str]:
    """A title's lines, less those left out (None, or another empty value)."""
    return [str(line) for line in lines if line]


def draw_sessions(timeline: Timeline, axis: Axis) -> Drawn:
    """A bar per session, with its minutes; an open one reaches the axis' end."""
    spans = [(axis.x(s.started), axis.x(s.ended or axis.end)) for s in timeline.sessions]
    return _in_rows(timeline.sessions, spans, axis, _session_bar)


def _in_rows(
    items: Sequence[_T],
    spans: Sequence[tuple[float, float]],
    axis: Axis,
    draw: Callable[[_T, tuple[float, float], float, Axis], str],
) -> Drawn:
    """Each item drawn by `draw` over its span, in as many rows as keep them apart."""
    rows = pack(spans)
    parts = [
        draw(item, span, row * ROW, axis)
        for item, span, row in zip(items, spans, rows, strict=True)
    ]
    return Drawn(parts, ROW * (max(rows, default=0) + 1))


def _session_bar(session: SessionBar, span: tuple[float, float], top: float, axis: Axis) -> str:
    left, right = span
    minutes = session.minutes
    attrs = {
        "class": " ".join(filter(None, ("session", session.ending, session.outcome))),
        "data-minutes": minutes,
        "data-program-id": session.program,
        "data-start-event-id": session.start_id,
        "data-end-event-id": session.end_id,
        "data-outcome": session.outcome,
    }
    width = max(right - left, 2.0)
    bar = {"x": _n(left), "y": _n(top + 5), "width": _n(width), "height": 14, "rx": 3}
    shown = "open" if minutes is None else f"{minutes} min"
    label_x = left + 4 if _fits(shown, width) else right + 4
    return _el(
        "g",
        attrs,
        _title(*_session_lines(session, axis)),
        _el("rect", {**bar, "fill": ENDING_COLOURS.get(session.ending, OTHER_COLOUR)}),
        _label(label_x, top + 16, shown),
    )


def _session_lines(session: SessionBar, axis: Axis) -> list[str]:
    ended = session.ended
    return _known(
        f"training program {session.program}: {session.ending}",
        f"started {axis.when(session.started)} ({session.start_id})",
        ended and f"{session.ending} {axis.when(ended)} ({session.end_id})",
        ended and f"{session.minutes} minutes trained",
        session.outcome and f"decision: {session.outcome}",
    )


def draw_windows(timeline: Timeline, axis: Axis) -> Drawn:
    """A rectangle per reminder window, from its launch to its deadline, coloured by outcome."""
    spans = [(axis.x(w.opened), axis.x(w.closes)) for w in timeline.windows]
    return _in_rows(timeline.windows, spans, axis, _window_rect)


def _window_rect(window: ReminderWindow, span: tuple[float, float], top: float, axis: Axis) -> str:
    left, right = span
    width = max(right - left, 2.0)
    attrs = {
        "class": f"window {window.outcome}",
        "data-outcome": window.outcome,
        "data-launch-event-id": window.launch_id,
        "data-opened": _utc(window.opened),
        "data-closes": _utc(window.closes),
        "data-notification-id": window.notification_id,
        "x": _n(left),
        "y": _n(top + 4),
        "width": _n(width),
        "height": 16,
        "fill": OUTCOME_COLOURS.get(window.outcome, OTHER_COLOUR),
        "fill-opacity": "0.85",
    }
    rect = _el("rect", attrs, _title(*_window_lines(window, axis)))
    return _el("g", {"class": "window-mark"}, rect, _window_label(window, axis, left, width, top))


def _window_label(window: ReminderWindow, axis: Axis, left: float, width: float, top: float) -> str:
    """Its outcome and times, or as much of that as fits inside it."""
    times = f"{axis.local(window.opened, '%H:%M:%S')} to {axis.local(window.closes, '%H:%M:%S')}"
    fitting = (
        text for text in (f"{window.outcome}: {times}", window.outcome) if _fits(text, width)
    )
    shown = next(fitting, None)
    return "" if shown is None else _label(left + 4, top + 16, shown)


def _window_lines(window: ReminderWindow, axis: Axis) -> list[str]:
    trigger = "" if window.trigger is None else f" ({window.trigger})"
    due, decided = window.due_at, window.decided_at
    return _known(
        f"reminder window: {window.outcome}{trigger}",
        f"launch {window.launch_id} at {axis.when(window.opened)}",
        f"deadline {axis.when(window.closes)}",
        due and f"due {_server_time(due)}",
        decided and f"decided {_server_time(decided)}",
        window.notification_id and f"notification {window.notification_id}",
        window.event_ids and f"events {', '.join(window.event_ids)}",
    )


#: How a notification's kind is written beside it.
KIND_NAMES: Mapping[str, str] = {
    "start_training_reminder": "reminder",
    "training_dose_congratulation": "congratulation",
}


def draw_notifications(timeline: Timeline, axis: Axis) -> Drawn:
    """A marker per notification, coloured by its delivery status; a deferred one with a
    dashed line to when it may go."""
    labelled = len(timeline.notifications) <= LABELLED_AT_MOST
    marks = [_notification_mark(n, axis, labelled) for n in timeline.notifications]
    return Drawn(marks, NOTIFICATIONS_LANE)


def _notification_mark(notification: NotificationMark, axis: Axis, labelled: bool) -> str:
    deferred = notification.deliver_after is not None
    attrs = {
        "class": f"notification {notification.status}" + (" deferred" if deferred else ""),
        "data-notification-id": notification.notification_id,
        "data-status": notification.status,
        "data-kind": notification.kind,
        "data-at": _utc(notification.at),
        "data-deliver-after": _utc(notification.deliver_after),
    }
    x, y = axis.x(notification.at), 20.0
    colour = STATUS_COLOURS.get(notification.status, OTHER_COLOUR)
    marker = _el("circle", {"cx": _n(x), "cy": _n(y), "r": 7, "fill": colour})
    name = KIND_NAMES.get(notification.kind, notification.kind)
    shown = f"{name} {notification.status} {axis.local(notification.at, '%H:%M:%S')}"
    label = _label(x, y + 22, shown, "middle") if labelled else ""
    deferral = _deferral(notification, axis, y, labelled) if deferred else ""
    lines = _notification_lines(notification, axis)
    return _el("g", attrs, _title(*lines), deferral, marker, label)


def _deferral(notification: NotificationMark, axis: Axis, y: float, labelled: bool) -> str:
    assert notification.deliver_after is not None
    start, end = axis.x(notification.at), axis.x(notification.deliver_after)
    line = {"x1": _n(start), "y1": _n(y), "x2": _n(end), "y2": _n(y)}
    to = {"cx": _n(end), "cy": _n(y), "r": 5, "fill": "#ffffff", "stroke": "#495057"}
    shown = f"deferred to {axis.local(notification.deliver_after, '%H:%M')}"
    return "".join(
        (
            _el(
                "line",
                {"class": "deferral", **line, "stroke": "#495057", "stroke-dasharray": "4 3"},
            ),
            _el("circle", {"class": "deliver-after", **to}),
            _label(end + 8, y + 4, shown) if labelled else "",
        )
    )


def _notification_lines(notification: NotificationMark, axis: Axis) -> list[str]:
    status = notification.status
    if status == UNKNOWN_STATUS:
        status += ": the outbox holds it no more (or never held it)"
    deliver_after = notification.deliver_after
    return _known(
        f"{notification.kind} {notification.notification_id}",
        f"delivery: {status}",
        f"triggered {axis.when(notification.at)}",
        deliver_after and f"deferred by quiet hours: goes after {axis.when(deliver_after)}",
        notification.event_ids and f"events {', '.join(notification.event_ids)}",
    )


def draw_axis(timeline: Timeline, axis: Axis) -> Drawn:
    """The time line, its ticks in the zone's clock (the date where it changes), and the
    zone's name."""
    right = WIDTH - RIGHT
    parts = [_el("line", {"x1": LEFT, "y1": 4, "x2": right, "y2": 4, "stroke": "#495057"})]
    shown = ticks(axis)
    step = (shown[1] - shown[0]).total_seconds() if len(shown) > 1 else 60.0
    previous_day = ""
    for tick in shown:
        x, day = axis.x(tick), axis.local(tick, "%Y-%m-%d")
        parts.append(
            _el("line", {"x1": _n(x), "y1": 4, "x2": _n(x), "y2": 10, "stroke": "#495057"})
        )
        parts.append(_label(x, 22, axis.local(tick, _tick_form(step)), "middle"))
        if day != previous_day and step < DAY:
            parts.append(_label(x, 36, day, "middle"))
        previous_day = day
    zone = timeline.zone
    words = f"time in {zone.name} ({zone.source})"
    attrs = {
        "class": "axis-label zone",
        "data-zone": zone.name,
        "x": LEFT,
        "y": 52,
        "fill": "#212529",
    }
    parts.append(_el("text", attrs, _text(words)))
    return Drawn(parts, AXIS)


def _present(keys: Iterable[str], colours: Mapping[str, str]) -> list[tuple[str, str]]:
    """The keys found, in the colour table's order (any other last), with their colours."""
    found = set(keys)
    ordered = [key for key in colours if key in found] + sorted(found - set(colours))
    return [(key, colours.get(key, OTHER_COLOUR)) for key in ordered]


def legend_entries(timeline: Timeline) -> list[tuple[str, str, str]]:
    """(lane, key, colour) of each kind, ending, outcome and status the picture draws."""
    present = (
        ("event", _present((kind_of(e.event_type) for e in timeline.events), KIND_COLOURS)),
        ("session", _present((s.ending for s in timeline.sessions), ENDING_COLOURS)),
        ("window", _present((w.outcome for w in timeline.windows), OUTCOME_COLOURS)),
        ("notification", _present((n.status for n in timeline.notifications), STATUS_COLOURS)),
    )
    return [(lane, key, colour) for lane, entries in present for key, colour in entries]


def draw_legend(timeline: Timeline) -> Drawn:
    entries = legend_entries(timeline)
    per_row = (WIDTH - LEFT) // LEGEND_ITEM
    items = [
        _legend_item(entry, LEFT + (index % per_row) * LEGEND_ITEM, (index // per_row) * LEGEND_ROW)
        for index, entry in enumerate(entries)
    ]
    rows = math.ceil(len(entries) / per_row)
    name = _el("text", {"class": "lane-name", "x": 8, "y": 14, "fill": "#495057"}, "legend")
    return Drawn([name, *items] if entries else [], rows * LEGEND_ROW + 6)


def _legend_item(entry: tuple[str, str, str], x: float, y: float) -> str:
    lane, key, colour = entry
    if lane == "event":
        swatch = SHAPES[key](x + 6, y + 10, colour)
    else:
        swatch = _el(
            "rect", {"x": _n(x), "y": _n(y + 4), "width": 12, "height": 12, "fill": colour}
        )
    attrs = {"class": "legend-item", "data-lane": lane, "data-key": key}
    return _el("g", attrs, swatch, _label(x + 18, y + 14, f"{lane} {key}"))


def _left_out_note(left_out: Mapping[str, int], limit: int) -> Drawn:
    total = sum(left_out.values())
    if not total:
        return Drawn([], 0)
    counts = ", ".join(f"{count} {lane}" for lane, count in left_out.items() if count)
    words = f"Not drawn, older than those shown: {counts} (each lane draws its {limit} newest)."
    attrs = {"class": "left-out", "data-left-out": total, "x": LEFT, "y": 14, "fill": "#c92a2a"}
    return Drawn([_el("text", attrs, _text(words))], 22)


def draw_heading(timeline: Timeline, axis: Axis) -> Drawn:
    drawn = "" if timeline.drawn_at is None else f"; drawn {_server_time(timeline.drawn_at)}"
    span = f"{axis.when(axis.start)} to {axis.when(axis.end)}{drawn}"
    heading = {"class": "heading", "x": 8, "y": 24, "font-size": 16, "font-weight": "bold"}
    return Drawn(
        [
            _el("text", heading, _text(f"Timeline of {timeline.user_id}")),
            _el("text", {"class": "span", "x": 8, "y": 44, "fill": "#495057"}, _text(span)),
        ],
        TOP,
    )


#: The lanes, top to bottom: each one's class, its name, how it is drawn, whether shaded.
LANES: tuple[tuple[str, str, Callable[[Timeline, Axis], Drawn], bool], ...] = (
    ("events", "events", draw_events, False),
    ("sessions", "sessions", draw_sessions, True),
    ("windows", "reminder windows", draw_windows, False),
    ("notifications", "notifications", draw_notifications, True),
)


def newest_of_each(timeline: Timeline, limit: int) -> tuple[Timeline, dict[str, int]]:
    """The timeline with each lane's `limit` newest items, and how many each left out."""
    events, events_out = newest(timeline.events, lambda e: e.at, limit)
    sessions, sessions_out = newest(timeline.sessions, lambda s: s.started, limit)
    windows, windows_out = newest(timeline.windows, lambda w: w.opened, limit)
    notes, notes_out = newest(timeline.notifications, lambda n: n.at, limit)
    shown = replace(
        timeline,
        events=tuple(events),
        sessions=tuple(sessions),
        windows=tuple(windows),
        notifications=tuple(notes),
    )
    left_out = {
        "events": events_out,
        "sessions": sessions_out,
        "reminder windows": windows_out,
        "notifications": notes_out,
    }
    return shown, left_out


SVG_NAMESPACE = "http://www.w3.org/2000/svg"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


def svg(timeline: Timeline, *, limit: int = MAX_MARKS, standalone: bool = False) -> str:
    """The picture: an `<svg>` element to put in a page, or with `standalone` an SVG
    document of its own."""
    shown, left_out = newest_of_each(timeline, limit)
    axis = axis_of(shown)
    sections = [("heading", draw_heading(shown, axis))]
    for css, name, draw, shaded in LANES:
        lane = draw(shown, axis)
        head = _lane_head(name, lane.height, shaded=shaded)
        sections.append((f"lane {css}", Drawn([*head, *lane.parts], lane.height)))
    sections += [
        ("axis", draw_axis(shown, axis)),
        ("legend", draw_legend(shown)),
        ("notes", _left_out_note(left_out, limit)),
    ]
    groups, top = [], 0.0
    for css, drawn in sections:
        groups.append(
            _el("g", {"class": css, "transform": f"translate(0,{_n(top)})"}, *drawn.parts)
        )
        top += drawn.height
    return _document(shown, groups, top + 8, standalone)


def _document(timeline: Timeline, groups: list[str], height: float, standalone: bool) -> str:
    attrs = {
        "xmlns": SVG_NAMESPACE,
        "class": "timeline",
        "data-user-id": timeline.user_id,
        "width": WIDTH,
        "height": _n(height),
        "viewBox": f"0 0 {WIDTH} {_n(height)}",
        "font-family": FONT,
        "font-size": 12,
        "role": "img",
    }
    description = f"<desc>{_text(' '.join(timeline.coverage))}</desc>"
    background = _el("rect", {"width": "100%", "height": "100%", "fill": "#ffffff"})
    title = _title(f"Timeline of user {timeline.user_id}")
    drawing = _el("svg", attrs, title, description, background, *groups)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{drawing}\n' if standalone else drawing


@dataclass(frozen=True, slots=True)
class PageLinks:
    """Where the page links to: the user's state, their decision log, the SVG alone."""

    user: str
    decisions: str
    svg: str


PAGE_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#212529;max-width:1060px}"
    "svg{max-width:100%;height:auto}figure{margin:1rem 0}nav a{margin-right:1rem}"
)


def page(timeline: Timeline, links: PageLinks, *, limit: int = MAX_MARKS) -> str:
    """An HTML page (well-formed XML too) with the picture inline and what it covers."""
    heading = _text(f"Timeline of {timeline.user_id}")
    nav = "".join(
        _el("a", {"class": css, "href": href}, _text(words))
        for css, href, words in (
            ("user-link", links.user, "the user's state"),
            ("decisions-link", links.decisions, "the decision log"),
            ("svg-link", links.svg, "this picture as SVG"),
        )
    )
    coverage = "".join(f"<li>{_text(line)}</li>" for line in timeline.coverage)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"/>'
        f"<title>{heading}</title><style>{PAGE_STYLE}</style></head>"
        f'<body><main class="timeline-page"><h1>{heading}</h1><nav>{nav}</nav>'
        f"<figure>{svg(timeline, limit=limit)}"
        "<figcaption>Hover a mark for its times and ids.</figcaption></figure>"
        f'<h2>What the picture covers</h2><ul class="coverage">{coverage}</ul>'
        "</main></body></html>\n"
    )
