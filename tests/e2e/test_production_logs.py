"""The production server's logs as a log pipeline reads them (LOG_FORMAT=json)."""

import json

import pytest
import requests

from tests.e2e.conftest import GUNICORN, Server
from tests.redis_server import REDIS_URL, delete_prefix, require_redis, unique_prefix
from tests.sample import BRIEF_SAMPLE

pytestmark = pytest.mark.e2e


def test_every_line_is_json_with_access_lines_and_traceable_notifications(server_env, standin):
    server_env.update(LOG_FORMAT="json", LOG_LEVEL="INFO")
    production = Server(GUNICORN, server_env)
    try:
        for event in BRIEF_SAMPLE:
            headers = {"X-Request-ID": "sample-run-1"}
            requests.post(f"{production.url}/v1/event", json=event, headers=headers, timeout=10)
        standin.wait_for(2, timeout=15)
    finally:
        output = production.stop()

    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "eventsproject.access"]
    sent = [
        line
        for line in lines
        if line["message"].startswith("notification") and "sent" in line["message"]
    ]
    assert {line["request_id"] for line in access} >= {"sample-run-1"}
    assert {(line["method"], line["path"], line["status"]) for line in access} >= {
        ("POST", "/v1/event", 202)
    }
    assert len(sent) == 2
    assert all(line["notification_id"] and line["event_ids"] for line in sent)
    assert any(line["logger"].startswith("gunicorn") for line in lines)


def test_the_production_command_reads_its_own_settings_from_dot_env_too(
    server_env, tmp_path, redis_prefix_env
):
    dotenv = tmp_path / ".env"
    dotenv.write_text("WEB_CONCURRENCY=2\nLOG_FORMAT=json\n")
    server_env.update(redis_prefix_env, EVENTS_DOTENV=str(dotenv))
    for name in ("WEB_CONCURRENCY", "LOG_FORMAT"):
        server_env.pop(name, None)

    output = Server(GUNICORN, server_env).stop()

    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    booted = [line for line in lines if line["message"].startswith("Booting worker")]
    assert len(booted) == 2


@pytest.fixture
def redis_prefix_env():
    client = require_redis()
    prefix = unique_prefix()
    yield {"EVENTS_STORE": "redis", "REDIS_URL": REDIS_URL, "EVENTS_REDIS_PREFIX": prefix}
    delete_prefix(client, prefix)
