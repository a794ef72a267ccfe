"""Receivers of `events.signals.event_recorded`; connected in `EventsConfig.ready()`."""

from typing import Any

from events import services
from events.domain import Event


def run_rules(sender: type[Event], event: Event, **kwargs: Any) -> None:
    services.apply_rules(event)
