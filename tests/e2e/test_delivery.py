"""The delivery pipeline over real sockets, against a notify stand-in told how to misbehave."""

import subprocess
import time

import pytest
import requests

from notifications.management.standin import Answer, NotifyStandIn
from tests.e2e.conftest import GUNICORN, PROJECT_ROOT, Server
from tests.e2e.test_brief_sample import wait_for_notifications
from tests.sample import BRIEF_SAMPLE

pytestmark = pytest.mark.e2e

LAUNCH = BRIEF_SAMPLE[0]
PAST_ITS_DEADLINE = {**BRIEF_SAMPLE[2], "time_stamp": "2021-02-28 16:40:00"}


def all_sent(entries) -> bool:
    return all(entry["status"] == "sent" for entry in entries)


def post(server, event):
    return requests.post(f"{server}/v1/event", json=event, timeout=10)


def trigger_one_reminder(server):
    assert post(server, LAUNCH).status_code == 202
    assert post(server, PAST_ITS_DEADLINE).status_code == 202


def test_a_slow_notify_service_does_not_slow_down_ingestion(server, standin):
    standin.answer = Answer(delay_seconds=1.0)

    started = time.monotonic()
    trigger_one_reminder(server)
    ingestion_took = time.monotonic() - started

    assert ingestion_took < 0.9
    [entry] = wait_for_notifications(server, lambda found: found[0]["status"] == "sent")
    assert time.monotonic() - started >= 1.0
    assert entry["attempts"] == 1


def test_refused_connections_then_recovery_deliver_each_notification_once(server, standin):
    port = int(standin.url.split(":")[2].split("/")[0])
    standin.stop()
    for event in BRIEF_SAMPLE:
        assert post(server, event).status_code == 202
    wait_for_notifications(server, lambda found: all(e["attempts"] >= 1 for e in found))

    recovered = NotifyStandIn(port=port).start()
    try:
        received = recovered.wait_for(2, timeout=15)
        time.sleep(0.5)  # anything extra would arrive now
        assert len(recovered.received) == 2
    finally:
        recovered.stop()

    keys = [r.idempotency_key for r in received]
    assert sorted(keys) == sorted({r.payload["notification_id"] for r in received})
    entries = wait_for_notifications(
        server, lambda found: all(e["status"] == "sent" for e in found)
    )
    assert all(e["attempts"] >= 2 for e in entries)


def test_a_400_is_not_retried_fails_visibly_and_a_resend_delivers_it(server, standin):
    standin.answer = Answer(status=400)
    trigger_one_reminder(server)

    [entry] = wait_for_notifications(server, lambda found: found[0]["status"] == "failed")
    assert entry["attempts"] == 1
    assert "400" in entry["last_error"]
    assert len(standin.attempts) == 1

    standin.answer = Answer()
    notification_id = entry["notification_id"]
    resent = requests.post(f"{server}/v1/notifications/{notification_id}/resend", timeout=5)
    assert resent.status_code == 202

    [received] = standin.wait_for(1)
    assert received.idempotency_key == notification_id
    wait_for_notifications(server, lambda found: found[0]["status"] == "sent")


def test_a_429_with_retry_after_is_retried_no_sooner_than_asked(server, standin):
    standin.answer = Answer(status=429, retry_after=1)
    trigger_one_reminder(server)
    standin.wait_for_attempts(1)
    standin.answer = Answer()

    [received] = standin.wait_for(1, timeout=10)

    first_attempt = standin.attempts[0].at_monotonic
    assert received.at_monotonic - first_attempt >= 1.0
    assert received.idempotency_key == standin.attempts[0].idempotency_key


def breaker_state(server) -> str:
    return requests.get(f"{server}/v1/health", timeout=5).json()["circuit_breaker"]


def test_a_failing_notify_service_opens_the_breaker_which_closes_after_recovery(server, standin):
    standin.answer = Answer(status=503)
    for event in BRIEF_SAMPLE:
        post(server, event)

    deadline = time.monotonic() + 10
    while breaker_state(server) != "open" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert breaker_state(server) == "open"
    attempts_when_open = len(standin.attempts)
    time.sleep(0.3)  # within the 0.5 s cool-down: no attempt at all
    assert len(standin.attempts) == attempts_when_open

    standin.answer = Answer()
    standin.wait_for(2, timeout=10)
    wait_for_notifications(server, all_sent)
    assert breaker_state(server) == "closed"
    metrics = requests.get(f"{server}/metrics", timeout=5).text
    assert 'notify_circuit_breaker_state{notify_circuit_breaker_state="closed"} 1.0' in metrics


def test_sigterm_delivers_what_is_pending_before_exiting(server_process, standin):
    standin.answer = Answer(delay_seconds=0.5)
    trigger_one_reminder(server_process.url)

    output = server_process.stop()

    assert len(standin.received) == 1
    assert "0 notifications undelivered" in output


def test_sigterm_logs_what_it_could_not_deliver(server_process, standin):
    standin.answer = Answer(status=503)
    trigger_one_reminder(server_process.url)
    standin.wait_for(1, timeout=2)

    output = server_process.stop()

    assert "undelivered at shutdown" in output
    assert "1 notifications undelivered" in output


def test_the_production_command_serves_the_brief_sample(server_env, standin):
    production = Server(GUNICORN, server_env)
    try:
        for event in BRIEF_SAMPLE:
            assert post(production.url, event).status_code == 202
        received = standin.wait_for(2)
    finally:
        output = production.stop()
        production.log.close()

    assert [r.payload["kind"] for r in received] == [
        "start_training_reminder",
        "training_dose_congratulation",
    ]
    assert "0 notifications undelivered" in output


def test_the_production_command_refuses_several_workers_with_the_memory_store(server_env):
    refused = subprocess.run(
        [*GUNICORN, "-w", "2", "-b", "127.0.0.1:0"],
        cwd=PROJECT_ROOT,
        env=server_env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert refused.returncode != 0
    assert "Set EVENTS_STORE=redis" in refused.stdout + refused.stderr
