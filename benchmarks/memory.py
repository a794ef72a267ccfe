"""Memory of per-user state: with many users active, and after they are all done."""

import gc
import tracemalloc
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.apps import apps

from benchmarks.replay import CountingTransport
from events.ingestion import ingest
from events.repository import InMemoryEventRepository
from events.services import advance_clock
from notifications.outbox import Outbox

START = datetime(2021, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class MemoryResult:
    users: int
    active_bytes_per_user: float
    after_close_bytes: int
    after_close_share: float
    ids_bytes_per_event: float
    rss_active_mb: float
    rss_after_mb: float


def measure(users: int) -> MemoryResult:
    """Half the users have an open session, half a pending reminder; then all close."""
    state_only = _measure(users, seen_limit=0)
    with_ids = _measure(users, seen_limit=10 * users)
    return MemoryResult(
        users=users,
        active_bytes_per_user=state_only["active"] / users,
        after_close_bytes=state_only["after"],
        after_close_share=state_only["after"] / state_only["active"],
        ids_bytes_per_event=(with_ids["active"] - state_only["active"]) / users,
        rss_active_mb=state_only["rss_active"] / 2**20,
        rss_after_mb=state_only["rss_after"] / 2**20,
    )


def _measure(users: int, seen_limit: int) -> dict[str, int]:
    events_config: Any = apps.get_app_config("events")
    events_config.repository = InMemoryEventRepository(recent_limit=1000, seen_limit=seen_limit)
    outbox = Outbox(CountingTransport(), history_limit=1000)
    notifications_config: Any = apps.get_app_config("notifications")
    notifications_config.outbox = outbox
    _ingest_all(_opening_events(users))  # warm the caches before the baseline
    _ingest_all(_closing_events(users, START))
    advance_clock(START + timedelta(days=1))
    outbox.flush()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    day = START + timedelta(days=2)
    _ingest_all(_opening_events(users, day))
    gc.collect()
    active = tracemalloc.get_traced_memory()[0] - base
    rss_active = _rss()
    _ingest_all(_closing_events(users, day))
    advance_clock(day + timedelta(days=1))  # the pending reminders fire
    outbox.flush()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    outbox.close(timeout=0)
    return {"active": active, "after": after, "rss_active": rss_active, "rss_after": _rss()}


def _opening_events(users: int, day: datetime = START) -> list[dict[str, Any]]:
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


def _ingest_all(events: list[dict[str, Any]]) -> None:
    for event in events:
        ingest(event)


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0
