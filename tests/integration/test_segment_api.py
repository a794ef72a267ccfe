"""Segment's HTTP Tracking API: `POST /v1/track` and `POST /v1/batch` (Segment's own SDKs
are driven against the real server in tests/e2e/test_client_formats.py)."""

import base64
import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from rest_framework.test import APIClient

from notifications.domain.notification import NotificationKind

pytestmark = pytest.mark.both_stores

NOW = datetime.now(UTC).replace(microsecond=0)
STARTED = NOW - timedelta(minutes=40)


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def track(event: str, at: datetime, user: str = "seg-user", **fields) -> dict:
    message = {
        "type": "track",
        "event": event,
        "userId": user,
        "anonymousId": f"anon-{user}",
        "timestamp": stamp(at),
        "messageId": str(uuid.uuid4()),
        "properties": {"training_program_id": "2352", "training_program_title": "HIIT"},
        "context": {"device": {"id": f"{user}-phone"}, "library": {"name": "analytics-python"}},
    }
    return {**message, **fields}


def post(client, path, body, **extra):
    return client.post(path, json.dumps(body), content_type="application/json", **extra)


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def test_a_finished_session_tracked_one_by_one_is_congratulated(client, delivered):
    started = post(client, "/v1/track", track("Training Program Started", STARTED))
    finished = post(
        client, "/v1/track", track("Training Program Finished", STARTED + timedelta(minutes=31))
    )

    assert (started.status_code, finished.status_code) == (200, 200)
    assert started.json()["success"] is True
    assert (started.json()["status"], started.json()["format"]) == ("accepted", "segment")
    assert started.json()["event"]["device_id"] == "seg-user-phone"
    [notification] = delivered()
    assert notification.kind == NotificationKind.TRAINING_DOSE_CONGRATULATION
    assert (notification.user_id, notification.minutes) == ("seg-user", 31)


def on_the_device_clock(message: dict) -> dict:
    """The message with its time as the device's clock, as `originalTimestamp`."""
    times = {"originalTimestamp": message["timestamp"]}
    return {**{k: v for k, v in message.items() if k != "timestamp"}, **times}


def test_a_batch_is_judged_on_the_server_clock_through_its_sent_at(client, server_time):
    phone_ahead = timedelta(hours=3)  # the phone's clock is three hours fast
    opened_at = server_time + phone_ahead - timedelta(seconds=20)
    opened = on_the_device_clock(track("Application Opened", opened_at))
    body = {"batch": [opened], "sentAt": stamp(server_time + phone_ahead)}

    answer = post(client, "/v1/batch", body)

    assert answer.status_code == 200
    assert answer.json()["success"] is True
    [result] = answer.json()["results"]
    assert (result["status"], result["event"]["type"]) == ("accepted", "app_launched")
    effective = datetime.fromisoformat(result["event"]["effective_at"])
    assert effective == server_time - timedelta(seconds=20)


@pytest.mark.parametrize("path", ["/v1/track", "/v1/batch"])
def test_a_timestamp_set_by_the_caller_is_taken_as_is_however_long_before_sent_at(
    client, server_time, path
):
    imported_at = datetime(2021, 2, 28, 16, 23, 25, tzinfo=UTC)  # a historical import
    message = track("Training Program Started", imported_at, sentAt=stamp(server_time))
    body = {"batch": [message]} if path == "/v1/batch" else message

    answer = post(client, path, body)

    [result] = answer.json()["results"] if path == "/v1/batch" else [answer.json()]
    assert (answer.status_code, result["status"]) == (200, "accepted")
    assert result["event"]["effective_at"] == result["event"]["occurred_at"] == stamp_z(imported_at)
    assert result["event"]["sent_at"] is None  # nothing to correct: the time is the caller's


def test_the_timestamp_wins_over_the_device_clock_when_both_are_sent(client, server_time):
    device_clock = server_time + timedelta(hours=3)
    message = track("Application Opened", server_time - timedelta(minutes=5))
    message.update(originalTimestamp=stamp(device_clock), sentAt=stamp(device_clock))

    answer = post(client, "/v1/track", message)

    assert answer.json()["event"]["effective_at"] == stamp_z(server_time - timedelta(minutes=5))


