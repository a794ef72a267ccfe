"""Requests the production server cannot read as HTTP: answered in JSON like every other
answer, counted, and logged without the client's address (SECURITY.md)."""

import json
import os
import socket

import pytest
import requests

from tests.e2e.conftest import GUNICORN, Server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def production_server():
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(SECRET_KEY="a-key-for-the-end-to-end-tests-only-long-enough-for-its-bar-x")
    env.update(EVENTS_ALLOW_ANONYMOUS="true")
    server = Server(GUNICORN, env)
    yield server
    server.stop()
    server.log.close()


UNREADABLE = {
    "a bad request line": (b"GARBAGE\r\n\r\n", 400),
    "a bad method": (b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "a bad header name": (b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n", 400),
    "a request line too long": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "too many headers": (
        b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(120))
        + b"\r\n",
        431,
    ),
    "an unknown transfer coding": (
        b"POST /v1/event HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: magic\r\n\r\n",
        501,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", UNREADABLE)
def test_a_request_that_is_not_http_is_answered_in_json(production_server, case):
    sent, status = UNREADABLE[case]

    head, body = exchange(production_server, sent)

    assert head.startswith(f"HTTP/1.1 {status} ".encode())
    assert b"Content-Type: application/json" in head
    assert json.loads(body)["detail"]


def test_each_is_counted_and_logged_without_the_client_s_address_or_what_it_sent(
    production_server,
):
    exchange(production_server, b"GARBAGE\r\n\r\n")
    head, body = exchange(
        production_server, b"GET /?key=s3cr3t HTTP/1.1\r\nAuthorization Bearer s3cr3t\r\n\r\n"
    )
    metrics = requests.get(f"{production_server.url}/metrics", timeout=10).text

    assert 'http_unreadable_requests_total{status="400"}' in metrics
    assert "Invalid request" not in production_server.output()
    assert "ip=" not in production_server.output()
    assert b"s3cr3t" not in head + body
    assert "s3cr3t" not in production_server.output()


def exchange(server: Server, sent: bytes) -> tuple[bytes, bytes]:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(sent)
        answer = b""
        while chunk := sock.recv(65536):  # until the server closes
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body
