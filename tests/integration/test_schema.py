"""The OpenAPI schema, and the API checked against it by schemathesis (bounded examples)."""

import io
import re
import sys
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import schemathesis
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from events.api.schema_rules import text_class, text_pattern
from events.domain.events import EVENT_TYPES
from events.wire.serializers import clean_identifier
from events.wire.zones import known_zones

# Not eventsproject.wsgi: importing it would start a serving process's threads.
schema = schemathesis.openapi.from_wsgi("/v1/schema", get_wsgi_application())
# The coverage phase enumerates every schema boundary and is unbounded by max_examples;
# explicit examples plus bounded fuzzing keep this test to seconds.
schema.config.phases.coverage.enabled = False
#: The event types declared (events/domain/events.py); each format has one branch per type, and one
#: for any other type.
DECLARED = len(list(EVENT_TYPES))


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same cases on every run, so CI cannot go red by chance
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_request_gets_a_5xx_or_an_undocumented_answer(case):
    case.call_and_validate(
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ]
    )


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def test_the_event_body_is_one_of_every_type_in_both_formats(client):
    document = client.get("/v1/schema", HTTP_ACCEPT="application/json").json()

    one_of = document["components"]["schemas"]["IncomingEventRequest"]["oneOf"]
    names = {ref["$ref"].rsplit("/", 1)[-1] for ref in one_of}
    assert {"LegacyAppLaunchRequest", "V2TrainingProgramFinishedRequest"} <= names
    assert {"LegacyEventRequest", "V2EventRequest"} <= names  # any other type
    assert len(names) == 2 * (DECLARED + 1)


def test_an_unknown_type_s_branch_excludes_the_known_types(client):
    schemas = client.get("/v1/schema", HTTP_ACCEPT="application/json").json()["components"][
        "schemas"
    ]

    excluded = schemas["V2EventRequest"]["properties"]["type"]["not"]["enum"]
    cloud_excluded = schemas["CloudEventRequest"]["properties"]["type"]["not"]
    assert "training_program_finished" in excluded
    assert re.search(cloud_excluded["pattern"], "com.example.fitness.app_launched")
    assert not re.search(cloud_excluded["pattern"], "com/example.app_launched")


def test_an_ingestion_request_needs_a_body(client):
    paths = client.get("/v1/schema", HTTP_ACCEPT="application/json").json()["paths"]

    assert paths["/v1/event"]["post"]["requestBody"]["required"] is True
    assert paths["/v1/events"]["post"]["requestBody"]["required"] is True


def test_the_text_pattern_allows_exactly_the_characters_the_server_allows():
    one_character = re.compile(text_class())

    disagreements = [
        hex(code_point)
        for code_point in range(sys.maxunicode + 1)
        if bool(one_character.fullmatch(chr(code_point))) != bool(clean_identifier(chr(code_point)))
    ]

    assert disagreements == []


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("user-1", True),
        (" user 1 ", True),
        ("\u00e9l\u00e8ve", True),
        ("   ", False),
        ("user\u202e1", False),
        ("\ufeffuser", False),
        ("user\n", False),
        ("", False),
    ],
)
def test_the_text_pattern_reads_a_whole_id_as_the_server_does(text, valid):
    assert bool(re.search(text_pattern(), text)) is valid


def test_cloud_events_are_documented_under_their_own_media_types(client):
    document = client.get("/v1/schema", HTTP_ACCEPT="application/json").json()
    schemas = document["components"]["schemas"]

    single = document["paths"]["/v1/event"]["post"]["requestBody"]["content"]
    batch = document["paths"]["/v1/events"]["post"]["requestBody"]["content"]
    single_event = single["application/cloudevents+json"]["schema"]["$ref"]
    batch_items = batch["application/cloudevents-batch+json"]["schema"]["items"]["anyOf"]
    assert single_event.endswith("/IncomingCloudEventRequest")
    assert batch_items[0]["$ref"] == single_event
    assert len(schemas["IncomingCloudEventRequest"]["oneOf"]) == DECLARED + 1
    assert "ce-specversion" in document["paths"]["/v1/event"]["post"]["description"]


