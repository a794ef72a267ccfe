"""The Redis store beside the memory store: HTTP with one and two workers, replay,
round trips and commands per event, and Redis memory and CPU per active user.

Redis is the machine's (REDIS_URL, 127.0.0.1:6379 by default); every key of a run
has a prefix of its own, deleted afterwards.
"""

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from statistics import fmean
from typing import Any, NamedTuple

import orjson
import redis
from django.conf import settings
from django.test import override_settings

from benchmarks import active_users, http_load
from benchmarks.replay import CountingTransport, Timing, replay_lines
from eventsproject import bootstrap
from eventsproject.platform.redis import Layout


class CountingConnection(redis.Connection):
    """Counts round trips: each command, or each pipeline, is one packet sent."""

    sent = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sent += 1
        super().send_packed_command(command, check_health)  # type: ignore[no-untyped-call]


@contextmanager
def redis_prefix() -> Iterator[tuple[redis.Redis, str]]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        yield client, prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=5000))
        for start in range(0, len(keys), 5000):
            client.delete(*keys[start : start + 5000])


def replay_into_redis(lines: list[bytes]) -> dict[str, float]:
    """The replay's full pipeline into Redis, delivery included (to a counting backend)."""
    with redis_prefix() as (client, prefix), override_settings(EVENTS_REDIS_PREFIX=prefix):
        counting = redis.Redis.from_url(settings.REDIS_URL, connection_class=CountingConnection)
        transport = CountingTransport()
        parts = bootstrap.build(transport=transport, store="redis", redis_client=counting)
        bootstrap.install(parts)
        client.config_resetstat()
        CountingConnection.sent = 0
        started = time.perf_counter()
        replay_lines(lines)
        events_done = time.perf_counter()
        round_trips = CountingConnection.sent
        commands = _commands(client)
        parts.dispatcher.start()
        assert parts.dispatcher.flush(timeout=600), "the outbox did not drain"
        elapsed = time.perf_counter() - started
        parts.dispatcher.close(timeout=0)
    ingest_only = Timing(len(lines), events_done - started)
    return {
        "events": len(lines),
        "per_second": Timing(len(lines), elapsed).per_second,
        "ingest_per_second": ingest_only.per_second,
        "round_trips_per_event": round_trips / len(lines),
        "commands_per_event": commands / len(lines),
        "notifications": transport.count,
    }


def memory_per_user(users: int) -> dict[str, Any]:
    """Redis memory and CPU for `users` active users, benchmarks/active_users.py's: each
    went through a cycle a few hours ago and then launched the app or started a program,
    four events in their window. `INFO memory`'s used memory per user holds each user's
    state, seen event ids (a key per event, kept EVENTS_SEEN_IDS_MAX_AGE_HOURS) and
    decision log (the earlier cycle's two records), and the reminder indexes (`due`,
    `pending`) of the users who launched; `MEMORY USAGE` measures the state key alone and
    the log key alone, on the first `SAMPLE` users (half of each kind). The earlier cycle's
    congratulations are delivered. No recent events nor history of sent notifications:
    bounded per shard, they would blur what grows with the users."""
    received = datetime.now(UTC)
    with (
        redis_prefix() as (client, prefix),
        override_settings(
            EVENTS_REDIS_PREFIX=prefix, EVENTS_RECENT_LIMIT=0, NOTIFICATIONS_RECENT_LIMIT=0
        ),
    ):
        parts = bootstrap.build(transport=CountingTransport(), store="redis")
        bootstrap.install(parts)
        parts.dispatcher.start()
        before_memory, before_cpu = _used_memory(client), _cpu(client)
        for step in active_users.opening(users, received):
            active_users.ingest(step)
            parts.processor.send_due_reminders(step.received_at)  # the ticker's turn
        assert parts.dispatcher.flush(timeout=600), "the outbox did not drain"
        used = _used_memory(client) - before_memory
        cpu = _cpu(client) - before_cpu
        parts.dispatcher.close(timeout=0)
        keys = _user_keys(client, Layout(prefix, settings.EVENTS_TIMER_SHARDS), users)
    return {
        "users": users,
        "bytes_per_user": used / users,
        "cpu_ms_per_event": cpu * 1000 / (users * active_users.WINDOW_EVENTS),
        **keys,
    }


#: Users whose keys `MEMORY USAGE` measures: the first ones, as many launched as started.
SAMPLE = 1000
#: The parts of a state's JSON (events/adapters/codec.py's keys), by name.
STATE_PARTS = {
    "o": "open_sessions",
    "p": "pending_reminder",
    "ls": "last_sent_reminder",
    "w": "window_events",
    "ws": "window_sent",
    "wo": "window_sessions_before",
}


