"""The brief's sample over real sockets: a real server process and a real notify endpoint."""

import time

import pytest
import requests

from tests.sample import BRIEF_SAMPLE

pytestmark = pytest.mark.e2e


def test_the_brief_sample_sends_exactly_two_notifications(server, standin):
    for event in BRIEF_SAMPLE:
        response = requests.post(f"{server}/v1/event", json=event, timeout=5)
        assert response.status_code == 202, response.text

    received = standin.wait_for(2)

    assert len(received) == 2
    reminder, congratulation = (r.payload for r in received)
    assert {key: reminder[key] for key in ("kind", "user_id", "device_id", "triggered_at")} == {
        "kind": "start_training_reminder",
        "user_id": "foo2",
        "device_id": "bar2",
        "triggered_at": "2021-02-28T16:32:52+00:00",
    }
    assert {
        key: congratulation[key]
        for key in ("kind", "user_id", "device_id", "minutes", "triggered_at")
    } == {
        "kind": "training_dose_congratulation",
        "user_id": "foo1",
        "device_id": "bar1",
        "minutes": 36,
        "triggered_at": "2021-02-28T16:59:43+00:00",
    }
    assert "36 minutes" in congratulation["message"]
    assert [r.idempotency_key for r in received] == [
        reminder["notification_id"],
        congratulation["notification_id"],
    ]


def test_bad_input_gets_a_400_and_the_server_keeps_serving(server):
    bad = requests.post(
        f"{server}/v1/event", data="{oops", headers={"Content-Type": "application/json"}, timeout=5
    )
    good = requests.post(f"{server}/v1/event", json=BRIEF_SAMPLE[0], timeout=5)

    assert bad.status_code == 400
    assert "detail" in bad.json()
    assert good.status_code == 202


def test_an_unreachable_notify_service_never_fails_ingestion(server, standin):
    standin.stop()

    for event in BRIEF_SAMPLE:
        assert requests.post(f"{server}/v1/event", json=event, timeout=10).status_code == 202

    entries = wait_for_notifications(server, lambda found: all(e["attempts"] >= 2 for e in found))
    assert [e["status"] for e in entries] == ["pending", "pending"]
    assert all("failed" in e["last_error"] for e in entries)


def wait_for_notifications(server, condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = requests.get(f"{server}/v1/notifications", timeout=5).json()["results"]
        if found and condition(found):
            return found
        time.sleep(0.05)
    raise AssertionError(f"condition not met in {timeout}s: {found}")
