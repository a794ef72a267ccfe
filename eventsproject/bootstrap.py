"""The composition root: the one place that builds the service's parts from settings.

`EventsConfig.ready()` calls `start()` once per process; everything else asks
`components()` for the parts it needs. Tests build their own parts through
`build`, with overrides, and `install` them for the length of a test.
"""

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, reset_queries

from events.adapters.memory import InMemoryEventRepository, MemoryLimits
from events.adapters.redis import RedisEventRepository, Retention
from events.domain.rules import Thresholds
from events.domain.ruleset import RuleSet
from events.ports import EventQueries, EventRepository, EventStore
from events.service import receivers
from events.service.processing import EventProcessor
from events.service.signals import event_recorded
from events.service.ticker import ReminderTicker
from events.wire import rules_file
from eventsproject import startup
from eventsproject.config import BadSettings
from eventsproject.platform import logs
from eventsproject.platform.heartbeats import Heartbeats
from eventsproject.platform.rate_limits import CacheRateLimiter, RateLimiter
from eventsproject.platform.redis import (
    Client,
    Layout,
    RedisHeartbeats,
    RedisRateLimiter,
    connect,
)
from notifications.adapters.console import ConsoleTransport, Writable
from notifications.adapters.http import NotifyClient
from notifications.adapters.memory import InMemoryOutboxStore
from notifications.adapters.redis import RedisOutboxStore
from notifications.domain.notification import utc_now
from notifications.domain.retry import RetryPolicy
from notifications.ports import OutboxStore, Transport
from notifications.service.dispatcher import Dispatcher, circuit_breaker


@dataclass(frozen=True, slots=True)
class Components:
    rules: RuleSet
    thresholds: Thresholds
    repository: EventRepository
    queries: EventQueries  # the read side of the same store
    outbox: OutboxStore
    dispatcher: Dispatcher
    processor: EventProcessor
    ticker: ReminderTicker
    rate_limiter: RateLimiter  # what the throttles spend from
    #: Where the processes that deliver say so, when they may be others (Redis); else None.
    heartbeats: Heartbeats | None = None
    #: The wall clock the parts go by (the metrics read ages by it).
    clock: Callable[[], datetime] = utc_now


class Stores(NamedTuple):
    """What a store's adapters are: one per app's port, the throttles' counters, and the
    heartbeats of the processes that deliver (a store shared by several processes)."""

    events: EventStore
    outbox: OutboxStore
    rate_limiter: RateLimiter
    heartbeats: Heartbeats | None = None


@dataclass(frozen=True, slots=True)
class StoreKind:
    """An EVENTS_STORE choice (eventsproject/config.py): how its adapters are built, and the
    limits the health report names."""

    build: "Callable[[Callable[[], datetime], Client | None], Stores]"
    limits: "Callable[[], dict[str, Any]]" = dict


_installed: Components | None = None


def start() -> Components:
    """Build the parts from settings and install them: once per process."""
    _tune_garbage_collector(settings.EVENTS_GC_GEN0_THRESHOLD)
    _drop_database_hooks()
    logs.install_request_ids()
    event_recorded.connect(receivers.run_rules, dispatch_uid="events.run_rules")
    from eventsproject.web import throttles  # DRF's: only once the apps are loaded

    throttles.rate_limiter = _rate_limiter
    components = build()
    install(components)
    return components


def build(
    *,
    thresholds: Thresholds | None = None,
    transport: Transport | None = None,
    clock: Callable[[], datetime] = utc_now,
    store: str | Stores | None = None,
    redis_client: Client | None = None,
    rules: RuleSet | None = None,
) -> Components:
    """Every part, from settings; `thresholds`, `transport`, the wall `clock`, the `store`
    (EVENTS_STORE's name, or the stores themselves), the Redis client and the `rules` may
    be given instead."""
    rules = rules or rules_from_settings()
    thresholds = thresholds or thresholds_from_settings(rules)
    stores = store if isinstance(store, Stores) else store_kind(store).build(clock, redis_client)
    processor = EventProcessor(stores.events, thresholds)
    outbox = stores.outbox
    return Components(
        rules=rules,
        thresholds=thresholds,
        repository=stores.events,
        queries=stores.events,
        outbox=outbox,
        dispatcher=_dispatcher(
            outbox, transport or NotifyClient(settings.NOTIFY_CONCURRENCY), clock
        ),
        processor=processor,
        # Created everywhere, started only by a serving process (eventsproject.serving).
        ticker=ReminderTicker(
            processor.send_due_reminders, period=settings.EVENTS_TICK_SECONDS, utc_now=clock
        ),
        rate_limiter=stores.rate_limiter,
        heartbeats=stores.heartbeats,
        clock=clock,
    )


