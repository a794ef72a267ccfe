"""One delivery process: how many notifications a second the real dispatcher and notify
client send, from the outbox to a fast local receiver (benchmarks/fast_receiver.py),
signed as in production. The receiver is a process of its own."""

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from django.test import override_settings

from benchmarks import http_load, stores
from eventsproject import bootstrap
from eventsproject.platform import signing
from notifications.domain.notification import Notification, NotificationKind, Reason

#: A signing key of the benchmarks only (Standard Webhooks' `whsec_` form).
SIGNING_SECRET = "whsec_YmVuY2htYXJrcyBvbmx5IHNpZ25pbmcga2V5IGZvciBub3RpZnk="


def delivery(count: int, store: str, delay: float = 0.0) -> dict[str, Any]:
    """`count` notifications queued in `store`'s outbox, then delivered by one dispatcher
    to a receiver answering after `delay` seconds; timed from its start until nothing is
    pending."""
    with (
        fast_receiver(delay) as (url, answered),
        stores.redis_prefix() as (_, prefix),
        override_settings(
            NOTIFY_URL=url,
            NOTIFY_SIGNING_KEYS=signing.parse_secrets(SIGNING_SECRET),
            EVENTS_REDIS_PREFIX=prefix,
        ),
    ):
        parts = bootstrap.build(store=store)
        parts.outbox.append(notifications(count))
        started = time.perf_counter()
        parts.dispatcher.start()
        parts.dispatcher.flush()
        seconds = time.perf_counter() - started
        parts.dispatcher.close(timeout=0)
    return {"notifications": count, "per_second": count / seconds, "received": answered()}


def notifications(count: int) -> list[Notification]:
    now = datetime.now(UTC)
    return [
        Notification(
            notification_id=f"benchmark-{n:08d}",
            kind=NotificationKind.TRAINING_DOSE_CONGRATULATION,
            user_id=f"user-{n:08d}",
            device_id=f"device-{n:08d}",
            message="Congratulations! You trained for 42 minutes.",
            triggered_at=now,
            reason=Reason("congratulate_training_dose", (), {"minutes": 42}),
            minutes=42,
        )
        for n in range(count)
    ]


@contextmanager
def fast_receiver(delay: float = 0.0) -> Iterator[tuple[str, Any]]:
    """The receiver's URL, and a function that stops it and returns how many it answered."""
    port = http_load.free_port()
    command = [sys.executable, "-m", "benchmarks.fast_receiver", "--port", str(port)]
    command += ["--delay", str(delay)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    answered: list[int] = []

    def stop() -> int:
        if not answered:
            process.terminate()
            answered.append(int(process.communicate(timeout=30)[0] or 0))
        return answered[0]

    try:
        http_load.wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/v1/notify", stop
    finally:
        stop()
