"""What `/metrics` says, in one process or summed over gunicorn's workers.

- What each process counts (prometheus-client's counters and histograms, and the
  tallies of events/service/metrics.py): in one process, read from it; under the
  production command, which gives its workers a directory of their own
  (PROMETHEUS_MULTIPROC_DIR, eventsproject/server.py), each process writes its values to
  its own file there and a scrape sums them all (prometheus-client's multiprocess mode),
  so any worker answers for every one of them.
- The state of each process: its circuit breaker, its background loops, its rules. Gauges
  it refreshes when it answers a scrape and, across workers, every second
  (eventsproject/reporting.py); each has the multiprocess mode that sums them right.
- What the store holds (the outbox's depth, the oldest due notification's age, whether
  the store answers, the heartbeats of the delivery processes): read once, at the scrape,
  by the process that answers it: the same from any worker.
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from prometheus_client import Gauge, generate_latest
from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from eventsproject import serving
from eventsproject.bootstrap import Components, components
from eventsproject.config import metrics_directory
from eventsproject.platform.stores import StoreUnavailable
from notifications.service import metrics as delivery_metrics

LOOP_UP = Gauge(
    "events_background_loop_up",
    "1 when the background loop (ticker, dispatcher, senders) is alive and not stuck, as "
    "/v1/health judges; across processes that run it, the lowest.",
    ["loop"],
    multiprocess_mode="livemin",
)
RULES_INFO = Gauge(
    "events_rules_info",
    "1 for the version of the rules a process runs (README, 'The rules file').",
    ["version"],
    multiprocess_mode="livemax",
)


#: What a process does before it answers a scrape, besides refreshing its gauges: across
#: workers, publish its own event tallies (eventsproject/reporting.py), so that the worker
#: that answers is never behind.
before_scrape: list[Callable[[], None]] = []


def exposition() -> bytes:
    """The text `/metrics` answers."""
    for duty in before_scrape:
        duty()
    refresh_process_gauges()
    return generate_latest(_scrape())


def refresh_process_gauges() -> None:
    """This process's breaker (if it delivers), loops (if it runs them) and rules."""
    parts = components()
    RULES_INFO.labels(parts.rules.version).set(1)
    if serving.delivers():
        delivery_metrics.show_breaker_state(parts.dispatcher.breaker_state)
    for loop, up in serving.loops_up().items():
        LOOP_UP.labels(loop).set(int(up))


class _Scrape:
    """What a scrape collects: every process's values, then the store's figures."""

    def __init__(self, *collectors: Any) -> None:
        self._collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self._collectors:
            yield from collector.collect()


@cache
def _scrape() -> _Scrape:
    directory = metrics_directory()
    values = REGISTRY if directory is None else MultiProcessCollector(None, path=directory)  # type: ignore[no-untyped-call]
    return _Scrape(values, StoreFigures())


class StoreFigures(Collector):
    """Read from the store at each scrape; a store that does not answer says so
    (`events_store_up` 0) and the other metrics are still served."""

    def collect(self) -> Iterator[Metric]:
        parts = components()
        yield _gauge(
            "notification_retry_budget_seconds",
            "NOTIFY_RETRY_BUDGET_SECONDS: no retry ends later than this after a round's "
            "first attempt.",
            settings.NOTIFY_RETRY_BUDGET_SECONDS,
        )
        try:
            figures = list(_read(parts, parts.clock()))
        except StoreUnavailable:
            figures = []
        yield _gauge(
            "events_store_up",
            "1 when the store answered this scrape, 0 when it did not.",
            bool(figures),
        )
        yield from figures


def _read(parts: Components, now: datetime) -> Iterable[Metric]:
    depth = GaugeMetricFamily(
        "notification_outbox_depth",
        "Notifications by delivery status (failed: the dead letters held).",
        labels=["status"],
    )
    for status, count in parts.outbox.counts().items():
        depth.add_metric([status], count)
    since = parts.outbox.oldest_pending_since(now)
    age = GaugeMetricFamily(
        "notification_oldest_pending_age_seconds",
        "Age of the oldest pending notification that is due (a deferred one from its "
        "deliver_after); 0 when none is.",
        value=0 if since is None else (now - since).total_seconds(),
    )
    figures = [depth, age]
    if parts.heartbeats is not None:
        beats = parts.heartbeats.recent()
        figures.append(
            _gauge(
                "events_delivery_heartbeat_age_seconds",
                "Seconds since a process that delivers last beat (+Inf: none has lately).",
                beats[0].seconds_ago if beats else float("inf"),
            )
        )
    return figures


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
