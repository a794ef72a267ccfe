"""Each user's timeline as a picture (`GET /v1/users/<id>/timeline`): the brief's sample at
a glance, in the page and as SVG alone, read back by parsing the SVG; in the user's zone;
linked from the user's page and each decision; refused without an operator's token."""

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from eventsproject import bootstrap
from tests.conftest import RecordingTransport
from tests.sample import BRIEF_SAMPLE
from tests.service import drain_reminders
from tests.wire import post, v2_event

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def pictures(client, user: str):
    """The user's timeline, as the page shows it and as `?format=svg` answers it."""
    page = client.get(f"/v1/users/{user}/timeline")
    alone = client.get(f"/v1/users/{user}/timeline", {"format": "svg"})
    assert (page.status_code, alone.status_code) == (200, 200)
    assert page["Content-Type"] == "text/html; charset=utf-8"
    assert alone["Content-Type"] == "image/svg+xml; charset=utf-8"
    html = ET.fromstring(page.content.decode().removeprefix("<!DOCTYPE html>\n"))
    inline = html.find(f".//{SVG}svg")
    standalone = ET.fromstring(alone.content)
    assert undated(inline) == undated(standalone)  # the same picture
    return [inline, standalone]


def undated(picture: ET.Element) -> bytes:
    """The picture without the time it was drawn, which two requests may see a second apart."""
    copy = ET.fromstring(ET.tostring(picture))
    for span in marks(copy, "span"):
        span.text = span.text.partition("; drawn")[0] if span.text else span.text
    return ET.tostring(copy)


def marks(picture: ET.Element, css: str) -> list[ET.Element]:
    wanted = set(css.split())
    return [each for each in picture.iter() if wanted <= set(each.get("class", "").split())]


def title(mark: ET.Element):
    return mark.find(f"{SVG}title").text


def texts(mark: ET.Element):
    return [text.text for text in mark.iter(f"{SVG}text")]


@pytest.fixture
def brief_sample(client, delivered) -> None:
    for event in BRIEF_SAMPLE:
        assert post(client, "/v1/event", event).status_code == 202
    assert len(delivered()) == 2


@pytest.mark.both_stores
@pytest.mark.usefixtures("brief_sample")
def test_foo2_s_launch_its_window_and_the_reminder_sent_are_there_at_a_glance(client):
    for picture in pictures(client, "foo2"):
        [launch] = marks(picture, "event launch")
        assert launch.get("data-at") == "2021-02-28T16:22:52Z"
        assert "16:22:52" in texts(launch)
        [window] = marks(picture, "window sent")
        assert window.get("data-outcome") == "sent"
        assert window.get("data-launch-event-id") == launch.get("data-event-id")
        assert (window.get("data-opened"), window.get("data-closes")) == (
            "2021-02-28T16:22:52Z",
            "2021-02-28T16:32:52Z",
        )
        assert "deadline 2021-02-28 16:32:52 UTC" in title(window)
        assert "sent: 16:22:52 to 16:32:52" in texts(picture)
        [reminder] = marks(picture, "notification sent")
        assert reminder.get("data-kind") == "start_training_reminder"
        assert reminder.get("data-at") == "2021-02-28T16:32:52Z"
        assert reminder.get("data-notification-id") == window.get("data-notification-id")
        [zone] = marks(picture, "zone")
        assert zone.get("data-zone") == "UTC"


@pytest.mark.both_stores
@pytest.mark.usefixtures("brief_sample")
def test_foo1_s_36_minute_session_and_its_congratulation_are_there_at_a_glance(client):
    for picture in pictures(client, "foo1"):
        [session] = marks(picture, "session finished congratulated")
        assert session.get("data-minutes") == "36"
        assert "36 min" in texts(session)
        [start] = marks(picture, "event start")
        [finish] = marks(picture, "event finish")
        assert session.get("data-start-event-id") == start.get("data-event-id")
        assert session.get("data-end-event-id") == finish.get("data-event-id")
        [congratulation] = marks(picture, "notification sent")
        assert congratulation.get("data-kind") == "training_dose_congratulation"
        assert congratulation.get("data-at") == "2021-02-28T16:59:43Z"
        assert marks(picture, "window") == []  # foo1 never launched the app