def _user_keys(client: redis.Redis, layout: Layout, users: int) -> dict[str, Any]:
    """Per user, averaged over the sample: `MEMORY USAGE` of the state key and of the
    decision log's, the state's JSON, and each part of it."""
    sample = [active_users.user_id(n) for n in range(min(users, SAMPLE))]
    pipe = client.pipeline(transaction=False)
    for user in sample:
        state, log = (layout.key(layout.shard_of(user), what, user) for what in ("state", "log"))
        pipe.memory_usage(state, samples=0)
        pipe.memory_usage(log, samples=0)
        pipe.get(state)
    replies = pipe.execute()
    states: list[bytes] = replies[2::3]
    return {
        "sampled_users": len(sample),
        "state_bytes_per_user": fmean(replies[0::3]),
        "decision_log_bytes_per_user": fmean(replies[1::3]),
        "state_json_bytes_per_user": fmean(len(raw) for raw in states),
        "state_json_parts": _parts(states),
    }


def _parts(states: list[bytes]) -> dict[str, float]:
    """The bytes of each part of the states' JSON (its key and separator included),
    averaged over the states."""
    sizes: Counter[str] = Counter()
    for raw in states:
        for key, value in orjson.loads(raw).items():
            sizes[STATE_PARTS.get(key, key)] += len(orjson.dumps({key: value})) - 1
    return {part: size / len(states) for part, size in sizes.items()}


def _used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


class Setup(NamedTuple):
    env: dict[str, str]
    workers_apart: bool = False  # the ticker and delivery in `manage.py run_workers`


_REDIS_2 = {"EVENTS_STORE": "redis", "WEB_CONCURRENCY": "2"}
SERVERS = {
    "memory_1": Setup({}),
    "redis_1": Setup({"EVENTS_STORE": "redis"}),
    "redis_2": Setup(_REDIS_2),
    "redis_2_apart": Setup(_REDIS_2, workers_apart=True),
}


def http_by_store(
    seconds: float, bodies: list[bytes], warm_up: list[bytes], rounds: int = 2
) -> dict[str, Any]:
    """Single-event throughput of the production command: memory with one worker, Redis
    with one and with two, the same load. The machine is shared: the servers take turns,
    `rounds` times, and each keeps its best round (the least disturbed)."""
    rows: dict[str, Any] = {}
    for _ in range(rounds):
        for name, setup in SERVERS.items():
            row = _http_round(setup, seconds, bodies, warm_up)
            if name not in rows or row["per_second"] > rows[name]["per_second"]:
                rows[name] = row
    rows["redis_2_over_memory_1"] = rows["redis_2"]["per_second"] / rows["memory_1"]["per_second"]
    return rows


def _http_round(
    setup: Setup, seconds: float, bodies: list[bytes], warm_up: list[bytes]
) -> dict[str, float]:
    with redis_prefix() as (client, prefix):
        env = {**setup.env, "EVENTS_REDIS_PREFIX": prefix, "REDIS_URL": settings.REDIS_URL}
        with (
            http_load.notify_standin(0.001) as notify_url,
            http_load.production_server(
                notify_url, "eventsproject.settings", env, workers_apart=setup.workers_apart
            ) as server,
        ):
            http_load.load(server.port, "/v1/event", warm_up, 8, 2)
            client.config_resetstat()
            cpu_before, redis_cpu_before = http_load.cpu_seconds(server), _cpu(client)
            machine_before = http_load.machine_cpu()
            result = http_load.load(server.port, "/v1/event", bodies, 16, seconds)
            machine = http_load.machine_cpu() - machine_before
            cpu, redis_cpu = http_load.cpu_seconds(server), _cpu(client)
            commands = _commands(client)
    requests = max(result.requests, 1)
    return {
        "per_second": result.per_second,
        **http_load.latencies(result),
        "errors": result.errors,
        "redis_commands_per_request": commands / requests,
        "server_cpu_us_per_request": (cpu - cpu_before) / requests * 1e6,
        "redis_cpu_us_per_request": (redis_cpu - redis_cpu_before) / requests * 1e6,
        # Everything the machine ran, the load generator and the notify receiver included.
        "machine_cpu_us_per_request": machine.busy / requests * 1e6,
        "machine_idle_share": machine.share_idle,
        "machine_stolen_share": machine.share_stolen,
    }


def _commands(client: redis.Redis) -> int:
    """Commands Redis ran since the last CONFIG RESETSTAT, scripts' own included."""
    stats = client.info("commandstats")
    calls: Counter[str] = Counter()
    for name, figures in stats.items():
        if name not in {"cmdstat_info", "cmdstat_config"}:
            calls[name] += figures["calls"]
    return sum(calls.values())


def _cpu(client: redis.Redis) -> float:
    cpu = client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])
