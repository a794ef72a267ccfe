"""The events app's ports: what a store implements, and the errors the rest may catch.

`EventRepository` is the unit-of-work port (docs/stores.md): processing is a
unit of work per user: `update` checks the event in (nothing of a duplicate or
a conflict is saved; a store may find one only at its commit, after the caller
decided), hands the user's state to the caller, and saves what it returns —
the new state, the decision records and the notifications they cause —
together, so that nothing is half done. The caller's function is pure (it
decides, it does not write), so that a store that must retry its transaction
may call it again. `EventQueries` is the read side the API shows, apart from
it. The adapters are in `events/adapters/`; only the composition root
(eventsproject/bootstrap.py) picks one.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple, Protocol

from events.domain.decisions import DecisionRecord, Reminder, UserState
from events.domain.events import Event
from eventsproject.platform.stores import StoreFull, StoreUnavailable
from notifications.domain.notification import Notification

__all__ = [
    "Arrival",
    "Change",
    "ChangeOf",
    "Committed",
    "EventQueries",
    "EventRepository",
    "EventStore",
    "NeedsStoredState",
    "StoreFull",
    "StoreUnavailable",
    "UnitOfWork",
    "decided_on_held",
]


class NeedsStoredState(Exception):
    """Raised by a decision that holds only if the state it was given is the one the store
    holds (a new user's is spent from the client's allowance, say). A store that decided on
    the state it holds takes the change from `confirmed()` (`decided_on_held`); one that
    decided on a state it remembers reads the one it holds and decides again."""

    def __init__(self, confirmed: "Callable[[], Change]") -> None:
        super().__init__("this decision needs the state the store holds")
        self.confirmed = confirmed


def decided_on_held(change_of: "ChangeOf", state: "UserState") -> "Change":
    """`change_of(state)`, where `state` is what the store holds."""
    try:
        return change_of(state)
    except NeedsStoredState as needs:
        return needs.confirmed()


class Arrival(StrEnum):
    NEW = "new"
    DUPLICATE = "duplicate"  # the same id with the same content
    CONFLICT = "conflict"  # the same id with other content


# Tuples: built on every event, where a frozen dataclass's __init__ costs several times more.


class Change(NamedTuple):
    """What one unit of work decided for one user."""

    state: UserState
    records: Sequence[DecisionRecord] = ()
    notifications: Sequence[Notification] = ()


class Committed(NamedTuple):
    arrival: Arrival
    change: Change | None = None  # None when the event was not new


ChangeOf = Callable[[UserState], Change]


class UnitOfWork(NamedTuple):
    user_id: str
    change_of: ChangeOf
    event: Event | None = None


class EventRepository(Protocol):
    """The write side: a unit of work per user, and the reminders the clock sends."""

    def update(self, user_id: str, change_of: ChangeOf, event: Event | None = None) -> Committed:
        """Check `event` in (if any); when new, save `change_of(state)` atomically."""

    def update_many(self, work: Sequence[UnitOfWork]) -> list[Committed]:
        """`update` each unit, with the outcome of doing them one after another (a user's
        later units see the earlier ones' changes); a store may read and commit them
        together. A decision that raises stops there: the units before it are saved."""

    def claim_due_reminders(self, now: datetime) -> list[str]:
        """The users whose pending reminder's wall-clock due time is at or before `now`;
        each handed to one caller, and again only if it is still pending a while later."""

    def pending_reminders(self) -> list[Reminder]:
        """Every pending reminder, in deadline order."""


class EventQueries(Protocol):
    """The read side: what the API lists and shows, and the health report's figures."""

    def user_state(self, user_id: str) -> UserState: ...

    def decisions(self, user_id: str) -> list[DecisionRecord]:
        """The user's decision log, newest first."""

    def recent_events(self) -> list[Event]:
        """The most recent events, newest first."""

    def event_counts(self) -> dict[str, int]:
        """How many events of each type were recorded."""

    def stats(self) -> dict[str, int]:
        """How much state the store holds (users, open sessions, pending reminders, ...)."""


class EventStore(EventRepository, EventQueries, Protocol):
    """What an adapter implements: both sides (docs/stores.md)."""
