"""The background work — the reminder ticker and the notification dispatcher — of a
serving process (started from `eventsproject.wsgi`) or of `manage.py run_workers`.

Only a process that serves HTTP (runserver, gunicorn) imports the WSGI module,
so other management commands and tests never start these threads; with
`EVENTS_WEB_RUNS_WORKERS=false` the web processes leave them to `run_workers`.
On interpreter exit — and on SIGTERM where no server installed its own handler
— the ticker stops and the dispatcher delivers what is pending within
`NOTIFY_SHUTDOWN_GRACE_SECONDS`; what it could not is logged by id (and, with
the Redis store, left to the next process).
"""

import atexit
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from django.conf import settings

from eventsproject.bootstrap import components, store_kind
from eventsproject.platform.heartbeats import Heartbeats
from eventsproject.platform.loops import LoopHealth
from eventsproject.platform.stores import StoreUnavailable

logger = logging.getLogger(__name__)

_started = threading.Event()
_stopping = threading.Event()


def start(*, workers: bool | None = None) -> None:
    """Start the background threads once, unless `workers` (EVENTS_WEB_RUNS_WORKERS) is off."""
    runs_workers = settings.EVENTS_WEB_RUNS_WORKERS if workers is None else workers
    if _started.is_set() or not runs_workers:
        return
    _started.set()
    parts = components()
    parts.ticker.start()
    parts.dispatcher.start()
    atexit.register(stop)
    _exit_on_sigterm()
    logger.info("reminder ticker and notification dispatcher started")


def begin_shutdown() -> None:
    """From now on the process is not ready: a load balancer should send its traffic elsewhere."""
    _stopping.set()


def stop() -> None:
    begin_shutdown()
    if not _started.is_set():
        return
    _started.clear()
    parts = components()
    parts.ticker.stop()
    undelivered = parts.dispatcher.close(timeout=settings.NOTIFY_SHUTDOWN_GRACE_SECONDS)
    logger.info("serving stopped; %s notifications undelivered", len(undelivered))
    if not parts.outbox.durable:
        _log_dropped_state(parts.queries.stats())


def _log_dropped_state(stats: dict[str, int]) -> None:
    """What only this process held; a store that keeps it has nothing to say."""
    if stats["open_sessions"] or stats["pending_reminders"]:
        logger.warning(
            "the memory store drops %s open sessions of %s users and %s pending reminders "
            "at shutdown",
            stats["open_sessions"],
            stats["users_with_open_sessions"],
            stats["pending_reminders"],
        )


def delivers() -> bool:
    """Whether this process delivers notifications: it runs the background work, or will
    (a process started with EVENTS_WEB_RUNS_WORKERS on; a test's)."""
    return _started.is_set() or settings.EVENTS_WEB_RUNS_WORKERS


def _loops(parts: Any) -> dict[str, tuple[bool, LoopHealth]]:
    """Each background loop: whether its thread is alive, and its health."""
    return {
        "ticker": (parts.ticker.alive, parts.ticker.health),
        "dispatcher": (parts.dispatcher.alive, parts.dispatcher.health),
        "senders": (parts.dispatcher.alive, parts.dispatcher.senders_health),
    }


def loops_up() -> dict[str, bool]:
    """Each background loop this process runs: alive and not stuck (none if it runs none)."""
    if not _started.is_set():
        return {}
    return {
        name: alive and not health.stuck for name, (alive, health) in _loops(components()).items()
    }


