"""Prometheus metrics of event ingestion and of the decision log.

Counting happens on every event, so the tallies are plain `Counter`s bumped
under one lock per event (a Prometheus counter takes a lock of its own per
increment, and per label lookup); a collector turns them into
`events_total{type,outcome}`, `events_decisions_total{outcome}`,
`events_too_late_total` (the decisions `too_late`) and
`events_rejected_total{endpoint,reason}` (events/api/rejections.py) when `/metrics` is
scraped.
"""

import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence

from prometheus_client.core import REGISTRY, CounterMetricFamily
from prometheus_client.registry import Collector

#: Events by (type, outcome).
EVENTS: Counter[tuple[str, str]] = Counter()
#: Decision log outcomes.
DECISIONS: Counter[str] = Counter()
#: What clients sent and were refused, by (endpoint, reason).
REJECTED: Counter[tuple[str, str]] = Counter()
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


class TalliesCollector(Collector):
    def collect(self) -> Iterator[CounterMetricFamily]:
        events = CounterMetricFamily(
            "events", "Events by type and outcome.", labels=["type", "outcome"]
        )
        for (event_type, outcome), count in dict(EVENTS).items():  # dict(): copied atomically
            events.add_metric([event_type, outcome], count)
        yield events
        decisions = CounterMetricFamily(
            "events_decisions",
            "Outcomes in the decision log, e.g. reminders sent or cancelled, and "
            "late_start_after_sent: a start inside the window of a reminder already sent.",
            labels=["outcome"],
        )
        for outcome, count in dict(DECISIONS).items():
            decisions.add_metric([outcome], count)
        yield decisions
        yield CounterMetricFamily(
            "events_too_late",
            "Events older than their user's reorder window (EVENTS_REORDER_WINDOW_SECONDS, "
            "_EVENTS): applied as they came, not in their place on the timeline.",
            value=DECISIONS["too_late"],
        )
        rejected = CounterMetricFamily(
            "events_rejected",
            "Events refused inside a batch and 4xx answers of ingestion endpoints, by "
            "endpoint and reason (events/api/rejections.py).",
            labels=["endpoint", "reason"],
        )
        for (endpoint, reason), count in dict(REJECTED).items():
            rejected.add_metric([endpoint, reason], count)
        yield rejected


REGISTRY.register(TalliesCollector())
