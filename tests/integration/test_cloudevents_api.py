"""CloudEvents 1.0 over HTTP, with messages made by the CloudEvents SDK itself."""

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from cloudevents.core.bindings.http import HTTPMessage, to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from rest_framework.test import APIClient

from notifications.domain.notification import NotificationKind

pytestmark = pytest.mark.both_stores

STARTED = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=40)
FINISHED = STARTED + timedelta(minutes=36, seconds=18)
PROGRAM = {"id": "2352", "title": "7 Minutes of HIIT Training"}


def cloud_event(kind: str, at: datetime, data: dict, **attributes) -> CloudEvent:
    return CloudEvent(
        attributes={
            "type": kind,
            "source": "/apps/ios",
            "time": at,
            "datacontenttype": "application/json",
            **attributes,
        },
        data=data,
    )


def started(**attributes) -> CloudEvent:
    data = {"device_id": "phone-1", "training_program": PROGRAM}
    return cloud_event("com.example.fitness.training_program_started", STARTED, data, **attributes)


def finished(**attributes) -> CloudEvent:
    data = {"device_id": "phone-1", "training_program": PROGRAM}
    return cloud_event("training_program_finished", FINISHED, data, **attributes)


def send(client: APIClient, message: HTTPMessage, path: str = "/v1/event"):
    headers = {name.lower(): value for name, value in message.headers.items()}
    content_type = headers.pop("content-type")
    extra = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    return client.post(path, message.body, content_type=content_type, **extra)


@pytest.fixture
def client() -> APIClient:
    return APIClient()


@pytest.mark.parametrize("mode", [to_structured, to_binary], ids=["structured", "binary"])
def test_a_finished_session_sent_as_cloud_events_is_congratulated(client, delivered, mode):
    answers = [
        send(client, mode(event, JSONFormat()))
        for event in (started(subject="ce-user"), finished(subject="ce-user"))
    ]

    assert [answer.status_code for answer in answers] == [202, 202]
    assert answers[0].json()["format"] == "cloudevents"
    assert answers[0].json()["event"]["type"] == "training_program_started"
    assert answers[0].json()["event"]["occurred_at"] == STARTED.isoformat().replace("+00:00", "Z")
    [notification] = delivered()
    assert notification.kind == NotificationKind.TRAINING_DOSE_CONGRATULATION
    assert (notification.user_id, notification.device_id, notification.minutes) == (
        "ce-user",
        "phone-1",
        36,
    )


def test_a_batch_of_cloud_events_is_processed_in_order(client, delivered):
    body = b"[%s]" % b",".join(
        JSONFormat().write(event) for event in (started(subject="u2"), finished(subject="u2"))
    )
    message = HTTPMessage({"content-type": "application/cloudevents-batch+json"}, body)

    answer = send(client, message, "/v1/events")

    assert answer.status_code == 200
    assert [each["status"] for each in answer.json()["results"]] == ["accepted", "accepted"]
    assert [n.minutes for n in delivered()] == [36]


def test_the_user_may_come_in_data_when_there_is_no_subject(client):
    data = {"device_id": "phone-1", "training_program": PROGRAM, "user_id": "in-data"}
    event = cloud_event("training_program_started", STARTED, data)

    answer = send(client, to_structured(event, JSONFormat()))

    assert answer.status_code == 202
    assert answer.json()["event"]["user_id"] == "in-data"


def test_an_id_is_a_duplicate_only_from_the_same_source(client):
    first = send(client, to_structured(started(id="e-1", subject="u3"), JSONFormat()))
    again = send(client, to_structured(started(id="e-1", subject="u3"), JSONFormat()))
    other_source = started(id="e-1", subject="u3", source="/apps/android")
    elsewhere = send(client, to_structured(other_source, JSONFormat()))

    assert [first.status_code, again.status_code, elsewhere.status_code] == [202, 200, 202]
    assert again.json()["status"] == "duplicate"


@pytest.mark.parametrize(
    "kind",
    [
        "com.example.fitness.profile_viewed",
        "com.example fitness.training_program_started",  # a prefix that is no domain name
        "/apps.training_program_started",
        "com..training_program_started",
    ],
)
def test_an_unknown_type_is_accepted_and_ignored(client, kind):
    event = cloud_event(kind, STARTED, {"device_id": "d"}, subject="u4")

    answer = send(client, to_structured(event, JSONFormat()))

    assert (answer.status_code, answer.json()["status"]) == (202, "ignored")
    assert kind in answer.json()["reason"]


def test_an_event_without_a_user_is_a_400_saying_where_the_user_goes(client):
    event = cloud_event("app_launched", STARTED, {"device_id": "d"})

    answer = send(client, to_structured(event, JSONFormat()))

    assert answer.status_code == 400
    assert "data.user_id" in answer.json()["subject"][0]


@pytest.mark.parametrize("missing", ["id", "source", "type", "specversion", "time"])
def test_a_missing_required_attribute_is_a_400_naming_it(client, missing):
    structured = orjson.loads(JSONFormat().write(started(subject="u5")))
    del structured[missing]
    message = HTTPMessage(
        {"content-type": "application/cloudevents+json"}, orjson.dumps(structured)
    )

    answer = send(client, message)

    assert answer.status_code == 400
    assert missing in answer.json()