def health_report() -> dict[str, Any]:
    """`ok` unless a background loop of this serving process has died or has failed for
    a few of its periods, or the store cannot be reached, or — where this process leaves
    delivery to others — no process that delivers has reported for a few periods."""
    parts = components()
    threads = {"ticker": parts.ticker.alive, "dispatcher": parts.dispatcher.alive}
    loops = {name: health for name, (_, health) in _loops(parts).items()}
    store: dict[str, Any] = {"kind": settings.EVENTS_STORE, "reachable": True}
    try:
        figures = {
            "events": parts.queries.event_counts(),
            "state": parts.queries.stats(),
            "notifications": parts.outbox.counts(),
        }
    except StoreUnavailable as error:
        store.update(reachable=False, error=str(error))
        figures = {}
    stuck = [name for name, health in loops.items() if health.stuck]
    broken = _started.is_set() and (not all(threads.values()) or bool(stuck))
    delivery, missing = _delivery(parts.heartbeats)
    report = {
        "status": "degraded" if broken or missing or not store["reachable"] else "ok",
        "serving": _started.is_set(),
        "threads": {name: "alive" if alive else "stopped" for name, alive in threads.items()},
        "loops": {name: health.report() for name, health in loops.items()},
        "stuck": stuck,
        "store": store,
        **figures,
        "circuit_breaker": parts.dispatcher.breaker_state,
        **delivery,
        "rules_version": parts.rules.version,
        "limits": _limits(),
    }
    if not delivers():  # its loops and breaker do nothing: the delivery processes report theirs
        for part in RUN_ELSEWHERE:
            del report[part]
        report["workers"] = "elsewhere: EVENTS_WEB_RUNS_WORKERS is off (run_workers)"
    return report


#: What a web process that leaves delivery to others does not run, so does not report.
RUN_ELSEWHERE = ("serving", "threads", "loops", "stuck", "circuit_breaker")


#: Seconds between two reports of a process (eventsproject/reporting.py): its heartbeat,
#: and across gunicorn's workers its metrics.
REPORT_PERIOD = 1.0
#: A process that delivers is missing once it has not beaten for this many periods.
MISSED_BEATS = 5


def _delivery(heartbeats: Heartbeats | None) -> tuple[dict[str, Any], bool]:
    """The `delivery` part of the health report, on a store where other processes may
    deliver, and whether delivery is missing (this process leaves it to others, and none
    has beaten lately)."""
    if heartbeats is None:
        return {}, False
    try:
        beats = heartbeats.recent()
    except StoreUnavailable as error:
        return {"delivery": {"error": str(error)}}, False  # the store's own check says so
    last = beats[0].seconds_ago if beats else None
    missing = not delivers() and (last is None or last > MISSED_BEATS * REPORT_PERIOD)
    report = {
        "status": "missing" if missing else "ok",
        "last_heartbeat_seconds_ago": last,
        "processes": [beat.as_health() for beat in beats],
    }
    return {"delivery": report}, missing


def _limits() -> dict[str, Any]:
    """The bounds on what clients can make the service hold (settings, README)."""
    return {"user_state_ttl_hours": settings.EVENTS_USER_STATE_TTL_HOURS, **store_kind().limits()}


def liveness() -> dict[str, Any]:
    """The process answers: nothing else is checked, so that a restart is only ever asked
    for when restarting helps."""
    return {"status": "ok"}


def readiness() -> dict[str, Any]:
    """Ready to take traffic: not shutting down, the store reachable, and, where this process
    runs the background work, its threads alive."""
    parts = components()
    checks = {
        "accepting": not _stopping.is_set(),
        "store": _reachable(parts.queries.event_counts),
        "delivery": not _started.is_set() or _working(parts.ticker, parts.dispatcher),
    }
    return {"status": "ok" if all(checks.values()) else "unavailable", "checks": checks}


def _working(*loops: Any) -> bool:
    return all(loop.alive and not loop.health.stuck for loop in loops)


def _reachable(read: Callable[[], object]) -> bool:
    try:
        read()
    except StoreUnavailable:
        return False
    return True


def _exit_on_sigterm() -> None:
    # gunicorn installs its own graceful handler (its worker then exits normally and
    # atexit runs); the development server leaves SIGTERM fatal, which skips atexit.
    on_main_thread = threading.current_thread() is threading.main_thread()
    if on_main_thread and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_system_exit)


def _raise_system_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)
