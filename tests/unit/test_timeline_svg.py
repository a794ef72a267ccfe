"""The timeline picture, drawn from its view model: what each mark says, its hooks, the
zone, escaping and the cap on marks (events/wire/timeline_svg.py)."""

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from events.domain.decisions import Verdict
from events.domain.events import EVENT_TYPES
from events.wire import timeline_svg
from events.wire.timeline import (
    PENDING,
    UNKNOWN_STATUS,
    EventMark,
    NotificationMark,
    ReminderWindow,
    SessionBar,
    Timeline,
    ZoneLabel,
)
from notifications.ports import DeliveryStatus

SVG = "{http://www.w3.org/2000/svg}"
LAUNCH = datetime(2021, 2, 28, 16, 22, 52, tzinfo=UTC)
UTC_ZONE = ZoneLabel("UTC", UTC, "the rules' default zone")


def launch(event_id: str = "launch-1", at: datetime = LAUNCH) -> EventMark:
    return EventMark(event_id, "app_launched", at, "bar2", at)


def timeline(**parts) -> Timeline:
    return Timeline("foo2", parts.pop("zone", UTC_ZONE), **parts)


def window(outcome: str, **changes) -> ReminderWindow:
    shown = ReminderWindow("launch-1", LAUNCH, LAUNCH + timedelta(minutes=10), outcome)
    return replace(shown, **changes)


def drawn(picture: Timeline, **options) -> ET.Element:
    return ET.fromstring(timeline_svg.svg(picture, **options))


def find(root: ET.Element, css: str) -> list[ET.Element]:
    """Elements whose class list holds every class of `css` ("window sent")."""
    wanted = set(css.split())
    return [each for each in root.iter() if wanted <= set(each.get("class", "").split())]


def title_of(element: ET.Element):
    return element.find(f"{SVG}title").text


@pytest.mark.parametrize("outcome", [*(str(verdict) for verdict in Verdict), PENDING])
def test_each_outcome_draws_its_window_in_its_own_colour_with_a_legend_entry(outcome):
    root = drawn(timeline(windows=(window(outcome),)))

    [rect] = find(root, f"window {outcome}")
    assert rect.tag == f"{SVG}rect"
    assert rect.get("data-outcome") == outcome
    assert rect.get("fill") == timeline_svg.OUTCOME_COLOURS[outcome]
    assert rect.get("data-opened") == "2021-02-28T16:22:52Z"
    assert rect.get("data-closes") == "2021-02-28T16:32:52Z"
    assert f"reminder window: {outcome}" in title_of(rect)
    [legend] = [item for item in find(root, "legend-item") if item.get("data-lane") == "window"]
    assert legend.get("data-key") == outcome


def test_every_outcome_has_a_colour_of_its_own():
    colours = [timeline_svg.OUTCOME_COLOURS[str(verdict)] for verdict in Verdict]

    assert len(set(colours)) == len(colours)
    assert timeline_svg.OUTCOME_COLOURS[PENDING] not in colours


def test_every_declared_event_type_has_a_mark_of_its_own():
    kinds = {declared.name: timeline_svg.kind_of(declared.name) for declared in EVENT_TYPES}

    assert set(kinds) == set(timeline_svg.EVENT_KINDS)
    assert len(set(kinds.values())) == len(kinds)
    assert timeline_svg.kind_of("unknown") == timeline_svg.OTHER_KIND


def test_a_capped_and_a_quiet_hours_window_say_so_and_send_nothing():
    windows = (
        window(Verdict.CAPPED, launch_id="a"),
        window(Verdict.QUIET_HOURS, launch_id="b", opened=LAUNCH + timedelta(hours=1)),
    )

    root = drawn(timeline(windows=windows))

    [capped] = find(root, "window capped")
    [quiet] = find(root, "window quiet_hours")
    assert capped.get("data-launch-event-id") == "a"
    assert quiet.get("data-launch-event-id") == "b"
    assert capped.get("data-notification-id") is None
    assert find(root, "notification") == []


