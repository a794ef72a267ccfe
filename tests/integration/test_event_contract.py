"""Event contract v2: both formats, idempotency, batches, limits, auth and the read views."""

from datetime import UTC, datetime, timedelta
from ipaddress import ip_network

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.sample import BRIEF_SAMPLE
from tests.wire import post, v2_event

pytestmark = pytest.mark.both_stores


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def test_a_v2_event_is_accepted_and_echoed_normalised(client):
    event = v2_event()

    response = post(client, "/v1/event", event)

    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["format"]) == ("accepted", "v2")
    assert body["event"]["event_id"] == event["event_id"]
    assert body["event"]["training_program_id"] == "2352"
    assert body["event"]["occurred_at"] == "2021-02-28T16:23:25Z"


def test_the_brief_s_format_is_said_to_be_the_legacy_format(client):
    assert post(client, "/v1/event", BRIEF_SAMPLE[0]).json()["format"] == "legacy"


def test_both_formats_become_the_same_domain_event(client, server_time):
    brief = post(client, "/v1/event", BRIEF_SAMPLE[1]).json()["event"]
    v2 = post(client, "/v1/event", v2_event(occurred_at="2021-02-28T16:23:25+00:00")).json()[
        "event"
    ]

    assert v2.pop("utc_offset") == "+00:00"  # as v2's time states it; the brief's never does
    assert {k: v for k, v in brief.items() if k != "event_id"} == {
        k: v for k, v in v2.items() if k != "event_id"
    }


def test_the_sample_in_v2_sends_the_same_two_notifications(client, delivered):
    for event in BRIEF_SAMPLE:
        occurred_at = event["time_stamp"].replace(" ", "T") + "Z"
        program = {"id": event["training_program_id"]} if "training_program_id" in event else None
        v2 = v2_event(
            type={"app_launch": "app_launched"}.get(event["type"], event["type"]),
            occurred_at=occurred_at,
            user_id=event["user_id"],
            device_id=event["device_id"],
            training_program=program,
        )
        if program is None:
            del v2["training_program"]
        assert post(client, "/v1/event", v2).status_code == 202

    assert sorted((n.kind, n.user_id, n.minutes) for n in delivered()) == [
        ("start_training_reminder", "foo2", None),
        ("training_dose_congratulation", "foo1", 36),
    ]


@pytest.mark.parametrize(
    "event", [pytest.param(v2_event(), id="v2"), pytest.param(BRIEF_SAMPLE[1], id="brief")]
)
def test_a_retried_event_is_a_duplicate_and_runs_nothing(client, event, repository):
    first = post(client, "/v1/event", event)
    again = post(client, "/v1/event", event)

    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert repository.event_counts() == {"training_program_started": 1}


def test_a_retry_does_not_notify_twice(client, delivered):
    for event in [*BRIEF_SAMPLE, *BRIEF_SAMPLE]:
        post(client, "/v1/event", event)

    assert len(delivered()) == 2


def test_the_same_event_id_with_other_content_is_a_conflict(client):
    event = v2_event()
    post(client, "/v1/event", event)

    response = post(client, "/v1/event", {**event, "device_id": "another-device"})

    assert response.status_code == 409
    assert response.json()["status"] == "conflict"
    assert "different content" in response.json()["reason"]


def test_the_same_event_id_from_another_user_is_another_event(client):
    event = v2_event()
    post(client, "/v1/event", event)

    response = post(client, "/v1/event", {**event, "user_id": "someone-else"})

    assert response.status_code == 202


def test_the_same_id_for_another_type_is_a_conflict(client):
    event = v2_event()
    post(client, "/v1/event", event)

    assert (
        post(client, "/v1/event", {**event, "type": "training_program_finished"}).status_code == 409
    )


def test_a_batch_answers_one_result_per_event_in_order(client):
    duplicate = v2_event()
    batch = [
        BRIEF_SAMPLE[0],
        duplicate,
        duplicate,
        {**BRIEF_SAMPLE[0], "type": "profile_viewed", "user_id": "x"},
        {"type": "app_launch"},
        "not an event",
    ]

    response = post(client, "/v1/events", batch)

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [
        "accepted",
        "accepted",
        "duplicate",
        "ignored",
        "rejected",
        "rejected",
    ]
    assert set(results[4]["errors"]) == {"user_id", "device_id", "time_stamp"}
    assert "non_field_errors" in results[5]["errors"]


