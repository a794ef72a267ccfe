"""Run the reminder ticker and the notification dispatcher in a process of their own."""

import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from eventsproject import reporting, serving
from eventsproject.config import SHARED_STORES
from eventsproject.status_server import StatusServer


class Command(BaseCommand):
    help = (
        "Run the reminder ticker and the notification dispatcher without serving HTTP, "
        "for setups that scale them apart from the web processes (EVENTS_STORE=redis; "
        "set EVENTS_WEB_RUNS_WORKERS=false on the web processes). SIGTERM or Ctrl-C stops "
        "it, after delivering what it can within NOTIFY_SHUTDOWN_GRACE_SECONDS. It serves its "
        "own /metrics and /v1/health on EVENTS_WORKERS_HTTP_ADDRESS (127.0.0.1:9091)."
    )

    #: Seconds between checks that both threads are still alive.
    watch_period = 1.0

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.EVENTS_STORE not in SHARED_STORES:
            raise CommandError(
                "run_workers needs EVENTS_STORE=redis: with the memory store the state "
                "lives in the web process, which runs its own ticker and dispatcher."
            )
        stopping = threading.Event()

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.set()

        status = self._status_server(settings.EVENTS_WORKERS_HTTP_ADDRESS)
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        reporting.start()  # its heartbeat, which the web processes show
        serving.start(workers=True)
        self.stdout.write("Running the reminder ticker and the notification dispatcher.")
        try:
            self._watch(stopping)
        finally:
            serving.stop()
            if status is not None:
                status.stop()
        self.stdout.write("Stopped.")

    def _status_server(self, address: str) -> StatusServer | None:
        """Its own /metrics and health, on EVENTS_WORKERS_HTTP_ADDRESS (empty: none)."""
        if not address:
            return None
        try:
            status = StatusServer(address)
        except OSError as error:
            raise CommandError(
                f"run_workers cannot serve /metrics and /v1/health on {address} ({error}): "
                "set EVENTS_WORKERS_HTTP_ADDRESS to a free host:port, or empty for none"
            ) from None
        status.start()
        self.stdout.write(f"Serving /metrics and /v1/health on http://{address}.")
        return status

    def _watch(self, stopping: threading.Event) -> None:
        while not stopping.wait(self.watch_period):
            report = serving.health_report()
            if report["status"] != "ok" and "stopped" in report["threads"].values():
                raise CommandError(f"a worker thread stopped: {report['threads']}")