def dry_run(output: Writable) -> Components:
    """Parts for a dry run: a throwaway memory store, every notification printed to
    `output` at once (a deferred one with its `deliver_after`)."""
    stores = memory_stores(utc_now)
    return build(transport=ConsoleTransport(output), store=stores, clock=_past_every_deferral)


def what_if(rules: RuleSet, transport: Transport) -> Components:
    """Parts for one run of a what-if: a throwaway memory store under `rules` that keeps no
    decision log (nobody reads it), every notification handed to `transport` at once (which
    tallies them: nothing is delivered)."""
    stores = memory_stores(utc_now, decision_logs=False)
    return build(transport=transport, store=stores, rules=rules, clock=_past_every_deferral)


def _past_every_deferral() -> datetime:
    """A what-if's delivery clock: every notification is due at once, a deferred one too
    (it counts as sent; the quiet hours' end is in its figures)."""
    return datetime.max.replace(tzinfo=UTC) - timedelta(days=2)


def proposed_rules(path: Path) -> RuleSet:
    """The rules of the file at `path`, read as EVENTS_RULES_FILE would be (over the built-in
    rules); `RulesFileError` with a line per problem if it is not right."""
    return startup.rules_in_force(settings, path)


def memory_stores(
    clock: Callable[[], datetime],
    redis_client: Client | None = None,
    *,
    decision_logs: bool = True,
) -> Stores:
    outbox = InMemoryOutboxStore(history_limit=settings.NOTIFICATIONS_RECENT_LIMIT, clock=clock)
    limits = MemoryLimits(
        seen_ids=settings.EVENTS_SEEN_IDS_LIMIT,
        seen_max_age=timedelta(hours=settings.EVENTS_SEEN_IDS_MAX_AGE_HOURS),
        decisions_per_user=settings.EVENTS_DECISION_LOG_LIMIT if decision_logs else 0,
        users_with_history=settings.EVENTS_DECISION_LOG_USERS if decision_logs else 0,
        max_users=settings.EVENTS_MEMORY_MAX_USERS,
        state_ttl=timedelta(hours=settings.EVENTS_USER_STATE_TTL_HOURS),
        window_ttl=timedelta(seconds=settings.EVENTS_REORDER_WINDOW_SECONDS),
    )
    repository = InMemoryEventRepository(
        settings.EVENTS_RECENT_LIMIT, limits, outbox, monotonic=_idle_clock(clock)
    )
    return Stores(repository, outbox, CacheRateLimiter(cache))


def _idle_clock(clock: Callable[[], datetime]) -> Callable[[], float]:
    """How idleness is measured: by the monotonic clock, unless a wall clock is given (by
    tests and benchmarks, which move it)."""
    return time.monotonic if clock is utc_now else lambda: clock().timestamp()


def redis_stores(clock: Callable[[], datetime], redis_client: Client | None = None) -> Stores:
    client = redis_client or connect(settings.REDIS_URL)
    layout = Layout(settings.EVENTS_REDIS_PREFIX, settings.EVENTS_TIMER_SHARDS)
    lease = timedelta(seconds=settings.EVENTS_CLAIM_LEASE_SECONDS)
    outbox = RedisOutboxStore(
        client, layout, history_limit=settings.NOTIFICATIONS_RECENT_LIMIT, lease=lease, clock=clock
    )
    retention = Retention(
        recent_limit=settings.EVENTS_RECENT_LIMIT,
        seen_max_age=timedelta(hours=settings.EVENTS_SEEN_IDS_MAX_AGE_HOURS),
        decisions_per_user=settings.EVENTS_DECISION_LOG_LIMIT,
        state_ttl=timedelta(hours=settings.EVENTS_USER_STATE_TTL_HOURS),
        claim_lease=lease,
        window_ttl=timedelta(seconds=settings.EVENTS_REORDER_WINDOW_SECONDS),
    )
    repository = RedisEventRepository(client, layout, outbox, retention)
    prefix = settings.EVENTS_REDIS_PREFIX
    return Stores(
        repository, outbox, RedisRateLimiter(client, prefix), RedisHeartbeats(client, prefix)
    )