def test_a_batch_is_processed_exactly_like_single_posts(client, delivered):
    assert post(client, "/v1/events", BRIEF_SAMPLE).status_code == 200

    assert sorted((n.kind, n.user_id) for n in delivered()) == [
        ("start_training_reminder", "foo2"),
        ("training_dose_congratulation", "foo1"),
    ]


def test_a_batch_over_500_events_is_413_with_the_limits(client):
    response = post(client, "/v1/events", [BRIEF_SAMPLE[0]] * 501)

    assert response.status_code == 413
    assert response.json()["max_events"] == 500
    assert response.json()["max_bytes"] == 512 * 1024


def test_a_batch_over_512_kb_is_413(client):
    batch = [{**BRIEF_SAMPLE[0], "padding": "x" * 2000}] * 300

    response = post(client, "/v1/events", batch)

    assert response.status_code == 413
    assert response.json()["max_bytes"] == 512 * 1024


def test_a_batch_must_be_an_array(client):
    response = post(client, "/v1/events", BRIEF_SAMPLE[0])

    assert response.status_code == 400
    assert "array" in response.json()["non_field_errors"][0]


def test_an_event_body_over_32_kb_is_413(client):
    response = post(client, "/v1/event", {**BRIEF_SAMPLE[0], "padding": "x" * 33_000})

    assert response.status_code == 413
    assert response.json()["max_bytes"] == 32 * 1024


def test_an_out_of_order_event_is_applied_to_its_users_state(client):
    post(
        client,
        "/v1/event",
        {**BRIEF_SAMPLE[0], "user_id": "foo1", "time_stamp": "2021-02-28 17:00:00"},
    )

    late = post(client, "/v1/event", BRIEF_SAMPLE[1])

    assert late.status_code == 202
    assert client.get("/v1/users/foo1").json()["open_sessions"][0]["training_program_id"] == "2352"


def test_a_reminder_already_sent_stays_sent_when_a_late_start_arrives(client, delivered):
    post(client, "/v1/event", BRIEF_SAMPLE[0])
    post(
        client,
        "/v1/event",
        {**BRIEF_SAMPLE[0], "type": "profile_viewed", "time_stamp": "2021-02-28 16:40:00"},
    )
    post(client, "/v1/event", {**BRIEF_SAMPLE[2], "time_stamp": "2021-02-28 16:25:00"})

    assert [n.kind for n in delivered()] == ["start_training_reminder"]
    decisions = client.get("/v1/users/foo2/decisions").json()["results"]
    assert [d["outcome"] for d in decisions] == ["late_start_after_sent", "sent"]


def test_the_user_view_shows_open_sessions_and_the_pending_reminder(client, server_time):
    post(client, "/v1/event", BRIEF_SAMPLE[0])
    post(
        client,
        "/v1/event",
        {
            **BRIEF_SAMPLE[1],
            "user_id": "foo2",
            "device_id": "bar2",
            "time_stamp": "2021-02-28 16:33:00",
        },
    )

    state = client.get("/v1/users/foo2").json()

    assert state["pending_reminder"] is None
    assert [s["training_program_id"] for s in state["open_sessions"]] == ["2352"]
    post(
        client,
        "/v1/event",
        {
            **BRIEF_SAMPLE[0],
            "user_id": "foo3",
            "device_id": "bar3",
            "time_stamp": "2021-02-28 16:34:00",
        },
    )
    reminder = client.get("/v1/users/foo3").json()["pending_reminder"]
    assert reminder == {
        "launch_event_id": reminder["launch_event_id"],
        "launched_at": "2021-02-28T16:34:00Z",
        "deadline": "2021-02-28T16:44:00Z",
        "due_at": "2026-12-02T12:10:30Z",  # the server's clock, the delay and the lateness
        "device_id": "bar3",
    }


def test_events_can_be_filtered_by_user_and_type(client):
    for event in BRIEF_SAMPLE:
        post(client, "/v1/event", event)

    listed = client.get("/v1/events", {"user_id": "foo2", "type": "training_program_started"})

    assert [e["occurred_at"] for e in listed.json()["results"]] == ["2021-02-28T16:52:00Z"]
    assert listed.json()["count"] == 1


def test_events_are_paginated(client):
    post(client, "/v1/events", BRIEF_SAMPLE)

    page = client.get("/v1/events", {"limit": 2, "offset": 1}).json()

    assert page["count"] == 5
    assert len(page["results"]) == 2
    assert page["next"] is not None


