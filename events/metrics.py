"""Prometheus metrics of event ingestion."""

from prometheus_client import Counter

EVENTS = Counter("events_total", "Events by type and outcome.", ["type", "outcome"])
