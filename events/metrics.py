"""Prometheus metrics of event ingestion."""

from functools import cache

from prometheus_client import Counter

EVENTS = Counter("events_total", "Events by type and outcome.", ["type", "outcome"])


@cache
def events_counter(event_type: str, outcome: str) -> Counter:
    """The counter child of one label pair (looking a child up is a lock and a dict)."""
    return EVENTS.labels(event_type, outcome)


DECISIONS = Counter(
    "events_decisions_total",
    "Outcomes in the decision log, e.g. reminders sent or cancelled, and "
    "late_start_after_sent: a start inside the window of a reminder already sent.",
    ["outcome"],
)


@cache
def decisions_counter(outcome: str) -> Counter:
    return DECISIONS.labels(outcome)