@pytest.mark.usefixtures("brief_sample")
def test_foo2_s_cancelled_session_is_known_from_the_recent_events(client):
    picture = pictures(client, "foo2")[0]

    [session] = marks(picture, "session cancelled")
    [cancel] = marks(picture, "event cancel")
    assert session.get("data-minutes") == "2"
    assert session.get("data-end-event-id") == cancel.get("data-event-id")


def test_the_picture_is_drawn_in_the_zone_the_user_s_events_state(client):
    zone = {"user_id": "parisian", "timezone": "Europe/Paris"}
    post(
        client,
        "/v1/event",
        v2_event(**zone, type="app_launched", occurred_at="2021-02-28T16:22:52Z"),
    )

    picture = pictures(client, "parisian")[1]

    [zone_label] = marks(picture, "zone")
    assert zone_label.get("data-zone") == "Europe/Paris"
    assert "the user's zone" in zone_label.text
    [launch] = marks(picture, "event launch")
    assert "17:22:52" in texts(launch)  # Paris is an hour ahead in February
    [pending] = marks(picture, "window pending")
    assert pending.get("data-closes") == "2021-02-28T16:32:52Z"


TOKYO_NIGHTS = (
    '[timezone]\ndefault = "Asia/Tokyo"\n'
    "[rules.start_training_reminder]\n"
    'quiet_hours = { from = "22:00", to = "08:00", action = "skip" }\n'
    "[rules.training_dose_congratulation]\n"
    'quiet_hours = { from = "23:00", to = "07:00", action = "defer" }\n'
)


@pytest.fixture
def under_tokyo_nights(tmp_path) -> Iterator[None]:
    """The brief's sample under quiet hours in Tokyo, its users' default zone."""
    path: Path = tmp_path / "rules.toml"
    path.write_text(TOKYO_NIGHTS)
    parts = bootstrap.build(transport=RecordingTransport(), rules=bootstrap.proposed_rules(path))
    with bootstrap.installed(parts):
        parts.dispatcher.start()
        for event in BRIEF_SAMPLE:
            post(APIClient(), "/v1/event", event)
        drain_reminders()
        assert parts.dispatcher.flush(timeout=5)
        yield
        parts.dispatcher.close(timeout=0)


@pytest.mark.usefixtures("under_tokyo_nights")
def test_quiet_hours_show_a_skipped_window_and_a_deferred_notification(client):
    foo1, foo2 = pictures(client, "foo1")[1], pictures(client, "foo2")[1]

    [zone] = marks(foo2, "zone")
    assert zone.get("data-zone") == "Asia/Tokyo"
    assert "default zone" in zone.text
    [skipped] = marks(foo2, "window quiet_hours")
    assert skipped.get("data-notification-id") is None
    assert marks(foo2, "notification") == []
    [deferred] = marks(foo1, "notification deferred")
    assert deferred.get("data-deliver-after") == "2021-02-28T22:00:00Z"  # 07:00 in Tokyo
    assert deferred.get("data-status") == "sent"  # a replay of 2021: that moment has passed
    assert "goes after 2021-03-01 07:00:00 Asia/Tokyo" in title(deferred)


def test_the_user_s_page_and_each_decision_link_to_the_timeline(client):
    post(client, "/v1/event", BRIEF_SAMPLE[0])
    post(client, "/v1/event", BRIEF_SAMPLE[2])

    state = client.get("/v1/users/foo2").json()
    [decision] = client.get("/v1/users/foo2/decisions").json()["results"]

    assert state["timeline"] == "http://testserver/v1/users/foo2/timeline"
    assert decision["timeline"] == state["timeline"]
    assert client.get(state["timeline"]).status_code == 200


