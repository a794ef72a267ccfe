"""What the API reads: thin selectors over the store's query port (events/ports.py)."""

from collections.abc import Mapping
from typing import Any

from events.domain.decisions import DecisionRecord
from events.domain.events import Event
from events.ports import EventQueries


def recent_events(
    queries: EventQueries, *, user_id: str | None = None, event_type: str | None = None
) -> list[Event]:
    """The recent events, newest first; of one user, of one type, when asked."""
    return [
        event
        for event in queries.recent_events()
        if (user_id is None or event.user_id == user_id)
        and (event_type is None or event.event_type == event_type)
    ]


def user_state(queries: EventQueries, user_id: str) -> Mapping[str, Any]:
    """A user's open training sessions and pending reminder."""
    state = queries.user_state(user_id)
    return {
        "user_id": user_id,
        "open_sessions": list(state.open_sessions.values()),
        "pending_reminder": state.pending_reminder,
    }


def decisions(queries: EventQueries, user_id: str) -> list[DecisionRecord]:
    """The user's decision log, newest first."""
    return queries.decisions(user_id)