LIMIT_REASON = "Must be a whole number from 1 to 500."
OFFSET_REASON = "Must be a whole number from 0 to 1000000000."


@pytest.mark.parametrize("path", ["/v1/events", "/v1/notifications", "/v1/users/u1/decisions"])
@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"limit": "ten"}, LIMIT_REASON),
        ({"limit": "2.5"}, LIMIT_REASON),
        ({"limit": "0"}, LIMIT_REASON),
        ({"limit": "501"}, LIMIT_REASON),
        ({"limit": ""}, LIMIT_REASON),
        ({"offset": "-1"}, OFFSET_REASON),
        ({"offset": "\u0661"}, OFFSET_REASON),  # an Arabic-Indic digit
        ({"offset": "1000000001"}, OFFSET_REASON),
        ({"offset": "null"}, OFFSET_REASON),
    ],
)
def test_a_page_out_of_bounds_is_refused_with_the_reason(client, path, query, reason):
    response = client.get(path, query)

    assert response.status_code == 400
    assert response.json() == {next(iter(query)): [reason]}


def test_the_page_bounds_are_in_the_schema(client):
    schema = client.get("/v1/schema", HTTP_ACCEPT="application/json").json()

    parameters = schema["paths"]["/v1/notifications"]["get"]["parameters"]
    bounds = {each["name"]: each["schema"] for each in parameters}
    assert bounds["limit"] == {"type": "integer", "minimum": 1, "maximum": 500}
    assert bounds["offset"] == {"type": "integer", "minimum": 0, "maximum": 1_000_000_000}


def test_health_reports_ok_with_counts(client):
    post(client, "/v1/event", BRIEF_SAMPLE[0])

    health = client.get("/v1/health").json()

    assert health["status"] == "ok"
    assert health["events"] == {"app_launched": 1}
    assert health["state"]["pending_reminders"] == 1


class TestThrottling:
    """Limits are per client — its app's token and its address — never per a body field."""

    @pytest.fixture(autouse=True)
    def throttled(self, settings):
        cache.clear()
        settings.EVENTS_THROTTLE_RATE = "3/min"
        settings.EVENTS_BATCH_THROTTLE_RATE = "1/min"
        yield
        cache.clear()

    @staticmethod
    def launch(n: int, device: str = "bar2") -> dict:
        return {**BRIEF_SAMPLE[0], "device_id": device, "time_stamp": f"2021-02-28 16:2{n}:00"}

    def test_a_client_over_its_rate_gets_429_with_retry_after(self, client):
        statuses = [post(client, "/v1/event", self.launch(n)) for n in range(4)]

        assert [r.status_code for r in statuses] == [202, 202, 202, 429]
        assert int(statuses[-1].headers["Retry-After"]) > 0

    def test_a_new_device_id_in_each_body_does_not_escape_the_limit(self, client):
        statuses = [post(client, "/v1/event", self.launch(n, f"device-{n}")) for n in range(4)]

        assert statuses[-1].status_code == 429

    def test_posting_with_a_victim_s_device_id_does_not_throttle_the_victim(self, client):
        for n in range(4):
            post(client, "/v1/event", self.launch(n, "victim"), REMOTE_ADDR="198.51.100.7")

        victim = post(client, "/v1/event", self.launch(9, "victim"), REMOTE_ADDR="203.0.113.9")

        assert victim.status_code == 202

    def test_the_addresses_of_one_ipv6_network_share_one_allowance(self, client):
        # An IPv6 client is given a /64 to take addresses from: one each would be no limit.
        same_net = [f"2001:db8:1:2::{n:x}" for n in range(1, 5)]
        statuses = [
            post(client, "/v1/event", self.launch(n), REMOTE_ADDR=address).status_code
            for n, address in enumerate(same_net)
        ]
        other_net = post(client, "/v1/event", self.launch(9), REMOTE_ADDR="2001:db8:1:3::1")

        assert statuses == [202, 202, 202, 429]
        assert other_net.status_code == 202

    def test_each_token_has_its_own_allowance(self, client, settings):
        settings.EVENTS_API_TOKENS = ["app-one", "app-two"]
        for n in range(4):
            post(client, "/v1/event", self.launch(n), HTTP_AUTHORIZATION="Bearer app-one")

        other = post(client, "/v1/event", self.launch(9), HTTP_AUTHORIZATION="Bearer app-two")

        assert other.status_code == 202

    def test_each_device_of_an_app_has_its_own_allowance(self, client, settings):
        # An app's token ships in every copy of the app: it names the app, not a device.
        settings.EVENTS_API_TOKENS = ["the-app"]
        app = {"HTTP_AUTHORIZATION": "Bearer the-app"}
        for n in range(4):
            post(client, "/v1/event", self.launch(n), REMOTE_ADDR="198.51.100.7", **app)

        other_phone = post(client, "/v1/event", self.launch(9), REMOTE_ADDR="203.0.113.9", **app)

        assert other_phone.status_code == 202

    def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(self, client):
        first = post(client, "/v1/events", [BRIEF_SAMPLE[0]], HTTP_X_FORWARDED_FOR="192.0.2.1")
        spoofed = post(client, "/v1/events", [BRIEF_SAMPLE[1]], HTTP_X_FORWARDED_FOR="192.0.2.2")

        assert (first.status_code, spoofed.status_code) == (200, 429)

    def test_a_trusted_proxy_s_x_forwarded_for_names_the_client(self, client, settings):
        settings.EVENTS_TRUSTED_PROXIES = (ip_network("127.0.0.0/8"), ip_network("10.0.0.0/8"))

        def batch(forwarded_for: str):
            return post(client, "/v1/events", [], HTTP_X_FORWARDED_FOR=forwarded_for).status_code

        # The right-most address no trusted proxy owns is the client; what is left of it
        # is the client's own (forgeable) claim.
        assert [
            batch("192.0.2.1"),
            batch("192.0.2.2, 10.1.2.3"),
            batch("6.6.6.6, 192.0.2.1"),
            batch("192.0.2.2"),
        ] == [200, 200, 429, 429]


