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
graceful_timeout = 30


def on_starting(server: Any) -> None:
    if server.cfg.workers != 1:
        raise SystemExit(
            f"Refusing to start with {server.cfg.workers} workers: the events processor keeps "
            "its state in memory, in one process. Run one worker (add --threads for "
            "concurrency); see README, 'Production'."
        )
