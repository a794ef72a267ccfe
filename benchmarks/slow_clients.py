"""The slow-client attack: many connections that hold the server open, and normal requests
beside them. Loopback only, bounded in time.

Each attacking connection does one of the `ATTACKS`: sends nothing (`idle`), trickles a
request's headers a byte at a time (`headers`), or sends whole headers and then trickles
the body (`body`). Meanwhile one client posts ordinary events one after another and times
each answer. Reported: the normal requests' latencies and how many went unanswered, and
how many attacking connections the server closed, and after how long.

    python -m benchmarks.slow_clients --port 8000 --token T --attacker-token A --attack body
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import statistics
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

TRICKLE_INTERVAL_SECONDS = 1.0
NORMAL_TIMEOUT_SECONDS = 10.0
NORMAL_PAUSE_SECONDS = 0.05


def _head(path: str, token: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


async def _send_nothing(writer: asyncio.StreamWriter, path: str, token: str) -> None:
    await asyncio.sleep(3600)


async def _trickle(writer: asyncio.StreamWriter, data: bytes) -> None:
    for index in range(len(data)):
        writer.write(data[index : index + 1])
        await writer.drain()
        await asyncio.sleep(TRICKLE_INTERVAL_SECONDS)


async def _trickle_headers(writer: asyncio.StreamWriter, path: str, token: str) -> None:
    await _trickle(writer, _head(path, token, 2) + b"{}")


async def _trickle_body(writer: asyncio.StreamWriter, path: str, token: str) -> None:
    body = b'{"padding": "' + b"x" * 4000 + b'"}'
    writer.write(_head(path, token, len(body)))
    await _trickle(writer, body)


Behaviour = Callable[[asyncio.StreamWriter, str, str], Coroutine[Any, Any, None]]
ATTACKS: dict[str, Behaviour] = {
    "idle": _send_nothing,
    "headers": _trickle_headers,
    "body": _trickle_body,
}


@dataclass(frozen=True)
class Attack:
    """`connections` attackers doing `kind` (one of `ATTACKS`) for `seconds`. They connect
    `per_second`, by default under the per-client throttle (30/s): a faster attacker is
    answered 429 before its body is read, which is no slow client any more."""

    kind: str
    connections: int = 200
    seconds: float = 30.0
    per_second: float = 25.0


@dataclass(frozen=True)
class Target:
    """Where a client posts, and the token it posts with."""

    host: str
    port: int
    path: str
    token: str


async def _attacker(target: Target, behaviour: Behaviour, delay: float) -> float | None:
    """Seconds until the server closed the connection, or None if it never did."""
    await asyncio.sleep(delay)
    reader, writer = await asyncio.open_connection(target.host, target.port)
    started = time.perf_counter()
    sending = asyncio.create_task(behaviour(writer, target.path, target.token))
    with contextlib.suppress(OSError):  # a reset is a close too
        await reader.read()  # until the server closes (an answer, if any, comes first)
    sending.cancel()
    writer.close()
    return time.perf_counter() - started


async def _normal_client(
    target: Target, bodies: Sequence[bytes], until: float
) -> tuple[list[float], int]:
    latencies: list[float] = []
    unanswered = 0
    for body in itertools.cycle(bodies):
        if time.perf_counter() >= until:
            break
        started = time.perf_counter()
        try:
            await asyncio.wait_for(_one_request(target, body), NORMAL_TIMEOUT_SECONDS)
            latencies.append(time.perf_counter() - started)
        except (OSError, TimeoutError, ValueError):
            unanswered += 1
        await asyncio.sleep(NORMAL_PAUSE_SECONDS)
    return latencies, unanswered


async def _one_request(target: Target, body: bytes) -> None:
    reader, writer = await asyncio.open_connection(target.host, target.port)
    try:
        writer.write(_head(target.path, target.token, len(body)) + body)
        status_line = await reader.readline()
        if not status_line.startswith(b"HTTP/1.1 2"):
            raise ValueError(status_line)
    finally:
        writer.close()


async def _attack(
    normal: Target, attacker: Target, bodies: Sequence[bytes], attack: Attack
) -> dict[str, Any]:
    until = time.perf_counter() + attack.seconds
    behaviour = ATTACKS[attack.kind]
    attackers = [
        asyncio.create_task(_attacker(attacker, behaviour, index / attack.per_second))
        for index in range(attack.connections)
    ]
    latencies, unanswered = await _normal_client(normal, bodies, until)
    done, pending = await asyncio.wait(attackers, timeout=0)
    for task in pending:
        task.cancel()
    closed = sorted(after for task in done if not task.exception() and (after := task.result()))
    report = _report(latencies, unanswered, closed)
    return {
        "attack": attack.kind,
        "attacking_connections": attack.connections,
        "seconds": attack.seconds,
        **report,
    }


def _report(latencies: list[float], unanswered: int, closed: list[float]) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "normal_answered": len(ordered),
        "normal_unanswered": unanswered,
        "normal_p50_ms": round(statistics.median(ordered) * 1000, 1) if ordered else None,
        "normal_p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 1) if ordered else None,
        "attackers_closed_by_server": len(closed),
        "attackers_closed_after_median_s": round(statistics.median(closed), 1) if closed else None,
        "attackers_closed_after_max_s": round(closed[-1], 1) if closed else None,
    }


#: The normal client's users: an app's returning users, fewer than the new users one client
#: may make at once (EVENTS_NEW_USERS_RATE, 120): a client of brand-new users only would
#: measure that throttle's 429s, not the slow clients.
NORMAL_USERS = 100


def app_launches(count: int) -> list[bytes]:
    """Normal events: `count` app launches of `NORMAL_USERS` returning users, a minute apart
    for each user, each a new event."""
    first = datetime(2021, 2, 28, 16, 0, tzinfo=UTC)
    return [
        json.dumps(
            {
                "user_id": f"slow-clients-{index % NORMAL_USERS}",
                "device_id": "d1",
                "type": "app_launch",
                "time_stamp": (first + timedelta(minutes=index // NORMAL_USERS)).strftime(
                    "%Y-%m-%d %H:%M:%S"
                ),
            }
        ).encode()
        for index in range(count)
    ]


def run(
    normal: Target, attacker: Target, bodies: Sequence[bytes], attack: Attack
) -> dict[str, Any]:
    """The attack; `normal` posts `bodies` one after another meanwhile. Attackers use a token
    of their own, so that the per-client throttle does not answer the normal client's
    requests in their place."""
    return asyncio.run(_attack(normal, attacker, bodies, attack))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--token", default="", help="the normal client's token")
    parser.add_argument("--attacker-token", default="", help="the attackers' token")
    parser.add_argument("--attack", choices=sorted(ATTACKS), default="headers")
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    arguments = parser.parse_args()
    normal = Target("127.0.0.1", arguments.port, "/v1/event", arguments.token)
    attacker = Target("127.0.0.1", arguments.port, "/v1/event", arguments.attacker_token)
    attack = Attack(arguments.attack, arguments.connections, arguments.seconds)
    result = run(normal, attacker, app_launches(10_000), attack)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