def test_segment_s_endpoints_are_documented_with_their_messages(client):
    document = client.get("/v1/schema", HTTP_ACCEPT="application/json").json()
    schemas = document["components"]["schemas"]

    track = document["paths"]["/v1/track"]["post"]["requestBody"]["content"]["application/json"]
    batch = document["paths"]["/v1/batch"]["post"]["requestBody"]["content"]["application/json"]
    assert track["schema"]["$ref"].endswith("/SegmentMessageRequest")
    assert len(schemas["SegmentMessageRequest"]["oneOf"]) == DECLARED + 1  # and any other
    assert "batch" in schemas[batch["schema"]["$ref"].rsplit("/", 1)[-1]]["properties"]


def _openapi_to_json_schema(schema: Any) -> Any:
    """OpenAPI 3.0's `nullable` as JSON Schema says it; the rest as is."""
    if isinstance(schema, list):
        return [_openapi_to_json_schema(each) for each in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _openapi_to_json_schema(value) for key, value in schema.items()}
    if converted.pop("nullable", False):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


OPENED = {
    "event": "Application Opened",
    "userId": "u",
    "context": {"device": {"id": "phone-1"}},
    "timestamp": "2021-02-28T16:23:25Z",
}
OUT = object()  # a field left out
STARTED = {"event": "Training Program Started"}
MESSAGES = [
    ("no time", {"timestamp": OUT}, False),
    ("the device's clock", {"timestamp": OUT, "originalTimestamp": OPENED["timestamp"]}, True),
    ("no user", {"userId": OUT}, False),
    ("null users", {"userId": None, "anonymousId": None}, False),
    ("the anonymous id", {"userId": None, "anonymousId": "a"}, True),
    ("no device", {"context": OUT}, False),
    ("a null device", {"context": {"device": {"id": None}}}, False),
    ("the anonymous id for the device", {"context": OUT, "anonymousId": "a"}, True),
    ("a start without its program", STARTED, False),
    ("a start", {**STARTED, "properties": {"training_program_id": "2352"}}, True),
    ("another message type", {**STARTED, "type": "identify"}, True),
    ("another event name", {"event": "Profile Viewed"}, True),
    ("no event name", {"event": None}, True),
    ("another message without a time", {"type": "identify", "timestamp": OUT}, False),
    ("the user's zone", {"context": {"device": {"id": "p"}, "timezone": "Europe/Berlin"}}, True),
    ("a null zone", {"context": {"device": {"id": "p"}, "timezone": None}}, True),
    ("an unknown zone", {"context": {"device": {"id": "p"}, "timezone": "Mars/Olympus"}}, False),
]


@pytest.mark.parametrize(
    ("change", "accepted"),
    [pytest.param(change, accepted, id=name) for name, change, accepted in MESSAGES],
)
def test_the_track_schema_and_the_server_agree_on_each_message(client, change, accepted):
    message = {key: value for key, value in {**OPENED, **change}.items() if value is not OUT}
    document = _openapi_to_json_schema(
        client.get("/v1/schema", HTTP_ACCEPT="application/json").json()
    )
    schema = {"$ref": "#/components/schemas/SegmentMessageRequest", **document}

    answer = client.post("/v1/track", message, format="json")

    assert (jsonschema.Draft7Validator(schema).is_valid(message), answer.status_code) == (
        accepted,
        200 if accepted else 400,
    ), answer.content


def test_v2_s_optional_timezone_is_documented_as_the_names_the_server_takes(client):
    schemas = client.get("/v1/schema", HTTP_ACCEPT="application/json").json()["components"][
        "schemas"
    ]

    v2 = schemas["V2TrainingProgramStartedRequest"]
    [zone] = v2["properties"]["timezone"]["allOf"]  # with DRF's own minLength beside it
    assert zone == {"$ref": "#/components/schemas/TimeZone"}
    assert "timezone" not in v2["required"]
    assert set(schemas["TimeZone"]["enum"]) == known_zones()
    assert {"Europe/Berlin", "UTC", "Etc/UTC"} <= known_zones()
    assert "IANA" in schemas["TimeZone"]["description"]


def test_the_schema_generates_and_validates_without_a_warning():
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=io.StringIO())


def test_swagger_ui_is_served_without_any_cdn(client):
    page = client.get("/v1/docs")

    assert page.status_code == 200
    assert b"swagger-ui" in page.content
    assert b"cdn" not in page.content.lower()
