"""Memory of per-user state: with many users active, and after they are all done."""

import gc
import tracemalloc
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.test import override_settings

from benchmarks.replay import CountingTransport
from events.ingestion import ingest
from eventsproject import bootstrap

START = datetime(2021, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class MemoryResult:
    users: int
    traced_users: int
    active_bytes_per_user: float
    after_close_bytes: int
    after_close_share: float
    ids_bytes_per_event: float
    decision_log_bytes_per_user: float
    rss_base_mb: float
    rss_active_mb: float
    rss_after_mb: float


def measure(users: int) -> MemoryResult:
    """Half the users have an open session, half a pending reminder; then all close.

    Python objects are counted with tracemalloc on a fifth of the users (tracing
    is slow; the state is linear in users); resident memory on all of them.
    """
    traced_users = max(1000, users // 5)
    state = _measure(traced_users, seen_limit=0, traced=True)
    with_ids = _measure(traced_users, seen_limit=10 * traced_users, traced=True)
    with_log = _measure(traced_users, seen_limit=0, traced=True, log_users=traced_users)
    resident = _measure(users, seen_limit=0, traced=False)
    return MemoryResult(
        users=users,
        traced_users=traced_users,
        active_bytes_per_user=state["active"] / traced_users,
        after_close_bytes=state["after"],
        after_close_share=state["after"] / state["active"],
        ids_bytes_per_event=(with_ids["active"] - state["active"]) / traced_users,
        decision_log_bytes_per_user=(with_log["after"] - state["after"]) / traced_users,
        rss_base_mb=resident["base"] / 2**20,
        rss_active_mb=resident["active"] / 2**20,
        rss_after_mb=resident["after"] / 2**20,
    )


def _measure(users: int, seen_limit: int, traced: bool, log_users: int = 0) -> dict[str, int]:
    # No windows of recent events and sent notifications, and decision logs only when
    # measured: they are bounded (1,000 events and notifications, EVENTS_DECISION_LOG_USERS
    # logs) and would blur what grows with active users.
    with override_settings(
        EVENTS_RECENT_LIMIT=0,
        EVENTS_SEEN_IDS_LIMIT=seen_limit,
        EVENTS_DECISION_LOG_USERS=log_users,
        NOTIFICATIONS_RECENT_LIMIT=0,
    ):
        parts = bootstrap.build(transport=CountingTransport())
    bootstrap.install(parts)
    parts.dispatcher.start()
    send_due_reminders = parts.processor.send_due_reminders
    day = START
    for _ in range(2):  # the first round warms every cache and bounded window up
        day += timedelta(days=2)
        gc.collect()
        if traced:
            tracemalloc.start()
        base = _memory(traced)
        _ingest_all(_opening_events(users, day), received_at=day)
        gc.collect()
        active = _memory(traced) - base
        _ingest_all(_closing_events(users, day), received_at=day + timedelta(hours=1))
        # The ticker, as a running server's: the reminders fall due and are sent, then
        # a day later they are forgotten.
        send_due_reminders(day + timedelta(hours=2))
        send_due_reminders(day + timedelta(days=1, hours=2))
        parts.dispatcher.flush()
        gc.collect()
        after = _memory(traced) - base
        tracemalloc.stop()
    parts.dispatcher.close(timeout=0)
    return {"base": base, "active": active, "after": after}


def _memory(traced: bool) -> int:
    return tracemalloc.get_traced_memory()[0] if traced else _rss()


def _opening_events(users: int, day: datetime) -> list[dict[str, Any]]:
    return [
        _event(n, "app_launched" if n % 2 else "training_program_started", day)
        for n in range(users)
    ]


def _closing_events(users: int, day: datetime) -> list[dict[str, Any]]:
    later = day + timedelta(hours=1)
    return [_event(n, "training_program_finished", later) for n in range(0, users, 2)]


def _event(n: int, kind: str, when: datetime) -> dict[str, Any]:
    event: dict[str, Any] = {
        "schema_version": 2,
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "occurred_at": (when + timedelta(microseconds=n)).isoformat(),
        "user_id": f"user-{n:08d}",
        "device_id": f"device-{n:08d}",
    }
    if kind.startswith("training_program"):
        event["training_program"] = {"id": "2352", "title": "7 Minutes of HIIT Training"}
    return event


def _ingest_all(events: list[dict[str, Any]], received_at: datetime) -> None:
    for event in events:
        ingest(event, received_at=received_at)


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0
