"""Metrics and health are true across processes: gunicorn's workers are summed, and
`run_workers` answers for the delivery it runs, on a port of its own."""

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import GUNICORN, PROJECT_ROOT, Server
from tests.wire import free_port

pytestmark = pytest.mark.e2e


def launch(user: str) -> dict:
    return {
        "schema_version": 2,
        "event_id": str(uuid.uuid4()),
        "type": "app_launched",
        "occurred_at": datetime.now(UTC).isoformat(),
        "user_id": user,
        "device_id": f"device-of-{user}",
    }


def samples(url: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape, on a connection of its own (so any worker may answer)."""
    text = requests.get(f"{url}/metrics", headers={"Connection": "close"}, timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


ACCEPTED = ("events_total", (("outcome", "accepted"), ("type", "app_launched")))
POSTED = ("http_requests_total", (("method", "POST"), ("route", "v1/event"), ("status", "202")))


def eventually(read, expected, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while (found := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def test_two_workers_are_summed_in_every_scrape_whichever_worker_answers(redis_env, tmp_path):
    redis_env["TMPDIR"] = str(tmp_path)  # where the server makes its metrics directory
    server = Server(GUNICORN, redis_env, "-w", "2")
    posted = 40
    try:
        for n in range(posted):  # a connection each: both workers take some
            answer = requests.post(
                f"{server.url}/v1/event",
                json=launch(f"user-{n}"),
                headers={"Connection": "close"},
                timeout=10,
            )
            assert answer.status_code == 202
        # Each worker publishes its event tallies within a second.
        assert eventually(lambda: samples(server.url).get(ACCEPTED), posted) == posted
        scrapes = [samples(server.url) for _ in range(8)]
        during = os.listdir(tmp_path)
    finally:
        log = server.stop()

    assert {scrape[ACCEPTED] for scrape in scrapes} == {posted}, log
    assert {scrape[POSTED] for scrape in scrapes} == {posted}
    assert {scrape[("events_store_up", ())] for scrape in scrapes} == {1}
    assert [name.startswith("events-metrics-") for name in during] == [True]
    assert os.listdir(tmp_path) == []  # removed when the server exits


def test_the_worker_that_answers_counts_its_own_events_up_to_the_last(server_env):
    server = Server(GUNICORN, server_env)  # the memory store: one worker
    try:
        with requests.Session() as session:
            for n in range(5):
                session.post(f"{server.url}/v1/event", json=launch(f"user-{n}"), timeout=10)
        scraped = samples(server.url)  # at once: no second to wait for
    finally:
        server.stop()

    assert scraped[ACCEPTED] == 5
    assert scraped[("events_rules_info", (("version", "built-in"),))] == 1


def test_counts_outlive_a_worker_that_a_reload_replaces(server_env):
    server = Server(GUNICORN, server_env)
    try:
        for n in range(3):
            requests.post(f"{server.url}/v1/event", json=launch(f"before-{n}"), timeout=10)
        server.process.send_signal(signal.SIGHUP)  # a new worker, the old one exits
        assert eventually(lambda: server.output().count("Booting worker with pid"), 2) == 2
        assert eventually(lambda: server.output().count("Worker exiting"), 1) == 1
        for n in range(2):
            requests.post(f"{server.url}/v1/event", json=launch(f"after-{n}"), timeout=10)
        scraped = samples(server.url)
    finally:
        log = server.stop()

    assert scraped[ACCEPTED] == 5, log


def test_run_workers_answers_for_its_delivery_and_the_web_tier_shows_its_heartbeat(redis_env):
    redis_env["EVENTS_WEB_RUNS_WORKERS"] = "false"
    server = Server(GUNICORN, redis_env, "-w", "2")
    address = f"127.0.0.1:{free_port()}"
    workers = None
    try:
        before = requests.get(f"{server.url}/v1/health", timeout=10)
        workers = subprocess.Popen(
            [sys.executable, "manage.py", "run_workers"],
            cwd=PROJECT_ROOT,
            env={**redis_env, "EVENTS_WORKERS_HTTP_ADDRESS": address},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        own = eventually(lambda: _health(f"http://{address}"), 200)
        workers_health = requests.get(f"http://{address}/v1/health", timeout=10).json()
        workers_metrics = samples(f"http://{address}")
        ready = requests.get(f"http://{address}/v1/health/ready", timeout=10)
        web = eventually(lambda: _health(server.url), 200)
        web_health = requests.get(f"{server.url}/v1/health", timeout=10).json()
        web_metrics = samples(server.url)
    finally:
        if workers is not None:
            workers.send_signal(signal.SIGTERM)
            output, _ = workers.communicate(timeout=30)
        server.stop()

    assert before.status_code == 503  # no delivery process yet
    assert before.json()["delivery"]["status"] == "missing"
    assert (own, ready.status_code, web) == (200, 200, 200)
    assert workers_health["circuit_breaker"] == "closed"
    breaker = ("notify_circuit_breaker_state", (("notify_circuit_breaker_state", "closed"),))
    assert workers_metrics[breaker] == 1
    assert workers_metrics[("events_background_loop_up", (("loop", "dispatcher"),))] == 1
    assert breaker not in web_metrics  # the web tier runs no breaker
    [process] = web_health["delivery"]["processes"]
    assert process["process"].endswith(f":{workers.pid}")
    assert process["circuit_breaker"] == "closed"
    assert web_metrics[("events_delivery_heartbeat_age_seconds", ())] < 5
    assert workers.returncode == 0, output


def _health(url: str) -> int | None:
    try:
        return requests.get(f"{url}/v1/health", timeout=5).status_code
    except requests.ConnectionError:  # not listening yet
        return None


def test_every_kind_of_notification_is_counted_from_zero_so_the_first_dead_letter_shows(
    server_env,
):
    """`increase()` cannot see a series that is born at 1: the dead-letter alert watches
    `notifications_total{status="failed"}`, so it must exist before the first one fails."""
    server = Server(GUNICORN, server_env)
    try:
        scrape = samples(server.url)
    finally:
        server.stop()

    counted = {
        labels
        for (name, labels) in scrape
        if name == "notifications_total" and scrape[name, labels] == 0
    }
    expected = {
        (("kind", kind), ("status", status))
        for kind in ("start_training_reminder", "training_dose_congratulation")
        for status in ("failed", "queued", "sent")
    }
    assert counted == expected
