"""Nothing a client sends is refused without a trace: every event refused inside a batch
and every 4xx of an ingestion endpoint is counted, by endpoint and a reason from a
bounded set, and logged at INFO with the request id and the field errors' codes."""

import json
import logging
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from events.api import rejections
from tests.integration.test_bad_input import BAD_INPUTS
from tests.sample import BRIEF_SAMPLE
from tests.wire import v2_event

pytestmark = pytest.mark.both_stores

LAUNCH = BRIEF_SAMPLE[0]
NOW = datetime.now(UTC).replace(microsecond=0)
_SAMPLE = re.compile(r'^events_rejected_total\{endpoint="([^"]*)",reason="([^"]*)"\} (\S+)$', re.M)


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def counted(client) -> Counter[tuple[str, str]]:
    exposition = client.get("/metrics").content.decode()
    samples = _SAMPLE.findall(exposition)
    return Counter({(endpoint, reason): float(value) for endpoint, reason, value in samples})


@pytest.fixture
def rejected(client):
    """Call to get what was counted as rejected since the test began."""
    before = counted(client)

    def since() -> dict[tuple[str, str], float]:
        return dict(counted(client) - before)

    return since


def post(client, path, body, **extra):
    return client.post(path, json.dumps(body), content_type="application/json", **extra)


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_each_event_refused_inside_a_batch_is_counted_by_its_reason(client, rejected):
    conflicting = v2_event(event_id=str(uuid.uuid4()), user_id="r1")
    body = [
        conflicting,
        {**LAUNCH, "user_id": None},
        {**LAUNCH, "time_stamp": "1999-12-31 23:59:59"},
        {**conflicting, "device_id": "another"},
        {**LAUNCH, "user_id": 7},
        v2_event(user_id="r1"),
    ]

    answer = post(client, "/v1/events", body)

    statuses = [each["status"] for each in answer.json()["results"]]
    assert statuses == ["accepted", "rejected", "rejected", "conflict", "rejected", "accepted"]
    assert rejected() == {
        ("v1/events", "missing_field"): 1,
        ("v1/events", "bad_time"): 1,
        ("v1/events", "conflict"): 1,
        ("v1/events", "invalid"): 1,
    }


def test_a_segment_batch_and_a_cloud_events_batch_count_theirs(client, rejected):
    message = {"type": "track", "event": "Application Opened", "timestamp": stamp(NOW)}
    post(client, "/v1/batch", {"batch": [message]})  # neither userId nor anonymousId
    cloud_event = {"specversion": "1.0", "type": "app_launched", "source": "/s", "time": "x"}
    client.post(
        "/v1/events",
        json.dumps([cloud_event]),
        content_type="application/cloudevents-batch+json",
    )

    assert rejected() == {("v1/batch", "missing_field"): 1, ("v1/events", "missing_field"): 1}


def sent(body: bytes | dict, content_type: str = "application/json") -> tuple[bytes, str]:
    return (json.dumps(body).encode() if isinstance(body, dict) else body, content_type)


@pytest.mark.parametrize(
    ("path", "request_body", "status", "reason"),
    [
        ("/v1/event", sent(b"{oops"), 400, "malformed_body"),
        ("/v1/event", sent(b'{"user_id": "a", "user_id": "b"}'), 400, "duplicate_key"),
        ("/v1/event", sent(LAUNCH, "text/plain"), 415, "unsupported_media_type"),
        ("/v1/event", sent({"pad": "x" * 40_000}), 413, "too_large"),
        ("/v1/event", sent({**LAUNCH, "device_id": ""}), 400, "invalid"),
        ("/v1/event", sent({"user_id": "u"}), 400, "missing_field"),
        ("/v1/events", sent({"events": 3}), 400, "invalid"),
        ("/v1/track", sent({"userId": "u"}), 400, "missing_field"),
        ("/v1/batch", sent(b"[]"), 400, "invalid"),
    ],
)
def test_a_refused_request_is_counted_by_endpoint_and_reason(
    client, rejected, path, request_body, status, reason
):
    body, content_type = request_body

    answer = client.post(path, body, content_type=content_type)

    assert answer.status_code == status
    assert rejected() == {(path.removeprefix("/"), reason): 1}