def test_the_axis_is_labelled_with_an_iana_zone_and_its_ticks_show_its_clock():
    paris = ZoneLabel("Europe/Paris", ZoneInfo("Europe/Paris"), "the user's zone")

    root = drawn(timeline(zone=paris, events=(launch(),)))

    [zone] = find(root, "zone")
    assert zone.get("data-zone") == "Europe/Paris"
    assert "Europe/Paris" in zone.text
    [mark] = find(root, "event launch")
    assert mark.get("data-at") == "2021-02-28T16:22:52Z"  # the hooks are UTC
    assert "17:22:52 Europe/Paris" in title_of(mark)  # what a person reads is local
    assert [label.text for label in mark.iter(f"{SVG}text")] == ["17:22:52"]


def test_the_axis_is_labelled_utc_when_that_is_the_zone():
    root = drawn(timeline(events=(launch(),)))

    [zone] = find(root, "zone")
    assert zone.get("data-zone") == "UTC"
    assert "16:22:52 UTC" in title_of(find(root, "event launch")[0])


def test_the_ticks_fall_on_round_minutes_of_the_zone_s_clock():
    kolkata = ZoneLabel("Asia/Kolkata", ZoneInfo("Asia/Kolkata"), "the user's zone")
    picture = timeline(zone=kolkata, events=(launch(), launch("b", LAUNCH + timedelta(hours=1))))

    ticks = timeline_svg.ticks(timeline_svg.axis_of(picture))

    local = [tick.astimezone(ZoneInfo("Asia/Kolkata")) for tick in ticks]
    assert 2 <= len(ticks) <= timeline_svg.MAX_TICKS + 1
    assert all(moment.minute % 10 == 0 and moment.second == 0 for moment in local)


def test_a_session_bar_says_its_minutes_and_its_outcome():
    started = LAUNCH + timedelta(minutes=1)
    session = SessionBar(
        "2352", started, "s1", "finished", started + timedelta(minutes=36, seconds=18), "f1"
    )

    root = drawn(timeline(sessions=(replace(session, outcome="congratulated"),)))

    [bar] = find(root, "session finished congratulated")
    assert bar.get("data-minutes") == "36"
    assert (bar.get("data-start-event-id"), bar.get("data-end-event-id")) == ("s1", "f1")
    assert "36 min" in [text.text for text in bar.iter(f"{SVG}text")]
    assert "36 minutes trained" in title_of(bar)


def test_an_open_session_has_no_minutes_yet():
    session = SessionBar("2352", LAUNCH, "s1", "open")

    [bar] = find(drawn(timeline(sessions=(session,), events=(launch(),))), "session open")

    assert bar.get("data-minutes") is None


@pytest.mark.parametrize("status", [*(str(status) for status in DeliveryStatus), UNKNOWN_STATUS])
def test_a_notification_shows_its_delivery_status(status):
    sent = NotificationMark("n1", "start_training_reminder", LAUNCH, status)

    root = drawn(timeline(notifications=(sent,)))

    [mark] = find(root, f"notification {status}")
    assert mark.get("data-notification-id") == "n1"
    assert mark.get("data-status") == status
    assert f"delivery: {status}" in title_of(mark)
    assert find(mark, "deferral") == []


def test_a_deferred_notification_shows_when_it_may_go():
    morning = LAUNCH + timedelta(hours=14)
    deferred = NotificationMark(
        "n1", "training_dose_congratulation", LAUNCH, "pending", deliver_after=morning
    )

    root = drawn(timeline(notifications=(deferred,)))

    [mark] = find(root, "notification pending deferred")
    assert mark.get("data-deliver-after") == "2021-03-01T06:22:52Z"
    [line] = find(mark, "deferral")
    assert float(line.get("x2")) > float(line.get("x1"))
    assert "goes after 2021-03-01 06:22:52 UTC" in title_of(mark)
    assert "deferred to 06:22" in [text.text for text in mark.iter(f"{SVG}text")]


