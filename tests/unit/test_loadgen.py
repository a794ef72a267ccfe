"""The benchmarks' load generator counts what a server really answered."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from benchmarks import loadgen


class _Answers(BaseHTTPRequestHandler):
    """202 to every body but `fail`, which gets a 500; `drop` closes the connection."""

    protocol_version = "HTTP/1.1"
    bodies: list[bytes] = []
    authorizations: list[str | None] = []
    forwarded: dict[bytes, str | None] = {}

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.bodies.append(body)
        self.authorizations.append(self.headers["Authorization"])
        self.forwarded[body] = self.headers["X-Forwarded-For"]
        if body == b"drop":
            self.close_connection = True
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")  # a head cut short
            return
        answer = b'{"ok": true}' * 3000  # larger than one read
        self.send_response(500 if body == b"fail" else 202)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    _Answers.bodies = []
    _Answers.authorizations = []
    _Answers.forwarded = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_every_body_is_posted_once_and_failures_are_counted(port):
    bodies = [f"event-{n}".encode() for n in range(40)] + [b"fail", b"drop"]

    result = loadgen.run(("127.0.0.1", port), "/v1/event", bodies, 4, seconds=30)

    assert sorted(_Answers.bodies) == sorted(bodies)
    assert (result.requests, result.errors) == (42, 2)
    assert len(result.latencies) == 42
    assert set(_Answers.authorizations) == {None}
    assert set(_Answers.forwarded.values()) == {None}


def test_a_token_goes_with_every_request(port):
    loadgen.run(
        ("127.0.0.1", port),
        "/v1/event",
        [b"one", b"two"],
        2,
        seconds=30,
        sender=loadgen.Sender("t0k"),
    )

    assert _Answers.authorizations == ["Bearer t0k", "Bearer t0k"]


def test_each_body_can_come_from_an_address_of_its_own(port):
    bodies = [b"one", b"two", b"three"]
    addresses = ["198.18.0.1", "198.18.0.2", "198.18.0.3"]

    loadgen.run(
        ("127.0.0.1", port), "/v1/event", bodies, 2, 30, loadgen.Sender(forwarded_for=addresses)
    )

    assert _Answers.forwarded == dict(zip(bodies, addresses, strict=True))


def test_no_request_starts_after_the_time_is_up(port):
    result = loadgen.run(("127.0.0.1", port), "/v1/event", [b"late"] * 10, 2, seconds=0)

    assert result.requests == 0
    assert _Answers.bodies == []


def test_the_content_length_is_read_wherever_the_header_is():
    last = b"http/1.1 202 accepted\r\nserver: x\r\ncontent-length: 3600"
    first = b"http/1.1 202 accepted\r\ncontent-length: 12\r\nserver: x"

    assert [loadgen._content_length(head) for head in (last, first)] == [3600, 12]