def test_the_link_of_a_user_with_odd_characters_leads_to_their_timeline(client):
    user = "a b&c'<\u00e9>?#"
    post(client, "/v1/event", {**BRIEF_SAMPLE[0], "user_id": user})

    state = client.get(f"/v1/users/{quote(user, safe='')}").json()

    answer = client.get(state["timeline"], {"format": "svg"})
    assert answer.status_code == 200
    assert ET.fromstring(answer.content).get("data-user-id") == user


def test_an_unknown_user_is_a_404_that_says_why(client):
    answer = client.get("/v1/users/nobody/timeline")

    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"
    assert "No history of user 'nobody' is kept" in answer.json()["detail"]


def test_an_unknown_format_is_a_400_that_names_those_there_are(client):
    post(client, "/v1/event", BRIEF_SAMPLE[0])

    answer = client.get("/v1/users/foo2/timeline", {"format": "png"})

    assert answer.status_code == 400
    assert answer.json() == {"format": ["Choose one of html, svg."]}


def test_a_client_that_takes_only_json_is_a_406(client):
    post(client, "/v1/event", BRIEF_SAMPLE[0])

    answer = client.get("/v1/users/foo2/timeline", HTTP_ACCEPT="application/json")

    assert answer.status_code == 406
    assert "detail" in answer.json()


@pytest.mark.usefixtures("production_access")
class TestInProduction:
    def test_without_a_token_a_browser_is_sent_to_log_in_and_back(self, client):
        answer = client.get("/v1/users/foo2/timeline", HTTP_ACCEPT="text/html")

        assert answer.status_code == 302
        assert answer["Location"] == "/login?next=%2Fv1%2Fusers%2Ffoo2%2Ftimeline"

    def test_without_a_token_a_support_tool_fetching_the_svg_gets_a_401(self, client):
        answer = client.get("/v1/users/foo2/timeline?format=svg", HTTP_ACCEPT="image/svg+xml")

        assert answer.status_code == 401
        assert answer["WWW-Authenticate"] == 'Bearer realm="events"'
        assert answer["Content-Type"] == "application/json"

    def test_an_app_s_token_is_a_403_that_names_the_operators_setting(self, client):
        answer = client.get(
            "/v1/users/foo2/timeline", {"format": "svg"}, HTTP_AUTHORIZATION="Bearer app-token"
        )

        assert answer.status_code == 403
        assert "EVENTS_ADMIN_TOKENS" in answer.json()["detail"]

    def test_an_operator_s_token_sees_it(self, client):
        post(client, "/v1/event", BRIEF_SAMPLE[0], HTTP_AUTHORIZATION="Bearer app-token")

        answer = client.get("/v1/users/foo2/timeline", HTTP_AUTHORIZATION="Bearer admin-token")

        assert answer.status_code == 200
        assert b'class="event launch"' in answer.content


def test_the_schema_documents_the_picture_and_the_links_to_it(client):
    document = client.get("/v1/schema", HTTP_ACCEPT="application/json").json()

    timeline = document["paths"]["/v1/users/{user_id}/timeline"]["get"]
    assert set(timeline["responses"]["200"]["content"]) == {"text/html", "image/svg+xml"}
    assert set(timeline["responses"]["404"]["content"]) == {"application/json"}
    [format_parameter] = [p for p in timeline["parameters"] if p["name"] == "format"]
    assert format_parameter["schema"]["enum"] == ["html", "svg"]
    for name in ("UserState", "DecisionRecord"):
        link = document["components"]["schemas"][name]["properties"]["timeline"]
        assert (link["type"], link["format"]) == ("string", "uri")


@pytest.mark.usefixtures("brief_sample")
@pytest.mark.parametrize("query", ["", "?format=svg"])
def test_the_picture_may_run_no_script_and_load_nothing(client, query):
    answer = client.get(f"/v1/users/foo2/timeline{query}")

    policy = answer["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    assert answer["X-Content-Type-Options"] == "nosniff"