def test_a_conflict_on_a_single_event_is_counted(client, rejected):
    event = v2_event(user_id="r2")
    post(client, "/v1/event", event)

    answer = post(client, "/v1/event", {**event, "device_id": "another"})

    assert answer.status_code == 409
    assert rejected() == {("v1/event", "conflict"): 1}


def test_who_is_refused_and_who_is_throttled_is_counted_too(client, rejected, settings):
    settings.EVENTS_ALLOW_ANONYMOUS = False
    settings.EVENTS_API_TOKENS = ["app-token"]
    settings.EVENTS_THROTTLE_RATE = "1/min"
    token = {"HTTP_AUTHORIZATION": "Bearer app-token"}

    statuses = [
        post(client, "/v1/event", LAUNCH).status_code,
        post(client, "/v1/event", LAUNCH, HTTP_AUTHORIZATION="Bearer guess").status_code,
        post(client, "/v1/event", LAUNCH, **token).status_code,
        post(client, "/v1/event", LAUNCH, **token).status_code,
    ]

    assert statuses == [401, 401, 202, 429]
    assert rejected() == {("v1/event", "unauthenticated"): 2, ("v1/event", "throttled"): 1}


def test_what_is_accepted_or_a_duplicate_and_what_is_read_is_not_counted(client, rejected):
    post(client, "/v1/event", LAUNCH)
    post(client, "/v1/event", LAUNCH)
    post(client, "/v1/events", [LAUNCH])
    client.get("/v1/events?user_id=nobody")

    assert rejected() == {}


def test_every_reason_of_the_bad_input_battery_is_one_of_the_bounded_set(client, rejected):
    for _, (content, content_type), _, _ in BAD_INPUTS:
        client.post("/v1/event", content, content_type=content_type)

    reasons = {reason for _, reason in rejected()}
    assert reasons <= rejections.REASONS
    assert sum(rejected().values()) == len(BAD_INPUTS)


def test_a_refused_request_is_logged_with_its_request_id_and_the_errors_codes(client, caplog):
    caplog.set_level(logging.INFO, logger="events.api.rejections")
    secret = {**LAUNCH, "user_id": None, "device_id": "device-of-a-private-person"}

    answer = post(client, "/v1/event", secret, HTTP_X_REQUEST_ID="req-1")

    [line] = [record for record in caplog.records if record.name == "events.api.rejections"]
    assert (line.levelno, line.request_id) == (logging.INFO, answer["X-Request-ID"])
    assert line.request_id == "req-1"
    assert (line.endpoint, line.status, line.reason) == ("v1/event", 400, "missing_field")
    assert line.errors == {"user_id": ["null"]}
    assert "device-of-a-private-person" not in line.getMessage()
    assert "user_id" in line.getMessage()


def test_a_batch_logs_one_line_with_each_refused_event_s_index_id_and_codes(client, caplog):
    caplog.set_level(logging.INFO, logger="events.api.rejections")
    bad_v2 = v2_event(occurred_at=stamp(NOW), sent_at=stamp(NOW - timedelta(minutes=1)))
    body = [LAUNCH, bad_v2, {**LAUNCH, "device_id": 5}]

    post(client, "/v1/events", body, HTTP_X_REQUEST_ID="req-2")

    [line] = [record for record in caplog.records if record.name == "events.api.rejections"]
    assert (line.request_id, line.endpoint, line.status) == ("req-2", "v1/events", 200)
    assert line.refused == [
        {
            "index": 1,
            "event_id": bad_v2["event_id"],
            "reason": "bad_time",
            "errors": {"sent_at": ["sent_before_occurred"]},
        },
        {
            "index": 2,
            "event_id": None,
            "reason": "invalid",
            "errors": {"device_id": ["not_a_string"]},
        },
    ]
    assert "2 of 3" in line.getMessage()


def test_the_contract_lists_every_reason_and_no_other():
    contract = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()
    section = contract.split("## Refusals leave a trace")[1].split("\n## ")[0]

    assert set(re.findall(r"^\| `([a-z_]+)` \|", section, re.M)) == rejections.REASONS
