"""A Redis that comes back empty (restarted without persistence, flushed, failed over to an
empty replica): the production server notices, says so once, and delivers again by itself."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
import requests

from tests.e2e.conftest import GUNICORN, Server
from tests.e2e.test_redis_processes import event
from tests.redis_server import own_redis

pytestmark = pytest.mark.e2e


@pytest.fixture
def empty_redis(tmp_path):
    with own_redis(tmp_path) as server:  # no persistence: a restart comes back empty
        yield server


@pytest.fixture
def server(server_env, empty_redis):
    server_env.update(
        EVENTS_STORE="redis",
        REDIS_URL=empty_redis.url,
        EVENTS_TIMER_SHARDS="2",
        EVENTS_TICK_SECONDS="0.2",
        EVENTS_BATCH_THROTTLE_RATE="",
    )
    running = Server(GUNICORN, server_env, "-w", "1")
    yield running
    if running.process.poll() is None:
        running.stop()
    running.log.close()


def congratulate(server: Server, user: str) -> None:
    start = datetime.now(UTC) - timedelta(minutes=50)
    for kind, at in (("training_program_started", start), ("training_program_finished", None)):
        body = event(kind, user, 0, occurred_at=(at or start + timedelta(minutes=45)).isoformat())
        response = requests.post(f"{server.url}/v1/event", json=body, timeout=10)
        assert response.status_code == 202, response.text


def health(server: Server) -> requests.Response:
    return requests.get(f"{server.url}/v1/health", timeout=10)


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def store_resets(server: Server) -> float:
    metrics = requests.get(f"{server.url}/metrics", timeout=10).text
    lines = [line for line in metrics.splitlines() if line.startswith("events_store_resets_total")]
    return float(lines[0].split()[-1]) if lines else 0.0


def test_a_redis_restarted_empty_heals_and_health_is_degraded_meanwhile(
    server, empty_redis, standin
):
    congratulate(server, "before")
    standin.wait_for(1, timeout=15)

    empty_redis.stop()
    assert wait_for(lambda: "dispatcher" in health(server).json()["stuck"], timeout=15)
    assert health(server).status_code == 503
    empty_redis.start()
    congratulate(server, "after")
    received = standin.wait_for(2, timeout=30)
    assert wait_for(lambda: health(server).status_code == 200, timeout=10)
    log = server.stop()

    assert [r.payload["user_id"] for r in received] == ["before", "after"]
    assert log.count("Redis lost its data") == 1, log
    assert "NOGROUP" not in log


def test_a_flushed_redis_heals_within_seconds_and_is_counted(server, empty_redis, standin):
    congratulate(server, "before")
    standin.wait_for(1, timeout=15)

    redis.Redis.from_url(empty_redis.url).flushdb()
    congratulate(server, "after")
    received = standin.wait_for(2, timeout=30)
    resets = store_resets(server)
    log = server.stop()

    assert [r.payload["user_id"] for r in received] == ["before", "after"]
    assert resets == 1
    assert log.count("Redis lost its data") == 1, log
