"""The slow-client attack on the production server (benchmarks/slow_clients.py, bounded and on
loopback): 200 connections that send nothing, trickle their headers or trickle their body
hold no worker, so normal requests are answered beside them, and the server drops each
attacker once the client time (EVENTS_CLIENT_TIMEOUT_SECONDS) is up."""

import socket

import pytest

from benchmarks.slow_clients import Attack, Target, app_launches, run
from tests.e2e.conftest import GUNICORN, Server

CLIENT_TIMEOUT_SECONDS = 2
ATTACK_SECONDS = 6.0


@pytest.fixture
def production_server(server_env):
    env = {**server_env, "EVENTS_CLIENT_TIMEOUT_SECONDS": str(CLIENT_TIMEOUT_SECONDS)}
    server = Server(GUNICORN, env)
    yield server
    server.stop()
    server.log.close()


@pytest.mark.parametrize("kind", ["idle", "headers", "body"])
def test_normal_requests_are_answered_while_slow_clients_are_dropped(production_server, kind):
    _, address = production_server.url.split("//")
    host, port = address.split(":")
    target = Target(host, int(port), "/v1/event", token="")
    attack = Attack(kind, connections=200, seconds=ATTACK_SECONDS, per_second=200)

    result = run(target, target, app_launches(1000), attack)

    assert result["normal_unanswered"] == 0
    assert result["normal_answered"] >= 10
    assert result["attackers_closed_by_server"] == 200
    # Dropped once their time was up (not at once, and long before the attack ends).
    assert result["attackers_closed_after_median_s"] >= CLIENT_TIMEOUT_SECONDS - 0.5
    assert result["attackers_closed_after_max_s"] < ATTACK_SECONDS


def test_a_body_that_stops_arriving_is_a_408_and_the_connection_is_closed(production_server):
    _, address = production_server.url.split("//")
    host, port = address.split(":")
    head = (
        f"POST /v1/event HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=3 * CLIENT_TIMEOUT_SECONDS) as sock:
        sock.sendall(head.encode() + b'{"user_id"')
        answer = b""
        while chunk := sock.recv(65536):  # until the server closes
            answer += chunk

    status_and_headers, _, body = answer.partition(b"\r\n\r\n")
    assert status_and_headers.startswith(b"HTTP/1.1 408")
    assert b"Connection: close" in status_and_headers
    assert b"stopped arriving" in body
