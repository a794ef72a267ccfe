"""The production server's worker: gunicorn's gevent worker, so that a slow or silent client
costs a greenlet, never one of a few threads, and is dropped after a bounded time.

With T = `keepalive` (eventsproject/gunicorn.py sets it from EVENTS_CLIENT_TIMEOUT_SECONDS):
- gunicorn closes a connection whose request line and headers take longer than T, or that
  stays idle for T between requests;
- this worker gives a request's body T from the end of its headers (a body that has not
  arrived by then is answered `408`: events/wire/parsers.py), and drops a client that reads
  nothing of an answer for T;
- at a graceful stop, the requests in flight are answered and a connection that waits for
  a next request is closed after STOPPING_GRACE_SECONDS, rather than after T.
"""

import contextlib
import select
import socket
import time
from functools import cached_property
from typing import Any

import gevent  # type: ignore[import-untyped]
import orjson
from gunicorn.glogging import Logger  # type: ignore[import-untyped]
from gunicorn.http import errors  # type: ignore[import-untyped]
from gunicorn.workers.base_async import AsyncWorker  # type: ignore[import-untyped]
from gunicorn.workers.ggevent import GeventWorker  # type: ignore[import-untyped]
from prometheus_client import Counter


class ServiceLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger without its access log. The service logs each request itself
    (eventsproject/observability.py); with a `logconfig_dict`, gunicorn would otherwise
    build an access line for every request and hand it to a logger that drops it."""

    access_log_enabled = False


UNREADABLE = Counter(
    "http_unreadable_requests", "Requests the server could not read as HTTP, by status.", ["status"]
)

#: gunicorn's refusals of what it could not read as HTTP, answered in JSON like every other
#: answer: the first class that matches gives the status and what is said. The parser's
#: own message is never repeated: it quotes the request (a token, a query string). `None`:
#: not the client's doing (a header the application wrote), left to gunicorn (500, logged).
REFUSALS: tuple[tuple[Any, int | None, str, str], ...] = (
    ((errors.InvalidResponseHeader, errors.InvalidResponseHeaderName), None, "", ""),
    (errors.ConfigurationProblem, None, "", ""),
    (errors.LimitRequestLine, 414, "URI Too Long", "the request line is over 4,094 bytes"),
    (errors.LimitRequestHeaders, 431, "Request Header Fields Too Large", "too many headers"),
    (errors.UnsupportedTransferCoding, 501, "Not Implemented", "a transfer coding but chunked"),
    (errors.ExpectationFailed, 417, "Expectation Failed", "an Expect header it cannot meet"),
    (errors.ForbiddenProxyRequest, 403, "Forbidden", "a proxy request from elsewhere"),
    (errors.InvalidRequestLine, 400, "Bad Request", "a request line it cannot read"),
    (errors.InvalidRequestMethod, 400, "Bad Request", "a method it cannot read"),
    (errors.InvalidHTTPVersion, 400, "Bad Request", "an HTTP version it does not speak"),
    ((errors.InvalidHeader, errors.InvalidHeaderName), 400, "Bad Request", "a bad header"),
    (errors.ParseException, 400, "Bad Request", "a request it cannot read as HTTP"),
)


#: Once a graceful stop began, how long a connection may wait for its next request.
STOPPING_GRACE_SECONDS = 1.0


class SlowClientSafeWorker(GeventWorker):  # type: ignore[misc]
    def handle_error(self, req: Any, client: Any, addr: Any, exc: Exception) -> None:
        """A request gunicorn could not read: a JSON answer, counted, and a log line without
        the client's address (gunicorn's own says `ip=`, and answers in HTML)."""
        status, reason, what = _refusal(exc)
        if status is None:
            super().handle_error(req, client, addr, exc)
            return
        UNREADABLE.labels(str(status)).inc()
        self.log.info("refused a request it cannot read: %s, %s", status, what)
        detail = f"{reason}: {what}."
        try:
            client.sendall(_json_answer(status, reason, detail))
            _close_gently(client)
        except OSError:
            self.log.debug("the client left before its answer")

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        connection = TimeLimitedSocket(client, self.cfg.keepalive)
        self._connections.add(connection)
        try:
            # Past GeventWorker.handle, which would make the socket blocking (no limit) again.
            AsyncWorker.handle(self, listener, connection, addr)
        finally:
            self._connections.discard(connection)

    @cached_property
    def _connections(self) -> set["TimeLimitedSocket"]:
        return set()

    def handle_exit(self, sig: int, frame: Any) -> None:
        """A graceful stop: the requests in flight are answered (gunicorn closes their
        connections after them), and a connection that waits for a next request is closed
        once it has waited STOPPING_GRACE_SECONDS, where gunicorn would wait for it to time
        out; the grace lets a request already on its way (a connection the worker accepted
        as the stop began) arrive and be answered."""
        already_stopping = not self.alive
        super().handle_exit(sig, frame)
        if not already_stopping:
            gevent.spawn(self._close_idle_connections)

    def _close_idle_connections(self) -> None:
        while True:
            for connection in list(self._connections):
                if connection.idle_for() >= STOPPING_GRACE_SECONDS and not connection.readable():
                    connection.hang_up()
            gevent.sleep(STOPPING_GRACE_SECONDS / 5)

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> None:
        sock.start_request(req)
        try:
            super().handle_request(listener_name, req, sock, addr)
        finally:
            sock.end_request()
            # A client quick with its next request would otherwise be served again at once,
            # ahead of every other connection: each request goes to the back of the queue.
            gevent.sleep(0)


class TimeLimitedSocket:
    """A connection whose every wait is at most `limit` seconds, and whose reads during a
    request end `limit` seconds after the request's start (gevent waits cooperatively).
    A request that runs out of time is answered `Connection: close`, and then closed."""

    def __init__(self, sock: Any, limit: float) -> None:
        self._sock = sock
        self._limit = limit
        self._deadline: float | None = None
        self._request: Any = None
        #: No byte of a next request has come since the last answer (or since connecting)...
        self.idle = True
        self._idle_since = time.monotonic()  # ...since then
        sock.settimeout(limit)

    def start_request(self, request: Any) -> None:
        self._request = request
        self._deadline = time.monotonic() + self._limit

    def end_request(self) -> None:
        self._request = self._deadline = None
        self.idle, self._idle_since = True, time.monotonic()
        self._sock.settimeout(self._limit)

    def idle_for(self) -> float:
        """Seconds it has waited for a next request; 0 while one comes or is answered."""
        return time.monotonic() - self._idle_since if self.idle else 0.0

    def readable(self) -> bool:
        """Whether bytes (or the client's end) wait to be read, without waiting for any."""
        with contextlib.suppress(OSError, ValueError):
            return bool(select.select([self._sock], [], [], 0)[0])
        return False

    def hang_up(self) -> None:
        """Ends the connection: the read waiting on it sees its end, as if the client left."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def recv(self, size: int) -> bytes:
        try:
            self._sock.settimeout(self._time_left())
            data = bytes(self._sock.recv(size))
            self.idle = self.idle and not data
            return data
        except TimeoutError:
            if self._request is not None:
                self._request.must_close = True  # gunicorn's flag: the rest is never read
            raise

    def _time_left(self) -> float:
        if self._deadline is None:
            return self._limit
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the request did not arrive within {self._limit} s")
        return min(left, self._limit)

    def unwrapped(self) -> Any:
        return self._sock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _refusal(exc: Exception) -> tuple[int | None, str, str]:
    for classes, status, reason, what in REFUSALS:
        if isinstance(exc, classes):
            return status, reason, what
    return None, "", ""


#: What is read and dropped of a refused request before closing, and for how long at most:
#: closing with unread bytes resets the connection, and the client may lose the answer.
DRAIN_BYTES = 64 * 1024
DRAIN_SECONDS = 0.5


def _close_gently(client: Any) -> None:
    """Say we are done, then read what the client is still sending, within bounds."""
    if isinstance(client, TimeLimitedSocket):
        client = client.unwrapped()  # its own time limits are a request's, longer
    client.shutdown(socket.SHUT_WR)
    client.settimeout(DRAIN_SECONDS)
    deadline, drained = time.monotonic() + DRAIN_SECONDS, 0
    while drained < DRAIN_BYTES and time.monotonic() < deadline:
        chunk = client.recv(16 * 1024)
        if not chunk:
            return
        drained += len(chunk)


def _json_answer(status: int, reason: str, detail: str) -> bytes:
    body = orjson.dumps({"detail": detail})
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body
