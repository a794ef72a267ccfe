"""Receivers of `events.service.signals.event_recorded`; connected by the composition root."""

from typing import Any

from events.domain.decisions import Decision, UserState
from events.domain.events import Event
from events.domain.rules import Thresholds, decide


def run_rules(
    sender: type[Event], event: Event, state: UserState, thresholds: Thresholds, **kwargs: Any
) -> list[Decision]:
    """The strategy map's decisions over the user's state; they are carried out by the caller."""
    return decide(event, state, thresholds)
