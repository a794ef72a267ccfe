"""Operations: health, metrics, notification detail and re-sending, serving and gunicorn."""

import io
import threading
from types import SimpleNamespace

import pytest
import responses
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from eventsproject import serving
from notifications.ports import NotificationError
from tests.sample import BRIEF_SAMPLE


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def post_sample(client):
    for event in BRIEF_SAMPLE:
        client.post("/v1/event", event, format="json")


def test_health_is_ok_outside_a_serving_process(client):
    response = client.get("/v1/health")

    assert response.status_code == 200
    assert response.json()["serving"] is False


def test_health_is_503_when_a_serving_process_lost_a_thread(client, parts, monkeypatch):
    monkeypatch.setattr(serving, "_started", SimpleNamespace(is_set=lambda: True))
    parts.dispatcher.close(timeout=0)

    response = client.get("/v1/health")

    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["threads"] == {"ticker": "stopped", "dispatcher": "stopped"}


def test_health_reports_threads_alive_once_started(client, ticker, monkeypatch):
    monkeypatch.setattr(serving, "_started", SimpleNamespace(is_set=lambda: True))
    ticker.start()
    try:
        body = client.get("/v1/health").json()
    finally:
        ticker.stop()

    assert body["status"] == "ok"
    assert body["threads"] == {"ticker": "alive", "dispatcher": "alive"}


def test_metrics_count_events_and_notifications(client, delivered):
    post_sample(client)
    delivered()

    text = client.get("/metrics").content.decode()

    assert 'events_total{outcome="accepted",type="app_launched"}' in text
    assert 'events_decisions_total{outcome="congratulated"}' in text
    assert 'notifications_total{kind="training_dose_congratulation",status="sent"}' in text
    assert 'notification_outbox_depth{status="sent"} 2.0' in text
    assert "notification_delivery_seconds_bucket" in text
    assert "# TYPE events_decisions_total counter" in text
    assert 'notify_circuit_breaker_state{notify_circuit_breaker_state="closed"} 1.0' in text


def test_a_notification_shows_why_it_was_sent(client, delivered):
    post_sample(client)
    [_reminder, congratulation] = delivered()

    detail = client.get(f"/v1/notifications/{congratulation.notification_id}").json()

    assert detail["reason"]["rule"] == "congratulate_training_dose"
    assert [e["type"] for e in detail["reason"]["events"]] == [
        "training_program_started",
        "training_program_finished",
    ]
    assert detail["reason"]["figures"] == {"trained_seconds": 2178, "threshold_minutes": 30}
    assert detail["status"] == "sent"


def test_an_unknown_notification_is_404(client):
    assert client.get("/v1/notifications/nope").status_code == 404
    assert client.post("/v1/notifications/nope/resend").status_code == 404


def test_a_failed_notification_is_resent_with_its_id_and_a_sent_one_is_not(
    client, transport, delivered
):
    transport.error = NotificationError("answered 400", retryable=False)
    post_sample(client)
    delivered()
    failed = client.get("/v1/notifications", {"status": "failed"}).json()["results"]
    assert len(failed) == 2

    transport.error = None
    first_id = failed[0]["notification_id"]
    assert client.post(f"/v1/notifications/{first_id}/resend").status_code == 202

    assert [n.notification_id for n in delivered()] == [first_id]
    assert client.post(f"/v1/notifications/{first_id}/resend").status_code == 409


def test_an_unknown_status_filter_is_400(client):
    assert client.get("/v1/notifications", {"status": "lost"}).status_code == 400


def stopping_serving(monkeypatch) -> None:
    """As a serving process, with events of its own: `stop` leaves other tests unharmed."""
    started = threading.Event()
    started.set()
    monkeypatch.setattr(serving, "_started", started)
    monkeypatch.setattr(serving, "_stopping", threading.Event())


def test_stopping_closes_the_dispatcher_and_the_ticker(parts, monkeypatch):
    stopping_serving(monkeypatch)
    parts.ticker.start()

    serving.stop()
    serving.stop()  # at exit, again: nothing more

    assert not parts.ticker.alive
    assert not parts.dispatcher.alive


def test_a_memory_store_that_stops_logs_what_it_drops(client, parts, monkeypatch, caplog):
    stopping_serving(monkeypatch)
    launch, start = BRIEF_SAMPLE[0], BRIEF_SAMPLE[1]  # foo2 launched, foo1 started
    for event in (launch, start):
        client.post("/v1/event", event, format="json")

    serving.stop()

    assert (
        "the memory store drops 1 open sessions of 1 users and 1 pending reminders at shutdown"
        in caplog.text
    )


API = "http://service.test"


def resend(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("resend_notifications", *args, "--api-url", API, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@responses.activate
def test_the_resend_command_resends_every_failed_notification_through_the_api():
    responses.get(
        f"{API}/v1/notifications",
        json={"results": [{"notification_id": "n1"}, {"notification_id": "n2"}], "next": None},
    )
    responses.post(f"{API}/v1/notifications/n1/resend", status=202, json={})
    responses.post(f"{API}/v1/notifications/n2/resend", status=409, json={"detail": "sent"})

    out, err = resend("--all-failed")

    assert "n1: queued again" in out
    assert "n2: 409 sent" in err
    assert "Re-sent 1 out of 2 notifications." in out


@responses.activate
def test_the_resend_command_sends_the_token_when_given():
    responses.post(
        f"{API}/v1/notifications/n1/resend",
        status=202,
        json={},
        match=[responses.matchers.header_matcher({"Authorization": "Bearer t0k"})],
    )

    out, _ = resend("n1", "--token", "t0k")

    assert "Re-sent 1 out of 1" in out


@responses.activate
def test_the_resend_command_uses_the_first_admin_token_by_default(settings):
    settings.EVENTS_ADMIN_TOKENS = ["adm1n", "other"]
    responses.post(
        f"{API}/v1/notifications/n1/resend",
        status=202,
        json={},
        match=[responses.matchers.header_matcher({"Authorization": "Bearer adm1n"})],
    )

    out, _ = resend("n1")

    assert "Re-sent 1 out of 1" in out


@responses.activate
def test_the_resend_command_with_nothing_failed_says_so_and_succeeds():
    responses.get(f"{API}/v1/notifications", json={"results": [], "next": None})

    out, err = resend("--all-failed")

    assert "Nothing to resend: no notification has failed." in out
    assert err == ""


def test_the_resend_command_needs_ids_or_all_failed():
    with pytest.raises(CommandError, match="--all-failed"):
        resend()


@responses.activate
def test_the_resend_command_says_when_the_service_is_unreachable():
    with pytest.raises(CommandError, match="Cannot reach the service"):
        resend("n1")


def test_run_workers_needs_the_redis_store():
    with pytest.raises(CommandError, match="needs EVENTS_STORE=redis"):
        call_command("run_workers")
