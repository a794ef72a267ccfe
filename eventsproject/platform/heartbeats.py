"""Heartbeats of the processes that deliver, on Redis: what a web process that leaves
delivery to `manage.py run_workers` shows in `/v1/health` and `/metrics` instead of a
circuit breaker it does not run.

One hash, `<prefix>:{heartbeats}` (its own Cluster slot): a field per process (host and
pid), holding the Redis clock's time of its last beat and what it reported (its breaker's
state). Times are Redis's, so machines whose clocks disagree still agree on ages. Each beat
drops the fields older than `keep` and renews the hash's TTL: a process that died leaves
its last beat for that long, then nothing.
"""

import os
import socket
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from eventsproject.platform.redis import Client, unavailable_as_store_error

#: KEYS[1]: the hash. ARGV: the process, its report (JSON), how long to keep a beat (ms).
_BEAT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local keep = tonumber(ARGV[3])
local beats = redis.call('HGETALL', KEYS[1])
for i = 1, #beats, 2 do
  if now - tonumber(string.match(beats[i + 1], '^%d+')) > keep then
    redis.call('HDEL', KEYS[1], beats[i])
  end
end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', now) .. ' ' .. ARGV[2])
redis.call('PEXPIRE', KEYS[1], keep)
return 1
"""

#: KEYS[1]: the hash. Returns the Redis clock's time (ms) and the hash's fields and values.
_READ = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
return {string.format('%d', now), redis.call('HGETALL', KEYS[1])}
"""


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


@unavailable_as_store_error
class RedisHeartbeats:
    def __init__(self, client: Client, prefix: str, *, keep_seconds: float = 600) -> None:
        self._client: Any = client
        self._key = f"{prefix}:{{heartbeats}}"
        self._keep_ms = int(keep_seconds * 1000)
        self._beat = client.register_script(_BEAT)
        self._read = client.register_script(_READ)

    def beat(self, report: dict[str, Any]) -> None:
        self._beat(keys=[self._key], args=[this_process(), orjson.dumps(report), self._keep_ms])

    def forget(self) -> None:
        self._client.hdel(self._key, this_process())

    def recent(self) -> list[Beat]:
        now, fields = self._read(keys=[self._key])
        beats = [
            _beat(process, value, int(now))
            for process, value in zip(fields[::2], fields[1::2], strict=True)
        ]
        return sorted(beats, key=lambda beat: beat.seconds_ago)


def _beat(process: bytes, value: bytes, now_ms: int) -> Beat:
    at, _, report = value.partition(b" ")
    return Beat(process.decode(), round(max(now_ms - int(at), 0) / 1000, 1), orjson.loads(report))
