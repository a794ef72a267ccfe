"""What real clients send, made by their own SDKs, to the production server on loopback."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from cloudevents.core.bindings.http import HTTPMessage, to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

# The SDKs ship no type information.
from rudderstack.analytics.client import Client as RudderStackClient  # type: ignore[import-untyped]
from segment.analytics.client import Client as SegmentClient  # type: ignore[import-untyped]

from notifications.domain.notification import NotificationKind
from tests.e2e.conftest import GUNICORN, Server

pytestmark = pytest.mark.e2e

STARTED = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=40)
PROGRAM = {"id": "2352", "title": "7 Minutes of HIIT Training"}


WRITE_KEY = "write-key-of-the-ios-app"
ADMIN_TOKEN = "token-of-the-operators"


@pytest.fixture
def production(server_env):
    server_env["EVENTS_API_TOKENS"] = WRITE_KEY
    server_env["EVENTS_ADMIN_TOKENS"] = ADMIN_TOKEN
    del server_env["EVENTS_ALLOW_ANONYMOUS"]  # production mode: tokens only
    running = Server(GUNICORN, server_env)
    yield running.url
    running.stop()


def session(user: str, minutes: int) -> list[CloudEvent]:
    """A training program started and finished `minutes` later, as CloudEvents."""
    data = {"device_id": f"{user}-phone", "training_program": PROGRAM}
    return [
        CloudEvent(
            attributes={
                "type": f"com.example.fitness.training_program_{kind}",
                "source": "/apps/ios",
                "subject": user,
                "time": STARTED + timedelta(minutes=offset),
                "datacontenttype": "application/json",
            },
            data=data,
        )
        for kind, offset in (("started", 0), ("finished", minutes))
    ]


def post(url: str, message: HTTPMessage) -> requests.Response:
    headers = {**message.headers, "Authorization": f"Bearer {WRITE_KEY}"}
    return requests.post(url, data=message.body, headers=headers, timeout=10)


def test_cloud_events_in_every_mode_lead_to_their_notifications(production, standin):
    for event in session("structured", 31):
        assert post(f"{production}/v1/event", to_structured(event, JSONFormat())).status_code == 202
    for event in session("binary", 32):
        assert post(f"{production}/v1/event", to_binary(event, JSONFormat())).status_code == 202
    batch = b"[%s]" % b",".join(JSONFormat().write(event) for event in session("batched", 33))
    batched = HTTPMessage({"Content-Type": "application/cloudevents-batch+json"}, batch)
    assert post(f"{production}/v1/events", batched).status_code == 200

    received = standin.wait_for(3, timeout=15)

    congratulated = {
        call.payload["user_id"]: call.payload["minutes"]
        for call in received
        if call.payload["kind"] == NotificationKind.TRAINING_DOSE_CONGRATULATION
    }
    assert congratulated == {"structured": 31, "binary": 32, "batched": 33}


def test_a_binary_mode_event_without_a_content_type_carries_json_data(production):
    # No datacontenttype: the SDK's binary message has no Content-Type, and requests adds none.
    event = CloudEvent(
        attributes={"type": "app_launched", "source": "/apps/ios", "subject": "untyped"},
        data={"device_id": "untyped-phone"},
    )
    message = to_binary(event, JSONFormat())
    assert "content-type" not in {name.lower() for name in message.headers}

    answer = post(f"{production}/v1/event", message)

    assert (answer.status_code, answer.json()["format"]) == (202, "cloudevents")
    assert answer.json()["event"]["user_id"] == "untyped"
    assert answer.json()["event"]["device_id"] == "untyped-phone"
    untyped = requests.post(
        f"{production}/v1/event",
        data=message.body,
        headers={"Authorization": f"Bearer {WRITE_KEY}"},
        timeout=10,
    )
    assert untyped.status_code == 415  # no ce-specversion, no type: the data could be anything


@pytest.mark.parametrize("sdk", [SegmentClient, RudderStackClient], ids=["segment", "rudderstack"])
def test_segment_style_sdks_track_with_their_write_key_and_gzip(production, standin, sdk):
    client = sdk(write_key=WRITE_KEY, host=production, sync_mode=True, gzip=True, max_retries=0)
    user = f"{sdk.__module__.split('.')[0]}-user"
    program = {"training_program_id": "2352", "training_program_title": "HIIT"}
    context = {"device": {"id": f"{user}-phone"}}

    client.track(user, "Application Opened", {}, context, STARTED - timedelta(minutes=1))
    client.track(user, "Training Program Started", program, context, STARTED)
    # The SDKs send `timestamp`, the time as the caller states it: taken as is.
    finished_at = STARTED + timedelta(minutes=34, seconds=30)
    client.track(user, "Training Program Finished", program, context, finished_at)
    client.identify(user, {"plan": "premium"}, context)

    [received] = standin.wait_for(1, timeout=15)
    assert received.payload["kind"] == NotificationKind.TRAINING_DOSE_CONGRATULATION
    assert (received.payload["user_id"], received.payload["minutes"]) == (user, 34)
    assert received.payload["device_id"] == f"{user}-phone"

    def read_events(token: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return requests.get(f"{production}/v1/events?user_id={user}", headers=headers, timeout=10)

    assert read_events(WRITE_KEY).status_code == 403  # an app's key posts, and only that
    events = read_events(ADMIN_TOKEN)
    assert [event["type"] for event in events.json()["results"]] == [
        "unknown",
        "training_program_finished",
        "training_program_started",
        "app_launched",
    ]


@pytest.mark.parametrize("sdk", [SegmentClient, RudderStackClient], ids=["segment", "rudderstack"])
def test_a_historical_timestamp_set_through_the_sdks_is_recorded_at_that_time(production, sdk):
    # The SDKs stamp every upload with sentAt = now: years after an imported event's time.
    client = sdk(write_key=WRITE_KEY, host=production, sync_mode=True, max_retries=0)
    user = f"{sdk.__module__.split('.')[0]}-importer"
    imported_at = datetime(2021, 2, 28, 16, 23, 25, tzinfo=UTC)
    program = {"training_program_id": "2352"}

    client.track(user, "Training Program Started", program, {"device": {"id": "p"}}, imported_at)

    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    events = requests.get(f"{production}/v1/events?user_id={user}", headers=headers, timeout=10)
    [event] = events.json()["results"]
    assert event["occurred_at"] == event["effective_at"] == "2021-02-28T16:23:25Z"


@pytest.mark.parametrize("sdk", [SegmentClient, RudderStackClient], ids=["segment", "rudderstack"])
def test_the_user_s_zone_set_through_the_sdks_context_is_recorded(production, sdk):
    client = sdk(write_key=WRITE_KEY, host=production, sync_mode=True, max_retries=0)
    user = f"{sdk.__module__.split('.')[0]}-in-berlin"
    opened_at = STARTED.astimezone(ZoneInfo("Europe/Berlin"))  # sent with Berlin's offset
    context = {"device": {"id": "p"}, "timezone": "Europe/Berlin"}

    client.track(user, "Application Opened", {}, context, opened_at)

    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    events = requests.get(f"{production}/v1/events?user_id={user}", headers=headers, timeout=10)
    [event] = events.json()["results"]
    assert event["timezone"] == "Europe/Berlin"
    assert event["utc_offset"] == opened_at.isoformat()[-6:]  # +01:00 in winter, +02:00 in summer
