"""A battery of bad input: each gets its exact 4xx and the field at fault, never a 500."""

import json

import pytest
from rest_framework.test import APIClient

from tests.sample import BRIEF_SAMPLE

pytestmark = pytest.mark.both_stores


LAUNCH = BRIEF_SAMPLE[0]
START = BRIEF_SAMPLE[1]
V2_START = {
    "schema_version": 2,
    "event_id": "0b9f7e3c-5d8a-4a47-9c1e-2f4a6d8b1c3e",
    "type": "training_program_started",
    "occurred_at": "2021-02-28T16:23:25Z",
    "user_id": "foo1",
    "device_id": "bar1",
    "training_program": {"id": "2352"},
}


def without(event, key):
    return {k: v for k, v in event.items() if k != key}


def raw(text, content_type="application/json"):
    return (text.encode() if isinstance(text, str) else text, content_type)


def as_json(value):
    return raw(json.dumps(value))


BAD_INPUTS = [
    # --- not JSON, or not a JSON object ---
    ("not json", raw("{oops"), 400, "detail"),
    ("truncated json", raw('{"user_id": "a"'), 400, "detail"),
    ("NaN", raw('{"user_id": NaN}'), 400, "detail"),
    ("invalid utf-8", raw(b'{"user_id": "\xff"}'), 400, "detail"),
    ("deep nesting", raw("[" * 5000 + "]" * 5000), 400, "detail"),
    ("huge integer", raw('{"user_id": 1' + "0" * 400 + "}"), 400, "detail"),
    ("duplicate key", raw(json.dumps(LAUNCH)[:-1] + ', "user_id": "b"}'), 400, "detail"),
    ("array body", as_json([LAUNCH]), 400, "non_field_errors"),
    ("string body", as_json("event"), 400, "non_field_errors"),
    ("number body", as_json(42), 400, "non_field_errors"),
    ("null body", as_json(None), 400, "non_field_errors"),
    ("true body", as_json(True), 400, "non_field_errors"),
    ("empty body", raw(""), 400, "user_id"),
    # --- not JSON at all ---
    ("text/plain", raw(json.dumps(LAUNCH), "text/plain"), 415, "detail"),
    ("form encoded", raw("user_id=a", "application/x-www-form-urlencoded"), 415, "detail"),
    ("xml", raw("<event/>", "application/xml"), 415, "detail"),
    ("multipart", raw("--x--", "multipart/form-data; boundary=x"), 415, "detail"),
    # --- too large ---
    ("over 32 KB", as_json({**LAUNCH, "pad": "x" * 40_000}), 413, "max_bytes"),
    # --- the brief's envelope ---
    ("missing user_id", as_json(without(LAUNCH, "user_id")), 400, "user_id"),
    ("missing device_id", as_json(without(LAUNCH, "device_id")), 400, "device_id"),
    ("missing type", as_json(without(LAUNCH, "type")), 400, "type"),
    ("missing time_stamp", as_json(without(LAUNCH, "time_stamp")), 400, "time_stamp"),
    ("number user_id", as_json({**LAUNCH, "user_id": 7}), 400, "user_id"),
    ("boolean device_id", as_json({**LAUNCH, "device_id": False}), 400, "device_id"),
    ("null user_id", as_json({**LAUNCH, "user_id": None}), 400, "user_id"),
    ("object user_id", as_json({**LAUNCH, "user_id": {"id": 1}}), 400, "user_id"),
    ("list type", as_json({**LAUNCH, "type": ["app_launch"]}), 400, "type"),
    ("number type", as_json({**LAUNCH, "type": 3}), 400, "type"),
    ("empty user_id", as_json({**LAUNCH, "user_id": ""}), 400, "user_id"),
    ("129-char user_id", as_json({**LAUNCH, "user_id": "u" * 129}), 400, "user_id"),
    ("newline in device_id", as_json({**LAUNCH, "device_id": "a\nb"}), 400, "device_id"),
    ("NUL in user_id", as_json({**LAUNCH, "user_id": "a\x00b"}), 400, "user_id"),
    ("escape in type", as_json({**LAUNCH, "type": "app\x1b"}), 400, "type"),
    ("words as time", as_json({**LAUNCH, "time_stamp": "yesterday"}), 400, "time_stamp"),
    ("epoch time", as_json({**LAUNCH, "time_stamp": 1614529372}), 400, "time_stamp"),
    (
        "impossible date",
        as_json({**LAUNCH, "time_stamp": "2021-02-30 10:00:00"}),
        400,
        "time_stamp",
    ),
    ("before 2000", as_json({**LAUNCH, "time_stamp": "1999-12-31 23:59:59"}), 400, "time_stamp"),
    ("far future", as_json({**LAUNCH, "time_stamp": "9999-12-31 23:59:59"}), 400, "time_stamp"),
    ("year one", as_json({**LAUNCH, "time_stamp": "0001-01-01T00:00:00+01:00"}), 400, "time_stamp"),
    # --- the brief's training events ---
    (
        "missing program id",
        as_json(without(START, "training_program_id")),
        400,
        "training_program_id",
    ),
    (
        "number program id",
        as_json({**START, "training_program_id": 2352}),
        400,
        "training_program_id",
    ),
    (
        "257-char title",
        as_json({**START, "training_program_title": "t" * 257}),
        400,
        "training_program_title",
    ),
    (
        "tab in title",
        as_json({**START, "training_program_title": "a\tb"}),
        400,
        "training_program_title",
    ),
    # --- v2 ---
    ("v2 wrong version", as_json({**V2_START, "schema_version": 3}), 400, "schema_version"),
    ("v2 missing event_id", as_json(without(V2_START, "event_id")), 400, "event_id"),
    ("v2 event_id not uuid", as_json({**V2_START, "event_id": "abc"}), 400, "event_id"),
    (
        "v2 naive occurred_at",
        as_json({**V2_START, "occurred_at": "2021-02-28T16:23:25"}),
        400,
        "occurred_at",
    ),
    (
        "v2 brief time field",
        as_json({**without(V2_START, "occurred_at"), "time_stamp": "2021-02-28 16:23:25"}),
        400,
        "occurred_at",
    ),
    ("v2 missing program", as_json(without(V2_START, "training_program")), 400, "training_program"),
    (
        "v2 program not object",
        as_json({**V2_START, "training_program": "2352"}),
        400,
        "training_program",
    ),
    (
        "v2 program without id",
        as_json({**V2_START, "training_program": {"title": "x"}}),
        400,
        "training_program",
    ),
]


