"""The production server's worker: gunicorn's gevent worker, so that a slow or silent client
costs a greenlet, never one of a few threads, and is dropped after a bounded time.

With T = `keepalive` (eventsproject/gunicorn.py sets it from EVENTS_CLIENT_TIMEOUT_SECONDS):
- gunicorn closes a connection whose request line and headers take longer than T, or that
  stays idle for T between requests;
- this worker gives a request's body T from the end of its headers (a body that has not
  arrived by then is answered `408`: events/parsers.py), and drops a client that reads
  nothing of an answer for T.
"""

import time
from typing import Any

import gevent  # type: ignore[import-untyped]
from gunicorn.glogging import Logger  # type: ignore[import-untyped]
from gunicorn.workers.base_async import AsyncWorker  # type: ignore[import-untyped]
from gunicorn.workers.ggevent import GeventWorker  # type: ignore[import-untyped]


class ServiceLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger without its access log. The service logs each request itself
    (eventsproject/observability.py); with a `logconfig_dict`, gunicorn would otherwise
    build an access line for every request and hand it to a logger that drops it."""

    access_log_enabled = False


class SlowClientSafeWorker(GeventWorker):  # type: ignore[misc]
    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        connection = TimeLimitedSocket(client, self.cfg.keepalive)
        # Past GeventWorker.handle, which would make the socket blocking (no limit) again.
        AsyncWorker.handle(self, listener, connection, addr)

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
        sock.settimeout(limit)

    def start_request(self, request: Any) -> None:
        self._request = request
        self._deadline = time.monotonic() + self._limit

    def end_request(self) -> None:
        self._request = self._deadline = None
        self._sock.settimeout(self._limit)

    def recv(self, size: int) -> bytes:
        try:
            self._sock.settimeout(self._time_left())
            return bytes(self._sock.recv(size))
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

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)
