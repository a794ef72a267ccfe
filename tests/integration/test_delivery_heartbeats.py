"""On Redis, the processes that deliver beat; a web process that leaves delivery to them
shows their beats in `/v1/health` and `/metrics` instead of a breaker it does not run."""

import pytest
from rest_framework.test import APIClient

from eventsproject import reporting, serving
from eventsproject.platform.heartbeats import this_process
from eventsproject.platform.redis import RedisHeartbeats
from tests.integration.test_metrics import value
from tests.redis_server import REDIS_URL, require_redis


@pytest.fixture
def client() -> APIClient:
    return APIClient()


@pytest.fixture
def store_kind() -> str:
    return "redis"


@pytest.fixture
def web_only(settings):
    settings.EVENTS_WEB_RUNS_WORKERS = False


def test_with_no_delivery_process_beating_a_web_process_that_leaves_delivery_is_degraded(
    client, web_only
):
    answer = client.get("/v1/health")

    assert answer.status_code == 503
    delivery = answer.json()["delivery"]
    assert delivery == {"status": "missing", "last_heartbeat_seconds_ago": None, "processes": []}
    assert "circuit_breaker" not in answer.json()  # it runs none
    assert value(client, "events_delivery_heartbeat_age_seconds") == float("inf")


def test_a_delivery_processs_beat_is_shown_with_its_breaker(client, parts, web_only):
    parts.heartbeats.beat({"circuit_breaker": "open"})

    answer = client.get("/v1/health")

    assert answer.status_code == 200
    [process] = answer.json()["delivery"]["processes"]
    assert process["process"] == this_process()
    assert process["circuit_breaker"] == "open"
    assert 0 <= process["last_heartbeat_seconds_ago"] < serving.MISSED_BEATS
    assert 0 <= value(client, "events_delivery_heartbeat_age_seconds") < serving.MISSED_BEATS


def test_a_web_process_that_leaves_delivery_shows_no_loops_it_does_not_run(client, web_only):
    report = client.get("/v1/health").json()

    assert report["workers"] == "elsewhere: EVENTS_WEB_RUNS_WORKERS is off (run_workers)"
    assert {"threads", "loops", "stuck", "serving"}.isdisjoint(report)


def test_a_process_that_stops_delivering_is_forgotten(client, parts, web_only):
    parts.heartbeats.beat({"circuit_breaker": "closed"})
    parts.heartbeats.forget()

    assert client.get("/v1/health").json()["delivery"]["processes"] == []


def test_a_beat_is_kept_for_a_while_and_then_dropped(settings, parts):
    client = require_redis(REDIS_URL)
    beats = RedisHeartbeats(client, settings.EVENTS_REDIS_PREFIX, keep_seconds=0.05)
    beats.beat({"circuit_breaker": "closed"})
    client.hset(f"{settings.EVENTS_REDIS_PREFIX}:{{heartbeats}}", "gone:1", b"1000 {}")

    beats.beat({"circuit_breaker": "closed"})

    assert [beat.process for beat in beats.recent()] == [this_process()]


def test_a_process_beats_only_while_its_loops_work(parts, monkeypatch):
    monkeypatch.setattr(serving, "loops_up", lambda: {"ticker": True, "dispatcher": False})
    reporting._beat()
    assert parts.heartbeats.recent() == []

    monkeypatch.setattr(serving, "loops_up", lambda: {"ticker": True, "dispatcher": True})
    reporting._beat()
    assert [beat.report for beat in parts.heartbeats.recent()] == [{"circuit_breaker": "closed"}]


def test_a_web_process_that_delivers_is_judged_by_its_own_loops_not_by_beats(client):
    answer = client.get("/v1/health")

    assert answer.status_code == 200
    assert answer.json()["delivery"]["status"] == "ok"
    assert answer.json()["circuit_breaker"] == "closed"