@pytest.fixture(scope="module")
def client() -> APIClient:
    return APIClient()


def test_the_battery_has_at_least_40_bad_inputs():
    assert len(BAD_INPUTS) >= 40


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [pytest.param(body, status, field, id=name) for name, body, status, field in BAD_INPUTS],
)
def test_bad_input_gets_its_status_and_names_the_field(client, body, status, field):
    content, content_type = body

    response = client.post("/v1/event", content, content_type=content_type)

    assert response.status_code == status, response.content
    assert field in response.json()


def test_the_service_answers_correctly_after_the_whole_battery(client, delivered):
    for _, (content, content_type), _, _ in BAD_INPUTS:
        client.post("/v1/event", content, content_type=content_type)

    for event in BRIEF_SAMPLE:
        assert client.post("/v1/event", event, format="json").status_code == 202
    assert sorted(n.kind for n in delivered()) == [  # users' deliveries come in any order
        "start_training_reminder",
        "training_dose_congratulation",
    ]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/event", b'{"user_id": "a", "user_id": "b"}'),
        ("/v1/events", b'[{"user_id": "a", "device_id": "d", "device_id": "e"}]'),
        ("/v1/batch", b'{"batch": [], "batch": []}'),
        ("/v1/track", b'{"userId": "a", "userId": "b"}'),
    ],
)
def test_a_duplicate_key_is_a_400_naming_it_not_the_last_one_silently_kept(client, path, body):
    response = client.post(path, body, content_type="application/json")

    assert response.status_code == 400
    assert "duplicate key" in response.json()["detail"]
