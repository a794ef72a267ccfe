"""Metrics and health are true across processes: gunicorn's workers are summed, and
`run_workers` answers for the delivery it runs, on a port of its own."""

import os
import time
import uuid
from datetime import UTC, datetime

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import GUNICORN, Server

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


def _health(url: str) -> int | None:
    try:
        return requests.get(f"{url}/v1/health", timeout=5).status_code
    except requests.ConnectionError:  # not listening yet
        return None
