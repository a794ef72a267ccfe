"""Probes, the access log with request ids, and request metrics."""

import json
import logging
import os
import time
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from events.ports import StoreUnavailable
from eventsproject import serving
from eventsproject.platform import logs
from tests.sample import BRIEF_SAMPLE


@pytest.fixture
def client() -> APIClient:
    return APIClient()


@pytest.mark.parametrize("path", ["/v1/health/live", "/v1/health/ready"])
def test_probes_answer_whatever_host_the_prober_uses(client, path):
    answer = client.get(path, HTTP_HOST="10.1.2.3:8000")

    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_other_paths_still_refuse_an_unknown_host(client):
    assert client.get("/v1/health", HTTP_HOST="10.1.2.3:8000").status_code == 400


def test_ready_is_503_while_shutting_down_or_when_delivery_stopped(client, parts, monkeypatch):
    monkeypatch.setattr(serving, "_started", SimpleNamespace(is_set=lambda: True))
    parts.dispatcher.close(timeout=0)

    stopped = client.get("/v1/health/ready")
    monkeypatch.setattr(serving, "_stopping", SimpleNamespace(is_set=lambda: True))
    stopping = client.get("/v1/health/ready")
    live = client.get("/v1/health/live")

    assert (stopped.status_code, stopping.status_code, live.status_code) == (503, 503, 200)
    assert stopped.json()["checks"]["delivery"] is False
    assert stopping.json()["checks"]["accepting"] is False


def test_ready_is_503_when_the_store_cannot_be_reached(client, parts, monkeypatch):
    def unreachable():
        raise StoreUnavailable("store down")

    monkeypatch.setattr(parts.queries, "event_counts", unreachable)

    answer = client.get("/v1/health/ready")

    assert answer.status_code == 503
    assert answer.json()["checks"]["store"] is False


def test_every_request_gets_one_access_line_with_its_request_id(client, caplog):
    caplog.set_level(logging.INFO, logger="eventsproject.access")

    given = client.post(
        "/v1/event", BRIEF_SAMPLE[0], format="json", HTTP_X_REQUEST_ID="req-42.from_the-gateway"
    )
    made = client.get("/v1/health")

    lines = [record for record in caplog.records if record.name == "eventsproject.access"]
    assert given["X-Request-ID"] == "req-42.from_the-gateway"
    assert len(made["X-Request-ID"]) == 32
    assert [(line.method, line.path, line.status) for line in lines] == [
        ("POST", "/v1/event", 202),
        ("GET", "/v1/health", 200),
    ]
    assert [line.request_id for line in lines] == ["req-42.from_the-gateway", made["X-Request-ID"]]
    assert all(line.duration_ms >= 0 for line in lines)


@pytest.mark.parametrize("bad", ["x" * 201, "two words", "new\nline", "é"])
def test_an_unusable_request_id_is_replaced_not_echoed(client, bad):
    answer = client.get("/v1/health", HTTP_X_REQUEST_ID=bad)

    assert answer["X-Request-ID"] != bad
    assert len(answer["X-Request-ID"]) == 32


def test_lines_logged_during_a_request_carry_its_id(client, caplog):
    caplog.set_level(logging.INFO)

    for event in BRIEF_SAMPLE:
        client.post("/v1/event", event, format="json", HTTP_X_REQUEST_ID="trace-me")

    decided = [record for record in caplog.records if record.name == "events.service.processing"]
    assert decided
    assert {record.request_id for record in decided} == {"trace-me"}


def test_json_log_lines_hold_the_fields_of_the_line():
    formatter = logs.json_formatter()
    record = logging.LogRecord("eventsproject.access", logging.INFO, "", 0, "GET /x 200", (), None)
    record.request_id, record.status = "abc", 200

    line = json.loads(formatter.format(record))

    assert (line["message"], line["request_id"], line["status"]) == ("GET /x 200", "abc", 200)
    assert (line["level"], line["logger"]) == ("INFO", "eventsproject.access")
    assert "time" in line


def _process_of_a_new_record() -> int | None:
    return logging.getLogRecordFactory()("x", logging.INFO, "", 0, "m", (), None).process


def test_log_records_carry_the_process_id_also_after_a_fork():
    """Taken once per process rather than with a system call per line."""
    logs.install_request_ids()
    assert _process_of_a_new_record() == os.getpid()

    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.write(writing, str(_process_of_a_new_record()).encode())
        os._exit(0)
    os.close(writing)
    os.waitpid(child, 0)
    with os.fdopen(reading) as report:
        assert int(report.read()) == child


def test_request_metrics_count_by_route_and_status(client):
    client.post("/v1/event", BRIEF_SAMPLE[0], format="json")
    client.get("/v1/users/foo2")
    client.get("/v1/nowhere")

    exposition = client.get("/metrics").content.decode()

    assert 'http_requests_total{method="POST",route="v1/event",status="202"}' in exposition
    assert 'route="v1/users/<str:user_id>"' in exposition
    assert 'route="unmatched",status="404"' in exposition
    assert "http_request_duration_seconds_bucket" in exposition


def test_notification_lines_carry_the_notification_and_its_events(client, delivered, caplog):
    caplog.set_level(logging.INFO)
    for event in BRIEF_SAMPLE:
        client.post("/v1/event", event, format="json")

    [congratulation] = [n for n in delivered() if n.minutes]

    def lines_saying(word: str) -> list[logging.LogRecord]:
        about = congratulation.notification_id
        return [
            r
            for r in caplog.records
            if getattr(r, "notification_id", None) == about and word in r.msg
        ]

    deadline = time.monotonic() + 5  # the dispatcher logs right after it settles the entry
    while not lines_saying("sent") and time.monotonic() < deadline:
        time.sleep(0.01)
    queued, sent = lines_saying("queued"), lines_saying("sent")
    expected_events = [event.event_id for event in congratulation.reason.events]
    assert [line.event_ids for line in queued + sent] == [expected_events, expected_events]


def test_metrics_are_served_while_the_store_cannot_be_reached(client, parts, monkeypatch):
    def unreachable():
        raise StoreUnavailable("store down")

    monkeypatch.setattr(parts.outbox, "counts", unreachable)

    answer = client.get("/metrics")

    assert answer.status_code == 200
    assert b"notify_circuit_breaker_state" in answer.content