def test_a_binary_mode_event_without_an_id_header_is_a_400_naming_it(client):
    message = to_binary(started(subject="u6"), JSONFormat())
    headers = {name: value for name, value in message.headers.items() if name != "ce-id"}

    answer = send(client, HTTPMessage(headers, message.body))

    assert answer.status_code == 400
    assert "id" in answer.json()


def test_a_missing_device_is_a_400_naming_where_it_belongs(client):
    event = cloud_event("training_program_started", STARTED, {"training_program": PROGRAM})

    answer = send(client, to_structured(event, JSONFormat()))

    assert answer.status_code == 400
    assert "device_id" in answer.json()["data"]


@pytest.mark.parametrize(
    ("subject", "reason"),
    [
        ("a%FF%FEb", "not valid UTF-8"),  # would read as a\ufffd\ufffdb
        ("a%E", "two hex digits"),  # an escape cut short, kept literally before
        ("a%zzb", "two hex digits"),
        ("%", "two hex digits"),
    ],
)
def test_a_header_that_does_not_percent_decode_to_utf_8_is_a_400_naming_it(client, subject, reason):
    message = to_binary(started(subject="u7"), JSONFormat())
    headers = {**message.headers, "ce-subject": subject}

    answer = send(client, HTTPMessage(headers, message.body))

    assert answer.status_code == 400
    [error] = answer.json()["subject"]
    assert reason in error


def test_percent_encoded_utf_8_in_a_header_is_decoded(client):
    message = to_binary(started(subject="jos\u00e9 50%"), JSONFormat())
    assert message.headers["ce-subject"] == "jos%C3%A9%2050%25"

    answer = send(client, message)

    assert (answer.status_code, answer.json()["event"]["user_id"]) == (202, "jos\u00e9 50%")


# --- The user's zone: a `timezone` extension attribute, and the offset of `time` ------------

IN_BERLIN = timezone(timedelta(hours=1))


@pytest.mark.parametrize("mode", [to_structured, to_binary], ids=["structured", "binary"])
def test_a_timezone_extension_states_the_user_s_zone(client, mode):
    event = cloud_event(
        "app_launched",
        STARTED.astimezone(IN_BERLIN),
        {"device_id": "phone-1"},
        subject="zoned",
        timezone="Europe/Berlin",
    )

    answer = send(client, mode(event, JSONFormat()))

    assert answer.status_code == 202
    shown = answer.json()["event"]
    assert (shown["timezone"], shown["utc_offset"]) == ("Europe/Berlin", "+01:00")
    assert shown["occurred_at"] == STARTED.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("mode", [to_structured, to_binary], ids=["structured", "binary"])
def test_without_the_extension_only_the_time_s_offset_is_stated(client, mode):
    answer = send(client, mode(started(subject="unzoned"), JSONFormat()))

    assert "timezone" not in answer.json()["event"]
    assert answer.json()["event"]["utc_offset"] == "+00:00"


def test_each_cloud_event_of_a_batch_states_its_own_zone(client):
    events = (started(subject="u8", timezone="Asia/Tokyo"), finished(subject="u8"))
    body = b"[%s]" % b",".join(JSONFormat().write(event) for event in events)
    message = HTTPMessage({"content-type": "application/cloudevents-batch+json"}, body)

    answer = send(client, message, "/v1/events")

    assert [result["event"].get("timezone") for result in answer.json()["results"]] == [
        "Asia/Tokyo",
        None,
    ]


@pytest.mark.parametrize("mode", [to_structured, to_binary], ids=["structured", "binary"])
def test_an_unknown_zone_is_a_400_naming_the_timezone_attribute(client, mode):
    event = started(subject="u9", timezone="Mars/Olympus")

    answer = send(client, mode(event, JSONFormat()))

    assert answer.status_code == 400
    assert answer.json() == {"timezone": ["unknown time zone 'Mars/Olympus'"]}


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("..%2F..%2F..%2Fetc%2Fpasswd", "unknown time zone '../../../etc/passwd'"),
        ("%2Fetc%2Fpasswd", "unknown time zone '/etc/passwd'"),
        ("Europe%2FBerlin%00", "not allowed"),
        ("UTC%0A", "not allowed"),
        ("", "may not be blank"),
        ("x" * 1000, "no more than 64 characters"),
    ],
)
def test_a_hostile_ce_timezone_header_is_a_clean_400(client, header, code):
    message = to_binary(started(subject="u10"), JSONFormat())
    headers = {**message.headers, "ce-timezone": header}

    answer = send(client, HTTPMessage(headers, message.body))

    assert answer.status_code == 400
    [error] = answer.json()["timezone"]
    assert code in error


def test_a_percent_encoded_zone_header_is_decoded(client):
    message = to_binary(started(subject="u11", timezone="America/Port-au-Prince"), JSONFormat())
    headers = {**message.headers, "ce-timezone": "America%2FPort-au-Prince"}

    answer = send(client, HTTPMessage(headers, message.body))

    assert answer.json()["event"]["timezone"] == "America/Port-au-Prince"