class TestBearerTokens:
    @pytest.fixture(autouse=True)
    def tokens(self, settings):
        settings.EVENTS_API_TOKENS = ["s3cret", "other"]

    @pytest.mark.parametrize(
        ("header", "status"),
        [
            pytest.param({}, 401, id="no token"),
            pytest.param({"HTTP_AUTHORIZATION": "Bearer wrong"}, 401, id="wrong token"),
            pytest.param({"HTTP_AUTHORIZATION": "Bearer"}, 401, id="bearer without token"),
            pytest.param({"HTTP_AUTHORIZATION": "Bearer ünïcode"}, 401, id="non-ascii token"),
            pytest.param({"HTTP_AUTHORIZATION": "Bearer s3cret"}, 202, id="valid token"),
            pytest.param({"HTTP_AUTHORIZATION": "Bearer other"}, 202, id="another valid token"),
        ],
    )
    def test_ingestion_requires_a_known_token(self, client, header, status):
        response = post(client, "/v1/event", BRIEF_SAMPLE[0], **header)

        assert response.status_code == status
        if status == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")

    def test_health_stays_open(self, client):
        assert client.get("/v1/health").status_code == 200


@pytest.mark.parametrize(
    ("time_stamp", "message"),
    [
        pytest.param("1999-12-31 23:59:59", "before 2000-01-01", id="before 2000"),
        pytest.param("9999-12-31 23:55:00", "ahead of the server's clock", id="far future"),
    ],
)
def test_implausible_timestamps_are_rejected_with_a_clear_error(client, time_stamp, message):
    response = post(client, "/v1/event", {**BRIEF_SAMPLE[0], "time_stamp": time_stamp})

    assert response.status_code == 400
    assert message in response.json()["time_stamp"][0]


def test_a_timestamp_more_than_an_hour_ahead_is_rejected(client):
    # Taken when the test runs: the suite may take longer than the margin past collection.
    later = (datetime.now(UTC) + timedelta(hours=1, minutes=5)).strftime("%Y-%m-%d %H:%M:%S")

    response = post(client, "/v1/event", {**BRIEF_SAMPLE[0], "time_stamp": later})

    assert response.status_code == 400
    assert "ahead of the server's clock" in response.json()["time_stamp"][0]


def test_a_timestamp_within_the_hour_ahead_is_accepted(client):
    soon = (datetime.now(UTC) + timedelta(minutes=50)).strftime("%Y-%m-%d %H:%M:%S")

    assert post(client, "/v1/event", {**BRIEF_SAMPLE[0], "time_stamp": soon}).status_code == 202


@pytest.mark.parametrize("body", [b"null", b'"events"', b"42", b'{"sent_at": null}'])
def test_a_body_that_is_no_batch_is_a_400_that_says_what_a_batch_is(client, body):
    response = client.post("/v1/events", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Expected a JSON array of events, or an object with `events`."]
    }
