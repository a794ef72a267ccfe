"""The time model through the API: sent_at, the server's receive time, and the decision log."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from events.service.ingestion import ingest
from eventsproject import bootstrap
from tests.sample import BRIEF_SAMPLE
from tests.service import drain_reminders
from tests.wire import post, v2_event

pytestmark = pytest.mark.both_stores


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def launch(**overrides):
    return v2_event(type="app_launched", training_program=None, **overrides)


def test_an_event_with_sent_at_is_judged_by_the_corrected_time_and_shows_all_three(
    client, server_time
):
    # The phone's clock is 3 hours fast; the event waited 2 minutes in its queue.
    phone_now = server_time + timedelta(hours=3)
    occurred = phone_now - timedelta(minutes=2)
    event = launch(occurred_at=iso(occurred), sent_at=iso(phone_now))

    response = post(client, "/v1/event", event)

    assert response.status_code == 202, response.json()
    shown = response.json()["event"]
    assert shown["occurred_at"] == iso(occurred)
    assert shown["sent_at"] == iso(phone_now)
    assert shown["received_at"] == iso(server_time)
    assert shown["effective_at"] == iso(server_time - timedelta(minutes=2))


def test_without_sent_at_a_time_hours_ahead_cannot_be_corrected_and_is_refused(client, server_time):
    event = launch(occurred_at=iso(server_time + timedelta(hours=3)))

    response = post(client, "/v1/event", event)

    assert response.status_code == 400
    assert "ahead of the server's clock" in response.json()["occurred_at"][0]


@pytest.mark.parametrize(
    ("sent_after", "message"),
    [
        pytest.param(timedelta(seconds=-1), "Must not be before occurred_at", id="before"),
        pytest.param(timedelta(days=30, seconds=1), "More than 30 days", id="a month later"),
    ],
)
def test_a_sent_at_that_cannot_be_true_is_refused_with_the_reason(
    client, server_time, sent_after, message
):
    occurred = server_time - timedelta(days=40)
    event = launch(occurred_at=iso(occurred), sent_at=iso(occurred + sent_after))

    response = post(client, "/v1/event", event)

    assert response.status_code == 400
    assert message in response.json()["sent_at"][0]


def test_even_with_sent_at_a_time_more_than_a_year_ahead_is_refused(client, server_time):
    far = iso(server_time + timedelta(days=367))
    event = launch(occurred_at=far, sent_at=far)

    response = post(client, "/v1/event", event)

    assert response.status_code == 400
    assert "More than 366 days ahead" in response.json()["occurred_at"][0]


def test_a_replay_of_events_from_far_ahead_rejects_them_instead_of_crashing(server_time):
    far = iso(server_time + timedelta(days=3000))

    ingested = ingest(bootstrap.components().processor, launch(occurred_at=far, sent_at=far))

    assert ingested.status == "rejected"


def test_a_malformed_sent_at_is_told_the_one_format_it_may_take(client):
    response = post(client, "/v1/event", launch(sent_at="yesterday"))

    [message] = response.json()["sent_at"]
    assert "RFC 3339 (2021-02-28T16:22:52Z)" in message
    assert "YYYY-MM-DD HH:MM:SS" not in message  # the legacy format, which has no offset


def test_sent_at_needs_an_offset_like_occurred_at(client):
    response = post(client, "/v1/event", launch(sent_at="2021-02-28T16:30:00"))

    assert response.status_code == 400
    assert "offset" in response.json()["sent_at"][0]


def test_a_batchs_sent_at_stands_in_for_the_events_without_their_own(client, server_time):
    sent = server_time + timedelta(hours=2)  # the phone's clock, 2 hours fast
    body = {
        "sent_at": iso(sent),
        "events": [
            launch(user_id="a", occurred_at=iso(sent - timedelta(minutes=1))),
            launch(
                user_id="b",
                occurred_at=iso(sent - timedelta(minutes=4)),
                sent_at=iso(sent - timedelta(minutes=3)),
            ),
        ],
    }

    response = post(client, "/v1/events", body)

    assert response.status_code == 200
    first, second = (result["event"] for result in response.json()["results"])
    assert first["effective_at"] == iso(server_time - timedelta(minutes=1))
    assert second["effective_at"] == iso(server_time - timedelta(minutes=1))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"sent_at": "yesterday", "events": []}, "sent_at", id="a bad sent_at"),
        pytest.param({"sent_at": "2021-02-28T16:30:00Z"}, "non_field_errors", id="no events"),
        pytest.param({"events": {"a": 1}}, "events", id="events not an array"),
    ],
)
def test_a_malformed_batch_object_is_a_400_naming_the_field(client, body, field):
    response = post(client, "/v1/events", body)

    assert response.status_code == 400
    assert field in response.json()


def test_a_launch_that_waited_on_the_phone_longer_than_the_delay_arms_no_reminder(
    client, server_time
):
    occurred = server_time - timedelta(hours=2)
    post(client, "/v1/event", launch(occurred_at=iso(occurred), sent_at=iso(server_time)))

    assert client.get("/v1/users/foo1").json()["pending_reminder"] is None
    [decision] = client.get("/v1/users/foo1/decisions").json()["results"]
    assert decision["outcome"] == "skipped_stale"
    assert decision["figures"] == {"waited_seconds": 7200}


def test_the_decision_log_explains_a_sent_reminder_with_every_time_involved(client, server_time):
    post(client, "/v1/event", BRIEF_SAMPLE[0])  # foo2 launches at 16:22:52
    post(client, "/v1/event", BRIEF_SAMPLE[2])  # foo2 starts at 16:52:00: too late

    page = client.get("/v1/users/foo2/decisions").json()

    assert (page["count"], page["next"], page["previous"]) == (1, None, None)
    [sent] = page["results"]
    assert sent["outcome"] == "sent"
    assert sent["trigger"] == "own_event"
    assert sent["rule"] == "remind_to_start"
    assert sent["deadline"] == "2021-02-28T16:32:52Z"
    assert sent["due_at"] == iso(server_time + timedelta(minutes=10, seconds=30))
    assert sent["decided_at"] == iso(server_time)
    launch_shown, start_shown = sent["events"]
    assert launch_shown["type"] == "app_launched"
    assert launch_shown["occurred_at"] == launch_shown["effective_at"] == "2021-02-28T16:22:52Z"
    assert launch_shown["received_at"] == iso(server_time)
    assert start_shown["type"] == "training_program_started"
    notification = client.get(f"/v1/notifications/{sent['notification_id']}").json()
    assert notification["decision"] == {
        "outcome": "sent",
        "trigger": "own_event",
        "event_ids": [launch_shown["event_id"], start_shown["event_id"]],
    }


def test_the_decision_log_is_newest_first_and_paginated(client):
    for minute in range(10, 16):
        post(client, "/v1/event", {**BRIEF_SAMPLE[4], "time_stamp": f"2021-02-28 17:{minute}:00"})

    page = client.get("/v1/users/foo1/decisions", {"limit": 2}).json()

    assert page["count"] == 6
    assert page["next"] is not None
    assert [d["outcome"] for d in page["results"]] == ["no_open_session"] * 2
    assert page["results"][0]["events"][0]["occurred_at"] == "2021-02-28T17:15:00Z"


def test_a_replayed_reminder_has_no_wall_clock_times(client):
    ingest(bootstrap.components().processor, BRIEF_SAMPLE[0])
    drain_reminders()

    [sent] = client.get("/v1/users/foo2/decisions").json()["results"]
    assert (sent["trigger"], sent["due_at"], sent["decided_at"]) == ("end_of_replay", None, None)
    assert sent["events"][0]["received_at"] is None


def test_a_user_with_no_decisions_has_an_empty_log(client):
    assert client.get("/v1/users/nobody/decisions").json()["count"] == 0
