"""gunicorn settings for production: `gunicorn -c python:eventsproject.gunicorn eventsproject.wsgi`.

With the memory store, state is in one process: several workers would each see
a part of every user's events and decide wrongly, so more than one worker is
refused. With `EVENTS_STORE=redis`, every worker shares the state: run as many
as `WEB_CONCURRENCY` (or `-w`) says.
"""

import gc
import os
import signal
from collections.abc import Callable
from typing import Any

from eventsproject.config import SHARED_STORES, BadSettings, current, metrics_directory
from eventsproject.platform import logs
from eventsproject.web import access

try:
    _config = current()  # the environment and .env, as the workers will read them
except BadSettings as bad:
    raise SystemExit(str(bad)) from None

bind = "127.0.0.1:8000"
workers = _config.WEB_CONCURRENCY
# Asynchronous (gevent): a slow or silent client holds a greenlet, not one of a few threads,
# and is dropped after EVENTS_CLIENT_TIMEOUT_SECONDS (on_starting sets `keepalive` to it).
# Measured against 200 trickling connections: benchmarks/RESULTS.md, "Slow clients".
worker_class = "eventsproject.platform.workers.SlowClientSafeWorker"
worker_connections = 1000
# gunicorn 27 opens a control socket at one path per machine: a second server would take it over.
control_socket_disable = True
# Long enough for requests under way plus the outbox's shutdown grace
# (NOTIFY_SHUTDOWN_GRACE_SECONDS, 10 by default): the master kills the worker after it.
graceful_timeout = 45
# gunicorn's own lines in the service's format (LOG_FORMAT); the service logs each request
# itself (eventsproject/observability.py), so gunicorn's access log is off, and costs nothing.
logger_class = "eventsproject.platform.workers.ServiceLogger"
_LOG_FORMAT = _config.LOG_FORMAT
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": logs.FORMATTERS,
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": _LOG_FORMAT}},
    "loggers": {"gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False}},
    "root": {"handlers": [], "level": "WARNING"},
}


def on_starting(server: Any) -> None:
    """Refuses what would be unsafe or wrong in production, and says when it runs open.
    Reads Django's settings, so a `.env` file counts as the environment does."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventsproject.settings")
    from django.conf import settings

    for refused, reason in REFUSALS:
        if refused(settings, server.cfg):
            raise SystemExit(f"Refusing to start the production server {reason}")
    server.cfg.set("keepalive", settings.EVENTS_CLIENT_TIMEOUT_SECONDS)
    from django.core.checks import Tags, run_checks

    for warning in run_checks(tags=[Tags.security], include_deployment_checks=False):
        server.log.warning("%s: %s %s", warning.id, warning.msg, warning.hint)


REFUSALS: tuple[tuple[Callable[[Any, Any], bool], str], ...] = (
    (
        lambda settings, cfg: _weak(settings.SECRET_KEY, settings.DEVELOPMENT_SECRET_KEY),
        "without a SECRET_KEY of its own, 50 characters or more and not a repeated few: set "
        "it to a long random value (README, 'Run in production'); `make run` is the "
        "development mode.",
    ),
    (
        lambda settings, cfg: settings.DEBUG,
        "with DEBUG on: its error pages show settings, paths and tracebacks to anyone. "
        "`make run` is the development mode.",
    ),
    (
        lambda settings, cfg: not (access.any_tokens() or settings.EVENTS_ALLOW_ANONYMOUS),
        "where no client could post an event: set EVENTS_API_TOKENS (and EVENTS_ADMIN_TOKENS "
        "for reading and re-sending), or EVENTS_ALLOW_ANONYMOUS=true behind a gateway that "
        "authenticates the app (README, 'Who may do what').",
    ),
    (
        # The ticker and the outbox threads would start in the master and die in the fork.
        lambda settings, cfg: cfg.preload_app,
        "with --preload: the service's threads must start in its worker.",
    ),
    (
        lambda settings, cfg: cfg.workers != 1 and settings.EVENTS_STORE not in SHARED_STORES,
        "with several workers: with EVENTS_STORE=memory the events processor keeps its "
        "state in one process. Set EVENTS_STORE=redis (and REDIS_URL) to run several "
        "workers, or run one; see README, 'Running on Redis'.",
    ),
)


def _weak(secret_key: str, development_key: str) -> bool:
    """Django's own bar for a secret key (`check --deploy`, security.W009)."""
    return secret_key == development_key or len(secret_key) < 50 or len(set(secret_key)) < 5


def post_worker_init(worker: Any) -> None:
    """On SIGTERM the worker stops being ready (`/v1/health/ready` answers 503) at once,
    while it finishes the requests under way."""
    from eventsproject import serving

    def shut_down(signum: int, frame: Any) -> None:
        serving.begin_shutdown()
        worker.handle_exit(signum, frame)

    signal.signal(signal.SIGTERM, shut_down)
    _out_of_the_collectors_sight()


def _out_of_the_collectors_sight() -> None:
    """What the worker has loaded (Django, DRF, the service and its rules: about 95,000
    objects) lives as long as the worker does: frozen, a full collection no longer scans it
    again and again, only what came after. A full collection paused the worker for 98 to
    158 ms in the middle of a load before; its young collections are not affected
    (benchmarks/analysis.md, issue 28, target 1)."""
    gc.collect()
    gc.freeze()


def child_exit(server: Any, worker: Any) -> None:
    """A worker that exits takes its live gauges (its breaker, loops and rules) along; what
    it counted stays in the sums (eventsproject/metrics.py)."""
    from prometheus_client import multiprocess

    directory = metrics_directory()
    if directory:
        multiprocess.mark_process_dead(worker.pid, directory)  # type: ignore[no-untyped-call]
