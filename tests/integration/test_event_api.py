"""`POST /v1/event` and the browsable views, through Django's test client."""

import json

import pytest
from rest_framework.test import APIClient

from notifications.domain.notification import NotificationKind
from tests.sample import BRIEF_SAMPLE

pytestmark = pytest.mark.both_stores


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def post_event(client, body, **kwargs):
    return client.post("/v1/event", json.dumps(body), content_type="application/json", **kwargs)


def test_an_accepted_event_is_answered_202_with_the_normalised_event(client):
    response = post_event(client, BRIEF_SAMPLE[1])

    assert response.status_code == 202
    assert response.json()["status"] == "accepted"
    assert response.json()["event"] == {
        "event_id": response.json()["event"]["event_id"],
        "type": "training_program_started",
        "user_id": "foo1",
        "device_id": "bar1",
        "occurred_at": "2021-02-28T16:23:25Z",
        "sent_at": None,
        "received_at": response.json()["event"]["received_at"],
        "effective_at": "2021-02-28T16:23:25Z",
        "training_program_id": "2352",
        "training_program_title": "7 Minutes of HIIT Training",
    }


def test_an_unknown_type_is_answered_202_ignored_with_the_reason(client):
    response = post_event(client, {**BRIEF_SAMPLE[0], "type": "profile_viewed"})

    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    assert "profile_viewed" in response.json()["reason"]


def test_the_brief_sample_sends_exactly_two_notifications(client, delivered):
    for event in BRIEF_SAMPLE:
        assert post_event(client, event).status_code == 202
    post_event(client, {**BRIEF_SAMPLE[0], "user_id": "later", "time_stamp": "2021-02-28 17:30:00"})

    sent = sorted((n.kind, n.user_id, n.device_id, n.minutes) for n in delivered())
    assert sent == [  # sorted: with several shards, users' deliveries come in any order
        (NotificationKind.START_TRAINING_REMINDER, "foo2", "bar2", None),
        (NotificationKind.TRAINING_DOSE_CONGRATULATION, "foo1", "bar1", 36),
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        pytest.param('{"type": "app_launch"}', "application/json", 400, "user_id", id="missing"),
        pytest.param("[]", "application/json", 400, "non_field_errors", id="array body"),
        pytest.param("null", "application/json", 400, "non_field_errors", id="null body"),
        pytest.param('"text"', "application/json", 400, "non_field_errors", id="string body"),
        pytest.param("{not json", "application/json", 400, "detail", id="not json"),
        pytest.param("", "application/json", 400, "user_id", id="empty body"),
        pytest.param("a=b", "application/x-www-form-urlencoded", 415, "detail", id="form body"),
        pytest.param("<xml/>", "text/xml", 415, "detail", id="xml body"),
    ],
)
def test_bad_bodies_get_a_4xx_naming_the_problem(client, body, content_type, status, field):
    response = client.post("/v1/event", body, content_type=content_type)

    assert response.status_code == status
    assert field in response.json()


def test_the_service_keeps_answering_after_bad_input(client):
    client.post("/v1/event", "{broken", content_type="application/json")

    assert post_event(client, BRIEF_SAMPLE[0]).status_code == 202


def test_get_event_shows_an_example_and_the_browsable_form(client):
    assert "example" in client.get("/v1/event").json()

    page = client.get("/v1/event", HTTP_ACCEPT="text/html")

    assert page.status_code == 200
    assert b"<form" in page.content


def test_recent_events_are_listed_newest_first(client):
    for event in BRIEF_SAMPLE:
        post_event(client, event)

    listed = client.get("/v1/events").json()["results"]

    assert [e["occurred_at"] for e in listed][:2] == [
        "2021-02-28T16:59:43Z",
        "2021-02-28T16:54:21Z",
    ]


def test_notifications_are_listed_with_their_delivery_status(client, delivered):
    for event in BRIEF_SAMPLE:
        post_event(client, event)
    delivered()

    newest, oldest = client.get("/v1/notifications").json()["results"]

    assert (newest["kind"], newest["minutes"]) == ("training_dose_congratulation", 36)
    assert (oldest["kind"], oldest["user_id"]) == ("start_training_reminder", "foo2")
    assert (newest["status"], newest["attempts"], newest["last_error"]) == ("sent", 1, "")


@pytest.mark.parametrize("path", ["/v1/events", "/v1/notifications"])
def test_lists_render_in_the_browser(client, path):
    assert client.get(path, HTTP_ACCEPT="text/html").status_code == 200
