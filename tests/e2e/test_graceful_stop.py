"""A graceful stop of the production server waits for the requests in flight, not for the
connections that wait idle for a next request: those are closed after a second's grace, as
a load balancer's pooled connections would otherwise hold every restart for the client
time."""

import http.client
import subprocess

import pytest

from tests.e2e.conftest import GUNICORN, Server

pytestmark = pytest.mark.e2e

#: Long enough that waiting for an idle connection to time out would overrun the stop's wait.
CLIENT_TIMEOUT_SECONDS = 120
STOP_WAIT_SECONDS = 30  # Server.stop's own bound


def connect(url: str) -> http.client.HTTPConnection:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=STOP_WAIT_SECONDS)
    connection.connect()
    return connection


def closed_by_the_server(connection: http.client.HTTPConnection) -> bool:
    """Whether the server ended the connection (a timeout if it keeps it open)."""
    assert connection.sock is not None
    try:
        return connection.sock.recv(1) == b""
    except ConnectionResetError:  # taken off the listener's queue unanswered
        return True


@pytest.fixture
def production_server(server_env):
    env = {**server_env, "EVENTS_CLIENT_TIMEOUT_SECONDS": str(CLIENT_TIMEOUT_SECONDS)}
    server = Server(GUNICORN, env)
    yield server
    if server.process.poll() is None:
        server.kill()
    server.log.close()


def test_idle_connections_are_closed_when_the_server_stops(production_server):
    kept_alive = connect(production_server.url)
    kept_alive.request("GET", "/v1/health/live")
    answer = kept_alive.getresponse()
    assert (answer.status, answer.read(), answer.will_close) == (200, b'{"status": "ok"}', False)
    silent = connect(production_server.url)  # connected, never asked anything

    try:
        log = production_server.stop()
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server waited for its idle connections ({CLIENT_TIMEOUT_SECONDS} s)")

    assert closed_by_the_server(kept_alive)
    assert closed_by_the_server(silent)
    assert "graceful timeout" not in log.lower()
