"""`run_workers`' own HTTP server: /metrics and health on a port of its own."""

import socket

import pytest
import requests
from django.core.management import CommandError, call_command

from eventsproject.status_server import StatusServer


@pytest.fixture
def status():
    server = StatusServer("127.0.0.1:0")  # any free port
    server.start()
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def test_it_serves_metrics_health_and_the_probes(status):
    metrics = requests.get(f"{status}/metrics", timeout=5)
    health = requests.get(f"{status}/v1/health?verbose=1", timeout=5)
    probes = [requests.get(f"{status}/v1/health/{probe}", timeout=5) for probe in ("live", "ready")]

    assert metrics.status_code == 200
    assert "notification_retry_budget_seconds" in metrics.text
    assert metrics.headers["Content-Type"].startswith("text/plain")
    assert (health.status_code, health.json()["store"]["reachable"]) == (200, True)
    assert [probe.json()["status"] for probe in probes] == ["ok", "ok"]


def test_anything_else_is_not_found(status):
    assert requests.get(f"{status}/v1/event", timeout=5).status_code == 404
    assert requests.head(f"{status}/metrics", timeout=5).status_code == 200


@pytest.mark.parametrize("store_kind", ["redis"], indirect=True)
def test_run_workers_stops_with_one_line_when_its_port_is_taken(settings, store_kind):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings.EVENTS_WORKERS_HTTP_ADDRESS = f"127.0.0.1:{taken.getsockname()[1]}"

        with pytest.raises(CommandError, match="set EVENTS_WORKERS_HTTP_ADDRESS to a free"):
            call_command("run_workers")
