"""Receivers of `events.signals.event_recorded`; connected by the composition root."""

from typing import Any

from events.decisions import Decision, UserState
from events.domain import Event
from events.rules import Thresholds, decide


def run_rules(
    sender: type[Event], event: Event, state: UserState, thresholds: Thresholds, **kwargs: Any
) -> list[Decision]:
    """The strategy map's decisions over the user's state; they are carried out by the caller."""
    return decide(event, state, thresholds)
