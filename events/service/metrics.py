"""Prometheus metrics of event ingestion and of the decision log.

Counting happens on every event, so the tallies are plain `Counter`s bumped
under one lock per event (a Prometheus counter takes a lock of its own per
increment, and per label lookup; across gunicorn's workers it also writes a
file); `TALLIES` declares what they are exported as: `events_total{type,outcome}`,
`events_decisions_total{outcome}`, `events_too_late_total` (the decisions
`too_late`) and `events_rejected_total{endpoint,reason}` (events/api/rejections.py).
In one process a collector reads them when `/metrics` is scraped; across workers a
`Publisher` adds what they gained to counters the other workers' scrapes read, about
once a second (eventsproject/reporting.py): the hot path stays a dict increment.
"""

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client import Counter as PromCounter
from prometheus_client.core import REGISTRY, CollectorRegistry, CounterMetricFamily
from prometheus_client.registry import Collector

#: Events by (type, outcome).
EVENTS: Counter[tuple[str, ...]] = Counter()
#: Decision log outcomes.
DECISIONS: Counter[str] = Counter()
#: What clients sent and were refused, by (endpoint, reason).
REJECTED: Counter[tuple[str, ...]] = Counter()
_counting = threading.Lock()


def count_event(event_type: str, outcome: str, decisions: Sequence[str] = ()) -> None:
    with _counting:
        EVENTS[event_type, outcome] += 1
        if decisions:
            DECISIONS.update(decisions)


def count_decisions(decisions: Iterable[str]) -> None:
    with _counting:
        DECISIONS.update(decisions)


def count_rejections(endpoint: str, reasons: Mapping[str, int]) -> None:
    """One request's refusals, by reason: one lock for all of them."""
    with _counting:
        for reason, count in reasons.items():
            REJECTED[endpoint, reason] += count


Values = dict[tuple[str, ...], int]


@dataclass(frozen=True, slots=True)
class Tally:
    """A counter as Prometheus sees it, and how to read its values by label values."""

    name: str
    documentation: str
    labels: tuple[str, ...]
    read: Callable[[], Values]


TALLIES = (
    Tally(
        "events",
        "Events by type and outcome.",
        ("type", "outcome"),
        lambda: dict(EVENTS),  # dict(): copied atomically
    ),
    Tally(
        "events_decisions",
        "Outcomes in the decision log, e.g. reminders sent or cancelled, and "
        "late_start_after_sent: a start inside the window of a reminder already sent.",
        ("outcome",),
        lambda: {(outcome,): count for outcome, count in dict(DECISIONS).items()},
    ),
    Tally(
        "events_too_late",
        "Events older than their user's reorder window (EVENTS_REORDER_WINDOW_SECONDS, "
        "_EVENTS): applied as they came, not in their place on the timeline.",
        (),
        lambda: {(): DECISIONS["too_late"]},
    ),
    Tally(
        "events_rejected",
        "Events refused inside a batch and 4xx answers of ingestion endpoints, by "
        "endpoint and reason (events/api/rejections.py).",
        ("endpoint", "reason"),
        lambda: dict(REJECTED),
    ),
)


class TalliesCollector(Collector):
    """The tallies of this process, read at each scrape."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        for tally in TALLIES:
            family = CounterMetricFamily(tally.name, tally.documentation, labels=tally.labels)
            for labels, count in tally.read().items():
                family.add_metric(labels, count)
            yield family


class Publisher:
    """The tallies as prometheus-client counters, which across gunicorn's workers are each
    process's file that a scrape sums (multiprocess mode): `publish` adds what each tally
    gained since it last ran. (The counters are in no registry: the multiprocess collector
    reads their files; a test gives a registry of its own.)"""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self._counters = {
            tally.name: PromCounter(
                tally.name, tally.documentation, tally.labels, registry=registry
            )
            for tally in TALLIES
        }
        self._published: dict[tuple[str, tuple[str, ...]], float] = {}
        self._lock = threading.Lock()  # the reporter's pass and the exit's

    def publish(self) -> None:
        with self._lock:
            for tally in TALLIES:
                for labels, count in tally.read().items():
                    self._add(tally.name, labels, count)

    def _add(self, name: str, labels: tuple[str, ...], count: float) -> None:
        gained = count - self._published.get((name, labels), 0)
        if not gained:
            return
        counter = self._counters[name]
        (counter.labels(*labels) if labels else counter).inc(gained)
        self._published[name, labels] = count


REGISTRY.register(TalliesCollector())
