"""What a serving process tells the others, every `serving.REPORT_PERIOD` seconds, from a
thread of its own:

- across gunicorn's workers (PROMETHEUS_MULTIPROC_DIR set: eventsproject/metrics.py), its
  metrics: the event tallies' gains and its process gauges, written to its file, so that
  whichever worker answers a scrape sums everyone's within a second. Counting an event
  stays a dict increment under one lock: the file is written once a second, not once an
  event (and once more at exit, so that a worker that stops loses none of its counts).
- on a store shared by several processes (Redis), while it delivers and its loops work,
  its heartbeat (eventsproject/platform/heartbeats.py), which web processes that leave
  delivery to `run_workers` show in `/v1/health` and `/metrics`; forgotten when it stops.

A pass that fails is logged once and counted (`events_background_failures_total`), and the
next one tries again.
"""

import atexit
import threading
from collections.abc import Callable

from events.service.metrics import Publisher
from eventsproject import metrics, serving
from eventsproject.bootstrap import components
from eventsproject.config import metrics_directory
from eventsproject.platform.loops import LoopHealth

Duty = Callable[[], None]


class Reporter:
    def __init__(self, duties: list[Duty], period: float, last: list[Duty]) -> None:
        self._duties = duties
        self._last = last  # at exit, after a last pass
        self._period = period
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="reporter")
        self.health = LoopHealth("the reporter", period)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self.report_once(self._duties + self._last)

    def report_once(self, duties: list[Duty] | None = None) -> None:
        for duty in self._duties if duties is None else duties:
            try:
                duty()
            except Exception as error:  # a store out of reach, most likely: next pass
                self.health.failed(error)
                return
        self.health.succeeded()

    def _run(self) -> None:
        while not self._stopping.wait(self._period):
            self.report_once()


_running: list[Reporter] = []  # this process's, once started


def start() -> None:
    """Once per serving process, before `serving.start()`: its last pass at exit then comes
    after the dispatcher's last deliveries (atexit runs the last registered first)."""
    if _running:
        return
    duties, last = _duties()
    if not duties:
        return  # one process, with the memory store: a scrape reads it all at once
    reporter = Reporter(duties, serving.REPORT_PERIOD, last)
    _running.append(reporter)
    reporter.start()
    atexit.register(reporter.stop)


def _duties() -> tuple[list[Duty], list[Duty]]:
    duties: list[Duty] = []
    last: list[Duty] = []
    if metrics_directory():
        publisher = Publisher()
        duties += [publisher.publish, metrics.refresh_process_gauges]
        metrics.before_scrape.append(publisher.publish)
    heartbeats = components().heartbeats
    if heartbeats is not None:
        duties.append(_beat)
        last.append(heartbeats.forget)
    return duties, last


def _beat() -> None:
    """This process delivers and its loops work: say so, with its breaker's state."""
    loops = serving.loops_up()
    parts = components()
    if loops and all(loops.values()) and parts.heartbeats is not None:
        parts.heartbeats.beat({"circuit_breaker": parts.dispatcher.breaker_state})
