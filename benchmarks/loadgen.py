"""A small closed-loop HTTP load generator: keep-alive connections on loopback, bounded in time.

One thread drives every connection through a selector with requests written out in
advance, so the generator spends a few microseconds per request: on a two-core machine
the cores belong to the server under test, not to the client measuring it.
"""

import contextlib
import selectors
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice, repeat

RECEIVE_SIZE = 65536
GRACE_SECONDS = 30  # for the answers still due when time is up


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


@dataclass(frozen=True)
class Sender:
    """Who the requests come from: a bearer token if any, and, when given, one address per
    body (`X-Forwarded-For`, as the proxy in front of a server would name its clients)."""

    token: str = ""
    forwarded_for: Sequence[str] = ()


ANONYMOUS = Sender()


@dataclass
class _Connection:
    """One keep-alive connection with its share of the requests, one in flight at a time."""

    pending: list[bytes]
    sock: socket.socket | None = None
    received: bytearray = field(default_factory=bytearray)
    started: float = 0.0


@dataclass
class _Tally:
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)

    def count(self, started: float, failed: bool) -> None:
        self.latencies.append(time.perf_counter() - started)
        self.requests += 1
        self.errors += failed


def run(
    address: tuple[str, int],
    path: str,
    bodies: list[bytes],
    connections: int,
    seconds: float,
    sender: Sender = ANONYMOUS,
) -> LoadResult:
    """POST the bodies (each once, split over the connections) until done or time is up,
    as `sender`."""
    authorization = f"Authorization: Bearer {sender.token}\r\n" if sender.token else ""
    hops = [f"X-Forwarded-For: {hop}\r\n" for hop in sender.forwarded_for]
    requests = [
        _post(address[0], path, body, authorization + hop)
        for body, hop in zip(bodies, hops or repeat(""), strict=False)
    ]
    shares = [list(islice(requests, n, None, connections)) for n in range(connections)]
    tally = _Tally()
    started = time.monotonic()
    with selectors.DefaultSelector() as selector:
        for share in shares:
            _next_request(selector, address, _Connection(share[::-1]), started + seconds)
        _drive(selector, address, tally, started + seconds)
    return LoadResult(tally.requests, tally.errors, time.monotonic() - started, tally.latencies)


def _post(host: str, path: str, body: bytes, headers: str) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"{headers}Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


def _drive(
    selector: selectors.BaseSelector, address: tuple[str, int], tally: _Tally, deadline: float
) -> None:
    while selector.get_map() and time.monotonic() < deadline + GRACE_SECONDS:
        for key, _ in selector.select(timeout=1):
            connection: _Connection = key.data
            failed = _receive(connection)
            if failed is None:
                continue
            tally.count(connection.started, failed)
            if failed:
                _close(selector, connection)
            _next_request(selector, address, connection, deadline)


def _receive(connection: _Connection) -> bool | None:
    """Reads what arrived: None while the answer is incomplete, else whether it failed."""
    assert connection.sock is not None
    try:
        chunk = connection.sock.recv(RECEIVE_SIZE)
    except OSError:
        return True
    if not chunk:
        return True
    connection.received += chunk
    status = _complete_status(connection.received)
    if status is None:
        return None
    connection.received.clear()
    return status >= 300


def _complete_status(received: bytearray) -> int | None:
    """The status of a complete answer (head and Content-Length body), else None."""
    head_end = received.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(received[:head_end]).lower()
    length = _content_length(head)
    if len(received) < head_end + 4 + length:
        return None
    return int(head[9:12])


def _content_length(head: bytes) -> int:
    """The Content-Length of a lower-cased head, wherever the header is (0 without one)."""
    marker = head.find(b"\r\ncontent-length:")
    if marker < 0:
        return 0
    end = head.find(b"\r\n", marker + 2)
    return int(head[marker + 17 : end if end >= 0 else len(head)])


def _next_request(
    selector: selectors.BaseSelector,
    address: tuple[str, int],
    connection: _Connection,
    deadline: float,
) -> None:
    if not connection.pending or time.monotonic() >= deadline:
        _close(selector, connection)
        return
    if connection.sock is None:
        connection.sock = socket.create_connection(address, timeout=30)
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        selector.register(connection.sock, selectors.EVENT_READ, connection)
    connection.started = time.perf_counter()
    # A broken connection shows in the selector, where it is counted as a failure.
    with contextlib.suppress(OSError):
        connection.sock.sendall(connection.pending.pop())


def _close(selector: selectors.BaseSelector, connection: _Connection) -> None:
    if connection.sock is not None:
        selector.unregister(connection.sock)
        connection.sock.close()
        connection.sock = None
    connection.received.clear()