def test_a_device_clock_that_waited_more_than_30_days_is_still_too_old(client, server_time):
    opened_at = server_time - timedelta(days=31)
    message = on_the_device_clock(track("Application Opened", opened_at, sentAt=stamp(server_time)))

    answer = post(client, "/v1/track", message)

    assert answer.status_code == 400
    too_old = "More than 30 days after originalTimestamp: too old to act on."
    assert answer.json() == {"sentAt": [too_old]}


def stamp_z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_other_messages_and_event_names_are_accepted_and_ignored(client):
    identify = {
        "type": "identify",
        "userId": "u1",
        "traits": {"name": "Ada"},
        "timestamp": stamp(NOW),
        "messageId": "m-identify",
        "context": {"device": {"id": "d1"}},
    }
    viewed = track("Profile Viewed", NOW, user="u1", properties={})

    answer = post(client, "/v1/batch", {"batch": [identify, viewed]})

    results = answer.json()["results"]
    assert [result["status"] for result in results] == ["ignored", "ignored"]
    assert "identify" in results[0]["reason"]
    assert "Profile Viewed" in results[1]["reason"]


def test_the_message_id_makes_a_retried_message_a_duplicate(client):
    message = track("Application Opened", NOW, user="u2")

    first = post(client, "/v1/track", message)
    again = post(client, "/v1/track", message)

    assert (first.json()["status"], again.json()["status"]) == ("accepted", "duplicate")


def test_without_a_device_the_anonymous_id_stands_for_it(client):
    message = track("Application Opened", NOW, user="u3", context={})

    answer = post(client, "/v1/track", message)

    assert answer.json()["event"]["device_id"] == "anon-u3"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"userId": None, "anonymousId": None}, "userId"),
        ({"timestamp": None}, "timestamp"),  # and no originalTimestamp
        ({"timestamp": None, "originalTimestamp": "2021-02-28 16:23:25"}, "originalTimestamp"),
        ({"timestamp": "2021-02-28 16:23:25"}, "timestamp"),
        ({"properties": {}}, "properties"),
        ({"anonymousId": None, "context": {"device": {}}}, "context"),
        (
            {
                "timestamp": None,
                "originalTimestamp": stamp(STARTED),
                "sentAt": stamp(STARTED - timedelta(minutes=1)),
            },
            "sentAt",
        ),
    ],
)
def test_a_malformed_message_is_a_400_naming_the_field(client, change, field):
    message = {**track("Training Program Started", STARTED), **change}
    message = {key: value for key, value in message.items() if value is not None}

    answer = post(client, "/v1/track", message)

    assert answer.status_code == 400
    assert field in answer.json()


@pytest.mark.parametrize("path", ["/v1/track", "/v1/batch"])
@pytest.mark.parametrize(("body", "name"), [(None, "null"), ([], "array"), ("batch", "string")])
def test_a_body_that_is_not_an_object_is_a_400_saying_so(client, path, body, name):
    answer = post(client, path, body)

    assert answer.status_code == 400
    assert answer.json() == {"non_field_errors": [f"Expected a JSON object but got {name}."]}


def test_a_batch_must_hold_its_messages_under_batch(client):
    answer = post(client, "/v1/batch", {"events": []})

    assert answer.status_code == 400
    assert "batch" in answer.json()


@pytest.mark.parametrize("path", ["/v1/batch", "/v1/events", "/v1/event"])
def test_gzip_bodies_are_read_on_every_ingestion_endpoint(client, path):
    message = track("Application Opened", NOW, user="gz")
    body = {
        "/v1/batch": {"batch": [message]},
        "/v1/events": [_v2_launch()],
        "/v1/event": _v2_launch(),
    }[path]

    answer = client.post(
        path,
        gzip.compress(json.dumps(body).encode()),
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
    )

    assert answer.status_code in {200, 202}


def test_a_gzip_bomb_is_a_413_measured_after_decompression(client, settings):
    settings.EVENTS_MAX_BODY_BYTES = 32_768
    bomb = gzip.compress(b'{"pad": "' + b" " * 50_000_000 + b'"}')

    answer = client.post(
        "/v1/event", bomb, content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
    )

    assert len(bomb) < 100_000
    assert answer.status_code == 413


@pytest.mark.parametrize(
    ("encoding", "body", "status"),
    [
        ("gzip", b"not gzip at all", 400),
        ("gzip", gzip.compress(b"{}") + b"trailing bytes", 400),
        ("br", b"{}", 415),
        ("gzip, gzip", b"{}", 415),
    ],
)
def test_a_body_that_cannot_be_decoded_is_refused_with_the_reason(client, encoding, body, status):
    answer = client.post(
        "/v1/event", body, content_type="application/json", HTTP_CONTENT_ENCODING=encoding
    )

    assert answer.status_code == status
    assert "detail" in answer.json()


