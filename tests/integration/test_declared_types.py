"""An event type is one declaration: everything else is derived from it.

The test declares a type of its own, as README's "Adding an event type" says (a
training event that neither starts nor ends a session, with no rule; under a name
no real type will take), and finds it read in every
wire format, stored and read back (recent events, a decision's events: the
stores' codec), and documented in the OpenAPI schema, on both stores.
"""

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from events.domain.events import EVENT_TYPES, TrainingProgramEvent
from events.domain.rules import EVENT_RULES
from tests.wire import post, v2_event

pytestmark = pytest.mark.both_stores

PAUSED = "training_program_paused_in_test"
LAUNCHED_AT = "2021-02-28T10:00:00Z"
#: Eleven minutes after the launch, past the reminder's deadline: the reminder is sent, and
#: its record names the paused event as what showed no start came in time.
PAUSED_AT = "2021-02-28T10:11:00Z"
PROGRAM = {"id": "2352", "title": "7 Minutes of HIIT Training"}


@pytest.fixture
def paused_type(monkeypatch) -> Iterator[type[TrainingProgramEvent]]:
    @EVENT_TYPES.declare(PAUSED)
    @dataclass(frozen=True, slots=True)
    class TrainingProgramPausedInTest(TrainingProgramEvent):
        """A session paused: neither starts nor ends it."""

    monkeypatch.setitem(EVENT_RULES, TrainingProgramPausedInTest, ())
    yield TrainingProgramPausedInTest
    EVENT_TYPES.remove(PAUSED)


def legacy(user: str) -> tuple[str, str, dict[str, Any]]:
    body = {
        "user_id": user,
        "device_id": "phone",
        "type": PAUSED,
        "training_program_id": PROGRAM["id"],
        "training_program_title": PROGRAM["title"],
        "time_stamp": PAUSED_AT.replace("T", " ").removesuffix("Z"),
    }
    return "/v1/event", "application/json", body


def v2(user: str) -> tuple[str, str, dict[str, Any]]:
    body = v2_event(type=PAUSED, user_id=user, device_id="phone", occurred_at=PAUSED_AT)
    return "/v1/event", "application/json", {**body, "training_program": PROGRAM}


def cloud_event(user: str) -> tuple[str, str, dict[str, Any]]:
    body = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/apps/ios",
        "type": f"com.example.fitness.{PAUSED}",
        "time": PAUSED_AT,
        "subject": user,
        "data": {"device_id": "phone", "training_program": PROGRAM},
    }
    return "/v1/event", "application/cloudevents+json", body


def segment(user: str) -> tuple[str, str, dict[str, Any]]:
    body = {
        "type": "track",
        "event": "Training Program Paused In Test",
        "userId": user,
        "timestamp": PAUSED_AT,
        "messageId": str(uuid.uuid4()),
        "properties": {
            "training_program_id": PROGRAM["id"],
            "training_program_title": PROGRAM["title"],
        },
        "context": {"device": {"id": "phone"}},
    }
    return "/v1/track", "application/json", body


FORMATS: dict[str, Callable[[str], tuple[str, str, dict[str, Any]]]] = {
    "legacy": legacy,
    "v2": v2,
    "cloudevents": cloud_event,
    "segment": segment,
}


@pytest.mark.parametrize("wire_format", FORMATS)
def test_a_declared_type_is_read_in_every_format_and_stored(paused_type, wire_format):
    client, user = APIClient(), f"paused-{wire_format}"
    launch = v2_event(type="app_launched", user_id=user, device_id="phone", occurred_at=LAUNCHED_AT)
    del launch["training_program"]
    assert post(client, "/v1/event", launch).status_code == 202
    path, content_type, body = FORMATS[wire_format](user)

    answer = client.post(path, json.dumps(body), content_type=content_type)

    assert answer.json()["status"] == "accepted"  # 202; Segment's API answers 200
    assert answer.json()["event"]["type"] == PAUSED
    listed = client.get("/v1/events", {"user_id": user, "type": PAUSED}).json()["results"]
    assert [(each["type"], each["training_program_id"]) for each in listed] == [
        (PAUSED, PROGRAM["id"])
    ]
    decisions = client.get(f"/v1/users/{user}/decisions").json()["results"]
    assert [[each["type"] for each in record["events"]] for record in decisions] == [
        ["app_launched", PAUSED]
    ]


def test_a_declared_type_is_in_the_schema_in_every_format(paused_type):
    schemas = APIClient().get("/v1/schema", HTTP_ACCEPT="application/json").json()["components"]
    schemas = schemas["schemas"]

    branches = {
        name: {ref["$ref"].rsplit("/", 1)[-1] for ref in schemas[name]["oneOf"]}
        for name in ("IncomingEventRequest", "IncomingCloudEventRequest", "SegmentMessageRequest")
    }
    own_formats = {
        "LegacyTrainingProgramPausedInTestRequest",
        "V2TrainingProgramPausedInTestRequest",
    }
    assert own_formats <= branches["IncomingEventRequest"]
    assert "CloudEventTrainingProgramPausedInTestRequest" in branches["IncomingCloudEventRequest"]
    assert "TrainingProgramPausedInTestRequest" in branches["SegmentMessageRequest"]
    assert schemas["TrainingProgramPausedInTestTypeEnum"]["enum"] == [PAUSED]
    assert PAUSED in schemas["V2EventRequest"]["properties"]["type"]["not"]["enum"]
