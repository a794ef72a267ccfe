"""Memory of per-user state: with many users active, and after they are all done.

The users are benchmarks/active_users.py's: each holds a reorder window of four events
(a cycle a few hours earlier, then the opening event). Time is a wall clock the
benchmark moves (`bootstrap.build(clock=...)`): it stamps each event's receipt, runs
the ticker as a server's would, and measures how long users were idle, so that a user
whose state is nothing but their window is forgotten once idle for the window's span.
"""

import gc
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.test import override_settings

from benchmarks import active_users
from benchmarks.replay import CountingTransport
from eventsproject import bootstrap

START = datetime(2021, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class MemoryResult:
    users: int
    traced_users: int
    window_events_per_user: int
    active_bytes_per_user: float
    active_bytes_per_user_without_window: float  # EVENTS_REORDER_WINDOW_EVENTS=0
    after_close_bytes: int
    after_close_share: float
    ids_bytes_per_event: float
    decision_log_bytes_per_user: float
    decision_log_entries_per_user: float
    rss_base_mb: float
    rss_active_mb: float
    rss_after_mb: float


class WallClock:
    """The benchmark's wall clock: it shows the time it was last set to."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Measured:
    base: int
    active: int
    after: int
    decision_log_entries: int = 0


def measure(users: int) -> MemoryResult:
    """Active users (half with an open session, half with a pending reminder, each with
    their window); then all close, their reminders are sent, and time goes by.

    Python objects are counted with tracemalloc on a fifth of the users (tracing
    is slow; the state is linear in users); resident memory on all of them.
    """
    traced_users = max(1000, users // 5)
    state = _measure(traced_users, traced=True)
    without_window = _measure(traced_users, traced=True, EVENTS_REORDER_WINDOW_EVENTS=0)
    with_ids = _measure(traced_users, traced=True, EVENTS_SEEN_IDS_LIMIT=10 * traced_users)
    with_log = _measure(traced_users, traced=True, EVENTS_DECISION_LOG_USERS=traced_users)
    resident = _measure(users, traced=False)
    return MemoryResult(
        users=users,
        traced_users=traced_users,
        window_events_per_user=active_users.WINDOW_EVENTS,
        active_bytes_per_user=state.active / traced_users,
        active_bytes_per_user_without_window=without_window.active / traced_users,
        after_close_bytes=state.after,
        after_close_share=state.after / state.active,
        ids_bytes_per_event=(with_ids.active - state.active)
        / (traced_users * active_users.WINDOW_EVENTS),
        decision_log_bytes_per_user=(with_log.after - state.after) / traced_users,
        decision_log_entries_per_user=with_log.decision_log_entries / traced_users,
        rss_base_mb=resident.base / 2**20,
        rss_active_mb=resident.active / 2**20,
        rss_after_mb=resident.after / 2**20,
    )


#: No recent events nor sent notifications, and no seen ids nor decision logs unless
#: measured: they are bounded (1,000 events and notifications, EVENTS_SEEN_IDS_LIMIT ids,
#: EVENTS_DECISION_LOG_USERS logs) and would blur what grows with active users.
BOUNDED_OFF = {
    "EVENTS_RECENT_LIMIT": 0,
    "EVENTS_SEEN_IDS_LIMIT": 0,
    "EVENTS_DECISION_LOG_USERS": 0,
    "NOTIFICATIONS_RECENT_LIMIT": 0,
}


def _measure(users: int, traced: bool, **overrides: int) -> Measured:
    """Two rounds of the same users; the first, never traced, warms every cache and table
    up; `overrides` are settings."""
    clock = WallClock(START)
    with override_settings(**{**BOUNDED_OFF, **overrides}):
        parts = bootstrap.build(transport=CountingTransport(), clock=clock)
    bootstrap.install(parts)
    parts.dispatcher.start()
    for round_number, traced_round in enumerate((False, traced), start=1):
        logged = _decision_log_entries(parts, users)
        gc.collect()
        if traced_round:
            tracemalloc.start()
        measured = one_round(parts, clock, users, START + timedelta(days=2 * round_number))
        tracemalloc.stop()
    parts.dispatcher.close(timeout=0)
    return replace(measured, decision_log_entries=_decision_log_entries(parts, users) - logged)


def _decision_log_entries(parts: bootstrap.Components, users: int) -> int:
    """The entries in the decision logs of the first `users` users."""
    logs = parts.queries.decisions
    return sum(len(logs(active_users.user_id(n))) for n in range(users))


def one_round(parts: bootstrap.Components, clock: WallClock, users: int, day: datetime) -> Measured:
    """The users become active at `day`, then close; their reminders are sent and, once
    time has gone by, forgotten with their windows."""
    base = _memory()
    receive_all(parts, clock, active_users.opening(users, day))
    parts.dispatcher.flush()
    gc.collect()
    active = _memory() - base
    _receive(parts, clock, active_users.closing(users, day))
    for moment in _ticks_after(day):
        _tick(parts, clock, moment)
    parts.dispatcher.flush()
    gc.collect()
    return Measured(base, active, _memory() - base)


def _ticks_after(day: datetime) -> Iterator[datetime]:
    """The ticker's moments once the users are done: the reminders fall due and are sent;
    a day later they are forgotten (as are the windows of the users who finished); once
    a window's span has gone by again, the windows of the users who were reminded."""
    sent = day + timedelta(hours=2)
    forgotten = sent + timedelta(hours=settings.EVENTS_SEEN_IDS_MAX_AGE_HOURS)
    yield sent
    yield forgotten
    yield forgotten + timedelta(seconds=settings.EVENTS_REORDER_WINDOW_SECONDS + 1)


def receive_all(
    parts: bootstrap.Components, clock: WallClock, steps: Iterator[active_users.Step]
) -> None:
    """Each step in turn; none is referenced once they are done (their events would be
    counted as state)."""
    for step in steps:
        _receive(parts, clock, step)


def _receive(parts: bootstrap.Components, clock: WallClock, step: active_users.Step) -> None:
    """A step's events, received at its time; then the ticker's turn."""
    clock.now = step.received_at
    active_users.ingest(step)
    _tick(parts, clock, step.received_at)


def _tick(parts: bootstrap.Components, clock: WallClock, moment: datetime) -> None:
    """The ticker, as a running server's: it sends the reminders due, and the store
    forgets what expired by then (idle windows, sent reminders a day old)."""
    clock.now = moment
    parts.processor.send_due_reminders(moment)


def _memory() -> int:
    """Python objects allocated since tracing started, when it is on; else resident memory."""
    return tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else _rss()


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0