HOSTILE = '"><script>alert(1)</script>&amp;\u202e\'<g class="event launch">\x00\ud800'


def test_hostile_ids_are_text_and_show_their_hidden_characters():
    event = replace(launch(HOSTILE), device_id=HOSTILE)
    notification = NotificationMark(HOSTILE, HOSTILE, LAUNCH, "sent", event_ids=(HOSTILE,))
    picture = Timeline(
        HOSTILE,
        UTC_ZONE,
        events=(event,),
        windows=(window("sent", launch_id=HOSTILE),),
        notifications=(notification,),
        coverage=(HOSTILE,),
    )

    for text in (timeline_svg.svg(picture, standalone=True), _page(picture)):
        text.encode()  # no lone surrogate left
        root = ET.fromstring(text.removeprefix("<!DOCTYPE html>\n"))
        assert [each for each in root.iter() if each.tag.endswith("script")] == []
        assert len(find(root, "event launch")) == 1
        shown = '"><script>alert(1)</script>&amp;\\u{202e}\'<g class="event launch">'
        [mark] = find(root, "event launch")
        assert mark.get("data-event-id") == shown + "\\u{0000}\\u{d800}"
        assert find(root, "timeline")[0].get("data-user-id") == mark.get("data-event-id")
        assert "\u202e" not in text


def _page(picture: Timeline) -> str:
    links = timeline_svg.PageLinks('/u?a="b"', "/d", "/s")
    return timeline_svg.page(picture, links)


def test_each_lane_draws_its_newest_marks_only_and_says_how_many_it_left_out():
    events = tuple(launch(f"e{n}", LAUNCH + timedelta(minutes=n)) for n in range(250))
    notes = tuple(
        NotificationMark(f"n{n}", "start_training_reminder", LAUNCH + timedelta(minutes=n), "sent")
        for n in range(3)
    )

    root = drawn(timeline(events=events, notifications=notes), limit=100)

    marks = find(root, "event launch")
    assert len(marks) == 100
    assert marks[0].get("data-event-id") == "e150"  # the newest hundred
    assert len(find(root, "notification sent")) == 3
    [note] = find(root, "left-out")
    assert note.get("data-left-out") == "150"
    assert "150 events" in note.text


def test_nothing_is_said_left_out_when_everything_is_drawn():
    assert find(drawn(timeline(events=(launch(),))), "left-out") == []


def test_the_standalone_picture_is_an_svg_document_and_the_page_holds_it_inline():
    picture = timeline(events=(launch(),), coverage=("Decisions: the latest 100.",))

    document = timeline_svg.svg(picture, standalone=True)
    page = ET.fromstring(_page(picture).removeprefix("<!DOCTYPE html>\n"))

    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert ET.fromstring(document).tag == f"{SVG}svg"
    assert page.find(f".//{SVG}svg").get("class") == "timeline"
    assert page.find(".//ul").findtext("li") == "Decisions: the latest 100."
    assert page.find(".//a[@class='user-link']").get("href") == '/u?a="b"'
    assert "script" not in _page(picture)


def test_an_empty_timeline_still_draws_an_axis():
    root = drawn(timeline(drawn_at=LAUNCH))

    assert find(root, "zone")[0].get("data-zone") == "UTC"
    assert find(root, "event") == []


def test_overlapping_windows_are_drawn_in_rows_of_their_own():
    merged = window("merged", launch_id="l2", opened=LAUNCH + timedelta(minutes=3))
    later = window("cancelled", launch_id="l3", opened=LAUNCH + timedelta(minutes=20))

    root = drawn(timeline(windows=(window("sent"), merged, later)))

    [sent], [joined], [cancelled] = (
        find(root, f"window {o}") for o in ("sent", "merged", "cancelled")
    )
    assert sent.get("y") != joined.get("y")
    assert sent.get("y") == cancelled.get("y")  # no overlap: the first row again
