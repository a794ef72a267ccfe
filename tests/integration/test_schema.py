"""The OpenAPI schema, and the API checked against it by schemathesis (bounded examples)."""

import io

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

# Not eventsproject.wsgi: importing it would start a serving process's threads.
schema = schemathesis.openapi.from_wsgi("/v1/schema", get_wsgi_application())
# The coverage phase enumerates every schema boundary and is unbounded by max_examples;
# explicit examples plus bounded fuzzing keep this test to seconds.
schema.config.phases.coverage.enabled = False


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
    assert len(names) == 8


def test_cloud_events_are_documented_under_their_own_media_types(client):
    document = client.get("/v1/schema", HTTP_ACCEPT="application/json").json()
    schemas = document["components"]["schemas"]

    single = document["paths"]["/v1/event"]["post"]["requestBody"]["content"]
    batch = document["paths"]["/v1/events"]["post"]["requestBody"]["content"]
    assert single["application/cloudevents+json"]["schema"]["$ref"].endswith("/CloudEventRequest")
    assert batch["application/cloudevents-batch+json"]["schema"]["items"]["$ref"].endswith(
        "/CloudEventRequest"
    )
    one_of = schemas["CloudEventRequest"]["oneOf"]
    assert len(one_of) == 4
    assert "ce-specversion" in document["paths"]["/v1/event"]["post"]["description"]


def test_segment_s_endpoints_are_documented_with_their_messages(client):
    document = client.get("/v1/schema", HTTP_ACCEPT="application/json").json()
    schemas = document["components"]["schemas"]

    track = document["paths"]["/v1/track"]["post"]["requestBody"]["content"]["application/json"]
    batch = document["paths"]["/v1/batch"]["post"]["requestBody"]["content"]["application/json"]
    assert track["schema"]["$ref"].endswith("/SegmentMessageRequest")
    assert len(schemas["SegmentMessageRequest"]["oneOf"]) == 4
    assert "batch" in schemas[batch["schema"]["$ref"].rsplit("/", 1)[-1]]["properties"]


def test_the_schema_generates_and_validates_without_a_warning():
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=io.StringIO())


def test_swagger_ui_is_served_without_any_cdn(client):
    page = client.get("/v1/docs")

    assert page.status_code == 200
    assert b"swagger-ui" in page.content
    assert b"cdn" not in page.content.lower()
