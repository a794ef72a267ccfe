"""Redis out of reach: 503 with Retry-After, health says so, and nothing is lost after."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from eventsproject import bootstrap
from notifications.domain.notification import NotificationKind
from tests.redis_server import own_redis
from tests.sample import BRIEF_SAMPLE
from tests.wire import free_port, post, v2_event


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def redis_parts(settings, transport, url):
    settings.EVENTS_STORE = "redis"
    settings.REDIS_URL = url
    settings.EVENTS_TIMER_SHARDS = 2
    return bootstrap.installed(bootstrap.build(transport=transport))


def test_an_unreachable_redis_is_a_503_with_retry_after_and_health_says_so(
    client, settings, transport, caplog
):
    with redis_parts(settings, transport, f"redis://127.0.0.1:{free_port()}/0"):
        response = post(client, "/v1/event", v2_event(occurred_at="2021-02-28T16:00:00Z"))
        health = client.get("/v1/health")

    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.json() == {"detail": "The state store is unavailable; retry later."}
    assert health.status_code == 503
    assert health.json()["store"]["reachable"] is False
    assert "does not answer" in caplog.text


def test_a_batch_into_an_unreachable_redis_is_a_503(client, settings, transport):
    batch = [v2_event(occurred_at="2021-02-28T16:00:00Z"), v2_event(type="app_launch")]
    with redis_parts(settings, transport, f"redis://127.0.0.1:{free_port()}/0"):
        response = post(client, "/v1/events", batch)

    assert response.status_code == 503
    assert response["Retry-After"] == "2"


def test_when_redis_comes_back_processing_goes_on_with_nothing_lost(
    client, settings, transport, delivered, tmp_path
):
    durable = ("--appendonly", "yes", "--appendfsync", "always")
    with (
        own_redis(tmp_path, *durable) as server,
        redis_parts(settings, transport, server.url) as parts,
    ):
        parts.dispatcher.start()
        started = v2_event(occurred_at="2021-02-28T16:00:00Z")
        finished = v2_event(type="training_program_finished", occurred_at="2021-02-28T16:40:00Z")
        assert post(client, "/v1/event", started).status_code == 202

        server.stop()
        assert post(client, "/v1/event", finished).status_code == 503
        server.start()

        assert post(client, "/v1/event", finished).status_code == 202
        assert post(client, "/v1/event", started).status_code == 200  # still seen
        assert parts.dispatcher.flush(timeout=10)
        parts.dispatcher.close(timeout=0)

    assert [n.kind for n in transport.sent] == [NotificationKind.TRAINING_DOSE_CONGRATULATION]


def test_a_replay_into_an_unreachable_redis_says_so_in_one_message(settings, transport, tmp_path):
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps(BRIEF_SAMPLE))

    with (
        redis_parts(settings, transport, f"redis://127.0.0.1:{free_port()}/0"),
        pytest.raises(CommandError, match=r"The state store \(redis\) does not answer"),
    ):
        call_command("replay_events", str(sample), stdout=io.StringIO(), stderr=io.StringIO())


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    client, settings, transport, tmp_path, caplog
):
    with (
        own_redis(tmp_path) as server,
        redis_parts(settings, transport, server.url),
    ):
        assert post(client, "/v1/event", v2_event()).status_code == 202
        server.stop()
        before = redis_failures()
        caplog.clear()
        statuses = {post(client, "/v1/event", v2_event()).status_code for _ in range(20)}
        during = caplog.text
        server.start()
        assert post(client, "/v1/event", v2_event()).status_code == 202

    assert statuses == {503}
    assert redis_failures() - before >= 20
    assert during.count("Redis failed: ") == 1
    assert "Traceback" not in during
    assert "Service Unavailable" not in during  # the access line has each 503
    assert caplog.text.count("Redis works again after ") == 1


def redis_failures() -> float:
    return REGISTRY.get_sample_value("events_redis_connect_failures_total") or 0.0
