"""The adapters every port's contract suite runs against: add one here and it runs them all."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from events.repository import EventRepository, InMemoryEventRepository
from notifications.outbox import InMemoryOutboxStore, OutboxStore

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **elapsed: float) -> None:
        self.now += timedelta(**elapsed)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def memory_outbox(clock: Clock, history_limit: int) -> OutboxStore:
    return InMemoryOutboxStore(history_limit=history_limit, clock=clock)


def memory_repository(outbox: OutboxStore, **limits: object) -> EventRepository:
    return InMemoryEventRepository(outbox=outbox, **limits)


OUTBOX_STORES: dict[str, Callable[..., OutboxStore]] = {"memory": memory_outbox}
REPOSITORIES: dict[str, tuple[Callable[..., EventRepository], Callable[..., OutboxStore]]] = {
    "memory": (memory_repository, memory_outbox)
}


@pytest.fixture(params=sorted(OUTBOX_STORES))
def make_outbox(request, clock) -> Callable[..., OutboxStore]:
    """Call with an optional `history_limit` for a fresh, empty outbox store."""
    adapter = OUTBOX_STORES[request.param]
    return lambda history_limit=1000: adapter(clock, history_limit)


@dataclass(frozen=True)
class Stores:
    repository: EventRepository
    outbox: OutboxStore


@pytest.fixture(params=sorted(REPOSITORIES))
def make_stores(request, clock) -> Callable[..., Stores]:
    """Call with the repository's limits for a fresh, empty repository and its outbox store."""
    repository_adapter, outbox_adapter = REPOSITORIES[request.param]

    def make(**limits: object) -> Stores:
        outbox = outbox_adapter(clock, 1000)
        return Stores(repository_adapter(outbox, **limits), outbox)

    return make