def test_segment_s_basic_auth_with_the_write_key_is_a_token(client, settings):
    settings.EVENTS_API_TOKENS = ["write-key-1"]
    message = track("Application Opened", NOW, user="u4")

    def basic(key: str) -> str:
        return "Basic " + base64.b64encode(f"{key}:".encode()).decode()

    allowed = post(client, "/v1/track", message, HTTP_AUTHORIZATION=basic("write-key-1"))
    refused = post(client, "/v1/track", message, HTTP_AUTHORIZATION=basic("guess"))
    anonymous = post(client, "/v1/track", message)

    assert (allowed.status_code, refused.status_code, anonymous.status_code) == (200, 401, 401)


def _v2_launch() -> dict:
    return {
        "schema_version": 2,
        "event_id": str(uuid.uuid4()),
        "type": "app_launched",
        "occurred_at": stamp(NOW),
        "user_id": "gz-v2",
        "device_id": "gz-phone",
    }


# --- The user's zone: `context.timezone`, and the offset of the time that is the event's ------


def zoned(message: dict, zone: object) -> dict:
    return {**message, "context": {**message["context"], "timezone": zone}}


def test_context_timezone_states_the_user_s_zone_and_the_timestamp_its_offset(client):
    message = track("Application Opened", NOW, user="new-yorker")
    message = zoned({**message, "timestamp": "2021-02-28T11:23:25.000-05:00"}, "America/New_York")

    answer = post(client, "/v1/track", message)

    assert answer.status_code == 200
    shown = answer.json()["event"]
    assert (shown["timezone"], shown["utc_offset"]) == ("America/New_York", "-05:00")
    assert shown["occurred_at"] == "2021-02-28T16:23:25Z"


def test_the_offset_is_that_of_the_time_the_event_takes(client, server_time):
    in_kolkata = (server_time - timedelta(seconds=30)).astimezone(
        timezone(timedelta(hours=5, minutes=30))
    )
    device_clock = on_the_device_clock(track("Application Opened", in_kolkata, user="u20"))
    both = track("Application Opened", server_time, user="u21")  # `timestamp` wins: its offset too
    both["originalTimestamp"] = stamp(in_kolkata)
    body = {"batch": [device_clock, both], "sentAt": stamp(server_time)}

    answer = post(client, "/v1/batch", body)

    offsets = [result["event"]["utc_offset"] for result in answer.json()["results"]]
    assert offsets == ["+05:30", "+00:00"]


def test_a_null_or_absent_context_timezone_states_no_zone(client):
    null = zoned(track("Application Opened", NOW, user="u22"), None)
    absent = track("Application Opened", NOW, user="u23")

    answer = post(client, "/v1/batch", {"batch": [null, absent]})

    assert [result["status"] for result in answer.json()["results"]] == ["accepted"] * 2
    assert all("timezone" not in result["event"] for result in answer.json()["results"])


@pytest.mark.parametrize(
    ("zone", "reason"),
    [
        ("Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("../../../../etc/passwd", "unknown time zone '../../../../etc/passwd'"),
        ("/usr/share/zoneinfo/UTC", "unknown time zone '/usr/share/zoneinfo/UTC'"),
        ("Europe/Berlin\u0000", "not allowed"),
        ("", "may not be blank"),
        ("Etc/" * 100, "no more than 64 characters"),
        (-300, "Expected a string but got number."),
    ],
)
def test_a_context_timezone_that_is_no_iana_zone_is_a_400_naming_it(client, zone, reason):
    answer = post(client, "/v1/track", zoned(track("Application Opened", NOW), zone))

    assert answer.status_code == 400
    [error] = answer.json()["context"]["timezone"]
    assert reason in error


def test_in_a_batch_an_unknown_zone_rejects_only_its_message(client):
    messages = [
        zoned(track("Application Opened", NOW), "Mars/Olympus"),
        track("Profile Viewed", NOW),
    ]

    answer = post(client, "/v1/batch", {"batch": messages})

    rejected, ignored = answer.json()["results"]
    assert rejected["errors"] == {"context": {"timezone": ["unknown time zone 'Mars/Olympus'"]}}
    assert ignored["status"] == "ignored"
