"""Heartbeats of the processes that deliver, on a store several processes share: what a
web process that leaves delivery to `manage.py run_workers` shows in `/v1/health` and
`/metrics` instead of a circuit breaker it does not run.

On Redis (`RedisHeartbeats`, eventsproject/platform/redis.py), one hash,
`<prefix>:{heartbeats}` (its own Cluster slot): a field per process (host and pid),
holding the Redis clock's time of its last beat and what it reported (its breaker's
state). Times are Redis's, so machines whose clocks disagree still agree on ages. Each beat
drops the fields older than `keep` and renews the hash's TTL: a process that died leaves
its last beat for that long, then nothing.
"""

import os
import socket
from dataclasses import dataclass
from typing import Any, Protocol

import orjson


@dataclass(frozen=True, slots=True)
class Beat:
    process: str
    seconds_ago: float
    report: dict[str, Any]

    def as_health(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "last_heartbeat_seconds_ago": self.seconds_ago,
            **self.report,
        }


class Heartbeats(Protocol):
    def beat(self, report: dict[str, Any]) -> None:
        """This process delivers, and is in the state `report` says."""

    def forget(self) -> None:
        """This process stopped delivering."""

    def recent(self) -> list[Beat]:
        """The last beat of each process kept, the most recent first."""


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def beat_of(process: bytes, value: bytes, now_ms: int) -> Beat:
    """A beat as the hash holds it: the time (ms) it was written, a space, the report."""
    at, _, report = value.partition(b" ")
    return Beat(process.decode(), round(max(now_ms - int(at), 0) / 1000, 1), orjson.loads(report))