def _memory_limits() -> dict[str, Any]:
    return {"max_users": settings.EVENTS_MEMORY_MAX_USERS}


#: EVENTS_STORE's choices: a new store is its adapters plus one entry here (docs/stores.md).
STORES: dict[str, StoreKind] = {
    "memory": StoreKind(memory_stores, limits=_memory_limits),
    "redis": StoreKind(redis_stores),
}


def store_kind(name: str | None = None) -> StoreKind:
    """The configured store's kind (EVENTS_STORE), or `name`'s."""
    return STORES[name or settings.EVENTS_STORE]


def rules_from_settings() -> RuleSet:
    """The built-in rules with the EVENTS_*_SECONDS figures, under the rules file if one is
    set (EVENTS_RULES_FILE); `BadSettings` with a line per problem if it is not right."""
    try:
        return startup.rules_in_force(settings)
    except rules_file.RulesFileError as bad:
        raise BadSettings(bad.as_setting()) from None


def thresholds_from_settings(rules: RuleSet | None = None) -> Thresholds:
    """What the rules in force say (`rules`, else the configured ones), with the time
    model's figures from settings."""
    rules = rules or rules_from_settings()
    reminder, congratulation = rules.start_training_reminder, rules.training_dose_congratulation
    return Thresholds(
        reminder_delay=reminder.delay,
        training_dose=congratulation.threshold,
        allowed_lateness=reminder.allowed_lateness,
        reminders=reminder.enabled,
        congratulations=congratulation.enabled,
        reminder_message=reminder.message,
        congratulation_message=congratulation.message,
        reminder_controls=reminder.controls,
        congratulation_controls=congratulation.controls,
        default_zone=rules.default_zone,
        rules_version=rules.version,
        retry_window=timedelta(hours=settings.EVENTS_SEEN_IDS_MAX_AGE_HOURS),
        reorder_window=timedelta(seconds=settings.EVENTS_REORDER_WINDOW_SECONDS),
        reorder_window_events=settings.EVENTS_REORDER_WINDOW_EVENTS,
    )


def install(components: Components) -> Components | None:
    """Make `components` the process's parts; returns the ones they replace."""
    global _installed
    previous, _installed = _installed, components
    return previous


@contextmanager
def installed(components: Components) -> Iterator[Components]:
    """`components` are the process's parts inside the block."""
    previous = install(components)
    try:
        yield components
    finally:
        if previous is not None:
            install(previous)


def _rate_limiter() -> RateLimiter:
    return components().rate_limiter


def components() -> Components:
    assert _installed is not None, "the events app is not ready yet"
    return _installed


def _dispatcher(
    outbox: OutboxStore, transport: Transport, clock: Callable[[], datetime]
) -> Dispatcher:
    return Dispatcher(
        outbox,
        transport,
        policy=RetryPolicy(
            max_attempts=settings.NOTIFY_MAX_ATTEMPTS,
            base_delay=settings.NOTIFY_BACKOFF_BASE_SECONDS,
            max_delay=settings.NOTIFY_BACKOFF_MAX_SECONDS,
            max_total=settings.NOTIFY_RETRY_BUDGET_SECONDS,
        ),
        breaker=circuit_breaker(
            failures=settings.NOTIFY_BREAKER_FAILURES,
            cooldown_seconds=settings.NOTIFY_BREAKER_COOLDOWN_SECONDS,
        ),
        clock=clock,
        concurrency=settings.NOTIFY_CONCURRENCY,
    )


NO_DATABASE = "django.db.backends.dummy"


def _drop_database_hooks() -> None:
    """Django resets and closes database connections around every request; the service
    has no database (DATABASES is empty: Django fills in its dummy engine), so nothing
    needs it."""
    if all(database.get("ENGINE") == NO_DATABASE for database in settings.DATABASES.values()):
        request_started.disconnect(reset_queries)
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)


def _tune_garbage_collector(gen0_threshold: int) -> None:
    """Every process that processes events loads this: the server and the commands."""
    if gen0_threshold:
        gc.set_threshold(gen0_threshold, *gc.get_threshold()[1:])
