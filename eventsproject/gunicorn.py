"""gunicorn settings for production: `gunicorn -c python:eventsproject.gunicorn eventsproject.wsgi`.

State is in memory, in one process: several workers would each see a part of
every user's events and decide wrongly. So: one worker, with threads, and a
refusal to start with more.
"""

from typing import Any

bind = "127.0.0.1:8000"
workers = 1
worker_class = "gthread"
threads = 8
# Long enough for requests under way plus the outbox's shutdown grace
# (NOTIFY_SHUTDOWN_GRACE_SECONDS, 10 by default): the master kills the worker after it.
graceful_timeout = 45


def on_starting(server: Any) -> None:
    if server.cfg.preload_app:
        # The ticker and the outbox threads would start in the master and die in the fork.
        raise SystemExit("Refusing --preload: the service's threads must start in its worker.")
    if server.cfg.workers != 1:
        raise SystemExit(
            f"Refusing to start with {server.cfg.workers} workers: the events processor keeps "
            "its state in memory, in one process. Run one worker (add --threads for "
            "concurrency); see README, 'Production'."
        )
