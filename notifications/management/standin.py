"""A local stand-in for the notify service, for `make run` and the end-to-end tests.

It records every `POST /v1/notify` it receives and answers as it is told: a
status, an optional delay and an optional `Retry-After`. Given signing keys, it
verifies each call's Standard Webhooks signature as a real receiver would and
answers `401` to a call without a valid one. It is not the real notify service
and is never used by the running processor itself.
"""

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from eventsproject.platform import signing

NOTIFY_PATH = "/v1/notify"


@dataclass
class Answer:
    status: int = HTTPStatus.OK
    delay_seconds: float = 0.0
    retry_after: int | str | None = None  # seconds, or an HTTP date
    location: str | None = None  # where a redirect points


@dataclass(frozen=True)
class Received:
    payload: dict[str, Any]
    idempotency_key: str | None
    at_monotonic: float
    headers: dict[str, str]  # names in lower case
    body: bytes = b""
    verified: bool | None = None  # None: no keys to verify with
    peer: str = ""  # the sender's address and port: one per connection


REFUSED = Answer(status=HTTPStatus.UNAUTHORIZED)


class NotifyStandIn:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        on_receive: Callable[[Received], None] | None = None,
        keys: tuple[bytes, ...] = (),
        on_refuse: Callable[[Received], None] | None = None,
    ) -> None:
        self.answer = Answer()
        self.keys = keys
        self.received: list[Received] = []  # notifications it accepted (answered 2xx)
        self.attempts: list[Received] = []  # every request, whatever it answered
        self._on_receive = on_receive
        self._on_refuse = on_refuse
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.standin = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{NOTIFY_PATH}"

    def start(self) -> "NotifyStandIn":
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.05)  # so that `stop` returns at once

    def stop(self) -> None:
        """Stop listening and drop open keep-alive connections: the service is gone."""
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until at least `count` notifications were accepted; return them all."""
        return self._wait(self.received, count, timeout)

    def wait_for_attempts(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until at least `count` requests arrived, whatever they were answered."""
        return self._wait(self.attempts, count, timeout)

    def _wait(self, seen: list[Received], count: int, timeout: float) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(seen) < count:
            time.sleep(0.02)
        with self._lock:
            return list(seen)

    def verified(self, headers: dict[str, str], body: bytes) -> bool | None:
        return signing.verify(self.keys, headers, body, time.time()) if self.keys else None

    def record(self, received: Received) -> Answer:
        answer = self.answer if received.verified is not False else REFUSED
        if answer is REFUSED and self._on_refuse:
            self._on_refuse(received)
        with self._lock:
            self.attempts.append(received)
            if answer.status < 300:
                self.received.append(received)
        if answer.status < 300 and self._on_receive:
            self._on_receive(received)
        return answer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real notify service would offer
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def setup(self) -> None:
        super().setup()
        self._standin().track(self.connection, open_=True)

    def finish(self) -> None:
        self._standin().track(self.connection, open_=False)
        super().finish()

    def _standin(self) -> NotifyStandIn:
        return self.server.standin  # type: ignore[attr-defined,no-any-return]

    def do_POST(self) -> None:
        if self.path.partition("?")[0] != NOTIFY_PATH:  # a NOTIFY_URL may carry a query
            self._answer(Answer(status=HTTPStatus.NOT_FOUND))
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            payload = json.loads(body)
        except ValueError:
            self._answer(Answer(status=HTTPStatus.BAD_REQUEST))
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        verified = self._standin().verified(headers, body)
        host, port = self.client_address[:2]
        received = Received(
            payload,
            headers.get("idempotency-key"),
            time.monotonic(),
            headers,
            body,
            verified,
            peer=f"{host}:{port}",
        )
        answer = self._standin().record(received)
        time.sleep(answer.delay_seconds)
        self._answer(answer)

    def _answer(self, answer: Answer) -> None:
        self.send_response(answer.status)
        if answer.retry_after is not None:
            self.send_header("Retry-After", str(answer.retry_after))
        if answer.location is not None:
            self.send_header("Location", answer.location)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the stand-in reports what it receives through `on_receive`."""
