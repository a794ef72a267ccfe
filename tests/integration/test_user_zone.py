"""The user's zone as each wire format states it (docs/events.md, "The user's zone"): an IANA
name the event carries, and the UTC offset its time was written with; shown back, kept by
both stores, and a 400 naming the field when the name is no zone."""

import pytest
from rest_framework.test import APIClient

from tests.sample import BRIEF_SAMPLE
from tests.wire import post, v2_event

pytestmark = pytest.mark.both_stores

STARTED_IN_BERLIN = "2021-02-28T17:23:25+01:00"
FINISHED_IN_BERLIN = "2021-02-28T17:59:43+01:00"


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def listed(client, user: str) -> list[dict]:
    """The user's events as GET /v1/events shows them, oldest first."""
    return client.get("/v1/events", {"user_id": user}).json()["results"][::-1]


# --- v2 -------------------------------------------------------------------------------


def test_a_v2_event_states_the_user_s_zone_and_its_time_s_offset(client):
    event = v2_event(user_id="berliner", timezone="Europe/Berlin", occurred_at=STARTED_IN_BERLIN)

    answer = post(client, "/v1/event", event)

    assert answer.status_code == 202
    shown = answer.json()["event"]
    assert (shown["timezone"], shown["utc_offset"]) == ("Europe/Berlin", "+01:00")
    assert shown["occurred_at"] == "2021-02-28T16:23:25Z"  # the time itself, in UTC as ever
    [stored] = listed(client, "berliner")
    assert (stored["timezone"], stored["utc_offset"]) == ("Europe/Berlin", "+01:00")


def test_a_v2_batch_states_each_event_s_own_zone(client):
    events = [
        v2_event(
            user_id="traveller", timezone="Asia/Tokyo", occurred_at="2021-03-01T01:23:25+09:00"
        ),
        v2_event(user_id="traveller", occurred_at="2021-02-28T12:53:25-03:30", type="app_launched"),
        v2_event(user_id="traveller", occurred_at="2021-02-28T16:55:25Z", type="profile_viewed"),
    ]

    answer = post(client, "/v1/events", {"sent_at": "2021-02-28T16:56:00Z", "events": events})

    shown = [result["event"] for result in answer.json()["results"]]
    assert [event.get("timezone") for event in shown] == ["Asia/Tokyo", None, None]
    assert [event["utc_offset"] for event in shown] == ["+09:00", "-03:30", "+00:00"]
    assert [event.get("timezone") for event in listed(client, "traveller")] == [
        "Asia/Tokyo",
        None,
        None,
    ]


def test_the_decision_log_shows_the_zone_of_the_events_that_led_to_it(client):
    zone = {"user_id": "logged", "timezone": "Europe/Berlin"}
    post(client, "/v1/event", v2_event(**zone, occurred_at=STARTED_IN_BERLIN))
    post(
        client,
        "/v1/event",
        v2_event(**zone, occurred_at=FINISHED_IN_BERLIN, type="training_program_finished"),
    )

    [congratulated] = client.get("/v1/users/logged/decisions").json()["results"]

    assert congratulated["outcome"] == "congratulated"
    assert [(event["timezone"], event["utc_offset"]) for event in congratulated["events"]] == [
        ("Europe/Berlin", "+01:00"),
        ("Europe/Berlin", "+01:00"),
    ]


def test_a_brief_format_event_states_no_zone(client):
    answer = post(client, "/v1/event", {**BRIEF_SAMPLE[1], "timezone": "Europe/Berlin"})

    assert answer.status_code == 202
    assert {"timezone", "utc_offset"}.isdisjoint(answer.json()["event"])


@pytest.mark.parametrize(
    "name", ["Mars/Olympus", "../../../../etc/passwd", "/etc/passwd", "Europe/Berlin\u0000"]
)
def test_a_v2_event_with_no_iana_zone_is_a_400_naming_timezone(client, name):
    answer = post(client, "/v1/event", v2_event(timezone=name))

    assert answer.status_code == 400
    assert list(answer.json()) == ["timezone"]


def test_an_unknown_zone_s_400_says_which_name_is_unknown(client):
    answer = post(client, "/v1/event", v2_event(timezone="Mars/Olympus"))

    assert answer.json() == {"timezone": ["unknown time zone 'Mars/Olympus'"]}


def test_in_a_v2_batch_an_unknown_zone_rejects_only_its_event(client):
    events = [v2_event(timezone="Mars/Olympus"), v2_event(timezone="UTC")]

    answer = post(client, "/v1/events", events)

    rejected, accepted = answer.json()["results"]
    assert rejected == {
        "status": "rejected",
        "errors": {"timezone": ["unknown time zone 'Mars/Olympus'"]},
    }
    assert accepted["event"]["timezone"] == "UTC"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"timezone": "Europe/Paris"}, id="another zone"),
        pytest.param({"timezone": ...}, id="no zone"),
        pytest.param({"occurred_at": "2021-02-28T16:23:25Z"}, id="the same instant in UTC"),
    ],
)
def test_a_retry_that_states_another_zone_is_the_same_event(client, change):
    event = v2_event(timezone="Europe/Berlin", occurred_at=STARTED_IN_BERLIN)
    post(client, "/v1/event", event)
    retry = {key: value for key, value in {**event, **change}.items() if value is not ...}

    retried = post(client, "/v1/event", retry)

    assert (retried.status_code, retried.json()["status"]) == (200, "duplicate")
